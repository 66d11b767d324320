package coq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Holes of a Coq file (llemma-prove fill, llemma/fill, sketch mode).
//
// A hole is one of:
//
//   - `admit.` as a sentence of its own: the focused goal at that point;
//   - `assert T by admit.`: the goal T of the assertion;
//   - `Admitted.` closing a proof: every goal left at that point.
//
// Any other sentence that names admit or give_up (`split; admit.`, `all:
// admit.`) is reported as an unsupported hole and left as it is.
//
// Reaching a hole's goal: a fresh coqtop (from the warm pool, the prelude
// loaded) is given every sentence of the file before the hole's
// declaration, with each earlier proof that still has holes closed by
// Admitted instead of Qed (so that it loads); then the declaration and its
// proof up to the hole, earlier holes of the same proof left as they are
// (admit gives their goals up; they are searched in sessions of their
// own). For `assert T by admit.` the assertion is sent as `assert T.`. An
// admit hole's goal is then focused with `{`, so that the search sees
// exactly that goal, as the fill writes it back: `{ tactics }` (bare
// tactics when the hole is the whole body of a bullet).
//
// Detecting "this hole closed": after a tactic that succeeded, Show. must
// answer "No more goals" (with or without given-up goals: those are the
// other holes) or "This subproof is complete, but there are some unfocused
// goals", and for a focused hole the closing brace must then be accepted.
// Shelved goals ("All the remaining goals are on the shelf") are not a
// closed hole. An Admitted hole needs "No more goals": every goal of the
// proof, unfocused ones included. This is the search's claim only: the
// filled file is judged by the Verifier, never by it.

// Hole kinds of a Coq file.
const (
	HoleAdmit         = "admit"
	HoleAssertByAdmit = "assert-by-admit"
	HoleAdmitted      = "Admitted"
)

var (
	// A declaration that opens proof mode: Theorem and friends, Goal, and
	// definitions given by tactics (no :=).
	declStartRE = regexp.MustCompile(`^(?:#\[[^\]]*\]\s*)*(?:(?:Local|Global|Polymorphic|Monomorphic|Program)\s+)*(Theorem|Lemma|Example|Corollary|Proposition|Fact|Remark|Property|Goal|Definition|Fixpoint|CoFixpoint|Instance|Let)\b\s*([\p{L}_][\p{L}\p{N}_']*)?`)
	closingRE   = regexp.MustCompile(`^(?:Qed|Defined|Admitted|Abort(?:\s+All)?|Save\s+[\p{L}_][\p{L}\p{N}_']*)\s*\.$`)
	assertRE    = regexp.MustCompile(`^assert\s+(.*\S)\s+by\s+admit\s*\.$`)
	// A give-up as a sentence of its own, with an optional goal selector.
	giveUpRE = regexp.MustCompile(`^(?:(?:all|\d+(?:\s*[-,]\s*\d+)*|\[[\p{L}_][\p{L}\p{N}_']*\]|!)\s*:\s*)?(?:admit|give_up)\s*\.$`)
	bulletRE = regexp.MustCompile(`^(?:-+|\++|\*+)$`)
)

// coqDecl is one declaration proved in proof mode.
type coqDecl struct {
	name    string
	stmt    int    // index of its statement sentence
	end     int    // index of its closing sentence (len(sentences) when none)
	closing string // the closing sentence ("" when none)
}

// coqFile is a source file cut into sentences.
type coqFile struct {
	src   string
	spans [][2]int
	clean []string // each sentence without comments, white space squashed
	decls []coqDecl
}

// parseFile splits src into sentences and finds its proofs.
func parseFile(src string) (*coqFile, error) {
	spans, restStart, err := SplitSpans(src)
	if err != nil {
		return nil, fmt.Errorf("the file ends inside a comment or a string")
	}
	if rest := strings.TrimSpace(stripComments(src[restStart:])); rest != "" {
		return nil, fmt.Errorf("the file ends in an unterminated sentence: %q", clip(rest, 60))
	}
	f := &coqFile{src: src, spans: spans}
	for _, sp := range spans {
		f.clean = append(f.clean, squash(stripComments(src[sp[0]:sp[1]])))
	}
	for i := 0; i < len(f.clean); i++ {
		m := declStartRE.FindStringSubmatch(f.clean[i])
		if m == nil {
			continue
		}
		kw, name := m[1], m[2]
		switch kw {
		case "Goal":
			name = "Unnamed_thm"
		case "Definition", "Fixpoint", "CoFixpoint", "Instance", "Let":
			if strings.Contains(f.clean[i], ":=") {
				continue
			}
		}
		if name == "" {
			continue
		}
		d := coqDecl{name: name, stmt: i, end: len(f.clean)}
		for j := i + 1; j < len(f.clean); j++ {
			if closingRE.MatchString(f.clean[j]) {
				d.end, d.closing = j, f.clean[j]
				break
			}
		}
		f.decls = append(f.decls, d)
		i = d.end
	}
	return f, nil
}

// skipBlank returns the first index at or after i in s that is not white
// space or inside a comment.
func skipBlank(s string, i int) int {
	for i < len(s) {
		switch {
		case isSpaceByte(s[i]):
			i++
		case strings.HasPrefix(s[i:], "(*"):
			depth := 0
			for i < len(s) {
				if strings.HasPrefix(s[i:], "(*") {
					depth++
					i += 2
					continue
				}
				if strings.HasPrefix(s[i:], "*)") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
		default:
			return i
		}
	}
	return i
}

// namesGiveUp reports whether a sentence names admit or give_up as a word.
func namesGiveUp(clean string) bool {
	for _, t := range tokenizeCoq(clean) {
		if !t.string && (t.text == "admit" || t.text == "give_up") {
			return true
		}
	}
	return false
}

// holes lists the file's holes, and for each its declaration.
func (f *coqFile) holes() ([]prover.Hole, []int) {
	var out []prover.Hole
	var declOf []int
	add := func(di, si int, kind, unsupported string) {
		sp := f.spans[si]
		start := skipBlank(f.src, sp[0])
		line := strings.Count(f.src[:start], "\n") + 1
		col := start - strings.LastIndex(f.src[:start], "\n")
		d := f.decls[di]
		out = append(out, prover.Hole{
			Index: len(out), Kind: kind, Theorem: d.name, Statement: f.clean[d.stmt],
			Start: start, End: sp[1], Line: line, Column: col, Unsupported: unsupported,
		})
		declOf = append(declOf, di)
	}
	for di, d := range f.decls {
		for si := d.stmt + 1; si < d.end; si++ {
			s := f.clean[si]
			switch {
			case s == "admit.":
				add(di, si, HoleAdmit, "")
			case assertRE.MatchString(s) && !strings.Contains(assertRE.FindStringSubmatch(s)[1], " by "):
				add(di, si, HoleAssertByAdmit, "")
			case namesGiveUp(s):
				add(di, si, HoleAdmit, "admit or give_up inside a compound tactic: write the hole as a sentence of its own (admit.) or as assert ... by admit.")
			}
		}
		if d.closing == "Admitted." {
			add(di, d.end, HoleAdmitted, "")
		}
	}
	return out, declOf
}

// Holes lists the holes of a Coq file in order (see the comment at the top
// of holes.go).
func (b *Backend) Holes(src string) ([]prover.Hole, error) {
	f, err := parseFile(src)
	if err != nil {
		return nil, err
	}
	h, _ := f.holes()
	return h, nil
}

// FindHoles is Backend.Holes without a backend.
func FindHoles(src string) ([]prover.Hole, error) { return (*Backend)(nil).Holes(src) }

// loadPlan is what a hole's session sends: sentences through the hole's
// declaration and the proof up to the hole, and whether the goal is then
// focused with a brace.
type loadPlan struct {
	sentences []string
	name      string // the proof coqtop edits
	focus     bool
	kind      string
}

// plan computes the load of hole h of f.
func (f *coqFile) plan(h prover.Hole) (loadPlan, error) {
	holes, declOf := f.holes()
	if h.Index < 0 || h.Index >= len(holes) || holes[h.Index].Start != h.Start || holes[h.Index].End != h.End {
		return loadPlan{}, fmt.Errorf("hole %d is not a hole of this file", h.Index+1)
	}
	di := declOf[h.Index]
	d := f.decls[di]
	// Earlier proofs that still have holes are closed by Admitted.
	admittedAt := map[int]bool{}
	for i, hh := range holes {
		dd := f.decls[declOf[i]]
		if declOf[i] < di && hh.Kind != HoleAdmitted && (dd.closing == "Qed." || dd.closing == "Defined.") {
			admittedAt[dd.end] = true
		}
	}
	p := loadPlan{name: d.name, kind: h.Kind}
	holeSentence := -1
	for si, sp := range f.spans {
		if skipBlank(f.src, sp[0]) == h.Start {
			holeSentence = si
			break
		}
	}
	if holeSentence < 0 {
		return loadPlan{}, fmt.Errorf("hole %d: sentence not found", h.Index+1)
	}
	for si := 0; si < holeSentence; si++ {
		s := strings.TrimSpace(f.src[f.spans[si][0]:f.spans[si][1]])
		if admittedAt[si] {
			s = "Admitted."
		}
		p.sentences = append(p.sentences, s)
	}
	switch h.Kind {
	case HoleAssertByAdmit:
		m := assertRE.FindStringSubmatch(f.clean[holeSentence])
		p.sentences = append(p.sentences, "assert "+m[1]+".")
		p.focus = true
	case HoleAdmit:
		p.focus = true
	}
	return p, nil
}

// FillHoles returns src with each hole in fills replaced by its tactics:
// admit by `{ tactics }` (bare tactics when it is the whole body of a
// bullet), assert T by admit by `assert T. { tactics }`, Admitted by the
// tactics and Qed (Admitted again while another hole of that proof stays
// open). The prelude the search ran with is put first, as Assemble does.
func (b *Backend) FillHoles(src string, holes []prover.Hole, fills map[int][]string) (string, error) {
	f, err := parseFile(src)
	if err != nil {
		return "", err
	}
	mine, declOf := f.holes()
	if len(mine) != len(holes) {
		return "", fmt.Errorf("the file has %d holes, not %d", len(mine), len(holes))
	}
	open := map[int]bool{} // declarations with a hole left open
	for i, h := range mine {
		if h.Start != holes[i].Start || h.End != holes[i].End {
			return "", fmt.Errorf("hole %d moved: fill the holes of this very file", i+1)
		}
		if _, ok := fills[i]; !ok {
			open[declOf[i]] = true
		}
	}
	var all []string
	var sb strings.Builder
	last := 0
	for i, h := range mine {
		tacs, ok := fills[i]
		if !ok {
			continue
		}
		if len(tacs) == 0 && h.Kind != HoleAdmitted {
			return "", fmt.Errorf("hole %d: no tactics", i+1)
		}
		all = append(all, tacs...)
		body := strings.Join(trimAll(tacs), " ")
		var repl string
		switch h.Kind {
		case HoleAdmit:
			repl = "{ " + body + " }"
			if f.bulletBody(h) {
				repl = body
			}
		case HoleAssertByAdmit:
			m := assertRE.FindStringSubmatch(squash(stripComments(src[h.Start:h.End])))
			repl = "assert " + m[1] + ". { " + body + " }"
		case HoleAdmitted:
			closing := "Qed."
			if open[declOf[i]] {
				closing = "Admitted."
			}
			repl = strings.TrimSpace(body + "\n" + closing)
		}
		sb.WriteString(src[last:h.Start])
		sb.WriteString(repl)
		last = h.End
	}
	sb.WriteString(src[last:])
	out := sb.String()
	if len(fills) > 0 {
		out = missingLines(b.preludeFor(all), src) + out
	}
	return out, nil
}

// bulletBody reports whether admit hole h is the whole body of a bullet:
// a bullet before it, and after it a bullet, a brace, or the proof's end.
func (f *coqFile) bulletBody(h prover.Hole) bool {
	si := -1
	for i, sp := range f.spans {
		if skipBlank(f.src, sp[0]) == h.Start {
			si = i
		}
	}
	if si <= 0 || !bulletRE.MatchString(f.clean[si-1]) {
		return false
	}
	if si+1 >= len(f.clean) {
		return true
	}
	next := f.clean[si+1]
	return bulletRE.MatchString(next) || next == "}" || closingRE.MatchString(next)
}

func trimAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.TrimSpace(s)
	}
	return out
}

// missingLines are the lines of head that src does not contain already.
func missingLines(head, src string) string {
	var sb strings.Builder
	for _, l := range strings.SplitAfter(head, "\n") {
		if t := strings.TrimSpace(l); t != "" && !strings.Contains(src, t) {
			sb.WriteString(l)
		}
	}
	return sb.String()
}

// preludeFor is the prelude lines Assemble writes before a file whose
// proof is tactics (the interval and hammer libraries only when used).
func (b *Backend) preludeFor(tactics []string) string {
	head, _, _ := strings.Cut(b.Assemble(prover.Theorem{}, tactics), "\nProof.\n")
	return head + "\n"
}

var _ prover.HoleBackend = (*Backend)(nil)

// OpenHole opens a session on hole h of src: see the comment at the top of
// holes.go. A file that does not load up to the hole is prover.ErrLoad.
func (b *Backend) OpenHole(ctx context.Context, src string, h prover.Hole) (prover.Session, error) {
	if h.Unsupported != "" {
		return nil, fmt.Errorf("%w: hole %d: %s", prover.ErrLoad, h.Index+1, h.Unsupported)
	}
	f, err := parseFile(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", prover.ErrLoad, err)
	}
	p, err := f.plan(h)
	if err != nil {
		return nil, err
	}
	if _, err := ScanFile(strings.Join(p.sentences, "\n")); err != nil {
		return nil, fmt.Errorf("%w: %v", prover.ErrLoad, err)
	}
	if err := b.brokenErr(); err != nil {
		return nil, err
	}
	if err := b.slots.Acquire(ctx, 1); err != nil {
		return nil, fmt.Errorf("waiting for a checker slot: %w", context.Cause(ctx))
	}
	s := &holeSession{b: b, plan: p, hole: h, nodes: map[prover.StateID]holeNode{0: {}}, next: 1}
	if err := s.attach(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if h.Kind == HoleAdmitted {
		// Admitted after goals given up by admit: nothing left to prove.
		r, err := s.exchange(ctx, "Show.", s.aux(defaultTacticTimeout))
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("showing the goal of hole %d: %w", h.Index+1, err)
		}
		if s.closedText(r.Text) {
			s.Close()
			return nil, fmt.Errorf("hole %d (line %d): %w", h.Index+1, h.Line, prover.ErrHoleDone)
		}
	}
	g, ok, err := s.showGoals(ctx, s.aux(defaultTacticTimeout))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("showing the goal of hole %d: %w", h.Index+1, err)
	}
	if !ok || g.Count == 0 {
		s.Close()
		return nil, fmt.Errorf("%w: hole %d (line %d) has no goal to prove", prover.ErrLoad, h.Index+1, h.Line)
	}
	s.root = prover.State{ID: 0, Goals: g.key(), Text: g.Text}
	return s, nil
}

// holeNode is one state of a hole session: how to rebuild it.
type holeNode struct {
	parent  prover.StateID
	tactic  string
	depth   int
	timeout time.Duration
}

type holeTip struct {
	node prover.StateID
	coq  int
}

// holeSession is a prover.Session whose root is one hole's goal.
type holeSession struct {
	b        *Backend
	plan     loadPlan
	hole     prover.Hole
	c        *coqtop
	root     prover.State
	nodes    map[prover.StateID]holeNode
	tip      []holeTip
	next     prover.StateID
	restarts int
	closed   bool
}

// maxHoleRestarts bounds the process replacements of one hole session.
const maxHoleRestarts = 3

func (s *holeSession) Root() prover.State { return s.root }

// Close gives the process back and the slot. Safe to call twice.
func (s *holeSession) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.detach()
	s.b.slots.Release(1)
	return nil
}

func (s *holeSession) detach() {
	if s.c == nil {
		return
	}
	c := s.c
	s.c, s.tip = nil, nil
	s.b.pool.Put(c, c.healthy())
}

// attach leases a process and loads the plan on it; the tip is the root.
func (s *holeSession) attach(ctx context.Context) error {
	c, err := s.b.lease(ctx)
	if err != nil {
		return err
	}
	s.c = c
	root, err := s.load(ctx)
	if err != nil {
		s.detach()
		return err
	}
	s.tip = []holeTip{{node: 0, coq: root}}
	return nil
}

// load sends the plan from the prelude's state and returns the root's
// coqtop state id.
func (s *holeSession) load(ctx context.Context) (int, error) {
	lctx, cancel := context.WithTimeoutCause(ctx, s.b.cfg.LoadTimeout, fmt.Errorf("%w of %v", errLoadTimeout, s.b.cfg.LoadTimeout))
	defer cancel()
	base := s.c.base
	r, err := s.exchange(lctx, fmt.Sprintf("BackTo %d.", base), limits{what: "BackTo the prelude"})
	if err != nil {
		return 0, err
	}
	if r.State != base {
		return 0, s.c.died(fmt.Errorf("BackTo %d answered state %d", base, r.State))
	}
	sentences := s.plan.sentences
	if s.plan.focus {
		sentences = append(sentences[:len(sentences):len(sentences)], "{")
	}
	last := base
	for i, sent := range sentences {
		r, err = s.exchange(lctx, sent, limits{what: fmt.Sprintf("sentence %d of %d before hole %d (%q)", i+1, len(sentences), s.hole.Index+1, clip(sent, 40))})
		if err != nil {
			return 0, fmt.Errorf("loading up to hole %d: %w", s.hole.Index+1, err)
		}
		if r.State == last || hasError(r.Text) {
			return 0, fmt.Errorf("%w: up to hole %d (line %d): %q: %s", prover.ErrLoad, s.hole.Index+1, s.hole.Line, clip(sent, 60), clip(errText(r.Text), 300))
		}
		last = r.State
	}
	if r.Name != s.plan.name {
		return 0, fmt.Errorf("%w: before hole %d coqtop edits %q, not %s", prover.ErrLoad, s.hole.Index+1, r.Name, s.plan.name)
	}
	return r.State, nil
}

// exchange is one sentence on the session's process; a process that is
// dead afterwards is given back (the next Apply restarts and replays).
func (s *holeSession) exchange(ctx context.Context, sentence string, lim limits) (reply, error) {
	if s.c == nil {
		return reply{}, fmt.Errorf("coq hole session: no process: %w", prover.ErrProcessDied)
	}
	c := s.c
	r, err := c.exchange(ctx, sentence, lim)
	s.b.mu.Lock()
	s.b.stats.CheckerCPU += c.spent
	s.b.mu.Unlock()
	if c.dead {
		s.detach()
	}
	return r, err
}

func (s *holeSession) wall(d time.Duration) time.Duration {
	return max(time.Duration(float64(d)*s.b.cfg.WallFactor), d+2*time.Second)
}

func (s *holeSession) aux(d time.Duration) limits {
	return limits{cpu: d, wall: s.wall(d), what: "Show."}
}

// showGoals prints the focused goals (with each one's context); ok is
// false for anything but a plain display.
func (s *holeSession) showGoals(ctx context.Context, lim limits) (goals, bool, error) {
	r, err := s.exchange(ctx, "Show.", lim)
	if err != nil {
		return goals{}, false, err
	}
	g, proved, ok := parseShow(r.Text)
	if !ok || proved {
		return goals{}, false, nil
	}
	for i := 2; i <= g.Count && i <= maxShownGoals; i++ {
		r, err := s.exchange(ctx, fmt.Sprintf("Show %d.", i), lim)
		if err != nil {
			return goals{}, false, err
		}
		if full, ok := parseShowN(r.Text); ok {
			g.Rest[i-2] = full
		}
	}
	return g, true, nil
}

// closedText reports whether a Show. answer says the hole is closed.
func (s *holeSession) closedText(text string) bool {
	t := strings.TrimSpace(idRE.ReplaceAllString(text, ""))
	t = strings.TrimSpace(strings.TrimPrefix(t, "<infomsg>"))
	if strings.HasPrefix(t, "No more goals") {
		return true
	}
	return s.plan.kind != HoleAdmitted && strings.HasPrefix(t, "This subproof is complete, but there are some unfocused goals")
}

// Apply runs tactic (one policy-checked sentence) on state from.
func (s *holeSession) Apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (prover.StepResult, error) {
	start := time.Now()
	if s.closed {
		return prover.StepResult{}, prover.ErrClosed
	}
	if _, err := (Policy{}).Check(tactic); err != nil {
		return prover.StepResult{Status: prover.StepRejected, Message: err.Error()}, nil
	}
	if _, ok := s.nodes[from]; !ok {
		return prover.StepResult{}, fmt.Errorf("coq hole session: unknown state %d", from)
	}
	if timeout <= 0 {
		timeout = defaultTacticTimeout
	}
	res, err := s.apply(ctx, from, tactic, timeout)
	res.Elapsed = time.Since(start)
	return res, err
}

func (s *holeSession) path(id prover.StateID) []prover.StateID {
	n := s.nodes[id]
	out := make([]prover.StateID, n.depth+1)
	for i := n.depth; i >= 0; i-- {
		out[i] = id
		id = s.nodes[id].parent
	}
	return out
}

func (s *holeSession) tipState() int { return s.tip[len(s.tip)-1].coq }

func (s *holeSession) apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (prover.StepResult, error) {
	path := s.path(from)
	for {
		err := s.goTo(ctx, path, timeout)
		if err == nil {
			break
		}
		switch {
		case ctx.Err() != nil:
			return prover.StepResult{}, err
		case errors.Is(err, errReplay):
			return prover.StepResult{Status: prover.StepFailed, Message: err.Error()}, nil
		case errors.Is(err, prover.ErrTacticTimeout):
			return prover.StepResult{Status: prover.StepTimeout, Message: "restoring the state: " + err.Error()}, nil
		case errors.Is(err, prover.ErrProcessDied) && s.restarts < maxHoleRestarts:
			continue
		default:
			return prover.StepResult{}, err
		}
	}
	before := s.tipState()
	secs := int(math.Ceil(s.wall(timeout).Seconds()))
	lim := limits{cpu: timeout, wall: time.Duration(secs)*time.Second + s.b.cfg.Grace, what: "the tactic"}
	r, err := s.exchange(ctx, fmt.Sprintf("Timeout %d %s", secs, tactic), lim)
	if err != nil {
		return s.failed(ctx, err)
	}
	if r.State == before || hasError(r.Text) {
		if r.State != before {
			if err := s.backTo(ctx, before, timeout); err != nil {
				return s.failed(ctx, err)
			}
		}
		status := prover.StepFailed
		if strings.Contains(r.Text, "Error: Timeout!") {
			status = prover.StepTimeout
		}
		return prover.StepResult{Status: status, Message: errText(r.Text)}, nil
	}
	after := r.State
	undo := func(msg string) (prover.StepResult, error) {
		if s.c != nil {
			if err := s.backTo(ctx, before, timeout); err != nil {
				return s.failed(ctx, err)
			}
		}
		return prover.StepResult{Status: prover.StepFailed, Message: msg}, nil
	}
	if r.Name != s.plan.name {
		return undo("the sentence left the proof")
	}
	sr, err := s.exchange(ctx, "Show.", s.aux(timeout))
	if err != nil {
		return s.failed(ctx, err)
	}
	id := s.next
	if s.closedText(sr.Text) {
		if s.plan.focus {
			// The hole's brace must close: nothing of the hole is left
			// (shelved or otherwise).
			cr, err := s.exchange(ctx, "}", s.aux(timeout))
			if err != nil {
				return s.failed(ctx, err)
			}
			if cr.State == after || hasError(cr.Text) {
				return undo("the hole's goal is done but its focus does not close: " + clip(errText(cr.Text), 200))
			}
			if err := s.backTo(ctx, after, timeout); err != nil {
				return s.failed(ctx, err)
			}
		}
		s.next++
		s.nodes[id] = holeNode{parent: from, tactic: tactic, depth: len(path), timeout: timeout}
		s.tip = append(s.tip, holeTip{node: id, coq: after})
		return prover.StepResult{Status: prover.StepProved, State: prover.State{ID: id}}, nil
	}
	g, ok, err := s.showAfter(ctx, sr.Text, timeout)
	if err != nil {
		return s.failed(ctx, err)
	}
	if !ok {
		return undo("unexpected goal display: " + clip(strings.TrimSpace(sr.Text), 200))
	}
	s.next++
	s.nodes[id] = holeNode{parent: from, tactic: tactic, depth: len(path), timeout: timeout}
	s.tip = append(s.tip, holeTip{node: id, coq: after})
	return prover.StepResult{Status: prover.StepOpen, State: prover.State{ID: id, Goals: g.key(), Text: g.Text}}, nil
}

// showAfter reads a Show. answer already received and completes the
// contexts of goals 2.. (Show i.).
func (s *holeSession) showAfter(ctx context.Context, text string, timeout time.Duration) (goals, bool, error) {
	g, proved, ok := parseShow(text)
	if !ok || proved {
		return goals{}, false, nil
	}
	for i := 2; i <= g.Count && i <= maxShownGoals; i++ {
		r, err := s.exchange(ctx, fmt.Sprintf("Show %d.", i), s.aux(timeout))
		if err != nil {
			return goals{}, false, err
		}
		if full, ok := parseShowN(r.Text); ok {
			g.Rest[i-2] = full
		}
	}
	return g, true, nil
}

// failed turns a failed exchange into a step result, as the theorem
// session does.
func (s *holeSession) failed(ctx context.Context, err error) (prover.StepResult, error) {
	switch {
	case ctx.Err() != nil:
		return prover.StepResult{}, err
	case errors.Is(err, prover.ErrTacticTimeout):
		return prover.StepResult{Status: prover.StepTimeout, Message: err.Error()}, nil
	case errors.Is(err, prover.ErrProcessDied):
		if s.restarts >= maxHoleRestarts {
			return prover.StepResult{}, fmt.Errorf("%w: coqtop died %d times on hole %d: %w", prover.ErrBackendBroken, s.restarts+1, s.hole.Index+1, err)
		}
		return prover.StepResult{Status: prover.StepFailed, Message: deathMessage(err)}, nil
	}
	return prover.StepResult{}, err
}

func (s *holeSession) backTo(ctx context.Context, coq int, timeout time.Duration) error {
	r, err := s.exchange(ctx, fmt.Sprintf("BackTo %d.", coq), s.aux(timeout))
	if err != nil {
		return err
	}
	if r.State != coq {
		err := s.c.died(fmt.Errorf("BackTo %d answered state %d", coq, r.State))
		s.detach()
		return err
	}
	return nil
}

// goTo makes the tip the end of path: BackTo the deepest shared node, then
// replay the rest (twice each tactic's budget). A dead process is replaced
// first.
func (s *holeSession) goTo(ctx context.Context, path []prover.StateID, timeout time.Duration) error {
	if s.c == nil {
		s.restarts++
		if s.restarts > maxHoleRestarts {
			return fmt.Errorf("%w: coqtop died %d times on hole %d", prover.ErrBackendBroken, s.restarts, s.hole.Index+1)
		}
		if err := s.attach(ctx); err != nil {
			return err
		}
	}
	common := 0
	for common < len(s.tip) && common < len(path) && s.tip[common].node == path[common] {
		common++
	}
	if common < len(s.tip) {
		if err := s.backTo(ctx, s.tip[common-1].coq, timeout); err != nil {
			return err
		}
		s.tip = s.tip[:common]
	}
	for _, id := range path[common:] {
		n := s.nodes[id]
		before := s.tipState()
		d := 2 * n.timeout
		secs := int(math.Ceil(s.wall(d).Seconds()))
		r, err := s.exchange(ctx, fmt.Sprintf("Timeout %d %s", secs, n.tactic),
			limits{cpu: d, wall: time.Duration(secs)*time.Second + s.b.cfg.Grace, what: fmt.Sprintf("replaying %q", clip(n.tactic, 60))})
		if err != nil {
			return fmt.Errorf("replaying %q: %w", clip(n.tactic, 60), err)
		}
		if r.State == before || hasError(r.Text) {
			if berr := s.backTo(ctx, before, timeout); berr != nil {
				return berr
			}
			return fmt.Errorf("%w: %q: %s", errReplay, n.tactic, clip(errText(r.Text), 200))
		}
		s.tip = append(s.tip, holeTip{node: id, coq: r.State})
	}
	return nil
}
