package coq

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/internal/proctest"
	"github.com/llemma-prove/llemma-prove/prover"
)

// Supervision of coqtop, tested on the fake coqtop of fake_test.go: no
// real Coq needed.

var fakeThm = prover.Theorem{Name: "fake_thm", Backend: "coq", Header: "Require Import Arith.\n", Statement: "Theorem fake_thm :\n  True."}

// fakeBackend is a backend whose coqtop is the fake mode (with args).
func fakeBackend(t *testing.T, mode string, cfg Config, args ...string) *Backend {
	t.Helper()
	argv, env := proctest.Argv(mode, args...)
	cfg.Coqtop = argv
	cfg.Env = append(cfg.Env, env...)
	cfg.MemoryLimit = -1 // the fake is a Go (race) binary: no address-space limit
	if cfg.Workers == 0 {
		cfg.Workers = 1
	}
	if cfg.Grace == 0 {
		cfg.Grace = 300 * time.Millisecond
	}
	b := New(cfg)
	t.Cleanup(func() { b.Close() })
	return b
}

func openFake(t *testing.T, b *Backend) *session {
	t.Helper()
	s, err := b.Open(context.Background(), fakeThm)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s.(*session)
}

func apply(t *testing.T, s prover.Session, ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) prover.StepResult {
	t.Helper()
	r, err := s.Apply(ctx, from, tactic, timeout)
	if err != nil {
		t.Fatalf("Apply(%q): %v", tactic, err)
	}
	return r
}

func TestFakeSession(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "coqtop", Config{})
	s := openFake(t, b)
	ctx := context.Background()
	if g := s.Root().Goals; len(g) != 1 || !strings.HasSuffix(g[0], "True") {
		t.Fatalf("root goals %q", g)
	}
	if r := apply(t, s, ctx, 0, "fail.", time.Second); r.Status != prover.StepFailed || !strings.Contains(r.Message, "fake") {
		t.Fatalf("fail. = %+v, want failed with coqtop's error", r)
	}
	r := apply(t, s, ctx, 0, "intros.", time.Second)
	if r.Status != prover.StepOpen || !strings.HasSuffix(r.State.Goals[0], "True'") {
		t.Fatalf("intros. = %+v", r)
	}
	deep := r.State.ID
	// A sibling (BackTo the root), then back down (BackTo + replay).
	if r := apply(t, s, ctx, 0, "step.", time.Second); r.Status != prover.StepOpen {
		t.Fatalf("step. = %+v", r)
	}
	if r := apply(t, s, ctx, deep, "done.", time.Second); r.Status != prover.StepProved {
		t.Fatalf("done. = %+v", r)
	}
	st := s.Stats()
	if st.Starts != 1 || st.Restarts != 0 || st.Interrupted != 0 || st.Killed != 0 || st.StartTime <= 0 || st.LoadTime <= 0 {
		t.Errorf("session stats %+v: want one start, no restart, the start and load timed", st)
	}
	s.Close()
	// The warm process serves the next theorem: no new start.
	s2 := openFake(t, b)
	if st := s2.Stats(); st.Starts != 0 {
		t.Errorf("second session started %d processes, want the warm one", st.Starts)
	}
	if bs := b.Stats(); bs.Started != 1 || bs.Sessions != 2 || bs.PreludeTime <= 0 {
		t.Errorf("backend stats %+v", bs)
	}
}

// A tactic past its CPU budget is interrupted with SIGINT; the process is
// kept and the search goes on without a restart.
func TestFakeCPUBudgetInterrupts(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "coqtop", Config{})
	s := openFake(t, b)
	ctx := context.Background()
	start := time.Now()
	r := apply(t, s, ctx, 0, "spin.", 300*time.Millisecond)
	if r.Status != prover.StepTimeout || !strings.Contains(r.Message, "of CPU") {
		t.Fatalf("spin. = %+v, want a timeout on the CPU budget", r)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the interrupt took %v", d)
	}
	if r := apply(t, s, ctx, 0, "intros.", time.Second); r.Status != prover.StepOpen {
		t.Fatalf("after the interrupt: %+v", r)
	}
	if st := s.Stats(); st.Interrupted != 1 || st.Killed != 0 || st.Restarts != 0 || st.CheckerCPU < 300*time.Millisecond {
		t.Errorf("stats %+v: want one interrupt, no kill or restart, >= 300ms of CPU", st)
	}
}

// Slow in wall time is not a timeout: the budget is CPU time, and a
// sentence that waits (or waits for a CPU on a loaded machine) keeps it.
func TestFakeWallSlowIsNotTimeout(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "coqtop", Config{})
	s := openFake(t, b)
	r := apply(t, s, context.Background(), 0, "sleep 800.", 300*time.Millisecond)
	if r.Status != prover.StepOpen {
		t.Fatalf("sleep 800. with a 300ms CPU budget = %+v, want open", r)
	}
}

// A tactic that ignores SIGINT (vm_compute) is killed a grace after the
// interrupt; the next tactic runs on a new process that replayed the path.
func TestFakeUninterruptibleIsKilledAndReplayed(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "coqtop", Config{})
	s := openFake(t, b)
	ctx := context.Background()
	r := apply(t, s, ctx, 0, "intros.", time.Second)
	deep := r.State.ID
	r = apply(t, s, ctx, deep, "spinhard.", 200*time.Millisecond)
	if r.Status != prover.StepTimeout || !strings.Contains(r.Message, "killed") {
		t.Fatalf("spinhard. = %+v, want a timeout that killed the process", r)
	}
	if r := apply(t, s, ctx, deep, "done.", time.Second); r.Status != prover.StepProved {
		t.Fatalf("after the kill: %+v", r)
	}
	if st := s.Stats(); st.Killed != 1 || st.Restarts != 1 || st.Starts != 2 {
		t.Errorf("stats %+v: want one kill, one restart, two processes", st)
	}
}

// A sentence that ends on its own just as SIGINT is sent leaves the signal
// pending (it would break the next sentence): the process is not reused.
func TestFakeInterruptRaceKillsTheProcess(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "coqtop", Config{})
	s := openFake(t, b)
	ctx := context.Background()
	r := apply(t, s, ctx, 0, "spinthenok.", 200*time.Millisecond)
	if r.Status != prover.StepTimeout {
		t.Fatalf("spinthenok. = %+v, want a timeout", r)
	}
	r = apply(t, s, ctx, 0, "intros.", time.Second)
	if r.Status != prover.StepOpen {
		t.Fatalf("after the race: %+v (a reused process would answer User interrupt)", r)
	}
	if st := s.Stats(); st.Killed != 1 || st.Restarts != 1 {
		t.Errorf("stats %+v: want the process killed and replaced", st)
	}
}

// A coqtop that dies mid-answer: the tactic fails with the death's stderr
// tail, and the next tactic gets a new process.
func TestFakeCrashMidAnswer(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "coqtop", Config{})
	s := openFake(t, b)
	ctx := context.Background()
	r := apply(t, s, ctx, 0, "crash.", time.Second)
	if r.Status != prover.StepFailed || !strings.Contains(r.Message, "Segmentation fault") {
		t.Fatalf("crash. = %+v, want failed with the stderr tail", r)
	}
	if r := apply(t, s, ctx, 0, "intros.", time.Second); r.Status != prover.StepOpen {
		t.Fatalf("after the crash: %+v", r)
	}
	if st := s.Stats(); st.Crashes != 1 || st.Restarts != 1 {
		t.Errorf("stats %+v", st)
	}
}

// The death itself is a *proc.ExitError wrapping prover.ErrProcessDied.
func TestFakeDeathIsTyped(t *testing.T) {
	t.Parallel()
	argv, env := proctest.Argv("coqtop")
	c, _, err := startCoqtop(context.Background(), argv, -1, env)
	if err != nil {
		t.Fatal(err)
	}
	defer c.kill()
	_, err = c.send(context.Background(), "crash.", 10*time.Second)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || !errors.Is(err, prover.ErrProcessDied) || ee.Code != 1 || !strings.Contains(ee.StderrTail, "Segmentation fault") {
		t.Fatalf("crash: %v; want a *proc.ExitError with exit 1 and the tail, wrapping ErrProcessDied", err)
	}
	if !c.dead || c.healthy() {
		t.Error("a dead coqtop is still marked usable")
	}
	if _, err := c.send(context.Background(), "intros.", time.Second); !errors.Is(err, prover.ErrProcessDied) {
		t.Errorf("a sentence to a dead coqtop = %v, want ErrProcessDied", err)
	}
}

// A coqtop that floods its output without a prompt is killed at 8 MiB.
func TestFakeFlood(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "coqtop", Config{})
	s := openFake(t, b)
	ctx := context.Background()
	r := apply(t, s, ctx, 0, "flood.", 30*time.Second)
	if r.Status != prover.StepFailed || !strings.Contains(r.Message, "without a prompt") {
		t.Fatalf("flood. = %+v", r)
	}
	if r := apply(t, s, ctx, 0, "intros.", time.Second); r.Status != prover.StepOpen {
		t.Fatalf("after the flood: %+v", r)
	}
}

// A hung coqtop (it ignores SIGINT and uses no CPU), or a stopped one,
// costs the theorem its budget plus the grace, not a fixed deadline.
func TestFakeHangAndStopCostTheBudget(t *testing.T) {
	t.Parallel()
	const budget = 800 * time.Millisecond
	bound := budget + 300*time.Millisecond + 5*time.Second // budget + grace + a loaded machine

	b := fakeBackend(t, "coqtop", Config{})
	s := openFake(t, b)
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	start := time.Now()
	_, err := s.Apply(ctx, 0, "hang.", 10*time.Second)
	if d := time.Since(start); err == nil || d > bound {
		t.Fatalf("hang. with a %v budget: %v after %v; want the ctx's error within %v", budget, err, d, bound)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("hang.: %v, want the ctx's deadline", err)
	}
	s.Close()

	// SIGSTOP the warm process between theorems: the next Open (BackTo
	// the prelude) is bounded by its ctx.
	s2 := openFake(t, b)
	pid := s2.c.p.Pid()
	s2.Close()
	stop(t, pid)
	ctx2, cancel2 := context.WithTimeout(context.Background(), budget)
	defer cancel2()
	start = time.Now()
	if _, err := b.Open(ctx2, fakeThm); err == nil || time.Since(start) > bound {
		t.Fatalf("Open on a stopped coqtop: %v after %v; want an error within %v", err, time.Since(start), bound)
	} else if !strings.Contains(err.Error(), "not computing") {
		t.Errorf("Open on a stopped coqtop: %v; want it said it was not computing", err)
	}
	// And SIGSTOP mid-search: Apply is bounded by the theorem's ctx.
	s3 := openFake(t, b)
	stop(t, s3.c.p.Pid())
	ctx3, cancel3 := context.WithTimeout(context.Background(), budget)
	defer cancel3()
	start = time.Now()
	if r, err := s3.Apply(ctx3, 0, "intros.", 5*time.Second); err == nil || time.Since(start) > bound {
		t.Fatalf("Apply on a stopped coqtop: %+v, %v after %v; want the ctx's error within %v", r, err, time.Since(start), bound)
	}
	if st := b.Stats(); st.Killed < 3 {
		t.Errorf("stats %+v: want the three stuck processes killed", st)
	}
}

// stop SIGSTOPs pid and waits until the kernel reports it stopped (the
// signal is delivered asynchronously).
func stop(t *testing.T, pid int) {
	t.Helper()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			t.Fatal(err)
		}
		st := string(b)
		if i := strings.LastIndexByte(st, ')'); i >= 0 && strings.HasPrefix(st[i+1:], " T") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d not stopped 10 s after SIGSTOP: %s", pid, st)
		}
		time.Sleep(time.Millisecond) // polling the kernel's view, not ordering goroutines
	}
}

// A coqtop that prints garbage fails fast, and after MaxStartFailures
// starts in a row the backend is broken: Open fails at once with
// prover.ErrBackendBroken and the tail of what it printed.
func TestFakeGarbageBreaksTheBackendFast(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "garbage", Config{})
	start := time.Now()
	var err error
	for i := range 3 {
		_, err = b.Open(context.Background(), fakeThm)
		if err == nil {
			t.Fatalf("Open %d on garbage succeeded", i)
		}
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("three Opens on garbage took %v; want fail-fast", d)
	}
	var ee *proc.ExitError
	if !errors.Is(err, prover.ErrBackendBroken) || !errors.As(err, &ee) || !strings.Contains(ee.StderrTail, "not coqtop") {
		t.Fatalf("third Open: %v; want ErrBackendBroken with the output's tail", err)
	}
	start = time.Now()
	if _, err := b.Open(context.Background(), fakeThm); !errors.Is(err, prover.ErrBackendBroken) || time.Since(start) > time.Second {
		t.Errorf("Open on a broken backend: %v after %v", err, time.Since(start))
	}
	if st := b.Stats(); !st.Broken || st.StartFailures != 3 || st.Started != 0 {
		t.Errorf("stats %+v", st)
	}
}

// A coqtop that exits at once: the exit status and its stderr, then broken.
func TestFakeExitAtOnce(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "exit", Config{MaxStartFailures: 2})
	_, err := b.Open(context.Background(), fakeThm)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || !strings.Contains(ee.StderrTail, "cannot find the standard library") || errors.Is(err, prover.ErrBackendBroken) {
		t.Fatalf("first Open: %v; want exit status 3 and the stderr tail, not yet broken", err)
	}
	if _, err = b.Open(context.Background(), fakeThm); !errors.Is(err, prover.ErrBackendBroken) {
		t.Fatalf("second Open: %v; want ErrBackendBroken", err)
	}
}

// A slow start within StartTimeout is fine (and timed); beyond it the
// message says how long was waited.
func TestFakeSlowStart(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "coqtop", Config{}, "-start-delay", "300ms")
	s := openFake(t, b)
	if st := s.Stats(); st.StartTime < 300*time.Millisecond {
		t.Errorf("start time %v, want >= the 300ms delay", st.StartTime)
	}
	slow := fakeBackend(t, "coqtop", Config{StartTimeout: 100 * time.Millisecond}, "-start-delay", "5s")
	start := time.Now()
	_, err := slow.Open(context.Background(), fakeThm)
	if err == nil || !strings.Contains(err.Error(), "first prompt") || !errors.Is(err, errStartTimeout) {
		t.Fatalf("Open with a 5s start and a 100ms StartTimeout: %v", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("the start timeout of 100ms took %v", d)
	}
}

// A coqtop that crashes on every tactic: the session gives up after
// MaxCrashes deaths with ErrBackendBroken, and after MaxStartFailures
// such sessions in a row the backend refuses work.
func TestFakeCrashLoop(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "coqtop", Config{MaxCrashes: 2, MaxStartFailures: 2}, "-crash-every", "1")
	for i := range 2 {
		s := openFake(t, b)
		var err error
		for range 5 {
			if _, err = s.Apply(context.Background(), 0, "intros.", time.Second); err != nil {
				break
			}
		}
		var ee *proc.ExitError
		if !errors.Is(err, prover.ErrBackendBroken) || !errors.As(err, &ee) || !strings.Contains(ee.StderrTail, "Segmentation fault") {
			t.Fatalf("session %d: %v; want ErrBackendBroken with the stderr tail", i, err)
		}
		if st := s.Stats(); st.Crashes != 3 {
			t.Errorf("session %d: %d crashes, want MaxCrashes+1 = 3", i, st.Crashes)
		}
		s.Close()
	}
	if _, err := b.Open(context.Background(), fakeThm); !errors.Is(err, prover.ErrBackendBroken) {
		t.Fatalf("Open after two crash-looping sessions: %v; want ErrBackendBroken", err)
	}
}

// A cancelled Open leaves the queue; Close with sessions out still stops
// the idle processes, and a session closed later stops its own.
func TestFakeCloseAndCancel(t *testing.T) {
	t.Parallel()
	b := fakeBackend(t, "coqtop", Config{Workers: 1})
	s := openFake(t, b)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := b.Open(ctx, fakeThm); !errors.Is(err, context.Canceled) {
		t.Fatalf("Open with a cancelled ctx and no free slot: %v", err)
	}
	pid := s.c.p.Pid()
	b.Close()
	s.Close()
	if err := syscall.Kill(pid, 0); err == nil {
		// Put closes in the background: wait for the process to go.
		deadline := time.Now().Add(10 * time.Second)
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond) // polling the kernel, not ordering goroutines
		}
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("coqtop %d still alive after Close", pid)
		}
	}
	if _, err := b.Open(context.Background(), fakeThm); !errors.Is(err, prover.ErrClosed) {
		t.Errorf("Open after Close: %v, want ErrClosed", err)
	}
}
