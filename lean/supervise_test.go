package lean

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// Supervision of the REPL processes on internal/proc: crash loops make the
// backend broken, every wait ends by the caller's deadline, Close leaves
// no process behind.

// logBuf collects a backend's log records.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// count is the number of records at level with msg.
func (l *logBuf) count(level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Count(l.b.String(), "level="+level+" msg="+strconv.Quote(msg))
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// withLog makes the backend log into a buffer (debug and up).
func withLog(l *logBuf, mod func(*Config)) func(*Config) {
	return func(c *Config) {
		c.Log = slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
		if mod != nil {
			mod(c)
		}
	}
}

// simPids returns the pids the double logged with event (START: the REPL
// processes; CHILD: the children they spawned, as the logged value).
func simPids(t *testing.T, logPath, event string) []int {
	t.Helper()
	b, err := os.ReadFile(logPath)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var pids []int
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || f[1] != event {
			continue
		}
		field := f[0]
		if event == "CHILD" && len(f) > 2 {
			field = f[2]
		}
		pid, err := strconv.Atoi(field)
		if err != nil {
			t.Fatalf("log line %q", line)
		}
		pids = append(pids, pid)
	}
	return pids
}

// TestCrashLoopBreaksBackend: a REPL that fails on every 3rd request
// (header first) answers the header and the statement and then fails
// under every tactic, on every fresh process. The backend counts one
// failure per tactic (the tactic's second death, on its retry, is not
// counted) and is broken at the third: Apply returns
// prover.ErrBackendBroken wrapping the last death with its stderr tail,
// each failure was logged at warn and the breakage at error, at most
// 2*MaxFailures processes were started, and the next Open fails at once
// without starting one.
func TestCrashLoopBreaksBackend(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, faults string
		mod          func(*Config)
		want         string // in the last failure
	}{
		{name: "crash", faults: "crash-every=3", want: "INTERNAL PANIC: simulated crash on request 3"},
		{name: "garbage", faults: "garbage-every=3", want: "repl protocol error"},
		{name: "flood", faults: "flood-every=3", mod: func(c *Config) { c.maxResponse = 1 << 20 }, want: "repl response too large"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var logs logBuf
			b, logPath := newSimBackend(t, tc.faults, withLog(&logs, tc.mod))
			ctx := t.Context()
			s, err := b.Open(ctx, simTheorem("sim_two_step"))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var applyErr error
			applies := 0
			for applies < 10 && applyErr == nil {
				applies++
				var r prover.StepResult
				r, applyErr = s.Apply(ctx, s.Root().ID, "intro x hx", time.Second)
				if applyErr == nil && r.Status != prover.StepFailed {
					t.Fatalf("apply %d: %+v, want StepFailed (the repl dies under it)", applies, r)
				}
			}
			if !errors.Is(applyErr, prover.ErrBackendBroken) {
				t.Fatalf("after %d applies: err %v, want prover.ErrBackendBroken", applies, applyErr)
			}
			var ee *prover.ExitError
			if !errors.As(applyErr, &ee) || !strings.Contains(applyErr.Error(), tc.want) {
				t.Fatalf("broken error %v: want the last failure as a *prover.ExitError mentioning %q", applyErr, tc.want)
			}
			if tc.name == "crash" && !strings.Contains(ee.StderrTail, "simulated crash") {
				t.Errorf("stderr tail %q, want the crash's panic", ee.StderrTail)
			}
			if applies != 3 {
				t.Errorf("broken at apply %d, want 3 (one failure per tactic, MaxFailures 3)", applies)
			}
			st := b.Stats()
			if !st.Broken || st.Failures != 3 {
				t.Errorf("Stats() = %+v, want Broken and 3 failures", st)
			}
			starts := simPids(t, logPath, "START")
			if len(starts) > 2*b.cfg.MaxFailures {
				t.Errorf("%d repl processes started, want at most %d", len(starts), 2*b.cfg.MaxFailures)
			}
			if w, e := logs.count("WARN", "lean repl failure"), logs.count("ERROR", "lean backend broken: no further theorem will be tried"); w != 2 || e != 1 {
				t.Errorf("%d warn and %d error records, want 2 and 1:\n%s", w, e, logs.String())
			}
			if _, err := b.Open(ctx, simTheorem("sim_two_step")); !errors.Is(err, prover.ErrBackendBroken) {
				t.Errorf("Open on a broken backend: %v, want prover.ErrBackendBroken", err)
			}
			if _, err := s.Apply(ctx, s.Root().ID, "intro x hx", time.Second); !errors.Is(err, prover.ErrBackendBroken) {
				t.Errorf("Apply on a broken backend: %v, want prover.ErrBackendBroken", err)
			}
			if n := len(simPids(t, logPath, "START")); n != len(starts) {
				t.Errorf("a broken backend started %d more processes", n-len(starts))
			}
		})
	}
}

// TestAgentCrashLoopIsBackendError: the fault of issue 14 (a REPL that
// crashes on every 3rd request started 22 REPLs in 15 s for one theorem,
// recorded as timeout, nothing logged) through the agent: an error whose
// cause is backend-broken, a handful of processes, the failures logged.
func TestAgentCrashLoopIsBackendError(t *testing.T) {
	t.Parallel()
	var logs logBuf
	b, logPath := newSimBackend(t, "crash-every=3", withLog(&logs, nil))
	a := &prover.Agent{
		Backend:        b,
		Proposer:       simTactics,
		Search:         search.Config{Expansions: 20, Samples: 16, TacticTimeout: 2 * time.Second},
		TheoremTimeout: 30 * time.Second,
		VerifyTimeout:  10 * time.Second,
	}
	out := a.Prove(t.Context(), simTheorem("sim_two_step"))
	if out.Status != prover.StatusError || !errors.Is(out.Err, prover.ErrBackendBroken) {
		t.Fatalf("status %s, err %v; want error wrapping prover.ErrBackendBroken", out.Status, out.Err)
	}
	if n := len(simPids(t, logPath, "START")); n > 2*b.cfg.MaxFailures {
		t.Errorf("%d repl processes started, want at most %d", n, 2*b.cfg.MaxFailures)
	}
	if logs.count("WARN", "lean repl failure") == 0 {
		t.Errorf("no failure logged at warn:\n%s", logs.String())
	}
}

// TestCrashingTacticsAreForgiven: a tactic that crashes Lean (on its
// retry too) costs one failure, and HealthyTactics answers forgive it, so
// a search that meets such tactics now and then never breaks the backend;
// three in a row with nothing answered in between do.
func TestCrashingTacticsAreForgiven(t *testing.T) {
	t.Parallel()
	b, _ := newSimBackend(t, "", nil)
	ctx := t.Context()
	s, err := b.Open(ctx, simTheorem("sim_two_step"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r1, err := s.Apply(ctx, s.Root().ID, "intro x hx", time.Second)
	if err != nil || r1.Status != prover.StepOpen {
		t.Fatalf("intro: %+v, %v", r1, err)
	}
	for round := range 4 {
		if r, err := s.Apply(ctx, r1.State.ID, "crash_me", time.Second); err != nil || r.Status != prover.StepFailed {
			t.Fatalf("round %d: crash_me: %+v, %v; want StepFailed", round, r, err)
		}
		for range b.cfg.HealthyTactics {
			if r, err := s.Apply(ctx, r1.State.ID, "subst hx", time.Second); err != nil || r.Status != prover.StepOpen {
				t.Fatalf("round %d: subst: %+v, %v", round, r, err)
			}
		}
	}
	if st := b.Stats(); st.Broken || st.Failures != 4 {
		t.Fatalf("Stats() = %+v, want 4 failures (one per crashing tactic) and not broken", st)
	}
	var last error
	for range 3 {
		_, last = s.Apply(ctx, r1.State.ID, "crash_me", time.Second)
	}
	if !errors.Is(last, prover.ErrBackendBroken) {
		t.Fatalf("three crashing tactics in a row: %v, want prover.ErrBackendBroken", last)
	}
}

// TestHeaderHangBoundedByCaller: a header import that hangs costs the
// caller's budget, not the start timeout (10 min): Open returns at the
// caller's deadline with a *DeadlineError that says so and wraps the
// caller's cause (not a tactic timeout), the hung process is gone when
// Open returns, and the caller's deadline is not a failure of the REPL.
func TestHeaderHangBoundedByCaller(t *testing.T) {
	t.Parallel()
	b, logPath := newSimBackend(t, "hang-start", func(c *Config) { c.StartTimeout = 10 * time.Minute })
	errBudget := errors.New("setup budget of the test")
	ctx, cancel := context.WithTimeoutCause(t.Context(), 500*time.Millisecond, errBudget)
	defer cancel()
	begin := time.Now()
	_, err := b.Open(ctx, simTheorem("sim_two_step"))
	took := time.Since(begin)
	var de *DeadlineError
	if !errors.As(err, &de) || !de.Caller || de.Limit != 10*time.Minute {
		t.Fatalf("Open: %v; want a *DeadlineError at the caller's deadline", err)
	}
	if !errors.Is(err, errBudget) || !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, prover.ErrTacticTimeout) {
		t.Errorf("Open: %v; want it to wrap the caller's cause, not a tactic timeout", err)
	}
	if took > 5*time.Second || de.Elapsed > took || de.Elapsed <= 0 {
		t.Errorf("Open took %v, the header wait %v; want both within the 500ms budget (plus a start)", took, de.Elapsed)
	}
	if !strings.Contains(err.Error(), "loading the header: no answer by the caller's deadline, ") || !strings.Contains(err.Error(), "(start timeout 10m0s)") {
		t.Errorf("message %q does not state the real wait and the limit", err)
	}
	for _, pid := range simPids(t, logPath, "START") {
		if alive(pid) {
			t.Errorf("the hung repl %d still runs after Open returned", pid)
		}
	}
	if st := b.Stats(); st.Failures != 0 {
		t.Errorf("Stats().Failures = %d, want 0: the caller gave up, the repl did not fail", st.Failures)
	}
}

// TestAgentHeaderHangCostsSetupBudget: through the agent, with the
// default start timeout (10 min), a hung import costs the setup budget.
func TestAgentHeaderHangCostsSetupBudget(t *testing.T) {
	t.Parallel()
	b, _ := newSimBackend(t, "hang-start", func(c *Config) { c.StartTimeout = 0 })
	if b.cfg.StartTimeout != 10*time.Minute {
		t.Fatalf("default start timeout %v", b.cfg.StartTimeout)
	}
	a := &prover.Agent{Backend: b, Proposer: simTactics, SetupTimeout: 700 * time.Millisecond, TheoremTimeout: 10 * time.Second}
	out := a.Prove(t.Context(), simTheorem("sim_two_step"))
	if out.Status != prover.StatusError || out.Setup > 5*time.Second {
		t.Fatalf("status %s after a setup of %v (%v); want an error within the 700ms budget", out.Status, out.Setup, out.Err)
	}
	var de *DeadlineError
	if !errors.As(out.Err, &de) || !de.Caller || !strings.Contains(out.Error, "caller's deadline") {
		t.Errorf("err %v (%q); want the header wait cut by the caller's deadline", out.Err, out.Error)
	}
}

// TestHeaderHangOwnLimit: past its own start timeout, the header load is
// a failure of the REPL that wraps prover.ErrTacticTimeout.
func TestHeaderHangOwnLimit(t *testing.T) {
	t.Parallel()
	b, _ := newSimBackend(t, "hang-start", func(c *Config) { c.StartTimeout = 300 * time.Millisecond })
	_, err := b.Open(t.Context(), simTheorem("sim_two_step"))
	var de *DeadlineError
	if !errors.As(err, &de) || de.Caller || !errors.Is(err, prover.ErrTacticTimeout) || de.Elapsed < 300*time.Millisecond {
		t.Fatalf("Open: %v; want a *DeadlineError past the 300ms start timeout, wrapping ErrTacticTimeout", err)
	}
	if !strings.Contains(err.Error(), "raise the start timeout") {
		t.Errorf("message %q gives no hint", err)
	}
	if st := b.Stats(); st.Failures != 1 || st.Broken {
		t.Errorf("Stats() = %+v, want 1 failure", st)
	}
}

// TestRequestDeadlines: how one request ends at each deadline: its own
// limit (a *DeadlineError wrapping ErrTacticTimeout), the caller's
// deadline (a *DeadlineError wrapping the caller's cause), the caller's
// cancel (its cause); each time the process is killed and reaped.
func TestRequestDeadlines(t *testing.T) {
	t.Parallel()
	errBudget := errors.New("budget of the test")
	errStop := errors.New("stopped by the test")
	tests := []struct {
		name  string
		limit time.Duration
		ctx   func(context.Context, string) (context.Context, context.CancelFunc)
		check func(t *testing.T, err error)
	}{
		{
			name: "own limit", limit: 200 * time.Millisecond,
			ctx: func(ctx context.Context, _ string) (context.Context, context.CancelFunc) {
				return context.WithCancel(ctx)
			},
			check: func(t *testing.T, err error) {
				var de *DeadlineError
				if !errors.As(err, &de) || de.Caller || de.Elapsed < 200*time.Millisecond || !errors.Is(err, prover.ErrTacticTimeout) {
					t.Fatalf("err %v; want a *DeadlineError past 200ms wrapping ErrTacticTimeout", err)
				}
				if !strings.Contains(err.Error(), `tactic "nlinarith": no answer within the tactic timeout of 200ms (killed after `) {
					t.Errorf("message %q", err)
				}
			},
		},
		{
			name: "caller's deadline", limit: time.Minute,
			ctx: func(ctx context.Context, _ string) (context.Context, context.CancelFunc) {
				return context.WithTimeoutCause(ctx, 300*time.Millisecond, errBudget)
			},
			check: func(t *testing.T, err error) {
				var de *DeadlineError
				if !errors.As(err, &de) || !de.Caller || !errors.Is(err, errBudget) || errors.Is(err, prover.ErrTacticTimeout) || de.Elapsed >= time.Minute {
					t.Fatalf("err %v; want a *DeadlineError at the caller's deadline wrapping its cause", err)
				}
			},
		},
		{
			name: "caller's cancel", limit: time.Minute,
			ctx: func(ctx context.Context, fifo string) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancelCause(ctx)
				go func() {
					// Cancel once the double says the request is in flight.
					if f, err := os.Open(fifo); err == nil {
						bufio.NewReader(f).ReadString('\n')
						f.Close()
					}
					cancel(errStop)
				}()
				return ctx, func() { cancel(nil) }
			},
			check: func(t *testing.T, err error) {
				var de *DeadlineError
				if errors.As(err, &de) || !errors.Is(err, errStop) {
					t.Fatalf("err %v; want the cancel's cause, not a deadline", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			fifo := filepath.Join(t.TempDir(), "hang")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			r := startFake(t, fakeConfig("sim", "LLEMMA_FAKE_LEAN_HANG_FIFO="+fifo))
			lim := limit{what: "setup", name: "request timeout", d: 10 * time.Second}
			resp, err := r.roundTrip(t.Context(), CommandRequest{Cmd: headerCmd(simHeader)}, lim)
			if err != nil || resp.Kind != KindCommand {
				t.Fatalf("header: %+v, %v", resp, err)
			}
			resp, err = r.roundTrip(t.Context(), CommandRequest{Cmd: rootCmd(simTheorem("sim_two_step")), Env: Env(resp.Command.Env)}, lim)
			if err != nil || resp.Kind != KindCommand || len(resp.Command.Sorries) != 1 {
				t.Fatalf("statement: %+v, %v", resp, err)
			}
			ctx, cancel := tc.ctx(t.Context(), fifo)
			defer cancel()
			_, err = r.roundTrip(ctx, TacticRequest{Tactic: "nlinarith", ProofState: resp.Command.Sorries[0].ProofState},
				limit{what: `tactic "nlinarith"`, name: "tactic timeout", d: tc.limit})
			tc.check(t, err)
			if r.usable() {
				t.Error("the process is still usable after its request was cut")
			}
			select {
			case <-r.p.Done():
			case <-time.After(10 * time.Second):
				t.Fatal("the process was not killed")
			}
		})
	}
}

// TestNoStrayProcessAfterClose: Close kills a busy process (its request
// fails with ErrClosed), closes an idle one, and returns only when both,
// and the children they started in their process groups, are gone.
func TestNoStrayProcessAfterClose(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "hang")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	b, logPath := newSimBackend(t, "spawn-child", func(c *Config) {
		c.Workers = 2
		c.Env = append(c.Env, "LLEMMA_FAKE_LEAN_HANG_FIFO="+fifo)
	})
	ctx := t.Context()
	idle, err := b.Open(ctx, simTheorem("sim_two_step"))
	if err != nil {
		t.Fatal(err)
	}
	busy, err := b.Open(ctx, simTheorem("sim_two_step"))
	if err != nil {
		t.Fatal(err)
	}
	idle.Close()
	applied := make(chan error, 1)
	go func() {
		_, err := busy.Apply(ctx, busy.Root().ID, "nlinarith", time.Minute)
		applied <- err
	}()
	f, err := os.Open(fifo) // returns once the double is hanging on the tactic
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	repls, children := simPids(t, logPath, "START"), simPids(t, logPath, "CHILD")
	if len(repls) != 2 || len(children) != 2 {
		t.Fatalf("%d repls and %d children logged, want 2 and 2", len(repls), len(children))
	}
	for _, pid := range append(repls, children...) {
		if alive(pid) {
			t.Errorf("process %d still runs after Close", pid)
		}
	}
	if err := <-applied; !errors.Is(err, prover.ErrClosed) {
		t.Errorf("the busy Apply returned %v, want prover.ErrClosed", err)
	}
	busy.Close()
}

// TestStderrFlood: a REPL that writes megabytes on stderr never blocks on
// it, and a death reports only the tail.
func TestStderrFlood(t *testing.T) {
	t.Parallel()
	b, _ := newSimBackend(t, "stderr-flood", nil)
	ctx := t.Context()
	s, err := b.Open(ctx, simTheorem("sim_two_step"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r1, err := s.Apply(ctx, s.Root().ID, "intro x hx", time.Second)
	if err != nil || r1.Status != prover.StepOpen {
		t.Fatalf("intro: %+v, %v", r1, err)
	}
	rc, err := s.Apply(ctx, r1.State.ID, "crash_me", 5*time.Second)
	if err != nil || rc.Status != prover.StepFailed || !strings.Contains(rc.Message, "Stack overflow detected") {
		t.Fatalf("crash_me: %+v, %v; want StepFailed with the stderr tail", rc, err)
	}
	if len(rc.Message) > stderrTailBytes+1024 {
		t.Errorf("message of %d bytes, want the tail only (%d bytes)", len(rc.Message), stderrTailBytes)
	}
}

// TestDeathBetweenRequests: a REPL that exits on its own after an answer
// is a failure (logged, counted) found before the next request is sent;
// the session goes on on a fresh process, by replay.
func TestDeathBetweenRequests(t *testing.T) {
	t.Parallel()
	var logs logBuf
	b, _ := newSimBackend(t, "exit-after=3", withLog(&logs, nil))
	ctx := t.Context()
	s, err := b.Open(ctx, simTheorem("sim_two_step"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := s.(*session).repl
	r1, err := s.Apply(ctx, s.Root().ID, "intro x hx", time.Second) // the 3rd answer
	if err != nil || r1.Status != prover.StepOpen {
		t.Fatalf("intro: %+v, %v", r1, err)
	}
	<-first.p.Done()
	r2, err := s.Apply(ctx, r1.State.ID, "subst hx", time.Second)
	if err != nil || r2.Status != prover.StepOpen {
		t.Fatalf("subst after the death: %+v, %v", r2, err)
	}
	if st := b.Stats(); st.Failures != 1 || st.Restarts != 1 {
		t.Errorf("Stats() = %+v, want 1 failure and 1 restart", st)
	}
	if !strings.Contains(logs.String(), "exited between requests") || !strings.Contains(logs.String(), "exiting after answer 3") {
		t.Errorf("the death and its stderr tail were not logged:\n%s", logs.String())
	}
}
