package prover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
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
// load; bounded by SetupTimeout), the search (bounded by TheoremTimeout,
// see below) and the final check (bounded by VerifyTimeout).
//
// # The theorem budget
//
// TheoremTimeout is charged with the time the theorem's own tactics take:
// the checker CPU time of each tactic when the session measures it
// (CPUMeter: Coq), else the wall time of each tactic check. Waiting for
// the model, for a checker slot and restoring a state on another process
// are not charged: they depend on the load of the run, not on the
// theorem, so a theorem gets the same verdict at concurrency 1 and 64, on
// an idle machine or a busy one (up to CheckWallFactor: the checks' wall
// time is capped at twice the budget even when CPU is what is charged). A
// tactic's timeout is capped at what is left of the budget. The search's wall time is bounded all the same, by
// WallBackstop: a search stopped there has no verdict (an error whose
// cause says whether the model or the checker was slow).
//
// # Proposing while checking
//
// The search asks for the candidates of the next frontier nodes while it
// checks the current node's (search.Config.Speculate, on by default):
// those proposals run in the background, under WithSpeculation. When the
// search has to wait for the model and the session is a Parker, the
// session is parked and the agent's slot released for the wait, so that a
// theorem waiting for the model holds no checker process and another
// theorem can check meanwhile.
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
	// WallBackstop bounds the wall time of the search (default
	// DefaultBackstop(TheoremTimeout); none without a TheoremTimeout).
	WallBackstop time.Duration
	// Slots, when set, is shared by the agents of one run: a theorem holds
	// a slot from open to the end of its final check, except while its
	// session is parked (a Parker session waiting for the model).
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
	// Queue is the wait for a slot (before the open, and to resume a
	// parked session); Setup the open; Search the search; Verify the final
	// check; Wall all of it.
	Queue, Setup, Search, Verify, Wall time.Duration
	// ModelWait is the part of Search spent waiting for proposals; Check
	// the wall time of the tactic checks; CheckerCPU their checker CPU
	// time (for a session that measures it, CPUMeter); Charged what the
	// theorem budget was charged (CheckerCPU, or Check when the session
	// does not measure CPU).
	ModelWait, Check, CheckerCPU, Charged time.Duration
	// Parks counts the waits for the model with the session parked.
	Parks int
	// Speculation counts the proposals requested ahead (search.Result's);
	// SpeculationCancelled those of them dropped while still running (the
	// request was cancelled).
	Speculation          search.Speculation
	SpeculationCancelled int
	Trace                *search.Trace
	Verification         *Verification
}

// Parker is a Session that can give its checker process back while the
// search waits for the model. Park is called between Apply calls; Resume
// before the next Apply, which must then behave as if the session had
// never been parked (at worst slower: a session whose process was given to
// another theorem replays its state on a new one). Close may be called on
// a parked session.
type Parker interface {
	Park()
	Resume(ctx context.Context) error
}

// CPUMeter is a Session that measures the checker CPU time of its tactics:
// TacticCPU is the total so far, restoring states (backtracking, replays on
// a new process) excluded. The agent charges the theorem budget with it.
type CPUMeter interface {
	TacticCPU() time.Duration
}

// CheckWallFactor caps the wall time of a theorem's tactic checks, for a
// session charged by CPU (CPUMeter), at this multiple of its budget: a
// machine loaded more than that, or a checker that does not run, ends the
// search as if the budget were spent.
const CheckWallFactor = 2.0

// ErrCheckerStalled is the cause of a search whose checks reached their
// wall cap (CheckWallFactor) while the checker hardly ran: a stopped or
// starved process, an infrastructure fault rather than the theorem's
// budget.
var ErrCheckerStalled = errors.New("prover: the checker made no progress")

// stalledCPUShare is the share of the checks' wall time below which a
// checker that reached the wall cap is taken as stalled.
const stalledCPUShare = 0.1

// ErrWallBackstop is the context cause of a search stopped by
// Agent.WallBackstop.
var ErrWallBackstop = errors.New("prover: search wall backstop reached")

// DefaultBackstop is the wall backstop of a theorem budget b: 4b + 1 min.
// The budget counts tactic time only, so the wall time of a search also
// holds the model's and the checker's queues; the backstop only stops a
// search that makes no progress at all.
func DefaultBackstop(b time.Duration) time.Duration {
	if b <= 0 {
		return 0
	}
	return 4*b + time.Minute
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
	slot := &heldSlot{s: a.Slots}
	if err := slot.acquire(ctx); err != nil {
		out = Outcome{Status: StatusInterrupted, Err: err}
	} else {
		out.Queue = time.Since(start)
		a.prove(ctx, thm, slot, &out)
		slot.release()
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

func (a *Agent) prove(ctx context.Context, thm Theorem, slot *heldSlot, out *Outcome) {
	sess, err := a.open(ctx, thm, out)
	if err != nil {
		out.Status, out.Err = StatusError, err
		return
	}
	res, env := a.search(ctx, thm, sess, slot, out)
	out.Expansions, out.TacticChecks, out.Rejected = res.Expansions, res.TacticChecks, env.rejected
	out.SearchEnd, out.Trace = res.Outcome, &res.Trace
	out.ModelWait, out.Check, out.CheckerCPU, out.Charged = env.modelWait, env.check, env.cpu, env.charged
	out.Parks, out.Queue = env.parks, out.Queue+env.queue
	out.Speculation, out.SpeculationCancelled = res.Speculation, env.cancelled
	if env.resumeErr != nil && res.Outcome == search.OutcomeError {
		out.Status, out.Err = StatusError, env.resumeErr
		return
	}
	if env.backstop && ctx.Err() == nil && (res.Outcome == search.OutcomeTimeout || res.Outcome == search.OutcomeError) {
		// Stopped by the wall backstop, not by the theorem's budget: no
		// verdict, and the cause says what was slow.
		stage, what := ErrBackend, "the checker"
		if env.modelWait*2 > out.Search {
			stage, what = ErrModel, "the model"
		}
		out.Status = StatusError
		out.Err = StageError(stage, fmt.Sprintf("the search of %s reached its wall backstop of %s after %d expansions, %s of its %s budget used, %s waiting for the model, %s waiting for a checker slot: %s was too slow",
			thm.Name, a.backstop(), res.Expansions, env.charged.Round(time.Millisecond), a.TheoremTimeout, env.modelWait.Round(time.Millisecond), env.queue.Round(time.Millisecond), what), ErrWallBackstop)
		return
	}
	if env.stalled && ctx.Err() == nil && (res.Outcome == search.OutcomeTimeout || res.Outcome == search.OutcomeError) {
		// The checks' wall cap, with the checker's CPU far below it: not
		// the theorem's budget but a process that did not run.
		out.Status = StatusError
		out.Err = StageError(ErrBackend, fmt.Sprintf("the checker of %s made no progress: %s of tactic CPU in %s of checks (the cap is %gx the %s budget); was it stopped or starved?",
			thm.Name, env.charged.Round(time.Millisecond), env.check.Round(time.Millisecond), CheckWallFactor, a.TheoremTimeout), ErrCheckerStalled)
		return
	}
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

// backstop is the search's wall backstop (0: none).
func (a *Agent) backstop() time.Duration {
	if a.WallBackstop > 0 {
		return a.WallBackstop
	}
	return DefaultBackstop(a.TheoremTimeout)
}

// search runs the best-first search on sess within the theorem budget and
// closes the session (its process goes back to the pool before the final
// check, which runs in a fresh process of its own). It returns once every
// proposal it started has returned.
func (a *Agent) search(ctx context.Context, thm Theorem, sess Session, slot *heldSlot, out *Outcome) (search.Result, *agentEnv) {
	defer sess.Close()
	start := time.Now()
	defer func() { out.Search = time.Since(start) }()
	env := &agentEnv{a: a, thm: thm, sess: sess, states: map[StateID]State{}, slot: slot,
		pending: map[search.StateID]*proposal{}, budget: a.TheoremTimeout}
	env.parker, _ = sess.(Parker)
	env.meter, _ = sess.(CPUMeter)
	root := sess.Root()
	env.states[root.ID] = root
	bctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	env.spend = cancel
	sctx := bctx
	if d := a.backstop(); d > 0 {
		var stop context.CancelFunc
		sctx, stop = context.WithTimeoutCause(bctx, d, ErrWallBackstop)
		defer stop()
	}
	a.event("searching %s", thm.Name)
	res := search.Run(sctx, env, search.State{ID: search.StateID(root.ID), Key: root.Key()}, a.Search)
	env.backstop = errors.Is(context.Cause(sctx), ErrWallBackstop)
	env.close()
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

// heldSlot is an agent's hold on its Slots: released while parked.
type heldSlot struct {
	s    *Slots
	held bool
}

func (h *heldSlot) acquire(ctx context.Context) error {
	if h.held {
		return nil
	}
	if err := h.s.acquire(ctx); err != nil {
		return err
	}
	h.held = true
	return nil
}

func (h *heldSlot) release() {
	if h.held {
		h.held = false
		h.s.release()
	}
}

// agentEnv adapts a Session and a Proposer to search.Env (and
// search.Prefetcher), applying the tactic policy to every proposal before
// anything reaches the prover, charging the theorem budget, and parking
// the session while the search waits for the model. The search calls it
// from one goroutine; only the proposals run on others.
type agentEnv struct {
	a        *Agent
	thm      Theorem
	sess     Session
	parker   Parker   // nil: the session cannot park
	meter    CPUMeter // nil: the budget is charged wall time
	slot     *heldSlot
	states   map[StateID]State
	rejected int
	// answers counts the proposer's successful answers, propErr is its
	// last error.
	answers int
	propErr error

	pending   map[search.StateID]*proposal
	wg        sync.WaitGroup
	cancelled int // prefetches dropped while running

	budget, charged, check, cpu time.Duration
	spend                       context.CancelCauseFunc // ends the search when the budget is spent
	modelWait, queue            time.Duration
	parks                       int
	parked, backstop            bool
	stalled                     bool // the checks' wall cap ended the search, the checker hardly ran
	resumeErr                   error
}

// proposal is one Propose call running in the background.
type proposal struct {
	path   []string
	done   chan struct{}
	cancel context.CancelCauseFunc
	cands  []Candidate
	err    error
}

// errDropped is the cause of a prefetch the search no longer wants.
var errDropped = errors.New("prover: speculative proposal dropped")

// lastErr is the proposer's last error, or the deadline that cut it off.
func (e *agentEnv) lastErr() error {
	if e.propErr != nil {
		return e.propErr
	}
	return context.DeadlineExceeded
}

// worstScore replaces a proposer's non-finite score.
const worstScore = -1e9

// propose starts a Propose for s in the background.
func (e *agentEnv) propose(ctx context.Context, s search.State, path []string, speculative bool) *proposal {
	n := e.a.Search.Samples
	if n <= 0 {
		n = search.DefaultConfig().Samples
	}
	req := ProposalRequest{Theorem: e.thm, State: e.states[StateID(s.ID)], Path: path, N: n}
	pctx, cancel := context.WithCancelCause(ctx)
	if speculative {
		pctx = WithSpeculation(pctx)
	}
	p := &proposal{path: path, done: make(chan struct{}), cancel: cancel}
	e.wg.Go(func() {
		defer close(p.done)
		defer cancel(nil)
		p.cands, p.err = e.a.Proposer.Propose(pctx, req)
	})
	return p
}

// Prefetch starts speculative proposals for states.
func (e *agentEnv) Prefetch(ctx context.Context, states []search.State, paths [][]string) {
	for i, s := range states {
		if old := e.pending[s.ID]; old != nil {
			e.abandon(old)
		}
		e.pending[s.ID] = e.propose(ctx, s, slices.Clone(paths[i]), true)
	}
}

// Drop cancels the prefetch of s.
func (e *agentEnv) Drop(s search.State) {
	if p := e.pending[s.ID]; p != nil {
		delete(e.pending, s.ID)
		e.abandon(p)
	}
}

// abandon cancels p, counting it when it was still running.
func (e *agentEnv) abandon(p *proposal) {
	select {
	case <-p.done:
	default:
		e.cancelled++
	}
	p.cancel(errDropped)
}

// close cancels what is still pending and waits for every proposal.
func (e *agentEnv) close() {
	for id, p := range e.pending {
		delete(e.pending, id)
		e.abandon(p)
	}
	e.wg.Wait()
}

// await waits for p, with the session parked (and the agent's slot
// released) when p is not done yet.
func (e *agentEnv) await(ctx context.Context, p *proposal) error {
	start := time.Now()
	defer func() { e.modelWait += time.Since(start) }()
	select {
	case <-p.done:
		return nil
	default:
	}
	e.park()
	select {
	case <-p.done:
	case <-ctx.Done():
		p.cancel(context.Cause(ctx))
		return context.Cause(ctx)
	}
	return nil
}

// park gives the session's process and the agent's slot back for a wait
// (nothing for a session that cannot park).
func (e *agentEnv) park() {
	if e.parker == nil || e.parked {
		return
	}
	e.parker.Park()
	e.slot.release()
	e.parked, e.parks = true, e.parks+1
}

// resume takes a slot and the session's process back before a check.
func (e *agentEnv) resume(ctx context.Context) error {
	if !e.parked {
		return nil
	}
	start := time.Now()
	err := e.slot.acquire(ctx)
	e.queue += time.Since(start)
	if err != nil {
		return err
	}
	if err := e.parker.Resume(ctx); err != nil {
		if ctx.Err() == nil {
			e.resumeErr = StageError(ErrBackend, "resuming the session of "+e.thm.Name, err)
			return e.resumeErr
		}
		return err
	}
	e.parked = false
	return nil
}

func (e *agentEnv) Candidates(ctx context.Context, s search.State, path []string) ([]search.Candidate, error) {
	p := e.pending[s.ID]
	delete(e.pending, s.ID)
	if p != nil && !slices.Equal(p.path, path) {
		e.abandon(p)
		p = nil
	}
	if p == nil {
		p = e.propose(ctx, s, path, false)
	}
	if err := e.await(ctx, p); err != nil {
		return nil, err
	}
	cands, err := p.cands, p.err
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
	if err := e.resume(ctx); err != nil {
		return search.Step{}, err
	}
	actx := ctx
	if e.budget > 0 {
		left := e.budget - e.charged
		timeout = min(timeout, left)
		// Charged by the wall, the budget's end stops the check; charged by
		// CPU, the checks' wall time is still capped (CheckWallFactor), so
		// that a checker that does not run (stopped, starved) cannot hold
		// the theorem until the backstop.
		wallLeft := left
		if e.meter != nil {
			wallLeft = time.Duration(CheckWallFactor*float64(e.budget)) - e.check
		}
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, max(wallLeft, 0), search.ErrBudget)
		defer cancel()
	}
	var cpu0 time.Duration
	if e.meter != nil {
		cpu0 = e.meter.TacticCPU()
	}
	start := time.Now()
	r, err := e.sess.Apply(actx, StateID(s.ID), t, timeout)
	e.charge(time.Since(start), cpu0)
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

// charge records a check of wall time wall (and, with a CPUMeter, the CPU
// since cpu0) against the budget, and ends the search once it is spent.
func (e *agentEnv) charge(wall, cpu0 time.Duration) {
	e.check += wall
	cost := wall
	if e.meter != nil {
		cost = max(e.meter.TacticCPU()-cpu0, 0)
		e.cpu += cost
	}
	e.charged += cost
	switch {
	case e.budget <= 0:
	case e.charged >= e.budget:
		e.spend(fmt.Errorf("%w: %s of tactic time, budget %s", search.ErrBudget, e.charged.Round(time.Millisecond), e.budget))
	case e.meter != nil && float64(e.check) >= CheckWallFactor*float64(e.budget):
		e.stalled = float64(e.charged) < stalledCPUShare*float64(e.check)
		e.spend(fmt.Errorf("%w: %s of checks' wall time (%s of tactic CPU), %gx the budget of %s", search.ErrBudget,
			e.check.Round(time.Millisecond), e.charged.Round(time.Millisecond), CheckWallFactor, e.budget))
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
