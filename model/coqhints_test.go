package model

import (
	"context"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/prover"
)

// leverStates are goal displays that each lever should read.
var leverStates = map[string][]string{
	"bignat":      {"n : nat\n============================\n123 * n + 17 = Init.Nat.of_num_uint (Number.UIntDecimal (Decimal.D3 (Decimal.D9 (Decimal.D5 (Decimal.D0 (Decimal.D0 Decimal.Nil)))))) -> n = 321"},
	"sqrt-exact":  {"f : R -> R\nh0 : forall x : R, f x = 3 * sqrt (2 * x - 7) - 8\n============================\n3 * sqrt (2 * 8 - 7) - 8 = 1"},
	"sqrt-goal":   {"x, y : R\nH : x + y = 13\nH0 : x * y = 24\n============================\nsqrt (x ^ 2 + y ^ 2) = 11"},
	"sqrt-facts":  {"k, x : R\nH : x = (13 - sqrt 131) / 4\nH0 : 2 * x ^ 2 - 13 * x + k = 0\n============================\nk = 19 / 4"},
	"funrewrite":  {"x : R\nf, g : R -> R\nH : forall x : R, f x = x + 2\nH0 : forall x : R, g x = x ^ 2\nH1 : f (g x) = g (f x)\n============================\nx = -1 / 2"},
	"instantiate": {"a, b, c : R\nH : 0 < a\nH2 : forall x : R, 24 * x ^ 2 - 19 * x - 35 = (a * x - 5) * (2 * (b * x) + c)\n============================\na * b - 3 * c = -9"},
	"identity2":   {"a, b : R\nH : a <> 0 /\\ b <> 0\nH0 : forall x : R, x ^ 2 + a * x + b = (x - a) * (x - b)\n============================\na = 1 /\\ b = -2"},
	"pi-cond":     {"f : R -> R\nh1 : forall x : R, 0 <= x -> x < 4 -> f x = 2\nh2 : forall x : R, x >= 4 -> f x = sqrt x\n============================\nf PI = 2"},
	"ln":          {"a, b : R\nH : 0 < a\nH1 : ln a / ln 8 + ln (b * b) / ln 4 = 5\n============================\na * b = 512"},
	"logb":        {"============================\nlogb (5 ^ 2) (5 ^ 4) = 2"},
	"pi":          {"f : R -> R\n============================\nf PI = 2"},
	"modcases":    {"a : Z\n============================\na ^ 2 mod 3 = 0 \\/ a ^ 2 mod 3 = 1"},
	"enum":        {"x, y : nat\nh0 : 0 < y\nh1 : y < x\nh2 : x + y + x * y = 80\n============================\nx = 26"},
	"enum-bound":  {"n : nat\nh0 : n < 5\nh1 : n * n mod 7 = 2\n============================\nFalse"},
	"complex":     {"x, e : C\nh0 : x + e = 7\nh1 : 2 * x + e = 3\n============================\ne = 11 /\\ x = -4"},
	"hammer":      {"s : R -> R\nH : bijective s\n============================\nexists g : R -> R, forall x : R, g (s x) = x"},
}

// realsHeader and arithHeader are the headers the levers' goals are read
// under: with R_scope open, and without it (a closed goal then counts as
// nat/Z as well as R).
const (
	realsHeader = "Require Import Reals.\nOpen Scope R_scope.\n"
	arithHeader = "Require Import Arith.\n"
)

func proposeUnder(t *testing.T, p *Portfolio, header string, goals []string) []prover.Candidate {
	t.Helper()
	cands, err := p.Propose(context.Background(), prover.ProposalRequest{
		Theorem: prover.Theorem{Header: header},
		State:   prover.State{Goals: goals, Text: strings.Join(goals, "\n\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return cands
}

func leverPropose(t *testing.T, p *Portfolio, goals []string) []prover.Candidate {
	t.Helper()
	return proposeUnder(t, p, realsHeader, goals)
}

// leverCase: the lever that, on state, proposes tactic.
type leverCase struct{ state, lever, tactic string }

// checkLeversRead: each case's tactic is proposed on its state, and not
// with its lever disabled.
func checkLeversRead(t *testing.T, header string, states map[string][]string, cases []leverCase) {
	t.Helper()
	for _, c := range cases {
		on := tactics(proposeUnder(t, &Portfolio{Backend: "coq"}, header, states[c.state]))
		if !slices.Contains(on, c.tactic) {
			t.Errorf("%s: %q not proposed; got:\n%s", c.state, c.tactic, strings.Join(on, "\n"))
		}
		off := tactics(proposeUnder(t, &Portfolio{Backend: "coq", Disabled: []string{c.lever}}, header, states[c.state]))
		if slices.Contains(off, c.tactic) {
			t.Errorf("%s: %q proposed with lever %s disabled", c.state, c.tactic, c.lever)
		}
	}
}

// checkLeversPassPolicy: every candidate on the states passes coq.Policy,
// with a timeout and a non-positive score.
func checkLeversPassPolicy(t *testing.T, header string, states map[string][]string) {
	t.Helper()
	for name, goals := range states {
		for _, c := range proposeUnder(t, &Portfolio{Backend: "coq"}, header, goals) {
			if _, err := (coq.Policy{}).Check(c.Tactic); err != nil {
				t.Errorf("%s: %q refused by the policy: %v", name, c.Tactic, err)
			}
			if c.Timeout <= 0 || c.Score > 0 {
				t.Errorf("%s: %q has timeout %v, score %v", name, c.Tactic, c.Timeout, c.Score)
			}
		}
	}
}

// checkNoneMentions: no candidate on goal mentions any of marks.
func checkNoneMentions(t *testing.T, header, goal string, marks ...string) {
	t.Helper()
	for _, cand := range proposeUnder(t, &Portfolio{Backend: "coq"}, header, []string{goal}) {
		for _, m := range marks {
			if strings.Contains(cand.Tactic, m) {
				t.Errorf("%q: %q mentions %q", goal, cand.Tactic, m)
			}
		}
	}
}

// coqCase is a goal under realsHeader and whether it is true.
type coqCase struct {
	goal     string
	provable bool
}

// checkProvedInCoq: on each case's goal, the candidates that mention
// marker are compiled by the real coqc one by one; a true goal must be
// proved by one of them, a false one by none.
func checkProvedInCoq(t *testing.T, marker string, cases []coqCase) {
	t.Helper()
	coqc, err := exec.LookPath("coqc")
	if err != nil {
		t.Skip("coqc not installed (make test installs it)")
	}
	for _, c := range cases {
		var cands []string
		for _, cand := range proposeUnder(t, &Portfolio{Backend: "coq"}, realsHeader, []string{"============================\n" + c.goal}) {
			if strings.Contains(cand.Tactic, marker) {
				cands = append(cands, cand.Tactic)
			}
		}
		if len(cands) == 0 {
			t.Errorf("%s: no candidate mentions %s", c.goal, marker)
			continue
		}
		proved := ""
		for _, tac := range cands {
			src := coq.Prelude + "\n" + realsHeader + "Theorem t : " + c.goal + ".\nProof.\n  " + tac + "\nQed.\n"
			if _, err := compileCoq(t, coqc, src); err == nil {
				proved = tac
				break
			}
		}
		if c.provable && proved == "" {
			t.Errorf("%s: none of the %d candidates proves it:\n%s", c.goal, len(cands), strings.Join(cands, "\n"))
		}
		if !c.provable && proved != "" {
			t.Errorf("%s: false, yet proved by %q", c.goal, proved)
		}
	}
}

func tactics(cands []prover.Candidate) []string {
	var out []string
	for _, c := range cands {
		out = append(out, c.Tactic)
	}
	return out
}

func TestLeversReadTheGoal(t *testing.T) {
	t.Parallel()
	checkLeversRead(t, realsHeader, leverStates, []leverCase{
		{"bignat", LeverBigNat, "intros; zify; " + natNumeralsToZ + "; lia."},
		{"sqrt-exact", LeverSqrt, "rewrite (sqrt_lem_1 (2 * 8 - 7) (3)) in * by lra; lra."},
		{"sqrt-goal", LeverSqrt, "apply sqrt_lem_1; nra."},
		{"sqrt-facts", LeverSqrt, "pose proof (sqrt_sqrt (131) ltac:(lra)); pose proof (sqrt_pos (131)); nra."},
		{"funrewrite", LeverFunRewrite, "rewrite ?H, ?H0 in *; nra."},
		{"instantiate", LeverInstantiate, "pose proof (H2 0); pose proof (H2 1); pose proof (H2 (-1)); pose proof (H2 2); repeat split; nra."},
		{"identity2", LeverInstantiate, "pose proof (H0 0); pose proof (H0 1); pose proof (H0 (-1)); pose proof (H0 2); repeat split; nra."},
		{"pi-cond", LeverPI, "rewrite h1 by (pose proof PI2_3_2; " + piBounds + "; lra); lra."},
		{"ln", LeverLn, "replace (ln 8) with (INR 3 * ln 2) in * by (rewrite <- ln_pow by lra; f_equal; simpl; lra); " +
			"replace (ln 4) with (INR 2 * ln 2) in * by (rewrite <- ln_pow by lra; f_equal; simpl; lra); " +
			"rewrite ?ln_mult, ?ln_div, ?ln_Rinv, ?ln_pow in * by first [lra | nra | apply pow_lt; lra]; simpl INR in *; " +
			"assert (0 < ln 2) by (rewrite <- ln_1; apply ln_increasing; lra); lra."},
		{"logb", LeverLn, "unfold logb in *; rewrite ?ln_mult, ?ln_div, ?ln_Rinv, ?ln_pow in * by first [lra | nra | apply pow_lt; lra]; simpl INR in *; " +
			"assert (0 < ln 5) by (rewrite <- ln_1; apply ln_increasing; lra); field; lra."},
		{"pi", LeverPI, "pose proof PI2_3_2; " + piBounds + "; lra."},
		{"modcases", LeverModCases, "pose proof (Z.mod_pos_bound a 3 ltac:(lia)); assert (a mod 3 = 0 \\/ a mod 3 = 1 \\/ a mod 3 = 2) as Hres by lia; destruct Hres as [Hres|[Hres|Hres]]; Z.to_euclidean_division_equations; nia."},
		{"enum", LeverEnum, "assert (y <= 80) by nia; do 81 (destruct y as [|y]; [first [lia | nia]|]); lia."},
		{"enum-bound", LeverEnum, "do 5 (destruct n as [|n]; [first [lia | nia]|]); lia."},
		{"hammer", LeverHammer, "sauto."}, // an existential needs no intros, though its binder shows an arrow
		{"complex", LeverComplex, "intros; " + complexParts + "lra."},
	})
}

func TestLeverCandidatesPassThePolicy(t *testing.T) {
	t.Parallel()
	checkLeversPassPolicy(t, realsHeader, leverStates)
}

func TestLeversLeaveOtherGoalsAlone(t *testing.T) {
	t.Parallel()
	// A linear goal over R with no sqrt, ln, PI, identity or function
	// hypotheses gets none of the levers' tactics.
	plain := leverPropose(t, &Portfolio{Backend: "coq"}, []string{"x : R\nH : 2 * x + 1 = 7\n============================\nx = 3"})
	for _, c := range plain {
		for _, w := range []string{"sqrt", "ln", "PI", "zify", "mod", "destruct x as", "sauto", "pose proof (H "} {
			if strings.Contains(c.Tactic, w) {
				t.Errorf("plain goal: %q mentions %q", c.Tactic, w)
			}
		}
	}
	// An unbounded nat variable without numerals to bound it is not split.
	for _, c := range leverPropose(t, &Portfolio{Backend: "coq"}, []string{"n : nat\n============================\nn + 0 = n"}) {
		if strings.Contains(c.Tactic, "destruct n as [|n]") {
			t.Errorf("unbounded n split: %q", c.Tactic)
		}
	}
}

func TestEvalReal(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want string // "" when not closed
	}{
		{"2 * 8 - 7", "9"},
		{"131", "131"},
		{"4 ^ 2 - 4 * 2 + 1", "9"},
		{"(1 + 2) * -3", "-9"},
		{"9 / 16", "9/16"},
		{"1 / 0", ""},
		{"x + 1", ""},
		{"2 ^ x", ""},
		{"(1 + 2", ""},
		{"", ""},
	} {
		v, ok := evalReal(c.in)
		got := ""
		if ok {
			got = v.RatString()
		}
		if got != c.want {
			t.Errorf("evalReal(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, c := range []struct{ in, root string }{{"9", "3"}, {"9/16", "3 / 4"}, {"8", ""}, {"0", "0"}} {
		v, _ := evalReal(strings.ReplaceAll(c.in, "/", " / "))
		r, ok := ratSqrt(v)
		got := ""
		if ok {
			got = ratCoq(r)
		}
		if got != c.root {
			t.Errorf("sqrt %s = %q, want %q", c.in, got, c.root)
		}
	}
}

func TestSqrtArgs(t *testing.T) {
	t.Parallel()
	got := sqrtArgs("3 * sqrt (2 * (x - 7)) - sqrt 131 + Rsqrt 2 + sqrt x' + sqrt 131")
	want := []string{"2 * (x - 7)", "131", "x'"}
	if !slices.Equal(got, want) {
		t.Errorf("sqrtArgs = %q, want %q", got, want)
	}
}

func TestPrimePowerAndDestructOr(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ n, p, k int }{{8, 2, 3}, {81, 3, 4}, {7, 7, 1}, {12, 0, 0}} {
		p, k, ok := primePower(c.n)
		if c.p == 0 {
			if ok {
				t.Errorf("primePower(%d) = %d^%d, want none", c.n, p, k)
			}
			continue
		}
		if !ok || p != c.p || k != c.k {
			t.Errorf("primePower(%d) = %d^%d %v", c.n, p, k, ok)
		}
	}
	if got := destructOr("H", 3); got != "destruct H as [H|[H|H]]" {
		t.Errorf("destructOr = %q", got)
	}
}

func TestDefinesFunction(t *testing.T) {
	t.Parallel()
	for typ, want := range map[string]bool{
		"forall x : R, f x = 2 * x + 1":                         true,
		"forall x : R, 0 <= x -> x < 4 -> f x = 2":              true,
		"forall x y : R, 0 < x -> 0 < y -> f (x * y) = f x / y": true,
		"forall n : nat, u (n + 2) = u n + u (n + 1)":           true,
		"forall x : R, x ^ 2 + a * x + b = (x - a) * (x - b)":   false,
		"forall x : R, 24 * x ^ 2 - 19 * x = c":                 false,
		"forall x : R, f x <= 2":                                false,
		"f 3 = 7":                                               false,
	} {
		if got := definesFunction(typ); got != want {
			t.Errorf("definesFunction(%q) = %v, want %v", typ, got, want)
		}
	}
}

func TestSquareFactor(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ n, k, m int64 }{{80, 4, 5}, {845, 13, 5}, {72, 6, 2}, {45, 3, 5}, {50, 5, 2}, {30, 1, 30}, {49, 7, 1}} {
		if k, m := squareFactor(c.n); k != c.k || m != c.m {
			t.Errorf("squareFactor(%d) = %d, %d; want %d, %d", c.n, k, m, c.k, c.m)
		}
	}
}

// TestRadicalsProveInCoq: the lever's candidates on statements written for
// this test, each compiled by the real coqc; a false one is proved by none.
func TestRadicalsProveInCoq(t *testing.T) {
	t.Parallel()
	checkProvedInCoq(t, "sqrt_square", []coqCase{
		{"sqrt 50 + sqrt 18 = 8 * sqrt 2", true},
		{"sqrt ((12 / sqrt 72 + sqrt 288 / 4 + sqrt 50) / sqrt 2) = 3", true},
		{"sqrt 75 - sqrt 12 = 2 * sqrt 3", false},
	})
}

// TestSqrtBoundsProveInCoq: ceilings and floors of roots, on statements
// written for this test, by the real coqc; a false one is proved by none.
func TestSqrtBoundsProveInCoq(t *testing.T) {
	t.Parallel()
	checkProvedInCoq(t, "sqrt_lt_1_alt", []coqCase{
		{"(up (sqrt 40) - up (sqrt 10))%Z = 3%Z", true},
		{"Int_part (sqrt 90) = 9%Z", true},
		{"2 < sqrt 5 + sqrt 2 - 1", true},
		{"(up (sqrt 40) - up (sqrt 10))%Z = 2%Z", false},
	})
}
