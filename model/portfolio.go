package model

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Portfolio is the GPU-free proposer: ranked decision procedures and
// transforming tactics built from the goal text, each with a prior score
// that plays the role of a model's mean log-probability, so best-first
// search orders them as it would order model samples. Cheap tactics come
// first; heavy ones get short deadlines.
type Portfolio struct {
	// Backend selects the tactic language: coq (default), lean, isabelle.
	Backend string
	// Interval adds Coq's `interval` tactic (libcoq-interval), for backends
	// whose processes load it.
	Interval bool
	// Disabled lists levers (candidate families, see Levers) left out,
	// for ablations; DisabledLevers adds to it at link time.
	Disabled []string
}

var _ prover.Proposer = (*Portfolio)(nil)

func (p *Portfolio) Name() string { return "portfolio" }

// Propose returns candidates for req.State, best first, at most req.N.
func (p *Portfolio) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var cands []prover.Candidate
	switch p.Backend {
	case "", "coq":
		cands = p.coqCandidates(req)
	case "lean":
		cands = leanCandidates(req)
	case "isabelle":
		cands = isabelleCandidates(req)
	default:
		return nil, fmt.Errorf("portfolio: no tactics for backend %q", p.Backend)
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].Score > cands[j].Score })
	if req.N > 0 && len(cands) > req.N {
		cands = cands[:req.N]
	}
	return cands, nil
}

// cset collects candidates, keeping the best score of duplicates.
type cset struct {
	list  []prover.Candidate
	index map[string]int
}

func (c *cset) add(score float64, timeout time.Duration, tactic string) {
	if c.index == nil {
		c.index = map[string]int{}
	}
	if i, ok := c.index[tactic]; ok {
		if score > c.list[i].Score {
			c.list[i].Score = score
		}
		return
	}
	c.index[tactic] = len(c.list)
	c.list = append(c.list, prover.Candidate{Tactic: tactic, Score: score, LogProb: score, Timeout: timeout})
}

// coqGoal is what the portfolio reads from a Coq goal display.
type coqGoal struct {
	complex  bool     // Coquelicot's complex numbers
	natVars  []string // variables of type nat
	interval bool     // the Interval library is loaded (Portfolio.Interval)
	hyps     []coqHyp
	concl    string
	others   int // further goals
	real     bool
	integ    bool // nat or Z
	vars     []string
}

type coqHyp struct {
	names []string
	typ   string
}

func parseCoqGoal(goals []string) coqGoal {
	var g coqGoal
	if len(goals) == 0 {
		return g
	}
	g.others = len(goals) - 1
	first := goals[0]
	sep := strings.LastIndex(first, "============================")
	hypText, concl := "", first
	if sep >= 0 {
		hypText, concl = first[:sep], first[sep+len("============================"):]
	}
	g.concl = strings.TrimSpace(concl)
	for _, line := range strings.Split(hypText, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if line[0] == ' ' && len(g.hyps) > 0 { // continuation
			g.hyps[len(g.hyps)-1].typ += " " + strings.TrimSpace(line)
			continue
		}
		i := strings.Index(line, " : ")
		if i < 0 {
			continue
		}
		names := strings.Split(line[:i], ", ")
		typ := strings.TrimSpace(line[i+3:])
		g.hyps = append(g.hyps, coqHyp{names: names, typ: typ})
		switch typ {
		case "R":
			g.real = true
			g.vars = append(g.vars, names...)
		case "nat", "Z":
			g.integ = true
			g.vars = append(g.vars, names...)
			if typ == "nat" {
				g.natVars = append(g.natVars, names...)
			}
		case "C":
			g.complex = true
		}
	}
	all := g.concl
	for _, h := range g.hyps {
		all += " " + h.typ
	}
	if strings.Contains(all, "%R") || strings.Contains(all, "IZR") || strings.Contains(all, "INR") || rTypeRE.MatchString(all) {
		g.real = true
	}
	if strings.Contains(all, "Ci") || strings.Contains(all, "RtoC") || strings.Contains(all, "%C") {
		g.complex = true
	}
	if strings.Contains(all, "%Z") || strings.Contains(all, "%nat") || strings.Contains(all, "nat") {
		g.integ = true
	}
	return g
}

var (
	rTypeRE    = regexp.MustCompile(`\b[A-Za-z_][\w']* : R\b|: R ->|-> R\b|\(\w+ : R\)`)
	eqVarRE    = regexp.MustCompile(`^([\p{L}_][\p{L}\p{N}_']*) = `)
	eqVarRevRE = regexp.MustCompile(` = ([\p{L}_][\p{L}\p{N}_']*)$`)
	// The conclusion of a function-defining hypothesis: f args = ...
	funcEqRE  = regexp.MustCompile(`^[\p{L}_][\p{L}\p{N}_']* [\p{L}\p{N}_(][^=]*[^<>=]= `)
	numeralRE = regexp.MustCompile(`\b\d+\b`)
	divRE     = regexp.MustCompile(`[^/]/[^/\\]`)
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// coqState is what the Coq portfolio reads off one proof state.
type coqState struct {
	g          coqGoal
	pre        string   // "intros; " when the conclusion needs intros first
	needIntros bool     // the conclusion is a forall, an implication or a negation
	hasVarEq   bool     // a hypothesis equates a variable: subst can use it
	destructs  []string // destruct steps for conjunctions, existentials, disjunctions
	rewrites   []string // hypotheses that define a function
	prune      bool     // LeverPrune
	powmod     bool     // LeverPowMod: closed arithmetic in binary Z
}

// coqCandidates builds the Coq portfolio for one state: closing decision
// procedures, hints for nra, rewrites and denominators cleared, structural
// case splits, the transforming steps, then the levers (coqhints.go).
func (p *Portfolio) coqCandidates(req prover.ProposalRequest) []prover.Candidate {
	s := p.readCoqState(req)
	var c cset
	s.closers(&c)
	s.nraHints(&c)
	s.rewriteSteps(&c)
	s.caseSplits(&c, req.Theorem.Header)
	s.transformingSteps(&c)
	p.coqLevers(&c, s.g, s.pre, s.rewrites)
	c.add(-0.9, ms(800), "simpl.")
	if s.g.others > 0 {
		c.add(-0.95, ms(1000), "all: simpl.")
	}
	return c.list
}

// readCoqState parses the state's first goal and classifies it.
func (p *Portfolio) readCoqState(req prover.ProposalRequest) coqState {
	g := parseCoqGoal(req.State.Goals)
	g.interval = p.Interval
	// Under `Open Scope R_scope` a closed goal shows no type at all.
	if strings.Contains(req.Theorem.Header, "R_scope") {
		g.real = true
	}
	if !g.real && !g.integ {
		// Nothing tells: offer both families.
		g.real, g.integ = true, true
	}
	s := coqState{g: g, prune: p.on(LeverPrune), powmod: p.on(LeverPowMod)}
	s.needIntros = needsIntros(g.concl)
	if s.needIntros {
		s.pre = "intros; "
	}
	for _, h := range g.hyps {
		for _, n := range h.names {
			switch {
			case strings.Contains(h.typ, " /\\ ") && !strings.HasPrefix(h.typ, "forall") && !strings.HasPrefix(h.typ, "exists"):
				s.destructs = append(s.destructs, fmt.Sprintf("destruct %s as [%s_1 %s_2].", n, n, n))
			case strings.HasPrefix(h.typ, "exists "):
				s.destructs = append(s.destructs, fmt.Sprintf("destruct %s as [%s_w %s_h].", n, n, n))
			case strings.Contains(h.typ, " \\/ ") && !strings.HasPrefix(h.typ, "forall"):
				s.destructs = append(s.destructs, fmt.Sprintf("destruct %s as [%s_l | %s_r].", n, n, n))
			}
			if eqVarRE.MatchString(h.typ) || eqVarRevRE.MatchString(h.typ) {
				s.hasVarEq = true
			}
			if definesFunction(h.typ) {
				s.rewrites = append(s.rewrites, n)
			}
		}
	}
	return s
}

// closers adds the closing decision procedures, cheapest and likeliest
// first, with their subst and all-goals variants.
func (s coqState) closers(c *cset) {
	g, pre := s.g, s.pre
	// Closing decision procedures, cheapest and likeliest first. The list
	// was pruned on measurements over miniF2F (see README): firstorder,
	// easy, compute; lia and ring over nat/Z spent minutes and closed nothing.
	type closer struct {
		tac     string
		score   float64
		timeout int  // ms
		subst   bool // also try after intros; subst
		all     bool // also try on every goal at once
	}
	// With LeverPrune (the default) the closers that never paid on the
	// valid split's traces get shorter leashes, and field_simplify runs
	// only where there is a division to clear.
	prune := s.prune
	leash := func(full, pruned int) int {
		if prune {
			return pruned
		}
		return full
	}
	hasDiv := divRE.MatchString(all(g))
	vmLeash := 1500
	if s.powmod {
		vmLeash = 1000
	}
	var closers []closer
	if g.real {
		closers = append(closers,
			closer{"lra", -0.05, 1500, true, true},
			closer{"nra", -0.10, 2500, true, true},
			closer{"field", -0.30, 1000, true, false},
		)
		if hasDiv || !prune {
			closers = append(closers,
				closer{"field_simplify; lra", -0.45, 1500, false, false},
				closer{"field_simplify; nra", -0.50, 2500, false, false},
			)
		}
		closers = append(closers,
			closer{"ring", -0.60, leash(800, 500), false, false},
			closer{"psatz R 3", -1.20, 2500, false, false},
		)
	}
	if g.integ || !g.real {
		closers = append(closers,
			closer{"lia", -0.05, 1500, true, true},
			closer{"nia", -0.15, 2500, true, true},
			closer{"reflexivity", -0.20, 1000, true, false},
			closer{"simpl; lia", -0.35, leash(1500, 1000), true, false},
			closer{"psatz Z 3", -1.30, 2500, false, false},
		)
		if len(g.hyps) == 0 || s.needIntros || s.hasVarEq {
			// With LeverPowMod closed arithmetic goes to binary Z first; in
			// unary nat vm_compute paid nothing on valid's traces (46 s).
			closers = append(closers, closer{"vm_compute; reflexivity", -0.40, leash(2500, vmLeash), true, false})
		}
	}
	closers = append(closers,
		closer{"auto", -0.30, leash(1000, 500), true, true},
		closer{"tauto", -0.60, leash(800, 500), false, false},
	)
	for _, cl := range closers {
		c.add(cl.score, ms(cl.timeout), pre+cl.tac+".")
		if cl.subst && (s.hasVarEq || s.needIntros) {
			c.add(cl.score-0.15, ms(cl.timeout), "intros; subst; "+cl.tac+".")
		}
		if cl.all && g.others > 0 {
			c.add(cl.score-0.25, ms(cl.timeout*2), "all: "+cl.tac+".")
		}
	}
}

// nraHints adds nra with squares of differences as hints.
func (s coqState) nraHints(c *cset) {
	g, concl, pre := s.g, s.g.concl, s.pre
	// Squares of differences feed nra where products alone do not: between
	// variables, and between a variable and a numeral of the goal.
	if g.real && len(g.vars) >= 1 && len(g.vars) <= 3 {
		nums := numeralRE.FindAllString(concl, -1)
		seen := map[string]bool{"0": true, "1": true, "2": true}
		k := 0
		for _, n := range nums {
			if seen[n] || k >= 3 {
				continue
			}
			seen[n] = true
			k++
			for _, v := range g.vars {
				c.add(-0.95, ms(2500), fmt.Sprintf("%spose proof (pow2_ge_0 (%s - %s)); nra.", pre, v, n))
			}
		}
	}
	if g.real && len(g.vars) >= 2 && len(g.vars) <= 4 {
		for i := 0; i < len(g.vars); i++ {
			for j := i + 1; j < len(g.vars); j++ {
				c.add(-0.9, ms(2500), fmt.Sprintf("%spose proof (pow2_ge_0 (%s - %s)); nra.", pre, g.vars[i], g.vars[j]))
			}
		}
	}
}

// rewriteSteps adds rewrites with function-defining hypotheses,
// denominators cleared in hypotheses, and closed nat arithmetic in Z.
func (s coqState) rewriteSteps(c *cset) {
	g, concl, pre := s.g, s.g.concl, s.pre
	// Functions given by an equation: rewrite them away, then decide.
	for _, h := range s.rewrites {
		for _, cl := range []string{"lra", "nra", "lia", "field", "reflexivity"} {
			real := cl == "lra" || cl == "nra" || cl == "field"
			if s.prune && (real && !g.real || !real && !g.integ) {
				continue
			}
			c.add(-0.55, ms(2000), fmt.Sprintf("%srewrite !%s; %s.", pre, h, cl))
		}
		c.add(-0.8, ms(1000), fmt.Sprintf("%srewrite !%s in *.", pre, h))
	}

	// Hypotheses with divisions: clear the denominators, then decide.
	if g.real {
		for _, h := range g.hyps {
			if !divRE.MatchString(h.typ) || strings.HasPrefix(h.typ, "forall") {
				continue
			}
			for _, n := range h.names {
				c.add(-0.55, ms(2000), fmt.Sprintf("field_simplify_eq in %s; lra.", n))
				c.add(-0.62, ms(2500), fmt.Sprintf("field_simplify_eq in %s; nra.", n))
				c.add(-0.80, ms(1500), fmt.Sprintf("field_simplify_eq in %s.", n))
				c.add(-0.60, ms(2000), fmt.Sprintf("field_simplify in %s; lra.", n))
				c.add(-0.70, ms(2500), fmt.Sprintf("field_simplify in %s; nra.", n))
				c.add(-0.85, ms(1500), fmt.Sprintf("field_simplify in %s.", n))
			}
		}
	}
	// Closed arithmetic over nat: compute in binary Z, not in unary nat.
	// (LeverPowMod proposes it with the rewrites in any order.)
	if !s.powmod && g.integ && len(g.hyps) == 0 && !s.needIntros && (strings.Contains(concl, "^") || strings.Contains(concl, "mod")) {
		c.add(-0.30, ms(3000), "apply Nat2Z.inj; rewrite ?Nat2Z.inj_mod, ?Nat2Z.inj_pow, ?Nat2Z.inj_add, ?Nat2Z.inj_mul; vm_compute; reflexivity.")
	}
	// Conditional equations (forall n, P n -> f n = ...): rewrite, side goals by computation.
	for _, h := range s.rewrites {
		c.add(-0.65, ms(2000), fmt.Sprintf("%srewrite %s by (reflexivity || lia || lra); reflexivity.", pre, h))
		c.add(-0.70, ms(2000), fmt.Sprintf("%srewrite %s by (reflexivity || lia || lra); lia.", pre, h))
	}

}

// caseSplits adds absolute-value and complex-number splits, induction,
// unfolding the header's own definitions and interval.
func (s coqState) caseSplits(c *cset, header string) {
	g, concl, pre := s.g, s.g.concl, s.pre
	// Absolute values: case splits that lra/nra can finish.
	if strings.Contains(all(g), "Rabs") {
		c.add(-0.55, ms(2000), pre+"split_Rabs; lra.")
		c.add(-0.75, ms(2500), pre+"split_Rabs; nra.")
	}
	// Complex numbers (Coquelicot's C = R * R): compare both projections.
	if g.complex {
		for i, cl := range []string{"field", "lra", "nra"} {
			c.add(-0.45-0.1*float64(i), ms(2500), "intros; subst; apply injective_projections; simpl; "+cl+".")
		}
	}
	// Induction on a nat variable of the conclusion.
	for _, v := range g.natVars {
		if !strings.Contains(concl, v) {
			continue
		}
		for i, cl := range []string{"lia", "nia"} {
			c.add(-0.9-0.05*float64(i), ms(1500), fmt.Sprintf("induction %s; simpl; %s.", v, cl))
		}
	}
	// Functions the theorem's own header defines: each, and all at once.
	var used []string
	for _, f := range headerDefs(header) {
		if !strings.Contains(all(g), f) {
			continue
		}
		used = append(used, f)
		c.add(-0.6, ms(1000), fmt.Sprintf("unfold %s in *.", f))
		for _, cl := range []string{"lia", "lra", "reflexivity", "nia"} {
			c.add(-0.65, ms(2000), fmt.Sprintf("%sunfold %s in *; %s.", pre, f, cl))
		}
	}
	if len(used) > 1 {
		c.add(-0.55, ms(1000), fmt.Sprintf("%sunfold %s in *.", pre, strings.Join(used, ", ")))
	}
	if g.interval && g.real {
		c.add(-0.5, ms(3000), pre+"interval.")
	}

}

// transformingSteps adds the steps that open new states for the next
// expansion (intros, subst, destruct, split, witnesses...).
func (s coqState) transformingSteps(c *cset) {
	g, concl, pre := s.g, s.g.concl, s.pre
	// Transforming steps open new states for the next expansion.
	if s.needIntros {
		c.add(-0.25, ms(1000), "intros.")
	}
	if s.hasVarEq {
		c.add(-0.50, ms(1000), "subst.")
	}
	for _, d := range s.destructs {
		c.add(-0.45, ms(1000), d)
	}
	switch {
	case strings.Contains(concl, " /\\ ") && !strings.HasPrefix(concl, "forall") && !strings.HasPrefix(concl, "exists"):
		c.add(-0.40, ms(1000), "split.")
		for _, cl := range []string{"lra", "nra", "lia", "nia", "auto"} {
			c.add(-0.45, ms(3000), "repeat split; "+cl+".")
		}
	case strings.Contains(concl, " <-> ") && !strings.HasPrefix(concl, "forall"):
		c.add(-0.45, ms(1000), "split; intros.")
		c.add(-0.6, ms(1000), "split.")
	case strings.HasPrefix(concl, "exists "):
		seen := map[string]bool{}
		for _, n := range append(numeralRE.FindAllString(concl, 6), "0", "1", "2") {
			if seen[n] {
				continue
			}
			seen[n] = true
			c.add(-0.9, ms(1000), "exists "+n+".")
		}
		c.add(-1.2, ms(1000), "eexists.")
	}
	if strings.Contains(concl, " \\/ ") && !strings.HasPrefix(concl, "forall") {
		c.add(-0.9, ms(1000), "left.")
		c.add(-0.9, ms(1000), "right.")
	}
	if g.real && divRE.MatchString(concl) {
		c.add(-0.7, ms(1500), "field_simplify.")
		c.add(-0.5, ms(2000), pre+"field_simplify_eq; lra.")
		c.add(-0.6, ms(2500), pre+"field_simplify_eq; nra.")
		c.add(-0.75, ms(1500), pre+"field_simplify_eq.")
	}
	if strings.Contains(concl, "Rabs") {
		if !s.prune { // split_Rabs; lra does the same
			c.add(-0.8, ms(1000), "unfold Rabs; repeat destruct Rcase_abs; lra.")
		}
	}
	if strings.Contains(concl, "sqrt") {
		c.add(-1.0, ms(1000), "rewrite sqrt_square; lra.")
	}
	// vm_compute decides closed computations over nat and Z; over R (an
	// axiomatised type) it never closes anything.
	if !g.real && (strings.Contains(concl, "mod") || strings.Contains(concl, "/")) {
		leash := 2000
		if s.powmod {
			leash = 1000
		}
		c.add(-0.8, ms(leash), "intros; subst; vm_compute; reflexivity.")
	}
}

// definesFunction reports whether a hypothesis defines a function, maybe
// under conditions: forall x..., [P x -> ...] f x... = RHS.
func definesFunction(typ string) bool {
	if !strings.HasPrefix(typ, "forall ") {
		return false
	}
	i := strings.Index(typ, ", ")
	if i < 0 {
		return false
	}
	body := typ[i+2:]
	if j := strings.LastIndex(body, " -> "); j >= 0 {
		body = body[j+4:]
	}
	return funcEqRE.MatchString(body)
}

// all is the goal's text: conclusion and hypotheses.
func all(g coqGoal) string {
	var sb strings.Builder
	sb.WriteString(g.concl)
	for _, h := range g.hyps {
		sb.WriteString(" ")
		sb.WriteString(h.typ)
	}
	return sb.String()
}

var headerDefRE = regexp.MustCompile(`(?m)^\s*(?:Definition|Fixpoint|Function)\s+([\p{L}_][\p{L}\p{N}_']*)`)

// headerDefs lists the functions a theorem's header defines.
func headerDefs(header string) []string {
	var out []string
	for _, m := range headerDefRE.FindAllStringSubmatch(header, -1) {
		out = append(out, m[1])
	}
	return out
}

// leanCandidates is the portfolio for Lean 4 + Mathlib states.
func leanCandidates(req prover.ProposalRequest) []prover.Candidate {
	var c cset
	state := req.State.Text
	for i, t := range []string{"norm_num", "linarith", "nlinarith", "simp", "omega", "positivity", "ring_nf", "field_simp", "decide", "norm_num [*] at *", "nlinarith [sq_nonneg (a - b)]", "aesop"} {
		if strings.Contains(t, "a - b") && !(strings.Contains(state, "a :") && strings.Contains(state, "b :")) {
			continue
		}
		c.add(-0.05-0.1*float64(i), 0, t)
	}
	if strings.Contains(state, "⊢ ∀") || strings.Contains(state, "→") {
		c.add(-0.3, 0, "intro")
	}
	return c.list
}

// isabelleCandidates is the portfolio for Isabelle/HOL states.
func isabelleCandidates(req prover.ProposalRequest) []prover.Candidate {
	var c cset
	ts := []string{"by simp", "by auto", "by arith", "by linarith", "by (simp add: field_simps)", "by algebra", "by fastforce", "by presburger", "by eval"}
	for i, t := range ts {
		c.add(-0.05-0.1*float64(i), 0, t)
	}
	// last, as Draft-Sketch-Prove closes its holes: the session runs
	// sledgehammer (its own deadline) and checks the tactic it suggests
	c.add(-0.05-0.1*float64(len(ts)), 0, "sledgehammer")
	return c.list
}
