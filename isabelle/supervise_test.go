package isabelle

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llemma-prove/llemma-prove/internal/sandbox"
	"github.com/llemma-prove/llemma-prove/prover"
)

// Supervision of the server process, on the fake `isabelle` of
// fake_test.go: no real Isabelle needed.

// withPids makes the fake servers of cfg append their pids (and their
// grandchildren's) to a file in the work dir, which they may write.
func withPids(cfg *Config) string {
	f := filepath.Join(cfg.WorkDir, "pids")
	cfg.Server = append(cfg.Server, "-pids", f)
	return f
}

// pidsOf reads the pids the fakes appended to file.
func pidsOf(t *testing.T, file string) []int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading the fakes' pids: %v", err)
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("pid file: %q", f)
		}
		pids = append(pids, n)
	}
	if len(pids) == 0 {
		t.Fatal("no pid recorded")
	}
	return pids
}

// waitGone waits until process pid has exited (a zombie left for init to
// reap counts as exited): the event is the pidfd becoming readable, so
// this is no sleep; limit only bounds a failure.
func waitGone(t *testing.T, pid int, limit time.Duration) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(fd)
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds, int(limit.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll pidfd %d: %v", pid, err)
		}
		if n == 0 {
			t.Fatalf("process %d still runs %v after the backend let it go: a stray", pid, limit)
		}
		return
	}
}

// counts are the servers started and the failures in a row.
func (b *Backend) counts() (starts, failures int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.starts, b.failures
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Each broken start fails with a typed error naming the real durations
// and what the server said, kills what was started, and counts towards
// MaxFailures; then the backend is broken and starts nothing more.
func TestServerStartFaults(t *testing.T) {
	t.Parallel()
	// The budget cases wait out a start budget well above the fake's own
	// start (about 150 ms with -race), once (MaxFailures 1); the others
	// fail by themselves, three times (MaxFailures 3).
	cases := []struct {
		name, mode string
		flags      []string
		start      time.Duration // StartTimeout
		budget     bool          // the error is a *BudgetError of StartTimeout
		has        string        // the error mentions this (stderr tail or output)
	}{
		{name: "crash", mode: "exit", start: 20 * time.Second, has: "refusing to start (broken installation)"},
		{name: "hang", mode: "hang", start: time.Second, budget: true, has: "starting ..."},
		{name: "garbage", mode: "garbage", start: 20 * time.Second, has: `none of them its server line; it printed "HTTP/1.1 400 Bad Request`},
		{name: "slow", mode: "sim", flags: []string{"-delay", "5s"}, start: time.Second, budget: true},
		{name: "garbage-wire", mode: "garbage-wire", start: 20 * time.Second, has: "unexpected"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := fakeConfig(t, tc.mode, append([]string{"-child", "-ignore-term"}, tc.flags...)...)
			pidFile := withPids(&cfg)
			cfg.StartTimeout = tc.start
			cfg.MaxFailures = 3
			if tc.budget {
				cfg.MaxFailures = 1
			}
			b, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx := ctxFor(t, time.Minute)
			var last error
			for i := 1; i <= cfg.MaxFailures; i++ {
				begin := time.Now()
				_, _, err := b.ensure(ctx)
				took := time.Since(begin)
				var ee *prover.ExitError
				if !errors.As(err, &ee) || !errors.Is(err, prover.ErrProcessDied) {
					t.Fatalf("start %d: %v (%T), want a *prover.ExitError", i, err, err)
				}
				if !strings.Contains(err.Error(), tc.has) {
					t.Errorf("start %d: %v; want it to mention %q", i, err, tc.has)
				}
				var be *BudgetError
				if got := errors.As(err, &be); got != tc.budget {
					t.Fatalf("start %d: %v; BudgetError %v, want %v", i, err, got, tc.budget)
				}
				if tc.budget {
					if be.Caller || be.Budget != tc.start || be.Elapsed < tc.start || !errors.Is(err, context.DeadlineExceeded) ||
						!strings.Contains(err.Error(), "budget "+tc.start.String()) {
						t.Errorf("start %d: %+v: want the start budget %v, spent", i, be, tc.start)
					}
					if took > tc.start+10*time.Second {
						t.Errorf("start %d took %v with a %v start budget", i, took, tc.start)
					}
				}
				wantBroken := i == cfg.MaxFailures
				if errors.Is(err, prover.ErrBackendBroken) != wantBroken {
					t.Fatalf("start %d: %v; broken %v, want %v", i, err, !wantBroken, wantBroken)
				}
				last = err
			}
			// broken: at once, the same error, nothing started
			begin := time.Now()
			if _, _, err := b.ensure(ctx); err != last || time.Since(begin) > time.Second {
				t.Errorf("after broken: %v after %v; want the broken error at once", err, time.Since(begin))
			}
			if _, err := b.Open(ctx, simTheorem(t, "sim_broken", conj)); !errors.Is(err, prover.ErrBackendBroken) {
				t.Errorf("Open on a broken backend: %v", err)
			}
			if starts, _ := b.counts(); starts != cfg.MaxFailures {
				t.Errorf("%d servers started, want %d (MaxFailures)", starts, cfg.MaxFailures)
			}
			// every process started (servers and their grandchildren) is gone
			pids := pidsOf(t, pidFile)
			if len(pids) != 2*cfg.MaxFailures {
				t.Errorf("%d processes recorded, want %d servers with a grandchild each", len(pids), cfg.MaxFailures)
			}
			for _, pid := range pids {
				waitGone(t, pid, 10*time.Second)
			}
		})
	}
}

// A start cut short by the caller's deadline is the caller's budget, not a
// server failure: the error says so, wraps the caller's cause, and the
// backend never becomes broken from it.
func TestStartWithinCallersDeadline(t *testing.T) {
	t.Parallel()
	cfg := fakeConfig(t, "hang")
	cfg.StartTimeout = time.Minute
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i := 0; i < b.cfg.MaxFailures; i++ { // as many as would make it broken
		ctx, cancel := context.WithTimeoutCause(context.Background(), 200*time.Millisecond, prover.ErrSetupTimeout)
		_, _, err := b.ensure(ctx)
		cancel()
		var be *BudgetError
		if !errors.As(err, &be) || !be.Caller || !errors.Is(err, prover.ErrSetupTimeout) || be.Budget > 200*time.Millisecond ||
			!strings.Contains(err.Error(), "the caller's deadline") {
			t.Fatalf("ensure %d = %v; want a BudgetError of the caller's deadline wrapping its cause", i, err)
		}
	}
	if _, failures := b.counts(); b.brokenErr() != nil || failures != 0 {
		t.Errorf("broken %v, %d failures: the caller's budget is no server failure", b.brokenErr(), failures)
	}
}

// A server that dies after every task is a crash loop: broken after
// MaxFailures deaths, with the stderr tail of the last; one that dies
// only after HealthyTasks answered tasks is restarted for ever.
func TestCrashLoop(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, dieAfter, applies int) (*Backend, error, []int) {
		cfg := fakeConfig(t, "sim", "-die-after", strconv.Itoa(dieAfter))
		pidFile := withPids(&cfg)
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxFor(t, 2*time.Minute)
		s, err := b.Open(ctx, simTheorem(t, "sim_crash", conj))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for i := 0; i < applies; i++ {
			r, err := s.Apply(ctx, s.Root().ID, "apply (rule conjI)", 5*time.Second)
			if err != nil {
				b.Close()
				return b, err, pidsOf(t, pidFile)
			}
			if r.Status != prover.StepOpen && r.Status != prover.StepFailed {
				t.Fatalf("Apply %d = %+v", i, r)
			}
		}
		b.Close()
		return b, nil, pidsOf(t, pidFile)
	}
	t.Run("every-task", func(t *testing.T) {
		t.Parallel()
		b, err, pids := run(t, 1, 20)
		var ee *prover.ExitError
		if !errors.Is(err, prover.ErrBackendBroken) || !errors.As(err, &ee) || !strings.Contains(ee.StderrTail, "simulated crash") {
			t.Fatalf("err = %v; want ErrBackendBroken with the crash's stderr tail", err)
		}
		if starts, _ := b.counts(); starts != 3 || len(pids) != 3 {
			t.Errorf("%d servers started (%d pids), want MaxFailures = 3", starts, len(pids))
		}
		for _, pid := range pids {
			waitGone(t, pid, 10*time.Second)
		}
	})
	t.Run("healthy-between", func(t *testing.T) {
		t.Parallel()
		b, err, pids := run(t, 6, 20)
		if err != nil {
			t.Fatalf("a server that answers 6 tasks between deaths: %v", err)
		}
		if starts, _ := b.counts(); starts < 3 || b.Restarts() < 2 {
			t.Errorf("%d starts, %d restarts: want the deaths restarted", starts, b.Restarts())
		}
		for _, pid := range pids {
			waitGone(t, pid, 10*time.Second)
		}
	})
}

// Close stops a server that ignores shutdown and SIGTERM, and its
// grandchild: nothing outlives the backend.
func TestCloseLeavesNoProcess(t *testing.T) {
	t.Parallel()
	cfg := fakeConfig(t, "sim", "-child", "-ignore-term", "-ignore-shutdown")
	pidFile := withPids(&cfg)
	cfg.CancelGrace = 200 * time.Millisecond
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t, time.Minute)
	s, err := b.Open(ctx, simTheorem(t, "sim_close", conj))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	begin := time.Now()
	b.Close()
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("Close took %v", d)
	}
	pids := pidsOf(t, pidFile)
	if len(pids) != 2 {
		t.Fatalf("pids %v, want the server and its grandchild", pids)
	}
	for _, pid := range pids {
		waitGone(t, pid, 10*time.Second)
	}
	if _, err := os.Stat(filepath.Join(b.workDir, serverTmp)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the server's temporary directory is left: %v", err)
	}
}

// Every wait after the start is bounded too: the connection, session_start
// and use_theories, each by its budget or the caller's deadline, with the
// real durations in the message; the backoff before a restart by ctx.
func TestWaitsAreBounded(t *testing.T) {
	t.Parallel()
	t.Run("connect", func(t *testing.T) {
		t.Parallel()
		cfg := fakeConfig(t, "sim", "-deaf")
		cfg.ConnectTimeout = 300 * time.Millisecond
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		_, _, err = b.ensure(ctxFor(t, time.Minute))
		var be *BudgetError
		if !errors.As(err, &be) || be.Budget != 300*time.Millisecond || be.Elapsed < be.Budget || !strings.HasPrefix(be.Wait, "connecting") {
			t.Fatalf("ensure on a deaf server = %v; want the connect budget spent", err)
		}
	})
	t.Run("session_start", func(t *testing.T) {
		t.Parallel()
		fs := startInProcess(t, "sim")
		b, err := New(Config{Address: fs.addr(), Password: fs.password, WorkDir: t.TempDir(), Session: "HangSession",
			SessionTimeout: 300 * time.Millisecond, CancelGrace: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		_, err = b.Open(ctxFor(t, time.Minute), simTheorem(t, "sim_session", conj))
		var be *BudgetError
		if !errors.As(err, &be) || be.Wait != "session_start HangSession" || be.Budget != 300*time.Millisecond || be.Caller {
			t.Fatalf("Open = %v; want the session_start budget spent", err)
		}
		if n := fs.cancels.Load(); n != 1 {
			t.Errorf("%d tasks canceled, want the session_start", n)
		}
		if _, failures := b.counts(); failures != 0 {
			t.Errorf("%d failures: a slow session_start is not a server failure", b.failures)
		}
	})
	t.Run("use_theories", func(t *testing.T) {
		t.Parallel()
		b := simBackend(t, "sim")
		ctx := ctxFor(t, time.Minute)
		s, err := b.Open(ctx, simTheorem(t, "sim_budget", conj))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		r, err := s.Apply(ctx, s.Root().ID, "apply hang_forever", 300*time.Millisecond)
		if err != nil || r.Status != prover.StepTimeout || !strings.Contains(r.Message, "budget 300ms") || !strings.Contains(r.Message, "gave up after") {
			t.Fatalf("Apply(hang) = %+v, %v; want a timeout naming the budget", r, err)
		}
		// the caller's deadline comes first: its cause, within its time
		short, cancel := context.WithTimeoutCause(ctx, 300*time.Millisecond, prover.ErrTacticTimeout)
		defer cancel()
		begin := time.Now()
		_, err = s.Apply(short, s.Root().ID, "apply hang_forever", 10*time.Second)
		var be *BudgetError
		if !errors.As(err, &be) || !be.Caller || !errors.Is(err, prover.ErrTacticTimeout) {
			t.Fatalf("Apply under a 300ms deadline = %v; want the caller's deadline", err)
		}
		if d := time.Since(begin); d > 300*time.Millisecond+b.cfg.CancelGrace+5*time.Second {
			t.Errorf("Apply under a 300ms deadline took %v", d)
		}
		if r, err := s.Apply(ctx, s.Root().ID, "apply (rule conjI)", 5*time.Second); err != nil || r.Status != prover.StepOpen {
			t.Errorf("after the timeouts: %+v, %v", r, err)
		}
	})
	t.Run("backoff", func(t *testing.T) {
		t.Parallel()
		cfg := fakeConfig(t, "exit")
		cfg.MinBackoff, cfg.MaxBackoff = time.Minute, time.Minute
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if _, _, err := b.ensure(ctxFor(t, time.Minute)); err == nil {
			t.Fatal("the exit fake started")
		}
		short, cancel := context.WithTimeoutCause(context.Background(), 200*time.Millisecond, prover.ErrSetupTimeout)
		defer cancel()
		begin := time.Now()
		_, _, err = b.ensure(short)
		if !errors.Is(err, prover.ErrSetupTimeout) || !strings.Contains(err.Error(), "before restarting") || time.Since(begin) > 5*time.Second {
			t.Fatalf("ensure during a 1 min backoff under a 200ms deadline = %v after %v", err, time.Since(begin))
		}
		if starts, _ := b.counts(); starts != 1 {
			t.Errorf("%d starts, want 1: nothing started during the backoff", starts)
		}
	})
}

// A server the backend starts runs under Landlock: it may write
// ISABELLE_HOME_USER, the work dir and its TMPDIR inside it, nothing
// else; the verdict says so. Unconfined, the same write succeeds (so the
// probe can tell), and a reused server is not ours to confine.
func TestServerSandbox(t *testing.T) {
	t.Parallel()
	if abi, detail := sandbox.Available(); abi < 1 {
		t.Skipf("needs Landlock: %s", detail)
	}
	outside := t.TempDir()
	probe := func(t *testing.T, unconfined bool) *Backend {
		home, work := filepath.Join(t.TempDir(), "home_user"), t.TempDir()
		may := []string{filepath.Join(home, "ok"), filepath.Join(work, "ok")}
		files := append(may, filepath.Join(outside, "leak-"+strconv.FormatBool(unconfined)))
		if !unconfined {
			// TMPDIR is the server's own, inside the work dir
			may = append(may, filepath.Join(work, serverTmp, "ok"))
			files = append(files, "$TMPDIR/ok")
		}
		if unconfined {
			// a real server creates it; confined, the backend must
			if err := os.MkdirAll(home, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cfg := fakeConfig(t, "sim", "-probe", strings.Join(files, ","))
		cfg.WorkDir, cfg.Unconfined = work, unconfined
		cfg.Env = append(cfg.Env, fakeHomeUserEnv+"="+home)
		b, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		if _, _, err := b.ensure(ctxFor(t, time.Minute)); err != nil {
			t.Fatal(err)
		}
		for _, f := range may {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("the server could not write %s, which it may: %v (stderr %q)", f, err, b.srv.p.StderrTail())
			}
		}
		return b
	}
	t.Run("confined", func(t *testing.T) {
		t.Parallel()
		b := probe(t, false)
		if _, err := os.Stat(filepath.Join(outside, "leak-false")); err == nil {
			t.Errorf("the confined server wrote outside its directories")
		}
		if tail := b.srv.p.StderrTail(); !strings.Contains(tail, "leak-false: open") || !strings.Contains(tail, "permission denied") {
			t.Errorf("stderr %q: want the refused write", tail)
		}
		thm := simTheorem(t, "sim_sandboxed", conj)
		v, err := b.Verify(ctxFor(t, time.Minute), prover.VerifyRequest{Name: thm.Name, Challenge: &thm,
			Solution: b.Assemble(thm, []string{"apply (rule conjI)", "apply simp", "apply simp"})})
		if err != nil || !v.Verified || !strings.HasPrefix(v.Sandbox, "landlock ABI ") || !strings.Contains(v.Sandbox, "started by llemma-prove") {
			t.Errorf("Verify = %+v, %v; want verified, with the server's Landlock confinement in Sandbox", v, err)
		}
	})
	t.Run("unconfined", func(t *testing.T) {
		t.Parallel()
		b := probe(t, true)
		if _, err := os.Stat(filepath.Join(outside, "leak-true")); err != nil {
			t.Errorf("the unconfined probe could not write: the confined case proves nothing (%v)", err)
		}
		if note := b.sandboxNote(); !strings.HasPrefix(note, "none: ") || !strings.Contains(note, "unconfined") {
			t.Errorf("sandbox note %q", note)
		}
	})
	t.Run("reused", func(t *testing.T) {
		t.Parallel()
		b, _ := verifyBackend(t)
		thm := simTheorem(t, "sim_reused", conj)
		v, err := b.Verify(ctxFor(t, time.Minute), prover.VerifyRequest{Name: thm.Name, Challenge: &thm,
			Solution: b.Assemble(thm, []string{"apply (rule conjI)", "apply simp", "apply simp"})})
		if err != nil || !v.Verified || !strings.HasPrefix(v.Sandbox, "none: ") || !strings.Contains(v.Sandbox, "not ours to confine") {
			t.Errorf("Verify on a reused server = %+v, %v", v, err)
		}
	})
}

// On a kernel without Landlock the best-effort sandbox runs the server
// unconfined; the note must not claim otherwise.
func TestSandboxNoteWithoutLandlock(t *testing.T) {
	t.Parallel()
	b := simBackend(t, "sim")
	if _, _, err := b.ensure(ctxFor(t, time.Minute)); err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.srv.sandbox = "none: kernel without Landlock (best effort, unconfined)" // what sandbox.Describe says there
	b.mu.Unlock()
	if note := b.sandboxNote(); !strings.HasPrefix(note, "none: kernel without Landlock") || !strings.Contains(note, "runs unconfined") || strings.Contains(note, "may write only") {
		t.Errorf("sandbox note %q", note)
	}
}
