package model

import (
	"context"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/isabelle"
	"github.com/llemma-prove/llemma-prove/lean"
	"github.com/llemma-prove/llemma-prove/prover"
)

var portfolioStates = map[string][]string{
	"real":     {"a, b : R\nh₁ : a * b = 180\nh₂ : 2 * (a + b) = 54\n============================\na ^ 2 + b ^ 2 = 369"},
	"forall":   {"============================\nforall x : R, x / 50 = 40 -> x = 2000"},
	"nat-mod":  {"============================\n5 ^ 30 mod 7 = 1"},
	"conj":     {"x, y : R\nH : x + y = 10 /\\ x - y = 2\n============================\nx = 6 /\\ y = 4"},
	"exists":   {"n : nat\nH : exists k : nat, n = 2 * k\n============================\nexists m : nat, n + 2 = 2 * m"},
	"function": {"f : R -> R\nH : forall x : R, f x = 2 * x + 1\n============================\nf 3 = 7"},
	"division": {"x : R\nH : x <> -1\nH0 : (x - 9) / (x + 1) = 2\n============================\nx = -11"},
	"rabs":     {"x : R\nh : Rabs (x - 1) < 2\n============================\n-1 < x"},
	"complex":  {"============================\n(Ci / 2) ^ 2 = - (1 / 4)"},
	"induct":   {"n : nat\n============================\n2 * (n * (n + 1) / 2) = n * (n + 1)"},
	"multi":    {"x : R\n============================\nx = x", "x > 0"},
}

func TestPortfolioCandidatesPassThePolicy(t *testing.T) {
	t.Parallel()
	p := &Portfolio{Backend: "coq", Interval: true}
	for name, goals := range portfolioStates {
		cands, err := p.Propose(context.Background(), prover.ProposalRequest{
			Theorem: prover.Theorem{Header: "Definition sq (x : R) := x * x.\n"},
			State:   prover.State{Goals: goals, Text: strings.Join(goals, "\n\n")},
		})
		if err != nil || len(cands) == 0 {
			t.Fatalf("%s: %d candidates, %v", name, len(cands), err)
		}
		for i, c := range cands {
			if _, err := (coq.Policy{}).Check(c.Tactic); err != nil {
				t.Errorf("%s: candidate %q is refused by the policy: %v", name, c.Tactic, err)
			}
			if c.Score > 0 || c.Timeout <= 0 {
				t.Errorf("%s: candidate %q has score %v, timeout %v", name, c.Tactic, c.Score, c.Timeout)
			}
			if i > 0 && c.Score > cands[i-1].Score {
				t.Errorf("%s: candidates not sorted by score at %d", name, i)
			}
		}
	}
}

func TestPortfolioReadsTheGoal(t *testing.T) {
	t.Parallel()
	p := &Portfolio{Backend: "coq"}
	has := func(state, tactic string) bool {
		cands, _ := p.Propose(context.Background(), prover.ProposalRequest{State: prover.State{Goals: portfolioStates[state]}})
		for _, c := range cands {
			if c.Tactic == tactic {
				return true
			}
		}
		return false
	}
	for _, c := range []struct {
		state, tactic string
		want          bool
	}{
		{"real", "nra.", true},
		{"real", "pose proof (pow2_ge_0 (a - b)); nra.", true},
		{"real", "intros.", false},
		{"forall", "intros; lra.", true},
		{"forall", "intros.", true},
		// closed nat arithmetic in binary Z: the rewrites in any order (LeverPowMod)
		{"nat-mod", natToZ + "vm_compute; reflexivity.", true},
		{"nat-mod", "apply Nat2Z.inj; rewrite ?Nat2Z.inj_mod, ?Nat2Z.inj_pow, ?Nat2Z.inj_add, ?Nat2Z.inj_mul; vm_compute; reflexivity.", false},
		{"conj", "destruct H as [H_1 H_2].", true},
		{"conj", "split.", true},
		{"exists", "destruct H as [H_w H_h].", true},
		{"function", "rewrite !H; lra.", true},
		{"division", "field_simplify in H0; lra.", true},
		{"rabs", "split_Rabs; lra.", true},
		{"complex", "intros; subst; apply injective_projections; simpl; field.", true},
		{"induct", "induction n; simpl; lia.", true},
		{"multi", "all: lra.", true},
		{"real", "interval.", false}, // only with Interval
	} {
		if got := has(c.state, c.tactic); got != c.want {
			t.Errorf("%s: proposes %q = %v, want %v", c.state, c.tactic, got, c.want)
		}
	}
	cands, _ := p.Propose(context.Background(), prover.ProposalRequest{State: prover.State{Goals: portfolioStates["real"]}, N: 3})
	if len(cands) != 3 || cands[0].Tactic != "lra." {
		t.Errorf("N=3: %v; want the 3 best, lra first", cands)
	}
}

func TestPortfolioOtherBackends(t *testing.T) {
	t.Parallel()
	for backend, policy := range map[string]prover.Policy{"lean": lean.Policy{}, "isabelle": isabelle.Policy{}} {
		p := &Portfolio{Backend: backend}
		cands, err := p.Propose(context.Background(), prover.ProposalRequest{State: prover.State{Text: "a b : ℝ\n⊢ a + b = b + a", Goals: []string{"a + b = b + a"}}})
		if err != nil || len(cands) == 0 {
			t.Fatalf("%s: %v %v", backend, cands, err)
		}
		for _, c := range cands {
			if _, err := policy.Check(c.Tactic); err != nil {
				t.Errorf("%s: %q refused by its policy: %v", backend, c.Tactic, err)
			}
		}
	}
	// Isabelle's holes are closed as Draft-Sketch-Prove closes them: the
	// portfolio ends with sledgehammer
	cands, _ := (&Portfolio{Backend: "isabelle"}).Propose(context.Background(), prover.ProposalRequest{State: prover.State{Goals: []string{"A"}}})
	if len(cands) == 0 || cands[len(cands)-1].Tactic != "sledgehammer" {
		t.Errorf("isabelle portfolio = %v, want sledgehammer last", cands)
	}
	if _, err := (&Portfolio{Backend: "hol4"}).Propose(context.Background(), prover.ProposalRequest{}); err == nil {
		t.Error("unknown backend: no error")
	}
}
