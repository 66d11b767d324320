package model

import (
	"fmt"
	"math/big"
	"os/exec"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/coq"
)

func TestParsePoly(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		ok   bool
		vars []string
		at   map[string]int64 // a point to evaluate at
		want string           // p at that point
	}{
		{"x ^ 2 - 5 * x + 6", true, []string{"x"}, map[string]int64{"x": 4}, "2"},
		{"(4 * x * x * x + 1)%R", true, []string{"x"}, map[string]int64{"x": 2}, "33"},
		{"- x ^ 2 / 2 + 0.5", true, []string{"x"}, map[string]int64{"x": 1}, "0"},
		{"(x - y) * (x + y)", true, []string{"x", "y"}, map[string]int64{"x": 3, "y": 2}, "5"},
		{"/ 4 * x", true, []string{"x"}, map[string]int64{"x": 2}, "1/2"},
		{"12", true, nil, nil, "12"},
		{"f x + 1", false, nil, nil, ""},     // an application
		{"sqrt (x)", false, nil, nil, ""},    // an application
		{"1 / x", false, nil, nil, ""},       // division by a variable
		{"x ^ n", false, nil, nil, ""},       // a variable exponent
		{"x ^ 20", false, nil, nil, ""},      // beyond polyMaxDegree
		{"(x + 1", false, nil, nil, ""},      // unbalanced
		{"x = 1", false, nil, nil, ""},       // not an expression
		{"1 / (2 - 2)", false, nil, nil, ""}, // division by zero
	} {
		p, ok := parsePoly(c.in)
		if ok != c.ok {
			t.Errorf("parsePoly(%q) ok = %v, want %v", c.in, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		if got := strings.Join(p.vars(), ","); got != strings.Join(c.vars, ",") {
			t.Errorf("parsePoly(%q) vars = %s, want %v", c.in, got, c.vars)
		}
		if got := evalPoly(p, c.at); got.RatString() != c.want {
			t.Errorf("parsePoly(%q) at %v = %s, want %s", c.in, c.at, got.RatString(), c.want)
		}
	}
}

func evalPoly(p poly, at map[string]int64) *big.Rat {
	sum := new(big.Rat)
	for m, c := range p {
		term := new(big.Rat).Set(c)
		for _, v := range monoVars(m) {
			term.Mul(term, big.NewRat(at[v], 1))
		}
		sum.Add(sum, term)
	}
	return sum
}

func TestIdealCofactors(t *testing.T) {
	t.Parallel()
	mustPoly := func(s string) poly {
		p, ok := parsePoly(s)
		if !ok {
			t.Fatalf("parsePoly(%q) failed", s)
		}
		return p
	}
	for _, c := range []struct {
		goal string
		fs   []string
		in   bool
	}{
		{"x ^ 3 + y ^ 3 - 35", []string{"x + y - 5", "x * y - 6"}, true},
		{"x ^ 3 + y ^ 3 - 36", []string{"x + y - 5", "x * y - 6"}, false},
		{"x ^ 4 + 1 - 7 * x ^ 2", []string{"x ^ 2 + 1 - 3 * x"}, true},
		{"a * c - b * d", []string{"a - b", "c - d"}, true},
		{"a - c", []string{"a - b"}, false},
	} {
		goal := mustPoly(c.goal)
		var fs []poly
		for _, f := range c.fs {
			fs = append(fs, mustPoly(f))
		}
		qs, ok := idealCofactors(goal, fs)
		if ok != c.in {
			t.Errorf("%s in (%v): %v, want %v", c.goal, c.fs, ok, c.in)
			continue
		}
		if !ok {
			continue
		}
		sum := poly{}
		for j, q := range qs { // the cofactors must rebuild the goal
			m, _ := q.mul(fs[j])
			sum = sum.add(m, 1)
		}
		if d := sum.add(goal, -1); len(d) != 0 {
			t.Errorf("%s: cofactors %v rebuild it with a difference %v", c.goal, qs, d)
		}
	}
}

func TestRationalRoots(t *testing.T) {
	t.Parallel()
	rats := func(xs ...string) []*big.Rat {
		var out []*big.Rat
		for _, x := range xs {
			r, _ := new(big.Rat).SetString(x)
			out = append(out, r)
		}
		return out
	}
	for _, c := range []struct {
		coeffs []*big.Rat // lowest degree first
		roots  string
		rest   int // degree of what is left
	}{
		{rats("6", "-5", "1"), "2 3", 0},
		{rats("-1", "1", "2"), "-1 1/2", 0},
		{rats("-2", "1", "-2", "1"), "2", 2},     // (x - 2)(x^2 + 1)
		{rats("4", "-4", "1"), "2 2", 0},         // a double root
		{rats("0", "0", "-3", "1"), "0 0 3", 0},  // x^2 (x - 3)
		{rats("2", "0", "1"), "", 2},             // no real root
		{rats("-2", "0", "1"), "", 2},            // irrational roots
		{rats("1/6", "-5/6", "1"), "1/3 1/2", 0}, // rational coefficients
	} {
		roots, rest := rationalRoots(c.coeffs)
		var got []string
		for _, r := range roots {
			got = append(got, r.RatString())
		}
		if strings.Join(got, " ") != c.roots || len(trimPoly(rest))-1 != c.rest {
			t.Errorf("rationalRoots(%v) = %v, rest of degree %d; want %s, %d", c.coeffs, got, len(trimPoly(rest))-1, c.roots, c.rest)
		}
	}
}

// polyCase: a statement, the display its intros (and prefix) leave, and
// whether it is true.
type polyCase struct {
	stmt, prefix, display string
	provable              bool
	then                  string // after the candidate, for a lever's steps
}

// checkLeverInCoq compiles, in the real coqc under header, each
// candidate that mentions marker on the case's display after its prefix:
// a true statement must be proved by one of them, a false one by none.
func checkLeverInCoq(t *testing.T, header, marker string, cases []polyCase) {
	t.Helper()
	coqc, err := exec.LookPath("coqc")
	if err != nil {
		t.Skip("coqc not installed (make test installs it)")
	}
	for _, c := range cases {
		var cands []string
		for _, cand := range proposeUnder(t, &Portfolio{Backend: "coq"}, header, []string{c.display}) {
			if strings.Contains(cand.Tactic, marker) {
				cands = append(cands, cand.Tactic)
			}
		}
		if len(cands) == 0 {
			if c.provable {
				t.Errorf("%s: no candidate mentions %s", c.stmt, marker)
			}
			continue
		}
		proved := ""
		for _, tac := range cands {
			src := coq.Prelude + "\n" + header + "Theorem t : " + c.stmt + ".\nProof.\n  " + c.prefix + "\n  " + tac + " " + c.then + "\nQed.\n"
			if _, err := compileCoq(t, coqc, src); err == nil {
				proved = tac
				break
			}
		}
		if c.provable && proved == "" {
			t.Errorf("%s: none of the %d candidates proves it:\n%s", c.stmt, len(cands), strings.Join(cands, "\n"))
		}
		if !c.provable && proved != "" {
			t.Errorf("%s: false, yet proved by %q", c.stmt, proved)
		}
	}
}

func TestRootsProveInCoq(t *testing.T) {
	t.Parallel()
	quad := "x : R\nH : x ^ 2 - 5 * x + 6 = 0\nH0 : x > %s\n============================\nx = 3"
	cubic := "x : R\nH : x ^ 3 - 2 * x ^ 2 + x - 2 = 0\n============================\nx = %s"
	frac := "x : R\nH : 2 * x ^ 2 + x - 1 = 0\nH0 : x < %s\n============================\nx = -1"
	irr := "x : R\nH : x ^ 2 - 4 * x + 1 = 0\nH0 : x > %s\n============================\nx = 2 + sqrt 3"
	double := "x, y : R\nH : x * (x - 4) = -4\nH0 : y = 2 * x\n============================\ny = %s"
	checkLeverInCoq(t, realsHeader, "Hlp_r", []polyCase{
		{"forall x : R, x ^ 2 - 5 * x + 6 = 0 -> x > 2 -> x = 3", "intros.", fmt.Sprintf(quad, "2"), true, ""},
		{"forall x : R, x ^ 2 - 5 * x + 6 = 0 -> x > 1 -> x = 3", "intros.", fmt.Sprintf(quad, "1"), false, ""},
		{"forall x : R, x ^ 3 - 2 * x ^ 2 + x - 2 = 0 -> x = 2", "intros.", fmt.Sprintf(cubic, "2"), true, ""},
		{"forall x : R, x ^ 3 - 2 * x ^ 2 + x - 2 = 0 -> x = 1", "intros.", fmt.Sprintf(cubic, "1"), false, ""},
		{"forall x : R, 2 * x ^ 2 + x - 1 = 0 -> x < 0 -> x = -1", "intros.", fmt.Sprintf(frac, "0"), true, ""},
		{"forall x : R, 2 * x ^ 2 + x - 1 = 0 -> x < 1 -> x = -1", "intros.", fmt.Sprintf(frac, "1"), false, ""},
		{"forall x y : R, x * (x - 4) = -4 -> y = 2 * x -> y = 4", "intros.", fmt.Sprintf(double, "4"), true, ""},
		{"forall x y : R, x * (x - 4) = -4 -> y = 2 * x -> y = 2", "intros.", fmt.Sprintf(double, "2"), false, ""},
		// irrational roots 2 +- sqrt 3
		{"forall x : R, x ^ 2 - 4 * x + 1 = 0 -> x > 2 -> x = 2 + sqrt 3", "intros.", fmt.Sprintf(irr, "2"), true, ""},
		{"forall x : R, x ^ 2 - 4 * x + 1 = 0 -> x > 0 -> x = 2 + sqrt 3", "intros.", fmt.Sprintf(irr, "0"), false, ""},
		{"forall x : R, 6 * x ^ 2 = 12 -> x > 0 -> x ^ 3 = 2 * sqrt 2", "intros.", "x : R\nH : 6 * x ^ 2 = 12\nH0 : x > 0\n============================\nx ^ 3 = 2 * sqrt 2", true, ""},
	})
}

func TestInverseProvesInCoq(t *testing.T) {
	t.Parallel()
	hyps := "f, g : R -> R\nH : forall x : R, f x = 2 * x ^ 3 + 3\nH0 : forall x : R, g (f x) = x\n============================\n"
	stmt := "forall f g : R -> R, (forall x, f x = 2 * x ^ 3 + 3) -> (forall x, g (f x) = x) -> "
	checkLeverInCoq(t, realsHeader, "Hlp_inv", []polyCase{
		// 19 = f 2
		{stmt + "g 19 = 2", "intros.", hyps + "g 19 = 2", true, ""},
		{stmt + "g 19 = 3", "intros.", hyps + "g 19 = 3", false, ""},
		// a closed argument in parentheses, the application inside another
		{stmt + "g (g (f 5) + 14) + 1 = 3", "intros. rewrite H0.", hyps + "g (5 + 14) + 1 = 3", true, ""},
		{stmt + "g (g (f 5) + 14) + 1 = 2", "intros. rewrite H0.", hyps + "g (5 + 14) + 1 = 2", false, ""},
	})
}

func TestWitnessProvesInCoq(t *testing.T) {
	t.Parallel()
	hyps := "f, g : R -> R\nH : forall x : R, g (f x) = x\nH0 : forall y : R, f (g y) = y\n============================\n"
	stmt := "forall f : R -> R, (exists g : R -> R, (forall x, g (f x) = x) /\\ (forall y, f (g y) = y)) -> exists h : R -> R, (forall x, h (f x) = x) /\\ "
	checkLeverInCoq(t, realsHeader, "exists g", []polyCase{
		{stmt + "(forall y, f (h y) = y)", "intros f [g [H H0]].", hyps + "exists h : R -> R, (forall x : R, h (f x) = x) /\\ (forall y : R, f (h y) = y)", true, ""},
		{stmt + "(forall y, h y = y)", "intros f [g [H H0]].", hyps + "exists h : R -> R, (forall x : R, h (f x) = x) /\\ (forall y : R, h y = y)", false, ""},
	})
}

func TestIdealProvesInCoq(t *testing.T) {
	t.Parallel()
	// nra proves this degree-4 case too; the lever's reach beyond nra is
	// the degree-6 one below.
	one := "x : R\nH : x ^ 2 + 1 = 3 * x\n============================\nx ^ 4 + 1 = %s * x ^ 2"
	six := "x : R\nH : x ^ 2 + 1 = 3 * x\n============================\nx ^ 6 + 1 = %s * x ^ 3"
	two := "a, b : R\nH : a * b = 2\n============================\na ^ 3 * b ^ 3 + a * b = %s"
	// two hypotheses: x^3 + y^3 = (x + y)^3 - 3 x y (x + y)
	cancel := "x, r : R\nH : x <> r\nH0 : x ^ 2 - r ^ 2 = 3 * (x - r)\n============================\nx + r = %s"
	sym := "x, y : R\nH : x + y = 5\nH0 : x * y = 6\n============================\nx ^ 3 + y ^ 3 = %s"
	checkLeverInCoq(t, realsHeader, "Hlp_q", []polyCase{
		{"forall x : R, x ^ 2 + 1 = 3 * x -> x ^ 4 + 1 = 7 * x ^ 2", "intros.", fmt.Sprintf(one, "7"), true, ""},
		{"forall x : R, x ^ 2 + 1 = 3 * x -> x ^ 4 + 1 = 6 * x ^ 2", "intros.", fmt.Sprintf(one, "6"), false, ""},
		{"forall x : R, x ^ 2 + 1 = 3 * x -> x ^ 6 + 1 = 18 * x ^ 3", "intros.", fmt.Sprintf(six, "18"), true, ""},
		{"forall x : R, x ^ 2 + 1 = 3 * x -> x ^ 6 + 1 = 17 * x ^ 3", "intros.", fmt.Sprintf(six, "17"), false, ""},
		{"forall a b : R, a * b = 2 -> a ^ 3 * b ^ 3 + a * b = 10", "intros.", fmt.Sprintf(two, "10"), true, ""},
		{"forall a b : R, a * b = 2 -> a ^ 3 * b ^ 3 + a * b = 11", "intros.", fmt.Sprintf(two, "11"), false, ""},
		{"forall x y : R, x + y = 5 -> x * y = 6 -> x ^ 3 + y ^ 3 = 35", "intros.", fmt.Sprintf(sym, "35"), true, ""},
		{"forall x y : R, x + y = 5 -> x * y = 6 -> x ^ 3 + y ^ 3 = 36", "intros.", fmt.Sprintf(sym, "36"), false, ""},
		// a factor cancelled by a disequality: (x - r) (x + r - 3) = 0
		{"forall x r : R, x <> r -> x ^ 2 - r ^ 2 = 3 * (x - r) -> x + r = 3", "intros.", fmt.Sprintf(cancel, "3"), true, ""},
		{"forall x r : R, x <> r -> x ^ 2 - r ^ 2 = 3 * (x - r) -> x + r = 4", "intros.", fmt.Sprintf(cancel, "4"), false, ""},
	})
}

func TestDenomsProveInCoq(t *testing.T) {
	t.Parallel()
	hyp := "x : R\nH : x > 0\nH0 : 6 / x = 2\n============================\nx = %s"
	goal := "x : R\nH : x ^ 2 > 1\n============================\n(x ^ 2 - 1) / (x ^ 2 - 1) = %s"
	checkLeverInCoq(t, realsHeader, "field_simplify_eq", []polyCase{
		{"forall x : R, x > 0 -> 6 / x = 2 -> x = 3", "intros.", fmt.Sprintf(hyp, "3"), true, "lra."},
		{"forall x : R, x > 0 -> 6 / x = 2 -> x = 2", "intros.", fmt.Sprintf(hyp, "2"), false, "lra."},
		// the side condition x ^ 2 - 1 <> 0 by lra from x ^ 2 > 1
		{"forall x : R, x ^ 2 > 1 -> (x ^ 2 - 1) / (x ^ 2 - 1) = 1", "intros.", fmt.Sprintf(goal, "1"), true, "all: lra."},
		{"forall x : R, x ^ 2 > 1 -> (x ^ 2 - 1) / (x ^ 2 - 1) = 2", "intros.", fmt.Sprintf(goal, "2"), false, "all: lra."},
	})
}

func TestRpowerEqProvesInCoq(t *testing.T) {
	t.Parallel()
	one := "x : R\nH : Rpower 2 (x + 1) = 32\n============================\nx = %s"
	two := "x : R\nH : Rpower 3 x + Rpower 2 2 = 13\n============================\nx = %s"
	checkLeverInCoq(t, realsHeader, "Hlp_x", []polyCase{
		{"forall x : R, Rpower 2 (x + 1) = 32 -> x = 4", "intros.", fmt.Sprintf(one, "4"), true, ""},
		{"forall x : R, Rpower 2 (x + 1) = 32 -> x = 3", "intros.", fmt.Sprintf(one, "3"), false, ""},
		{"forall x : R, Rpower 3 x + Rpower 2 2 = 13 -> x = 2", "intros.", fmt.Sprintf(two, "2"), true, ""},
		{"forall x : R, Rpower 3 x + Rpower 2 2 = 13 -> x = 3", "intros.", fmt.Sprintf(two, "3"), false, ""},
	})
}

func TestIneqDenomsProveInCoq(t *testing.T) {
	t.Parallel()
	amgm := "x : R\nH : x > 0\n============================\nx + 1 / x >= %s"
	three := "a, b, c : R\nH : a > 0\nH0 : b > 0\nH1 : c > 0\n============================\n(a + b + c) * (1 / a + 1 / b + 1 / c) >= %s"
	strict := "x : R\nH : x > 1\n============================\nx / (x - 1) > %s"
	checkLeverInCoq(t, realsHeader, "Hlp_d", []polyCase{
		{"forall x : R, x > 0 -> x + 1 / x >= 2", "intros.", fmt.Sprintf(amgm, "2"), true, ""},
		{"forall x : R, x > 0 -> x + 1 / x >= 3", "intros.", fmt.Sprintf(amgm, "3"), false, ""},
		{"forall a b c : R, a > 0 -> b > 0 -> c > 0 -> (a + b + c) * (1 / a + 1 / b + 1 / c) >= 9", "intros.", fmt.Sprintf(three, "9"), true, ""},
		{"forall a b c : R, a > 0 -> b > 0 -> c > 0 -> (a + b + c) * (1 / a + 1 / b + 1 / c) >= 10", "intros.", fmt.Sprintf(three, "10"), false, ""},
		{"forall x : R, x > 1 -> x / (x - 1) > 1", "intros.", fmt.Sprintf(strict, "1"), true, ""},
		{"forall x : R, x > 1 -> x / (x - 1) > 2", "intros.", fmt.Sprintf(strict, "2"), false, ""},
	})
}

func TestParseRatFn(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in       string
		ok       bool
		num, den string // as coqPoly prints them; den factors joined by " * "
	}{
		{"x + 1 / x", true, "(x ^ 2 + (1)%R)", "(x)"},
		{"1 / x + 1 / x", true, "((2)%R)", "(x)"},
		{"x / (x - 1)", true, "(x)", "(x + (-1)%R)"},
		{"(a + b) / 2", true, "((1 / 2)%R * a + (1 / 2)%R * b)", ""},
		{"/ (x * y)", true, "((1)%R)", "(x * y)"},
		{"1 / (x - x)", false, "", ""},
		{"f x / 2", false, "", ""},
	} {
		f, ok := parseRatFn(c.in)
		if ok != c.ok {
			t.Errorf("parseRatFn(%q) ok = %v, want %v", c.in, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		var dens []string
		for _, d := range f.den {
			dens = append(dens, coqPoly(d))
		}
		if coqPoly(f.num) != c.num || strings.Join(dens, " * ") != c.den {
			t.Errorf("parseRatFn(%q) = %s / %s, want %s / %s", c.in, coqPoly(f.num), strings.Join(dens, " * "), c.num, c.den)
		}
	}
}

func TestPolyLeversLeaveOtherGoalsAlone(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ goal, mark string }{
		// linear: lra's
		{"x : R\nH : 2 * x + 1 = 5\n============================\nx = 2", "Hlp_r"},
		// two variables
		{"x, y : R\nH : x ^ 2 = y\n============================\nx = 2", "Hlp_r"},
		// no real root
		{"x : R\nH : x ^ 2 + 2 = 0\n============================\nx > 0", "Hlp_r"},
		// already solved
		{"x : R\nH : x ^ 2 - 5 * x + 6 = 0\nHlp_r : x = 2\n============================\nx > 0", "Hlp_r1"},
		// 33 is no power of 2
		{"x : R\nH : Rpower 2 x = 33\n============================\nx = 5", "Hlp_x"},
		// a nat variable
		{"x : nat\nH : x ^ 2 - 5 * x + 6 = 0\n============================\nx = 3", "Hlp_r"},
		// before intros
		{"============================\nforall x : R, x ^ 2 - 5 * x + 6 = 0 -> x > 2 -> x = 3", "Hlp_r"},
		// an inverse of a function with no polynomial definition
		{"f, g : R -> R\nH : forall x : R, f x = sqrt x\nH0 : forall x : R, g (f x) = x\n============================\ng 3 = 9", "Hlp_inv"},
		// F t = c with no rational solution
		{"f, g : R -> R\nH : forall x : R, f x = x ^ 2\nH0 : forall x : R, g (f x) = x\n============================\ng 2 = 1", "Hlp_inv"},
		// two rational solutions: which one g picks is not known
		{"f, g : R -> R\nH : forall x : R, f x = x ^ 2\nH0 : forall x : R, g (f x) = x\n============================\ng 4 = 2", "Hlp_inv"},
	} {
		checkNoneMentions(t, realsHeader, c.goal, c.mark)
	}
	// The witness lever answers with the variables of the binder's type.
	for _, cand := range proposeUnder(t, &Portfolio{Backend: "coq"}, realsHeader, []string{"f : R -> R\nn : nat\n============================\nexists h : nat, h = n"}) {
		if strings.Contains(cand.Tactic, "exists f") {
			t.Errorf("a witness of the wrong type: %q", cand.Tactic)
		}
	}
}

func FuzzParsePoly(f *testing.F) {
	for _, s := range []string{"x ^ 2 - 5 * x + 6", "(4 * x * x * x + 1)%R", "/ (x - x)", "((((x", "0.5 * y ^ 8 * y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, ok := parsePoly(s)
		if !ok {
			return
		}
		for m := range p {
			if len(monoVars(m)) > polyMaxDegree {
				t.Fatalf("%q: monomial %q beyond the degree bound", s, m)
			}
			if p[m].Sign() == 0 {
				t.Fatalf("%q: a zero coefficient kept for %q", s, m)
			}
		}
	})
}

// TestPolyLeverCandidatesPassThePolicy: the candidates on the displays
// these levers read pass coq.Policy.
func TestPolyLeverCandidatesPassThePolicy(t *testing.T) {
	t.Parallel()
	checkLeversPassPolicy(t, realsHeader, map[string][]string{
		"roots":   {"x : R\nH : x ^ 3 - 2 * x ^ 2 + x - 2 = 0\n============================\nx = 2"},
		"inverse": {"f, g : R -> R\nH : forall x : R, f x = 2 * x ^ 3 + 3\nH0 : forall x : R, g (f x) = x\n============================\ng 19 = 2"},
		"witness": {"f, g : R -> R\nH : exists h : R -> R, forall x : R, h (f x) = x\n============================\nexists h : R -> R, forall x : R, h (f x) = x"},
		"ideal":   {"x, y : R\nH : x + y = 5\nH0 : x * y = 6\n============================\nx ^ 3 + y ^ 3 = 35"},
		"denoms":  {"x : R\nH : x > 0\nH0 : x + 1 / x = 3\n============================\nx ^ 2 + 1 / x ^ 2 = 7"},
	})
}
