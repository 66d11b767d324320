package prover

import (
	"context"
	"errors"
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

	mu      sync.Mutex
	goals   map[StateID]string
	applied []string
	closed  int
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

	mu        sync.Mutex
	assembled [][]string
	verified  []string
}

func (b *agentFakeBackend) Name() string { return "fake" }

func (b *agentFakeBackend) Open(ctx context.Context, thm Theorem) (Session, error) {
	if b.openErr != nil {
		return nil, b.openErr
	}
	return b.sess, nil
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
	return b.verdict, b.verifyErr
}

func (b *agentFakeBackend) Close() error { return nil }

// agentFakeProposer proposes the same list for every state, or per goal.
type agentFakeProposer struct {
	all    []Candidate
	byGoal map[string][]Candidate
	err    error
	hook   func(ctx context.Context)

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
				t.Fatalf("status %s (%s), want %s", out.Status, out.Error, tt.status)
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
		t.Fatalf("status %s (%s)", out.Status, out.Error)
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
	if out.SearchEnd != search.OutcomeProved || out.Expansions != 2 || out.TacticChecks != 3 || out.Error != "" {
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
	if !strings.Contains(out.Error, "failed final check") || !strings.Contains(out.Error, "axiom cheat") {
		t.Errorf("error %q", out.Error)
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
	if out.Status != StatusError || !strings.Contains(out.Error, "final check") || out.FileText != "" {
		t.Fatalf("status %s error %q file %q", out.Status, out.Error, out.FileText)
	}
}

func TestAgentEnds(t *testing.T) {
	t.Parallel()
	errOpen := errors.New("coqtop: Error: The reference foo was not found")
	tests := []struct {
		name    string
		sess    *agentFakeSession
		openErr error
		propErr error
		timeout time.Duration // Agent.TheoremTimeout
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		cancel  bool // cancel the ctx from inside the proposer
		status  Status
		end     search.Outcome
		errHas  string
	}{
		{
			name: "theorem timeout", sess: &agentFakeSession{root: "g", block: true},
			timeout: 30 * time.Millisecond, status: StatusTimeout, end: search.OutcomeTimeout,
		},
		{
			name: "theorem timeout, session returns the ctx error", sess: &agentFakeSession{root: "g", block: true, ctxErr: true},
			timeout: 30 * time.Millisecond, status: StatusTimeout, end: search.OutcomeTimeout,
		},
		{
			name: "canceled before the run", sess: &agentFakeSession{root: "g"},
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx, cancel
			},
			status: StatusInterrupted, end: search.OutcomeCanceled, errHas: "interrupted",
		},
		{
			name: "canceled during the search", sess: &agentFakeSession{root: "g"},
			cancel: true, status: StatusInterrupted, end: search.OutcomeCanceled, errHas: "interrupted",
		},
		{
			name: "canceled while a tactic runs", sess: &agentFakeSession{root: "g", block: true},
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(ctx, 30*time.Millisecond) // the caller's deadline, not the theorem's
			},
			timeout: time.Hour, status: StatusInterrupted, end: search.OutcomeTimeout,
		},
		{
			name: "open error", openErr: errOpen, status: StatusError, errHas: "opening mathd_algebra_1: coqtop: Error: The reference foo",
		},
		{
			name: "session dies", sess: &agentFakeSession{root: "g", err: ErrProcessDied},
			status: StatusError, end: search.OutcomeError, errHas: "process died",
		},
		{
			name: "proposer error", sess: &agentFakeSession{root: "g"}, propErr: errors.New("model endpoint down"),
			status: StatusError, end: search.OutcomeError, errHas: "model endpoint down",
		},
		{
			name: "empty root key", sess: &agentFakeSession{root: ""},
			status: StatusError, end: search.OutcomeError, errHas: "no key",
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
			prop := &agentFakeProposer{all: agentCands("lia.", "nra."), err: tt.propErr}
			if tt.cancel {
				prop.hook = func(context.Context) { cancel() }
			}
			be := &agentFakeBackend{sess: tt.sess, openErr: tt.openErr, verdict: Verification{Verified: true}}
			a := &Agent{Backend: be, Proposer: prop, TheoremTimeout: tt.timeout}
			done := make(chan Outcome, 1)
			go func() { done <- a.Prove(ctx, agentThm) }()
			var out Outcome
			select {
			case out = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("Prove did not return")
			}
			if out.Status != tt.status {
				t.Fatalf("status %s (%q), want %s", out.Status, out.Error, tt.status)
			}
			if out.SearchEnd != tt.end {
				t.Errorf("search end %q, want %q", out.SearchEnd, tt.end)
			}
			if tt.errHas != "" && !strings.Contains(out.Error, tt.errHas) {
				t.Errorf("error %q, want it to contain %q", out.Error, tt.errHas)
			}
			if out.FileText != "" || len(be.verified) != 0 {
				t.Errorf("verified %q although nothing was proved", be.verified)
			}
			if tt.sess != nil && tt.openErr == nil && tt.sess.closed != 1 {
				t.Errorf("session closed %d times, want 1", tt.sess.closed)
			}
		})
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
	out := (&Agent{Backend: be, Proposer: prop}).Prove(context.Background(), agentThm)
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
