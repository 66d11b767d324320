package prover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/search"
)

// Status is the final verdict on one theorem.
type Status string

// The verdict taxonomy. Only proved, failed and timeout are verdicts on the
// theorem; error and interrupted say the run could not judge it (--resume
// runs those again).
const (
	StatusProved      Status = "proved"      // found and independently verified
	StatusFailed      Status = "failed"      // the search ended without a verified proof (exhausted, root failed, expansion budget, rejected by the final check)
	StatusTimeout     Status = "timeout"     // the theorem's own search budget ran out while searching
	StatusError       Status = "error"       // infrastructure failed (model, backend, load, final check): Outcome.Err says which
	StatusInterrupted Status = "interrupted" // the run was stopped before a verdict
)

// Final reports whether s is a verdict on the theorem (proved, failed,
// timeout), as opposed to error or interrupted, which say nothing about it.
func (s Status) Final() bool {
	return s == StatusProved || s == StatusFailed || s == StatusTimeout
}

// Default budgets of the waits around the search, when the Agent's fields
// are zero.
const (
	DefaultSetupTimeout  = 2 * time.Minute
	DefaultVerifyTimeout = 2 * time.Minute
)

// Agent proves theorems: best-first search over a Backend with candidates
// from a Proposer, then the Backend's independent final verification.
//
// One theorem goes through four stages, each timed in the Outcome: the
// wait for a slot (Queue, unbounded: it is the run's business, not the
// theorem's), setup (Backend.Open: process start, header and statement
// load; bounded by SetupTimeout), the search (bounded by TheoremTimeout:
// the budget of the theorem counts search time only) and the final check
// (bounded by VerifyTimeout).
type Agent struct {
	Backend  Backend
	Proposer Proposer
	Search   search.Config
	// TheoremTimeout bounds the search on one theorem (0: none).
	TheoremTimeout time.Duration
	// SetupTimeout bounds opening the theorem (default DefaultSetupTimeout).
	SetupTimeout time.Duration
	// VerifyTimeout bounds the final check (default DefaultVerifyTimeout).
	VerifyTimeout time.Duration
	// OpenTimeout is the old name of SetupTimeout, used when SetupTimeout
	// is zero.
	//
	// Deprecated: set SetupTimeout.
	OpenTimeout time.Duration
	// Slots, when set, is shared by the agents of one run: a theorem holds
	// a slot from open to the end of its final check.
	Slots *Slots
	Log   *slog.Logger
	// OnEvent, when set, receives progress lines (for editors and the CLI).
	OnEvent func(msg string)
}

// Outcome is the agent's report on one theorem.
type Outcome struct {
	Status       Status
	Proof        []string
	FileText     string // the complete file that was verified (proved only)
	Axioms       []string
	Expansions   int
	TacticChecks int
	Rejected     int // candidates the tactic policy refused
	SearchEnd    search.Outcome
	// Err is why the outcome is error or interrupted; CauseOf(Err) names
	// the cause. Nil for verdicts.
	Err error
	// Note explains a verdict in words (how the search ended, why the
	// final check refused the proof).
	Note string
	// Error is Message(), kept for callers that print it.
	//
	// Deprecated: use Err (errors.Is, CauseOf) or Message; never match
	// its text.
	Error string
	// Queue is the wait for a slot; Setup the open; Search the search;
	// Verify the final check; Wall all of it.
	Queue, Setup, Search, Verify, Wall time.Duration
	Trace                              *search.Trace
	Verification                       *Verification
}

// Cause is the stable name of what made the outcome an error ("" unless
// Status is StatusError).
func (o Outcome) Cause() string {
	if o.Status != StatusError {
		return ""
	}
	return CauseOf(o.Err)
}

// Message is the outcome's explanation for people: the error, else the note.
func (o Outcome) Message() string {
	if o.Err != nil {
		return o.Err.Error()
	}
	return o.Note
}

// RejectedByFinalCheck reports whether the search found a proof that the
// final check refused (a failed outcome whose Proof is kept for study).
func (o Outcome) RejectedByFinalCheck() bool {
	return o.Status == StatusFailed && o.Verification != nil && !o.Verification.Verified
}

// Prove searches for a proof of thm and verifies it. It never returns
// before every process it used is released.
func (a *Agent) Prove(ctx context.Context, thm Theorem) Outcome {
	start := time.Now()
	var out Outcome
	if err := a.Slots.acquire(ctx); err != nil {
		out = Outcome{Status: StatusInterrupted, Err: err}
	} else {
		out.Queue = time.Since(start)
		a.prove(ctx, thm, &out)
		a.Slots.release()
	}
	out.Wall = time.Since(start)
	if ctx.Err() != nil && out.Status != StatusProved {
		// Whatever happened after the run was stopped is not a verdict.
		out.Status = StatusInterrupted
		if out.Err == nil || !errors.Is(out.Err, context.Cause(ctx)) {
			out.Err = context.Cause(ctx)
		}
	}
	out.Error = out.Message()
	return out
}

func (a *Agent) prove(ctx context.Context, thm Theorem, out *Outcome) {
	sess, err := a.open(ctx, thm, out)
	if err != nil {
		out.Status, out.Err = StatusError, err
		return
	}
	res, env := a.search(ctx, thm, sess, out)
	out.Expansions, out.TacticChecks, out.Rejected = res.Expansions, res.TacticChecks, env.rejected
	out.SearchEnd, out.Trace = res.Outcome, &res.Trace
	switch res.Outcome {
	case search.OutcomeProved:
		a.verify(ctx, thm, res.Proof, out)
	case search.OutcomeTimeout:
		out.Status, out.Note = StatusTimeout, fmt.Sprintf("the search budget of %s ran out after %d expansions", a.TheoremTimeout, res.Expansions)
		if env.answers == 0 {
			// The proposer never answered: the budget was spent waiting
			// for the model, not searching.
			out.Status, out.Note = StatusError, ""
			out.Err = StageError(ErrModel, fmt.Sprintf("the proposer gave no candidates within the %s search budget", a.TheoremTimeout), env.lastErr())
		}
	case search.OutcomeCanceled:
		out.Status, out.Err = StatusInterrupted, context.Cause(ctx)
	case search.OutcomeError:
		out.Status, out.Err = StatusError, res.Err
		if res.Err != nil && !errors.Is(res.Err, ErrModel) && !errors.Is(res.Err, ErrBackend) {
			out.Err = StageError(ErrBackend, "searching "+thm.Name, res.Err)
		}
	default:
		out.Status, out.Note = StatusFailed, "search ended: "+string(res.Outcome)
	}
}

// open loads thm within the setup budget.
func (a *Agent) open(ctx context.Context, thm Theorem, out *Outcome) (Session, error) {
	budget := orDefault(a.SetupTimeout, orDefault(a.OpenTimeout, DefaultSetupTimeout))
	start := time.Now()
	octx, cancel := context.WithTimeoutCause(ctx, budget, ErrSetupTimeout)
	defer cancel()
	sess, err := a.Backend.Open(octx, thm)
	out.Setup = time.Since(start)
	switch {
	case err == nil:
		return sess, nil
	case ctx.Err() == nil && errors.Is(context.Cause(octx), ErrSetupTimeout):
		return nil, StageError(ErrSetupTimeout, fmt.Sprintf("opening %s: not loaded after %s (setup budget %s)",
			thm.Name, out.Setup.Round(time.Millisecond), budget), err)
	}
	return nil, StageError(ErrBackend, fmt.Sprintf("opening %s (after %s)", thm.Name, out.Setup.Round(time.Millisecond)), err)
}

// search runs the best-first search on sess within the theorem budget and
// closes the session (its process goes back to the pool before the final
// check, which runs in a fresh process of its own).
func (a *Agent) search(ctx context.Context, thm Theorem, sess Session, out *Outcome) (search.Result, *agentEnv) {
	defer sess.Close()
	start := time.Now()
	defer func() { out.Search = time.Since(start) }()
	env := &agentEnv{a: a, thm: thm, sess: sess, states: map[StateID]State{}}
	root := sess.Root()
	env.states[root.ID] = root
	sctx := ctx
	if a.TheoremTimeout > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, a.TheoremTimeout)
		defer cancel()
	}
	a.event("searching %s", thm.Name)
	res := search.Run(sctx, env, search.State{ID: search.StateID(root.ID), Key: root.Key()}, a.Search)
	return res, env
}

// verify judges the proof found by search in a fresh process: nothing
// found by search is trusted.
func (a *Agent) verify(ctx context.Context, thm Theorem, proof []string, out *Outcome) {
	a.event("verifying %s (%d tactics)", thm.Name, len(proof))
	budget := orDefault(a.VerifyTimeout, DefaultVerifyTimeout)
	file := a.Backend.Assemble(thm, proof)
	start := time.Now()
	vctx, cancel := context.WithTimeoutCause(ctx, budget, ErrVerifyTimeout)
	defer cancel()
	v, err := a.Backend.Verify(vctx, VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: file})
	out.Verify = time.Since(start)
	out.Proof, out.Verification, out.Axioms = proof, &v, v.Axioms
	switch {
	case err != nil && ctx.Err() == nil && errors.Is(context.Cause(vctx), ErrVerifyTimeout):
		out.Status = StatusError
		out.Err = StageError(ErrVerifyTimeout, fmt.Sprintf("final check of %s: not done after %s (verify budget %s)",
			thm.Name, out.Verify.Round(time.Millisecond), budget), err)
	case err != nil:
		out.Status, out.Err = StatusError, StageError(ErrVerify, "final check of "+thm.Name, err)
	case !v.Verified:
		out.Status = StatusFailed
		out.Note = "found in search, failed final check: " + v.Message
		a.log().Warn("proof rejected by final check", "theorem", thm.Name, "reason", v.Message,
			"proof", strings.Join(proof, " "))
	default:
		out.Status, out.FileText = StatusProved, file
	}
}

func (a *Agent) log() *slog.Logger {
	if a.Log == nil {
		return slog.Default()
	}
	return a.Log
}

func (a *Agent) event(format string, args ...any) {
	if a.OnEvent != nil {
		a.OnEvent(fmt.Sprintf(format, args...))
	}
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// agentEnv adapts a Session and a Proposer to search.Env, applying the
// tactic policy to every proposal before anything reaches the prover.
type agentEnv struct {
	a        *Agent
	thm      Theorem
	sess     Session
	states   map[StateID]State
	rejected int
	// answers counts the proposer's successful answers, propErr is its
	// last error (the search calls the Env from one goroutine).
	answers int
	propErr error
}

// lastErr is the proposer's last error, or the deadline that cut it off.
func (e *agentEnv) lastErr() error {
	if e.propErr != nil {
		return e.propErr
	}
	return context.DeadlineExceeded
}

// worstScore replaces a proposer's non-finite score.
const worstScore = -1e9

func (e *agentEnv) Candidates(ctx context.Context, s search.State, path []string) ([]search.Candidate, error) {
	st := e.states[StateID(s.ID)]
	n := e.a.Search.Samples
	if n <= 0 {
		n = search.DefaultConfig().Samples
	}
	cands, err := e.a.Proposer.Propose(ctx, ProposalRequest{Theorem: e.thm, State: st, Path: path, N: n})
	if err != nil {
		e.propErr = err
		return nil, StageError(ErrModel, "proposer "+e.a.Proposer.Name(), err)
	}
	e.answers++
	policy := e.a.Backend.Policy()
	out := make([]search.Candidate, 0, len(cands))
	for _, c := range cands {
		t, err := policy.Check(c.Tactic)
		if err != nil {
			e.rejected++
			continue
		}
		score := c.Score
		if math.IsNaN(score) || math.IsInf(score, 0) {
			// An untrusted score that would poison the path costs (NaN
			// breaks the frontier's order): try such a candidate last.
			score = worstScore
		}
		out = append(out, search.Candidate{Tactic: t, Score: score, Timeout: c.Timeout})
	}
	return out, nil
}

func (e *agentEnv) Apply(ctx context.Context, s search.State, tactic string, timeout time.Duration) (search.Step, error) {
	// The policy runs again here: Apply is the last gate before the prover.
	t, err := e.a.Backend.Policy().Check(tactic)
	if err != nil {
		e.rejected++
		return search.Step{Status: search.Failed, Kind: "rejected", Detail: err.Error()}, nil
	}
	r, err := e.sess.Apply(ctx, StateID(s.ID), t, timeout)
	if err != nil {
		return search.Step{}, StageError(ErrBackend, "applying a tactic to "+e.thm.Name, err)
	}
	switch r.Status {
	case StepProved:
		return search.Step{Status: search.Proved}, nil
	case StepOpen:
		e.states[r.State.ID] = r.State
		return search.Step{Status: search.Open, State: search.State{ID: search.StateID(r.State.ID), Key: r.State.Key()}}, nil
	default:
		return search.Step{Status: search.Failed, Kind: r.Status.String(), Detail: firstLine(r.Message)}, nil
	}
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
