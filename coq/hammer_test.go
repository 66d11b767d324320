package coq

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

const listProblem = `Require Import List.

Theorem app_nil_r' (A : Type) (l : list A) : l ++ nil = l.
Proof.
Admitted.
`

// A proof found with CoqHammer's sauto in a search session is written with
// HammerPrelude and verified by the final check (Hammer's Tactics bring
// Eq_rect_eq.eq_rect_eq into the environment); a proof without it gets the
// plain prelude.
func TestHammerProofInSessionAndVerifier(t *testing.T) {
	needCoq(t)
	t.Parallel()
	b := New(Config{Workers: 2})
	defer b.Close()
	if !b.hammerInstalled() {
		t.Skip("skipping: CoqHammer's tactics are not installed (apt-get install -y libcoq-hammer; make test installs it)")
	}
	ctx := context.Background()
	thm := parse(t, "app_nil_r'", listProblem)
	s, err := b.Open(ctx, thm)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Apply(ctx, s.Root().ID, "induction l; sauto.", 10*time.Second)
	s.Close()
	if err != nil || r.Status != prover.StepProved {
		t.Fatalf("sauto in the session: %+v, %v; want proved (HammerPrelude loaded in coqtop)", r, err)
	}
	file := b.Assemble(thm, []string{"induction l; sauto."})
	if !strings.HasPrefix(file, Prelude+"\n"+HammerPrelude+"\n") {
		t.Fatalf("Assemble with sauto does not load Hammer first:\n%s", file)
	}
	v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: file})
	if err != nil || !v.Verified {
		t.Fatalf("Verify(sauto proof) = %+v, %v; want verified", v, err)
	}
	for _, a := range v.Axioms {
		if a != "Coq.Logic.Eqdep.Eq_rect_eq.eq_rect_eq" {
			t.Errorf("unexpected axiom %q", a)
		}
	}

	plain := b.Assemble(thm, []string{"apply app_nil_r."})
	if strings.Contains(plain, HammerPrelude) {
		t.Errorf("Assemble without a Hammer tactic loads Hammer:\n%s", plain)
	}
	// A word that merely contains a tactic's name is not a Hammer tactic.
	if usesHammer([]string{"apply my_sauto_lemma.", "rewrite sautomatic."}) {
		t.Error("usesHammer matched inside identifiers")
	}
	if !usesHammer([]string{"intros.", "hauto use: Nat.add_comm."}) {
		t.Error("usesHammer missed hauto")
	}
}
