package coq

import (
	"errors"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/prover"
)

// TestAssembleWhole: a model's whole proof, as a body or as a whole file,
// is assembled and judged by the real verifier against the theorem; a
// give-up is refused before any checker runs, every other cheat is left to
// the verifier, which refuses it.
func TestAssembleWhole(t *testing.T) {
	needCoq(t)
	t.Parallel()
	b := New(Config{Workers: 2})
	t.Cleanup(func() { b.Close() })
	thm := parse(t, "add_zero_r", natProblem)
	cases := []struct {
		name     string
		text     string
		refused  string // the rejection rule, before the verifier
		verified bool
	}{
		{"body", "intros. lia.", "", true},
		{"body with Proof and Qed", "Proof.\n  induction n; simpl; auto.\nQed.", "", true},
		{"whole file", "Require Import Arith.\nLemma helper (m : nat) : m + 0 = m.\nProof. lia. Qed.\nTheorem add_zero_r (n : nat) : n + 0 = n.\nProof. apply helper. Qed.", "", true},
		{"wrong", "reflexivity.", "", false},
		{"Admitted", "Proof. intros. Admitted.", "gives-up", false},
		{"admit under Qed", "admit.\nQed.", "gives-up", false},
		{"an Axiom proves it", "Require Import Arith.\nAxiom cheat : forall n : nat, n + 0 = n.\nTheorem add_zero_r (n : nat) : n + 0 = n.\nProof. apply cheat. Qed.", "", false},
		{"False as an axiom", "Require Import Arith.\nAxiom f : False.\nTheorem add_zero_r (n : nat) : n + 0 = n.\nProof. destruct f. Qed.", "", false},
		{"another statement", "Require Import Arith.\nTheorem add_zero_r (n : nat) : 0 + n = n.\nProof. reflexivity. Qed.", "", false},
		{"escape", "Redirect \"/tmp/x\" Print nat.\nlia.", "refused", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			file, err := b.AssembleWhole(thm, c.text, prover.WholeOptions{})
			var rej *prover.Rejection
			if c.refused != "" {
				if !errors.As(err, &rej) || rej.Rule != c.refused {
					t.Fatalf("AssembleWhole(%q) = %v, want rule %s", c.text, err, c.refused)
				}
				return
			}
			if err != nil {
				t.Fatalf("AssembleWhole(%q): %v", c.text, err)
			}
			v := judge(t, b, thm.Name, &thm, file)
			if v.Verified != c.verified {
				t.Errorf("verified %v, want %v: %s\n%s", v.Verified, c.verified, v.Message, file)
			}
		})
	}
	// A sketch keeps its holes: not refused, and never verified as it is.
	file, err := b.AssembleWhole(thm, "intros.\nadmit.\nAdmitted.", prover.WholeOptions{Holes: true})
	if err != nil {
		t.Fatalf("sketch refused: %v", err)
	}
	if hs, _ := FindHoles(file); len(hs) != 2 || !strings.Contains(file, "Admitted.") {
		t.Errorf("sketch holes %+v in\n%s", hs, file)
	}
	if v := judge(t, b, thm.Name, &thm, file); v.Verified {
		t.Errorf("a sketch with holes was verified")
	}
}
