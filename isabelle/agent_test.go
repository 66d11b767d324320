package isabelle

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// tableProposer proposes by the first goal of the state.
type tableProposer map[string][]prover.Candidate

func (p tableProposer) Name() string { return "table" }

func (p tableProposer) Propose(_ context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	if len(req.State.Goals) == 0 {
		return nil, nil
	}
	return p[req.State.Goals[0]], nil
}

func simTheorem(t testing.TB, name, goal string) prover.Theorem {
	t.Helper()
	thm, err := ParseTheorem(name, "(* simulated *)\ntheory "+name+" imports Main\nbegin\n\ntheorem "+name+":\n  \""+goal+"\"\n  sorry\n\nend\n")
	if err != nil {
		t.Fatal(err)
	}
	return thm
}

func simBackend(t testing.TB, mode string) *Backend {
	t.Helper()
	b, err := New(fakeConfig(t, mode))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func c(tactic string, score float64) prover.Candidate {
	return prover.Candidate{Tactic: tactic, Score: score}
}

const conj = `A \<and> B`

var proofOfConj = []prover.Candidate{c("apply (rule conjI)", -0.5)}

func TestAgentUnderFaults(t *testing.T) {
	t.Parallel()
	solve := tableProposer{"A": {c("apply simp", -0.1)}, "B": {c("apply auto", -0.1)}}
	cases := []struct {
		name      string
		mode      string
		goal      string
		root      []prover.Candidate
		want      prover.Status
		restarts  bool   // the server must have been restarted or reconnected
		fileHas   string // the verified file contains this
		errHas    string
		rejectMin int
	}{
		{name: "plain", mode: "sim", goal: conj, root: proofOfConj, want: prover.StatusProved, fileHas: "apply (rule conjI)"},
		{name: "by-normalized", mode: "sim", goal: "A", root: []prover.Candidate{c("by simp", -0.1)}, want: prover.StatusProved, fileHas: "apply simp"},
		{name: "hang", mode: "sim", goal: conj, want: prover.StatusProved,
			root: append([]prover.Candidate{{Tactic: "apply hang_forever", Score: -0.01, Timeout: 300 * time.Millisecond}}, proofOfConj...)},
		{name: "deaf-server", mode: "sim", goal: conj, want: prover.StatusProved, restarts: true,
			root: append([]prover.Candidate{{Tactic: "apply deaf", Score: -0.01, Timeout: 300 * time.Millisecond}}, proofOfConj...)},
		{name: "disconnect-mid-message", mode: "sim", goal: conj, want: prover.StatusProved, restarts: true,
			root: append([]prover.Candidate{c("apply drop_conn", -0.01)}, proofOfConj...)},
		{name: "failed-task", mode: "sim", goal: conj, want: prover.StatusProved,
			root: append([]prover.Candidate{c("apply task_fail", -0.01)}, proofOfConj...)},
		{name: "sledgehammer", mode: "sim", goal: "C", root: []prover.Candidate{c("sledgehammer", -0.1)}, want: prover.StatusProved, fileHas: "apply metis"},
		{name: "sledgehammer-using", mode: "sim", goal: "E", root: []prover.Candidate{c("sledgehammer", -0.1)}, want: prover.StatusProved, fileHas: "using assms\n  apply blast"},
		{name: "sorry-only", mode: "sim", goal: conj, want: prover.StatusFailed, rejectMin: 7, root: []prover.Candidate{
			c("sorry", 0), c("  sorry  ", 0), c("oops", 0), c("apply (rule conjI) sorry", 0), c("apply (tactic \\<open>all_tac\\<close>)", 0),
			c("by auto done", 0), c("lemma x: True by simp", 0), c("declare [[quick_and_dirty]]", 0), c("done", 0),
		}},
		{name: "fails-final-check", mode: "sim", goal: conj, root: []prover.Candidate{c("apply flaky", -0.1)}, want: prover.StatusFailed, errHas: "final check"},
		{name: "no-proof", mode: "sim", goal: "D", root: []prover.Candidate{c("apply simp", -0.1), c("apply auto", -0.2)}, want: prover.StatusFailed},
		{name: "refused-password", mode: "sim-refuse", goal: conj, root: proofOfConj, want: prover.StatusError, errHas: "password"},
		{name: "server-exits", mode: "exit", goal: conj, root: proofOfConj, want: prover.StatusError, errHas: "refusing to start"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := simBackend(t, tc.mode)
			prop := tableProposer{tc.goal: tc.root}
			for k, v := range solve {
				if k != tc.goal {
					prop[k] = v
				}
			}
			a := &prover.Agent{
				Backend: b, Proposer: prop,
				Search:         search.Config{Expansions: 10, Samples: 16, TacticTimeout: 5 * time.Second},
				TheoremTimeout: 60 * time.Second, OpenTimeout: 30 * time.Second, VerifyTimeout: 30 * time.Second,
			}
			thm := simTheorem(t, "sim_"+strings.ReplaceAll(tc.name, "-", "_"), tc.goal)
			out := a.Prove(context.Background(), thm)
			if out.Status != tc.want {
				t.Fatalf("status %s (%s), want %s; trace %+v", out.Status, out.Error, tc.want, out.Trace)
			}
			if out.Status == prover.StatusProved {
				if out.Verification == nil || !out.Verification.Verified {
					t.Errorf("proved without verification: %+v", out.Verification)
				}
				proof := strings.TrimPrefix(out.FileText, thm.Header+thm.Statement)
				for _, bad := range []string{"sorry", "oops", "sledgehammer", "hang", "deaf", "drop_conn"} {
					if strings.Contains(proof, bad) {
						t.Errorf("verified file contains %q:\n%s", bad, out.FileText)
					}
				}
				if !strings.Contains(out.FileText, tc.fileHas) || !strings.HasPrefix(out.FileText, thm.Header+thm.Statement) {
					t.Errorf("verified file:\n%s", out.FileText)
				}
			}
			if tc.errHas != "" && !strings.Contains(out.Error, tc.errHas) {
				t.Errorf("error %q does not mention %q", out.Error, tc.errHas)
			}
			if out.Rejected < tc.rejectMin {
				t.Errorf("%d rejected, want >= %d", out.Rejected, tc.rejectMin)
			}
			if tc.restarts && b.Restarts() == 0 {
				t.Errorf("no restart or reconnection recorded")
			}
		})
	}
}

func TestVerifyGuards(t *testing.T) {
	t.Parallel()
	b := simBackend(t, "sim")
	thm := simTheorem(t, "sim_verify", conj)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	good := b.Assemble(thm, []string{"apply (rule conjI)", "apply simp", "apply simp"})
	if v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: good}); err != nil || !v.Verified {
		t.Fatalf("Verify(good) = %+v, %v", v, err)
	}
	for name, file := range map[string]string{
		// the server accepts sorry and oops (PIDE runs interactively); the client must not
		"sorry":        thm.Header + thm.Statement + "\n  sorry\n\nend\n",
		"sorry-done":   thm.Header + thm.Statement + "\n  sorry\n  done\n\nend\n",
		"oops":         thm.Header + thm.Statement + "\n  oops\n\nend\n",
		"changed":      strings.Replace(good, conj, "A", 1),
		"second-lemma": thm.Header + "lemma helper: \"A\" sorry\n" + thm.Statement + "\n  apply simp\n  done\n\nend\n",
		"open-goals":   b.Assemble(thm, []string{"apply (rule conjI)"}),
		"axiom":        thm.Header + thm.Statement + "\n  apply simp\n  done\naxiomatization where ax: False\nend\n",
		"ml":           thm.Header + thm.Statement + "\n  apply (tactic \\<open>all_tac\\<close>)\n  done\n\nend\n",
	} {
		v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: file})
		if err != nil || v.Verified {
			t.Errorf("Verify(%s) = %+v, %v; want not verified", name, v, err)
		}
	}
	// a Theorem whose statement was altered after loading is caught by the benchmark file
	dir := t.TempDir()
	path := dir + "/sim_verify.thy"
	if err := writeFile(path, thm.Header+"theorem sim_verify:\n  \"A\"\n  sorry\n\nend\n"); err != nil {
		t.Fatal(err)
	}
	tampered := thm
	tampered.Path = path
	if v, err := b.Verify(ctx, prover.VerifyRequest{Name: tampered.Name, Challenge: &tampered, Solution: good}); err != nil || v.Verified || !strings.Contains(v.Message, "benchmark") {
		t.Errorf("Verify(tampered) = %+v, %v", v, err)
	}
}

func TestSessionApplyDirect(t *testing.T) {
	t.Parallel()
	b := simBackend(t, "sim")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := b.Open(ctx, simTheorem(t, "sim_direct", conj))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	root := s.Root()
	if len(root.Goals) != 1 || root.Goals[0] != conj || !strings.Contains(root.Text, "goal (1 subgoal)") {
		t.Fatalf("root = %+v", root)
	}
	// Apply is the last gate: the policy runs there too
	r, err := s.Apply(ctx, root.ID, "sorry", time.Second)
	if err != nil || r.Status != prover.StepRejected {
		t.Errorf("Apply(sorry) = %+v, %v", r, err)
	}
	r, err = s.Apply(ctx, root.ID, "apply (rule conjI)", time.Second)
	if err != nil || r.Status != prover.StepOpen || len(r.State.Goals) != 2 {
		t.Fatalf("Apply(conjI) = %+v, %v", r, err)
	}
	u, err := s.Apply(ctx, r.State.ID, "using assms", time.Second)
	if err != nil || u.Status != prover.StepOpen || u.State.Key() == r.State.Key() || u.State.Goals[0] != "using assms" {
		t.Errorf("Apply(using) = %+v, %v; the chained facts must show in the state", u, err)
	}
	r2, err := s.Apply(ctx, r.State.ID, "apply blast", time.Second)
	if err != nil || r2.Status != prover.StepFailed || !strings.Contains(r2.Message, "Failed to apply") {
		t.Errorf("Apply(blast) = %+v, %v", r2, err)
	}
	r3, err := s.Apply(ctx, r.State.ID, "apply auto", time.Second)
	if err != nil || r3.Status != prover.StepProved {
		t.Errorf("Apply(auto) = %+v, %v", r3, err)
	}
	if _, err := b.Open(ctx, prover.Theorem{Name: "bad", Backend: "isabelle", Header: "nothing", Statement: "x"}); !errors.Is(err, prover.ErrLoad) {
		t.Errorf("Open(bad) = %v", err)
	}
	s.Close()
	if _, err := s.Apply(ctx, root.ID, "apply simp", time.Second); !errors.Is(err, prover.ErrClosed) {
		t.Errorf("Apply after Close = %v", err)
	}
}

func TestDoctor(t *testing.T) {
	t.Parallel()
	checks := Doctor(fakeConfig(t, "sim"))
	if len(checks) != 2 || !checks[0].OK || !checks[1].OK || !strings.Contains(checks[1].Detail, "Isabelle2023") || !strings.Contains(checks[1].Detail, "sandbox: ") {
		t.Errorf("Doctor(sim) = %+v", checks)
	}
	checks = Doctor(Config{Server: []string{"no-such-isabelle-binary"}})
	if len(checks) != 1 || checks[0].OK || checks[0].Fix == "" {
		t.Errorf("Doctor(missing) = %+v", checks)
	}
	checks = Doctor(fakeConfig(t, "sim-refuse"))
	if len(checks) != 2 || checks[1].OK || !strings.Contains(checks[1].Detail, "password") || checks[1].Fix == "" {
		t.Errorf("Doctor(refuse) = %+v", checks)
	}
}

func writeFile(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }

func TestWarmSessionPurgeAndRecovery(t *testing.T) {
	t.Parallel()
	fs := startInProcess(t, "sim")
	fs.showStates = true // goals come from print_state's output
	b, err := New(Config{Address: fs.addr(), Password: fs.password, WorkDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var sessions []prover.Session
	for i := 0; i < 3; i++ {
		s, err := b.Open(ctx, simTheorem(t, "sim_warm", conj))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if st := s.Root(); !strings.HasPrefix(st.Text, "goal (1 subgoal)") || st.Goals[0] != conj {
			t.Fatalf("root %+v", st)
		}
		sessions = append(sessions, s)
	}
	if n := fs.starts.Load(); n != 1 {
		t.Errorf("%d session_start calls for one session name, want 1", n)
	}
	// the server forgets its sessions: the backend starts a new one and retries
	fs.mu.Lock()
	fs.sessions = map[string]bool{}
	fs.mu.Unlock()
	r, err := sessions[0].Apply(ctx, sessions[0].Root().ID, "apply (rule conjI)", 5*time.Second)
	if err != nil || r.Status != prover.StepOpen || !reflect.DeepEqual(r.State.Goals, []string{"A", "B"}) {
		t.Fatalf("Apply after the session was lost = %+v, %v", r, err)
	}
	if n := fs.starts.Load(); n != 2 {
		t.Errorf("%d session_start calls, want 2", n)
	}
	if checks, purges := fs.checks.Load(), fs.purges.Load(); purges < checks || checks < 4 {
		t.Errorf("%d checks, %d purges: every checked theory must be purged", checks, purges)
	}
	files, _ := os.ReadDir(b.workDir)
	if len(files) != 0 {
		t.Errorf("%d theory files left in the work dir", len(files))
	}
}

func TestMemoryLimitRestarts(t *testing.T) {
	defer func(d time.Duration) { rssInterval = d }(rssInterval)
	rssInterval = 0
	cfg := fakeConfig(t, "sim")
	cfg.MaxRSS = 1
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := b.Open(ctx, simTheorem(t, "sim_rss", conj))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Apply(ctx, s.Root().ID, "apply (rule conjI)", 5*time.Second)
	if err != nil || r.Status != prover.StepOpen {
		t.Fatalf("Apply = %+v, %v", r, err)
	}
	if b.Restarts() == 0 {
		t.Error("a server over its memory limit was not restarted")
	}
}
