package lean

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// stateRec is what a session knows of one of its states: how to rebuild it
// (parent and tactic) and where it lives now (ps, valid only in process
// generation gen).
type stateRec struct {
	parent prover.StateID // meaningless for the root (always current)
	tactic string
	goals  []string
	gen    uint64
	ps     int
}

type session struct {
	b      *Backend
	pool   *pool
	thm    prover.Theorem
	proc   *process // nil after its process died or was retired
	states map[prover.StateID]*stateRec
	root   prover.State
	next   prover.StateID
	closed bool
}

var _ prover.Session = (*session)(nil)

func (s *session) Root() prover.State { return s.root }

// Close returns the process to the pool. It is safe to call twice.
func (s *session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.pool.release(s.proc)
	s.proc = nil
	s.pool.unlease()
	return nil
}

// loadRoot sends the theorem on the process's header env and returns the
// root proof state and its goal.
func (s *session) loadRoot(ctx context.Context) (int, string, error) {
	pr := s.proc
	resp, err := pr.roundTrip(ctx, CommandRequest{Cmd: rootCmd(s.thm), Env: Env(pr.headerEnv)}, s.b.cfg.RequestTimeout)
	pr.requests++
	if err != nil {
		return 0, "", fmt.Errorf("loading statement: %w", err)
	}
	if msg := responseError(resp); msg != "" {
		return 0, "", fmt.Errorf("%w: %s", prover.ErrLoad, msg)
	}
	if n := len(resp.Command.Sorries); n != 1 {
		return 0, "", fmt.Errorf("%w: the statement gave %d sorries, want exactly 1", prover.ErrLoad, n)
	}
	so := resp.Command.Sorries[0]
	return so.ProofState, so.Goal, nil
}

// rootCmd is the command that turns thm into a root proof state.
func rootCmd(thm prover.Theorem) string { return thm.Statement + " := by sorry" }

// errLost: a state could not be rebuilt on a new process.
var errLost = errors.New("lean: state lost after restart")

// Apply runs tactic on state from. A tactic that fails, times out or kills
// the REPL is a StepResult; an error means no process could be restored
// (or ctx ended).
func (s *session) Apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (prover.StepResult, error) {
	start := time.Now()
	if s.closed {
		return prover.StepResult{}, prover.ErrClosed
	}
	if _, ok := s.states[from]; !ok {
		return prover.StepResult{}, fmt.Errorf("applying a tactic: state %d was not issued by this session", from)
	}
	if timeout <= 0 {
		timeout = s.b.cfg.RequestTimeout
	}
	fail := func(status prover.StepStatus, msg string) (prover.StepResult, error) {
		return prover.StepResult{Status: status, Message: msg, Elapsed: time.Since(start)}, nil
	}
	var lastErr error
	// Two attempts: a process that dies or forgets its states under one
	// tactic gets one fresh process (with replay) before the tactic counts
	// as failed.
	for attempt := 0; attempt < 2; attempt++ {
		if err := s.ensure(ctx); err != nil {
			return prover.StepResult{}, err
		}
		ps, err := s.resolve(ctx, from)
		if err != nil {
			if ctx.Err() != nil {
				return prover.StepResult{}, context.Cause(ctx)
			}
			if errors.Is(err, errLost) {
				return fail(prover.StepFailed, err.Error())
			}
			lastErr = err
			continue
		}
		pr := s.proc
		resp, err := pr.roundTrip(ctx, TacticRequest{Tactic: tactic, ProofState: ps}, timeout)
		pr.requests++
		if err != nil {
			s.drop()
			if ctx.Err() != nil {
				return prover.StepResult{}, context.Cause(ctx)
			}
			var te *timeoutError
			if errors.As(err, &te) {
				return fail(prover.StepTimeout, err.Error())
			}
			lastErr = err
			continue
		}
		s.pool.healthy()
		if resp.Kind == KindError && resp.Error.Message == MsgUnknownProofState {
			// The process does not hold what we think it holds: never trust
			// its ids again; rebuild on a fresh one.
			lastErr = fmt.Errorf("repl forgot proof state %d", ps)
			pr.kill(lastErr)
			s.drop()
			continue
		}
		verdict, why := Classify(resp)
		switch verdict {
		case StepVerdictProved:
			return prover.StepResult{Status: prover.StepProved, State: prover.State{ID: s.issue(nil)}, Elapsed: time.Since(start)}, nil
		case StepVerdictOpen:
			p := resp.ProofStep
			goals := slices.Clone(p.Goals)
			id := s.issue(&stateRec{parent: from, tactic: tactic, goals: goals, gen: pr.gen, ps: p.ProofState})
			return prover.StepResult{
				Status:  prover.StepOpen,
				State:   prover.State{ID: id, Goals: goals, Text: strings.Join(goals, "\n\n")},
				Elapsed: time.Since(start),
			}, nil
		default:
			return fail(prover.StepFailed, why)
		}
	}
	return fail(prover.StepFailed, "repl died under this tactic: "+lastErr.Error())
}

func (s *session) issue(rec *stateRec) prover.StateID {
	id := s.next
	s.next++
	if rec != nil {
		s.states[id] = rec
	}
	return id
}

// drop forgets the session's process (it was killed or is untrustworthy).
func (s *session) drop() {
	if s.proc != nil {
		s.pool.retire(s.proc)
		s.proc = nil
	}
}

// ensure gives the session a usable process, starting one (and reloading
// the theorem, so the root lives in the new generation) when needed.
func (s *session) ensure(ctx context.Context) error {
	if s.proc != nil {
		if s.pool.usable(s.proc) {
			return nil
		}
		s.drop()
	}
	pr, err := s.pool.start(ctx, s.thm.Header, true)
	if err != nil {
		return fmt.Errorf("restarting repl for %s: %w", s.thm.Name, err)
	}
	s.proc = pr
	ps, goal, err := s.loadRoot(ctx)
	if err != nil {
		s.drop()
		return fmt.Errorf("restarting repl for %s: %w", s.thm.Name, err)
	}
	root := s.states[0]
	if goal != root.goals[0] {
		s.drop()
		return fmt.Errorf("restarting repl for %s: the root goal changed from %q to %q", s.thm.Name, root.goals[0], goal)
	}
	root.gen, root.ps = pr.gen, ps
	return nil
}

// resolve returns the current process's proof-state id for state id,
// replaying the tactic path from the nearest state of this generation.
// errLost means the replay diverged; other errors mean the process failed.
func (s *session) resolve(ctx context.Context, id prover.StateID) (int, error) {
	pr := s.proc
	var chain []*stateRec
	for cur := id; ; {
		rec := s.states[cur]
		if rec.gen == pr.gen {
			break
		}
		chain = append(chain, rec)
		cur = rec.parent
	}
	for i := len(chain) - 1; i >= 0; i-- {
		rec := chain[i]
		parent := s.states[rec.parent]
		resp, err := pr.roundTrip(ctx, TacticRequest{Tactic: rec.tactic, ProofState: parent.ps}, s.b.cfg.RequestTimeout)
		pr.requests++
		if err != nil {
			s.drop()
			return 0, fmt.Errorf("replaying %q: %w", rec.tactic, err)
		}
		if resp.Kind == KindError && resp.Error.Message == MsgUnknownProofState {
			pr.kill(errors.New("repl forgot a proof state"))
			s.drop()
			return 0, fmt.Errorf("replaying %q: %s", rec.tactic, MsgUnknownProofState)
		}
		verdict, why := Classify(resp)
		if verdict != StepVerdictOpen {
			return 0, fmt.Errorf("%w: replaying %q: %s", errLost, rec.tactic, why)
		}
		if !slices.Equal(resp.ProofStep.Goals, rec.goals) {
			return 0, fmt.Errorf("%w: replaying %q gave different goals", errLost, rec.tactic)
		}
		rec.gen, rec.ps = pr.gen, resp.ProofStep.ProofState
	}
	return s.states[id].ps, nil
}
