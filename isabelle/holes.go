package isabelle

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Holes of an Isabelle theory (llemma-prove fill, llemma/fill).
//
// A hole is a `sorry` word or a `\<proof>` symbol of the theory's outer
// syntax, found by the final check's own tokeniser (ScanIsabelle: nested
// (* *) comments, nested cartouches, strings), so that a sorry in a
// comment, a text block's cartouche or a string is never a hole. The text
// is tokenised under both readings of the UTF-8 cartouche delimiters ‹ ›
// (as RefuseSolution does); a file on which the two readings disagree
// about the holes is refused. Each hole is classified, conservatively:
//
//   - supported: the hole is the proof method that ends an apply-style
//     proof of a theory-level goal command (theorem, lemma, corollary,
//     proposition, schematic_goal) outside any local theory block, and
//     what stands between the statement and the hole are apply-style
//     steps that pass the tactic policy (`lemma x: "P" sorry`, `lemma x:
//     "P" apply simp sorry`); it is filled by the search's steps, one a
//     line at the hole's indentation, and `done`, as Assemble writes a
//     proof;
//   - supported too: the hole is the proof of a local goal of a
//     structured proof (`have`, `show`, `hence`, `thus`, as the holes of
//     a Draft-Sketch-Prove sketch: `proof - have h: "P" sorry ... qed`),
//     with only apply-style steps (`using`, `apply`, ...) between the
//     local statement and the hole; it is filled the same way, the
//     `done` closing that local goal;
//   - anything else (a sorry after `obtain`, `proof`, `next` or `qed`, in
//     a locale or context block, outside a goal command) is Unsupported
//     and left as it is.
//
// A file whose text the final check would refuse (ML, file access,
// axioms, oops... : RefuseSolution, with the holes themselves masked) has
// no holes to search: Holes says why, and nothing of it reaches the server.
//
// Reaching a hole's goal: the theory before the hole's goal command
// (earlier holes left as they are) is the theorem's header, the goal
// command's statement its statement (for a local goal: the statement, the
// proof text up to the local statement, and that statement), and the
// steps before the hole are replayed as the session's root path; the
// session then works like Open's (every state re-checked in a fresh
// theory; for a local goal the check ends with `oops`, which drops the
// enclosing proof once the local goal is done). Closing the root is the
// search's claim only; the filled file is judged by the Verifier.

// Kinds of Isabelle holes.
const (
	HoleSorry = "sorry"
	HoleProof = `\<proof>`
)

// prefixCommands are the steps that may stand between a statement and its
// hole.
var prefixCommands = map[string]bool{
	"apply": true, "using": true, "unfolding": true, "including": true, "defer": true, "prefer": true,
}

// blockCommands open a local theory block or a target; a hole after one is
// not at theory level.
var blockCommands = map[string]bool{
	"context": true, "locale": true, "class": true, "instantiation": true, "overloading": true,
	"notepad": true, "interpretation": true, "sublocale": true, "instance": true, "bundle": true,
}

type isaHole struct {
	prover.Hole
	thm    prover.Theorem
	prefix []string // the steps before the hole (policy-clean)
	indent string   // the hole's line's leading white space
	// local: the hole proves a local goal of a structured proof (thm's
	// statement ends with that goal's statement)
	local bool
}

// localGoalCommands state the local goals whose proofs are searched.
var localGoalCommands = map[string]bool{"have": true, "show": true, "hence": true, "thus": true}

// holeTokens returns the significant tokens of src (no space, no comment)
// under one reading of ‹ ›.
func holeTokens(src string, uni bool) ([]Token, error) {
	toks, err := scanIsabelle(src, uni)
	if err != nil {
		return nil, err
	}
	out := toks[:0]
	for _, t := range toks {
		if t.Kind != TokSpace && t.Kind != TokComment {
			out = append(out, t)
		}
	}
	return out, nil
}

func isHoleTok(sig []Token, i int) bool {
	t := sig[i]
	switch {
	case t.Kind == TokSymbol && t.Text == HoleProof:
		return true
	case t.Kind == TokWord && t.Text == "sorry":
		// a.sorry is a name, not the command
		adj := func(j int) bool {
			return j >= 0 && j < len(sig) && sig[j].Kind == TokOther && sig[j].Text == "." &&
				(sig[j].Pos+1 == t.Pos || t.Pos+len(t.Text) == sig[j].Pos)
		}
		return !adj(i-1) && !adj(i+1)
	}
	return false
}

func parseIsabelleHoles(b *Backend, src string) ([]isaHole, error) {
	if strings.ContainsRune(src, 0) {
		return nil, fmt.Errorf("%w: the file contains a NUL byte", ErrScan)
	}
	sig, err := holeTokens(src, true)
	if err != nil {
		return nil, err
	}
	alt, err := holeTokens(src, false)
	if err != nil {
		return nil, fmt.Errorf("the file reads differently when ‹ › are not cartouche delimiters: %w", err)
	}
	var at, altAt []int
	for i := range sig {
		if isHoleTok(sig, i) {
			at = append(at, i)
		}
	}
	for i := range alt {
		if isHoleTok(alt, i) {
			altAt = append(altAt, alt[i].Pos)
		}
	}
	if len(at) != len(altAt) {
		return nil, fmt.Errorf("%w: the holes differ when ‹ › are not cartouche delimiters", ErrScan)
	}
	for k, i := range at {
		if sig[i].Pos != altAt[k] {
			return nil, fmt.Errorf("%w: the holes differ when ‹ › are not cartouche delimiters", ErrScan)
		}
	}
	// the final check's refusals, the holes masked: nothing it would
	// refuse is ever sent to the server on the way to a hole
	masked := []byte(src)
	for _, i := range at {
		for k := sig[i].Pos; k < sig[i].Pos+len(sig[i].Text); k++ {
			masked[k] = ' '
		}
	}
	if r := RefuseSolution(string(masked)); r != nil {
		return nil, fmt.Errorf("the final check would refuse this file (%v), so its holes are not searched", r)
	}
	// the theory's begin
	bodyStart := -1
	for i, t := range sig {
		if t.Kind == TokWord && t.Text == "begin" {
			bodyStart = i + 1
			break
		}
	}
	var holes []isaHole
	for _, i := range at {
		t := sig[i]
		kind := HoleSorry
		if t.Kind == TokSymbol {
			kind = HoleProof
		}
		ls := strings.LastIndexByte(src[:t.Pos], '\n') + 1
		h := isaHole{Hole: prover.Hole{
			Index: len(holes), Kind: kind, Start: t.Pos, End: t.Pos + len(t.Text),
			Line: t.Line, Column: len([]rune(src[ls:t.Pos])) + 1,
		}}
		lead := src[ls:t.Pos]
		if strings.TrimLeft(lead, " \t") == "" {
			h.indent = lead
		} else {
			h.indent = lead[:len(lead)-len(strings.TrimLeft(lead, " \t"))] + "  "
		}
		h.Unsupported = classifyHole(b, src, sig, bodyStart, i, &h)
		holes = append(holes, h)
	}
	return holes, nil
}

// classifyHole fills h's theorem and prefix, or says why it is unsupported.
func classifyHole(b *Backend, src string, sig []Token, bodyStart, i int, h *isaHole) string {
	if bodyStart < 0 || i < bodyStart {
		return "hole outside the theory body"
	}
	decl := -1
	for j := i - 1; j >= bodyStart; j-- {
		if sig[j].Kind == TokWord && goalCommands[sig[j].Text] {
			decl = j
			break
		}
	}
	if decl < 0 {
		return "hole outside a theorem, lemma, corollary, proposition or schematic_goal"
	}
	depth := 0
	for j := bodyStart; j < decl; j++ {
		if sig[j].Kind != TokWord {
			continue
		}
		switch {
		case blockCommands[sig[j].Text]:
			return "hole in a local theory block (" + sig[j].Text + "): only theory-level goals are searched"
		case sig[j].Text == "begin":
			depth++
		case sig[j].Text == "end":
			depth--
		}
	}
	if depth != 0 {
		return "hole in a local theory block: only theory-level goals are searched"
	}
	// the statement: from the command to the first proof command
	stmtEnd := -1
	for j := decl + 1; j <= i; j++ {
		if sig[j].Kind == TokWord && proofStart[sig[j].Text] || j == i {
			stmtEnd = j
			break
		}
	}
	for j := decl + 1; j < stmtEnd; j++ {
		if sig[j].Kind == TokWord && (goalCommands[sig[j].Text] || sig[j].Text == "qed" || sig[j].Text == "have" || sig[j].Text == "show") {
			return "hole after a statement that cannot be read"
		}
	}
	name := ""
	if decl+2 < len(sig) && sig[decl+1].Kind == TokWord && (sig[decl+2].Text == ":" || sig[decl+2].Text == "[") {
		name = sig[decl+1].Text
	}
	if name == "" {
		name = fmt.Sprintf("%s_line_%d", sig[decl].Text, sig[decl].Line)
	}
	h.Theorem = name
	h.Statement = strings.TrimRight(src[sig[decl].Pos:sig[stmtEnd].Pos], " \t\r\n")
	h.thm = prover.Theorem{Name: name, Backend: "isabelle", Header: src[:sig[decl].Pos], Statement: h.Statement}
	if _, err := Imports(h.thm); err != nil {
		return "the theory header cannot be read: " + err.Error()
	}
	if stmtEnd < i {
		// an apply script, else (other commands, or comments that
		// splitCommands refuses) a structured proof
		cmds, err := splitCommands(src[sig[stmtEnd].Pos:sig[i].Pos])
		if err != nil {
			return localHole(b, src, sig, decl, stmtEnd, i, h)
		}
		for _, c := range cmds {
			if !prefixCommands[firstWord(c)] {
				return localHole(b, src, sig, decl, stmtEnd, i, h)
			}
			t, err := b.policy.Check(c)
			if err != nil {
				return fmt.Sprintf("a step before the hole does not pass the tactic policy: %v", err)
			}
			h.prefix = append(h.prefix, t)
		}
	}
	// the hole ends the proof: what follows must not continue it
	if i+1 < len(sig) && sig[i+1].Kind == TokWord && commandWords[sig[i+1].Text] &&
		!goalCommands[sig[i+1].Text] && sig[i+1].Text != "end" && sig[i+1].Text != "declare" && sig[i+1].Text != "definition" {
		return "the hole is followed by proof text (" + sig[i+1].Text + ")"
	}
	return ""
}

// localHole classifies a hole inside a structured proof (decl's proof
// starts at stmtEnd, the hole is sig[i]): supported when the last command
// before it that is not an apply-style step states a local goal.
func localHole(b *Backend, src string, sig []Token, decl, stmtEnd, i int, h *isaHole) string {
	// the commands between the statement and the hole, at depth 0
	var cmds []int
	depth := 0
	for j := stmtEnd; j < i; j++ {
		t := sig[j]
		switch {
		case t.Kind == TokOther && (t.Text == "(" || t.Text == "["):
			depth++
		case t.Kind == TokOther && (t.Text == ")" || t.Text == "]"):
			depth--
		case t.Kind == TokWord && depth == 0 && commandWords[t.Text] && !isHoleTok(sig, j):
			cmds = append(cmds, j)
		}
	}
	goal := -1
	for k := len(cmds) - 1; k >= 0; k-- {
		if !prefixCommands[sig[cmds[k]].Text] {
			goal = k
			break
		}
	}
	if goal < 0 {
		return "the proof before the hole is not a plain apply script"
	}
	g := cmds[goal]
	if !localGoalCommands[sig[g].Text] {
		return "the hole follows `" + sig[g].Text + "`: only the proofs of have, show, hence and thus are searched"
	}
	for _, j := range cmds[:goal] {
		if w := sig[j].Text; goalCommands[w] || w == "end" || blockCommands[w] {
			return "the proof before the hole cannot be read (" + w + ")"
		}
	}
	stepsAt := sig[i].Pos
	if goal+1 < len(cmds) {
		stepsAt = sig[cmds[goal+1]].Pos
	}
	local := strings.TrimRight(src[sig[g].Pos:stepsAt], " \t\r\n")
	if local == sig[g].Text {
		return "the local goal before the hole has no statement"
	}
	h.prefix = nil
	if stepsAt < sig[i].Pos {
		steps, err := splitCommands(src[stepsAt:sig[i].Pos])
		if err != nil {
			return "the steps between the local goal and the hole are not a plain apply script"
		}
		for _, c := range steps {
			t, err := b.policy.Check(c)
			if err != nil {
				return fmt.Sprintf("a step before the hole does not pass the tactic policy: %v", err)
			}
			h.prefix = append(h.prefix, t)
		}
	}
	h.local = true
	h.Statement = local
	h.thm.Statement = strings.TrimRight(src[sig[decl].Pos:stepsAt], " \t\r\n")
	return ""
}

// Holes lists the sorry and \<proof> holes of an Isabelle theory in order
// (see the top of holes.go). An error means the file cannot be tokenised,
// or not the same way under both readings of ‹ ›.
func (b *Backend) Holes(src string) ([]prover.Hole, error) {
	hs, err := parseIsabelleHoles(b, src)
	if err != nil {
		return nil, err
	}
	out := make([]prover.Hole, len(hs))
	for i, h := range hs {
		out[i] = h.Hole
	}
	return out, nil
}

func findHole(hs []isaHole, h prover.Hole) (isaHole, error) {
	if h.Index < 0 || h.Index >= len(hs) || hs[h.Index].Start != h.Start || hs[h.Index].End != h.End {
		return isaHole{}, fmt.Errorf("hole %d is not a hole of this file", h.Index+1)
	}
	return hs[h.Index], nil
}

// OpenHole opens a session rooted at hole h of src: the theory before h's
// goal command is the header, the goal command's statement the statement,
// and the steps before h are replayed; the goal they leave is the root. A
// hole that is unsupported, or a file that does not load up to it or leaves
// no goal there, is prover.ErrLoad.
func (b *Backend) OpenHole(ctx context.Context, src string, h prover.Hole) (prover.Session, error) {
	if h.Unsupported != "" {
		return nil, fmt.Errorf("%w: hole %d: %s", prover.ErrLoad, h.Index+1, h.Unsupported)
	}
	hs, err := parseIsabelleHoles(b, src)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", prover.ErrLoad, err)
	}
	ih, err := findHole(hs, h)
	if err != nil {
		return nil, err
	}
	if ih.Unsupported != "" {
		return nil, fmt.Errorf("%w: hole %d: %s", prover.ErrLoad, h.Index+1, ih.Unsupported)
	}
	s := &Session{b: b, thm: ih.thm, local: ih.local, sess: b.sessionFor(ih.thm), nodes: map[prover.StateID]*stepNode{}}
	timeout := b.cfg.StepTimeout * 3
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	out, err := s.check(ctx, ih.prefix, timeout)
	if err != nil {
		return nil, fmt.Errorf("opening hole %d (line %d): %w", h.Index+1, h.Line, err)
	}
	switch out.Status {
	case prover.StepOpen:
	case prover.StepProved:
		return nil, fmt.Errorf("hole %d (line %d): %w", h.Index+1, h.Line, prover.ErrHoleDone)
	default:
		return nil, fmt.Errorf("%w: hole %d (line %d): the file does not load up to the hole: %s", prover.ErrLoad, h.Index+1, h.Line, out.Message)
	}
	s.next = 1
	out.State.ID = s.next
	s.root = out.State
	s.nodes[s.next] = &stepNode{steps: append([]string(nil), ih.prefix...), state: out.State}
	return s, nil
}

// FillHoles returns src with each hole in fills replaced by its steps
// (sledgehammer steps resolved as in Assemble, each command passing the
// tactic policy again), one a line at the hole's indentation, and `done`.
// No steps at all are allowed only for a hole after steps of the file
// (OpenHole's prover.ErrHoleDone: they left no goal): it becomes `done`.
func (b *Backend) FillHoles(src string, holes []prover.Hole, fills map[int][]string) (string, error) {
	hs, err := parseIsabelleHoles(b, src)
	if err != nil {
		return "", err
	}
	if len(hs) != len(holes) {
		return "", fmt.Errorf("the file has %d holes, not %d", len(hs), len(holes))
	}
	var sb strings.Builder
	last := 0
	for i, h := range hs {
		if h.Start != holes[i].Start || h.End != holes[i].End {
			return "", fmt.Errorf("hole %d moved: fill the holes of this very file", i+1)
		}
		tacs, ok := fills[i]
		if !ok {
			continue
		}
		if h.Unsupported != "" {
			return "", fmt.Errorf("hole %d is unsupported: %s", i+1, h.Unsupported)
		}
		if len(tacs) == 0 && len(h.prefix) == 0 {
			return "", fmt.Errorf("hole %d: no steps", i+1)
		}
		var lines []string
		for _, step := range b.resolve(h.thm, tacs) {
			for _, l := range strings.Split(step, "\n") {
				l = strings.TrimSpace(l)
				if l == "" {
					continue
				}
				t, err := b.policy.Check(l)
				if err != nil {
					return "", fmt.Errorf("hole %d: step %q: %w", i+1, l, err)
				}
				if t == "sledgehammer" {
					return "", fmt.Errorf("hole %d: a sledgehammer step was never resolved into a tactic", i+1)
				}
				lines = append(lines, t)
			}
		}
		if len(lines) == 0 && (len(tacs) > 0 || len(h.prefix) == 0) {
			return "", fmt.Errorf("hole %d: no steps", i+1)
		}
		lines = append(lines, closeProof)
		sb.WriteString(src[last:h.Start])
		sb.WriteString(strings.Join(lines, "\n"+h.indent))
		last = h.End
	}
	sb.WriteString(src[last:])
	return sb.String(), nil
}

var _ prover.HoleBackend = (*Backend)(nil)
