package model

import (
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strings"
)

// Levers that read real polynomials (issue 12): the roots of a
// polynomial equation, the value of an inverse function, and witnesses
// taken from the context.
const (
	// LeverRoots reads a hypothesis P(x) = Q(x) over R in one variable x
	// as a polynomial, finds its rational roots r1..rk (the rational root
	// theorem), and asserts x = r1 \/ ... \/ x = rk: the monic product
	// (x - r1) * ... * R(x) = 0 by nra from the hypothesis, Rmult_integral
	// for each factor, a remaining factor R without rational roots
	// refuted by nra. The disjunction is then split and x substituted.
	LeverRoots = "roots"
	// LeverInverse evaluates G c for an inverse G of F (a hypothesis
	// forall x, G (F x) = x) at a numeral c, F defined by a polynomial:
	// it solves F t = c for a rational t and rewrites G c = t, proved as
	// G c = G (F t) = t.
	LeverInverse = "inverse"
	// LeverWitness answers a goal exists v : T, ... with a variable of
	// type T from the context, e.g. a function destructed from a
	// hypothesis, then splits the conjunction and closes what the
	// context already states.
	LeverWitness = "witness"
	// LeverIdeal closes an equation goal A = B in the ideal of the
	// hypotheses' polynomial equations (a Groebner basis with cofactors
	// decides it): A - B = sum Q_j * (L_j - R_j) by ring. nra reaches
	// only what products of two hypotheses give: x ^ 6 + 1 = 18 * x ^ 3
	// from x ^ 2 + 1 = 3 * x (a cofactor of degree 4) is beyond it.
	LeverIdeal = "ideal"
	// LeverDenoms clears the variable denominators of a hypothesis or of
	// the goal (field_simplify_eq) and proves the side conditions D <> 0
	// it opens with lra or nra from the context (x > 0 gives x <> 0 and
	// x ^ 2 <> 0), leaving the polynomial equation for the next step; an
	// inequality with positive denominators is decided as N / D with the
	// polynomial N's sign (ineqDenomCandidates).
	LeverDenoms = "denoms"
	// LeverRpowerEq solves a hypothesis linear in one Rpower C E (C > 1 a
	// numeral, E with a variable), the other Rpower B N with numeral N
	// turned into B ^ N: Rpower C E = K with K = C ^ m, m a natural,
	// becomes Rpower C E = Rpower C (INR m) (Rpower_pow), then E * ln C =
	// INR m * ln C (exp_inv), and nra with 0 < ln C.
	LeverRpowerEq = "rpowereq"
)

func init() {
	Levers = append(Levers, LeverRoots, LeverInverse, LeverWitness, LeverIdeal, LeverDenoms, LeverRpowerEq)
}

// polyLevers adds the candidates of the levers above.
func (p *Portfolio) polyLevers(c *cset, g coqGoal, pre string) {
	if pre != "" {
		return // after intros, where the hypotheses are named
	}
	if p.on(LeverWitness) {
		witnessCandidates(c, g)
	}
	if !g.real {
		return
	}
	if p.on(LeverRoots) {
		rootsCandidates(c, g)
	}
	if p.on(LeverInverse) {
		inverseCandidates(c, g)
	}
	if p.on(LeverIdeal) {
		idealCandidates(c, g)
	}
	if p.on(LeverDenoms) {
		denomCandidates(c, g)
	}
	if p.on(LeverRpowerEq) {
		rpowerEqCandidates(c, g)
	}
	if p.on(LeverDenoms) {
		ineqDenomCandidates(c, g)
	}
}

// ---- polynomials ----

// poly is a polynomial with rational coefficients in named variables:
// each key is a monomial, its variables sorted and joined by "*" (""
// for the constant term).
type poly map[string]*big.Rat

const polyMaxDegree = 8

func polyConst(r *big.Rat) poly {
	if r.Sign() == 0 {
		return poly{}
	}
	return poly{"": r}
}

func (p poly) add(q poly, sign int) poly {
	out := poly{}
	for m, c := range p {
		out[m] = new(big.Rat).Set(c)
	}
	for m, c := range q {
		d := new(big.Rat).Set(c)
		if sign < 0 {
			d.Neg(d)
		}
		if o, ok := out[m]; ok {
			d.Add(d, o)
		}
		if d.Sign() == 0 {
			delete(out, m)
		} else {
			out[m] = d
		}
	}
	return out
}

func monoVars(m string) []string {
	if m == "" {
		return nil
	}
	return strings.Split(m, "*")
}

func (p poly) mul(q poly) (poly, bool) {
	out := poly{}
	for m1, c1 := range p {
		for m2, c2 := range q {
			vs := append(monoVars(m1), monoVars(m2)...)
			if len(vs) > polyMaxDegree {
				return nil, false
			}
			slices.Sort(vs)
			m := strings.Join(vs, "*")
			d := new(big.Rat).Mul(c1, c2)
			if o, ok := out[m]; ok {
				d.Add(d, o)
			}
			if d.Sign() == 0 {
				delete(out, m)
			} else {
				out[m] = d
			}
		}
	}
	return out, true
}

// constant returns p's value when p has no variable.
func (p poly) constant() (*big.Rat, bool) {
	for m := range p {
		if m != "" {
			return nil, false
		}
	}
	if c, ok := p[""]; ok {
		return c, true
	}
	return new(big.Rat), true
}

// vars lists p's variables, sorted.
func (p poly) vars() []string {
	seen := map[string]bool{}
	var out []string
	for m := range p {
		for _, v := range monoVars(m) {
			if !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
	return out
}

// univariate returns p's coefficients in x, lowest degree first, when x
// is p's only variable (or p is constant).
func (p poly) univariate(x string) ([]*big.Rat, bool) {
	var cs []*big.Rat
	for m, c := range p {
		vs := monoVars(m)
		for _, v := range vs {
			if v != x {
				return nil, false
			}
		}
		for len(cs) <= len(vs) {
			cs = append(cs, new(big.Rat))
		}
		cs[len(vs)] = new(big.Rat).Set(c)
	}
	return cs, true
}

// parsePoly reads a Coq real expression of numerals (decimals too),
// variables, + - * ^ (numeral exponents), division by constants and
// parentheses. A function application, or anything else, is not a
// polynomial.
func parsePoly(s string) (poly, bool) {
	s = strings.ReplaceAll(s, "%R", "")
	toks, ok := polyTokens(s)
	if !ok || len(toks) == 0 {
		return nil, false
	}
	e := &polyParser{toks: toks}
	v, ok := e.sum()
	if !ok || e.pos != len(toks) {
		return nil, false
	}
	return v, true
}

func polyTokens(s string) ([]string, bool) {
	var toks []string
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\n':
			i++
		case strings.IndexByte("+-*/^()", ch) >= 0:
			toks = append(toks, string(ch))
			i++
		case ch >= '0' && ch <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' && j+1 < len(s) && s[j+1] >= '0' && s[j+1] <= '9') {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		case isIdentByte(ch):
			j := i
			for j < len(s) && isIdentByte(s[j]) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		default:
			return nil, false
		}
	}
	return toks, true
}

type polyParser struct {
	toks []string
	pos  int
}

func (e *polyParser) peek() string {
	if e.pos < len(e.toks) {
		return e.toks[e.pos]
	}
	return ""
}

func (e *polyParser) sum() (poly, bool) {
	v, ok := e.product()
	for ok && (e.peek() == "+" || e.peek() == "-") {
		sign := 1
		if e.peek() == "-" {
			sign = -1
		}
		e.pos++
		var w poly
		if w, ok = e.product(); ok {
			v = v.add(w, sign)
		}
	}
	return v, ok
}

func (e *polyParser) product() (poly, bool) {
	v, ok := e.unary()
	for ok && (e.peek() == "*" || e.peek() == "/") {
		op := e.peek()
		e.pos++
		var w poly
		if w, ok = e.unary(); !ok {
			return nil, false
		}
		if op == "/" {
			d, isConst := w.constant()
			if !isConst || d.Sign() == 0 {
				return nil, false
			}
			w = polyConst(new(big.Rat).Inv(d))
		}
		v, ok = v.mul(w)
	}
	return v, ok
}

func (e *polyParser) unary() (poly, bool) {
	switch e.peek() {
	case "-":
		e.pos++
		v, ok := e.unary()
		if !ok {
			return nil, false
		}
		return poly{}.add(v, -1), true
	case "/": // Rinv, of a constant only
		e.pos++
		v, ok := e.unary()
		if !ok {
			return nil, false
		}
		d, isConst := v.constant()
		if !isConst || d.Sign() == 0 {
			return nil, false
		}
		return polyConst(new(big.Rat).Inv(d)), true
	}
	return e.power()
}

func (e *polyParser) power() (poly, bool) {
	v, ok := e.atom()
	if !ok || e.peek() != "^" {
		return v, ok
	}
	e.pos++
	n, isNum := new(big.Int).SetString(e.peek(), 10)
	if !isNum || n.Sign() < 0 || n.Cmp(big.NewInt(polyMaxDegree)) > 0 {
		return nil, false
	}
	e.pos++
	r := polyConst(big.NewRat(1, 1))
	for i := int64(0); i < n.Int64(); i++ {
		if r, ok = r.mul(v); !ok {
			return nil, false
		}
	}
	return r, true
}

func (e *polyParser) atom() (poly, bool) {
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
	case t == "":
		return nil, false
	case t[0] >= '0' && t[0] <= '9':
		e.pos++
		v, ok := new(big.Rat).SetString(t)
		if !ok {
			return nil, false
		}
		return polyConst(v), true
	case isIdentByte(t[0]) && t != "_":
		e.pos++
		// An identifier applied to an argument is a function, not a
		// variable.
		if n := e.peek(); n == "(" || n != "" && isIdentByte(n[0]) {
			return nil, false
		}
		return poly{t: big.NewRat(1, 1)}, true
	}
	return nil, false
}

// ---- rational roots ----

const (
	rootsMaxCoeff      = 1_000_000_000_000 // |a0|, |an| whose divisors are enumerated
	rootsMaxCandidates = 20000
)

// rationalRoots returns the rational roots of the polynomial with
// coefficients cs (lowest degree first), each once per multiplicity, and
// the quotient left when their linear factors are divided out.
func rationalRoots(cs []*big.Rat) (roots []*big.Rat, rest []*big.Rat) {
	cs = trimPoly(cs)
	for len(cs) > 1 && cs[0].Sign() == 0 { // the root 0
		roots = append(roots, new(big.Rat))
		cs = cs[1:]
	}
	if len(cs) < 2 {
		return roots, cs
	}
	ints := integerCoeffs(cs)
	a0, an := new(big.Int).Abs(ints[0]), new(big.Int).Abs(ints[len(ints)-1])
	max := big.NewInt(rootsMaxCoeff)
	if a0.Cmp(max) > 0 || an.Cmp(max) > 0 {
		return roots, cs
	}
	ps, qs := divisors(a0.Int64()), divisors(an.Int64())
	if len(ps)*len(qs) > rootsMaxCandidates {
		return roots, cs
	}
	var cands []*big.Rat
	seen := map[string]bool{}
	for _, p := range ps {
		for _, q := range qs {
			for _, s := range []int64{1, -1} {
				r := big.NewRat(s*p, q)
				if !seen[r.String()] {
					seen[r.String()] = true
					cands = append(cands, r)
				}
			}
		}
	}
	slices.SortFunc(cands, func(a, b *big.Rat) int { return a.Cmp(b) })
	for _, r := range cands {
		for len(cs) > 1 {
			q, rem := divideLinear(cs, r)
			if rem.Sign() != 0 {
				break
			}
			roots = append(roots, r)
			cs = q
		}
	}
	return roots, cs
}

func trimPoly(cs []*big.Rat) []*big.Rat {
	for len(cs) > 0 && cs[len(cs)-1].Sign() == 0 {
		cs = cs[:len(cs)-1]
	}
	return cs
}

// integerCoeffs scales cs by the lcm of its denominators.
func integerCoeffs(cs []*big.Rat) []*big.Int {
	l := big.NewInt(1)
	for _, c := range cs {
		d := c.Denom()
		g := new(big.Int).GCD(nil, nil, l, d)
		l.Mul(l, new(big.Int).Quo(d, g))
	}
	out := make([]*big.Int, len(cs))
	for i, c := range cs {
		v := new(big.Rat).Mul(c, new(big.Rat).SetInt(l))
		out[i] = new(big.Int).Set(v.Num())
	}
	return out
}

func divisors(n int64) []int64 {
	var small, large []int64
	for d := int64(1); d*d <= n; d++ {
		if n%d == 0 {
			small = append(small, d)
			if d != n/d {
				large = append(large, n/d)
			}
		}
	}
	slices.Reverse(large)
	return append(small, large...)
}

// divideLinear divides the polynomial cs by (x - r): quotient and remainder.
func divideLinear(cs []*big.Rat, r *big.Rat) ([]*big.Rat, *big.Rat) {
	n := len(cs) - 1
	q := make([]*big.Rat, n)
	acc := new(big.Rat)
	for i := n; i >= 1; i-- {
		acc = new(big.Rat).Add(new(big.Rat).Mul(acc, r), cs[i])
		q[i-1] = acc
	}
	rem := new(big.Rat).Add(new(big.Rat).Mul(acc, r), cs[0])
	return q, rem
}

// coqPolyR prints a univariate polynomial in x (lowest degree first) as
// a Coq real expression.
func coqPolyR(cs []*big.Rat, x string) string { return coqPolyIn(cs, x, coqRat) }

// coqPolyIn prints coefficients cs (lowest degree first) in x, each
// coefficient by coef.
func coqPolyIn(cs []*big.Rat, x string, coef func(*big.Rat) string) string {
	var terms []string
	for i := len(cs) - 1; i >= 0; i-- {
		c := cs[i]
		if c.Sign() == 0 {
			continue
		}
		var mono string
		switch i {
		case 0:
			mono = ""
		case 1:
			mono = x
		default:
			mono = fmt.Sprintf("%s ^ %d", x, i)
		}
		k := coef(c)
		switch {
		case mono == "":
			terms = append(terms, k)
		case c.Cmp(big.NewRat(1, 1)) == 0:
			terms = append(terms, mono)
		default:
			terms = append(terms, k+" * "+mono)
		}
	}
	if len(terms) == 0 {
		return "0"
	}
	return "(" + strings.Join(terms, " + ") + ")"
}

// coqRat prints a rational as a parenthesised Coq real.
func coqRat(r *big.Rat) string {
	return "(" + ratCoq(r) + ")%R"
}

// ---- the levers ----

// rootsCandidates: for each binder-free hypothesis L = R over R in one
// variable of degree 2 or more with a rational root, the disjunction of
// its rational roots, as a step and split with x substituted.
func rootsCandidates(c *cset, g coqGoal) {
	reals := map[string]bool{}
	used := map[string]bool{}
	for _, h := range g.hyps {
		for _, n := range h.names {
			used[n] = true
			if h.typ == "R" {
				reals[n] = true
			}
		}
	}
	name := "Hlp_r"
	for i := 1; used[name]; i++ {
		name = fmt.Sprintf("Hlp_r%d", i)
	}
	solved := map[string]bool{} // variables a hypothesis already equates to a constant
	for _, h := range g.hyps {
		if l, r, ok := strings.Cut(h.typ, " = "); ok && reals[l] {
			if p, ok := parsePoly(r); ok && len(p.vars()) == 0 {
				solved[l] = true
			}
		}
	}
	k := 0
	for _, h := range g.hyps {
		if k >= 3 {
			return
		}
		_, _, p, ok := equation(h.typ)
		if !ok {
			continue
		}
		vs := p.vars()
		if len(vs) != 1 || !reals[vs[0]] || solved[vs[0]] {
			continue
		}
		x := vs[0]
		cs, _ := p.univariate(x)
		cs = trimPoly(cs)
		if len(cs) < 3 {
			continue // linear: lra solves it
		}
		roots, rest := rationalRoots(cs)
		r, ok := rootsAssert(name, x, roots, rest)
		if !ok {
			continue
		}
		k++
		c.add(-0.35, ms(2500), r.assert+".")
		split := ""
		if r.n > 1 {
			split = destructOr(name, r.n) + "; "
		}
		for i, cl := range []string{"lra", "nra"} {
			c.add(-0.3-0.05*float64(i), ms(3000), fmt.Sprintf("%s; %s%ssubst %s; %s.", r.assert, split, r.facts, x, cl))
		}
	}
}

// distinct returns the sorted distinct values of rs.
func distinct(rs []*big.Rat) []*big.Rat {
	var out []*big.Rat
	for _, r := range rs {
		if len(out) == 0 || out[len(out)-1].Cmp(r) != 0 {
			out = append(out, r)
		}
	}
	return out
}

// rootsStep is the roots lever's assertion, the number of its disjuncts,
// and the facts about a square root its closers need.
type rootsStep struct {
	assert, facts string
	n             int
}

// rootsAssert builds: assert (name: x = r1 \/ ...) by (the monic
// product of the factors = 0 by nra, each factor's case by lra, a rest
// without rational roots refuted by nra). A quadratic rest with a
// positive discriminant gives the roots P +- K * sqrt M instead, M
// square-free, with sqrt M * sqrt M = M for nra.
func rootsAssert(name, x string, roots, rest []*big.Rat) (rootsStep, bool) {
	slices.SortFunc(roots, func(a, b *big.Rat) int { return a.Cmp(b) })
	ds := distinct(roots)
	var disj []string
	for _, r := range ds {
		disj = append(disj, fmt.Sprintf("%s = %s", x, coqRat(r)))
	}
	// Factors: (x - r) for every root, then the monic rest.
	var factors []string
	var index []int // the disjunct a factor proves; -1: refuted
	for _, r := range roots {
		factors = append(factors, fmt.Sprintf("(%s - %s)", x, coqRat(r)))
		index = append(index, slices.IndexFunc(ds, func(d *big.Rat) bool { return d.Cmp(r) == 0 }))
	}
	facts := ""
	rest = trimPoly(rest)
	if p, k, m, ok := irrationalRoots(rest); ok {
		for _, sign := range []string{"+", "-"} {
			root := fmt.Sprintf("(%s %s %s * sqrt %d)%%R", ratCoq(p), sign, ratCoq(k), m)
			disj = append(disj, fmt.Sprintf("%s = %s", x, root))
			factors = append(factors, fmt.Sprintf("(%s - %s)", x, root))
			index = append(index, len(disj)-1)
		}
		facts = fmt.Sprintf("pose proof (sqrt_sqrt %d ltac:(lra)); pose proof (sqrt_pos %d); ", m, m)
	} else if len(rest) > 1 {
		lead := new(big.Rat).Inv(rest[len(rest)-1])
		monic := make([]*big.Rat, len(rest))
		for i, c := range rest {
			monic[i] = new(big.Rat).Mul(c, lead)
		}
		factors = append(factors, coqPolyR(monic, x))
		index = append(index, -1)
	}
	if len(disj) == 0 {
		return rootsStep{}, false
	}
	product := factors[len(factors)-1]
	for i := len(factors) - 2; i >= 0; i-- {
		product = factors[i] + " * " + product
		if i > 0 {
			product = "(" + product + ")"
		}
	}
	proof := rootsChain(index, len(disj), "Hlp_f", 0)
	t := fmt.Sprintf("assert (%s: %s) by (%sassert (Hlp_f: (%s = 0)%%R) by nra; %s)", name, strings.Join(disj, " \\/ "), facts, product, proof)
	return rootsStep{t, facts, len(disj)}, len(t) < 1500
}

// irrationalRoots reads a quadratic a x^2 + b x + c (lowest degree
// first) with a positive discriminant that is no rational square: its
// roots are p +- k * sqrt m, m > 1 square-free.
func irrationalRoots(cs []*big.Rat) (p, k *big.Rat, m int64, ok bool) {
	if len(cs) != 3 {
		return nil, nil, 0, false
	}
	a, b, c := cs[2], cs[1], cs[0]
	disc := new(big.Rat).Sub(new(big.Rat).Mul(b, b), new(big.Rat).Mul(big.NewRat(4, 1), new(big.Rat).Mul(a, c)))
	if disc.Sign() <= 0 {
		return nil, nil, 0, false
	}
	twoA := new(big.Rat).Mul(big.NewRat(2, 1), a)
	p = new(big.Rat).Quo(new(big.Rat).Neg(b), twoA)
	// sqrt(disc) / |2a| = sqrt(d), d = disc / (4 a^2) = num / den
	d := new(big.Rat).Quo(disc, new(big.Rat).Mul(twoA, twoA))
	nd := new(big.Int).Mul(d.Num(), d.Denom())
	if !nd.IsInt64() || nd.Int64() > 1_000_000_000_000 {
		return nil, nil, 0, false
	}
	s, m := squareFactor(nd.Int64())
	if m == 1 {
		return nil, nil, 0, false // a rational root after all
	}
	k = new(big.Rat).SetFrac(big.NewInt(s), d.Denom())
	return p, k, m, true
}

// rootsChain splits hyp, a product of factors = 0, by Rmult_integral and
// proves the disjunction of n roots in each case.
func rootsChain(index []int, n int, hyp string, depth int) string {
	if len(index) == 1 {
		return rootsBranch(index[0], n)
	}
	h := fmt.Sprintf("Hlp_%d", depth)
	return fmt.Sprintf("destruct (Rmult_integral _ _ %s) as [%s|%s]; [%s | %s]", hyp, h, h,
		rootsBranch(index[0], n), rootsChain(index[1:], n, h, depth+1))
}

func rootsBranch(i, n int) string {
	if i < 0 {
		return "exfalso; nra"
	}
	s := strings.Repeat("right; ", i)
	if i < n-1 {
		s += "left; "
	}
	return s + "lra"
}

var (
	// forall x : R, G (F x) = x
	inverseHypRE = regexp.MustCompile(`^forall ([\p{L}_][\p{L}\p{N}_']*) : R, ([\p{L}_][\p{L}\p{N}_']*) \(([\p{L}_][\p{L}\p{N}_']*) ([\p{L}_][\p{L}\p{N}_']*)\) = ([\p{L}_][\p{L}\p{N}_']*)$`)
	// forall x : R, F x = body
	polyDefRE = regexp.MustCompile(`^forall ([\p{L}_][\p{L}\p{N}_']*) : R, ([\p{L}_][\p{L}\p{N}_']*) ([\p{L}_][\p{L}\p{N}_']*) = (.+)$`)
)

// inverseCandidates: G c = t for an inverse G of a polynomial F at a
// closed argument c, t the rational solution of F t = c.
func inverseCandidates(c *cset, g coqGoal) {
	type def struct {
		hyp, x string
		body   poly
	}
	defs := map[string]def{}
	type inv struct{ hyp, g, f string }
	var invs []inv
	var invNames []string
	for _, h := range g.hyps {
		if m := inverseHypRE.FindStringSubmatch(h.typ); m != nil && m[1] == m[4] && m[1] == m[5] {
			for _, n := range h.names {
				invs = append(invs, inv{n, m[2], m[3]})
				invNames = append(invNames, n)
			}
			continue
		}
		if m := polyDefRE.FindStringSubmatch(h.typ); m != nil && m[1] == m[3] {
			body, ok := parsePoly(m[4])
			if !ok {
				continue
			}
			if vs := body.vars(); len(vs) != 1 || vs[0] != m[1] {
				continue
			}
			defs[m[2]] = def{h.names[0], m[1], body}
		}
	}
	k := 0
	for _, iv := range invs {
		d, ok := defs[iv.f]
		if !ok {
			continue
		}
		cs, _ := d.body.univariate(d.x)
		for _, arg := range applicationArgs(g.concl, iv.g) {
			if k >= 3 {
				return
			}
			a, ok := parsePoly(arg)
			if !ok {
				continue
			}
			val, isConst := a.constant()
			if !isConst {
				continue
			}
			shifted := slices.Clone(cs)
			shifted[0] = new(big.Rat).Sub(shifted[0], val)
			roots, _ := rationalRoots(shifted)
			ds := distinct(roots)
			if len(ds) != 1 {
				continue
			}
			t := coqRat(ds[0])
			k++
			assert := fmt.Sprintf("assert (Hlp_inv: %s (%s) = %s) by (transitivity (%s (%s %s)); [f_equal; rewrite %s; ring | apply %s])",
				iv.g, arg, t, iv.g, iv.f, t, d.hyp, iv.hyp)
			c.add(-0.25, ms(1500), assert+"; rewrite Hlp_inv.")
			rw := "rewrite ?" + strings.Join(invNames, ", ?")
			for i, cl := range []string{"reflexivity", "lra"} {
				c.add(-0.2-0.05*float64(i), ms(1500), fmt.Sprintf("%s; rewrite Hlp_inv; %s; %s.", assert, rw, cl))
			}
		}
	}
}

// applicationArgs returns the arguments of f's applications in s: a
// numeral (with its scope) or a parenthesised group.
func applicationArgs(s, f string) []string {
	var out []string
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], f+" ")
		if j < 0 {
			break
		}
		j += i
		i = j + len(f) + 1
		if j > 0 && isIdentByte(s[j-1]) {
			continue
		}
		rest := s[i:]
		switch {
		case strings.HasPrefix(rest, "("):
			if e := closingParen(rest); e > 0 {
				out = append(out, rest[1:e])
			}
		case rest != "" && rest[0] >= '0' && rest[0] <= '9':
			e := strings.IndexAny(rest, " )")
			if e < 0 {
				e = len(rest)
			}
			out = append(out, rest[:e])
		}
	}
	return out
}

// flattenHyps destructs every existential and conjunction of the context.
const flattenHyps = "repeat match goal with H : exists _, _ |- _ => destruct H | H : _ /\\ _ |- _ => destruct H end."

var existsBinderRE = regexp.MustCompile(`^exists ([\p{L}_][\p{L}\p{N}_']*) : ([^,]+),`)

// witnessCandidates: exists v : T with each context variable of type T.
func witnessCandidates(c *cset, g coqGoal) {
	for _, h := range g.hyps {
		if strings.HasPrefix(h.typ, "exists ") {
			c.add(-0.3, ms(1000), flattenHyps) // ahead of one destruct (-0.45)
			break
		}
	}
	m := existsBinderRE.FindStringSubmatch(g.concl)
	if m == nil {
		return
	}
	typ := strings.TrimSpace(m[2])
	k := 0
	for _, h := range g.hyps {
		if h.typ != typ {
			continue
		}
		for _, n := range h.names {
			if k >= 3 {
				return
			}
			k++
			// A variable the conclusion already names is seldom the
			// witness (exists g, inverse f g).
			score := -0.3
			if containsWord(g.concl, n) {
				score = -0.9
			}
			c.add(score, ms(1000), fmt.Sprintf("exists %s; repeat split; try assumption.", n))
			c.add(score-0.2, ms(1000), fmt.Sprintf("exists %s.", n))
		}
	}
}

// ---- division by one polynomial ----

// monoCmp orders monomials by degree, then by their exponents in the
// order of vars (graded lexicographic).
func monoCmp(a, b string, vars []string) int {
	va, vb := monoVars(a), monoVars(b)
	if len(va) != len(vb) {
		return len(va) - len(vb)
	}
	for _, v := range vars {
		ea, eb := countOf(va, v), countOf(vb, v)
		if ea != eb {
			return ea - eb
		}
	}
	return 0
}

func countOf(vs []string, v string) int {
	n := 0
	for _, w := range vs {
		if w == v {
			n++
		}
	}
	return n
}

func (p poly) lead(vars []string) (string, *big.Rat) {
	best, first := "", true
	for m := range p {
		if first || monoCmp(m, best, vars) > 0 {
			best, first = m, false
		}
	}
	return best, p[best]
}

// monoQuo returns b / a when the monomial a divides b.
func monoQuo(b, a string) (string, bool) {
	rest := monoVars(b)
	for _, v := range monoVars(a) {
		i := slices.Index(rest, v)
		if i < 0 {
			return "", false
		}
		rest = slices.Delete(slices.Clone(rest), i, i+1)
	}
	return strings.Join(rest, "*"), true
}

// divide divides g by h: g = q * h + r, no term of r divisible by h's
// leading term. One polynomial is a Groebner basis of its ideal, so
// r = 0 exactly when h divides g.
func (g poly) divide(h poly) (q, r poly, ok bool) {
	if len(h) == 0 {
		return nil, nil, false
	}
	vars := g.add(h, 1).vars()
	vars = append(vars, h.vars()...)
	slices.Sort(vars)
	vars = slices.Compact(vars)
	lh, hc := h.lead(vars)
	q, r, p := poly{}, poly{}, g.add(poly{}, 1)
	for steps := 0; len(p) > 0; steps++ {
		if steps > 10000 {
			return nil, nil, false
		}
		lt, lc := p.lead(vars)
		m, divisible := monoQuo(lt, lh)
		if !divisible {
			r = r.add(poly{lt: lc}, 1)
			p = p.add(poly{lt: lc}, -1)
			continue
		}
		t := poly{m: new(big.Rat).Quo(lc, hc)}
		q = q.add(t, 1)
		th, ok := t.mul(h)
		if !ok {
			return nil, nil, false
		}
		p = p.add(th, -1)
	}
	return q, r, true
}

// coqPoly prints p as a Coq real expression (under %R).
func coqPoly(p poly) string {
	vars := p.vars()
	ms := make([]string, 0, len(p))
	for m := range p {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b string) int { return monoCmp(b, a, vars) })
	var terms []string
	for _, m := range ms {
		var factors []string
		if c := p[m]; m == "" || c.Cmp(big.NewRat(1, 1)) != 0 {
			factors = append(factors, coqRat(c))
		}
		vs := monoVars(m)
		for i := 0; i < len(vs); {
			j := i
			for j < len(vs) && vs[j] == vs[i] {
				j++
			}
			if j-i == 1 {
				factors = append(factors, vs[i])
			} else {
				factors = append(factors, fmt.Sprintf("%s ^ %d", vs[i], j-i))
			}
			i = j
		}
		terms = append(terms, strings.Join(factors, " * "))
	}
	if len(terms) == 0 {
		return "0"
	}
	return "(" + strings.Join(terms, " + ") + ")"
}

// equation splits a binder-free equation L = R and reads both sides as
// polynomials.
func equation(typ string) (l, r string, p poly, ok bool) {
	if strings.HasPrefix(typ, "forall") || strings.HasPrefix(typ, "exists") {
		return "", "", nil, false
	}
	l, r, found := strings.Cut(typ, " = ")
	if !found || strings.Contains(r, " = ") {
		return "", "", nil, false
	}
	pl, ok1 := parsePoly(l)
	pr, ok2 := parsePoly(r)
	if !ok1 || !ok2 {
		return "", "", nil, false
	}
	return l, r, pl.add(pr, -1), true
}

// idealCandidates: an equation goal A = B whose difference lies in the
// ideal of the hypotheses' equations L_j = R_j, found by a Groebner
// basis with cofactors: A - B = Q_1 * (L_1 - R_1) + ... by ring, each
// L_j - R_j = 0 by lra. Only when some Q_j is not constant: constant
// multiples are lra's. With a hypothesis U <> V, also (U - V) * (A - B)
// in the ideal: Rmult_integral, the first factor refuted by U <> V.
func idealCandidates(c *cset, g coqGoal) {
	a, b, goal, ok := equation(g.concl)
	if !ok || len(goal.vars()) == 0 {
		return
	}
	var eqs [][2]string
	var fs []poly
	type neq struct {
		name, u, v string
		p          poly
	}
	var neqs []neq
	for _, h := range g.hyps {
		if u, v, found := strings.Cut(h.typ, " <> "); found && !strings.Contains(h.typ, "forall") && len(neqs) < 2 {
			pu, ok1 := parsePoly(u)
			pv, ok2 := parsePoly(v)
			if ok1 && ok2 {
				neqs = append(neqs, neq{h.names[0], u, v, pu.add(pv, -1)})
			}
			continue
		}
		l, r, p, ok := equation(h.typ)
		if !ok || len(p.vars()) == 0 || len(fs) >= idealMaxHyps {
			continue
		}
		eqs = append(eqs, [2]string{l, r})
		fs = append(fs, p)
	}
	if len(fs) == 0 {
		return
	}
	diff := fmt.Sprintf("(%s) - (%s)", a, b)
	if prefix, constant, ok := idealIdentity(diff, goal, eqs, fs); ok && !constant {
		if t := prefix + "; lra."; len(t) < 1800 {
			c.add(-0.3, ms(2000), t)
		}
	}
	for _, ne := range neqs {
		prod, ok := ne.p.mul(goal)
		if !ok || len(ne.p.vars()) == 0 {
			continue
		}
		lhs := fmt.Sprintf("((%s) - (%s)) * (%s)", ne.u, ne.v, diff)
		if prefix, _, ok := idealIdentity(lhs, prod, eqs, fs); ok {
			t := fmt.Sprintf("%s; destruct (Rmult_integral _ _ Hlp_q) as [Hlp_c|Hlp_c]; [exfalso; apply %s; lra | lra].", prefix, ne.name)
			if len(t) < 1800 {
				c.add(-0.3, ms(2000), t)
			}
		}
	}
}

// idealIdentity proves lhs = 0 (lhs printed, p its polynomial) from the
// equations: Hlp_q : lhs = sum Q_j * (L_j - R_j) by ring, each
// L_j - R_j = 0 by lra and rewritten, so that Hlp_q : lhs = 0. constant
// reports whether every Q_j is a constant.
func idealIdentity(lhs string, p poly, eqs [][2]string, fs []poly) (tactic string, constant, ok bool) {
	qs, ok := idealCofactors(p, fs)
	if !ok {
		return "", false, false
	}
	var terms, zeros, names []string
	constant = true
	for j, q := range qs {
		if len(q) == 0 {
			continue
		}
		if _, isConst := q.constant(); !isConst {
			constant = false
		}
		terms = append(terms, fmt.Sprintf("%s * ((%s) - (%s))", coqPoly(q), eqs[j][0], eqs[j][1]))
		n := fmt.Sprintf("Hlp_0%d", j)
		names = append(names, n)
		zeros = append(zeros, fmt.Sprintf("assert (%s: ((%s) - (%s) = 0)%%R) by lra; ", n, eqs[j][0], eqs[j][1]))
	}
	if len(terms) == 0 {
		return "", false, false
	}
	t := fmt.Sprintf("assert (Hlp_q: (%s = %s)%%R) by ring; %srewrite %s, ?Rmult_0_r, ?Rplus_0_r in Hlp_q",
		lhs, strings.Join(terms, " + "), strings.Join(zeros, ""), strings.Join(names, ", "))
	return t, constant, true
}

const (
	idealMaxHyps  = 4
	idealMaxBasis = 10
	idealMaxSteps = 400
)

// tracked is a polynomial with its cofactors over the hypotheses:
// p = sum co[j] * f_j.
type tracked struct {
	p  poly
	co []poly
}

// idealCofactors returns Q with goal = sum Q_j * fs_j, when the goal
// reduces to 0 modulo a Groebner basis of fs (Buchberger's algorithm,
// bounded; false when a bound is hit or the goal is not in the ideal).
func idealCofactors(goal poly, fs []poly) ([]poly, bool) {
	vars := goal.vars()
	for _, f := range fs {
		vars = append(vars, f.vars()...)
	}
	slices.Sort(vars)
	vars = slices.Compact(vars)
	var basis []tracked
	for j, f := range fs {
		co := make([]poly, len(fs))
		for i := range co {
			co[i] = poly{}
		}
		co[j] = polyConst(big.NewRat(1, 1))
		basis = append(basis, tracked{f, co})
	}
	steps := 0
	type pair struct{ i, j int }
	var pairs []pair
	for i := range basis {
		for j := i + 1; j < len(basis); j++ {
			pairs = append(pairs, pair{i, j})
		}
	}
	for len(pairs) > 0 {
		pr := pairs[0]
		pairs = pairs[1:]
		sp, ok := sPoly(basis[pr.i], basis[pr.j], vars)
		if !ok {
			return nil, false
		}
		r, ok := reduceTracked(sp, basis, vars, &steps)
		if !ok {
			return nil, false
		}
		if len(r.p) == 0 {
			continue
		}
		if len(basis) >= idealMaxBasis {
			return nil, false
		}
		basis = append(basis, r)
		for i := 0; i < len(basis)-1; i++ {
			pairs = append(pairs, pair{i, len(basis) - 1})
		}
	}
	zero := make([]poly, len(fs))
	for i := range zero {
		zero[i] = poly{}
	}
	r, ok := reduceTracked(tracked{goal, zero}, basis, vars, &steps)
	if !ok || len(r.p) != 0 {
		return nil, false
	}
	// goal - sum co_j f_j = 0, so goal = -(r.co) . f
	qs := make([]poly, len(fs))
	for j := range qs {
		qs[j] = poly{}.add(r.co[j], -1)
	}
	return qs, true
}

// scaleTracked multiplies t by the term c * m.
func scaleTracked(t tracked, m string, c *big.Rat) (tracked, bool) {
	term := poly{m: c}
	p, ok := t.p.mul(term)
	if !ok {
		return tracked{}, false
	}
	co := make([]poly, len(t.co))
	for i, q := range t.co {
		if co[i], ok = q.mul(term); !ok {
			return tracked{}, false
		}
	}
	return tracked{p, co}, true
}

func subTracked(a, b tracked) tracked {
	co := make([]poly, len(a.co))
	for i := range co {
		co[i] = a.co[i].add(b.co[i], -1)
	}
	return tracked{a.p.add(b.p, -1), co}
}

// sPoly is the S-polynomial of a and b, with its cofactors.
func sPoly(a, b tracked, vars []string) (tracked, bool) {
	ma, ca := a.p.lead(vars)
	mb, cb := b.p.lead(vars)
	l := monoLcm(ma, mb)
	qa, _ := monoQuo(l, ma)
	qb, _ := monoQuo(l, mb)
	sa, ok1 := scaleTracked(a, qa, new(big.Rat).Inv(ca))
	sb, ok2 := scaleTracked(b, qb, new(big.Rat).Inv(cb))
	if !ok1 || !ok2 {
		return tracked{}, false
	}
	return subTracked(sa, sb), true
}

// reduceTracked reduces t modulo basis completely; the cofactors follow:
// the result is t - sum q_k basis_k.
func reduceTracked(t tracked, basis []tracked, vars []string, steps *int) (tracked, bool) {
	r := tracked{p: poly{}}
	for len(t.p) > 0 {
		if *steps++; *steps > idealMaxSteps {
			return tracked{}, false
		}
		lt, lc := t.p.lead(vars)
		reduced := false
		for _, b := range basis {
			lb, cb := b.p.lead(vars)
			m, divisible := monoQuo(lt, lb)
			if !divisible {
				continue
			}
			sb, ok := scaleTracked(b, m, new(big.Rat).Quo(lc, cb))
			if !ok {
				return tracked{}, false
			}
			t = subTracked(t, sb)
			reduced = true
			break
		}
		if !reduced { // the leading term stays in the remainder
			r.p = r.p.add(poly{lt: lc}, 1)
			t.p = t.p.add(poly{lt: lc}, -1)
		}
	}
	return tracked{r.p, t.co}, true
}

func monoLcm(a, b string) string {
	va, vb := monoVars(a), monoVars(b)
	out := slices.Clone(va)
	for _, v := range vb {
		if countOf(out, v) < countOf(vb, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return strings.Join(out, "*")
}

// varDenomRE: a division by a variable or a group that names one.
var varDenomRE = regexp.MustCompile(`/ (?:\([^()]*[\p{L}_][^()]*\)|[\p{L}_][\p{L}\p{N}_']*)`)

// sideNonzero proves the side conditions D <> 0 that field_simplify_eq
// opens (ahead of the main goal), and leaves every other goal alone.
const sideNonzero = "try (match goal with |- _ <> _ => solve [lra | nra] end)"

// denomCandidates: field_simplify_eq in each hypothesis with a variable
// denominator, and in the goal, side conditions discharged.
func denomCandidates(c *cset, g coqGoal) {
	k := 0
	for _, h := range g.hyps {
		if strings.HasPrefix(h.typ, "forall") || !strings.Contains(h.typ, " = ") || !varDenomRE.MatchString(h.typ) {
			continue
		}
		for _, n := range h.names {
			if k >= 3 {
				break
			}
			k++
			c.add(-0.4, ms(1500), fmt.Sprintf("field_simplify_eq in %s; %s.", n, sideNonzero))
		}
	}
	if strings.Contains(g.concl, " = ") && varDenomRE.MatchString(g.concl) {
		c.add(-0.4, ms(1500), "field_simplify_eq; "+sideNonzero+".")
	}
}

// rpowerVarRE: Rpower C E, a numeral base and an exponent that is a word
// or a parenthesised group without nesting.
var rpowerVarRE = regexp.MustCompile(`\bRpower (\d+) (\([^()]*\)|[\p{L}_][\p{L}\p{N}_']*)`)

// rpowerEqCandidates: see LeverRpowerEq.
func rpowerEqCandidates(c *cset, g coqGoal) {
	k := 0
	for _, h := range g.hyps {
		if k >= 2 || strings.HasPrefix(h.typ, "forall") || !strings.Contains(h.typ, "Rpower") {
			continue
		}
		// Numeral exponents first: Rpower B N is B ^ N.
		text := h.typ
		var steps []string
		for _, m := range rpowerNumRE.FindAllStringSubmatch(text, 4) {
			steps = append(steps, fmt.Sprintf("replace (%s) with (%s ^ %s) in * by (rewrite <- Rpower_pow by lra; f_equal; simpl; lra)", m[0], m[1], m[2]))
			text = strings.ReplaceAll(text, m[0], "("+m[1]+" ^ "+m[2]+")")
		}
		vm := rpowerVarRE.FindStringSubmatch(text)
		if vm == nil {
			continue
		}
		atom, base, exp := vm[0], vm[1], vm[2]
		if !strings.ContainsAny(exp, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_") {
			continue
		}
		_, _, p, ok := equation(strings.ReplaceAll(text, atom, "Hlp_X"))
		if !ok {
			continue
		}
		cs, ok := p.univariate("Hlp_X")
		if !ok || len(trimPoly(cs)) != 2 {
			continue // linear in the atom alone
		}
		// X = -c0 / c1
		val := new(big.Rat).Quo(new(big.Rat).Neg(cs[0]), cs[1])
		cb, _ := new(big.Rat).SetString(base)
		if cb == nil || cb.Cmp(big.NewRat(1, 1)) <= 0 {
			continue
		}
		m, ok := ratLog(val, cb)
		if !ok {
			continue
		}
		k++
		steps = append(steps,
			fmt.Sprintf("assert (Hlp_x: %s = Rpower %s (INR %d)) by (rewrite (Rpower_pow %d %s) by lra; simpl in *; lra)", atom, base, m, m, base),
			"unfold Rpower in Hlp_x; apply exp_inv in Hlp_x",
			fmt.Sprintf("assert (Hlp_l: 0 < ln %s) by (rewrite <- ln_1; apply ln_increasing; lra)", base),
			"simpl in Hlp_x")
		t := strings.Join(steps, "; ")
		c.add(-0.25, ms(2500), t+"; nra.")
		c.add(-0.45, ms(2500), t+".")
	}
}

// ratLog returns m >= 0 with b ^ m = v, b > 1.
func ratLog(v, b *big.Rat) (int, bool) {
	x := big.NewRat(1, 1)
	for m := 0; m <= 64; m++ {
		switch x.Cmp(v) {
		case 0:
			return m, true
		case 1:
			return 0, false
		}
		x = new(big.Rat).Mul(x, b)
	}
	return 0, false
}

// ---- rational functions, for inequalities with denominators ----

// ratFn is num / (den[0] * den[1] * ...), each factor a non-constant
// polynomial (constants are folded into num).
type ratFn struct {
	num poly
	den []poly
}

func polyKey(p poly) string { return coqPoly(p) }

func product(ps []poly) (poly, bool) {
	out := polyConst(big.NewRat(1, 1))
	for _, p := range ps {
		var ok bool
		if out, ok = out.mul(p); !ok {
			return nil, false
		}
	}
	return out, true
}

// missing returns the factors of all not in part (as multisets).
func missing(all, part []poly) []poly {
	count := map[string]int{}
	for _, p := range part {
		count[polyKey(p)]++
	}
	var out []poly
	for _, p := range all {
		if k := polyKey(p); count[k] > 0 {
			count[k]--
		} else {
			out = append(out, p)
		}
	}
	return out
}

// lcmFactors is the multiset union of a and b.
func lcmFactors(a, b []poly) []poly {
	return append(slices.Clone(a), missing(b, a)...)
}

func (f ratFn) add(g ratFn, sign int) (ratFn, bool) {
	den := lcmFactors(f.den, g.den)
	mf, ok1 := product(missing(den, f.den))
	mg, ok2 := product(missing(den, g.den))
	if !ok1 || !ok2 {
		return ratFn{}, false
	}
	a, ok1 := f.num.mul(mf)
	b, ok2 := g.num.mul(mg)
	if !ok1 || !ok2 {
		return ratFn{}, false
	}
	return ratFn{a.add(b, sign), den}, true
}

func (f ratFn) mul(g ratFn) (ratFn, bool) {
	n, ok := f.num.mul(g.num)
	return ratFn{n, append(slices.Clone(f.den), g.den...)}, ok
}

// inv is 1 / f; f's numerator becomes a factor of the denominator.
func (f ratFn) inv() (ratFn, bool) {
	n, ok := product(f.den)
	if !ok {
		return ratFn{}, false
	}
	if c, isConst := f.num.constant(); isConst {
		if c.Sign() == 0 {
			return ratFn{}, false
		}
		return ratFn{n.add(poly{}, 1).scale(new(big.Rat).Inv(c)), nil}, true
	}
	return ratFn{n, []poly{f.num}}, true
}

func (p poly) scale(c *big.Rat) poly {
	out, _ := p.mul(polyConst(c))
	return out
}

// parseRatFn reads an expression as parsePoly does, divisions by
// non-constant expressions included.
func parseRatFn(s string) (ratFn, bool) {
	toks, ok := polyTokens(strings.ReplaceAll(s, "%R", ""))
	if !ok || len(toks) == 0 {
		return ratFn{}, false
	}
	e := &ratParser{polyParser{toks: toks}}
	v, ok := e.sum()
	if !ok || e.pos != len(toks) || len(v.den) > 6 {
		return ratFn{}, false
	}
	return v, true
}

type ratParser struct{ polyParser }

func (e *ratParser) sum() (ratFn, bool) {
	v, ok := e.product()
	for ok && (e.peek() == "+" || e.peek() == "-") {
		sign := 1
		if e.peek() == "-" {
			sign = -1
		}
		e.pos++
		var w ratFn
		if w, ok = e.product(); ok {
			v, ok = v.add(w, sign)
		}
	}
	return v, ok
}

func (e *ratParser) product() (ratFn, bool) {
	v, ok := e.unary()
	for ok && (e.peek() == "*" || e.peek() == "/") {
		op := e.peek()
		e.pos++
		var w ratFn
		if w, ok = e.unary(); !ok {
			return ratFn{}, false
		}
		if op == "/" {
			if w, ok = w.inv(); !ok {
				return ratFn{}, false
			}
		}
		v, ok = v.mul(w)
	}
	return v, ok
}

func (e *ratParser) unary() (ratFn, bool) {
	switch e.peek() {
	case "-":
		e.pos++
		v, ok := e.unary()
		return ratFn{poly{}.add(v.num, -1), v.den}, ok
	case "/":
		e.pos++
		v, ok := e.unary()
		if !ok {
			return ratFn{}, false
		}
		return v.inv()
	}
	return e.power()
}

func (e *ratParser) power() (ratFn, bool) {
	v, ok := e.atom()
	if !ok || e.peek() != "^" {
		return v, ok
	}
	e.pos++
	n, isNum := new(big.Int).SetString(e.peek(), 10)
	if !isNum || n.Sign() < 0 || n.Cmp(big.NewInt(polyMaxDegree)) > 0 {
		return ratFn{}, false
	}
	e.pos++
	r := ratFn{num: polyConst(big.NewRat(1, 1))}
	for i := int64(0); i < n.Int64(); i++ {
		if r, ok = r.mul(v); !ok {
			return ratFn{}, false
		}
	}
	return r, true
}

func (e *ratParser) atom() (ratFn, bool) {
	if e.peek() == "(" {
		e.pos++
		v, ok := e.sum()
		if !ok || e.peek() != ")" {
			return ratFn{}, false
		}
		e.pos++
		return v, true
	}
	p, ok := e.polyParser.atom()
	return ratFn{num: p}, ok
}

var relationRE = regexp.MustCompile(` (<=|>=|<|>) `)

// ineqDenomCandidates: an inequality over R with variable denominators
// D_1 ... D_k, each positive by lra/nra from the context: its difference
// is N / (D_1 * ... * D_k), N a polynomial; N >= 0 (or > 0) by nra,
// psatz or nra with squared differences of its variables, the identity
// by field, the quotient's sign by Rmult_le_pos and Rinv_0_lt_compat.
func ineqDenomCandidates(c *cset, g coqGoal) {
	concl := g.concl
	if strings.HasSuffix(concl, ")%R") && closingParen(concl) == len(concl)-3 {
		concl = concl[1 : len(concl)-3]
	}
	locs := relationRE.FindAllStringSubmatchIndex(concl, -1)
	if len(locs) != 1 || strings.Contains(concl, " = ") {
		return
	}
	l, op, r := concl[:locs[0][0]], concl[locs[0][2]:locs[0][3]], concl[locs[0][1]:]
	hi, lo := l, r
	if op == "<=" || op == "<" {
		hi, lo = r, l
	}
	strict := op == "<" || op == ">"
	fb, ok1 := parseRatFn(hi)
	fs, ok2 := parseRatFn(lo)
	if !ok1 || !ok2 || len(fb.den)+len(fs.den) == 0 {
		return
	}
	diff, ok := fb.add(fs, -1)
	if !ok || len(diff.den) == 0 || len(diff.num) == 0 {
		return
	}
	var dens []string
	for _, d := range diff.den {
		dens = append(dens, coqPoly(d))
	}
	den, num := strings.Join(dens, " * "), coqPoly(diff.num)
	var hints strings.Builder
	vs := diff.num.vars()
	if len(vs) <= 4 {
		for i := range vs {
			for j := i + 1; j < len(vs); j++ {
				fmt.Fprintf(&hints, "pose proof (pow2_ge_0 (%s - %s)); ", vs[i], vs[j])
			}
		}
	}
	rel, pos := "<=", "unfold Rdiv; apply Rmult_le_pos; [lra | apply Rlt_le, Rinv_0_lt_compat; lra]"
	if strict {
		rel, pos = "<", "unfold Rdiv; apply Rmult_lt_0_compat; [lra | apply Rinv_0_lt_compat; lra]"
	}
	t := fmt.Sprintf("assert (Hlp_d: (0 < %s)%%R) by (repeat apply Rmult_lt_0_compat; first [lra | nra]); "+
		"assert (Hlp_n: (0 %s %s)%%R) by (first [(%snra) | psatz R 2]); "+
		"assert (Hlp_e: ((%s) - (%s) = %s / (%s))%%R) by (field; repeat split; first [lra | nra]); "+
		"assert (Hlp_s: (0 %s %s / (%s))%%R) by (%s); lra.",
		den, rel, num, hints.String(), hi, lo, num, den, rel, num, den, pos)
	if len(t) < 1800 {
		c.add(-0.3, ms(3000), t)
	}
}
