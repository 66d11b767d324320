package coq

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/prover"
)

// maxShownGoals is how many goals are shown with their full context in a
// state key; further goals contribute their conclusion only.
const maxShownGoals = 8

// defaultTacticTimeout is a tactic's CPU budget when Apply is given none.
const defaultTacticTimeout = 10 * time.Second

type snode struct {
	parent  prover.StateID
	tactic  string
	depth   int
	timeout time.Duration // the tactic's budget when it ran; replay gets twice that
}

type tipEntry struct {
	node prover.StateID
	coq  int // coqtop's state id for this node in the current process
}

// SessionStats is what one theorem's session cost.
type SessionStats struct {
	Starts      int // coqtop processes started for the session (a warm one from the pool is not a start)
	Restarts    int // processes replaced after a kill or a death, each reloading the theorem and replaying the path
	Interrupted int // sentences stopped by SIGINT (CPU budget spent, or the ctx ended); the process was kept
	Killed      int // processes killed because a sentence could not be interrupted or passed its wall backstop
	Crashes     int // processes that died on their own or misbehaved
	// StartTime is the wall time spent starting those processes (to the
	// first prompt and through the prelude); LoadTime loading the theorem
	// on them (reloads included).
	StartTime, LoadTime time.Duration
	CheckerCPU          time.Duration // coqtop CPU time spent on the session's sentences
	// Parks counts the waits for the model with the session parked;
	// Reloads the resumes whose process had been taken, which loaded the
	// theorem on another (the path is replayed by the next Apply).
	Parks, Reloads int
}

type session struct {
	b         *Backend
	thm       prover.Theorem
	c         *coqtop // nil after a kill or a death: replaced lazily
	root      prover.State
	nodes     map[prover.StateID]snode
	tip       []tipEntry // the path loaded in the process, root first
	next      prover.StateID
	stats     SessionStats
	lastCrash error
	closed    bool
	// parked: the slot is released (Park); taken: the process was lent
	// to another session while parked, the theorem must be reloaded.
	parked, taken bool
	tacticCPU     time.Duration // see TacticCPU
}

// Open takes a checker slot, then a warm process from the pool, and loads
// thm on it: header sentences one by one, the statement, Proof. The slot
// and the process stay with the session until Close. Every wait is bounded
// by ctx (and Config.StartTimeout, Config.LoadTimeout). A broken backend
// (see Config.MaxStartFailures) fails at once with prover.ErrBackendBroken.
func (b *Backend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	if err := b.brokenErr(); err != nil {
		return nil, err
	}
	wait := time.Now()
	if err := b.slots.Acquire(ctx, 1); err != nil {
		return nil, fmt.Errorf("waiting %v for a checker slot: %w", time.Since(wait).Round(time.Millisecond), context.Cause(ctx))
	}
	b.mu.Lock()
	b.stats.Sessions++
	b.mu.Unlock()
	s := &session{b: b, thm: thm, nodes: map[prover.StateID]snode{0: {parent: 0}}, next: 1}
	if err := s.attach(ctx); err != nil {
		s.Close()
		return nil, err
	}
	lim := s.aux(defaultTacticTimeout, "Show. at the root")
	g, proved, err := s.show(ctx, lim)
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("showing the goal of %s: %w", thm.Name, err)
	}
	if proved {
		s.Close()
		return nil, fmt.Errorf("%w: %s has no goal after Proof.", prover.ErrLoad, thm.Name)
	}
	s.root = prover.State{ID: 0, Goals: g.key(), Text: g.Text}
	return s, nil
}

// Stats is what the session has cost so far.
func (s *session) Stats() SessionStats { return s.stats }

// attach leases a process and loads the theorem on it; the tip is then
// the root.
func (s *session) attach(ctx context.Context) error {
	c, err := s.b.lease(ctx)
	if err != nil {
		return err
	}
	return s.loadOn(ctx, c)
}

// loadOn makes c the session's process and loads the theorem on it (on
// failure c goes back to the pool).
func (s *session) loadOn(ctx context.Context, c *coqtop) error {
	s.c = c
	c.sessions++
	if c.sessions == 1 {
		s.stats.Starts++
		s.stats.StartTime += c.startTime
	}
	rootCoq, err := s.load(ctx)
	if err != nil {
		s.detach()
		return err
	}
	s.tip = []tipEntry{{node: 0, coq: rootCoq}}
	return nil
}

// tipState is the coqtop state id at the tip (-1 when unknown).
func (s *session) tipState() int {
	if len(s.tip) == 0 {
		return -1
	}
	return s.tip[len(s.tip)-1].coq
}

// errLoadTimeout is the cause when loading a theorem outlives
// Config.LoadTimeout.
var errLoadTimeout = errors.New("coq: load timeout")

// load sends the header, the statement and Proof. on s.c, starting from
// the process's prelude state, and returns the root's coqtop state id.
// Each sentence may take what is left of ctx (and of LoadTimeout).
func (s *session) load(ctx context.Context) (int, error) {
	lctx, cancel := context.WithTimeoutCause(ctx, s.b.cfg.LoadTimeout, fmt.Errorf("%w of %v", errLoadTimeout, s.b.cfg.LoadTimeout))
	defer cancel()
	start := time.Now()
	defer func() {
		d := time.Since(start)
		s.stats.LoadTime += d
		s.b.mu.Lock()
		s.b.stats.LoadTime += d
		s.b.mu.Unlock()
	}()
	base := s.c.base
	r, err := s.exchange(lctx, fmt.Sprintf("BackTo %d.", base), limits{what: "BackTo the prelude"})
	if err != nil {
		return 0, fmt.Errorf("loading %s: %w", s.thm.Name, err)
	}
	if r.State != base {
		return 0, fmt.Errorf("loading %s: %w", s.thm.Name, s.misbehaved(fmt.Errorf("BackTo %d answered state %d", base, r.State)))
	}
	sentences, rest, err := SplitSentences(s.thm.Header + s.thm.Statement)
	if err != nil || rest != "" {
		return 0, fmt.Errorf("%w: %s: the header does not split into sentences", prover.ErrLoad, s.thm.Name)
	}
	sentences = append(sentences, "Proof.")
	last := base
	for i, sent := range sentences {
		what := fmt.Sprintf("sentence %d of %d of %s (%q)", i+1, len(sentences), s.thm.Name, clip(sent, 40))
		r, err = s.exchange(lctx, sent, limits{what: what})
		if err != nil {
			return 0, fmt.Errorf("loading %s (%v in): %w", s.thm.Name, time.Since(start).Round(time.Millisecond), err)
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

// errNoDisplay: Show. did not answer with a plain goal display.
var errNoDisplay = errors.New("unexpected goal display")

// show prints the current goals; for several goals it asks for each one's
// context (Show i.) so that the key tells states apart. An answer that is
// not a plain goal display is errNoDisplay.
func (s *session) show(ctx context.Context, lim limits) (goals, bool, error) {
	r, err := s.exchange(ctx, "Show.", lim)
	if err != nil {
		return goals{}, false, err
	}
	if r.Name != s.thm.Name {
		return goals{}, false, fmt.Errorf("%w: coqtop left the proof of %s", errNoDisplay, s.thm.Name)
	}
	g, proved, ok := parseShow(r.Text)
	if !ok {
		return goals{}, false, fmt.Errorf("%w: %s", errNoDisplay, clip(strings.TrimSpace(r.Text), 200))
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
	return g, proved, nil
}

func (s *session) Root() prover.State { return s.root }

// Close gives the process back to the pool (healthy, or to be stopped)
// and the slot back to the backend (a parked session holds none). It is
// safe to call twice, and on a parked session.
func (s *session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.b.mu.Lock()
	s.b.unpark(s) // its process, if nobody took it, is ours to give back
	if s.stats.Crashes == 0 {
		s.b.crashLoops = 0
	}
	s.b.mu.Unlock()
	s.detach()
	if !s.parked {
		s.b.slots.Release(1)
	}
	return nil
}

// detach gives the process back to the pool: a healthy one stays warm,
// any other is stopped.
func (s *session) detach() {
	if s.c == nil {
		return
	}
	c := s.c
	s.c, s.tip = nil, nil
	s.b.pool.Put(c, c.healthy())
}

// exchange is one sentence on the session's process, with the accounting:
// CPU, interrupts, kills, deaths. A process that is dead afterwards is
// given back to be stopped (the next Apply restarts and replays).
func (s *session) exchange(ctx context.Context, sentence string, lim limits) (reply, error) {
	c := s.c
	if c == nil {
		return reply{}, fmt.Errorf("coq session %s: no process: %w", s.thm.Name, prover.ErrProcessDied)
	}
	r, err := c.exchange(ctx, sentence, lim)
	s.stats.CheckerCPU += c.spent
	var interrupted, killed, crashed int
	if c.interrupted && !c.dead {
		interrupted = 1
	}
	switch {
	case err == nil:
	case errors.Is(err, prover.ErrProcessDied):
		crashed = 1
		s.lastCrash = err
		s.b.cfg.Log.Debug("coqtop died", "theorem", s.thm.Name, "err", err)
	case c.dead:
		killed = 1
		s.b.cfg.Log.Debug("coqtop killed", "theorem", s.thm.Name, "err", err)
	}
	s.stats.Interrupted += interrupted
	s.stats.Killed += killed
	s.stats.Crashes += crashed
	s.b.mu.Lock()
	s.b.stats.CheckerCPU += c.spent
	s.b.stats.Interrupted += interrupted
	s.b.stats.Killed += killed
	s.b.stats.Crashes += crashed
	s.b.mu.Unlock()
	if c.dead {
		s.detach()
	}
	return r, err
}

// misbehaved kills a process that answered inconsistently (lost a state)
// and describes it as a death.
func (s *session) misbehaved(why error) error {
	c := s.c
	err := c.died(why)
	s.stats.Crashes++
	s.lastCrash = err
	s.b.mu.Lock()
	s.b.stats.Crashes++
	s.b.mu.Unlock()
	s.detach()
	return err
}

// crashCap returns an error wrapping prover.ErrBackendBroken once the
// session has seen more deaths than Config.MaxCrashes; after
// MaxStartFailures such sessions in a row the backend is broken.
func (s *session) crashCap() error {
	if s.stats.Crashes <= s.b.cfg.MaxCrashes {
		return nil
	}
	err := fmt.Errorf("%w: coqtop died %d times in the session of %s; the last: %w", prover.ErrBackendBroken, s.stats.Crashes, s.thm.Name, s.lastCrash)
	s.b.mu.Lock()
	s.b.crashLoops++
	n := s.b.crashLoops
	s.b.mu.Unlock()
	if n >= s.b.cfg.MaxStartFailures {
		return s.b.declareBroken(fmt.Errorf("%d sessions in a row: %w", n, err))
	}
	return err
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

// wall is the wall backstop of a sentence with CPU budget d.
func (s *session) wall(d time.Duration) time.Duration {
	return max(time.Duration(float64(d)*s.b.cfg.WallFactor), d+2*time.Second)
}

// aux are the limits of a bookkeeping sentence (BackTo, Show) next to a
// tactic with budget d: they take milliseconds, but a huge goal may take
// longer to print.
func (s *session) aux(d time.Duration, what string) limits {
	return limits{cpu: d, wall: s.wall(d), what: what}
}

// timed is a sentence under Coq's own Timeout (whole seconds, at least the
// wall backstop, so that it is the backstop inside coqtop) and its limits:
// CPU budget d, wall backstop past Coq's Timeout.
func (s *session) timed(sentence string, d time.Duration, what string) (string, limits) {
	secs := int(math.Ceil(s.wall(d).Seconds()))
	wall := time.Duration(secs)*time.Second + s.b.cfg.Grace
	return fmt.Sprintf("Timeout %d %s", secs, sentence), limits{cpu: d, wall: wall, what: what}
}

// Apply runs tactic (one policy-checked sentence) on state from. timeout
// is a budget of coqtop CPU time, which load does not stretch: past it
// the tactic is interrupted (StepTimeout). A tactic timeout is never a
// failure.
func (s *session) Apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (prover.StepResult, error) {
	start := time.Now()
	if s.closed {
		return prover.StepResult{}, prover.ErrClosed
	}
	if _, err := (Policy{}).Check(tactic); err != nil {
		return prover.StepResult{Status: prover.StepRejected, Message: err.Error()}, nil
	}
	if timeout <= 0 {
		timeout = defaultTacticTimeout
	}
	if s.parked {
		// Resume was not called: the session resumes itself.
		if err := s.Resume(ctx); err != nil {
			return prover.StepResult{}, err
		}
	}
	res, err := s.apply(ctx, from, tactic, timeout)
	res.Elapsed = time.Since(start)
	return res, err
}

// errRestart wraps a failure to replace a dead process.
var errRestart = errors.New("coq session: restarting coqtop")

func (s *session) apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (res prover.StepResult, _ error) {
	path, err := s.path(from)
	if err != nil {
		return prover.StepResult{}, err
	}
	for {
		err := s.goTo(ctx, path, timeout)
		if err == nil {
			break
		}
		switch {
		case ctx.Err() != nil, errors.Is(err, prover.ErrBackendBroken), errors.Is(err, errRestart):
			return prover.StepResult{}, err
		case errors.Is(err, errReplay):
			return prover.StepResult{Status: prover.StepFailed, Message: err.Error()}, nil
		case errors.Is(err, prover.ErrTacticTimeout):
			// Restoring the state ran out of time: not the tactic's failure.
			return prover.StepResult{Status: prover.StepTimeout, Message: "restoring the state: " + err.Error()}, nil
		case errors.Is(err, prover.ErrProcessDied):
			if err := s.crashCap(); err != nil {
				return prover.StepResult{}, err
			}
			continue // a new process, the path replayed
		default:
			return prover.StepResult{}, err
		}
	}
	// From here on the CPU is the tactic's (TacticCPU); restoring the
	// state above was not.
	cpu0 := s.stats.CheckerCPU
	defer func() {
		s.tacticCPU += s.stats.CheckerCPU - cpu0
		if res.Status == prover.StepTimeout && s.stats.CheckerCPU-cpu0 < timeout {
			s.tacticCPU += timeout - (s.stats.CheckerCPU - cpu0)
		}
	}()
	before := s.tipState()
	sentence, lim := s.timed(tactic, timeout, "the tactic")
	r, err := s.exchange(ctx, sentence, lim)
	if err != nil {
		return s.failed(ctx, err)
	}
	if r.State == before || hasError(r.Text) {
		if r.State != before {
			// An error with a moved state: undo whatever happened.
			if err := s.backTo(ctx, before, timeout); err != nil {
				return s.failed(ctx, err)
			}
		}
		status := prover.StepFailed
		if strings.Contains(r.Text, "Error: Timeout!") {
			status = prover.StepTimeout // Coq's own Timeout: the wall backstop inside coqtop
		}
		return prover.StepResult{Status: status, Message: errText(r.Text)}, nil
	}
	after := r.State
	if r.Name != s.thm.Name {
		if err := s.backTo(ctx, before, timeout); err != nil {
			return s.failed(ctx, err)
		}
		return prover.StepResult{Status: prover.StepFailed, Message: "the sentence left proof mode"}, nil
	}
	g, proved, err := s.show(ctx, s.aux(timeout, "Show. after the tactic"))
	if err != nil {
		if s.c != nil {
			// Not a plain goal display (unfocused goals, given-up goals), or
			// Show. interrupted: never a state to build on.
			if berr := s.backTo(ctx, before, timeout); berr != nil {
				return s.failed(ctx, berr)
			}
		}
		if errors.Is(err, errNoDisplay) {
			return prover.StepResult{Status: prover.StepFailed, Message: err.Error()}, nil
		}
		return s.failed(ctx, err)
	}
	id := s.next
	s.next++
	s.nodes[id] = snode{parent: from, tactic: tactic, depth: len(path), timeout: timeout}
	s.tip = append(s.tip, tipEntry{node: id, coq: after})
	if proved {
		return prover.StepResult{Status: prover.StepProved, State: prover.State{ID: id}}, nil
	}
	return prover.StepResult{Status: prover.StepOpen, State: prover.State{ID: id, Goals: g.key(), Text: g.Text}}, nil
}

// failed turns a failed exchange into a step result: past its budget the
// tactic timed out (the process was interrupted and kept, or killed: the
// next Apply restarts and replays); a death is a failed tactic, up to the
// crash cap. A ctx that ended, a broken backend and anything else are
// errors.
func (s *session) failed(ctx context.Context, err error) (prover.StepResult, error) {
	switch {
	case ctx.Err() != nil:
		return prover.StepResult{}, err
	case errors.Is(err, prover.ErrTacticTimeout):
		return prover.StepResult{Status: prover.StepTimeout, Message: err.Error()}, nil
	case errors.Is(err, prover.ErrProcessDied):
		if cerr := s.crashCap(); cerr != nil {
			return prover.StepResult{}, cerr
		}
		return prover.StepResult{Status: prover.StepFailed, Message: deathMessage(err)}, nil
	}
	return prover.StepResult{}, err
}

// backTo restores coqtop state coq, an ancestor of the tip.
func (s *session) backTo(ctx context.Context, coq int, timeout time.Duration) error {
	r, err := s.exchange(ctx, fmt.Sprintf("BackTo %d.", coq), s.aux(timeout, "BackTo"))
	if err != nil {
		return err
	}
	if r.State != coq {
		return s.misbehaved(fmt.Errorf("BackTo %d answered state %d: %s", coq, r.State, clip(errText(r.Text), 200)))
	}
	return nil
}

// goTo makes the process's tip the end of path: BackTo the deepest shared
// node, then replay the rest, each tactic with twice the CPU budget it
// had. A dead process is replaced first (errRestart when that fails).
func (s *session) goTo(ctx context.Context, path []prover.StateID, timeout time.Duration) error {
	if s.c == nil {
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
		if err := s.backTo(ctx, s.tip[common-1].coq, timeout); err != nil {
			return fmt.Errorf("backtracking: %w", err)
		}
		s.tip = s.tip[:common]
	}
	for _, id := range path[common:] {
		n := s.nodes[id]
		before := s.tipState()
		sentence, lim := s.timed(n.tactic, 2*n.timeout, fmt.Sprintf("replaying %q", clip(n.tactic, 60)))
		r, err := s.exchange(ctx, sentence, lim)
		if err != nil {
			return fmt.Errorf("replaying %q: %w", clip(n.tactic, 60), err)
		}
		if r.State == before || hasError(r.Text) {
			if berr := s.backTo(ctx, before, timeout); berr != nil {
				return berr
			}
			if strings.Contains(r.Text, "Error: Timeout!") {
				return fmt.Errorf("replaying %q: Coq's Timeout: %w", clip(n.tactic, 60), errDeadline)
			}
			return fmt.Errorf("%w: %q: %s", errReplay, n.tactic, clip(errText(r.Text), 200))
		}
		s.tip = append(s.tip, tipEntry{node: id, coq: r.State})
	}
	return nil
}

// restart replaces a dead process and reloads the theorem. A failure to
// get a process wraps errRestart (or is the broken backend's error); a
// process that dies while loading is a death like any other.
func (s *session) restart(ctx context.Context) error {
	s.stats.Restarts++
	s.b.mu.Lock()
	s.b.stats.Restarts++
	s.b.mu.Unlock()
	c, err := s.b.lease(ctx)
	if err != nil {
		if errors.Is(err, prover.ErrBackendBroken) || ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: %w", errRestart, err)
	}
	if err := s.loadOn(ctx, c); err != nil {
		if errors.Is(err, prover.ErrProcessDied) || errors.Is(err, prover.ErrTacticTimeout) || ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("%w: reloading %s: %w", errRestart, s.thm.Name, err)
	}
	return nil
}

// deathMessage is a step's message for a process that died: why, and the
// last lines it printed.
func deathMessage(err error) string {
	var ee *proc.ExitError
	if !errors.As(err, &ee) {
		return clip(err.Error(), 400)
	}
	msg := "coqtop died"
	if ee.Err != nil {
		msg += ": " + clip(ee.Err.Error(), 200)
	}
	if tail := lastLines(ee.StderrTail, 3); tail != "" {
		msg += "; it last printed: " + clipFront(tail, 300)
	}
	return msg
}

// clipFront keeps the last n bytes of s (on a rune boundary).
func clipFront(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return "…" + s[i:]
}
