package model

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Levers for nat statements about a variable n (issue 12): periodic
// remainders of powers, induction on a lower bound, sums by induction.
const (
	// LeverPowRes decides nat divisibility and remainder goals about
	// powers with a variable exponent, C ^ E mod D for numerals C and D,
	// without induction on the statement: the remainders of C ^ k repeat
	// with a period P after a preperiod s (s = 0 when C and D are
	// coprime), so C ^ E mod D = C ^ (s + (E - s) mod P) mod D, proved by
	// a small induction on the number of periods; (E - s) mod P is then
	// split into its P values, each remainder computed, and lia finishes
	// with the divisibility statements as remainders.
	LeverPowRes = "powres"
	// LeverLeInduction proves a nat statement from a lower bound K <= n
	// (or K < n, n > K, n >= K) by induction on the bound itself (le_n,
	// le_S): the base case at K, the step with the induction hypothesis
	// already under the bound, both unfolded and left to nia or lia.
	LeverLeInduction = "leinduction"
	// LeverSumInduction proves sum_f_R0 F M = G with M a nat variable n,
	// n - K or pred n (K <= n from the hypotheses) by induction on the
	// number of terms: the last term split off by sum_f_R0's own
	// definition, the hypothesis rewritten, INR pushed through S and +,
	// field with its side conditions from pos_INR.
	LeverSumInduction = "suminduction"
	// LeverSameBase solves an exponential equation over nat or Z whose
	// numeral bases (and a numeral side) are powers of one root r
	// (10 ^ x * 100 ^ (2 * x) = 1000 ^ 5): each numeral is replaced by r ^ k
	// (the largest first: a unary nat numeral contains the smaller ones),
	// the powers merged by pow_mul_r and pow_add_r, and pow_inj_r leaves
	// the equation of the exponents to lia.
	LeverSameBase = "samebase"
	// LeverGcdLinear bounds gcd A B for A, B linear in one variable n
	// (a1 n + a0, b1 n + b0): the combination c1 A - c2 B with
	// c1 = b1 / g, c2 = a1 / g (g = gcd a1 b1) is a constant K, so
	// gcd A B divides K (divide_sub_r, gcd_divide_l/r) and is at most K.
	LeverGcdLinear = "gcdlinear"
	// LeverRecurrence proves a closed form u n = R of a sequence given by
	// its first values (u 0, and u 1 for order two) and a recurrence
	// forall m, u (m + 1) = E (or u (S m), u (m + 2), u (S (S m))):
	// induction on n, for order two on the pair u n, u (n + 1), the step
	// by the recurrence and the induction hypotheses, closed by lia/nia
	// after powers of a successor are unfolded (nat, Z) or by ring/lra
	// after INR and pow are pushed through the sum (R). A nat closed form
	// A - B is proved as u n + B = A first: truncated subtraction loses
	// what the step needs (A >= B).
	LeverRecurrence = "recurrence"
	// LeverUnroll evaluates a sequence at the numerals of the conclusion
	// (u 12 = 233): the recurrence (conditional ones too: forall m,
	// m > 1 -> u m = ...) instantiated at every m up to the largest
	// numeral, the arguments computed, and the linear system left to
	// lia or lra.
	LeverUnroll = "unroll"
)

func init() {
	Levers = append(Levers, LeverPowRes, LeverLeInduction, LeverSumInduction, LeverSameBase, LeverGcdLinear, LeverRecurrence, LeverUnroll)
}

// natVarLevers adds the candidates of the levers above.
func (p *Portfolio) natVarLevers(c *cset, g coqGoal, pre string) {
	if p.on(LeverLeInduction) && g.integ && pre == "" {
		// nia alone, on a short leash: on valid its proofs took 8 ms, a
		// lia variant closed nothing, and the misses ran to the leash.
		for _, h := range lowerBoundHyps(g) {
			c.add(-0.35, ms(750), "induction "+h+"; simpl in *; nia.")
		}
	}
	if p.on(LeverSumInduction) && g.real {
		if t, ok := sumInduction(g, pre); ok {
			c.add(-0.3, ms(2500), t)
		}
	}
	if p.on(LeverPowRes) && g.integ {
		powResCandidates(c, g, pre)
	}
	if p.on(LeverSameBase) && g.integ && pre == "" {
		sameBaseCandidates(c, g)
	}
	if p.on(LeverGcdLinear) && g.integ && pre == "" {
		gcdLinearCandidates(c, g)
	}
	if p.on(LeverRecurrence) && pre == "" {
		for _, t := range recurrenceTactics(g) {
			c.add(-0.3, ms(3000), t)
		}
	}
	if p.on(LeverUnroll) && pre == "" {
		if t, ok := unrollTactic(g); ok {
			c.add(-0.3, ms(3000), t)
		}
	}
}

const sameBaseMaxUnary = 100000 // a nat numeral reflexivity may build

// exponentRE: an exponent, a word or a parenthesised group without nesting.
var exponentRE = regexp.MustCompile(`\^ (?:\([^()]*\)|[\p{L}\p{N}_']+)`)

// sameBaseCandidates: see LeverSameBase.
func sameBaseCandidates(c *cset, g coqGoal) {
	k := 0
	for _, h := range g.hyps {
		_, r, ok := strings.Cut(h.typ, " = ")
		if !ok || strings.HasPrefix(h.typ, "forall") || strings.HasPrefix(h.typ, "exists") || strings.Contains(r, " = ") || !strings.Contains(h.typ, "^") {
			continue
		}
		// Every numeral outside the exponents: bases, factors, sides.
		var nums []int64
		for _, m := range numeralRE.FindAllString(exponentRE.ReplaceAllString(h.typ, "^ E"), -1) {
			if n, err := strconv.ParseInt(m, 10, 64); err == nil {
				nums = append(nums, n)
			}
		}
		root, exps, ok := commonRoot(nums)
		if !ok {
			continue
		}
		isZ := strings.Contains(h.typ, "%Z")
		for _, z := range g.hyps {
			for _, n := range z.names {
				if z.typ == "Z" && containsWord(h.typ, n) {
					isZ = true
				}
			}
		}
		var steps []string
		for _, n := range exps.order {
			if !isZ && n > sameBaseMaxUnary {
				steps = nil
				break
			}
			scope := ""
			if isZ {
				scope = "%Z"
			}
			steps = append(steps, fmt.Sprintf("replace (%d)%s with (%d ^ %d)%s in %s by reflexivity", n, scope, root, exps.k[n], scope, h.names[0]))
		}
		if len(steps) == 0 && len(exps.order) > 0 {
			continue
		}
		merge := fmt.Sprintf("rewrite <- ?Nat.pow_mul_r, <- ?Nat.pow_add_r in %s; apply Nat.pow_inj_r in %s", h.names[0], h.names[0])
		if isZ {
			merge = fmt.Sprintf("rewrite <- ?Z.pow_mul_r, <- ?Z.pow_add_r in %s by lia; apply Z.pow_inj_r in %s", h.names[0], h.names[0])
		}
		t := strings.Join(append(steps, merge), "; ")
		if k++; k > 2 {
			return
		}
		c.add(-0.25, ms(1500), t+"; lia.")
		c.add(-0.45, ms(1500), t+"; try lia.")
	}
}

// rootPowers: each numeral other than the root as a power of it, the
// largest first.
type rootPowers struct {
	order []int64
	k     map[int64]int
}

// commonRoot finds r > 1 with every numeral of nums (two at least) a
// power r ^ k, k >= 1, r not itself a power.
func commonRoot(nums []int64) (int64, rootPowers, bool) {
	out := rootPowers{k: map[int64]int{}}
	if len(nums) < 2 {
		return 0, out, false
	}
	var root int64
	for _, n := range nums {
		r, k := perfectRoot(n)
		if r < 2 || root != 0 && r != root {
			return 0, out, false
		}
		root = r
		if k > 1 {
			if _, seen := out.k[n]; !seen {
				out.order = append(out.order, n)
			}
			out.k[n] = k
		}
	}
	slices.SortFunc(out.order, func(a, b int64) int { return cmp.Compare(b, a) })
	return root, out, true
}

// perfectRoot writes n = r ^ k with k as large as possible.
func perfectRoot(n int64) (int64, int) {
	if n < 2 {
		return n, 1
	}
	for k := 62; k >= 2; k-- {
		r := int64(math.Round(math.Pow(float64(n), 1/float64(k))))
		for _, c := range []int64{r - 1, r, r + 1} {
			if c >= 2 && intPow(c, k) == n {
				return c, k
			}
		}
	}
	return n, 1
}

// intPow is b ^ k, or -1 past 2^62.
func intPow(b int64, k int) int64 {
	out := int64(1)
	for i := 0; i < k; i++ {
		if out > (1<<62)/b {
			return -1
		}
		out *= b
	}
	return out
}

const (
	powResMaxPeriod = 12   // case splits on E mod P beyond this are not proposed
	powResMaxPower  = 4096 // C ^ P is computed in unary nat by the proof
	powResMaxMod    = 100
)

var (
	// C ^ E with a numeral base and an exponent that is a name or a
	// parenthesised group without nesting.
	natPowVarRE = regexp.MustCompile(`\b(\d+) \^ (\([^()]*\)|[\p{L}_][\p{L}\p{N}_']*)`)
	// Numeral moduli: x mod D, Nat.divide D x, L = D * k, L = k * D.
	modulusRE = []*regexp.Regexp{
		regexp.MustCompile(`\bmod (\d+)\b`),
		regexp.MustCompile(`\bNat\.divide (\d+) `),
		regexp.MustCompile(`= \(?(\d+) \* [\p{L}_][\p{L}\p{N}_']*\b`),
		regexp.MustCompile(`= \(?[\p{L}_][\p{L}\p{N}_']* \* (\d+)\)?`),
	}
	wordRE = regexp.MustCompile(`[\p{L}_][\p{L}\p{N}_'.]*`)
)

// powResFinish turns every divisibility statement with a numeral divisor
// into a remainder, opens existential hypotheses, and lets lia decide; an
// existential goal L = D * k gets the witness L / D.
const powResFinish = "repeat match goal with H : exists _, _ |- _ => destruct H end; " +
	"rewrite <- ?Nat.mod_divide in * by lia; " +
	"first [lia | match goal with |- exists k, (?L = ?D * k)%nat => exists (L / D)%nat; apply Nat.div_exact; lia " +
	"| |- exists k, (?L = k * ?D)%nat => exists (L / D)%nat; rewrite Nat.mul_comm; apply Nat.div_exact; lia end]"

// powResCandidates proposes, for each group of powers sharing an exponent
// and each numeral modulus of the goal, the periodic-remainder argument
// (see LeverPowRes), after pre. The exponent must be built from the nat
// variables already in the context.
func powResCandidates(c *cset, g coqGoal, pre string) {
	text := all(g)
	byExp := map[string][]int{}
	var exps []string
	for _, m := range natPowVarRE.FindAllStringSubmatch(text, -1) {
		base, err := strconv.Atoi(m[1])
		if err != nil || base < 2 || base > powResMaxPower {
			continue
		}
		e := m[2]
		if !natExponent(e, g.natVars) {
			continue
		}
		if _, ok := byExp[e]; !ok {
			exps = append(exps, e)
		}
		if !slices.Contains(byExp[e], base) {
			byExp[e] = append(byExp[e], base)
		}
	}
	if len(exps) == 0 {
		return
	}
	var mods []int
	for _, re := range modulusRE {
		for _, m := range re.FindAllStringSubmatch(text, -1) {
			if d, err := strconv.Atoi(m[1]); err == nil && d >= 2 && d <= powResMaxMod && !slices.Contains(mods, d) {
				mods = append(mods, d)
			}
		}
	}
	k := 0
	for _, e := range exps {
		for _, d := range mods {
			if k >= 4 {
				return
			}
			if t, ok := powResTactic(byExp[e], e, d); ok {
				c.add(-0.3, ms(3000), pre+t)
				k++
			}
		}
	}
}

// natExponent reports whether e is an exponent built from the goal's nat
// variables: at least one of them, and no other name.
func natExponent(e string, natVars []string) bool {
	names := wordRE.FindAllString(e, -1)
	if len(names) == 0 {
		return false
	}
	for _, n := range names {
		if !slices.Contains(natVars, n) {
			return false
		}
	}
	return true
}

// powResTactic is the whole argument for the powers bases ^ e modulo d,
// or false when the remainders of some base repeat too late or with too
// long a period. With s the longest preperiod and P the common period of
// the bases' remainders (C ^ (k + P) = C ^ k mod d for k >= s), each base
// gets the step lemma (computed at s), its closure over q periods, and
// C ^ e mod d = C ^ (s + (e - s) mod P) mod d (which needs e >= s, by lia
// from the hypotheses); then (e - s) mod P is split into its P values and
// each remainder computed.
func powResTactic(bases []int, e string, d int) (string, bool) {
	s, period := 0, 1
	for _, b := range bases {
		bs, bp, ok := powCycle(b, d)
		if !ok {
			return "", false
		}
		s, period = max(s, bs), lcm(period, bp)
	}
	if period > powResMaxPeriod {
		return "", false
	}
	for _, b := range bases {
		if new(big.Int).Exp(big.NewInt(int64(b)), big.NewInt(int64(s+period)), nil).Cmp(big.NewInt(powResMaxPower)) > 0 {
			return "", false
		}
	}
	// e - s, written plainly when s is 0.
	shifted := "(" + e + " - " + strconv.Itoa(s) + ")"
	if s == 0 {
		shifted = e
	}
	var steps []string
	for i, b := range bases {
		steps = append(steps, powResLemma(i, b, e, shifted, s, period, d))
	}
	steps = append(steps,
		fmt.Sprintf("pose proof (Nat.mod_upper_bound %s %d ltac:(lia))", shifted, period))
	var cases, branches []string
	for r := 0; r < period; r++ {
		cases = append(cases, fmt.Sprintf("%s mod %d = %d", shifted, period, r))
		var ch []string
		for i, b := range bases {
			ch = append(ch, fmt.Sprintf("change (%d ^ (%d + %d) mod %d)%%nat with %d%%nat in Hres%d", b, s, r, d, powMod(b, s+r, d), i))
		}
		branches = append(branches, strings.Join(ch, "; "))
	}
	steps = append(steps, fmt.Sprintf("assert (Hr : (%s)%%nat) by lia", strings.Join(cases, " \\/ ")))
	if period > 1 {
		steps = append(steps, destructOr("Hr", period)+"; rewrite Hr in *", "["+strings.Join(branches, " | ")+"]")
	} else {
		steps = append(steps, "rewrite Hr in *", branches[0])
	}
	steps = append(steps, powResFinish)
	t := strings.Join(steps, "; ") + "."
	return t, len(t) <= prover.DefaultMaxTactic
}

// powResLemma is the assertion Hres<i> : b ^ e mod d = b ^ (s + (e - s)
// mod p) mod d with its proof: when s is 0 (b and d coprime), from
// (b ^ p) ^ q mod d = 1; otherwise from the step b ^ (k + p) = b ^ k mod d
// for k >= s (computed at s) closed over q periods.
func powResLemma(i, b int, e, shifted string, s, p, d int) string {
	if s == 0 {
		return fmt.Sprintf("assert (Hres%[1]d : (%[2]d ^ %[3]s mod %[4]d = %[2]d ^ (0 + %[3]s mod %[5]d) mod %[4]d)%%nat) by ("+
			"assert (Hq : forall q, ((%[2]d ^ %[5]d) ^ q mod %[4]d = 1)%%nat) by (induction q; [reflexivity | rewrite Nat.pow_succ_r', Nat.mul_mod, IHq by lia; reflexivity]); "+
			"rewrite (Nat.div_mod_eq %[3]s %[5]d) at 1; rewrite Nat.pow_add_r, Nat.pow_mul_r, Nat.mul_mod, Hq by lia; "+
			"rewrite Nat.mul_1_l, Nat.mod_mod by lia; reflexivity)",
			i, b, e, d, p)
	}
	return fmt.Sprintf("assert (Hstep : forall k, (%[3]d <= k -> %[2]d ^ (k + %[4]d) mod %[5]d = %[2]d ^ k mod %[5]d)%%nat) by ("+
		"intros k Hk; replace (k + %[4]d)%%nat with (k - %[3]d + %[6]d)%%nat by lia; "+
		"replace (%[2]d ^ k)%%nat with (%[2]d ^ (k - %[3]d + %[3]d))%%nat by (f_equal; lia); "+
		"rewrite !Nat.pow_add_r, Nat.mul_mod, (Nat.mul_mod (%[2]d ^ (k - %[3]d))) by lia; "+
		"change (%[2]d ^ %[6]d mod %[5]d)%%nat with %[7]d%%nat; change (%[2]d ^ %[3]d mod %[5]d)%%nat with %[7]d%%nat; reflexivity); "+
		"assert (Hq : forall q m, (%[3]d <= m -> %[2]d ^ (m + %[4]d * q) mod %[5]d = %[2]d ^ m mod %[5]d)%%nat) by ("+
		"induction q; intros m Hm; [rewrite Nat.mul_0_r, Nat.add_0_r; reflexivity | "+
		"replace (m + %[4]d * S q)%%nat with (m + %[4]d * q + %[4]d)%%nat by lia; rewrite Hstep by lia; apply IHq; lia]); "+
		"assert (Hres%[1]d : (%[2]d ^ %[8]s mod %[5]d = %[2]d ^ (%[3]d + %[9]s mod %[4]d) mod %[5]d)%%nat) by ("+
		"assert (HE : (%[8]s = %[3]d + %[9]s mod %[4]d + %[4]d * (%[9]s / %[4]d))%%nat) by (pose proof (Nat.div_mod_eq %[9]s %[4]d); lia); "+
		"rewrite HE at 1; rewrite Hq by lia; reflexivity); clear Hstep Hq",
		i, b, s, p, d, s+p, powMod(b, s, d), e, shifted)
}

// powCycle is where the remainders of b ^ k modulo d start repeating (s)
// and their period (p): b ^ (s + p) = b ^ s mod d, s and p least.
func powCycle(b, d int) (s, p int, ok bool) {
	first := map[int]int{} // remainder -> first k
	x := 1 % d
	for k := 0; k <= d; k++ {
		if j, seen := first[x]; seen {
			return j, k - j, true
		}
		first[x] = k
		x = x * (b % d) % d
	}
	return 0, 0, false
}

// powMod is b ^ k mod d.
func powMod(b, k, d int) int {
	return int(new(big.Int).Exp(big.NewInt(int64(b)), big.NewInt(int64(k)), big.NewInt(int64(d))).Int64())
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int) int { return a / gcd(a, b) * b }

var (
	sumBoundVarRE  = regexp.MustCompile(`^([\p{L}_][\p{L}\p{N}_']*)$`)
	sumBoundSubRE  = regexp.MustCompile(`^\(([\p{L}_][\p{L}\p{N}_']*) - (\d+)\)(?:%nat)?$`)
	sumBoundPredRE = regexp.MustCompile(`^\(pred ([\p{L}_][\p{L}\p{N}_']*)\)$`)
)

// sumInduction is LeverSumInduction's tactic for the first sum_f_R0 of
// the conclusion whose bound is a nat variable of the goal, that
// variable minus a numeral, or its predecessor.
func sumInduction(g coqGoal, pre string) (string, bool) {
	concl := g.concl
	i := strings.Index(concl, "sum_f_R0 ")
	if i < 0 {
		return "", false
	}
	rest := concl[i+len("sum_f_R0 "):]
	n := balancedPrefix(rest)
	if n == 0 || n >= len(rest) || rest[n] != ' ' {
		return "", false
	}
	bound := rest[n+1:]
	bound = bound[:balancedPrefix(bound)]
	var v, shift string
	switch {
	case sumBoundVarRE.MatchString(bound):
		v = bound
	case sumBoundSubRE.MatchString(bound):
		m := sumBoundSubRE.FindStringSubmatch(bound)
		v, shift = m[1], m[2]
	case sumBoundPredRE.MatchString(bound):
		v, shift = sumBoundPredRE.FindStringSubmatch(bound)[1], "1"
		pre += fmt.Sprintf("replace (pred %s) with (%s - 1)%%nat by lia; ", v, v)
	default:
		return "", false
	}
	if !slices.Contains(g.natVars, v) && !strings.HasPrefix(pre, "intros") {
		return "", false
	}
	iv := v
	if shift != "" {
		iv = v + "_m"
		pre += fmt.Sprintf("assert (exists m, %[1]s = (m + %[2]s)%%nat) as [%[3]s Hm] by (exists (%[1]s - %[2]s)%%nat; lia); subst %[1]s; replace (%[3]s + %[2]s - %[2]s)%%nat with %[3]s by lia; ", v, shift, iv)
	}
	return pre + fmt.Sprintf("induction %[1]s as [|%[1]s IH]; [simpl; field; repeat split; lra | "+
		"cbn [sum_f_R0]; rewrite IH by lia; rewrite ?plus_INR, ?S_INR; cbn [INR]; field; pose proof (pos_INR %[1]s); repeat split; lra].", iv), true
}

// balancedPrefix is the length of s's first token: a parenthesised group
// (nesting counted) or a run of non-space characters.
func balancedPrefix(s string) int {
	if s == "" {
		return 0
	}
	if s[0] != '(' {
		if j := strings.IndexByte(s, ' '); j >= 0 {
			return j
		}
		return len(s)
	}
	i := closingParen(s)
	if i < 0 {
		return 0
	}
	j := i + 1
	for strings.HasPrefix(s[j:], "%") { // a scope mark: (n - 1)%nat
		k := j + 1
		for k < len(s) && s[k] != ' ' && s[k] != ')' {
			k++
		}
		j = k
	}
	return j
}

var lowerBoundRE = []*regexp.Regexp{
	regexp.MustCompile(`^\(?(\d+) <=? ([\p{L}_][\p{L}\p{N}_']*)\)?(?:%nat)?$`),
	regexp.MustCompile(`^\(?([\p{L}_][\p{L}\p{N}_']*) >=? (\d+)\)?(?:%nat)?$`),
}

// lowerBoundHyps names the hypotheses K <= n (K < n, n > K, n >= K) with
// a numeral K and a nat variable n of the conclusion: the bounds that
// LeverLeInduction inducts on.
func lowerBoundHyps(g coqGoal) []string {
	var out []string
	for _, h := range g.hyps {
		for i, re := range lowerBoundRE {
			m := re.FindStringSubmatch(h.typ)
			if m == nil {
				continue
			}
			v := m[2]
			if i == 1 {
				v = m[1]
			}
			if slices.Contains(g.natVars, v) && containsWord(g.concl, v) {
				out = append(out, h.names...)
			}
		}
	}
	if len(out) > 2 {
		out = out[:2]
	}
	return out
}

var gcdBoundRE = regexp.MustCompile(`^\(?(Nat\.gcd|gcd|Z\.gcd) (.+) <= (\d+)\)?(%Z)?$`)

// gcdLinearCandidates: see LeverGcdLinear; the goal is gcd A B <= K'.
func gcdLinearCandidates(c *cset, g coqGoal) {
	m := gcdBoundRE.FindStringSubmatch(g.concl)
	if m == nil {
		return
	}
	args := m[2]
	a, rest, ok := cutArg(args)
	if !ok {
		return
	}
	b, rest, ok := cutArg(rest)
	if !ok || rest != "" {
		return
	}
	isZ := m[1] == "Z.gcd" || m[4] != ""
	pa, ok1 := parsePoly(strings.ReplaceAll(a, "%Z", ""))
	pb, ok2 := parsePoly(strings.ReplaceAll(b, "%Z", ""))
	if !ok1 || !ok2 {
		return
	}
	vs := pa.add(pb, 1).vars()
	if len(vs) != 1 {
		return
	}
	ca, okA := intLinear(pa, vs[0])
	cb, okB := intLinear(pb, vs[0])
	if !okA || !okB || ca[1] <= 0 || cb[1] <= 0 {
		return
	}
	gg := int64(gcd(int(ca[1]), int(cb[1])))
	c1, c2 := cb[1]/gg, ca[1]/gg
	k := c1*ca[0] - c2*cb[0]
	comb := fmt.Sprintf("%d * (%s) - %d * (%s)", c1, a, c2, b)
	first, second := "l", "r" // which argument each term's divisibility needs
	if k < 0 {
		k = -k
		comb = fmt.Sprintf("%d * (%s) - %d * (%s)", c2, b, c1, a)
		first, second = "r", "l"
	}
	if k == 0 || k > 1_000_000 {
		return
	}
	lib, gcdName := "Nat", "Nat.gcd"
	kText := fmt.Sprint(k)
	if isZ {
		lib, gcdName = "Z", "Z.gcd"
		kText += "%Z"
		comb = "(" + comb + ")%Z"
	}
	// The combination is replaced by K, not K by it: a unary nat K is a
	// subterm of every larger numeral of A and B.
	assert := fmt.Sprintf("assert (Hlp_g: %s.divide (%s (%s) (%s)) (%s)) by (apply %s.divide_sub_r; [apply %s.divide_mul_r; apply %s.gcd_divide_%s | apply %s.divide_mul_r; apply %s.gcd_divide_%s]); replace (%s) with %s in Hlp_g by lia",
		lib, gcdName, a, b, comb, lib, lib, lib, first, lib, lib, second, comb, kText)
	c.add(-0.2, ms(1500), fmt.Sprintf("%s; apply %s.divide_pos_le in Hlp_g; lia.", assert, lib))
	c.add(-0.5, ms(1500), assert+".")
}

// cutArg splits off an application's first argument: a parenthesised
// group or a word.
func cutArg(s string) (arg, rest string, ok bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "(") {
		e := closingParen(s)
		if e < 0 {
			return "", "", false
		}
		return s[1:e], strings.TrimSpace(s[e+1:]), true
	}
	w, rest, _ := strings.Cut(s, " ")
	return w, strings.TrimSpace(rest), w != ""
}

// intLinear reads p as a1 x + a0 with integer coefficients.
func intLinear(p poly, x string) ([2]int64, bool) {
	cs, ok := p.univariate(x)
	if !ok || len(trimPoly(cs)) != 2 {
		return [2]int64{}, false
	}
	var out [2]int64
	for i, c := range cs[:2] {
		if !c.IsInt() || !c.Num().IsInt64() {
			return [2]int64{}, false
		}
		out[i] = c.Num().Int64()
	}
	return out, true
}

const identPat = `[\p{L}_][\p{L}\p{N}_']*`

var (
	// forall m : nat, u (m + 1) = E, u (S m), u (m + 2), u (S (S m)).
	recStepRE = regexp.MustCompile(`^forall (` + identPat + `) : nat, (` + identPat + `) \((?:S \(S (` + identPat + `)\)|S (` + identPat + `)|(` + identPat + `) \+ ([12]))\)(?:%nat)? = (.+)$`)
	// u 0 = c, u 1 = c.
	recBaseRE = regexp.MustCompile(`^(` + identPat + `) ([01])(?:%nat)? = (.+)$`)
	// u n = R.
	recConclRE = regexp.MustCompile(`^(` + identPat + `) (` + identPat + `) = (.+)$`)
)

// recurrence is a sequence's definition read from the hypotheses.
type recurrence struct {
	step  string    // the recurrence's hypothesis
	order int       // 1 or 2
	sForm bool      // written with S rather than + 1, + 2
	base  [2]string // hypotheses u 0 = c, u 1 = c
	codom string    // the sequence's type's codomain: nat, Z, R
}

// readRecurrence finds the hypotheses that define f by a recurrence.
func readRecurrence(g coqGoal, f string) (recurrence, bool) {
	var r recurrence
	for _, h := range g.hyps {
		if len(h.names) == 0 {
			continue
		}
		if slices.Contains(h.names, f) {
			if cod, ok := strings.CutPrefix(h.typ, "nat -> "); ok {
				r.codom = cod
			}
			continue
		}
		if m := recBaseRE.FindStringSubmatch(h.typ); m != nil && m[1] == f && !strings.Contains(m[3], f+" ") {
			r.base[m[2][0]-'0'] = h.names[0]
			continue
		}
		m := recStepRE.FindStringSubmatch(h.typ)
		if m == nil || m[2] != f || r.step != "" {
			continue
		}
		switch bound := m[1]; {
		case m[3] == bound:
			r.order, r.sForm = 2, true
		case m[4] == bound:
			r.order, r.sForm = 1, true
		case m[5] == bound:
			r.order = int(m[6][0] - '0')
		default:
			continue
		}
		r.step = h.names[0]
	}
	switch r.codom {
	case "nat", "Z", "R":
	default:
		return r, false
	}
	return r, r.step != "" && r.base[0] != "" && (r.order == 1 || r.base[1] != "")
}

// Closers of a recurrence's base case and step.
const (
	recBaseClose = "first [reflexivity | simpl; lia | cbn [INR pow]; first [ring | lra | field]]"
	recNatClose  = "first [lia | (rewrite <- ?plus_n_Sm, <- ?plus_n_O in *; simpl in *; first [lia | nia]) | (rewrite ?Nat.pow_add_r, ?Z.pow_add_r in * by lia; simpl in *; first [lia | nia])]"
	recRealClose = "rewrite ?S_INR, ?plus_INR, ?pow_add in *; cbn [INR pow] in *; first [ring | lra | nra | field]"
)

// recurrenceTactics proposes the LeverRecurrence proofs of a conclusion
// u n = R with n a nat variable and u defined by a recurrence.
func recurrenceTactics(g coqGoal) []string {
	m := recConclRE.FindStringSubmatch(g.concl)
	if m == nil || !slices.Contains(g.natVars, m[2]) || strings.Contains(m[3], m[1]+" ") {
		return nil
	}
	f, n, rhs := m[1], m[2], m[3]
	r, ok := readRecurrence(g, f)
	if !ok {
		return nil
	}
	closer := recNatClose
	if r.codom == "R" {
		closer = recRealClose
	}
	if r.order == 1 {
		repl := ""
		if !r.sForm {
			repl = fmt.Sprintf("replace (S %[1]s) with (%[1]s + 1)%%nat by lia; ", n)
		}
		t := fmt.Sprintf("induction %[1]s as [|%[1]s IH]; [rewrite %[2]s; %[3]s | %[4]srewrite %[5]s; rewrite ?IH; %[6]s].", n, r.base[0], recBaseClose, repl, r.step, closer)
		out := []string{t}
		if a, b, ok := topLevelSub(rhs); ok && r.codom == "nat" {
			out = append(out, fmt.Sprintf("enough (%s %s + (%s) = %s) by lia; %s", f, n, b, a, t))
		}
		return out
	}
	// Order two: induction on the pair u k, u (k + 1).
	k := n + "_r"
	next := "(%s + 1)%%nat"
	if r.sForm {
		next = "(S %s)"
	}
	nk := fmt.Sprintf(next, k)
	pair := fmt.Sprintf("%[1]s %[2]s = %[3]s /\\ %[1]s %[4]s = %[5]s", f, k, substWord(rhs, n, k), nk, substWord(rhs, n, nk))
	first := "exact IH2"
	second := fmt.Sprintf("rewrite %s, IH1, IH2; %s", r.step, closer)
	if !r.sForm {
		first = fmt.Sprintf("replace (S %[1]s) with (%[1]s + 1)%%nat by lia; first [exact IH2 | rewrite IH2; %[2]s]", k, closer)
		second = fmt.Sprintf("replace (S %[1]s + 1)%%nat with (%[1]s + 2)%%nat by lia; %[2]s", k, second)
	}
	return []string{fmt.Sprintf("enough (Hrec : forall %[1]s, %[2]s) by apply Hrec; intro %[1]s; induction %[1]s as [|%[1]s [IH1 IH2]]; "+
		"[split; cbn [Nat.add]; rewrite ?%[3]s, ?%[4]s; %[5]s | split; [%[6]s | %[7]s]].", k, pair, r.base[0], r.base[1], recBaseClose, first, second)}
}

// topLevelSub splits s at its last subtraction outside parentheses.
func topLevelSub(s string) (a, b string, ok bool) {
	depth, at := 0, -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case '-':
			if depth == 0 && i > 0 && s[i-1] == ' ' && i+1 < len(s) && s[i+1] == ' ' {
				at = i
			}
		}
	}
	if at < 0 {
		return "", "", false
	}
	return strings.TrimSpace(s[:at]), strings.TrimSpace(s[at+1:]), true
}

// substWord replaces the identifier v in s by x (whole identifiers only).
func substWord(s, v, x string) string {
	return wordRE.ReplaceAllStringFunc(s, func(w string) string {
		if w == v {
			return x
		}
		return w
	})
}

// maxUnroll bounds the instances LeverUnroll poses.
const maxUnroll = 120

var (
	// recDefRE is a recurrence's hypothesis: forall m : nat, [C ->] u A = E.
	recDefRE = regexp.MustCompile(`^forall (` + identPat + `) : nat, (?:(.+?) -> )?(` + identPat + `) (\(.*\)|` + identPat + `)(?:%nat)? = (.+)$`)
	// An application to a numeral: u 12, u (12%nat).
	appNumeralRE = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_'.])(` + identPat + `) \(?(\d+)(?:%nat)?\)?`)
)

// unrollTactic proposes LeverUnroll's proof when the conclusion applies
// a sequence to numerals and a hypothesis defines it by a recurrence.
func unrollTactic(g coqGoal) (string, bool) {
	seqs := map[string]bool{}
	for _, h := range g.hyps {
		if strings.HasPrefix(h.typ, "nat -> ") && !strings.Contains(h.typ[len("nat -> "):], "->") {
			for _, n := range h.names {
				seqs[n] = true
			}
		}
	}
	for _, h := range g.hyps {
		m := recDefRE.FindStringSubmatch(h.typ)
		if m == nil || !seqs[m[3]] || !strings.Contains(m[4], m[1]) || len(h.names) == 0 {
			continue
		}
		f := m[3]
		top := -1
		for _, a := range appNumeralRE.FindAllStringSubmatch(g.concl, -1) {
			if v, err := strconv.Atoi(a[2]); err == nil && a[1] == f && v > top {
				top = v
			}
		}
		if top < 0 || top > maxUnroll {
			continue
		}
		var sb strings.Builder
		for k := 0; k <= top; k++ {
			if m[2] != "" {
				fmt.Fprintf(&sb, "try pose proof (%s %d%%nat ltac:(lia)); ", h.names[0], k)
			} else {
				fmt.Fprintf(&sb, "pose proof (%s %d%%nat); ", h.names[0], k)
			}
		}
		sb.WriteString("cbn [Nat.add Nat.sub Nat.mul Nat.pred] in *; first [lia | lra | nia | nra].")
		return sb.String(), true
	}
	return "", false
}
