package prover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/llemma-prove/llemma-prove/search"
)

// Hole is one gap of a source file that the step-wise search can close:
// Coq's `admit.`, `assert ... by admit.` and `Admitted.`, Lean's and
// Isabelle's `sorry`.
type Hole struct {
	Index int    // 0-based, in file order
	Kind  string // the backend's name for the gap: admit, assert-by-admit, Admitted, sorry
	// Theorem is the declaration the hole is in; Statement its statement
	// (what a proposer sees as the theorem).
	Theorem   string
	Statement string
	// Start and End are the bytes of the file a fill replaces.
	Start, End int
	// Line and Column (1-based) locate Start, for people.
	Line, Column int
	// Unsupported, when set, says why this gap cannot be searched (Coq's
	// `split; admit.`): it is reported and left as it is.
	Unsupported string
}

// HoleBackend is a Backend that can search the holes of a file (llemma-prove
// fill, llemma/fill, sketch mode).
type HoleBackend interface {
	// Holes lists the holes of src in file order; an error means src
	// does not parse.
	Holes(src string) ([]Hole, error)
	// OpenHole opens a session whose root is h's goal: src before h's
	// declaration loaded (its definitions and earlier lemmas, holes
	// left as they are), the declaration's proof up to h replayed, and
	// h's goal focused. Closing the root closes the hole; that claim is
	// the search's, never a verdict: only the Verifier's judgement of the
	// filled file is.
	OpenHole(ctx context.Context, src string, h Hole) (Session, error)
	// FillHoles returns src with each hole of fills (by Index) replaced by
	// the tactics a search of OpenHole's session found; the other holes
	// stay as they are.
	FillHoles(src string, holes []Hole, fills map[int][]string) (string, error)
}

// HoleStatus is what the search did with one hole.
type HoleStatus string

// Hole statuses. Closed is the search's claim; the filled file's final
// check decides.
const (
	HoleClosed      HoleStatus = "closed"      // the search closed the hole's goal
	HoleOpen        HoleStatus = "open"        // the search ended without closing it
	HoleTimeout     HoleStatus = "timeout"     // the hole's search budget ran out
	HoleUnsupported HoleStatus = "unsupported" // the gap cannot be searched (Hole.Unsupported)
	HoleError       HoleStatus = "error"       // the machinery failed (Err)
	HoleInterrupted HoleStatus = "interrupted" // the run was stopped
)

// HoleResult is the search's report on one hole.
type HoleResult struct {
	Hole   Hole
	Status HoleStatus
	Proof  []string // the tactics that closed it (HoleClosed)
	Note   string
	Err    error
	// Expansions and TacticChecks are the search's; Setup the open and
	// replay; Search the search.
	Expansions, TacticChecks int
	Setup, Search            time.Duration
}

// ErrNoHoles: the backend cannot search holes.
var ErrNoHoles = errors.New("prover: the backend cannot fill holes")

// ErrHoleDone is returned by HoleBackend.OpenHole for a hole that has no
// goal left once the file before it is loaded (Coq's Admitted after a
// proof whose last goals were given up by admit holes of its own): it is
// closed by no tactic at all (Qed instead of Admitted), which the final
// check of the filled file still has to accept.
var ErrHoleDone = errors.New("prover: the hole has no goal left")

// HoleFiller closes the holes of a file with the step-wise search, each in
// its own session (HoleBackend.OpenHole), several at once.
type HoleFiller struct {
	Backend  Backend // must be a HoleBackend
	Proposer Proposer
	Search   search.Config
	// HoleTimeout bounds the search of one hole (0: none); SetupTimeout
	// its open (default DefaultSetupTimeout).
	HoleTimeout  time.Duration
	SetupTimeout time.Duration
	// Concurrency is how many holes are searched at once (default 1).
	Concurrency int
	// Slots, when set, is held by each hole's session.
	Slots *Slots
	Log   *slog.Logger
	// OnHole receives each hole's result as soon as it is known, one call
	// at a time.
	OnHole func(HoleResult)
}

// FillResult is a HoleFiller's work on one file.
type FillResult struct {
	Holes []HoleResult // in file order
	// FileText is the file with every closed hole filled; Closed counts
	// those. It passes the final check only if every hole was closed, and
	// only the final check says so.
	FileText string
	Closed   int
}

// AllClosed reports whether every hole was closed (and there was one).
func (r FillResult) AllClosed() bool { return len(r.Holes) > 0 && r.Closed == len(r.Holes) }

// Fill searches every hole of src. An error means src does not parse or the
// backend cannot fill holes; a hole that stays open is a HoleResult.
func (f *HoleFiller) Fill(ctx context.Context, src string) (FillResult, error) {
	hb, ok := f.Backend.(HoleBackend)
	if !ok {
		return FillResult{}, fmt.Errorf("%w: %s", ErrNoHoles, f.Backend.Name())
	}
	holes, err := hb.Holes(src)
	if err != nil {
		return FillResult{}, err
	}
	res := FillResult{Holes: make([]HoleResult, len(holes)), FileText: src}
	var (
		mu  sync.Mutex
		wg  sync.WaitGroup
		sem = make(chan struct{}, max(f.Concurrency, 1))
	)
	for i, h := range holes {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r := f.searchHole(ctx, hb, src, h)
			mu.Lock()
			defer mu.Unlock()
			res.Holes[i] = r
			if f.OnHole != nil {
				f.OnHole(r)
			}
		})
	}
	wg.Wait()
	fills := map[int][]string{}
	for _, r := range res.Holes {
		if r.Status == HoleClosed {
			fills[r.Hole.Index] = r.Proof
		}
	}
	res.Closed = len(fills)
	if len(fills) > 0 {
		text, err := hb.FillHoles(src, holes, fills)
		if err != nil {
			return res, fmt.Errorf("filling the closed holes: %w", err)
		}
		res.FileText = text
	}
	return res, nil
}

// searchHole opens h's session and searches it within the budgets.
func (f *HoleFiller) searchHole(ctx context.Context, hb HoleBackend, src string, h Hole) HoleResult {
	r := HoleResult{Hole: h}
	if h.Unsupported != "" {
		r.Status, r.Note = HoleUnsupported, h.Unsupported
		return r
	}
	if err := f.Slots.acquire(ctx); err != nil {
		r.Status, r.Err = HoleInterrupted, err
		return r
	}
	defer f.Slots.release()
	budget := orDefault(f.SetupTimeout, DefaultSetupTimeout)
	t0 := time.Now()
	octx, cancel := context.WithTimeoutCause(ctx, budget, ErrSetupTimeout)
	sess, err := hb.OpenHole(octx, src, h)
	cancel()
	r.Setup = time.Since(t0)
	if err != nil {
		switch {
		case ctx.Err() != nil:
			r.Status, r.Err = HoleInterrupted, context.Cause(ctx)
		case errors.Is(err, ErrHoleDone):
			r.Status, r.Note = HoleClosed, "no goal left: closed by no tactic"
		case errors.Is(err, ErrLoad):
			// The file up to the hole does not load: nothing to search.
			r.Status, r.Note = HoleOpen, err.Error()
		default:
			r.Status, r.Err = HoleError, StageError(ErrBackend, fmt.Sprintf("opening hole %d (line %d)", h.Index+1, h.Line), err)
		}
		return r
	}
	defer sess.Close()
	thm := Theorem{Name: h.Theorem, Statement: h.Statement, Backend: f.Backend.Name()}
	env := &holeEnv{f: f, thm: thm, sess: sess, states: map[StateID]State{}}
	root := sess.Root()
	env.states[root.ID] = root
	sctx := ctx
	if f.HoleTimeout > 0 {
		var cancel context.CancelFunc
		sctx, cancel = context.WithTimeout(ctx, f.HoleTimeout)
		defer cancel()
	}
	t1 := time.Now()
	res := search.Run(sctx, env, search.State{ID: search.StateID(root.ID), Key: root.Key()}, f.Search)
	r.Search = time.Since(t1)
	r.Expansions, r.TacticChecks = res.Expansions, res.TacticChecks
	switch res.Outcome {
	case search.OutcomeProved:
		r.Status, r.Proof = HoleClosed, res.Proof
	case search.OutcomeTimeout:
		r.Status, r.Note = HoleTimeout, fmt.Sprintf("the hole's budget of %s ran out after %d expansions", f.HoleTimeout, res.Expansions)
		if env.answers == 0 && env.propErr != nil {
			r.Status, r.Err = HoleError, StageError(ErrModel, "the proposer gave no candidates", env.propErr)
		}
	case search.OutcomeCanceled:
		r.Status, r.Err = HoleInterrupted, context.Cause(ctx)
	case search.OutcomeError:
		r.Status, r.Err = HoleError, res.Err
	default:
		r.Status, r.Note = HoleOpen, "search ended: "+string(res.Outcome)
	}
	return r
}

// holeEnv is the search's Env on one hole's session: proposals pass the
// backend's tactic policy before they reach the prover, as in the Agent.
type holeEnv struct {
	f       *HoleFiller
	thm     Theorem
	sess    Session
	states  map[StateID]State
	answers int
	propErr error
}

func (e *holeEnv) Candidates(ctx context.Context, s search.State, path []string) ([]search.Candidate, error) {
	n := e.f.Search.Samples
	if n <= 0 {
		n = search.DefaultConfig().Samples
	}
	cands, err := e.f.Proposer.Propose(ctx, ProposalRequest{Theorem: e.thm, State: e.states[StateID(s.ID)], Path: path, N: n})
	if err != nil {
		e.propErr = err
		return nil, StageError(ErrModel, "proposer "+e.f.Proposer.Name(), err)
	}
	e.answers++
	policy := e.f.Backend.Policy()
	out := make([]search.Candidate, 0, len(cands))
	for _, c := range cands {
		t, err := policy.Check(c.Tactic)
		if err != nil {
			continue
		}
		score := c.Score
		if math.IsNaN(score) || math.IsInf(score, 0) {
			score = worstScore
		}
		out = append(out, search.Candidate{Tactic: t, Score: score, Timeout: c.Timeout})
	}
	return out, nil
}

func (e *holeEnv) Apply(ctx context.Context, s search.State, tactic string, timeout time.Duration) (search.Step, error) {
	t, err := e.f.Backend.Policy().Check(tactic)
	if err != nil {
		return search.Step{Status: search.Failed, Kind: search.KindRejected, Detail: err.Error()}, nil
	}
	r, err := e.sess.Apply(ctx, StateID(s.ID), t, timeout)
	if err != nil {
		return search.Step{}, StageError(ErrBackend, "applying a tactic to a hole of "+e.thm.Name, err)
	}
	switch r.Status {
	case StepProved:
		return search.Step{Status: search.Proved}, nil
	case StepOpen:
		e.states[r.State.ID] = r.State
		return search.Step{Status: search.Open, State: search.State{ID: search.StateID(r.State.ID), Key: r.State.Key()}}, nil
	case StepTimeout:
		return search.Step{Status: search.Failed, Kind: search.KindTimeout, Detail: firstLine(r.Message)}, nil
	default:
		return search.Step{Status: search.Failed, Kind: r.Status.String(), Detail: firstLine(r.Message)}, nil
	}
}
