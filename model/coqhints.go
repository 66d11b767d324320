package model

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Candidate families of the Coq portfolio beyond its closers: each reads
// the goal's structure (which hypotheses and subterms it has) and writes
// tactics around it. None looks at a theorem's name or at constants it
// was not shown: a numeral in a tactic is one the goal displays, or one
// computed from it (the root of a perfect square, the exponent of a prime
// power). Each family is a lever that can be switched off by name
// (Portfolio.Disabled, or DisabledLevers at link time) for ablations; the
// README's "GPU-free levers" table measures them on the valid split.
const (
	// LeverBigNat rewrites the nat numerals Coq keeps abstract (5000 and
	// more are Nat.of_num_uint terms that lia cannot read) into Z
	// constants after zify.
	LeverBigNat = "bignat"
	// LeverSqrt: facts about sqrt subterms (sqrt_pos, sqrt_sqrt), exact
	// roots of perfect squares (sqrt_lem_1), and sqrt_lem_1 on a goal
	// sqrt X = Y.
	LeverSqrt = "sqrt"
	// LeverRadicals writes sqrt N, N an integer with a square factor,
	// in simplest radical form k * sqrt m (sqrt_square, sqrt_mult), so
	// that sums of radicals meet as multiples of the same atoms, then
	// decides with sqrt m > 0 and sqrt m * sqrt m = m, or clears the
	// denominators first (field_simplify, pow2_sqrt).
	LeverRadicals = "radicals"
	// LeverSqrtBounds puts k < sqrt N < k + 1 (k = floor of the root, N
	// an integer that is no square) in the context, proved by
	// sqrt_lt_1_alt, and evaluates up (sqrt N) and Int_part (sqrt N) by
	// tech_up: ceilings and floors of roots.
	LeverSqrtBounds = "sqrtbounds"
	// LeverFunRewrite rewrites every function-defining hypothesis at once.
	LeverFunRewrite = "funrewrite"
	// LeverInstantiate instantiates identities over R (forall x : R, A =
	// B) at 0, 1, -1 and 2 for nra: polynomial identities give their
	// coefficients.
	LeverInstantiate = "instantiate"
	// LeverLn rewrites ln of products, quotients, powers and prime powers
	// into sums of atoms ln p for lra.
	LeverLn = "ln"
	// LeverPI adds the bounds of PI.
	LeverPI = "pi"
	// LeverModCases splits x mod M into its M residues (M a small numeral
	// of the goal) and decides each with Euclidean division and nia.
	LeverModCases = "modcases"
	// LeverEnum is the interval_cases analogue: a nat variable bounded by
	// a numeral of a hypothesis (or below it, by nia) is split into its
	// values, each decided by lia or nia.
	LeverEnum = "enum"
	// LeverComplex decomposes Coquelicot's complex numbers (C = R * R)
	// into their real and imaginary parts, hypotheses included, and
	// decides the real equations.
	LeverComplex = "complex"
	// LeverPrune shortens the leashes of closers that cost and never paid
	// on the valid split's traces (vm_compute, simpl; lia, auto, tauto,
	// ring), and keeps field_simplify and typed rewrites to goals where
	// they can apply.
	LeverPrune = "prune"
	// LeverHammer proposes CoqHammer's sauto family on goals with logical
	// structure (needs From Hammer Require Import Tactics in the backend).
	LeverHammer = "hammer"
)

// DisabledLevers is a comma-separated list of levers to leave out of every
// portfolio, set at link time for ablations:
//
//	go build -ldflags "-X github.com/llemma-prove/llemma-prove/model.DisabledLevers=sqrt,ln" ./cmd/llemma-prove
var DisabledLevers string

// Levers lists every lever of the Coq portfolio, for ablations.
var Levers = []string{LeverBigNat, LeverSqrt, LeverRadicals, LeverSqrtBounds, LeverFunRewrite, LeverInstantiate, LeverLn, LeverPI, LeverModCases, LeverEnum, LeverComplex, LeverPrune, LeverHammer}

// on reports whether lever is enabled for p.
func (p *Portfolio) on(lever string) bool {
	if slices.Contains(p.Disabled, lever) {
		return false
	}
	for _, d := range strings.Split(DisabledLevers, ",") {
		if strings.TrimSpace(d) == lever {
			return false
		}
	}
	return true
}

// HammerTactics are the CoqHammer tactics a proof may use; Coq's backend
// loads their library in a verified file only when a proof names one.
var HammerTactics = []string{"sauto", "qauto", "hauto", "sfirstorder", "hecrush", "scrush", "srun", "strivial", "sblast"}

var (
	lnArgRE = regexp.MustCompile(`\bln (\d+)\b`)
	lnPowRE = regexp.MustCompile(`\b(?:ln|logb) \(?(\d+)\b`)
	modRE   = regexp.MustCompile(`\bmod (\d+)\b`)
	identRE = regexp.MustCompile(`^[\p{L}_][\p{L}\p{N}_']*$`)
	piRE    = regexp.MustCompile(`\bPI\b`)
	// A hypothesis bounding a variable above by a numeral.
	upperRE = []*regexp.Regexp{
		regexp.MustCompile(`^\(?([\p{L}_][\p{L}\p{N}_']*) (<|<=) (\d+)\)?(?:%nat)?$`),
		regexp.MustCompile(`^\(?(\d+) (>|>=) ([\p{L}_][\p{L}\p{N}_']*)\)?(?:%nat)?$`),
	}
	// An identity over R in one variable: forall x : R, A = B.
	identityRE = regexp.MustCompile(`^forall ([\p{L}_][\p{L}\p{N}_']*) : R, ([^>]*) = ([^>]*)$`)
)

// natNumeralsToZ turns Z.of_nat of an abstract nat numeral (what zify
// leaves of 5000 and more) into the Z constant, in every hypothesis and
// the goal, each by a vm_compute'd equation.
const natNumeralsToZ = "repeat match goal with " +
	"| H : context [Z.of_nat (Init.Nat.of_num_uint ?u)] |- _ => let v := eval vm_compute in (Z.of_nat (Init.Nat.of_num_uint u)) in " +
	"let E := fresh in assert (E : Z.of_nat (Init.Nat.of_num_uint u) = v) by (vm_compute; reflexivity); rewrite E in *; clear E " +
	"| |- context [Z.of_nat (Init.Nat.of_num_uint ?u)] => let v := eval vm_compute in (Z.of_nat (Init.Nat.of_num_uint u)) in " +
	"let E := fresh in assert (E : Z.of_nat (Init.Nat.of_num_uint u) = v) by (vm_compute; reflexivity); rewrite E in *; clear E end"

// complexParts splits every complex variable into its two real parts,
// unfolds the field operations and numerals of C, splits equations of
// pairs into their components (hypotheses and goal), and leaves real goals.
const complexParts = "repeat match goal with z : C |- _ => destruct z end; " +
	"unfold Cplus, Cminus, Cmult, Copp, RtoC, Cdiv, Cinv, Ci in *; simpl in *; " +
	"repeat match goal with H : (_, _) = (_, _) |- _ => injection H; clear H; intros end; " +
	"repeat split; try apply injective_projections; simpl; "

// piBounds puts 2.9 < PI < 3.3 in the context: PI_ineq 2 is the
// alternating series of PI/4 cut after five and four terms.
const piBounds = "pose proof (PI_ineq 2) as HPI; unfold tg_alt, PI_tg in HPI; simpl in HPI"

// coqLevers adds the families of candidates (see the Lever constants) for
// goal g; pre is "intros; " when the goal still has binders.
func (p *Portfolio) coqLevers(c *cset, g coqGoal, pre string, funHyps []string) {
	text := all(g)
	concl := g.concl
	if p.on(LeverBigNat) && strings.Contains(text, "Nat.of_num_uint") {
		c.add(-0.12, ms(2000), pre+"zify; "+natNumeralsToZ+"; lia.")
		c.add(-0.32, ms(2500), pre+"zify; "+natNumeralsToZ+"; nia.")
	}
	if p.on(LeverSqrt) && g.real && strings.Contains(text, "sqrt") {
		sqrtCandidates(c, g, pre)
	}
	if p.on(LeverRadicals) && g.real && strings.Contains(text, "sqrt") {
		radicalCandidates(c, g, pre, text)
	}
	if p.on(LeverSqrtBounds) && g.real && strings.Contains(text, "sqrt") {
		sqrtBoundCandidates(c, pre, text)
	}
	if p.on(LeverFunRewrite) && len(funHyps) >= 2 {
		rw := "rewrite ?" + strings.Join(funHyps, ", ?") + " in *"
		for i, cl := range []string{"lra", "nra", "field", "lia"} {
			c.add(-0.5-0.05*float64(i), ms(2000), pre+rw+"; "+cl+".")
		}
		c.add(-0.7, ms(1000), pre+rw+".")
	}
	if p.on(LeverInstantiate) && g.real {
		for _, h := range g.hyps {
			m := identityRE.FindStringSubmatch(h.typ)
			if m == nil || strings.Contains(m[2], "forall") || definesFunction(h.typ) {
				continue
			}
			for _, n := range h.names {
				pts := fmt.Sprintf("pose proof (%[1]s 0); pose proof (%[1]s 1); pose proof (%[1]s (-1)); pose proof (%[1]s 2); ", n)
				c.add(-0.5, ms(2500), pts+"repeat split; nra.")
				c.add(-0.55, ms(1500), pts+"repeat split; lra.")
			}
		}
	}
	if p.on(LeverLn) && g.real && (strings.Contains(text, "ln ") || strings.Contains(text, "logb")) {
		lnCandidates(c, g, pre, text)
	}
	if p.on(LeverPI) && g.real && piRE.MatchString(text) {
		facts := "pose proof PI2_3_2; " + piBounds + "; "
		c.add(-0.45, ms(1500), pre+facts+"lra.")
		c.add(-0.6, ms(2500), pre+facts+"nra.")
		c.add(-0.7, ms(1000), pre+strings.TrimSuffix(facts, "; ")+".")
		// Conditional equations whose side conditions are bounds on PI.
		for _, h := range funHyps {
			c.add(-0.5, ms(2000), fmt.Sprintf("%srewrite %s by (%slra); lra.", pre, h, facts))
		}
	}
	if p.on(LeverModCases) && g.integ && len(g.vars) > 0 {
		modCandidates(c, g, pre, text)
	}
	if p.on(LeverEnum) && g.integ && !needsIntros(concl) {
		enumCandidates(c, g)
	}
	if p.on(LeverComplex) && g.complex {
		for i, cl := range []string{"lra", "nra", "field"} {
			c.add(-0.4-0.05*float64(i), ms(2500), "intros; "+complexParts+cl+".")
			c.add(-0.45-0.05*float64(i), ms(2500), "intros; subst; "+complexParts+cl+".")
		}
	}
	if p.on(LeverHammer) && logical(g) {
		// sauto alone: on the valid split's traces (issue 12) hauto and
		// sfirstorder spent 60 s in 276 tries and closed nothing sauto
		// did not. Its proofs there took 43 ms at most, its 67 timeouts
		// 42 s at a 600 ms leash: 250 ms.
		c.add(-0.7, ms(250), pre+"sauto.")
	}
	p.coqLevers2(c, g, pre, funHyps)
}

// needsIntros reports whether the conclusion wants intros first. An
// existential does not: its binder's type (exists g : R -> R, ...) or
// its body may show an arrow, but intros has nothing to introduce.
func needsIntros(concl string) bool {
	if strings.HasPrefix(concl, "exists ") {
		return false
	}
	return strings.HasPrefix(concl, "forall ") || strings.Contains(concl, " -> ") || strings.HasPrefix(concl, "~")
}

// hasNatContext reports whether the goal is about nat.
func hasNatContext(g coqGoal, text string) bool {
	return len(g.natVars) > 0 || strings.Contains(text, "nat")
}

// logical reports whether a goal has the structure the sauto family
// handles (connectives, quantifiers, lists, sets) rather than arithmetic
// alone.
func logical(g coqGoal) bool {
	text := all(g)
	for _, w := range []string{" <-> ", "exists", " In ", "bijective", "injective", "NoDup", "Ensemble", "~ "} {
		if strings.Contains(text, w) {
			return true
		}
	}
	return false
}

// sqrtCandidates: exact roots of perfect squares, sqrt facts for nra, and
// sqrt_lem_1 on a goal sqrt X = Y.
func sqrtCandidates(c *cset, g coqGoal, pre string) {
	// Arguments under a binder (forall x, ... sqrt x) name no term of the
	// context: only the conclusion and the binder-free hypotheses count.
	text := g.concl
	for _, h := range g.hyps {
		if !strings.HasPrefix(h.typ, "forall ") && !strings.HasPrefix(h.typ, "exists ") {
			text += " " + h.typ
		}
	}
	args := sqrtArgs(text)
	var facts []string
	for _, a := range args {
		v, ok := evalReal(a)
		if ok {
			if v.Sign() >= 0 {
				if r, ok := ratSqrt(v); ok {
					rw := fmt.Sprintf("rewrite (sqrt_lem_1 (%s) (%s)) in * by lra", a, ratCoq(r))
					c.add(-0.3, ms(1500), rw+".")
					c.add(-0.25, ms(1500), rw+"; lra.")
					c.add(-0.35, ms(2500), rw+"; nra.")
					c.add(-0.4, ms(1500), rw+"; field.")
				}
				facts = append(facts, fmt.Sprintf("pose proof (sqrt_sqrt (%s) ltac:(lra))", a))
			}
		} else {
			facts = append(facts, fmt.Sprintf("try pose proof (sqrt_sqrt (%s) ltac:(nra))", a))
		}
		facts = append(facts, fmt.Sprintf("pose proof (sqrt_pos (%s))", a))
		if len(facts) >= 6 {
			break
		}
	}
	if len(facts) > 0 {
		f := strings.Join(facts, "; ") + "; "
		c.add(-0.45, ms(2500), pre+f+"nra.")
		c.add(-0.5, ms(1500), pre+f+"lra.")
		if pre != "" {
			c.add(-0.55, ms(2500), "intros; subst; "+f+"nra.")
		}
		c.add(-0.75, ms(1000), strings.TrimSuffix(f, "; ")+".")
	}
	concl := g.concl
	if strings.HasPrefix(concl, "sqrt ") && strings.Contains(concl, " = ") && !strings.Contains(concl, " -> ") {
		c.add(-0.3, ms(2500), "apply sqrt_lem_1; nra.")
		c.add(-0.35, ms(1500), "apply sqrt_lem_1; lra.")
	} else if i := strings.Index(concl, " = sqrt "); i > 0 && !strings.Contains(concl, " -> ") {
		c.add(-0.3, ms(2500), "symmetry; apply sqrt_lem_1; nra.")
	}
}

// radicalCandidates: every sqrt N of the goal with N = k^2 m (k > 1, m
// not a square) rewritten as k * sqrt m, then the closers of
// LeverRadicals.
func radicalCandidates(c *cset, g coqGoal, pre, text string) {
	var steps, facts []string
	var roots []int64
	for _, n := range intSqrtArgs(text) {
		k, m := squareFactor(n)
		if k == 1 || m == 1 {
			continue
		}
		steps = append(steps, fmt.Sprintf("replace (sqrt %d) with (%d * sqrt %d) in * by "+
			"(rewrite <- (sqrt_square %d) at 1 by lra; rewrite <- sqrt_mult by lra; f_equal; lra)", n, k, m, k))
		if !slices.Contains(roots, m) {
			roots = append(roots, m)
			facts = append(facts, fmt.Sprintf("pose proof (sqrt_lt_R0 %d ltac:(lra)); pose proof (sqrt_sqrt %d ltac:(lra))", m, m))
		}
		if len(steps) == 4 {
			break
		}
	}
	if len(steps) == 0 {
		return
	}
	rw := pre + strings.Join(steps, "; ")
	fs := rw + "; " + strings.Join(facts, "; ") + "; "
	clear := "try field_simplify; rewrite ?pow2_sqrt by lra; first [lra | nra | field]"
	c.add(-0.35, ms(1500), rw+".")
	c.add(-0.3, ms(2000), fs+"lra.")
	c.add(-0.35, ms(2500), fs+"nra.")
	c.add(-0.4, ms(2500), fs+clear+".")
	if strings.HasPrefix(g.concl, "sqrt ") && strings.Contains(g.concl, " = ") {
		c.add(-0.35, ms(3000), fs+"apply sqrt_lem_1; "+clear+".")
	}
}

// sqrtBoundCandidates: the bounds of LeverSqrtBounds for every sqrt N of
// the goal, then lra/nra, or the ceilings and floors of the roots
// rewritten to their values first.
func sqrtBoundCandidates(c *cset, pre, text string) {
	var facts, ups []string
	for _, n := range intSqrtArgs(text) {
		k := new(big.Int).Sqrt(big.NewInt(n)).Int64()
		if k*k == n {
			continue
		}
		facts = append(facts, fmt.Sprintf("assert (%[2]d < sqrt %[1]d < %[2]d + 1) by (split; [rewrite <- (sqrt_square %[2]d) at 1 by lra | "+
			"rewrite <- (sqrt_square (%[2]d + 1)) at 1 by lra]; apply sqrt_lt_1_alt; lra)", n, k))
		if strings.Contains(text, fmt.Sprintf("up (sqrt %d)", n)) || strings.Contains(text, fmt.Sprintf("Int_part (sqrt %d)", n)) {
			ups = append(ups, fmt.Sprintf("rewrite <- (tech_up (sqrt %d) %d) in * by lra", n, k+1))
		}
		if len(facts) == 4 {
			break
		}
	}
	if len(facts) == 0 {
		return
	}
	// Closers only: a bare step that adds the bounds would open a state
	// per root and spend the expansion budget other proofs need.
	f := pre + strings.Join(facts, "; ")
	c.add(-0.35, ms(2000), f+"; lra.")
	c.add(-0.4, ms(2500), f+"; nra.")
	if len(ups) > 0 {
		rw := "; " + strings.Join(ups, "; ") + "; "
		c.add(-0.25, ms(2500), f+rw+"first [lia | lra | reflexivity].")
		if strings.Contains(text, "Int_part") {
			c.add(-0.3, ms(2500), f+"; unfold Int_part in *"+rw+"first [lia | lra | reflexivity].")
		}
	}
}

// intSqrtArgs lists the distinct arguments of sqrt in text that are
// integer numerals from 2 to a million.
func intSqrtArgs(text string) []int64 {
	var out []int64
	for _, a := range sqrtArgs(text) {
		if n, err := strconv.ParseInt(a, 10, 64); err == nil && n >= 2 && n <= 1_000_000 {
			out = append(out, n)
		}
	}
	return out
}

// squareFactor writes n as k * k * m with k as large as it can be.
func squareFactor(n int64) (k, m int64) {
	k, m = 1, n
	for p := int64(2); p*p <= m; p++ {
		for m%(p*p) == 0 {
			m /= p * p
			k *= p
		}
	}
	return k, m
}

// sqrtArgs lists the distinct arguments of sqrt in text: a word or a
// parenthesised group.
func sqrtArgs(text string) []string {
	var out []string
	for i := 0; ; {
		j := strings.Index(text[i:], "sqrt ")
		if j < 0 {
			break
		}
		j += i
		i = j + len("sqrt ")
		if j > 0 && isIdentByte(text[j-1]) {
			continue
		}
		arg := ""
		if i < len(text) && text[i] == '(' {
			if k := closingParen(text[i:]); k > 0 {
				arg = text[i+1 : i+k]
			}
		} else {
			k := i
			for k < len(text) && (isIdentByte(text[k]) || text[k] == '.') {
				k++
			}
			arg = text[i:k]
		}
		arg = strings.TrimSpace(arg)
		if arg != "" && !slices.Contains(out, arg) {
			out = append(out, arg)
		}
	}
	return out
}

// closingParen is the index of the parenthesis that closes the one s
// starts with (nesting counted), or -1.
func closingParen(s string) int {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

func isIdentByte(b byte) bool {
	return b == '_' || b == '\'' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

// evalReal evaluates a closed real expression of numerals, + - * / ^
// (natural exponents) and parentheses, as Coq prints it.
func evalReal(s string) (*big.Rat, bool) {
	toks, ok := arithTokens(s)
	if !ok || len(toks) == 0 {
		return nil, false
	}
	e := &evaluator{toks: toks}
	v, ok := e.sum()
	if !ok || e.pos != len(toks) {
		return nil, false
	}
	return v, true
}

// arithTokens splits closed arithmetic on one line: parsePoly's tokens,
// numerals without decimals and operators only.
func arithTokens(s string) ([]string, bool) {
	toks, ok := polyTokens(s)
	if !ok || strings.ContainsRune(s, '\n') {
		return nil, false
	}
	for _, t := range toks {
		if strings.Contains(t, ".") || (t[0] < '0' || t[0] > '9') && !strings.Contains("+-*/^()", t) {
			return nil, false
		}
	}
	return toks, true
}

type evaluator struct {
	toks []string
	pos  int
}

func (e *evaluator) peek() string {
	if e.pos < len(e.toks) {
		return e.toks[e.pos]
	}
	return ""
}

func (e *evaluator) sum() (*big.Rat, bool) {
	v, ok := e.product()
	for ok && (e.peek() == "+" || e.peek() == "-") {
		op := e.peek()
		e.pos++
		var w *big.Rat
		if w, ok = e.product(); ok {
			if op == "+" {
				v = new(big.Rat).Add(v, w)
			} else {
				v = new(big.Rat).Sub(v, w)
			}
		}
	}
	return v, ok
}

func (e *evaluator) product() (*big.Rat, bool) {
	v, ok := e.unary()
	for ok && (e.peek() == "*" || e.peek() == "/") {
		op := e.peek()
		e.pos++
		var w *big.Rat
		if w, ok = e.unary(); ok {
			if op == "*" {
				v = new(big.Rat).Mul(v, w)
			} else {
				if w.Sign() == 0 {
					return nil, false
				}
				v = new(big.Rat).Quo(v, w)
			}
		}
	}
	return v, ok
}

func (e *evaluator) unary() (*big.Rat, bool) {
	if e.peek() == "-" {
		e.pos++
		v, ok := e.unary()
		if !ok {
			return nil, false
		}
		return new(big.Rat).Neg(v), true
	}
	return e.power()
}

func (e *evaluator) power() (*big.Rat, bool) {
	v, ok := e.atom()
	if !ok || e.peek() != "^" {
		return v, ok
	}
	e.pos++
	n, err := strconv.Atoi(e.peek())
	if err != nil || n > 64 {
		return nil, false
	}
	e.pos++
	r := big.NewRat(1, 1)
	for i := 0; i < n; i++ {
		r.Mul(r, v)
	}
	return r, true
}

func (e *evaluator) atom() (*big.Rat, bool) {
	t := e.peek()
	switch {
	case t == "(":
		e.pos++
		v, ok := e.sum()
		if !ok || e.peek() != ")" {
			return nil, false
		}
		e.pos++
		return v, true
	case t != "" && t[0] >= '0' && t[0] <= '9':
		e.pos++
		v, ok := new(big.Rat).SetString(t)
		return v, ok
	}
	return nil, false
}

// ratSqrt returns the exact square root of a non-negative rational.
func ratSqrt(v *big.Rat) (*big.Rat, bool) {
	n, d := new(big.Int).Sqrt(v.Num()), new(big.Int).Sqrt(v.Denom())
	if new(big.Int).Mul(n, n).Cmp(v.Num()) != 0 || new(big.Int).Mul(d, d).Cmp(v.Denom()) != 0 {
		return nil, false
	}
	return new(big.Rat).SetFrac(n, d), true
}

// ratCoq prints a rational as a Coq real expression.
func ratCoq(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	return r.Num().String() + " / " + r.Denom().String()
}

// lnCandidates: ln of prime powers as multiples of ln p, then ln of
// products, quotients, inverses and powers split, then lra and friends.
func lnCandidates(c *cset, g coqGoal, pre, text string) {
	var steps []string
	if strings.Contains(text, "logb") {
		steps = append(steps, "unfold logb in *")
	}
	seen := map[string]bool{}
	var positive []int // numerals n > 1 whose ln appears: 0 < ln n
	for _, m := range lnArgRE.FindAllStringSubmatch(text, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil || seen[m[1]] || n < 2 {
			continue
		}
		seen[m[1]] = true
		if p, k, ok := primePower(n); ok && k >= 2 {
			steps = append(steps, fmt.Sprintf("replace (ln %d) with (INR %d * ln %d) in * by (rewrite <- ln_pow by lra; f_equal; simpl; lra)", n, k, p))
			n = p
		}
		if !slices.Contains(positive, n) {
			positive = append(positive, n)
		}
	}
	for _, m := range lnPowRE.FindAllStringSubmatch(text, -1) {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 2 {
			continue
		}
		if p, k, ok := primePower(n); ok && k >= 2 && seen[m[1]] {
			n = p // rewritten to k * ln p above
		}
		if !slices.Contains(positive, n) {
			positive = append(positive, n)
		}
	}
	split := "rewrite ?ln_mult, ?ln_div, ?ln_Rinv, ?ln_pow in * by first [lra | nra | apply pow_lt; lra]"
	steps = append(steps, split, "simpl INR in *")
	for i, n := range positive {
		if i >= 3 {
			break
		}
		steps = append(steps, fmt.Sprintf("assert (0 < ln %d) by (rewrite <- ln_1; apply ln_increasing; lra)", n))
	}
	body := pre + strings.Join(steps, "; ")
	for i, cl := range []string{"lra", "field; lra", "field_simplify; lra", "nra"} {
		c.add(-0.4-0.05*float64(i), ms(2000), body+"; "+cl+".")
	}
	c.add(-0.6, ms(1500), body+".")
}

// primePower returns p, k with n = p^k, p prime.
func primePower(n int) (int, int, bool) {
	for p := 2; p*p <= n; p++ {
		if n%p != 0 {
			continue
		}
		k := 0
		for n%p == 0 {
			n /= p
			k++
		}
		return p, k, n == 1
	}
	return n, 1, true
}

// modCandidates: for a variable x and a modulus M (a numeral of the goal,
// 2..12) split x mod M into its residues, then Euclidean division and nia.
func modCandidates(c *cset, g coqGoal, pre, text string) {
	var mods []int
	for _, m := range modRE.FindAllStringSubmatch(text, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil && n >= 2 && n <= 12 && !slices.Contains(mods, n) {
			mods = append(mods, n)
		}
	}
	if len(mods) == 0 {
		return
	}
	k := 0
	for _, v := range g.vars {
		if !containsWord(g.concl, v) {
			continue
		}
		nat := slices.Contains(g.natVars, v)
		for _, m := range mods {
			if k >= 4 {
				return
			}
			k++
			var cases []string
			for r := 0; r < m; r++ {
				cases = append(cases, fmt.Sprintf("%s mod %d = %d", v, m, r))
			}
			bound := fmt.Sprintf("pose proof (Z.mod_pos_bound %s %d ltac:(lia))", v, m)
			finish := "Z.to_euclidean_division_equations; nia"
			if nat {
				bound = fmt.Sprintf("pose proof (Nat.mod_upper_bound %s %d ltac:(lia))", v, m)
				finish = "zify; Z.to_euclidean_division_equations; nia"
			}
			split := fmt.Sprintf("%s%s; assert (%s) as Hres by lia; %s; %s.", pre, bound, strings.Join(cases, " \\/ "), destructOr("Hres", m), finish)
			c.add(-0.6, ms(3000), split)
		}
	}
}

// destructOr destructs a hypothesis that is an n-fold disjunction.
func destructOr(h string, n int) string {
	pat := strings.Repeat("["+h+"|", n-1) + h + strings.Repeat("]", n-1)
	return "destruct " + h + " as " + pat
}

// enumCandidates: a nat variable with an upper bound N from a hypothesis
// (x < N, x <= N) is split into its values, each decided by lia or nia;
// with no such bound, the largest numeral of the hypotheses bounds it when
// nia can show it.
func enumCandidates(c *cset, g coqGoal) {
	bounds := map[string]int{}
	for _, h := range g.hyps {
		for _, re := range upperRE {
			m := re.FindStringSubmatch(strings.TrimSpace(h.typ))
			if m == nil {
				continue
			}
			v, op, num := m[1], m[2], m[3]
			if re == upperRE[1] {
				num, op, v = m[1], map[string]string{">": "<", ">=": "<="}[m[2]], m[3]
			}
			n, err := strconv.Atoi(num)
			if err != nil || !slices.Contains(g.natVars, v) {
				continue
			}
			if op == "<=" {
				n++
			}
			if b, ok := bounds[v]; !ok || n < b {
				bounds[v] = n
			}
		}
	}
	// Numerals of the hypotheses that could bound a variable (nia decides
	// whether they do): the smallest and the largest up to 100.
	var nums []int
	for _, h := range g.hyps {
		for _, m := range numeralRE.FindAllString(h.typ, -1) {
			if n, err := strconv.Atoi(m); err == nil && n >= 2 && n <= 100 {
				nums = append(nums, n)
			}
		}
	}
	slices.Sort(nums)
	if len(nums) > 1 {
		nums = []int{nums[0], nums[len(nums)-1]}
	}
	k := 0
	for _, v := range g.natVars {
		if k >= 3 {
			return
		}
		if !identRE.MatchString(v) {
			continue
		}
		// Each value is decided by lia (zify reads the successors), or nia
		// when another variable multiplies it.
		if n, ok := bounds[v]; ok && n >= 1 && n <= 40 {
			k++
			peel := fmt.Sprintf("do %d (destruct %s as [|%s]; [first [lia | nia]|]); lia.", n, v, v)
			c.add(-0.55, ms(3000), peel)
			continue
		}
		for _, n := range nums {
			k++
			peel := fmt.Sprintf("assert (%s <= %d) by nia; do %d (destruct %s as [|%s]; [first [lia | nia]|]); lia.", v, n, n+1, v, v)
			c.add(-0.85, ms(4000), peel)
		}
	}
}

// containsWord reports whether w occurs in s as a whole identifier.
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(w)
		if (j == 0 || !isIdentByte(s[j-1])) && (end == len(s) || !isIdentByte(s[end])) {
			return true
		}
		i = j + 1
	}
}
