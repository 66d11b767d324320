package lean

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Holes of a Lean file (llemma-prove fill, llemma/fill, sketch mode).
//
// A hole is a `sorry` token of the file's code, found by the verifier's
// own tokeniser (ScanLean's lexer: nested /- -/ comments, -- line
// comments, strings, raw strings, character literals), so that a sorry in
// a comment or a string is never a hole. A file that lexer cannot tokenise
// unambiguously is refused, and so is one the final check's scan refuses
// (its code would run in the REPL). Each hole is classified, conservatively:
//
//   - tactic, whole block: `by sorry`, `· sorry`, followed by nothing
//     more on its line (or a closing bracket or comma); filled as
//     `(tac1; tac2)`;
//   - tactic, a line of its own in a tactic block: sorry alone on its
//     line, at the column of its sibling lines, the block opened by a
//     line ending with `by` (or a `·` bullet at that column); filled by
//     the tactics, one a line at that column;
//   - term: after `:=`, `exact`, `(`, `⟨`; filled as `(by tac1; tac2)`;
//   - anything else (after `<;>`, `=>`, inside all_goals, ...) is
//     Unsupported and left as it is.
//
// Reaching a hole's goal: the file's import lines are the header (a warm
// REPL process of the pool, keyed by them); the rest of the file, up to
// the next column-0 command after the hole's declaration (white space
// before it dropped) or to the end of the file as it is, is sent as one
// command on the header's env. The response must carry no error, and
// exactly one `sorries` entry whose pos and endPos are the hole's (counted
// from the command's start, columns in code points): its proofState is
// the session's root. Closing the root (proofStatus Completed) is the
// search's claim only; the filled file is judged by the Verifier.

// HoleSorry is the kind of every Lean hole.
const HoleSorry = "sorry"

// How a hole is filled.
const (
	posUnsupported = iota
	posTacticInline
	posTacticLine
	posTerm
)

type leanHole struct {
	prover.Hole
	pos    int
	column int // the hole's column in code points (posTacticLine)
	cut    int // end of the command sent for it
}

type leanFile struct {
	src       string
	headerEnd int
	holes     []leanHole
}

// Lean commands that end the declaration before them, when they start a
// line.
var holeCommands = map[string]bool{
	"theorem": true, "lemma": true, "def": true, "example": true, "instance": true, "abbrev": true,
	"axiom": true, "opaque": true, "structure": true, "class": true, "inductive": true,
	"namespace": true, "section": true, "end": true, "open": true, "variable": true, "universe": true,
	"set_option": true, "attribute": true, "noncomputable": true, "private": true, "protected": true,
	"mutual": true, "macro": true, "syntax": true, "notation": true, "local": true, "scoped": true,
	"deriving": true, "export": true, "omit": true, "include": true,
}

// Declarations a hole can be in.
var holeDecls = map[string]bool{
	"theorem": true, "lemma": true, "def": true, "example": true, "instance": true, "abbrev": true,
}

func parseLeanHoles(src string) (*leanFile, error) {
	if !utf8.ValidString(src) {
		return nil, fmt.Errorf("the file is not valid UTF-8")
	}
	if strings.ContainsRune(src, 0) {
		return nil, fmt.Errorf("the file contains a NUL byte")
	}
	s := &scanner{src: src}
	s.lex()
	if len(s.out.Refusals) > 0 {
		return nil, fmt.Errorf("the file cannot be tokenised unambiguously: %s", s.out.Refusals[0])
	}
	// what the final check's scan refuses (compile-time code, system
	// access...) is never sent to a REPL on the way to a hole
	if rs := ScanLean(src).Refusals; len(rs) > 0 {
		return nil, fmt.Errorf("the final check would refuse this file (%s), so its holes are not searched", rs[0])
	}
	toks := s.toks
	f := &leanFile{src: src}
	// The header: the import commands the file starts with.
	k := 0
	for k+1 < len(toks) && toks[k].kind == tkIdent && toks[k].text == "import" && toks[k+1].kind == tkIdent {
		f.headerEnd = toks[k+1].off + len(toks[k+1].text)
		k += 2
	}
	if f.headerEnd > 0 {
		rest := src[f.headerEnd:]
		if nl := strings.IndexByte(rest, '\n'); nl >= 0 && strings.TrimSpace(rest[:nl]) == "" {
			f.headerEnd += nl + 1
		} else if nl < 0 && strings.TrimSpace(rest) == "" {
			f.headerEnd = len(src)
		}
	}
	lineStart := func(off int) int { return strings.LastIndexByte(src[:off], '\n') + 1 }
	col := func(off int) int { return utf8.RuneCountInString(src[lineStart(off):off]) }
	atCol0 := func(t leanTok) bool { return t.off == 0 || src[t.off-1] == '\n' }
	isCmd := func(t leanTok) bool {
		return atCol0(t) && ((t.kind == tkIdent && holeCommands[t.text]) || t.kind == tkHash || (t.kind == tkSym && t.text == "@"))
	}
	sym := func(i int, text string) bool {
		return i >= 0 && i < len(toks) && toks[i].kind == tkSym && toks[i].text == text
	}
	sameLine := func(a, b int) bool { return !strings.Contains(src[a:b], "\n") }
	firstOnLine := func(i int) bool { return i == 0 || !sameLine(toks[i-1].off, toks[i].off) }
	for i := k; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tkIdent || t.text != "sorry" {
			continue
		}
		h := leanHole{Hole: prover.Hole{Index: len(f.holes), Kind: HoleSorry, Start: t.off, End: t.off + len("sorry")}}
		h.Line = strings.Count(src[:t.off], "\n") + 1
		h.Column = col(t.off) + 1
		h.column = col(t.off)
		// The declaration: the last column-0 declaration keyword before.
		decl := -1
		for j := i - 1; j >= k; j-- {
			if isCmd(toks[j]) {
				if toks[j].kind == tkIdent && holeDecls[toks[j].text] {
					decl = j
				}
				break
			}
		}
		// Modifiers before a declaration keyword on its line.
		if decl < 0 {
			for j := i - 1; j >= k; j-- {
				if toks[j].kind == tkIdent && holeDecls[toks[j].text] {
					// accept `private theorem`, `@[simp] theorem` on a line of their own
					for m := j - 1; m >= k && sameLine(toks[m].off, toks[j].off); m-- {
						if isCmd(toks[m]) {
							decl = j
						}
					}
					break
				}
				if isCmd(toks[j]) {
					break
				}
			}
		}
		// The cut: the next command after the hole.
		h.cut = len(src)
		for j := i + 1; j < len(toks); j++ {
			if isCmd(toks[j]) {
				h.cut = len(strings.TrimRight(src[:toks[j].off], " \t\r\n"))
				break
			}
		}
		if decl < 0 {
			h.Unsupported = "sorry outside a theorem, lemma, def, abbrev, instance or example"
			f.holes = append(f.holes, h)
			continue
		}
		if toks[decl].text == "example" {
			h.Theorem = "example"
		} else if decl+1 < len(toks) && toks[decl+1].kind == tkIdent {
			h.Theorem = toks[decl+1].text
		}
		stmtEnd := t.off
		for j := decl + 1; j < i; j++ {
			if sym(j, ":") && sym(j+1, "=") && toks[j+1].off == toks[j].off+1 {
				stmtEnd = toks[j].off
				break
			}
		}
		h.Statement = strings.TrimSpace(src[toks[decl].off:stmtEnd])
		h.pos, h.Unsupported = classifySorry(src, toks, i, k, firstOnLine, sameLine, col, sym)
		if h.pos == posUnsupported && h.Unsupported == "" {
			h.Unsupported = "sorry in a position that is neither clearly a tactic nor clearly a term"
		}
		f.holes = append(f.holes, h)
	}
	return f, nil
}

// classifySorry tells how token i (a sorry) is filled (see the top of the
// file).
func classifySorry(src string, toks []leanTok, i, k int, firstOnLine func(int) bool, sameLine func(a, b int) bool,
	col func(int) int, sym func(int, string) bool) (int, string) {
	if i == k {
		return posUnsupported, ""
	}
	p := toks[i-1]
	endOK := i+1 >= len(toks) || !sameLine(toks[i].off, toks[i+1].off) ||
		sym(i+1, ")") || sym(i+1, "]") || sym(i+1, "⟩") || sym(i+1, ",") || sym(i+1, "}")
	switch {
	case p.kind == tkSym && p.text == "=" && sym(i-2, ":") && toks[i-2].off+1 == p.off,
		p.kind == tkIdent && p.text == "exact",
		p.kind == tkSym && (p.text == "(" || p.text == "⟨"):
		return posTerm, ""
	case p.kind == tkIdent && p.text == "by", p.kind == tkSym && p.text == "·" && sameLine(p.off, toks[i].off):
		if !endOK {
			return posUnsupported, "sorry followed by more tactic syntax on its line (<;>, ...): write it as a tactic of its own"
		}
		if p.text == "·" && !firstOnLine(i-1) {
			return posUnsupported, ""
		}
		return posTacticInline, ""
	}
	if !firstOnLine(i) {
		return posUnsupported, ""
	}
	if i+1 < len(toks) && sameLine(toks[i].off, toks[i+1].off) {
		return posUnsupported, "sorry followed by more on its line"
	}
	c := col(toks[i].off)
	// Walk back over the block: sibling lines start at column c, deeper
	// lines continue them; the first shallower line opens the block.
	for j := i - 1; j >= k; j-- {
		if !firstOnLine(j) {
			continue
		}
		cj := col(toks[j].off)
		switch {
		case cj > c:
			continue
		case cj == c:
			if toks[j].kind == tkSym && toks[j].text != "·" && toks[j].text != "(" {
				return posUnsupported, "" // a line starting with an operator: a term
			}
			continue
		}
		// The opening line: it ends with `by`, or is a bullet whose first
		// tactic is at column c.
		last := i - 1
		for m := j; m < i; m++ {
			if !sameLine(toks[j].off, toks[m].off) {
				break
			}
			last = m
		}
		if toks[last].kind == tkIdent && toks[last].text == "by" {
			return posTacticLine, ""
		}
		if toks[j].kind == tkSym && toks[j].text == "·" && j+1 < i && sameLine(toks[j].off, toks[j+1].off) && col(toks[j+1].off) == c {
			return posTacticLine, ""
		}
		return posUnsupported, ""
	}
	return posUnsupported, ""
}

// Holes lists the sorries of a Lean file in order (see the top of
// holes.go). An error means the file cannot be tokenised unambiguously.
func (b *Backend) Holes(src string) ([]prover.Hole, error) {
	f, err := parseLeanHoles(src)
	if err != nil {
		return nil, err
	}
	out := make([]prover.Hole, len(f.holes))
	for i, h := range f.holes {
		out[i] = h.Hole
	}
	return out, nil
}

// find returns the file's hole matching h.
func (f *leanFile) find(h prover.Hole) (leanHole, error) {
	if h.Index < 0 || h.Index >= len(f.holes) || f.holes[h.Index].Start != h.Start || f.holes[h.Index].End != h.End {
		return leanHole{}, fmt.Errorf("hole %d is not a hole of this file", h.Index+1)
	}
	return f.holes[h.Index], nil
}

// replPos is the REPL's position of byte off of the command that starts at
// byte from: line 1-based, column in code points.
func replPos(src string, from, off int) Pos {
	seg := src[from:off]
	line := strings.Count(seg, "\n") + 1
	ls := strings.LastIndexByte(seg, '\n') + 1
	return Pos{Line: line, Column: utf8.RuneCountInString(seg[ls:])}
}

// OpenHole opens a session rooted at hole h of src: the rest of the file
// after its imports, through h's declaration, is sent on a warm process
// of the imports' header and the sorry at h's position is the root. A file
// that does not load up to the hole, or gives no single proof state for
// it, is prover.ErrLoad.
func (b *Backend) OpenHole(ctx context.Context, src string, h prover.Hole) (prover.Session, error) {
	if h.Unsupported != "" {
		return nil, fmt.Errorf("%w: hole %d: %s", prover.ErrLoad, h.Index+1, h.Unsupported)
	}
	f, err := parseLeanHoles(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", prover.ErrLoad, err)
	}
	lh, err := f.find(h)
	if err != nil {
		return nil, err
	}
	if lh.Unsupported != "" {
		return nil, fmt.Errorf("%w: hole %d: %s", prover.ErrLoad, h.Index+1, lh.Unsupported)
	}
	if b.closed.Load() {
		return nil, prover.ErrClosed
	}
	if err := b.brokenErr(); err != nil {
		return nil, err
	}
	cmd := src[f.headerEnd:lh.cut]
	start, end := replPos(src, f.headerEnd, lh.Start), replPos(src, f.headerEnd, lh.End)
	thm := prover.Theorem{Name: lh.Theorem, Backend: "lean", Header: src[:f.headerEnd], Statement: lh.Statement}
	begin := time.Now()
	select {
	case b.sessions <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a lean process: gave up after %v: %w", time.Since(begin).Round(time.Millisecond), context.Cause(ctx))
	case <-b.life.Done():
		return nil, prover.ErrClosed
	}
	s := &session{b: b, thm: thm, states: map[prover.StateID]*stateRec{}}
	s.load = func(ctx context.Context, r *repl) (int, string, error) {
		resp, err := r.roundTrip(ctx, CommandRequest{Cmd: cmd, Env: Env(r.headerEnv)}, s.requestLimit("loading the file up to the hole"))
		r.requests++
		if err != nil {
			return 0, "", err
		}
		if msg := responseError(resp); msg != "" {
			return 0, "", fmt.Errorf("%w: hole %d (line %d): the file does not load up to the hole: %s", prover.ErrLoad, h.Index+1, h.Line, msg)
		}
		var found []Sorry
		for _, so := range resp.Command.Sorries {
			if so.Pos != nil && *so.Pos == start && (so.EndPos == nil || *so.EndPos == end) {
				found = append(found, so)
			}
		}
		if len(found) != 1 {
			return 0, "", fmt.Errorf("%w: hole %d (line %d): lean gave %d proof states at the hole, want exactly 1", prover.ErrLoad, h.Index+1, h.Line, len(found))
		}
		return found[0].ProofState, found[0].Goal, nil
	}
	r, err := b.get(ctx, thm.Header)
	if err != nil {
		<-b.sessions
		return nil, fmt.Errorf("opening hole %d: %w", h.Index+1, err)
	}
	s.repl = r
	ps, goal, err := s.loadRoot(ctx)
	if err != nil {
		s.release()
		<-b.sessions
		return nil, fmt.Errorf("opening hole %d: %w", h.Index+1, b.noteFailure(ctx, err))
	}
	goals := []string{goal}
	s.states[0] = &stateRec{goals: goals, gen: r.gen, ps: ps}
	s.root = prover.State{ID: 0, Goals: goals, Text: goal}
	s.next = 1
	return s, nil
}

// FillHoles returns src with each hole in fills replaced by its tactics
// (see the top of holes.go): `(by t1; t2)` for a term, `(t1; t2)` for a
// whole tactic block, the tactics one a line for a tactic line. A hole
// whose tactics span lines can only be filled on a line of its own.
func (b *Backend) FillHoles(src string, holes []prover.Hole, fills map[int][]string) (string, error) {
	f, err := parseLeanHoles(src)
	if err != nil {
		return "", err
	}
	if len(f.holes) != len(holes) {
		return "", fmt.Errorf("the file has %d holes, not %d", len(f.holes), len(holes))
	}
	var sb strings.Builder
	last := 0
	for i, h := range f.holes {
		if h.Start != holes[i].Start || h.End != holes[i].End {
			return "", fmt.Errorf("hole %d moved: fill the holes of this very file", i+1)
		}
		tacs, ok := fills[i]
		if !ok {
			continue
		}
		if len(tacs) == 0 {
			return "", fmt.Errorf("hole %d: no tactics", i+1)
		}
		var clean []string
		multi := false
		for _, t := range tacs {
			t = strings.TrimSpace(t)
			if t == "" {
				return "", fmt.Errorf("hole %d: an empty tactic", i+1)
			}
			if strings.Contains(t, "\n") {
				multi = true
			}
			clean = append(clean, t)
		}
		var repl string
		switch h.pos {
		case posTerm, posTacticInline:
			if multi {
				return "", fmt.Errorf("hole %d: a tactic spanning lines cannot be written in the hole's place", i+1)
			}
			repl = "(" + strings.Join(clean, "; ") + ")"
			if h.pos == posTerm {
				repl = "(by " + strings.Join(clean, "; ") + ")"
			}
		case posTacticLine:
			pad := strings.Map(func(r rune) rune {
				if r == '\t' {
					return r
				}
				return ' '
			}, src[strings.LastIndexByte(src[:h.Start], '\n')+1:h.Start])
			var lines []string
			for _, t := range clean {
				for j, l := range strings.Split(t, "\n") {
					l = strings.TrimRight(l, " \t\r")
					if strings.TrimSpace(l) == "" {
						continue
					}
					if j > 0 || len(lines) > 0 {
						l = pad + l
					}
					lines = append(lines, l)
				}
			}
			repl = strings.Join(lines, "\n")
		default:
			return "", fmt.Errorf("hole %d is unsupported: %s", i+1, h.Unsupported)
		}
		sb.WriteString(src[last:h.Start])
		sb.WriteString(repl)
		last = h.End
	}
	sb.WriteString(src[last:])
	return sb.String(), nil
}

var _ prover.HoleBackend = (*Backend)(nil)
