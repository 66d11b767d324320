package prover

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/search"
)

// Status is the final verdict on one theorem.
type Status string

const (
	StatusProved      Status = "proved"      // found and independently verified
	StatusFailed      Status = "failed"      // no verified proof within the search's reach
	StatusTimeout     Status = "timeout"     // the theorem's wall-time budget ran out
	StatusError       Status = "error"       // the machinery failed (load error, dead backend)
	StatusInterrupted Status = "interrupted" // the run was stopped before a verdict
)

// Agent proves theorems: best-first search over a Backend with candidates
// from a Proposer, then the Backend's independent final verification.
type Agent struct {
	Backend  Backend
	Proposer Proposer
	Search   search.Config
	// TheoremTimeout bounds the search on one theorem (loading excluded).
	TheoremTimeout time.Duration
	// OpenTimeout bounds loading the theorem (default 2 min).
	OpenTimeout time.Duration
	// VerifyTimeout bounds the final check (default 2 min).
	VerifyTimeout time.Duration
	Log           *slog.Logger
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
	Wall         time.Duration
	Error        string
	Trace        *search.Trace
	Verification *Verification
}

// Prove searches for a proof of thm and verifies it.
func (a *Agent) Prove(ctx context.Context, thm Theorem) Outcome {
	start := time.Now()
	out := a.prove(ctx, thm)
	out.Wall = time.Since(start)
	if ctx.Err() != nil && out.Status != StatusProved {
		out.Status = StatusInterrupted
		if out.Error == "" {
			out.Error = "interrupted"
		}
	}
	return out
}

func (a *Agent) prove(ctx context.Context, thm Theorem) Outcome {
	log := a.Log
	if log == nil {
		log = slog.Default()
	}
	openTimeout := orDefault(a.OpenTimeout, 2*time.Minute)
	octx, cancel := context.WithTimeout(ctx, openTimeout)
	sess, err := a.Backend.Open(octx, thm)
	cancel()
	if err != nil {
		return Outcome{Status: StatusError, Error: fmt.Sprintf("opening %s: %v", thm.Name, err)}
	}
	// The session's process is released before the final check, which runs
	// in a fresh process of its own.
	closeOnce := func() {
		if sess != nil {
			sess.Close()
			sess = nil
		}
	}
	defer closeOnce()

	env := &agentEnv{a: a, thm: thm, sess: sess, states: map[StateID]State{}}
	root := sess.Root()
	env.states[root.ID] = root
	sctx := ctx
	if a.TheoremTimeout > 0 {
		var c context.CancelFunc
		sctx, c = context.WithTimeout(ctx, a.TheoremTimeout)
		defer c()
	}
	a.event("searching %s", thm.Name)
	res := search.Run(sctx, env, search.State{ID: search.StateID(root.ID), Key: root.Key()}, a.Search)
	closeOnce()
	out := Outcome{
		Expansions:   res.Expansions,
		TacticChecks: res.TacticChecks,
		Rejected:     env.rejected,
		SearchEnd:    res.Outcome,
		Trace:        &res.Trace,
	}
	switch res.Outcome {
	case search.OutcomeProved:
	case search.OutcomeTimeout:
		out.Status = StatusTimeout
		return out
	case search.OutcomeCanceled:
		out.Status = StatusInterrupted
		return out
	case search.OutcomeError:
		out.Status, out.Error = StatusError, res.Err.Error()
		return out
	default:
		out.Status = StatusFailed
		out.Error = "search ended: " + string(res.Outcome)
		return out
	}

	// Nothing found by search is trusted: check the whole file afresh.
	a.event("verifying %s (%d tactics)", thm.Name, len(res.Proof))
	file := a.Backend.Assemble(thm, res.Proof)
	vctx, vcancel := context.WithTimeout(ctx, orDefault(a.VerifyTimeout, 2*time.Minute))
	defer vcancel()
	v, err := a.Backend.Verify(vctx, VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: file})
	out.Proof = res.Proof
	out.Verification = &v
	out.Axioms = v.Axioms
	switch {
	case err != nil:
		out.Status, out.Error = StatusError, "final check: "+err.Error()
	case !v.Verified:
		out.Status = StatusFailed
		out.Error = "found in search, failed final check: " + v.Message
		log.Warn("proof rejected by final check", "theorem", thm.Name, "reason", v.Message,
			"proof", strings.Join(res.Proof, " "))
	default:
		out.Status, out.FileText = StatusProved, file
	}
	return out
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
		return nil, err
	}
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
		return search.Step{}, err
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
