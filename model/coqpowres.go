package model

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// LeverPowRes decides nat divisibility and remainder goals about powers
// with a variable exponent, C ^ E mod D for numerals C and D, without
// induction on the statement: the remainders of C ^ k repeat with the
// period P of C modulo D (C ^ P mod D = 1 when C and D are coprime), so
// C ^ E mod D = C ^ (E mod P) mod D, proved by a small induction on the
// number of periods; E mod P is then split into its P values, each
// remainder computed, and lia finishes with the divisibility statements
// as remainders. When D divides C, C ^ E mod D = 0 for E <> 0.
const LeverPowRes = "powres"

func init() { Levers = append(Levers, LeverPowRes) }

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
// or false when some base has no usable period.
func powResTactic(bases []int, e string, d int) (string, bool) {
	var steps []string
	period := 1
	type periodic struct{ base, p int }
	var per []periodic
	for i, b := range bases {
		h := fmt.Sprintf("Hpow%d", i)
		switch {
		case b%d == 0:
			steps = append(steps, fmt.Sprintf("assert (%s : (%d ^ %s mod %d = 0)%%nat) by (destruct %s eqn:HE; [lia | rewrite Nat.pow_succ_r', Nat.mul_mod by lia; reflexivity])", h, b, e, d, e))
		default:
			p, ok := powPeriod(b, d)
			if !ok {
				return "", false
			}
			per = append(per, periodic{b, p})
			period = lcm(period, p)
		}
	}
	if period > powResMaxPeriod {
		return "", false
	}
	if len(per) > 0 {
		for i, pb := range per {
			cp := new(big.Int).Exp(big.NewInt(int64(pb.base)), big.NewInt(int64(period)), nil)
			if cp.Cmp(big.NewInt(powResMaxPower)) > 0 {
				return "", false
			}
			h := fmt.Sprintf("Hres%d", i)
			steps = append(steps, fmt.Sprintf(
				"assert (%[1]s : (%[2]d ^ %[3]s mod %[4]d = %[2]d ^ (%[3]s mod %[5]d) mod %[4]d)%%nat) by ("+
					"assert (Hq : forall q, ((%[2]d ^ %[5]d) ^ q mod %[4]d = 1)%%nat) by (induction q; [reflexivity | rewrite Nat.pow_succ_r', Nat.mul_mod, IHq by lia; reflexivity]); "+
					"rewrite (Nat.div_mod_eq %[3]s %[5]d) at 1; rewrite Nat.pow_add_r, Nat.pow_mul_r, Nat.mul_mod, Hq by lia; "+
					"rewrite Nat.mul_1_l, Nat.mod_mod by lia; reflexivity)",
				h, pb.base, e, d, period))
		}
		var cases, branches []string
		for r := 0; r < period; r++ {
			cases = append(cases, fmt.Sprintf("%s mod %d = %d", e, period, r))
			var ch []string
			for i, pb := range per {
				v := new(big.Int).Exp(big.NewInt(int64(pb.base)), big.NewInt(int64(r)), big.NewInt(int64(d)))
				ch = append(ch, fmt.Sprintf("change (%d ^ %d mod %d)%%nat with %s%%nat in Hres%d", pb.base, r, d, v, i))
			}
			branches = append(branches, strings.Join(ch, "; "))
		}
		steps = append(steps,
			fmt.Sprintf("pose proof (Nat.mod_upper_bound %s %d ltac:(lia))", e, period),
			fmt.Sprintf("assert (Hr : (%s)%%nat) by lia", strings.Join(cases, " \\/ ")))
		split := "rewrite Hr in *"
		if period > 1 {
			split = destructOr("Hr", period) + "; rewrite Hr in *"
		}
		steps = append(steps, split)
		if period > 1 {
			steps = append(steps, "["+strings.Join(branches, " | ")+"]")
		} else {
			steps = append(steps, branches[0])
		}
	}
	steps = append(steps, powResFinish)
	return strings.Join(steps, "; ") + ".", true
}

// powPeriod is the multiplicative order of b modulo d (b and d coprime).
func powPeriod(b, d int) (int, bool) {
	if gcd(b, d) != 1 {
		return 0, false
	}
	x := 1
	for p := 1; p <= d; p++ {
		x = x * (b % d) % d
		if x == 1 {
			return p, true
		}
	}
	return 0, false
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int) int { return a / gcd(a, b) * b }
