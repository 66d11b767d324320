package model

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/coq"
)

func TestPowCycle(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ b, d, s, p int }{
		{2, 7, 0, 3}, {10, 9, 0, 1}, {2, 3, 0, 2}, {3, 7, 0, 6}, {4, 2, 1, 1}, {6, 4, 2, 1}, {2, 6, 1, 2}, {4, 12, 1, 1}, {5, 11, 0, 5},
	} {
		s, p, ok := powCycle(c.b, c.d)
		if !ok || s != c.s || p != c.p {
			t.Errorf("powCycle(%d, %d) = %d, %d, %v; want %d, %d", c.b, c.d, s, p, ok, c.s, c.p)
		}
	}
}

// TestNatVarLeversReadTheGoal: each lever of coqnvar.go proposes its
// tactic on the goals it reads (and not when disabled), every candidate
// passes the policy, and goals of other shapes get none of them.
func TestNatVarLeversReadTheGoal(t *testing.T) {
	t.Parallel()
	states := map[string][]string{
		"notdiv":    {"n : nat\n============================\n~ Nat.divide 7 (2 ^ n + 1)"},
		"exists":    {"n : nat\n============================\nexists k : nat, 2 ^ (2 * n + 1) + 1 = 3 * k"},
		"exists-sc": {"n : nat\n============================\nexists k : nat, (2 ^ (2 * n + 1) + 1)%nat = (3 * k)%nat"},
		"ge":        {"n : nat\nH : 4 <= n\n============================\nn ^ 2 <= fact n"},
		"gt":        {"n : nat\nHn : n > 0\n============================\nsum_n (fun k : nat => 2 * k + 1) n = n * n"},
	}
	notdiv, _ := powResTactic([]int{2}, "n", 7)
	exists, _ := powResTactic([]int{2}, "(2 * n + 1)", 3)
	checkLeversRead(t, arithHeader, states, []leverCase{
		{"notdiv", LeverPowRes, "intros; " + notdiv},
		{"exists", LeverPowRes, exists},
		{"exists-sc", LeverPowRes, exists}, // the display under Z_scope
		{"ge", LeverLeInduction, "induction H; simpl in *; nia."},
		{"gt", LeverLeInduction, "induction Hn; simpl in *; nia."},
	})
	checkLeversPassPolicy(t, arithHeader, states)
	for _, c := range []struct{ goal, mark string }{
		// before intros the exponent's variable is not in the context
		{"============================\nforall n : nat, ~ Nat.divide 7 (2 ^ n + 1)", "Hres0"},
		// an exponent with a name that is not a nat variable of the goal
		{"n : nat\nm : Z\n============================\n(2 ^ (n + m)) mod 7 = 1", "Hres0"},
		// a closed power is the powmod lever's
		{"============================\n2 ^ 100 mod 7 = 2", "Hres0"},
		// the bounded variable is not in the conclusion
		{"n, m : nat\nH : 4 <= m\n============================\nn <= n * n", "induction H;"},
		// an upper bound is no induction
		{"n : nat\nH : n <= 4\n============================\nn ^ 2 <= 16", "induction H;"},
		// a real variable
		{"x : R\nH : 4 <= x\n============================\nx <= x * x", "induction H;"},
	} {
		checkNoneMentions(t, arithHeader, c.goal, c.mark)
	}
}

func TestPowResTacticLimits(t *testing.T) {
	t.Parallel()
	if _, ok := powResTactic([]int{2}, "n", 47); ok {
		t.Error("the period of 2 modulo 47 is 23: beyond the case-split limit")
	}
	if _, ok := powResTactic([]int{3}, "n", 13); !ok {
		t.Error("3 has period 3 modulo 13: a tactic expected")
	}
}

// compileCoq compiles src alone with coqc in a fresh directory.
func compileCoq(t *testing.T, coqc, src string) ([]byte, error) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "T.v"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return exec.CommandContext(ctx, coqc, "-q", filepath.Join(dir, "T.v")).CombinedOutput()
}

// expectCoq compiles src, a lever's proof of a statement named what: it
// must pass when the statement is provable and fail when it is false.
func expectCoq(t *testing.T, coqc, what, src string, provable bool) {
	t.Helper()
	out, err := compileCoq(t, coqc, src)
	if provable && err != nil {
		t.Errorf("%s: coqc rejected the lever's proof: %v\n%s\n%s", what, err, out, src)
	}
	if !provable && err == nil {
		t.Errorf("%s: coqc accepted a proof of a false statement:\n%s", what, src)
	}
}

// TestPowResProvesInCoq compiles the levers' tactics on statements written
// for this test (none is a miniF2F problem) with the real coqc, and checks
// that a false statement of the same shape is not proved.
func TestPowResProvesInCoq(t *testing.T) {
	t.Parallel()
	coqc, err := exec.LookPath("coqc")
	if err != nil {
		t.Skip("coqc not installed (make test installs it)")
	}
	// LeverLeInduction's tactic: a statement from a lower bound, and a
	// false one of the same shape.
	for _, c := range []struct {
		stmt     string
		provable bool
	}{
		{"forall n : nat, 5 <= n -> 2 * n + 1 <= n * n - 3", true},
		{"forall n : nat, 3 <= n -> n * n <= 2 * n + 1", false},
	} {
		src := coq.Prelude + "\nTheorem t : " + c.stmt + ".\nProof.\n  intros n H. induction H; simpl in *; nia.\nQed.\n"
		expectCoq(t, coqc, c.stmt, src, c.provable)
	}
	// LeverSumInduction's tactic, on a sum with a shifted bound and on a
	// false closed form.
	for _, c := range []struct {
		stmt     string
		provable bool
	}{
		{"forall n : nat, (1 <= n)%nat -> sum_f_R0 (fun k => 2 * INR k + 1) (n - 1) = INR n ^ 2", true},
		{"forall n : nat, sum_f_R0 (fun k => INR k) n = INR n * (INR n + 1) / 2", true},
		{"forall n : nat, (1 <= n)%nat -> sum_f_R0 (fun k => 2 * INR k + 1) (n - 1) = INR n ^ 2 + 1", false},
	} {
		g := parseCoqGoal([]string{"n : nat\n============================\n" + strings.TrimPrefix(c.stmt[strings.Index(c.stmt, ",")+2:], "(1 <= n)%nat -> ")})
		g.real = true
		tac, ok := sumInduction(g, "")
		if !ok {
			t.Errorf("%s: no tactic", c.stmt)
			continue
		}
		src := coq.Prelude + "\nRequire Import Reals.\nOpen Scope R_scope.\nTheorem t : " + c.stmt + ".\nProof.\n  intros; " + tac + "\nQed.\n"
		expectCoq(t, coqc, c.stmt, src, c.provable)
	}
	for _, c := range []struct {
		name, stmt string
		bases      []int
		exp        string
		mod        int
		provable   bool
	}{
		{"notdiv", "forall n : nat, ~ Nat.divide 5 (3 ^ n + 5)", []int{3}, "n", 5, true},
		{"implies", "forall n : nat, Nat.divide 13 (3 ^ n - 1) -> Nat.divide 3 n", []int{3}, "n", 13, true},
		{"exists", "forall n : nat, exists k, 4 ^ (2 * n + 1) + 1 = 5 * k", []int{4}, "(2 * n + 1)", 5, true},
		{"sum", "forall n : nat, (2 ^ n + 5 ^ n) mod 3 <> 0", []int{2, 5}, "n", 3, true},
		{"zero", "forall n : nat, n <> 0 -> Nat.divide 3 (6 ^ n)", []int{6}, "n", 3, true},
		{"preperiod", "forall n : nat, Nat.divide 6 (2 ^ (2 * n + 1) + 4)", []int{2}, "(2 * n + 1)", 6, true},
		{"preperiod-false", "forall n : nat, Nat.divide 6 (2 ^ (n + 1) + 4)", []int{2}, "(n + 1)", 6, false},
		// under Open Scope Z_scope (see zScope below) the tactic must still read nat
		{"zscope", "(forall n : nat, exists k, 2 ^ (2 * n + 1) + 1 = 3 * k)%nat", []int{2}, "(2 * n + 1)", 3, true},
		{"false", "forall n : nat, Nat.divide 7 (2 ^ n - 1)", []int{2}, "n", 7, false},
		{"false-residue", "forall n : nat, ~ Nat.divide 5 (3 ^ n + 3)", []int{3}, "n", 5, false},
	} {
		tac, ok := powResTactic(c.bases, c.exp, c.mod)
		if !ok {
			t.Errorf("%s: no tactic", c.name)
			continue
		}
		if _, err := (coq.Policy{}).Check(tac); err != nil {
			t.Errorf("%s: %q refused by the policy: %v", c.name, tac, err)
		}
		scope := ""
		if c.name == "zscope" {
			scope = "Open Scope Z_scope.\n"
		}
		src := coq.Prelude + "\n" + scope + "Theorem t : " + c.stmt + ".\nProof.\n  intros; " + tac + "\nQed.\n"
		expectCoq(t, coqc, c.name, src, c.provable)
	}
}

func TestSumInduction(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		concl string
		want  string // "" when no tactic
	}{
		{"sum_f_R0 (fun k : nat => INR k) n = INR n * (INR n + 1) / 2",
			"induction n as [|n IH]; [simpl; field; repeat split; lra | cbn [sum_f_R0]; rewrite IH by lia; rewrite ?plus_INR, ?S_INR; cbn [INR]; field; pose proof (pos_INR n); repeat split; lra]."},
		{"sum_f_R0 (fun k : nat => / (INR (k + 1) * INR (k + 2))) (n - 1) = INR n / (INR n + 1)",
			"assert (exists m, n = (m + 1)%nat) as [n_m Hm] by (exists (n - 1)%nat; lia); subst n; replace (n_m + 1 - 1)%nat with n_m by lia; " +
				"induction n_m as [|n_m IH]; [simpl; field; repeat split; lra | cbn [sum_f_R0]; rewrite IH by lia; rewrite ?plus_INR, ?S_INR; cbn [INR]; field; pose proof (pos_INR n_m); repeat split; lra]."},
		{"sum_f_R0 (fun k : nat => INR k) (pred n) = 1", "replace (pred n) with (n - 1)%nat by lia; assert"},
		{"sum_f_R0 (fun k : nat => INR k) 118 = 1", ""},     // a closed sum
		{"sum_f_R0 (fun k : nat => INR k) (m * 2) = 1", ""}, // not a shifted variable
	} {
		g := coqGoal{concl: c.concl, natVars: []string{"n"}, real: true}
		got, ok := sumInduction(g, "")
		if c.want == "" {
			if ok {
				t.Errorf("%q: unexpected %q", c.concl, got)
			}
			continue
		}
		if !ok || !strings.HasPrefix(got, c.want) {
			t.Errorf("%q: got %q, want prefix %q", c.concl, got, c.want)
		}
	}
}

func TestCommonRoot(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		nums  []int64
		root  int64
		order string
		ok    bool
	}{
		{[]int64{10, 100, 1000}, 10, "1000:3 100:2", true},
		{[]int64{2, 32}, 2, "32:5", true},
		{[]int64{4, 8}, 2, "8:3 4:2", true},
		{[]int64{9, 27, 3}, 3, "27:3 9:2", true},
		{[]int64{2, 3}, 0, "", false},
		{[]int64{4, 6}, 0, "", false},
		{[]int64{8}, 0, "", false},
	} {
		root, ps, ok := commonRoot(c.nums)
		var got []string
		for _, n := range ps.order {
			got = append(got, fmt.Sprintf("%d:%d", n, ps.k[n]))
		}
		if ok != c.ok || ok && (root != c.root || strings.Join(got, " ") != c.order) {
			t.Errorf("commonRoot(%v) = %d, %v, %v; want %d, %s, %v", c.nums, root, got, ok, c.root, c.order, c.ok)
		}
	}
}

// TestSameBaseProvesInCoq: the lever's tactic, compiled by coqc, solves
// exponential equations with numerals that are powers of one root, in nat
// and in Z, and not a false twin.
func TestSameBaseProvesInCoq(t *testing.T) {
	t.Parallel()
	checkLeverInCoq(t, arithHeader+"Require Import ZArith Lia.\n", "pow_inj_r", []polyCase{
		{"forall x : nat, 9 ^ (x + 1) * 3 ^ x = 3 ^ 11 -> x = 3", "intros.", "x : nat\nH : 9 ^ (x + 1) * 3 ^ x = 3 ^ 11\n============================\nx = 3", true, ""},
		{"forall x : nat, 2 ^ x * 4 ^ x = 8 ^ 4 -> x = 4", "intros.", "x : nat\nH : 2 ^ x * 4 ^ x = 8 ^ 4\n============================\nx = 4", true, ""},
		{"forall x : nat, 2 ^ x * 4 ^ x = 8 ^ 4 -> x = 3", "intros.", "x : nat\nH : 2 ^ x * 4 ^ x = 8 ^ 4\n============================\nx = 3", false, ""},
		{"forall x : nat, 2 ^ (x + 1) = 32 -> x = 4", "intros.", "x : nat\nH : 2 ^ (x + 1) = 32\n============================\nx = 4", true, ""},
		{"forall x : Z, (0 <= x)%Z -> (5 ^ x * 25 = 625)%Z -> x = 2%Z", "intros.", "x : Z\nH : (0 <= x)%Z\nH0 : (5 ^ x * 25)%Z = 625%Z\n============================\nx = 2%Z", true, ""},
		{"forall x : Z, (0 <= x)%Z -> (5 ^ x * 25 = 625)%Z -> x = 3%Z", "intros.", "x : Z\nH : (0 <= x)%Z\nH0 : (5 ^ x * 25)%Z = 625%Z\n============================\nx = 3%Z", false, ""},
	})
}

// TestGcdLinearProvesInCoq: gcd of two linear expressions in n bounded by
// the constant of their combination, in nat and Z; a bound below it is
// not proposed or not proved.
func TestGcdLinearProvesInCoq(t *testing.T) {
	t.Parallel()
	checkLeverInCoq(t, arithHeader+"Require Import ZArith Lia.\n", "Hlp_g", []polyCase{
		{"forall n : nat, Nat.gcd (n + 7) (2 * n + 1) <= 13", "intros.", "n : nat\n============================\nNat.gcd (n + 7) (2 * n + 1) <= 13", true, ""},
		{"forall n : nat, Nat.gcd (n + 7) (2 * n + 1) <= 12", "intros.", "n : nat\n============================\nNat.gcd (n + 7) (2 * n + 1) <= 12", false, ""},
		// the combination the other way round: 3 (2n + 5) - 2 (3n + 1) = 13
		{"forall n : nat, Nat.gcd (3 * n + 1) (2 * n + 5) <= 13", "intros.", "n : nat\n============================\nNat.gcd (3 * n + 1) (2 * n + 5) <= 13", true, ""},
		// K = 43 is a subterm of the unary numeral 50
		{"forall n : nat, Nat.gcd (n + 50) (n + 7) <= 43", "intros.", "n : nat\n============================\nNat.gcd (n + 50) (n + 7) <= 43", true, ""},
		{"forall n : Z, (Z.gcd (n + 7) (2 * n + 1) <= 13)%Z", "intros.", "n : Z\n============================\n(Z.gcd (n + 7) (2 * n + 1) <= 13)%Z", true, ""},
	})
}

// TestRecurrenceProvesInCoq: closed forms of sequences defined by a
// recurrence of order one or two (nat, with a truncated subtraction in
// the closed form, and R, in the + 1 and the S forms) are proved by
// induction; a closed form that is false at some n is not.
func TestRecurrenceProvesInCoq(t *testing.T) {
	t.Parallel()
	nat := arithHeader + "Require Import ZArith Lia.\n"
	ord1 := func(rhs string) polyCase {
		return polyCase{"forall n : nat, forall u : nat -> nat, u 0 = 0 -> (forall m, u (m + 1) = 2 * u m + 1) -> u n = " + rhs, "intros.",
			"n : nat\nu : nat -> nat\nH : u 0 = 0\nH0 : forall m : nat, u (m + 1) = 2 * u m + 1\n============================\nu n = " + rhs, false, ""}
	}
	sub, subFalse := ord1("2 ^ n - 1"), ord1("2 ^ n - 2")
	sub.provable = true
	checkLeverInCoq(t, nat, "rewrite ?IH", []polyCase{sub, subFalse})
	ord2 := func(rhs string) polyCase {
		return polyCase{"forall (a : nat -> nat), a 0 = 2 -> a 1 = 5 -> (forall n, a (n + 2) = 5 * a (n + 1) - 6 * a n) -> forall n, a n = " + rhs, "intros.",
			"a : nat -> nat\nH : a 0 = 2\nH0 : a 1 = 5\nH1 : forall n : nat, a (n + 2) = 5 * a (n + 1) - 6 * a n\nn : nat\n============================\na n = " + rhs, false, ""}
	}
	pow, powFalse := ord2("2 ^ n + 3 ^ n"), ord2("2 ^ n + 3 ^ n * n + 1")
	pow.provable = true
	checkLeverInCoq(t, nat, "[IH1 IH2]", []polyCase{pow, powFalse})
	checkLeverInCoq(t, realsHeader, "IH", []polyCase{
		{"forall (u : nat -> R) (n : nat), u 0%nat = 3 -> (forall m, u (S m) = u m + 4) -> u n = 3 + 4 * INR n", "intros.",
			"u : nat -> R\nn : nat\nH : u 0%nat = 3\nH0 : forall m : nat, u (S m) = u m + 4\n============================\nu n = 3 + 4 * INR n", true, ""},
		{"forall (u : nat -> R) (n : nat), u 0%nat = 3 -> (forall m, u (S m) = u m + 4) -> u n = 3 + 5 * INR n", "intros.",
			"u : nat -> R\nn : nat\nH : u 0%nat = 3\nH0 : forall m : nat, u (S m) = u m + 4\n============================\nu n = 3 + 5 * INR n", false, ""},
		{"forall (u : nat -> R) (n : nat), u 0%nat = 1 -> u 1%nat = 2 -> (forall m, u (S (S m)) = 4 * u (S m) - 4 * u m) -> u n = 2 ^ n", "intros.",
			"u : nat -> R\nn : nat\nH : u 0%nat = 1\nH0 : u 1%nat = 2\nH1 : forall m : nat, u (S (S m)) = 4 * u (S m) - 4 * u m\n============================\nu n = 2 ^ n", true, ""},
	})
}

// TestUnrollProvesInCoq: a sequence evaluated at numerals, by a plain or a
// conditional recurrence, in nat and Z, is computed; a wrong value is not.
func TestUnrollProvesInCoq(t *testing.T) {
	t.Parallel()
	fib := func(v string, ok bool) polyCase {
		return polyCase{"forall (t : nat -> nat), t 0 = 0 -> t 1 = 1 -> (forall n, n > 1 -> t n = t (n - 2) + t (n - 1)) -> t 15 mod 7 = " + v, "intros.",
			"t : nat -> nat\nH : t 0 = 0\nH0 : t 1 = 1\nH1 : forall n : nat, n > 1 -> t n = t (n - 2) + t (n - 1)\n============================\nt 15 mod 7 = " + v, ok, ""}
	}
	per := func(v string, ok bool) polyCase {
		return polyCase{"forall (u : nat -> Z), u 0%nat = 2 -> u 1%nat = 7 -> (forall m, u (m + 2)%nat = u (m + 1)%nat - u m) -> u 100%nat = " + v, "intros.",
			"u : nat -> Z\nH : u 0%nat = 2\nH0 : u 1%nat = 7\nH1 : forall m : nat, u (m + 2)%nat = u (m + 1)%nat - u m\n============================\nu 100%nat = " + v, ok, ""}
	}
	marker := "cbn [Nat.add Nat.sub Nat.mul Nat.pred] in *"
	checkLeverInCoq(t, arithHeader+"Require Import ZArith Lia.\n", marker, []polyCase{fib("1", true), fib("2", false)})
	checkLeverInCoq(t, arithHeader+"Require Import ZArith Lia.\nOpen Scope Z_scope.\n", marker, []polyCase{per("-7", true), per("7", false)})
}

// TestRecurrenceAndUnrollPassPolicy: the two levers' candidates pass
// coq.Policy.
func TestRecurrenceAndUnrollPassPolicy(t *testing.T) {
	t.Parallel()
	checkLeversPassPolicy(t, arithHeader, map[string][]string{
		"order2": {"a : nat -> nat\nH : a 0 = 2\nH0 : a 1 = 5\nH1 : forall n : nat, a (n + 2) = 5 * a (n + 1) - 6 * a n\nn : nat\n============================\na n = 2 ^ n + 3 ^ n"},
		"unroll": {"t : nat -> nat\nH : t 0 = 0\nH0 : t 1 = 1\nH1 : forall n : nat, n > 1 -> t n = t (n - 2) + t (n - 1)\n============================\nt 15 mod 7 = 1"},
	})
}
