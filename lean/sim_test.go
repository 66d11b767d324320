package lean

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

const simHeader = "import Mathlib\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"

func simTheorem(name string) prover.Theorem {
	stmts := map[string]string{
		"sim_two_step":  "theorem sim_two_step : ∀ x : ℝ, x = 2 → x + 1 = 3",
		"sim_trap":      "theorem sim_trap (n : ℕ) : n * 0 = 1",
		"sim_cmd_fail":  "theorem sim_cmd_fail : 1 = 1",
		"sim_bad_axiom": "theorem sim_bad_axiom : 2 = 2",
		"sim_native":    "theorem sim_native : 2 ^ 10 = 1024",
	}
	return prover.Theorem{Name: name, Backend: "lean", Header: simHeader, Statement: stmts[name]}
}

// newSimBackend starts a backend on the simulator; faults go to
// LLEMMA_FAKE_LEAN_FAULT, once-only faults fire in the first process.
// The final checks run on the lake/lean double of toolchain_test.go.
func newSimBackend(t testing.TB, faults string, mod func(*Config)) (*Backend, string) {
	b, logPath, _ := newSimBackendTC(t, faults, mod)
	return b, logPath
}

func newSimBackendTC(t testing.TB, faults string, mod func(*Config)) (*Backend, string, *fakeTC) {
	t.Helper()
	dir := t.TempDir()
	logPath := filepath.Join(dir, "requests.log")
	cfg := fakeConfig("sim",
		"LLEMMA_FAKE_LEAN_FAULT="+faults,
		"LLEMMA_FAKE_LEAN_MARK="+filepath.Join(dir, "fault-fired"),
		"LLEMMA_FAKE_LEAN_LOG="+logPath)
	cfg.StartTimeout = 5 * time.Second
	cfg.RequestTimeout = 5 * time.Second
	cfg.CompileTimeout = 20 * time.Second
	cfg.backoff = proc.Backoff{Base: time.Millisecond, Max: 20 * time.Millisecond}
	tc := newFakeTC(t)
	tc.configure(&cfg)
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc.attach(b)
	t.Cleanup(func() { b.Close() })
	return b, logPath, tc
}

// listProposer proposes the same scored tactics everywhere: the search
// and the simulator's script decide what works.
type listProposer []string

func (l listProposer) Name() string { return "list" }
func (l listProposer) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	out := make([]prover.Candidate, len(l))
	for i, tac := range l {
		out[i] = prover.Candidate{Tactic: tac, Score: -0.1 * float64(i+1)}
	}
	return out, nil
}

// Candidates, best first: the untrusted ones must be refused, the trap
// (linarith at the root) must not count, the hang must time out.
var simTactics = listProposer{"exact?", "sorry", "linarith", "nlinarith", "crash_me", "intro x hx",
	"simp", "decide", "norm_num", "omega", "native_decide", "subst hx", "#eval 1", "rw [hx]\n  ring"}

func runAgent(t *testing.T, b *Backend, thm prover.Theorem) prover.Outcome {
	t.Helper()
	a := &prover.Agent{
		Backend:        b,
		Proposer:       simTactics,
		Search:         search.Config{Expansions: 20, Samples: 16, TacticTimeout: 400 * time.Millisecond},
		TheoremTimeout: 30 * time.Second,
		OpenTimeout:    10 * time.Second,
		VerifyTimeout:  10 * time.Second,
	}
	return a.Prove(context.Background(), thm)
}

func TestAgentVerdicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		thm      string
		native   bool
		want     prover.Status
		errWants string
	}{
		{thm: "sim_two_step", want: prover.StatusProved},
		{thm: "sim_trap", want: prover.StatusFailed, errWants: "search ended"},
		{thm: "sim_cmd_fail", want: prover.StatusFailed, errWants: "failed final check: lean error at line 7: fail to show termination"},
		{thm: "sim_bad_axiom", want: prover.StatusFailed, errWants: "the proof uses sorry; disallowed axioms: sorryAx"},
		{thm: "sim_native", want: prover.StatusFailed, errWants: "search ended"},
		{thm: "sim_native", native: true, want: prover.StatusProved},
	}
	for _, tc := range tests {
		t.Run(tc.thm, func(t *testing.T) {
			t.Parallel()
			b, _ := newSimBackend(t, "", func(c *Config) { c.AllowNativeDecide = tc.native })
			out := runAgent(t, b, simTheorem(tc.thm))
			if out.Status != tc.want || !strings.Contains(out.Error, tc.errWants) {
				t.Fatalf("%s: status %s (%s), want %s containing %q; proof %q", tc.thm, out.Status, out.Error, tc.want, tc.errWants, out.Proof)
			}
			if tc.want == prover.StatusProved {
				if out.Verification == nil || !out.Verification.Verified {
					t.Fatalf("proved without a verification: %+v", out.Verification)
				}
				if tc.native && !slices.Contains(out.Axioms, "Lean.ofReduceBool") {
					t.Errorf("axioms %v, want Lean.ofReduceBool listed", out.Axioms)
				}
			}
		})
	}
}

// TestAgentUnderFaults: every injected fault still ends in the right
// verdict, and a proof is never reported without its final check.
func TestAgentUnderFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, faults string
		mod          func(*Config)
		want         prover.Status
		errWants     string
	}{
		{name: "none", want: prover.StatusProved},
		{name: "stderr-noise", faults: "stderr-noise", want: prover.StatusProved},
		{name: "slow-start", faults: "slow-start=300ms", want: prover.StatusProved},
		{name: "crash-mid-response", faults: "crash-at=2", want: prover.StatusProved},
		{name: "eof", faults: "eof-at=3", want: prover.StatusProved},
		{name: "garbage", faults: "garbage-at=2", want: prover.StatusProved},
		{name: "forgets-states", faults: "forget-at=4", want: prover.StatusProved},
		{name: "recycle-every-5", mod: func(c *Config) { c.MaxRequests = 5 }, want: prover.StatusProved},
		{name: "flood", faults: "flood-at=2", mod: func(c *Config) { c.maxResponse = 1 << 20 }, want: prover.StatusProved},
		{name: "stderr-flood", faults: "stderr-flood", want: prover.StatusProved},
		{name: "hang-start", faults: "hang-start", mod: func(c *Config) { c.StartTimeout = 300 * time.Millisecond },
			want: prover.StatusError, errWants: "loading the header: no answer within the start timeout of 300ms"},
		{name: "too-slow-start", faults: "slow-start=2s", mod: func(c *Config) { c.StartTimeout = 300 * time.Millisecond },
			want: prover.StatusError, errWants: "loading the header: no answer within the start timeout of 300ms"},
		{name: "die-on-start", faults: "die-on-start", want: prover.StatusError, errWants: "could not find Mathlib olean"},
		{name: "bad-header", faults: "bad-header", want: prover.StatusError, errWants: "unknown module prefix"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, logPath := newSimBackend(t, tc.faults, tc.mod)
			out := runAgent(t, b, simTheorem("sim_two_step"))
			if log, _ := os.ReadFile(logPath); !strings.Contains(tc.faults, "forget") && strings.Contains(string(log), "UNKNOWN") {
				t.Errorf("a stale proof-state id reached a process:\n%s", log)
			}
			if out.Status != tc.want || !strings.Contains(out.Error, tc.errWants) {
				t.Fatalf("status %s (%s), want %s containing %q", out.Status, out.Error, tc.want, tc.errWants)
			}
			if out.Status == prover.StatusProved {
				if out.Verification == nil || !out.Verification.Verified {
					t.Fatal("proved without a verified final check")
				}
				if want := []string{"intro x hx", "subst hx", "norm_num"}; !slices.Equal(out.Proof, want) &&
					!slices.Equal(out.Proof, []string{"intro x hx", "rw [hx]\n  ring", "norm_num"}) {
					t.Errorf("proof %q, want %q", out.Proof, want)
				}
			}
		})
	}
}

// TestRestartReplaysPath: after the process is killed (a hanging tactic),
// a deep state is rebuilt by replaying its tactic path, never by sending
// an id of the dead process.
func TestRestartReplaysPath(t *testing.T) {
	t.Parallel()
	b, logPath := newSimBackend(t, "", nil)
	ctx := context.Background()
	thm := simTheorem("sim_two_step")
	s, err := b.Open(ctx, thm)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r1, err := s.Apply(ctx, s.Root().ID, "intro x hx", time.Second)
	if err != nil || r1.Status != prover.StepOpen {
		t.Fatalf("intro: %+v, %v", r1, err)
	}
	r2, err := s.Apply(ctx, r1.State.ID, "subst hx", time.Second)
	if err != nil || r2.Status != prover.StepOpen {
		t.Fatalf("subst: %+v, %v", r2, err)
	}
	gen := s.(*session).repl.gen
	rh, err := s.Apply(ctx, r1.State.ID, "nlinarith", 200*time.Millisecond)
	if err != nil || rh.Status != prover.StepTimeout || !strings.Contains(rh.Message, "no answer within the tactic timeout of 200ms (killed after 2") {
		t.Fatalf("hanging tactic: %+v, %v; want StepTimeout stating its 200ms deadline and the real wait", rh, err)
	}
	r3, err := s.Apply(ctx, r2.State.ID, "norm_num", time.Second)
	if err != nil || r3.Status != prover.StepProved {
		t.Fatalf("norm_num after restart: %+v, %v", r3, err)
	}
	if g := s.(*session).repl.gen; g == gen {
		t.Fatalf("process generation %d unchanged after a kill", g)
	}
	if st := b.Stats(); st.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", st.Restarts)
	}
	log, _ := os.ReadFile(logPath)
	if strings.Contains(string(log), "UNKNOWN") {
		t.Errorf("a stale proof-state id reached the new process:\n%s", log)
	}
	if n := strings.Count(string(log), `"tactic":"intro x hx"`); n != 2 {
		t.Errorf("intro sent %d times, want 2 (once, then replayed once):\n%s", n, log)
	}
}

// TestRSSRecycle: above the RSS limit every request gets a fresh process,
// and the session still walks its states by replay.
func TestRSSRecycle(t *testing.T) {
	t.Parallel()
	b, logPath := newSimBackend(t, "", func(c *Config) { c.RSSLimit = 1 })
	ctx := context.Background()
	s, err := b.Open(ctx, simTheorem("sim_two_step"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id := s.Root().ID
	for _, tac := range []string{"intro x hx", "subst hx"} {
		r, err := s.Apply(ctx, id, tac, time.Second)
		if err != nil || r.Status != prover.StepOpen {
			t.Fatalf("%s: %+v, %v", tac, r, err)
		}
		id = r.State.ID
	}
	if r, err := s.Apply(ctx, id, "norm_num", time.Second); err != nil || r.Status != prover.StepProved {
		t.Fatalf("norm_num: %+v, %v", r, err)
	}
	if st := b.Stats(); st.Restarts < 3 {
		t.Errorf("restarts = %d, want one per request (3)", st.Restarts)
	}
	if log, _ := os.ReadFile(logPath); strings.Contains(string(log), "UNKNOWN") {
		t.Errorf("a stale proof-state id reached a process:\n%s", log)
	}
}

// TestUnknownStateRecovery: a process that answers "Unknown proof state."
// for an id it issued is replaced and the state rebuilt.
func TestUnknownStateRecovery(t *testing.T) {
	t.Parallel()
	b, logPath := newSimBackend(t, "forget-at=2", nil)
	ctx := context.Background()
	s, err := b.Open(ctx, simTheorem("sim_two_step"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r1, err := s.Apply(ctx, s.Root().ID, "intro x hx", time.Second)
	if err != nil || r1.Status != prover.StepOpen {
		t.Fatalf("intro: %+v, %v", r1, err)
	}
	r2, err := s.Apply(ctx, r1.State.ID, "subst hx", time.Second)
	if err != nil || r2.Status != prover.StepOpen || r2.State.Goals[0] != "⊢ 2 + 1 = 3" {
		t.Fatalf("subst after the double forgot its states: %+v, %v", r2, err)
	}
	log, _ := os.ReadFile(logPath)
	if !strings.Contains(string(log), "UNKNOWN") {
		t.Fatalf("the fault did not fire:\n%s", log)
	}
}

func TestCrashingTacticFailsAndSessionGoesOn(t *testing.T) {
	t.Parallel()
	b, _ := newSimBackend(t, "", nil)
	ctx := context.Background()
	s, err := b.Open(ctx, simTheorem("sim_two_step"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r1, _ := s.Apply(ctx, s.Root().ID, "intro x hx", time.Second)
	rc, err := s.Apply(ctx, r1.State.ID, "crash_me", time.Second)
	if err != nil || rc.Status != prover.StepFailed || !strings.Contains(rc.Message, "Stack overflow") {
		t.Fatalf("crashing tactic: %+v, %v; want StepFailed with the stderr tail", rc, err)
	}
	r2, err := s.Apply(ctx, r1.State.ID, "subst hx", time.Second)
	if err != nil || r2.Status != prover.StepOpen {
		t.Fatalf("after crash: %+v, %v", r2, err)
	}
}

// TestVerifyRejects: the final check on files assembled from the sim
// theorems' tactics.
func TestVerifyRejects(t *testing.T) {
	t.Parallel()
	b, _ := newSimBackend(t, "", nil)
	ctx := context.Background()
	thm := simTheorem("sim_two_step")
	good := b.Assemble(thm, []string{"intro x hx", "subst hx", "norm_num"})
	v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: good})
	if err != nil || !v.Verified || !slices.Equal(v.Axioms, []string{"Classical.choice", "Quot.sound", "propext"}) {
		t.Fatalf("Verify(good) = %+v, %v", v, err)
	}
	if v.Constant != thm.Name || v.Type != "∀ x : ℝ, x = 2 → x + 1 = 3" || v.Sandbox == "" {
		t.Errorf("Verify(good) constant %q type %q sandbox %q", v.Constant, v.Type, v.Sandbox)
	}
	tests := map[string]string{
		"unsolved":          b.Assemble(thm, []string{"intro x hx"}),
		"sorry":             b.Assemble(thm, []string{"intro x hx", "sorry"}),
		"other statement":   strings.Replace(good, "x + 1 = 3", "x + 1 = 4", 1),
		"smuggled axiom":    good + "axiom cheat : False\n",
		"no proof":          thm.Header + thm.Statement + " := by\n",
		"smuggled #eval":    good + "#eval 1\n",
		"name in namespace": strings.Replace(good, "theorem sim_two_step", "namespace Foo\ntheorem sim_two_step", 1) + "end Foo\n",
	}
	for name, file := range tests {
		v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: file})
		if err != nil || v.Verified {
			t.Errorf("Verify(%s) = %+v, %v; want not verified", name, v, err)
		}
	}
}

func TestBackendCloseAndOpenAfterClose(t *testing.T) {
	t.Parallel()
	b, _ := newSimBackend(t, "", nil)
	s, err := b.Open(context.Background(), simTheorem("sim_two_step"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(context.Background(), s.Root().ID, "intro x hx", time.Second); err == nil {
		t.Fatal("Apply after Close succeeded")
	}
	s.Close()
	s.Close()
	if _, err := b.Open(context.Background(), simTheorem("sim_two_step")); !errors.Is(err, prover.ErrClosed) {
		t.Fatalf("Open after Close: %v, want ErrClosed", err)
	}
}

func TestContextCancelStopsRequest(t *testing.T) {
	t.Parallel()
	b, _ := newSimBackend(t, "", nil)
	s, err := b.Open(context.Background(), simTheorem("sim_two_step"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Apply(ctx, s.Root().ID, "nlinarith", time.Minute)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("Apply under a cancelled ctx: err %v after %v", err, time.Since(start))
	}
}

// TestMemoryLimitApplied: the REPL runs under RLIMIT_AS from its first
// instruction (the sandbox helper sets it before exec), and its RSS is
// read from /proc.
func TestMemoryLimitApplied(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat("/proc/self/limits"); err != nil {
		t.Skip("no /proc")
	}
	cfg := Config{Repl: []string{"sh", "-c", `grep "Max address space" /proc/self/limits; exec cat`}, MemoryLimit: 3 << 30}
	r := startFake(t, cfg)
	var line string
	err := r.p.Do(t.Context(), 10*time.Second, func() error {
		var err error
		line, err = r.br.ReadString('\n')
		return err
	})
	if err != nil {
		t.Fatalf("reading the limit line: %v (%s)", err, r.p.StderrTail())
	}
	if f := strings.Fields(line); len(f) < 4 || f[3] != itoa(3<<30) {
		t.Fatalf("limit line %q, want %d", line, 3<<30)
	}
	if rss := r.p.RSS(); rss <= 0 {
		t.Errorf("RSS() = %d, want > 0", rss)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestStepRules: every way a tactic can come back shaped like success
// without a Completed proof is a failure.
func TestStepRules(t *testing.T) {
	t.Parallel()
	b, _ := newSimBackend(t, "", nil)
	ctx := context.Background()
	s, err := b.Open(ctx, simTheorem("sim_trap"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for tac, why := range map[string]string{
		"linarith": "linarith failed", // goals [] with an error message: the trap
		"simp":     "contains sorry",  // goals [] recovered with sorry, no message
		"decide":   "kernel type check failed",
		"norm_num": "metavariable",
		"omega":    "omega could not prove the goal", // top-level {"message"}
		"exat 42":  "unknown tactic",
	} {
		r, err := s.Apply(ctx, s.Root().ID, tac, time.Second)
		if err != nil || r.Status != prover.StepFailed || !strings.Contains(r.Message, why) {
			t.Errorf("Apply(%q) = %+v, %v; want StepFailed mentioning %q", tac, r, err, why)
		}
	}
	r, err := s.Apply(ctx, s.Root().ID, "intro x hx", time.Second)
	if err != nil || r.Status != prover.StepOpen {
		t.Fatalf("intro: %+v, %v", r, err)
	}
	if r, err := s.Apply(ctx, r.State.ID, "simp", time.Second); err != nil || r.Status != prover.StepFailed {
		t.Errorf("trap on a deeper state: %+v, %v", r, err)
	}
}

// TestVerifyRunsOnAnotherProcess: the final check never runs on a REPL:
// the search's processes see no whole file and no #print axioms, and the
// check's lean processes are fresh ones, one per file.
func TestVerifyRunsOnAnotherProcess(t *testing.T) {
	t.Parallel()
	b, logPath, tc := newSimBackendTC(t, "", nil)
	out := runAgent(t, b, simTheorem("sim_two_step"))
	if out.Status != prover.StatusProved {
		t.Fatalf("status %s: %s", out.Status, out.Error)
	}
	log, _ := os.ReadFile(logPath)
	repl := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(log)), "\n") {
		pid, req, _ := strings.Cut(line, " ")
		repl[pid] = true
		if strings.Contains(req, "#print axioms") || strings.Contains(req, ":= by\\n") {
			t.Errorf("a REPL received a final-check request: %s", line)
		}
	}
	starts := tc.leanStarts(t)
	if len(starts) != 3 {
		t.Fatalf("%d lean processes, want 3 (challenge, solution, compare): %+v", len(starts), starts)
	}
	for _, s := range starts {
		if repl[strconv.Itoa(s.Pid)] {
			t.Errorf("lean process %d also served the search", s.Pid)
		}
	}
	if st := b.Stats(); st.Compiles != 3 {
		t.Errorf("Stats().Compiles = %d, want 3", st.Compiles)
	}
}
