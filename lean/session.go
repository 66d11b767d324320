package lean

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
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
	thm    prover.Theorem
	repl   *repl // nil after its process died or was given back
	states map[prover.StateID]*stateRec
	root   prover.State
	next   prover.StateID
	closed bool
	// load, when set, replaces the statement load of loadRoot (a hole's
	// session: see holes.go).
	load func(ctx context.Context, r *repl) (int, string, error)
}

var _ prover.Session = (*session)(nil)

func (s *session) Root() prover.State { return s.root }

// Close returns the process to the pool. It is safe to call twice.
func (s *session) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	s.release()
	<-s.b.sessions
	return nil
}

// release gives the session's process back to the pool (which keeps it
// warm if it is still usable) and forgets it.
func (s *session) release() {
	if s.repl != nil {
		s.b.put(s.repl)
		s.repl = nil
	}
}

// The limits of the requests a session sends besides its tactics.
func (s *session) requestLimit(what string) limit {
	return limit{what: what, name: "request timeout", d: s.b.cfg.RequestTimeout}
}

// loadRoot sends the theorem on the process's header env and returns the
// root proof state and its goal.
func (s *session) loadRoot(ctx context.Context) (int, string, error) {
	r := s.repl
	if s.load != nil {
		return s.load(ctx, r)
	}
	resp, err := r.roundTrip(ctx, CommandRequest{Cmd: rootCmd(s.thm), Env: Env(r.headerEnv)}, s.requestLimit("loading the statement"))
	r.requests++
	if err != nil {
		return 0, "", err
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
// the REPL is a StepResult; an error means no process could be restored,
// ctx ended, or the backend is broken (prover.ErrBackendBroken).
func (s *session) Apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (prover.StepResult, error) {
	start := time.Now()
	if s.closed {
		return prover.StepResult{}, prover.ErrClosed
	}
	if _, ok := s.states[from]; !ok {
		return prover.StepResult{}, fmt.Errorf("applying a tactic: state %d was not issued by this session", from)
	}
	if err := s.b.brokenErr(); err != nil {
		return prover.StepResult{}, err
	}
	if timeout <= 0 {
		timeout = s.b.cfg.RequestTimeout
	}
	fail := func(status prover.StepStatus, msg string) (prover.StepResult, error) {
		return prover.StepResult{Status: status, Message: msg, Elapsed: time.Since(start)}, nil
	}
	lim := limit{what: "tactic " + clip(tactic, 60), name: "tactic timeout", d: timeout}
	var lastErr error
	diedUnderTactic := false
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
			if err := s.b.noteFailure(ctx, err); errors.Is(err, prover.ErrBackendBroken) {
				return prover.StepResult{}, err
			}
			lastErr = err
			continue
		}
		r := s.repl
		resp, err := r.roundTrip(ctx, TacticRequest{Tactic: tactic, ProofState: ps}, lim)
		r.requests++
		if err != nil {
			s.release()
			if ctx.Err() != nil {
				return prover.StepResult{}, context.Cause(ctx)
			}
			var de *DeadlineError
			if errors.As(err, &de) {
				return fail(prover.StepTimeout, err.Error())
			}
			if diedUnderTactic {
				// The tactic killed a fresh process too: it is the
				// tactic that crashes Lean, not the REPL that fails.
				s.b.cfg.Log.Info("lean tactic kills the repl", "theorem", s.thm.Name, "tactic", clip(tactic, 200), "err", err)
			} else if err := s.b.noteFailure(ctx, err); errors.Is(err, prover.ErrBackendBroken) {
				return prover.StepResult{}, err
			}
			diedUnderTactic = true
			lastErr = err
			continue
		}
		if resp.Kind == KindError && resp.Error.Message == MsgUnknownProofState {
			// The process does not hold what we think it holds: never trust
			// its ids again; rebuild on a fresh one.
			err := fmt.Errorf("repl forgot proof state %d", ps)
			r.kill(err)
			lastErr = r.exitError(err)
			s.release()
			if err := s.b.noteFailure(ctx, lastErr); errors.Is(err, prover.ErrBackendBroken) {
				return prover.StepResult{}, err
			}
			continue
		}
		s.b.answer()
		verdict, why := Classify(resp)
		switch verdict {
		case StepVerdictProved:
			return prover.StepResult{Status: prover.StepProved, State: prover.State{ID: s.issue(nil)}, Elapsed: time.Since(start)}, nil
		case StepVerdictOpen:
			p := resp.ProofStep
			goals := slices.Clone(p.Goals)
			id := s.issue(&stateRec{parent: from, tactic: tactic, goals: goals, gen: r.gen, ps: p.ProofState})
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

// clip shortens s to n runes for messages and logs.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return strconv.Quote(s)
	}
	return strconv.Quote(string(r[:n])) + "..."
}

func (s *session) issue(rec *stateRec) prover.StateID {
	id := s.next
	s.next++
	if rec != nil {
		s.states[id] = rec
	}
	return id
}

// ensure gives the session a usable process: its own, or, when that one
// died, was killed or is due for recycling, another warm one from the pool
// (a restart), on which the theorem is loaded again so that the root lives
// in the new generation.
func (s *session) ensure(ctx context.Context) error {
	if r := s.repl; r != nil {
		switch {
		case r.dead == nil && r.p.Exited():
			// It died on its own since its last answer.
			err := r.exitError(errors.New("exited between requests"))
			r.kill(err)
			s.release()
			if err := s.b.noteFailure(ctx, err); errors.Is(err, prover.ErrBackendBroken) {
				return err
			}
		case s.b.usable(r):
			return nil
		default:
			if r.dead == nil {
				// Over its request count or its memory: its state is of
				// no more use, and a kill frees the pool's slot at once.
				r.kill(errRecycled)
			}
			s.release()
		}
	}
	r, err := s.b.get(ctx, s.thm.Header)
	if err != nil {
		return fmt.Errorf("restarting the lean repl for %s: %w", s.thm.Name, err)
	}
	s.b.restarts.Add(1)
	s.repl = r
	ps, goal, err := s.loadRoot(ctx)
	if err != nil {
		s.release()
		return fmt.Errorf("restarting the lean repl for %s: %w", s.thm.Name, s.b.noteFailure(ctx, err))
	}
	root := s.states[0]
	if goal != root.goals[0] {
		s.release()
		return fmt.Errorf("restarting the lean repl for %s: the root goal changed from %q to %q", s.thm.Name, root.goals[0], goal)
	}
	root.gen, root.ps = r.gen, ps
	return nil
}

// resolve returns the current process's proof-state id for state id,
// replaying the tactic path from the nearest state of this generation.
// errLost means the replay diverged; other errors mean the process failed
// (it was given back).
func (s *session) resolve(ctx context.Context, id prover.StateID) (int, error) {
	r := s.repl
	var chain []*stateRec
	for cur := id; ; {
		rec := s.states[cur]
		if rec.gen == r.gen {
			break
		}
		chain = append(chain, rec)
		cur = rec.parent
	}
	for i := len(chain) - 1; i >= 0; i-- {
		rec := chain[i]
		parent := s.states[rec.parent]
		resp, err := r.roundTrip(ctx, TacticRequest{Tactic: rec.tactic, ProofState: parent.ps}, s.requestLimit("replaying the path"))
		r.requests++
		if err != nil {
			s.release()
			return 0, fmt.Errorf("replaying %q: %w", rec.tactic, err)
		}
		if resp.Kind == KindError && resp.Error.Message == MsgUnknownProofState {
			err := errors.New("repl forgot a proof state")
			r.kill(err)
			err = r.exitError(err)
			s.release()
			return 0, fmt.Errorf("replaying %q: %w", rec.tactic, err)
		}
		verdict, why := Classify(resp)
		if verdict != StepVerdictOpen {
			return 0, fmt.Errorf("%w: replaying %q: %s", errLost, rec.tactic, why)
		}
		if !slices.Equal(resp.ProofStep.Goals, rec.goals) {
			return 0, fmt.Errorf("%w: replaying %q gave different goals", errLost, rec.tactic)
		}
		rec.gen, rec.ps = r.gen, resp.ProofStep.ProofState
	}
	return s.states[id].ps, nil
}
