package coq

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// replaySrc exercises what stdlib files do: a section variable, a proof
// with bullets, a proof that breaks (its tactic fails, so it is admitted
// and a later lemma can still use it), a file-local Ltac, a comment, and a
// tactic that loops past the sentence deadline (the process is killed and
// the file goes on after that proof).
const replaySrc = `(* a comment before the first sentence *)
Require Import Arith.
Section S.
Variable n : nat.
Lemma add_n : forall m, m + n = n + m.
Proof.
  intros m.
  rewrite Nat.add_comm. (* a comment after a tactic *)
  reflexivity.
Qed.
End S.
Ltac my_triv := reflexivity.
Lemma two : 1 = 1 /\ 2 = 2.
Proof.
  split.
  - my_triv.
  - reflexivity.
Qed.
Lemma broken : forall k : nat, k = k + 0.
Proof.
  intros k.
  exact I.
  reflexivity.
Qed.
Lemma uses_broken : 3 = 3 + 0.
Proof. apply broken. Qed.
Lemma loops : True.
Proof.
  do 1000000000 (idtac; idtac).
Qed.
Lemma after_kill (a : nat) (H : a = 2) : a + 0 = 2.
Proof. rewrite Nat.add_0_r. exact H. Qed.
`

func TestReplayRealCoqtop(t *testing.T) {
	needCoq(t)
	t.Parallel()
	var steps []ReplayStep
	cfg := ReplayConfig{SentenceTimeout: 3 * time.Second}
	st, err := Replay(context.Background(), cfg, replaySrc, func(s ReplayStep) error {
		steps = append(steps, s)
		return nil
	})
	if err != nil {
		t.Fatalf("Replay: %v (stats %+v)", err, st)
	}
	type want struct {
		lemma, tactic string
		outcome       ReplayOutcome
		goalHas       string
	}
	wants := []want{
		{"add_n", "intros m.", ReplayProgress, "forall m : nat, m + n = n + m"},
		{"add_n", "rewrite Nat.add_comm.", ReplayProgress, "n, m : nat"},
		{"add_n", "reflexivity.", ReplayProgress, "n + m = n + m"},
		{"two", "split.", ReplayProgress, "1 = 1 /\\ 2 = 2"},
		{"two", "my_triv.", ReplayProgress, "1 = 1"},
		{"two", "reflexivity.", ReplayProgress, "2 = 2"},
		{"broken", "intros k.", ReplayProgress, "forall k : nat"},
		{"broken", "exact I.", ReplayFailed, "k = k + 0"},
		// broken's last tactic is skipped; the lemma is admitted.
		{"uses_broken", "apply broken.", ReplayProgress, "3 = 3 + 0"},
		{"loops", "do 1000000000 (idtac; idtac).", ReplayTimeout, "True"},
		{"after_kill", "rewrite Nat.add_0_r.", ReplayProgress, "H : a = 2"},
		{"after_kill", "exact H.", ReplayProgress, "a = 2"},
	}
	if len(steps) != len(wants) {
		for _, s := range steps {
			t.Logf("step %s %q %s", s.Lemma, s.Tactic, s.Outcome)
		}
		t.Fatalf("%d steps, want %d (stats %+v)", len(steps), len(wants), st)
	}
	for i, w := range wants {
		s := steps[i]
		if s.Lemma != w.lemma || s.Tactic != w.tactic || s.Outcome != w.outcome || len(s.Goals) == 0 || !strings.Contains(s.Goals[0], w.goalHas) {
			t.Errorf("step %d = %s %q %s goals %q; want %s %q %s with %q", i, s.Lemma, s.Tactic, s.Outcome, s.Goals, w.lemma, w.tactic, w.outcome, w.goalHas)
		}
		if strings.Contains(strings.Join(s.Goals, "\n"), "(ID") {
			t.Errorf("step %d: goals keep coqtop's ids: %q", i, s.Goals)
		}
	}
	if len(steps[3].Goals) != 1 {
		t.Errorf("split: goals before = %q, want one goal", steps[3].Goals)
	}
	if st.Restarts != 1 || st.Skipped < 1 || st.Stopped != "" {
		t.Errorf("stats = %+v; want 1 restart, a skipped sentence, no early stop", st)
	}
	if len(st.Ltacs) != 1 || st.Ltacs[0] != "my_triv" {
		t.Errorf("Ltacs = %q, want [my_triv]", st.Ltacs)
	}
}

func TestReplayBounds(t *testing.T) {
	needCoq(t)
	t.Parallel()
	n := 0
	st, err := Replay(context.Background(), ReplayConfig{MaxSteps: 2}, replaySrc, func(ReplayStep) error { n++; return nil })
	if err != nil || n != 2 || st.Stopped != "step limit" {
		t.Errorf("MaxSteps 2: %d steps, stats %+v, %v", n, st, err)
	}
	stop := errors.New("stop here")
	_, err = Replay(context.Background(), ReplayConfig{}, replaySrc, func(ReplayStep) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("emit error: Replay = %v, want %v", err, stop)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Replay(ctx, ReplayConfig{}, replaySrc, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: Replay = %v", err)
	}
}

func TestReplayRejectsUnsplittableSource(t *testing.T) {
	t.Parallel()
	_, err := Replay(context.Background(), ReplayConfig{Coqtop: []string{"/nonexistent/coqtop"}}, "Lemma x : True. (* open", nil)
	if !errors.Is(err, ErrReplaySource) {
		t.Errorf("Replay(open comment) = %v, want ErrReplaySource", err)
	}
}

func TestStripComments(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"intros. (* x (* nested *) y *)": "intros.  ",
		`idtac "(* not a comment *)".`:   `idtac "(* not a comment *)".`,
		"a (* b *) c":                    "a   c",
		"no comment":                     "no comment",
	} {
		if got := stripComments(in); got != want {
			t.Errorf("stripComments(%q) = %q, want %q", in, got, want)
		}
	}
}
