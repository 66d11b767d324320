package model

import "testing"

// TestPrimesProvesInCoq: primality of numerals (Z, Z.of_nat) both ways and
// a prime polynomial hypothesis, in the real coqc; composites are not
// proved prime, primes not composite, and a conclusion that misses a
// solution of the hypothesis is not proved.
func TestPrimesProvesInCoq(t *testing.T) {
	t.Parallel()
	header := "Require Import ZArith Znumtheory Lia.\nOpen Scope Z_scope.\n"
	goal := func(stmt string, ok bool) polyCase {
		return polyCase{stmt, "", "============================\n" + stmt, ok, ""}
	}
	hyp := func(concl string, ok bool) polyCase {
		return polyCase{"forall n : Z, n > 0 -> prime (n * n - 7 * n + 12) -> " + concl, "intros.",
			"n : Z\nH : n > 0\nH0 : prime (n * n - 7 * n + 12)\n============================\n" + concl, ok, ""}
	}
	checkLeverInCoq(t, header, "prime_", []polyCase{
		goal("prime 1009", true),
		goal("prime 1007", false), // 19 * 53
		goal("prime 2", true),
		goal("prime 1", false),
		goal("~ prime 1001", true),
		goal("~ prime 997", false),
		goal("prime (Z.of_nat 97)", true),
		hyp("n = 5 \\/ n = 2", true),
		hyp("n = 5", false),
	})
}

func TestLeastFactorAndIsqrt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ n, f, k int64 }{{2, 2, 1}, {9, 3, 3}, {97, 97, 9}, {1001, 7, 31}, {1009, 1009, 31}, {1024, 2, 32}} {
		if f, k := leastFactor(c.n), isqrt(c.n); f != c.f || k != c.k {
			t.Errorf("leastFactor, isqrt(%d) = %d, %d; want %d, %d", c.n, f, k, c.f, c.k)
		}
	}
}

// TestPrimesPassPolicy: the lever's candidates pass coq.Policy.
func TestPrimesPassPolicy(t *testing.T) {
	t.Parallel()
	checkLeversPassPolicy(t, "Require Import ZArith Znumtheory Lia.\n", map[string][]string{
		"prime":     {"============================\nprime 1009"},
		"composite": {"============================\n~ prime 1001"},
		"hyp":       {"n : Z\nH : n > 0\nH0 : prime (n * n - 3 * n + 2)\n============================\nn = 3"},
	})
}
