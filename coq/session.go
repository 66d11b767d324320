package coq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// maxShownGoals is how many goals are shown with their full context in a
// state key; further goals contribute their conclusion only.
const maxShownGoals = 8

// maxRestarts bounds process restarts within one session.
const maxRestarts = 8

type snode struct {
	parent prover.StateID
	tactic string
	depth  int
}

type tipEntry struct {
	node prover.StateID
	coq  int // coqtop's state id for this node in the current process
}

type session struct {
	b        *Backend
	thm      prover.Theorem
	p        *proc // nil after a kill: restarted lazily
	root     prover.State
	nodes    map[prover.StateID]snode
	tip      []tipEntry // the path loaded in the process, root first
	next     prover.StateID
	restarts int
	closed   bool
}

// Open loads thm on a warm process: header sentences one by one, the
// statement, Proof. The process stays with the session until Close.
func (b *Backend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	p, err := b.acquire(ctx)
	if err != nil {
		return nil, err
	}
	s := &session{b: b, thm: thm, p: p, nodes: map[prover.StateID]snode{0: {parent: 0}}, next: 1}
	rootCoq, err := s.load(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	g, proved, err := s.show(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	if proved {
		s.Close()
		return nil, fmt.Errorf("%w: %s has no goal after Proof.", prover.ErrLoad, thm.Name)
	}
	s.root = prover.State{ID: 0, Goals: g.key(), Text: g.Text}
	s.tip = []tipEntry{{node: 0, coq: rootCoq}}
	return s, nil
}

// load sends the header, the statement and Proof. on s.p, starting from the
// process's prelude state, and returns the root's coqtop state id.
func (s *session) load(ctx context.Context) (int, error) {
	p := s.p
	p.uses++
	if _, err := p.send(ctx, fmt.Sprintf("BackTo %d.", p.base), 30*time.Second); err != nil {
		return 0, err
	}
	sentences, rest, err := prover.SplitCoqSentences(s.thm.Header + s.thm.Statement)
	if err != nil || rest != "" {
		return 0, fmt.Errorf("%w: %s: the header does not split into sentences", prover.ErrLoad, s.thm.Name)
	}
	sentences = append(sentences, "Proof.")
	var r reply
	last := p.base
	for _, sent := range sentences {
		r, err = p.send(ctx, sent, 90*time.Second)
		if err != nil {
			return 0, fmt.Errorf("loading %s: %w", s.thm.Name, err)
		}
		if r.State == last || hasError(r.Text) {
			return 0, fmt.Errorf("%w: %s: %q: %s", prover.ErrLoad, s.thm.Name, clip(sent, 60), clip(errText(r.Text), 300))
		}
		last = r.State
	}
	if r.Name != s.thm.Name {
		return 0, fmt.Errorf("%w: %s: after Proof. coqtop edits %q", prover.ErrLoad, s.thm.Name, r.Name)
	}
	return r.State, nil
}

func (g goals) key() []string {
	return append([]string{g.First}, g.Rest...)
}

// show prints the current goals; for several goals it asks for each one's
// context (Show i.) so that the key tells states apart.
func (s *session) show(ctx context.Context) (goals, bool, error) {
	r, err := s.p.send(ctx, "Show.", 30*time.Second)
	if err != nil {
		return goals{}, false, err
	}
	if r.Name != s.thm.Name {
		return goals{}, false, fmt.Errorf("coqtop left the proof of %s", s.thm.Name)
	}
	g, proved, ok := parseShow(r.Text)
	if !ok {
		return goals{}, false, fmt.Errorf("unexpected goal display: %s", clip(strings.TrimSpace(r.Text), 200))
	}
	for i := 2; i <= g.Count && i <= maxShownGoals; i++ {
		r, err := s.p.send(ctx, fmt.Sprintf("Show %d.", i), 30*time.Second)
		if err != nil {
			return goals{}, false, err
		}
		if full, ok := parseShowN(r.Text); ok {
			g.Rest[i-2] = full
		}
	}
	return g, proved, nil
}

func (s *session) Root() prover.State { return s.root }

func (s *session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.b.release(s.p)
	s.p = nil
	return nil
}

// path returns the node ids from the root to id.
func (s *session) path(id prover.StateID) ([]prover.StateID, error) {
	n, ok := s.nodes[id]
	if !ok {
		return nil, fmt.Errorf("coq session: unknown state %d", id)
	}
	out := make([]prover.StateID, n.depth+1)
	for i := n.depth; i >= 0; i-- {
		out[i] = id
		id = s.nodes[id].parent
	}
	return out, nil
}

// Apply runs tactic (one policy-checked sentence) on state from.
func (s *session) Apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (prover.StepResult, error) {
	start := time.Now()
	if s.closed {
		return prover.StepResult{}, prover.ErrClosed
	}
	if _, err := (prover.CoqPolicy{}).Check(tactic); err != nil {
		return prover.StepResult{Status: prover.StepRejected, Message: err.Error()}, nil
	}
	res, err := s.apply(ctx, from, tactic, timeout)
	res.Elapsed = time.Since(start)
	return res, err
}

func (s *session) apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (prover.StepResult, error) {
	path, err := s.path(from)
	if err != nil {
		return prover.StepResult{}, err
	}
	if err := s.goTo(ctx, path); err != nil {
		if ctx.Err() != nil {
			return prover.StepResult{}, ctx.Err()
		}
		if errors.Is(err, errReplay) {
			return prover.StepResult{Status: prover.StepFailed, Message: err.Error()}, nil
		}
		return prover.StepResult{}, err
	}
	before := s.tip[len(s.tip)-1].coq
	secs := int(math.Ceil(timeout.Seconds()))
	if secs < 1 {
		secs = 1
	}
	grace := s.b.cfg.Grace
	if grace <= 0 {
		grace = 500*time.Millisecond + timeout/4
	}
	r, err := s.p.send(ctx, fmt.Sprintf("Timeout %d %s", secs+timeoutSlack, tactic), time.Duration(secs)*time.Second+grace)
	if err != nil {
		return s.afterKill(ctx, err, "tactic")
	}
	if r.State == before || hasError(r.Text) {
		if r.State != before {
			// An error with a moved state: undo whatever happened.
			if err := s.backTo(ctx, before); err != nil {
				return s.afterKill(ctx, err, "undo")
			}
		}
		status := prover.StepFailed
		if strings.Contains(r.Text, "Error: Timeout!") {
			status = prover.StepTimeout
		}
		return prover.StepResult{Status: status, Message: errText(r.Text)}, nil
	}
	after := r.State
	if r.Name != s.thm.Name {
		if err := s.backTo(ctx, before); err != nil {
			return s.afterKill(ctx, err, "undo")
		}
		return prover.StepResult{Status: prover.StepFailed, Message: "the sentence left proof mode"}, nil
	}
	g, proved, err := s.show(ctx)
	if err != nil {
		if s.p == nil || s.p.dead {
			return s.afterKill(ctx, err, "show")
		}
		// Not a plain goal display (unfocused goals, given-up goals): never
		// a state to build on.
		if err := s.backTo(ctx, before); err != nil {
			return s.afterKill(ctx, err, "undo")
		}
		return prover.StepResult{Status: prover.StepFailed, Message: err.Error()}, nil
	}
	id := s.next
	s.next++
	s.nodes[id] = snode{parent: from, tactic: tactic, depth: len(path)}
	s.tip = append(s.tip, tipEntry{node: id, coq: after})
	if proved {
		return prover.StepResult{Status: prover.StepProved, State: prover.State{ID: id}}, nil
	}
	return prover.StepResult{Status: prover.StepOpen, State: prover.State{ID: id, Goals: g.key(), Text: g.Text}}, nil
}

// afterKill turns a failed exchange into a step result: the process is
// gone (killed at its deadline, or it died); the next Apply restarts it and
// replays. Only a cancelled ctx is an error.
func (s *session) afterKill(ctx context.Context, err error, what string) (prover.StepResult, error) {
	if s.p != nil {
		s.p.kill()
		s.b.noteKilled()
	}
	s.tip = nil
	if ctx.Err() != nil {
		return prover.StepResult{}, ctx.Err()
	}
	if errors.Is(err, errDeadline) {
		return prover.StepResult{Status: prover.StepTimeout, Message: "killed at the wall deadline (" + what + ")"}, nil
	}
	var ee *prover.ExitError
	if errors.As(err, &ee) {
		s.b.cfg.Log.Debug("coqtop died", "theorem", s.thm.Name, "err", err)
		return prover.StepResult{Status: prover.StepFailed, Message: "coqtop died: " + clip(ee.StderrTail, 300)}, nil
	}
	return prover.StepResult{Status: prover.StepFailed, Message: err.Error()}, nil
}

func (b *Backend) noteKilled() {
	b.mu.Lock()
	b.stats.Killed++
	b.mu.Unlock()
}

func (s *session) backTo(ctx context.Context, coq int) error {
	r, err := s.p.send(ctx, fmt.Sprintf("BackTo %d.", coq), 30*time.Second)
	if err != nil {
		return err
	}
	if r.State != coq {
		return fmt.Errorf("BackTo %d answered state %d: %s", coq, r.State, clip(errText(r.Text), 200))
	}
	return nil
}

// goTo makes the process's tip the end of path: BackTo the deepest shared
// node, then replay the rest. A dead process is replaced first.
func (s *session) goTo(ctx context.Context, path []prover.StateID) error {
	if s.p == nil || s.p.dead {
		if err := s.restart(ctx); err != nil {
			return err
		}
	}
	common := 0
	for common < len(s.tip) && common < len(path) && s.tip[common].node == path[common] {
		common++
	}
	if common == 0 {
		return fmt.Errorf("coq session: lost the root state")
	}
	if common < len(s.tip) {
		if err := s.backTo(ctx, s.tip[common-1].coq); err != nil {
			s.p.kill()
			s.tip = nil
			return fmt.Errorf("backtracking: %w", err)
		}
		s.tip = s.tip[:common]
	}
	for _, id := range path[common:] {
		n := s.nodes[id]
		before := s.tip[len(s.tip)-1].coq
		r, err := s.p.send(ctx, fmt.Sprintf("Timeout %d %s", replayTimeout, n.tactic), (replayTimeout+5)*time.Second)
		if err != nil {
			s.p.kill()
			s.tip = nil
			return fmt.Errorf("replaying %q: %w", n.tactic, err)
		}
		if r.State == before || hasError(r.Text) {
			_ = s.backTo(ctx, before)
			return fmt.Errorf("%w: %q: %s", errReplay, n.tactic, clip(errText(r.Text), 200))
		}
		s.tip = append(s.tip, tipEntry{node: id, coq: r.State})
	}
	return nil
}

const replayTimeout = 30

// timeoutSlack is added to Coq's own Timeout (tests only).
var timeoutSlack = 0

// restart replaces a dead process and reloads the theorem.
func (s *session) restart(ctx context.Context) error {
	if s.restarts >= maxRestarts {
		return fmt.Errorf("coq session %s: gave up after %d process restarts", s.thm.Name, s.restarts)
	}
	s.restarts++
	if s.p != nil {
		s.p.kill()
	}
	p, err := s.b.take(ctx)
	if err != nil {
		s.p = nil
		return err
	}
	s.b.mu.Lock()
	s.b.stats.Restarts++
	s.b.mu.Unlock()
	s.p = p
	rootCoq, err := s.load(ctx)
	if err != nil {
		s.p.kill()
		return fmt.Errorf("reloading after a restart: %w", err)
	}
	s.tip = []tipEntry{{node: 0, coq: rootCoq}}
	return nil
}
