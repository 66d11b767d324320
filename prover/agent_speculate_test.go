package prover

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llemma-prove/llemma-prove/search"
)

// The theorem budget is charged with the checker CPU of the tactics, not
// with the wait for the model: a model that takes 10 s per proposal (fake
// time) and one that answers at once give the same verdict after the same
// checks, and a session that does not measure CPU is charged the wall time
// of its checks only.
func TestAgentBudgetIsTacticTime(t *testing.T) {
	t.Parallel()
	run := func(t *testing.T, cpu bool, latency time.Duration) Outcome {
		sess := &agentFakeSession{root: "g", cpu: cpu, cpuPerApply: 10 * time.Millisecond}
		prop := &agentFakeProposer{all: agentCands("a", "b", "c", "d", "e", "f", "g", "h"), hook: func(ctx context.Context) {
			time.Sleep(latency) // the model's latency, in the bubble's fake time
		}}
		a := &Agent{Backend: &agentFakeBackend{sess: sess}, Proposer: prop, TheoremTimeout: 35 * time.Millisecond}
		return a.Prove(context.Background(), agentThm)
	}
	synctest.Test(t, func(t *testing.T) {
		fast, slow := run(t, true, 0), run(t, true, 10*time.Second)
		for _, o := range []Outcome{fast, slow} {
			// 10 + 10 + 10 + 5 (the fourth tactic's timeout is what is left).
			if o.Status != StatusTimeout || o.TacticChecks != 4 || o.Charged != 35*time.Millisecond || o.CheckerCPU != o.Charged {
				t.Fatalf("%s after %d checks, %v charged (%v CPU): want timeout after 4 checks, 35ms", o.Status, o.TacticChecks, o.Charged, o.CheckerCPU)
			}
		}
		if slow.ModelWait < 10*time.Second || slow.Search < slow.ModelWait || fast.ModelWait != 0 {
			t.Errorf("model wait %v of a %v search (and %v with an instant model): want the 10s latency, outside the budget",
				slow.ModelWait, slow.Search, fast.ModelWait)
		}
		// Wall-charged: the checks take no time (fake time), so the budget
		// is never spent however long the model takes; the search runs out
		// of candidates instead.
		wall := run(t, false, 10*time.Second)
		if wall.Status != StatusFailed || wall.SearchEnd != search.OutcomeRootFailed || wall.TacticChecks != 8 || wall.Charged != 0 {
			t.Errorf("wall-charged: %s (%s) after %d checks, %v charged; want failed (root-failed) after 8, none charged",
				wall.Status, wall.SearchEnd, wall.TacticChecks, wall.Charged)
		}
	})
}

// parkFakeSession is a Parker: Apply on a parked session is an error.
type parkFakeSession struct {
	*agentFakeSession
	mu     sync.Mutex
	parked bool
	events []string
}

func (s *parkFakeSession) Park() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.parked {
		s.events = append(s.events, "park twice")
	}
	s.parked = true
	s.events = append(s.events, "park")
}

func (s *parkFakeSession) Resume(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.parked {
		s.events = append(s.events, "resume unparked")
	}
	s.parked = false
	s.events = append(s.events, "resume")
	return nil
}

func (s *parkFakeSession) Apply(ctx context.Context, from StateID, tactic string, timeout time.Duration) (StepResult, error) {
	s.mu.Lock()
	parked := s.parked
	s.mu.Unlock()
	if parked {
		return StepResult{}, errors.New("Apply on a parked session")
	}
	return s.agentFakeSession.Apply(ctx, from, tactic, timeout)
}

type parkBackend struct {
	*agentFakeBackend
	sess *parkFakeSession
}

func (b parkBackend) Open(ctx context.Context, thm Theorem) (Session, error) { return b.sess, nil }

// A theorem waiting for the model holds no slot: with one slot, a second
// theorem opens, searches and is verified while the first waits for its
// proposal; the first then takes the slot back and finishes.
func TestAgentParksWhileWaitingForTheModel(t *testing.T) {
	t.Parallel()
	slots := NewSlots(1)
	release := make(chan struct{})
	waiting := make(chan struct{})
	var once sync.Once
	p1 := &agentFakeProposer{all: agentCands("lia."), hook: func(ctx context.Context) {
		once.Do(func() {
			close(waiting)
			<-release
		})
	}}
	s1 := &parkFakeSession{agentFakeSession: &agentFakeSession{root: "g", steps: map[string]string{"g|lia.": ""}}}
	a1 := &Agent{Backend: parkBackend{&agentFakeBackend{verdict: Verification{Verified: true}}, s1}, Proposer: p1, Slots: slots, TheoremTimeout: time.Hour}
	s2 := &agentFakeSession{root: "g", steps: map[string]string{"g|lia.": ""}}
	a2 := &Agent{Backend: &agentFakeBackend{sess: s2, verdict: Verification{Verified: true}}, Proposer: &agentFakeProposer{all: agentCands("lia.")},
		Slots: slots, TheoremTimeout: time.Hour}

	out1 := make(chan Outcome, 1)
	go func() { out1 <- a1.Prove(context.Background(), agentThm) }()
	<-waiting
	out2 := make(chan Outcome, 1)
	go func() { out2 <- a2.Prove(context.Background(), agentThm) }()
	var o2 Outcome
	select {
	case o2 = <-out2:
	case <-time.After(10 * time.Second):
		t.Fatal("the second theorem did not get the slot while the first waited for the model")
	}
	close(release)
	o1 := <-out1
	if o1.Status != StatusProved || o2.Status != StatusProved {
		t.Fatalf("statuses %s (%s), %s (%s)", o1.Status, o1.Message(), o2.Status, o2.Message())
	}
	s1.mu.Lock()
	events := slices.Clone(s1.events)
	s1.mu.Unlock()
	if o1.Parks < 1 || len(events) != 2*o1.Parks || events[0] != "park" || events[1] != "resume" {
		t.Errorf("first theorem: %d parks, session events %q", o1.Parks, events)
	}
	if o1.ModelWait <= 0 || o1.ModelWait > o1.Search {
		t.Errorf("first theorem waited %v for the model in a %v search", o1.ModelWait, o1.Search)
	}
	// The slot is free again.
	if err := slots.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	slots.release()
}

// specProposer answers by goal; goals in block wait for their ctx to end,
// recording how it ended.
type specProposer struct {
	byGoal map[string][]Candidate
	block  map[string]bool

	mu    sync.Mutex
	calls []string // goal, with "~" for a speculative request
	ended map[string]error
}

func (p *specProposer) Name() string { return "spec" }

func (p *specProposer) Propose(ctx context.Context, req ProposalRequest) ([]Candidate, error) {
	goal := strings.Join(req.State.Goals, "")
	p.mu.Lock()
	mark := ""
	if Speculative(ctx) {
		mark = "~"
	}
	p.calls = append(p.calls, mark+goal)
	p.mu.Unlock()
	if p.block[goal] {
		<-ctx.Done()
		p.mu.Lock()
		p.ended[goal] = context.Cause(ctx)
		p.mu.Unlock()
		return nil, ctx.Err()
	}
	return p.byGoal[goal], nil
}

// A speculative proposal that the search stops wanting is cancelled and
// counted: B is requested ahead while A is expanded, A's children C and D
// turn out cheaper, so B leaves the window (cancelled while running) and D
// is requested ahead; the proof is found at C and D is cancelled too.
func TestAgentCountsCancelledSpeculation(t *testing.T) {
	t.Parallel()
	prop := &specProposer{
		byGoal: map[string][]Candidate{
			"g": {{Tactic: "a", Score: -0.1}, {Tactic: "b", Score: -0.5}},
			"A": {{Tactic: "x", Score: -0.1}, {Tactic: "y", Score: -0.2}},
			"C": {{Tactic: "z", Score: -0.1}},
		},
		block: map[string]bool{"B": true, "D": true},
		ended: map[string]error{},
	}
	sess := &agentFakeSession{root: "g", steps: map[string]string{"g|a.": "A", "g|b.": "B", "A|x.": "C", "A|y.": "D", "C|z.": ""}}
	a := &Agent{Backend: &agentFakeBackend{sess: sess, verdict: Verification{Verified: true}}, Proposer: prop, TheoremTimeout: time.Hour}
	o := a.Prove(context.Background(), agentThm)
	if o.Status != StatusProved || !slices.Equal(o.Proof, []string{"a.", "x.", "z."}) {
		t.Fatalf("%s %q (%s)", o.Status, o.Proof, o.Message())
	}
	if o.Speculation != (search.Speculation{Prefetched: 2, Dropped: 2}) || o.SpeculationCancelled != 2 {
		t.Errorf("speculation %+v, %d cancelled; want B and D prefetched, both dropped while running", o.Speculation, o.SpeculationCancelled)
	}
	slices.Sort(prop.calls)
	if want := []string{"A", "C", "g", "~B", "~D"}; !slices.Equal(prop.calls, want) {
		t.Errorf("proposer calls %q, want %q", prop.calls, want)
	}
	for _, g := range []string{"B", "D"} {
		if err := prop.ended[g]; !errors.Is(err, errDropped) {
			t.Errorf("speculative request for %s ended with %v, want a drop", g, err)
		}
	}
}

// agentScript is a random proof graph as a fake session and proposer.
func agentScript(seed int64) (map[string]string, map[string][]Candidate) {
	r := rand.New(rand.NewSource(seed))
	n := 3 + r.Intn(15)
	goal := func(i int) string {
		if i == 0 {
			return "g"
		}
		return fmt.Sprintf("G%d", i)
	}
	steps := map[string]string{}
	cands := map[string][]Candidate{}
	for i := range n {
		for j := range 1 + r.Intn(5) {
			tac := fmt.Sprintf("t%d", j)
			cands[goal(i)] = append(cands[goal(i)], Candidate{Tactic: tac, Score: -float64(r.Intn(6)) / 5})
			switch p := r.Float64(); {
			case p < 0.04:
				steps[goal(i)+"|"+tac+"."] = ""
			case p < 0.8:
				steps[goal(i)+"|"+tac+"."] = goal(r.Intn(n))
			}
		}
	}
	return steps, cands
}

// untimedTrace drops a trace's clock readings.
func untimedTrace(tr *search.Trace) search.Trace {
	out := *tr
	out.Elapsed = 0
	out.Nodes, out.Edges = slices.Clone(tr.Nodes), slices.Clone(tr.Edges)
	for i := range out.Nodes {
		out.Nodes[i].CreatedAt, out.Nodes[i].ExpandedAt, out.Nodes[i].ProposeTime = 0, 0, 0
	}
	for i := range out.Edges {
		out.Edges[i].Elapsed = 0
	}
	return out
}

// Through the agent (its prefetches, their policy checks, parking), the
// search expands the same nodes and finds the same proof with and without
// speculation, in both search modes.
func TestAgentSpeculationKeepsTheSearch(t *testing.T) {
	t.Parallel()
	var prefetched, used int
	for seed := int64(1); seed <= 60; seed++ {
		steps, cands := agentScript(seed)
		var outs [3]Outcome
		var logs [3][]string
		for k := range outs {
			sess := &parkFakeSession{agentFakeSession: &agentFakeSession{root: "g", steps: steps}}
			a := &Agent{Backend: parkBackend{&agentFakeBackend{verdict: Verification{Verified: true}}, sess}, Proposer: &agentFakeProposer{byGoal: cands},
				Slots: NewSlots(1), TheoremTimeout: time.Hour,
				Search: search.Config{Expansions: 3 + int(seed%20), Speculate: []int{search.NoSpeculation, 1, 3}[k], LlemmaParity: seed%2 == 0}}
			outs[k], logs[k] = a.Prove(context.Background(), agentThm), sess.log()
		}
		for k := 1; k < len(outs); k++ {
			want, got := outs[0], outs[k]
			if got.Status != want.Status || !slices.Equal(got.Proof, want.Proof) || got.Expansions != want.Expansions ||
				!slices.Equal(logs[k], logs[0]) || !reflect.DeepEqual(untimedTrace(got.Trace), untimedTrace(want.Trace)) {
				t.Fatalf("seed %d, run %d: %s %q after %d expansions, checks %q; without speculation %s %q after %d, %q",
					seed, k, got.Status, got.Proof, got.Expansions, logs[k], want.Status, want.Proof, want.Expansions, logs[0])
			}
			prefetched += got.Speculation.Prefetched
			used += got.Speculation.Used
		}
	}
	if prefetched == 0 || used == 0 {
		t.Errorf("%d prefetches, %d used: the scripts do not exercise speculation", prefetched, used)
	}
}
