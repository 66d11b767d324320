package prover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/search"
)

// agentFakeSession is an in-test Session: a state is its goal text, and a
// tactic's outcome is scripted by goal and tactic. Unscripted tactics fail.
type agentFakeSession struct {
	root  string
	steps map[string]string // goal + "|" + tactic -> next goal, or "" for proved
	// block, when set, makes Apply wait for its ctx to end.
	block  bool
	ctxErr bool // with block: return the ctx error instead of a StepTimeout
	err    error
	// cpu makes the session a CPUMeter; each Apply costs cpuPerApply of
	// (simulated) checker CPU.
	cpu         bool
	cpuPerApply time.Duration

	mu      sync.Mutex
	goals   map[StateID]string
	applied []string
	closed  int
	spent   time.Duration
}

func (s *agentFakeSession) Root() State {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.goals == nil {
		s.goals = map[StateID]string{}
	}
	s.goals[1] = s.root
	return State{ID: 1, Goals: []string{s.root}, Text: "⊢ " + s.root}
}

func (s *agentFakeSession) Apply(ctx context.Context, from StateID, tactic string, timeout time.Duration) (StepResult, error) {
	s.mu.Lock()
	s.applied = append(s.applied, tactic)
	s.spent += min(s.cpuPerApply, timeout)
	goal, ok := s.goals[from]
	s.mu.Unlock()
	if !ok {
		return StepResult{}, errors.New("unknown state")
	}
	if s.err != nil {
		return StepResult{}, s.err
	}
	if s.block {
		<-ctx.Done()
		if s.ctxErr {
			return StepResult{}, ctx.Err()
		}
		return StepResult{Status: StepTimeout, Message: "timeout"}, nil
	}
	next, ok := s.steps[goal+"|"+tactic]
	switch {
	case !ok:
		return StepResult{Status: StepFailed, Message: "Error: no script\nsecond line"}, nil
	case next == "":
		return StepResult{Status: StepProved}, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := StateID(len(s.goals) + 1)
	s.goals[id] = next
	return StepResult{Status: StepOpen, State: State{ID: id, Goals: []string{next}, Text: "⊢ " + next}}, nil
}

func (s *agentFakeSession) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed++
	return nil
}

func (s *agentFakeSession) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.applied...)
}

// agentFakeBackend hands out one session and a scripted verdict.
type agentFakeBackend struct {
	sess      *agentFakeSession
	openErr   error
	verdict   Verification
	verifyErr error
	// openBlock and verifyBlock make Open and Verify wait for their ctx.
	openBlock, verifyBlock bool

	mu        sync.Mutex
	assembled [][]string
	verified  []string
}

func (b *agentFakeBackend) Name() string { return "fake" }

func (b *agentFakeBackend) Open(ctx context.Context, thm Theorem) (Session, error) {
	if b.openBlock {
		<-ctx.Done()
		return nil, context.Cause(ctx)
	}
	if b.openErr != nil {
		return nil, b.openErr
	}
	if b.sess != nil && b.sess.cpu {
		return cpuFakeSession{b.sess}, nil
	}
	return b.sess, nil
}

// cpuFakeSession is an agentFakeSession that measures (simulated) CPU.
type cpuFakeSession struct{ *agentFakeSession }

func (s cpuFakeSession) TacticCPU() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.spent
}

func (b *agentFakeBackend) Policy() Policy { return testPolicy{} }

func (b *agentFakeBackend) Assemble(thm Theorem, proof []string) string {
	b.mu.Lock()
	b.assembled = append(b.assembled, append([]string(nil), proof...))
	b.mu.Unlock()
	return thm.Header + thm.Statement + "\nProof.\n" + strings.Join(proof, "\n") + "\nQed.\n"
}

func (b *agentFakeBackend) Verify(ctx context.Context, req VerifyRequest) (Verification, error) {
	b.mu.Lock()
	b.verified = append(b.verified, req.Solution)
	b.mu.Unlock()
	if b.verifyBlock {
		<-ctx.Done()
		return Verification{}, context.Cause(ctx)
	}
	return b.verdict, b.verifyErr
}

func (b *agentFakeBackend) Close() error { return nil }

// agentFakeProposer proposes the same list for every state, or per goal.
type agentFakeProposer struct {
	all    []Candidate
	byGoal map[string][]Candidate
	err    error
	hook   func(ctx context.Context)
	block  bool // never answer: wait for the ctx and return its error

	mu   sync.Mutex
	reqs []ProposalRequest
}

func (p *agentFakeProposer) Name() string { return "fake" }

func (p *agentFakeProposer) Propose(ctx context.Context, req ProposalRequest) ([]Candidate, error) {
	p.mu.Lock()
	p.reqs = append(p.reqs, req)
	p.mu.Unlock()
	if p.hook != nil {
		p.hook(ctx)
	}
	if p.block {
		<-ctx.Done()
		return nil, fmt.Errorf("model request abandoned: %w", ctx.Err())
	}
	if p.err != nil {
		return nil, p.err
	}
	if p.byGoal != nil {
		return p.byGoal[strings.Join(req.State.Goals, "")], nil
	}
	return p.all, nil
}

func agentCands(scored ...string) []Candidate {
	var out []Candidate
	for i, t := range scored {
		out = append(out, Candidate{Tactic: t, Score: -0.1 * float64(i+1)})
	}
	return out
}

var agentThm = Theorem{
	Name: "mathd_algebra_1", Backend: "coq",
	Header:    "Require Import Reals Lia.\n",
	Statement: "Theorem mathd_algebra_1 : 1 + 1 = 2.",
}

// cheats is what a proposer must never get past the policy.
var cheats = []string{
	"Admitted.", "admit.", "admit", "give_up.", "Axiom c : False.", "intros. Admitted.",
	"exact c (* *)", "lia (* . Admitted. *)", "(* *) Admitted.", "Abort.", "Qed.",
	"Require Import Classical.", "- lia.", "all: admit.", "exact_no_check I.",
	"Set Printing All.", "Unset Silent.", "Reset Initial.", "BackTo 1.", "Quit.",
	`idtac "a. Admitted".`, `idtac "`, "<prompt>Coq < 1 || 0 < </prompt>", "intros.\x00",
	"Timeout 1 Admitted.", "Fail fail.", "lia..", "{",
}

func TestAgentNeverSendsCheats(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		extra  []string // allowed tactics proposed after the cheats
		steps  map[string]string
		status Status
		sent   []string
	}{
		{"cheats only", nil, nil, StatusFailed, nil},
		{"cheats and a real proof", []string{"lia"}, map[string]string{"1 + 1 = 2|lia.": ""}, StatusProved, []string{"lia."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Cheats score best, so they would be tried first if anything let them through.
			var cands []Candidate
			for _, c := range cheats {
				cands = append(cands, Candidate{Tactic: c, Score: 0})
			}
			for _, c := range tt.extra {
				cands = append(cands, Candidate{Tactic: c, Score: -1})
			}
			sess := &agentFakeSession{root: "1 + 1 = 2", steps: tt.steps}
			be := &agentFakeBackend{sess: sess, verdict: Verification{Verified: true}}
			a := &Agent{Backend: be, Proposer: &agentFakeProposer{all: cands}}
			out := a.Prove(context.Background(), agentThm)
			if out.Status != tt.status {
				t.Fatalf("status %s (%s), want %s", out.Status, out.Message(), tt.status)
			}
			if got := sess.log(); !reflect.DeepEqual(got, tt.sent) {
				t.Errorf("session received %q, want %q", got, tt.sent)
			}
			if out.Rejected != len(cheats) {
				t.Errorf("rejected %d, want %d", out.Rejected, len(cheats))
			}
			for _, e := range out.Trace.Edges {
				for _, c := range cheats {
					if e.Tactic == c {
						t.Errorf("cheat %q reached the search", c)
					}
				}
			}
			if tt.status != StatusProved && (out.FileText != "" || len(be.verified) != 0) {
				t.Errorf("unproved run verified %q", be.verified)
			}
		})
	}
}

// agentRejectingPolicy lets its first check through and refuses the rest:
// Apply must gate again even when Candidates already did.
type agentRejectingPolicy struct {
	mu sync.Mutex
	n  int
}

func (p *agentRejectingPolicy) Check(t string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if p.n > 1 {
		return "", reject("test", "second look")
	}
	return t, nil
}

type agentPolicyBackend struct {
	agentFakeBackend
	p Policy
}

func (b *agentPolicyBackend) Policy() Policy { return b.p }

func TestAgentApplyRechecksPolicy(t *testing.T) {
	t.Parallel()
	sess := &agentFakeSession{root: "g", steps: map[string]string{"g|lia.": ""}}
	be := &agentPolicyBackend{agentFakeBackend: agentFakeBackend{sess: sess}, p: &agentRejectingPolicy{}}
	a := &Agent{Backend: be, Proposer: &agentFakeProposer{all: agentCands("lia.")}}
	out := a.Prove(context.Background(), agentThm)
	if len(sess.log()) != 0 {
		t.Errorf("session received %q although the policy refused at Apply", sess.log())
	}
	if out.Status != StatusFailed || out.Rejected != 1 {
		t.Errorf("status %s rejected %d; want failed, 1", out.Status, out.Rejected)
	}
	if e := out.Trace.Edges; len(e) != 1 || e[0].Outcome != "rejected" {
		t.Errorf("trace edges %+v", e)
	}
}

func TestAgentProvedAndVerified(t *testing.T) {
	t.Parallel()
	sess := &agentFakeSession{root: "1 + 1 = 2", steps: map[string]string{
		"1 + 1 = 2|intros.":  "2 = 2",
		"2 = 2|reflexivity.": "",
	}}
	axioms := []string{"ClassicalDedekindReals.sig_forall_dec"}
	be := &agentFakeBackend{sess: sess, verdict: Verification{Verified: true, Axioms: axioms}}
	prop := &agentFakeProposer{byGoal: map[string][]Candidate{
		"1 + 1 = 2": agentCands("intros", "lia"),
		"2 = 2":     agentCands("reflexivity"),
	}}
	var events []string
	a := &Agent{Backend: be, Proposer: prop, Search: search.Config{Samples: 7},
		OnEvent: func(m string) { events = append(events, m) }}
	out := a.Prove(context.Background(), agentThm)
	if out.Status != StatusProved {
		t.Fatalf("status %s (%s)", out.Status, out.Message())
	}
	want := []string{"intros.", "reflexivity."} // normalised by the policy
	if !reflect.DeepEqual(out.Proof, want) {
		t.Errorf("proof %q, want %q", out.Proof, want)
	}
	if len(be.assembled) != 1 || !reflect.DeepEqual(be.assembled[0], want) {
		t.Errorf("assembled %q", be.assembled)
	}
	if wantFile := be.Assemble(agentThm, want); out.FileText != wantFile || len(be.verified) != 1 || be.verified[0] != wantFile {
		t.Errorf("file text %q, verified %q; want %q", out.FileText, be.verified, wantFile)
	}
	if !reflect.DeepEqual(out.Axioms, axioms) || out.Verification == nil || !out.Verification.Verified {
		t.Errorf("axioms %q verification %+v", out.Axioms, out.Verification)
	}
	if out.SearchEnd != search.OutcomeProved || out.Expansions != 2 || out.TacticChecks != 3 || out.Message() != "" {
		t.Errorf("outcome %+v", out)
	}
	if out.Wall <= 0 || out.Trace == nil {
		t.Errorf("wall %v trace %v", out.Wall, out.Trace)
	}
	if sess.closed != 1 {
		t.Errorf("session closed %d times, want 1", sess.closed)
	}
	// The proposer saw the states, the path and the sample count.
	if r := prop.reqs; len(r) != 2 || r[0].N != 7 || r[1].State.Text != "⊢ 2 = 2" || !reflect.DeepEqual(r[1].Path, []string{"intros."}) || r[1].Theorem.Name != agentThm.Name {
		t.Errorf("requests %+v", r)
	}
	if len(events) != 2 || !strings.Contains(events[0], "searching") || !strings.Contains(events[1], "verifying") {
		t.Errorf("events %q", events)
	}
}

func TestAgentFinalCheckFails(t *testing.T) {
	t.Parallel()
	sess := &agentFakeSession{root: "g", steps: map[string]string{"g|lia.": ""}}
	be := &agentFakeBackend{sess: sess, verdict: Verification{
		Verified: false, Axioms: []string{"cheat"}, Disallowed: []string{"cheat"}, Message: "axiom cheat is not allowed",
	}}
	var logged strings.Builder
	a := &Agent{Backend: be, Proposer: &agentFakeProposer{all: agentCands("lia.")},
		Log: slog.New(slog.NewTextHandler(&logged, nil))}
	out := a.Prove(context.Background(), agentThm)
	if !strings.Contains(logged.String(), "proof rejected by final check") {
		t.Errorf("no warning logged: %q", logged.String())
	}
	if out.Status != StatusFailed {
		t.Fatalf("status %s, want %s", out.Status, StatusFailed)
	}
	if !strings.Contains(out.Message(), "failed final check") || !strings.Contains(out.Message(), "axiom cheat") {
		t.Errorf("error %q", out.Message())
	}
	if out.FileText != "" {
		t.Errorf("unverified proof returned a file: %q", out.FileText)
	}
	if out.SearchEnd != search.OutcomeProved || !reflect.DeepEqual(out.Proof, []string{"lia."}) {
		t.Errorf("search end %s proof %q", out.SearchEnd, out.Proof)
	}
}

func TestAgentVerifyError(t *testing.T) {
	t.Parallel()
	sess := &agentFakeSession{root: "g", steps: map[string]string{"g|lia.": ""}}
	be := &agentFakeBackend{sess: sess, verifyErr: errors.New("coqc not found"), verdict: Verification{Verified: true}}
	a := &Agent{Backend: be, Proposer: &agentFakeProposer{all: agentCands("lia.")}}
	out := a.Prove(context.Background(), agentThm)
	if out.Status != StatusError || !strings.Contains(out.Message(), "final check") || out.FileText != "" {
		t.Fatalf("status %s error %q file %q", out.Status, out.Message(), out.FileText)
	}
}

// Every way a theorem can end gets its status and, for errors, a cause
// read from typed errors; a hung open, proposer or final check costs at
// most its own budget.
func TestAgentEnds(t *testing.T) {
	t.Parallel()
	errOpen := errors.New("coqtop: Error: The reference foo was not found")
	const short = 30 * time.Millisecond
	tests := []struct {
		name    string
		sess    *agentFakeSession
		be      *agentFakeBackend // sess and verdict are filled in
		prop    *agentFakeProposer
		timeout time.Duration // Agent.TheoremTimeout
		setup   time.Duration // Agent.SetupTimeout
		verify  time.Duration // Agent.VerifyTimeout
		wall    time.Duration // Agent.WallBackstop
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		cancel  bool // cancel the ctx from inside the proposer
		status  Status
		cause   string
		end     search.Outcome
		errHas  string
	}{
		{
			name: "theorem timeout", sess: &agentFakeSession{root: "g", block: true},
			timeout: short, status: StatusTimeout, end: search.OutcomeTimeout, errHas: "search budget of 30ms ran out",
		},
		{
			name: "theorem timeout, session returns the ctx error", sess: &agentFakeSession{root: "g", block: true, ctxErr: true},
			timeout: short, status: StatusTimeout, end: search.OutcomeTimeout,
		},
		{
			name: "canceled before the run", sess: &agentFakeSession{root: "g"},
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx, cancel
			},
			status: StatusInterrupted, end: search.OutcomeCanceled, errHas: "canceled",
		},
		{
			name: "canceled during the search", sess: &agentFakeSession{root: "g"},
			cancel: true, status: StatusInterrupted, end: search.OutcomeCanceled, errHas: "canceled",
		},
		{
			name: "canceled while a tactic runs", sess: &agentFakeSession{root: "g", block: true},
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(ctx, short) // the caller's deadline, not the theorem's
			},
			timeout: time.Hour, status: StatusInterrupted, end: search.OutcomeTimeout,
		},
		{
			name: "open error", be: &agentFakeBackend{openErr: errOpen},
			status: StatusError, cause: CauseBackend, errHas: "opening mathd_algebra_1 (after ",
		},
		{
			name: "backend not installed", be: &agentFakeBackend{openErr: fmt.Errorf("starting coqtop: %w", ErrUnavailable)},
			status: StatusError, cause: CauseBackendUnavailable, errHas: "starting coqtop",
		},
		{
			name: "statement does not load", be: &agentFakeBackend{openErr: fmt.Errorf("%w: mathd_algebra_1: Error: Syntax error", ErrLoad)},
			status: StatusError, cause: CauseLoad, errHas: "Syntax error",
		},
		{
			name: "open hangs", be: &agentFakeBackend{openBlock: true}, setup: short,
			status: StatusError, cause: CauseSetupTimeout, errHas: "(setup budget 30ms)",
		},
		{
			name: "session dies", sess: &agentFakeSession{root: "g", err: ErrProcessDied},
			status: StatusError, cause: CauseBackendCrashed, end: search.OutcomeError, errHas: "process died",
		},
		{
			name: "backend broken", sess: &agentFakeSession{root: "g", err: fmt.Errorf("%w: 8 restarts; stderr tail: boom", ErrBackendBroken)},
			status: StatusError, cause: CauseBackendBroken, end: search.OutcomeError, errHas: "stderr tail: boom",
		},
		{
			name: "proposer error", sess: &agentFakeSession{root: "g"}, prop: &agentFakeProposer{err: errors.New("HTTP 500 from the model")},
			status: StatusError, cause: CauseModel, end: search.OutcomeError, errHas: "HTTP 500 from the model",
		},
		{
			name: "model unreachable", sess: &agentFakeSession{root: "g"}, prop: &agentFakeProposer{err: fmt.Errorf("connection refused: %w", ErrUnavailable)},
			status: StatusError, cause: CauseModelUnavailable, end: search.OutcomeError, errHas: "connection refused",
		},
		{
			// Waiting for the model is not charged to the theorem's budget:
			// the wall backstop stops the wait, with no verdict.
			name: "model never answers", sess: &agentFakeSession{root: "g"}, prop: &agentFakeProposer{block: true}, timeout: short, wall: short,
			status: StatusError, cause: CauseModel, end: search.OutcomeTimeout, errHas: "reached its wall backstop of 30ms after 1 expansions",
		},
		{
			// Charged by CPU, a checker that does not run spends none; the
			// checks' wall cap (CheckWallFactor) ends the search well before
			// the backstop of 4 x 30ms + 1 min, as an error: an
			// infrastructure fault is not the theorem's timeout.
			name: "a stopped checker charged by CPU", sess: &agentFakeSession{root: "g", block: true, cpu: true}, timeout: short,
			status: StatusError, cause: CauseBackend, end: search.OutcomeTimeout, errHas: "made no progress: 0s of tactic CPU",
		},
		{
			// A checker that runs, slowly (a third of the wall: a loaded
			// machine), still ends at the wall cap as the theorem's timeout.
			name: "a slow checker charged by CPU", sess: &agentFakeSession{root: "g", block: true, cpu: true, cpuPerApply: 20 * time.Millisecond}, timeout: short,
			status: StatusTimeout, end: search.OutcomeTimeout,
		},
		{
			name: "the checker hangs past the backstop", sess: &agentFakeSession{root: "g", block: true, cpu: true}, timeout: time.Second, wall: short,
			status: StatusError, cause: CauseBackend, end: search.OutcomeTimeout, errHas: "the checker was too slow",
		},
		{
			name: "final check hangs", sess: &agentFakeSession{root: "g", steps: map[string]string{"g|lia.": ""}},
			be: &agentFakeBackend{verifyBlock: true}, verify: short,
			status: StatusError, cause: CauseVerify, end: search.OutcomeProved, errHas: "(verify budget 30ms)",
		},
		{
			name: "final check cannot run", sess: &agentFakeSession{root: "g", steps: map[string]string{"g|lia.": ""}},
			be:     &agentFakeBackend{verifyErr: errors.New("coqc: exit status 2")},
			status: StatusError, cause: CauseVerify, end: search.OutcomeProved, errHas: "final check of mathd_algebra_1: coqc",
		},
		{
			name: "empty root key", sess: &agentFakeSession{root: ""},
			status: StatusError, cause: CauseBackend, end: search.OutcomeError, errHas: "no key",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.ctx != nil {
				var c2 context.CancelFunc
				ctx, c2 = tt.ctx(ctx)
				defer c2()
			}
			prop := tt.prop
			if prop == nil {
				prop = &agentFakeProposer{}
			}
			if prop.all == nil {
				prop.all = agentCands("lia.", "nra.")
			}
			if tt.cancel {
				prop.hook = func(context.Context) { cancel() }
			}
			be := tt.be
			if be == nil {
				be = &agentFakeBackend{}
			}
			be.sess, be.verdict = tt.sess, Verification{Verified: true}
			a := &Agent{Backend: be, Proposer: prop, TheoremTimeout: tt.timeout, SetupTimeout: tt.setup, VerifyTimeout: tt.verify, WallBackstop: tt.wall}
			done := make(chan Outcome, 1)
			go func() { done <- a.Prove(ctx, agentThm) }()
			var out Outcome
			select {
			case out = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Prove did not return")
			}
			if out.Status != tt.status {
				t.Fatalf("status %s (%q), want %s", out.Status, out.Message(), tt.status)
			}
			if got := out.Cause(); got != tt.cause {
				t.Errorf("cause %q (%v), want %q", got, out.Err, tt.cause)
			}
			if (out.Err != nil) != (tt.status == StatusError || tt.status == StatusInterrupted) {
				t.Errorf("status %s with Err %v", out.Status, out.Err)
			}
			if out.SearchEnd != tt.end {
				t.Errorf("search end %q, want %q", out.SearchEnd, tt.end)
			}
			if tt.errHas != "" && !strings.Contains(out.Message(), tt.errHas) {
				t.Errorf("message %q, want it to contain %q", out.Message(), tt.errHas)
			}
			if out.FileText != "" {
				t.Errorf("file text %q although nothing was proved", out.FileText)
			}
			if tt.end != search.OutcomeProved && len(be.verified) != 0 {
				t.Errorf("verified %q although nothing was proved", be.verified)
			}
			if tt.sess != nil && be.openErr == nil && !be.openBlock && tt.sess.closed != 1 {
				t.Errorf("session closed %d times, want 1", tt.sess.closed)
			}
			// Each budget bounds its own stage.
			for _, st := range []struct {
				name        string
				got, budget time.Duration
			}{{"setup", out.Setup, tt.setup}, {"search", out.Search, max(tt.timeout, tt.wall)}, {"verify", out.Verify, tt.verify}} {
				if st.budget > 0 && st.budget < time.Hour && st.got > st.budget+5*time.Second {
					t.Errorf("%s took %s over a budget of %s", st.name, st.got, st.budget)
				}
			}
			if out.Wall < out.Queue+out.Setup+out.Search+out.Verify {
				t.Errorf("wall %s < queue %s + setup %s + search %s + verify %s", out.Wall, out.Queue, out.Setup, out.Search, out.Verify)
			}
		})
	}
}

// The wait for a slot is the outcome's queue time, outside every budget:
// with one slot, a second theorem waits for the first and still gets its
// whole search budget.
func TestAgentSlotsQueue(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	entered := make(chan struct{}, 2)
	first := &agentFakeProposer{all: agentCands("lia."), hook: func(context.Context) {
		entered <- struct{}{}
		<-release
	}}
	slots := NewSlots(1)
	mk := func(p Proposer) *Agent {
		sess := &agentFakeSession{root: "g", steps: map[string]string{"g|lia.": ""}}
		return &Agent{Backend: &agentFakeBackend{sess: sess, verdict: Verification{Verified: true}}, Proposer: p,
			Slots: slots, TheoremTimeout: time.Hour}
	}
	a1, a2 := mk(first), mk(&agentFakeProposer{all: agentCands("lia.")})
	out1 := make(chan Outcome, 1)
	go func() { out1 <- a1.Prove(context.Background(), agentThm) }()
	<-entered // a1 holds the slot and is searching
	out2 := make(chan Outcome, 1)
	go func() { out2 <- a2.Prove(context.Background(), agentThm) }()
	select {
	case o := <-out2:
		t.Fatalf("second theorem finished (%s) while the only slot was held", o.Status)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	o1, o2 := <-out1, <-out2
	if o1.Status != StatusProved || o2.Status != StatusProved {
		t.Fatalf("statuses %s, %s", o1.Status, o2.Status)
	}
	if o2.Queue < 50*time.Millisecond || o2.Queue > o2.Wall {
		t.Errorf("second theorem queued %s (wall %s), want at least the 50ms it waited", o2.Queue, o2.Wall)
	}
	if o1.Queue > o2.Queue {
		t.Errorf("first theorem queued %s, more than the second (%s)", o1.Queue, o2.Queue)
	}
	// A theorem still waiting when the run stops is interrupted, not failed.
	slots2 := NewSlots(1)
	slots2.ch <- struct{}{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := (&Agent{Backend: &agentFakeBackend{}, Proposer: first, Slots: slots2}).Prove(ctx, agentThm)
	if o.Status != StatusInterrupted || !errors.Is(o.Err, context.Canceled) {
		t.Errorf("queued and cancelled: %s %v", o.Status, o.Err)
	}
}

func TestCauseOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{StageError(ErrModel, "proposer llm", fmt.Errorf("dial: %w", ErrUnavailable)), CauseModelUnavailable},
		{StageError(ErrModel, "proposer llm", errors.New("HTTP 401")), CauseModel},
		{StageError(ErrBackend, "opening x", fmt.Errorf("coqtop: %w", ErrUnavailable)), CauseBackendUnavailable},
		{StageError(ErrVerify, "final check", fmt.Errorf("coqc: %w", ErrUnavailable)), CauseBackendUnavailable},
		{StageError(ErrBackend, "applying", &ExitError{Backend: "coq", Err: errors.New("signal: killed")}), CauseBackendCrashed},
		{StageError(ErrBackend, "applying", fmt.Errorf("%w: crash loop", ErrBackendBroken)), CauseBackendBroken},
		{StageError(ErrSetupTimeout, "opening", context.DeadlineExceeded), CauseSetupTimeout},
		{StageError(ErrBackend, "opening", fmt.Errorf("%w: bad header", ErrLoad)), CauseLoad},
		{StageError(ErrVerify, "final check", errors.New("exit 2")), CauseVerify},
		{StageError(ErrBackend, "opening", errors.New("??")), CauseBackend},
		{errors.New("??"), CauseInternal},
	} {
		if got := CauseOf(c.err); got != c.want {
			t.Errorf("CauseOf(%v) = %q, want %q", c.err, got, c.want)
		}
	}
	// The stage adds no text of its own.
	if got := StageError(ErrModel, "proposer llm", errors.New("HTTP 500")).Error(); got != "proposer llm: HTTP 500" {
		t.Errorf("message %q", got)
	}
}

func TestAgentDedupesNormalisedTactics(t *testing.T) {
	t.Parallel()
	sess := &agentFakeSession{root: "g"}
	be := &agentFakeBackend{sess: sess}
	prop := &agentFakeProposer{all: []Candidate{
		{Tactic: "lia", Score: -0.5}, {Tactic: "lia.", Score: -0.2}, {Tactic: "  lia.\n", Score: -0.9}, {Tactic: "nra", Score: -0.3},
	}}
	out := (&Agent{Backend: be, Proposer: prop}).Prove(context.Background(), agentThm)
	if out.Status != StatusFailed {
		t.Fatalf("status %s", out.Status)
	}
	if got, want := sess.log(), []string{"lia.", "nra."}; !reflect.DeepEqual(got, want) {
		t.Errorf("session received %q, want %q", got, want)
	}
}

func TestAgentNonFiniteScores(t *testing.T) {
	t.Parallel()
	nan, inf := math.NaN(), math.Inf(1)
	sess := &agentFakeSession{root: "g", steps: map[string]string{
		"g|a.": "A", "g|b.": "B", "g|c.": "C", "g|d.": "D",
	}}
	be := &agentFakeBackend{sess: sess}
	prop := &agentFakeProposer{byGoal: map[string][]Candidate{
		"g": {{Tactic: "c", Score: nan}, {Tactic: "a", Score: -1}, {Tactic: "d", Score: inf}, {Tactic: "b", Score: -2}},
	}}
	// No speculation: the order of the proposer's requests is the
	// expansion order only when nothing is requested ahead.
	out := (&Agent{Backend: be, Proposer: prop, Search: search.Config{Speculate: search.NoSpeculation}}).Prove(context.Background(), agentThm)
	if out.Status != StatusFailed {
		t.Fatalf("status %s", out.Status)
	}
	// Finite scores first, by score; the non-finite ones last, and every
	// path cost stays finite, so the frontier keeps its order: A, B, C, D.
	if got, want := sess.log(), []string{"a.", "b.", "c.", "d."}; !reflect.DeepEqual(got, want) {
		t.Errorf("session received %q, want %q", got, want)
	}
	var order []string
	for _, r := range prop.reqs {
		order = append(order, strings.Join(r.State.Goals, ""))
	}
	if want := []string{"g", "A", "B", "C", "D"}; !reflect.DeepEqual(order, want) {
		t.Errorf("expansion order %q, want %q", order, want)
	}
	for _, n := range out.Trace.Nodes {
		if math.IsNaN(n.Cost) || math.IsInf(n.Cost, 0) {
			t.Errorf("node %q has cost %g", n.Key, n.Cost)
		}
	}
}
