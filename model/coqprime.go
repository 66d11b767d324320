package model

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
)

// LeverPrimes decides Znumtheory.prime on numerals and reads prime
// hypotheses (issue 12): prime N by prime_alt, a divisor d = N / m being
// at most isqrt N or m being so, and a vm_compute'd table of N mod x for
// x up to isqrt N; ~ prime N by its least factor and prime_divisors; a
// hypothesis prime E with E a one-variable polynomial over Z with an
// integer root r gives E's divisor x - r (the quotient by ring) as one of
// -1, 1, E, -E, with prime_ge_2, for nia.
const LeverPrimes = "primes"

func init() {
	Levers = append(Levers, LeverPrimes)
}

// maxPrimeCheck bounds the numerals whose primality is decided (the
// table of remainders has isqrt N entries).
const maxPrimeCheck = 1_000_000

var (
	// prime N, Znumtheory.prime N, prime (Z.of_nat N), with scopes.
	primeNumeralRE = regexp.MustCompile(`^(~ )?\(?(?:Znumtheory\.)?prime \(?(Z\.of_nat )?(\d+)(?:%Z|%nat)?\)?(?:%Z)?\)?$`)
	// A hypothesis prime E.
	primeHypRE = regexp.MustCompile(`^(?:Znumtheory\.)?prime \((.+)\)(?:%Z)?$`)
)

// primeCandidates adds the lever's candidates.
func (p *Portfolio) primeCandidates(c *cset, g coqGoal, pre string) {
	if !p.on(LeverPrimes) {
		return
	}
	if m := primeNumeralRE.FindStringSubmatch(g.concl); m != nil {
		if t, ok := primeNumeralTactic(m[1] != "", m[2] != "", m[3]); ok {
			c.add(-0.1, ms(3000), pre+t)
		}
	}
	if pre != "" {
		return
	}
	for _, h := range g.hyps {
		if len(h.names) == 0 {
			continue
		}
		if t, ok := primeHypTactic(h.names[0], h.typ); ok {
			c.add(-0.3, ms(3000), t)
		}
	}
}

// primeNumeralTactic proves prime N (or ~ prime N when neg), N a numeral
// (in Z, or Z.of_nat of a nat numeral), when that is true.
func primeNumeralTactic(neg, ofNat bool, num string) (string, bool) {
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 2 || n > maxPrimeCheck {
		return "", false
	}
	pre := ""
	if ofNat {
		pre = fmt.Sprintf("replace (Z.of_nat %[1]d) with %[1]d%%Z by lia; ", n)
	}
	f := leastFactor(n)
	if neg {
		if f == n {
			return "", false
		}
		return pre + fmt.Sprintf("intro Hp; destruct (prime_divisors _ Hp %d ltac:(exists %d; reflexivity)) as [?|[?|[?|?]]]; lia.", f, n/f), true
	}
	if f != n {
		return "", false
	}
	k := isqrt(n)
	if k < 2 {
		// 2 and 3: no divisor strictly between 1 and N.
		return pre + "apply prime_alt; split; [lia|]; intros d Hd [m Hm]; nia.", true
	}
	// x ranges over 2..k: seq 2 (k - 1).
	in := func(v string) string {
		return fmt.Sprintf("specialize (Hchk %[1]s ltac:(apply List.in_map_iff; exists (Z.to_nat %[1]s); split; [lia | apply List.in_seq; lia]))", v)
	}
	return pre + fmt.Sprintf("apply prime_alt; split; [lia|]; intros d Hd [m Hm]; "+
		"assert (Hm2 : (2 <= m)%%Z) by nia; assert (Hs : (d <= %[2]d \\/ m <= %[2]d)%%Z) by nia; "+
		"assert (Hchk : List.forallb (fun x => negb (Z.eqb (Z.modulo %[1]d x) 0)) (List.map Z.of_nat (List.seq 2 %[3]d)) = true) by (vm_compute; reflexivity); "+
		"rewrite List.forallb_forall in Hchk; destruct Hs as [Hs|Hs]; "+
		"[%[4]s; assert (Z.modulo %[1]d d = 0)%%Z by (rewrite Hm; apply Z.mod_mul; lia) "+
		"| %[5]s; assert (Z.modulo %[1]d m = 0)%%Z by (rewrite Hm, Z.mul_comm; apply Z.mod_mul; lia)]; "+
		"match goal with E : (Z.modulo _ _ = 0)%%Z |- _ => rewrite E in Hchk end; discriminate Hchk.", n, k, k-1, in("d"), in("m")), true
}

// primeHypTactic reads hypothesis h : prime E, E a polynomial in one Z
// variable with an integer root.
func primeHypTactic(h, typ string) (string, bool) {
	m := primeHypRE.FindStringSubmatch(typ)
	if m == nil {
		return "", false
	}
	e, ok := parsePoly(m[1])
	if !ok {
		return "", false
	}
	vs := e.vars()
	if len(vs) != 1 {
		return "", false
	}
	x := vs[0]
	cs, ok := e.univariate(x)
	if !ok || len(trimPoly(cs)) < 3 {
		return "", false
	}
	for _, c := range cs {
		if !c.IsInt() {
			return "", false
		}
	}
	roots, _ := rationalRoots(cs)
	for _, r := range distinct(roots) {
		if !r.IsInt() {
			continue
		}
		q, _ := divideLinear(cs, r)
		return fmt.Sprintf("pose proof (prime_ge_2 _ %[1]s); destruct (prime_divisors _ %[1]s (%[2]s - %[3]s) ltac:(exists %[4]s; ring)) as [Hd|[Hd|[Hd|Hd]]]; nia.",
			h, x, intZ(r), coqPolyZ(q, x)), true
	}
	return "", false
}

// intZ prints an integer as a Z term.
func intZ(r *big.Rat) string {
	return "(" + r.Num().String() + ")"
}

// coqPolyZ prints integer coefficients cs (lowest degree first) in x as
// a Z term.
func coqPolyZ(cs []*big.Rat, x string) string { return coqPolyIn(cs, x, intZ) }

// leastFactor is n's least divisor above 1.
func leastFactor(n int64) int64 {
	for d := int64(2); d*d <= n; d++ {
		if n%d == 0 {
			return d
		}
	}
	return n
}

// isqrt is the integer square root of n >= 0.
func isqrt(n int64) int64 {
	k := int64(0)
	for (k+1)*(k+1) <= n {
		k++
	}
	return k
}
