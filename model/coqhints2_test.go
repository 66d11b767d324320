package model

import (
	"slices"
	"testing"
)

// leverStates2 are goal displays the levers of coqhints2.go should read.
var leverStates2 = map[string][]string{
	"powmod":     {"============================\n1999 ^ 2000 mod 5 = 1"},
	"powmod-sum": {"============================\n(29 ^ 13 + 5 ^ 13) mod 7 = 3"},
	"lists":      {"x : nat\nH : 1 <= x <= 100\nH0_w : nat\nH0_h : H0_w * 77 = fold_right Nat.add 0 (seq 0 101) - x\n============================\nx = 45"},
	"mapext":     {"v : nat -> nat\nH : forall n : nat, v n = 2 * n - 1\n============================\nlist_sum (map v (seq 1 100)) mod 7 = 4"},
	"rpower":     {"============================\nsqrt (5 ^ 3 - Rpower 2 2) = 11"},
	"square":     {"c : R\nf : R -> R\nH : forall x : R, f x = 2 * x ^ 2 + 5 * x + c\nw : R\nHw : 2 * w ^ 2 + 5 * w + c <= 0\n============================\nc <= 25 / 8"},
	"points":     {"A, B : R\nH : forall x : R, x - 3 <> 0 /\\ x - 5 <> 0 -> 4 * x / (x ^ 2 - 8 * x + 15) = A / (x - 3) + B / (x - 5)\n============================\nA = -6 /\\ B = 10"},
	"shifted":    {"a, b, c : R\nf : R -> R\nH : forall x : R, f (x + 3) = 3 * x ^ 2 + 7 * x + 4\nH0 : forall x : R, f x = a * x ^ 2 + b * x + c\n============================\na + b + c = 2"},
	"divides":    {"n : nat\n============================\nexists k : nat, n ^ 3 + 2 * n = 3 * k"},
	"floor":      {"============================\nfloor (9 / 160 * 100) = 5%Z"},
}

func TestLevers2ReadTheGoal(t *testing.T) {
	t.Parallel()
	checkLeversRead(t, arithHeader, leverStates2, []leverCase{
		{"powmod", LeverPowMod, natToZ + powModZ},
		{"powmod", LeverPowMod, powModZ},
		{"powmod-sum", LeverPowMod, natToZ + "rewrite Z.add_mod by lia; " + powModZ},
		{"lists", LeverLists, listUnfold + "; lia."},
		{"mapext", LeverLists, "rewrite (map_ext _ _ H); vm_compute; reflexivity."},
		{"rpower", LeverRpower, "replace (Rpower 2 2) with (2 ^ 2) in * by (rewrite <- Rpower_pow by lra; f_equal; simpl; lra)."},
		{"square", LeverSquare, "pose proof (pow2_ge_0 (4 * w + 5)); nra."},
		{"square", LeverSquare, "pose proof (pow2_ge_0 (4 * w - 5)); nra."},
		{"points", LeverPoints, "try (pose proof (H 0 ltac:(repeat split; lra)) as Pt0; try field_simplify in Pt0); " +
			"try (pose proof (H 1 ltac:(repeat split; lra)) as Pt1; try field_simplify in Pt1); " +
			"try (pose proof (H 2 ltac:(repeat split; lra)) as Pt2; try field_simplify in Pt2); " +
			"try (pose proof (H (-1) ltac:(repeat split; lra)) as Pt3; try field_simplify in Pt3); repeat split; lra."},
		{"shifted", LeverPoints, "try (pose proof (H 0) as Pt0; try field_simplify in Pt0); try (pose proof (H 1) as Pt1; try field_simplify in Pt1); " +
			"try (pose proof (H 2) as Pt2; try field_simplify in Pt2); try (pose proof (H (-1)) as Pt3; try field_simplify in Pt3); rewrite ?H0 in *; repeat split; nra."},
		{"divides", LeverDivides, "exists ((n ^ 3 + 2 * n) / 3); apply Nat.div_exact; [lia|]."},
		{"floor", LeverFloor, "unfold floor; match goal with |- context [proj1_sig (floor_ex ?e)] => destruct (floor_ex e) as [z Hz] end; simpl; " +
			"assert (z < 6)%Z by (apply lt_IZR; lra); assert (4 < z)%Z by (apply lt_IZR; lra); lia."},
	})
}

func TestLevers2PassThePolicy(t *testing.T) {
	t.Parallel()
	checkLeversPassPolicy(t, arithHeader, leverStates2)
	if !slices.Contains(Levers, LeverPowMod) || !slices.Contains(Levers, LeverFloor) {
		t.Errorf("Levers = %v lacks the new levers", Levers)
	}
}

func TestLevers2LeaveOtherGoalsAlone(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		goal string
		bad  []string
	}{
		// a power mod with a variable is not closed: no vm_compute of it
		{"n : nat\n============================\n2 ^ n mod 5 = 1", []string{"Zpow_mod_correct"}},
		// no list function: no unfolding
		{"x : nat\nH : x * 77 = 5005\n============================\nx = 65", []string{"cbn [seq", "map_ext"}},
		// map of a function no hypothesis defines
		{"v : nat -> nat\nH : forall n : nat, w n = n\n============================\nlist_sum (map v (seq 1 3)) = 6", []string{"map_ext"}},
		// Rpower with a non-numeral exponent
		{"x : R\n============================\nRpower 2 x = 4 -> x = 2", []string{"Rpower_pow"}},
		// a square with no linear term to complete
		{"x : R\nH : 2 * x ^ 2 <= 8\n============================\nx <= 2", []string{"pow2_ge_0 (4 * x"}},
		// a plain definition is rewritten, not instantiated
		{"f : R -> R\nH : forall x : R, f x = 2 * x + 1\n============================\nf 3 = 7", []string{"Pt0"}},
		// floor of a non-numeral goal
		{"x : R\n============================\nfloor x = x", []string{"floor_ex"}},
	} {
		checkNoneMentions(t, arithHeader, c.goal, c.bad...)
	}
}

func TestClosedArith(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"1999 ^ 2000 mod 5 = 1":        true,
		"(29 ^ 13 - 5 ^ 13) mod 7 = 0": true,
		"(2 ^ 10 mod 7 = 2)%Z":         true,
		"2 ^ n mod 5 = 1":              false,
		"x mod 5 = 1":                  false,
		"fold_right Nat.add 0 l = 3":   false,
		"Nat.modulo (2 ^ 100) 7 = 2":   false,
		"2 ^ 100 mod 7 = 2 -> 3 = 3":   false,
	} {
		if got := closedArith(s); got != want {
			t.Errorf("closedArith(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestDivisibilitySteps(t *testing.T) {
	t.Parallel()
	for concl, want := range map[string]string{
		"exists k : nat, n ^ 3 + 2 * n = 3 * k": "exists ((n ^ 3 + 2 * n) / 3); apply Nat.div_exact; [lia|].",
		"exists m : nat, n * (n + 1) = m * 2":   "exists ((n * (n + 1)) / 2); rewrite Nat.mul_comm; apply Nat.div_exact; [lia|].",
		"Nat.divide 9 (10 ^ n - 1)":             "apply Nat.mod_divide; [lia|].",
		"(6 | x ^ 3 - x)%Z":                     "apply Z.mod_divide; [lia|].",
		"exists k : nat, k * k = 3 * k":         "", // the witness occurs on the left
		"exists k : nat, n + 1 = m * k":         "", // no numeral divisor
		"Nat.divide a (b * a)":                  "",
	} {
		got := divisibilitySteps(concl)
		if want == "" && len(got) != 0 || want != "" && !slices.Contains(got, want) {
			t.Errorf("divisibilitySteps(%q) = %q, want %q", concl, got, want)
		}
	}
}

func TestSquareHints(t *testing.T) {
	t.Parallel()
	g := coqGoal{concl: "3 * a ^ 2 - 7 * a + b ^ 2 + 4 * b >= 0"}
	got := squareHints(g)
	want := []string{
		"pose proof (pow2_ge_0 (6 * a + 7)); ", "pose proof (pow2_ge_0 (6 * a - 7)); ",
		"pose proof (pow2_ge_0 (2 * b + 4)); ", "pose proof (pow2_ge_0 (2 * b - 4)); ",
	}
	if !slices.Equal(got, want) {
		t.Errorf("squareHints = %q, want %q", got, want)
	}
}
