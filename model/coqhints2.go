package model

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Levers of issue 12, tuned on the valid split: each reads the goal's
// structure as the levers of coqhints.go do.
const (
	// LeverPowMod decides closed nat or Z goals with powers and mod in
	// binary Z, the powers under a modulus by modular exponentiation
	// (Zpow_mod, through Zpow_mod_correct) instead of the full power.
	LeverPowMod = "powmod"
	// LeverLists unfolds closed list computations (seq, map, fold_right,
	// fold_left, list_sum) into sums lia or vm_compute can read, and
	// rewrites map f with a hypothesis defining f (map_ext).
	LeverLists = "lists"
	// LeverRpower turns Rpower B N with a numeral N into B ^ N.
	LeverRpower = "rpower"
	// LeverSquare completes the square of a quadratic A * x ^ 2 + B * x
	// with numeral coefficients: (2 A x ± B)^2 >= 0 as a hint for nra.
	LeverSquare = "square"
	// LeverPoints instantiates an equation over R in one variable that
	// is not a plain definition f x = ... (an identity with side
	// conditions, a shifted definition f (x + 3) = ...) at 0, 1, 2 and -1,
	// side conditions by lra, denominators cleared, the other definitions
	// rewritten, for lra/nra: partial fractions and shifted polynomials.
	LeverPoints = "points"
	// LeverDivides turns a divisibility goal with a numeral divisor
	// (exists k, L = D * k; Nat.divide D L; (D | L) in Z) into L mod D = 0,
	// which the modcases lever then splits.
	LeverDivides = "divides"
	// LeverFloor decides floor E = N (Coquelicot) by the bounds of
	// floor_ex: N <= E < N + 1.
	LeverFloor = "floor"
)

func init() {
	Levers = append(Levers, LeverPowMod, LeverLists, LeverRpower, LeverSquare, LeverFloor, LeverPoints, LeverDivides)
}

// natToZ moves a nat equation into Z, pushing Z.of_nat through mod, +, *
// and ^ in any order, so that vm_compute works in binary.
const natToZ = "apply Nat2Z.inj; repeat first [rewrite Nat2Z.inj_mod | rewrite Nat2Z.inj_add | rewrite Nat2Z.inj_mul | rewrite Nat2Z.inj_pow]; "

// powModZ replaces every a ^ m mod n by Zpow_mod a m n, which vm_compute
// evaluates by modular exponentiation.
const powModZ = "rewrite <- ?Zpow_facts.Zpow_mod_correct by lia; vm_compute; reflexivity."

// listUnfold unfolds the list functions of closed list computations.
const listUnfold = "cbn [seq map fold_right fold_left list_sum] in *"

var (
	// A closed conclusion: numerals, operators, mod, scopes, Z.pow.
	closedArithRE = regexp.MustCompile(`^[\d\s+*^()=%<>-]*$`)
	listFunRE     = regexp.MustCompile(`\b(?:seq|fold_right|fold_left|list_sum) `)
	mapRE         = regexp.MustCompile(`\bmap ([\p{L}_][\p{L}\p{N}_']*) `)
	// Rpower B N, B a word or a parenthesised group without nesting.
	rpowerNumRE = regexp.MustCompile(`\bRpower (\([^()]*\)|[\p{L}\p{N}_.']+) (\d+)\b`)
	floorGoalRE = regexp.MustCompile(`^floor (.+) = (-?\d+)%Z$`)
)

// closedArith reports whether s is closed nat/Z arithmetic: numerals with
// + - * ^ mod and scope marks, no variable.
func closedArith(s string) bool {
	if strings.Contains(s, "->") {
		return false
	}
	s = strings.NewReplacer(" mod ", " ", "%Z", "", "%nat", "").Replace(s)
	return closedArithRE.MatchString(s)
}

// coqLevers2 adds the candidates of the levers above.
func (p *Portfolio) coqLevers2(c *cset, g coqGoal, pre string, funHyps []string) {
	text := all(g)
	concl := g.concl
	if p.on(LeverPowMod) && g.integ && pre == "" && strings.Contains(concl, "^") && strings.Contains(concl, "mod") && closedArith(concl) {
		c.add(-0.08, ms(2000), natToZ+powModZ)
		c.add(-0.09, ms(2000), powModZ)
		c.add(-0.25, ms(2000), natToZ+"vm_compute; reflexivity.")
		for _, op := range []string{"add", "mul", "sub"} {
			c.add(-0.3, ms(2000), natToZ+"rewrite Z."+op+"_mod by lia; "+powModZ)
		}
	}
	if p.on(LeverLists) && listFunRE.MatchString(text) {
		c.add(-0.35, ms(1500), pre+listUnfold+".")
		for i, cl := range []string{"lia", natToZ + "vm_compute; reflexivity"} {
			c.add(-0.3-0.05*float64(i), ms(2000), pre+listUnfold+"; "+cl+".")
		}
	}
	if p.on(LeverLists) && pre == "" {
		for _, m := range mapRE.FindAllStringSubmatch(concl, 3) {
			for _, h := range funHyps {
				if !funHypDefines(g, h, m[1]) {
					continue
				}
				rw := fmt.Sprintf("rewrite (map_ext _ _ %s)", h)
				c.add(-0.3, ms(2000), rw+"; vm_compute; reflexivity.")
				c.add(-0.4, ms(2000), rw+"; "+listUnfold+"; lia.")
				c.add(-0.5, ms(1000), rw+".")
			}
		}
	}
	if p.on(LeverRpower) && g.real {
		seen := map[string]bool{}
		for _, m := range rpowerNumRE.FindAllStringSubmatch(text, 4) {
			if seen[m[0]] {
				continue
			}
			seen[m[0]] = true
			rw := fmt.Sprintf("replace (%s) with (%s ^ %s) in * by (rewrite <- Rpower_pow by lra; f_equal; simpl; lra)", m[0], m[1], m[2])
			c.add(-0.35, ms(1500), pre+rw+".")
			for i, cl := range []string{"lra", "nra"} {
				c.add(-0.4-0.05*float64(i), ms(2000), pre+rw+"; "+cl+".")
			}
		}
	}
	if p.on(LeverSquare) && g.real {
		for i, h := range squareHints(g) {
			if i >= 4 {
				break
			}
			c.add(-0.5, ms(2500), pre+h+"nra.")
		}
	}
	if p.on(LeverPoints) && g.real && pre == "" {
		pointsCandidates(c, g, funHyps)
	}
	if p.on(LeverDivides) && g.integ && pre == "" {
		for _, t := range divisibilitySteps(concl) {
			c.add(-0.4, ms(1000), t)
		}
	}
	p.natVarLevers(c, g, pre)
	p.polyLevers(c, g, pre)
	p.primeCandidates(c, g, pre)
	if p.on(LeverFloor) && pre == "" {
		if m := floorGoalRE.FindStringSubmatch(concl); m != nil {
			if n, err := strconv.Atoi(m[2]); err == nil {
				t := fmt.Sprintf("unfold floor; match goal with |- context [proj1_sig (floor_ex ?e)] => destruct (floor_ex e) as [z Hz] end; simpl; "+
					"assert (z < %d)%%Z by (apply lt_IZR; lra); assert (%d < z)%%Z by (apply lt_IZR; lra); lia.", n+1, n-1)
				c.add(-0.2, ms(2000), t)
			}
		}
	}
}

// funHypDefines reports whether hypothesis h defines function f:
// forall x..., f x... = RHS.
func funHypDefines(g coqGoal, h, f string) bool {
	for _, hy := range g.hyps {
		for _, n := range hy.names {
			if n != h {
				continue
			}
			i := strings.Index(hy.typ, ", ")
			return i >= 0 && strings.HasPrefix(hy.typ[i+2:], f+" ")
		}
	}
	return false
}

var (
	sqTermRE  = regexp.MustCompile(`(?:(\d+) \* )?([\p{L}_][\p{L}\p{N}_']*) \^ 2\b`)
	linTermRE = regexp.MustCompile(`(\d+) \* ([\p{L}_][\p{L}\p{N}_']*)\b( \^)?`)
)

// squareHints completes the squares of quadratics A * x ^ 2 + B * x in
// the binder-free hypotheses and the conclusion, A and B numerals: the
// hints (2 A x + B)^2 >= 0 and (2 A x - B)^2 >= 0, as pose proof steps.
func squareHints(g coqGoal) []string {
	texts := []string{g.concl}
	for _, h := range g.hyps {
		if !strings.HasPrefix(h.typ, "forall ") && !strings.HasPrefix(h.typ, "exists ") {
			texts = append(texts, h.typ)
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, t := range texts {
		quad := map[string]int{}
		for _, m := range sqTermRE.FindAllStringSubmatch(t, -1) {
			a := 1
			if m[1] != "" {
				a, _ = strconv.Atoi(m[1])
			}
			if _, ok := quad[m[2]]; !ok {
				quad[m[2]] = a
			}
		}
		for _, m := range linTermRE.FindAllStringSubmatch(t, -1) {
			a, ok := quad[m[2]]
			if !ok || m[3] != "" || a == 0 {
				continue
			}
			b, err := strconv.Atoi(m[1])
			if err != nil {
				continue
			}
			for _, sign := range []string{"+", "-"} {
				h := fmt.Sprintf("pose proof (pow2_ge_0 (%d * %s %s %d)); ", 2*a, m[2], sign, b)
				if !seen[h] {
					seen[h] = true
					out = append(out, h)
				}
			}
		}
	}
	return out
}

var pointsHypRE = regexp.MustCompile(`^forall ([\p{L}_][\p{L}\p{N}_']*) : R, (.*)$`)

// pointsCandidates: equations over R in one variable instantiated at a
// few points (see LeverPoints).
func pointsCandidates(c *cset, g coqGoal, funHyps []string) {
	k := 0
	for _, h := range g.hyps {
		m := pointsHypRE.FindStringSubmatch(h.typ)
		if m == nil || strings.Contains(m[2], "forall ") {
			continue
		}
		v, body := m[1], m[2]
		cond := false
		if j := strings.LastIndex(body, " -> "); j >= 0 {
			cond, body = true, body[j+4:]
		}
		if !strings.Contains(body, " = ") || plainDefinition(body, v) {
			continue
		}
		for _, n := range h.names {
			if k >= 2 {
				return
			}
			k++
			var steps []string
			for i, pt := range []string{"0", "1", "2", "(-1)"} {
				inst := fmt.Sprintf("(%s %s)", n, pt)
				if cond {
					inst = fmt.Sprintf("(%s %s ltac:(repeat split; lra))", n, pt)
				}
				steps = append(steps, fmt.Sprintf("try (pose proof %s as Pt%d; try field_simplify in Pt%d)", inst, i, i))
			}
			var others []string
			for _, f := range funHyps {
				if f != n {
					others = append(others, f)
				}
			}
			if len(others) > 0 {
				steps = append(steps, "rewrite ?"+strings.Join(others, ", ?")+" in *")
			}
			body := strings.Join(steps, "; ") + "; "
			c.add(-0.45, ms(2000), body+"repeat split; lra.")
			c.add(-0.5, ms(2500), body+"repeat split; nra.")
		}
	}
}

// plainDefinition reports whether body is f v ... = RHS with v the bare
// argument: a definition the rewrite steps use as it is.
func plainDefinition(body, v string) bool {
	i := strings.Index(body, " ")
	if i < 0 || !identRE.MatchString(body[:i]) {
		return false
	}
	return strings.HasPrefix(body[i+1:], v+" ")
}

var (
	existsMulRE  = regexp.MustCompile(`^exists ([\p{L}_][\p{L}\p{N}_']*) : nat, (.+) = (\d+) \* ([\p{L}_][\p{L}\p{N}_']*)$`)
	existsMulRE2 = regexp.MustCompile(`^exists ([\p{L}_][\p{L}\p{N}_']*) : nat, (.+) = ([\p{L}_][\p{L}\p{N}_']*) \* (\d+)$`)
	natDivideRE  = regexp.MustCompile(`^Nat.divide (\d+) (.+)$`)
	zDivideRE    = regexp.MustCompile(`^\(\(?(\d+)\)? \| (.+)\)%Z$`)
)

// divisibilitySteps rewrites a divisibility goal with a numeral divisor
// into a remainder equation (see LeverDivides).
func divisibilitySteps(concl string) []string {
	if m := existsMulRE.FindStringSubmatch(concl); m != nil && m[1] == m[4] && !containsWord(m[2], m[1]) {
		return []string{fmt.Sprintf("exists ((%s) / %s); apply Nat.div_exact; [lia|].", m[2], m[3])}
	}
	if m := existsMulRE2.FindStringSubmatch(concl); m != nil && m[1] == m[3] && !containsWord(m[2], m[1]) {
		return []string{fmt.Sprintf("exists ((%s) / %s); rewrite Nat.mul_comm; apply Nat.div_exact; [lia|].", m[2], m[4])}
	}
	if natDivideRE.MatchString(concl) {
		return []string{"apply Nat.mod_divide; [lia|]."}
	}
	if zDivideRE.MatchString(concl) {
		return []string{"apply Z.mod_divide; [lia|]."}
	}
	return nil
}
