package search

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// move is one scripted tactic outcome.
type move struct {
	status StepStatus
	to     string // resulting state key, for Open
	kind   string // for Failed
	err    error  // Apply's error
}

func to(key string) move              { return move{status: Open, to: key} }
func proves() move                    { return move{status: Proved} }
func fails(k string) move             { return move{status: Failed, kind: k, to: ""} }
func boom(err error) move             { return move{err: err} }
func c(t string, s float64) Candidate { return Candidate{Tactic: t, Score: s} }

// scriptEnv is an in-process Env: candidates by state key, outcomes by
// state key and tactic. An unscripted tactic fails.
type scriptEnv struct {
	cands   map[string][]Candidate
	moves   map[string]move // key + "|" + tactic
	candErr error
	// onApply, when set, runs at the start of every Apply.
	onApply func(ctx context.Context, key, tactic string) (Step, error, bool)

	mu       sync.Mutex
	ids      map[string]StateID
	keys     map[StateID]string
	expanded []string   // state keys, in the order Candidates was called
	paths    [][]string // the path argument of each Candidates call
	applied  []string   // "key|tactic", in order
	timeouts []time.Duration
}

func newEnv(cands map[string][]Candidate, moves map[string]move) *scriptEnv {
	return &scriptEnv{cands: cands, moves: moves, ids: map[string]StateID{}, keys: map[StateID]string{}}
}

func (e *scriptEnv) state(key string) State {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stateLocked(key)
}

func (e *scriptEnv) stateLocked(key string) State {
	id, ok := e.ids[key]
	if !ok {
		id = StateID(len(e.ids) + 1)
		e.ids[key] = id
		e.keys[id] = key
	}
	return State{ID: id, Key: key}
}

func (e *scriptEnv) Candidates(ctx context.Context, s State, path []string) ([]Candidate, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.keys[s.ID] != s.Key {
		return nil, fmt.Errorf("state %d has key %q, want %q", s.ID, s.Key, e.keys[s.ID])
	}
	e.expanded = append(e.expanded, s.Key)
	e.paths = append(e.paths, append([]string(nil), path...))
	if e.candErr != nil {
		return nil, e.candErr
	}
	return append([]Candidate(nil), e.cands[s.Key]...), nil
}

func (e *scriptEnv) Apply(ctx context.Context, s State, tactic string, timeout time.Duration) (Step, error) {
	e.mu.Lock()
	e.applied = append(e.applied, s.Key+"|"+tactic)
	e.timeouts = append(e.timeouts, timeout)
	hook := e.onApply
	e.mu.Unlock()
	if hook != nil {
		if st, err, ok := hook(ctx, s.Key, tactic); ok {
			return st, err
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.moves[s.Key+"|"+tactic]
	switch {
	case !ok:
		return Step{Status: Failed, Detail: "no script"}, nil
	case m.err != nil:
		return Step{}, m.err
	case m.status == Open:
		return Step{Status: Open, State: e.stateLocked(m.to)}, nil
	default:
		return Step{Status: m.status, Kind: m.kind, Detail: "scripted"}, nil
	}
}

// runEnv runs a search from state "R" and checks the trace's invariants.
func runEnv(t *testing.T, ctx context.Context, e *scriptEnv, cfg Config) Result {
	t.Helper()
	res := Run(ctx, e, e.state("R"), cfg)
	checkTrace(t, res)
	return res
}

var edgeOutcomes = map[string]bool{
	"open": true, "merged": true, "no-progress": true, "proved": true,
	"failed": true, "timeout": true, "rejected": true, "error": true,
}

// checkTrace verifies that the trace is a consistent graph.
func checkTrace(t *testing.T, res Result) {
	t.Helper()
	tr := res.Trace
	if len(tr.Nodes) == 0 {
		if res.Outcome != OutcomeError {
			t.Errorf("trace has no nodes (outcome %s)", res.Outcome)
		}
		return
	}
	keys := map[string]int{}
	for i, n := range tr.Nodes {
		if n.ID != i {
			t.Errorf("node %d has ID %d", i, n.ID)
		}
		if j, dup := keys[n.Key]; dup {
			t.Errorf("nodes %d and %d share key %q", j, i, n.Key)
		}
		keys[n.Key] = i
		switch n.Status {
		case "", "failed", "proved", "exhausted":
		default:
			t.Errorf("node %d: status %q", i, n.Status)
		}
		if i == 0 {
			if n.Parent != -1 || n.Depth != 0 || n.Cost != 0 {
				t.Errorf("root node: %+v", n)
			}
			continue
		}
		if n.Parent < 0 || n.Parent >= len(tr.Nodes) {
			t.Errorf("node %d: parent %d out of range", i, n.Parent)
			continue
		}
		p := tr.Nodes[n.Parent]
		if !p.Expanded {
			t.Errorf("node %d: parent %d was never expanded", i, n.Parent)
		}
		if n.Depth != p.Depth+1 {
			t.Errorf("node %d: depth %d, parent %d has depth %d", i, n.Depth, n.Parent, p.Depth)
		}
		// Some edge from the recorded parent leads here at the recorded cost.
		found := false
		for _, e := range tr.Edges {
			if e.From == n.Parent && e.To == i && math.Abs(p.Cost-e.Score-n.Cost) < 1e-9 {
				found = true
			}
		}
		if !found {
			t.Errorf("node %d (cost %g): no edge from parent %d (cost %g) at that cost", i, n.Cost, n.Parent, p.Cost)
		}
	}
	proofs := 0
	for k, e := range tr.Edges {
		if e.From < 0 || e.From >= len(tr.Nodes) {
			t.Errorf("edge %d: from %d out of range", k, e.From)
			continue
		}
		if !tr.Nodes[e.From].Expanded {
			t.Errorf("edge %d: from unexpanded node %d", k, e.From)
		}
		if !edgeOutcomes[e.Outcome] {
			t.Errorf("edge %d: outcome %q", k, e.Outcome)
		}
		switch e.Outcome {
		case "open", "merged", "no-progress":
			if e.To < 0 || e.To >= len(tr.Nodes) {
				t.Errorf("edge %d (%s): to %d out of range", k, e.Outcome, e.To)
			}
			if (e.Outcome == "no-progress") != (e.To == e.From) {
				t.Errorf("edge %d: outcome %s from %d to %d", k, e.Outcome, e.From, e.To)
			}
		default:
			if e.To != -1 {
				t.Errorf("edge %d (%s): to %d, want -1", k, e.Outcome, e.To)
			}
		}
		if e.Outcome == "proved" {
			proofs++
		}
	}
	if (res.Outcome == OutcomeProved) != (proofs == 1) {
		t.Errorf("outcome %s with %d proving edges", res.Outcome, proofs)
	}
	if res.Outcome == OutcomeProved && tr.Nodes[0].Status != "proved" {
		t.Errorf("proved, but the root's status is %q", tr.Nodes[0].Status)
	}
	if res.Outcome == OutcomeRootFailed && tr.Nodes[0].Status != "failed" {
		t.Errorf("root-failed, but the root's status is %q", tr.Nodes[0].Status)
	}
	if res.TacticChecks != len(tr.Edges) {
		t.Errorf("%d tactic checks, %d trace edges", res.TacticChecks, len(tr.Edges))
	}
	expanded := 0
	for _, n := range tr.Nodes {
		if n.Expanded {
			expanded++
		}
	}
	if res.Outcome != OutcomeError && expanded != res.Expansions {
		t.Errorf("%d expansions, %d expanded trace nodes", res.Expansions, expanded)
	}
}

func nodeByKey(t *testing.T, tr Trace, key string) TraceNode {
	t.Helper()
	for _, n := range tr.Nodes {
		if n.Key == key {
			return n
		}
	}
	t.Fatalf("no trace node %q", key)
	return TraceNode{}
}

func TestBestFirstOrder(t *testing.T) {
	t.Parallel()
	e := newEnv(map[string][]Candidate{
		// Proposed out of order: the search tries them by descending score.
		"R":  {c("b", -2), c("a", -1)},
		"A":  {c("a1", -5)},
		"B":  {c("b1", -0.5)},
		"B1": {c("b2", -4)},
		"A1": {c("a2", -0.1)},
	}, map[string]move{
		"R|a": to("A"), "R|b": to("B"),
		"A|a1": to("A1"), "B|b1": to("B1"),
		"B1|b2": to("B2"), "A1|a2": proves(),
	})
	res := runEnv(t, context.Background(), e, Config{Expansions: 100, Samples: 32})
	if res.Outcome != OutcomeProved {
		t.Fatalf("outcome %s", res.Outcome)
	}
	// Costs: A 1, B 2, B1 2.5, A1 6, B2 6.5.
	wantExpanded := []string{"R", "A", "B", "B1", "A1"}
	if !reflect.DeepEqual(e.expanded, wantExpanded) {
		t.Errorf("expansion order %q, want %q", e.expanded, wantExpanded)
	}
	wantApplied := []string{"R|a", "R|b", "A|a1", "B|b1", "B1|b2", "A1|a2"}
	if !reflect.DeepEqual(e.applied, wantApplied) {
		t.Errorf("apply order %q, want %q", e.applied, wantApplied)
	}
	for key, cost := range map[string]float64{"R": 0, "A": 1, "B": 2, "B1": 2.5, "A1": 6, "B2": 6.5} {
		if got := nodeByKey(t, res.Trace, key).Cost; math.Abs(got-cost) > 1e-9 {
			t.Errorf("cost of %s = %g, want %g", key, got, cost)
		}
	}
	if want := []string{"a", "a1", "a2"}; !reflect.DeepEqual(res.Proof, want) {
		t.Errorf("proof %q, want %q", res.Proof, want)
	}
	if res.Expansions != 5 || res.TacticChecks != 6 {
		t.Errorf("expansions %d, checks %d; want 5, 6", res.Expansions, res.TacticChecks)
	}
	if want := [][]string{nil, {"a"}, {"b"}, {"b", "b1"}, {"a", "a1"}}; !reflect.DeepEqual(e.paths, want) {
		t.Errorf("paths given to Candidates %q, want %q", e.paths, want)
	}
}

func TestTiesExpandInCreationOrder(t *testing.T) {
	t.Parallel()
	// Equal cost and depth: the older node goes first, so the order is the
	// proposer's order and the search is deterministic.
	cands := map[string][]Candidate{"R": nil}
	moves := map[string]move{}
	var want []string
	want = append(want, "R")
	for i := 0; i < 12; i++ {
		k := fmt.Sprintf("S%02d", i)
		cands["R"] = append(cands["R"], c("t"+k, -1))
		moves["R|t"+k] = to(k)
		want = append(want, k)
	}
	e := newEnv(cands, moves)
	res := runEnv(t, context.Background(), e, Config{Expansions: 13})
	if res.Outcome != OutcomeRootFailed {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if !reflect.DeepEqual(e.expanded, want) {
		t.Errorf("expansion order %q, want %q", e.expanded, want)
	}
}

func TestMergeSharesNode(t *testing.T) {
	t.Parallel()
	e := newEnv(map[string][]Candidate{
		"R": {c("a", -1), c("b", -2)},
		"X": {c("x", -1)},
	}, map[string]move{"R|a": to("X"), "R|b": to("X")})
	res := runEnv(t, context.Background(), e, Config{})
	if res.Outcome != OutcomeRootFailed {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if len(res.Trace.Nodes) != 2 {
		t.Fatalf("%d nodes, want 2 (R and one shared X)", len(res.Trace.Nodes))
	}
	if want := []string{"R", "X"}; !reflect.DeepEqual(e.expanded, want) {
		t.Errorf("expanded %q, want %q", e.expanded, want)
	}
	var outcomes []string
	for _, ed := range res.Trace.Edges {
		outcomes = append(outcomes, ed.Outcome)
	}
	if want := []string{"open", "merged", "failed"}; !reflect.DeepEqual(outcomes, want) {
		t.Errorf("edge outcomes %q, want %q", outcomes, want)
	}
}

func TestCheaperPathReprioritises(t *testing.T) {
	t.Parallel()
	e := newEnv(map[string][]Candidate{
		"R": {c("a", -1), c("c", -3), c("x", -5)},
		"A": {c("ax", -1)},
		"X": {c("done", -1)},
		"C": {c("cc", -1)},
	}, map[string]move{
		"R|a": to("A"), "R|c": to("C"), "R|x": to("X"),
		"A|ax":   to("X"), // X now costs 2 instead of 5: ahead of C (3)
		"X|done": proves(),
	})
	res := runEnv(t, context.Background(), e, Config{})
	if res.Outcome != OutcomeProved {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if want := []string{"R", "A", "X"}; !reflect.DeepEqual(e.expanded, want) {
		t.Errorf("expanded %q, want %q (X re-prioritised ahead of C)", e.expanded, want)
	}
	if want := []string{"a", "ax"}; !reflect.DeepEqual(e.paths[2], want) {
		t.Errorf("X expanded with path %q, want the cheaper %q", e.paths[2], want)
	}
	x := nodeByKey(t, res.Trace, "X")
	if x.Cost != 2 || x.Depth != 2 || res.Trace.Nodes[x.Parent].Key != "A" {
		t.Errorf("X in trace: cost %g depth %d parent %d; want 2, 2, A", x.Cost, x.Depth, x.Parent)
	}
	// The proof is the shortest in the graph, not the cheapest path.
	if want := []string{"x", "done"}; !reflect.DeepEqual(res.Proof, want) {
		t.Errorf("proof %q, want %q", res.Proof, want)
	}
}

func TestExpandedNodeKeepsPath(t *testing.T) {
	t.Parallel()
	// X is expanded at cost 1 via "x"; a later path at cost 0.5 must not
	// rewrite the path of an expanded node (its children were built on it).
	e := newEnv(map[string][]Candidate{
		"R": {c("x", -1), c("b", -1.1)},
		"X": {c("x2", -10)},
		"B": {c("bx", 0.7)}, // a (bad) positive score gives a cheaper path
	}, map[string]move{"R|x": to("X"), "R|b": to("B"), "B|bx": to("X"), "X|x2": to("Y")})
	res := runEnv(t, context.Background(), e, Config{Expansions: 3})
	x := nodeByKey(t, res.Trace, "X")
	if x.Cost != 1 || res.Trace.Nodes[x.Parent].Key != "R" {
		t.Errorf("expanded X was re-parented: %+v", x)
	}
}

func TestFailurePropagates(t *testing.T) {
	t.Parallel()
	e := newEnv(map[string][]Candidate{
		"R":  {c("a", -1), c("b", -2)},
		"A":  {c("a1", -1), c("bad", -0.5)},
		"B":  {c("b1", -1), c("b2", -1)},
		"A1": nil, // nothing to try: fails at once
	}, map[string]move{
		"R|a": to("A"), "R|b": to("B"),
		"A|a1": to("A1"), "A|bad": fails("failed"),
		"B|b1": fails("failed"), "B|b2": fails("rejected"),
	})
	res := runEnv(t, context.Background(), e, Config{})
	if res.Outcome != OutcomeRootFailed {
		t.Fatalf("outcome %s, want %s", res.Outcome, OutcomeRootFailed)
	}
	// R, A, B, A1: after B fails R still has A; after A1 fails, A and R fail.
	if want := []string{"R", "A", "B", "A1"}; !reflect.DeepEqual(e.expanded, want) {
		t.Errorf("expanded %q, want %q", e.expanded, want)
	}
	for _, n := range res.Trace.Nodes {
		if n.Status != "failed" {
			t.Errorf("node %s: status %q, want failed", n.Key, n.Status)
		}
	}
	kinds := map[string]string{}
	for _, ed := range res.Trace.Edges {
		kinds[ed.Tactic] = ed.Outcome
	}
	if want := map[string]string{"a": "open", "b": "open", "a1": "open", "bad": "failed", "b1": "failed", "b2": "rejected"}; !reflect.DeepEqual(kinds, want) {
		t.Errorf("edge outcomes %v, want %v", kinds, want)
	}
}

// A tactic that timed out refutes nothing: its node is exhausted, not
// failed, and so is every ancestor left with only failed or exhausted
// children. The search ends "exhausted", never "root-failed", so the
// verdict does not depend on whether a slow tactic finished in time.
func TestTimeoutIsNotFailure(t *testing.T) {
	t.Parallel()
	cands := map[string][]Candidate{
		"R":  {c("a", -1), c("b", -2)},
		"A":  {c("a1", -1), c("slow", -0.5)},
		"B":  {c("b1", -1)},
		"A1": nil,
	}
	base := map[string]move{"R|a": to("A"), "R|b": to("B"), "A|a1": to("A1"), "B|b1": fails("failed")}
	for _, tc := range []struct {
		slow    move
		outcome Outcome
		status  map[string]string
	}{
		// The slow tactic fails: everything is refuted.
		{fails("failed"), OutcomeRootFailed, map[string]string{"R": "failed", "A": "failed", "B": "failed", "A1": "failed"}},
		// It times out instead: A is exhausted, and so is R; B and A1 are
		// still refuted.
		{fails("timeout"), OutcomeExhausted, map[string]string{"R": "exhausted", "A": "exhausted", "B": "failed", "A1": "failed"}},
	} {
		moves := maps.Clone(base)
		moves["A|slow"] = tc.slow
		e := newEnv(cands, moves)
		res := runEnv(t, context.Background(), e, Config{})
		if res.Outcome != tc.outcome {
			t.Errorf("slow = %v: outcome %s, want %s", tc.slow, res.Outcome, tc.outcome)
		}
		for key, want := range tc.status {
			if got := nodeByKey(t, res.Trace, key).Status; got != want {
				t.Errorf("slow = %v: node %s status %q, want %q", tc.slow, key, got, want)
			}
		}
	}
}

// An exhausted child keeps its parent from failing even when the
// parent's own tactics all failed; a live child keeps it open.
func TestExhaustedChildMakesParentExhausted(t *testing.T) {
	t.Parallel()
	e := newEnv(map[string][]Candidate{
		"R": {c("a", -1), c("x", -2)},
		"A": {c("t", -1)},
	}, map[string]move{"R|a": to("A"), "R|x": fails("failed"), "A|t": fails("timeout")})
	res := runEnv(t, context.Background(), e, Config{})
	if res.Outcome != OutcomeExhausted || nodeByKey(t, res.Trace, "R").Status != "exhausted" {
		t.Fatalf("outcome %s, root %q; want exhausted", res.Outcome, nodeByKey(t, res.Trace, "R").Status)
	}
	// Llemma parity propagates nothing, timeouts or not.
	e = newEnv(map[string][]Candidate{"R": {c("t", -1)}}, map[string]move{"R|t": fails("timeout")})
	res = Run(context.Background(), e, e.state("R"), Config{LlemmaParity: true})
	if res.Outcome != OutcomeExhausted || res.Trace.Nodes[0].Status != "" {
		t.Fatalf("parity: outcome %s, root %q", res.Outcome, res.Trace.Nodes[0].Status)
	}
}

func TestLiveChildKeepsParentOpen(t *testing.T) {
	t.Parallel()
	e := newEnv(map[string][]Candidate{
		"R": {c("a", -1), c("b", -2)},
		"A": {c("a1", -1)},
		"B": {c("b1", -1)},
	}, map[string]move{"R|a": to("A"), "R|b": to("B"), "B|b1": to("B1")})
	res := runEnv(t, context.Background(), e, Config{Expansions: 3})
	if res.Outcome != OutcomeBudget {
		t.Fatalf("outcome %s, want %s", res.Outcome, OutcomeBudget)
	}
	for key, want := range map[string]string{"R": "", "A": "failed", "B": "", "B1": ""} {
		if got := nodeByKey(t, res.Trace, key).Status; got != want {
			t.Errorf("node %s: status %q, want %q", key, got, want)
		}
	}
}

func TestEarlyStop(t *testing.T) {
	t.Parallel()
	e := newEnv(map[string][]Candidate{
		"R": {c("a", -1), c("b", -2)},
		"A": {c("p", -1), c("q", -0.5), c("r", -3)},
	}, map[string]move{"R|a": to("A"), "R|b": to("B"), "A|q": proves(), "A|p": proves(), "A|r": to("Z")})
	res := runEnv(t, context.Background(), e, Config{})
	if res.Outcome != OutcomeProved {
		t.Fatalf("outcome %s", res.Outcome)
	}
	// No Apply after the proving step.
	if want := []string{"R|a", "R|b", "A|q"}; !reflect.DeepEqual(e.applied, want) {
		t.Errorf("applied %q, want %q", e.applied, want)
	}
	if want := []string{"a", "q"}; !reflect.DeepEqual(res.Proof, want) {
		t.Errorf("proof %q, want %q", res.Proof, want)
	}
	if res.Expansions != 2 || res.TacticChecks != 3 {
		t.Errorf("expansions %d checks %d, want 2, 3", res.Expansions, res.TacticChecks)
	}
}

func TestRootProvedInOneStep(t *testing.T) {
	t.Parallel()
	e := newEnv(map[string][]Candidate{"R": {c("lia", -0.1)}}, map[string]move{"R|lia": proves()})
	res := runEnv(t, context.Background(), e, Config{})
	if res.Outcome != OutcomeProved || !reflect.DeepEqual(res.Proof, []string{"lia"}) {
		t.Fatalf("outcome %s proof %q", res.Outcome, res.Proof)
	}
}

func TestShortestProof(t *testing.T) {
	t.Parallel()
	// Cheapest path R -a-> A -a2-> C -c-> B -p-> proved (4 tactics), found
	// first; B is also reached from R by "b" directly (2 tactics).
	e := newEnv(map[string][]Candidate{
		"R": {c("a", -0.1), c("b", -3)},
		"A": {c("a2", -0.1)},
		"C": {c("c", -0.1)},
		"B": {c("p", -0.1)},
	}, map[string]move{
		"R|a": to("A"), "R|b": to("B"),
		"A|a2": to("C"), "C|c": to("B"), "B|p": proves(),
	})
	res := runEnv(t, context.Background(), e, Config{})
	if res.Outcome != OutcomeProved {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if want := []string{"a", "a2", "c"}; !reflect.DeepEqual(e.paths[len(e.paths)-1], want) {
		t.Fatalf("B expanded on path %q, want the cheapest %q", e.paths[len(e.paths)-1], want)
	}
	if want := []string{"b", "p"}; !reflect.DeepEqual(res.Proof, want) {
		t.Errorf("proof %q, want the shortest %q", res.Proof, want)
	}
}

func TestNoProgressIgnored(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cands   []Candidate
		moves   map[string]move
		outcome Outcome
	}{
		{"only no-progress", []Candidate{c("idtac", -0.1), c("simpl", -0.2)},
			map[string]move{"R|idtac": to("R"), "R|simpl": to("R")}, OutcomeRootFailed},
		{"no-progress then proof", []Candidate{c("idtac", -0.1), c("lia", -0.2)},
			map[string]move{"R|idtac": to("R"), "R|lia": proves()}, OutcomeProved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(map[string][]Candidate{"R": tt.cands}, tt.moves)
			res := runEnv(t, context.Background(), e, Config{})
			if res.Outcome != tt.outcome {
				t.Fatalf("outcome %s, want %s", res.Outcome, tt.outcome)
			}
			if len(res.Trace.Nodes) != 1 || res.Trace.Edges[0].Outcome != "no-progress" {
				t.Errorf("trace %+v", res.Trace)
			}
			if res.Outcome == OutcomeProved && !reflect.DeepEqual(res.Proof, []string{"lia"}) {
				t.Errorf("proof %q", res.Proof)
			}
		})
	}
}

func TestCycleExhausts(t *testing.T) {
	t.Parallel()
	// A tactic that leads back to an ancestor keeps the cycle alive: the
	// root never fails, and the search ends when the frontier is empty.
	e := newEnv(map[string][]Candidate{"R": {c("a", -1)}, "A": {c("back", -1)}},
		map[string]move{"R|a": to("A"), "A|back": to("R")})
	res := runEnv(t, context.Background(), e, Config{})
	if res.Outcome != OutcomeExhausted {
		t.Fatalf("outcome %s, want %s", res.Outcome, OutcomeExhausted)
	}
	if res.Expansions != 2 {
		t.Errorf("expansions %d, want 2", res.Expansions)
	}
}

// chainEnv makes an endless supply of fresh states.
func chainEnv(branching int) *scriptEnv {
	e := newEnv(nil, nil)
	n := 0
	e.onApply = func(ctx context.Context, key, tactic string) (Step, error, bool) {
		e.mu.Lock()
		defer e.mu.Unlock()
		n++
		return Step{Status: Open, State: e.stateLocked(fmt.Sprintf("S%d", n))}, nil, true
	}
	e.cands = map[string][]Candidate{}
	var cs []Candidate
	for i := 0; i < branching; i++ {
		cs = append(cs, c(fmt.Sprintf("t%d", i), -float64(i+1)/10))
	}
	e.cands["R"] = cs
	for i := 1; i < 10000; i++ {
		e.cands[fmt.Sprintf("S%d", i)] = cs
	}
	return e
}

func TestExpansionBudget(t *testing.T) {
	t.Parallel()
	for _, budget := range []int{1, 3, 7} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			t.Parallel()
			e := chainEnv(2)
			res := runEnv(t, context.Background(), e, Config{Expansions: budget})
			if res.Outcome != OutcomeBudget {
				t.Fatalf("outcome %s, want %s", res.Outcome, OutcomeBudget)
			}
			if res.Expansions != budget || len(e.expanded) != budget || res.TacticChecks != 2*budget {
				t.Errorf("expansions %d, Candidates calls %d, checks %d; budget %d", res.Expansions, len(e.expanded), res.TacticChecks, budget)
			}
		})
	}
}

func TestSamplesCap(t *testing.T) {
	t.Parallel()
	var cs []Candidate
	for i := 0; i < 10; i++ {
		cs = append(cs, c(fmt.Sprintf("t%d", i), -float64((i*7)%10))) // scores 0, -7, -4, -1, -8, ...
	}
	e := newEnv(map[string][]Candidate{"R": cs}, nil)
	res := runEnv(t, context.Background(), e, Config{Samples: 3})
	if res.Outcome != OutcomeRootFailed {
		t.Fatalf("outcome %s", res.Outcome)
	}
	// The three best: t0 (0), t3 (-1), t6 (-2).
	if want := []string{"R|t0", "R|t3", "R|t6"}; !reflect.DeepEqual(e.applied, want) {
		t.Errorf("applied %q, want %q", e.applied, want)
	}
}

func TestDefaultConfig(t *testing.T) {
	t.Parallel()
	if got, want := DefaultConfig(), (Config{Expansions: 100, Samples: 32, TacticTimeout: 10 * time.Second}); got != want {
		t.Errorf("DefaultConfig() = %+v, want %+v", got, want)
	}
	// A zero Config runs with the defaults: 32 samples, 10 s per tactic.
	e := chainEnv(40)
	res := runEnv(t, context.Background(), e, Config{Expansions: 1})
	if res.TacticChecks != 32 {
		t.Errorf("%d checks with the default Samples, want 32", res.TacticChecks)
	}
	for _, d := range e.timeouts {
		if d != 10*time.Second {
			t.Fatalf("tactic timeout %v, want the default 10s", d)
		}
	}
}

func TestCandidateTimeoutOverride(t *testing.T) {
	t.Parallel()
	e := newEnv(map[string][]Candidate{"R": {
		{Tactic: "short", Score: -1, Timeout: 2 * time.Second},
		{Tactic: "long", Score: -2, Timeout: time.Minute},
		{Tactic: "default", Score: -3},
	}}, nil)
	runEnv(t, context.Background(), e, Config{TacticTimeout: 5 * time.Second})
	want := []time.Duration{2 * time.Second, 5 * time.Second, 5 * time.Second}
	if !reflect.DeepEqual(e.timeouts, want) {
		t.Errorf("timeouts %v, want %v", e.timeouts, want)
	}
}

func TestDedupeCandidates(t *testing.T) {
	t.Parallel()
	e := newEnv(map[string][]Candidate{"R": {c("x", -3), c("y", -2), c("x", -1), c("y", -5), c("z", -2.5)}}, nil)
	res := runEnv(t, context.Background(), e, Config{})
	if want := []string{"R|x", "R|y", "R|z"}; !reflect.DeepEqual(e.applied, want) {
		t.Errorf("applied %q, want %q (each text once, by its best score)", e.applied, want)
	}
	if s := res.Trace.Edges[0].Score; s != -1 {
		t.Errorf("x tried with score %g, want the max -1", s)
	}
}

func TestDedupeHelpers(t *testing.T) {
	t.Parallel()
	in := []Candidate{c("a", -2), c("b", -1), c("a", -0.5), c("c", -1), c("b", -3)}
	orig := append([]Candidate(nil), in...)
	got := dedupe(in)
	if want := []Candidate{c("a", -0.5), c("b", -1), c("c", -1)}; !reflect.DeepEqual(got, want) {
		t.Errorf("dedupe = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Errorf("dedupe modified its input: %v", in)
	}
	sortCandidates(got)
	if want := []Candidate{c("a", -0.5), c("b", -1), c("c", -1)}; !reflect.DeepEqual(got, want) {
		t.Errorf("sorted = %v, want %v (stable among equals)", got, want)
	}
}

func TestContextEnds(t *testing.T) {
	t.Parallel()
	errBoom := errors.New("boom")
	tests := []struct {
		name    string
		ctx     func() (context.Context, context.CancelFunc)
		hook    func(cancel context.CancelFunc) func(context.Context, string, string) (Step, error, bool)
		outcome Outcome
		applied int // Apply calls expected
	}{
		{
			name: "deadline already past",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), -time.Second)
			},
			outcome: OutcomeTimeout,
		},
		{
			name: "canceled before the run",
			ctx: func() (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(context.Background())
				cancel()
				return ctx, cancel
			},
			outcome: OutcomeCanceled,
		},
		{
			name: "deadline during a tactic that reports failure",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Millisecond)
			},
			hook: func(context.CancelFunc) func(context.Context, string, string) (Step, error, bool) {
				return func(ctx context.Context, key, tactic string) (Step, error, bool) {
					if key == "A" {
						<-ctx.Done()
						return Step{Status: Failed, Kind: "timeout"}, nil, true
					}
					return Step{}, nil, false
				}
			},
			outcome: OutcomeTimeout,
			applied: 3, // R|a, R|b, then A|a1; not A|a2
		},
		{
			name: "deadline during a tactic that returns the ctx error",
			ctx: func() (context.Context, context.CancelFunc) {
				return context.WithTimeout(context.Background(), 20*time.Millisecond)
			},
			hook: func(context.CancelFunc) func(context.Context, string, string) (Step, error, bool) {
				return func(ctx context.Context, key, tactic string) (Step, error, bool) {
					if key == "A" {
						<-ctx.Done()
						return Step{}, ctx.Err(), true
					}
					return Step{}, nil, false
				}
			},
			outcome: OutcomeTimeout,
			applied: 3,
		},
		{
			name: "canceled during a tactic",
			ctx:  func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			hook: func(cancel context.CancelFunc) func(context.Context, string, string) (Step, error, bool) {
				return func(ctx context.Context, key, tactic string) (Step, error, bool) {
					if key == "A" {
						cancel()
						return Step{Status: Failed}, nil, true
					}
					return Step{}, nil, false
				}
			},
			outcome: OutcomeCanceled,
			applied: 3,
		},
		{
			name: "canceled, Env answers with a wrapped ctx error",
			ctx:  func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			hook: func(cancel context.CancelFunc) func(context.Context, string, string) (Step, error, bool) {
				return func(ctx context.Context, key, tactic string) (Step, error, bool) {
					if key == "A" {
						cancel()
						return Step{}, fmt.Errorf("coqtop: %w", ctx.Err()), true
					}
					return Step{}, nil, false
				}
			},
			outcome: OutcomeCanceled,
			applied: 3,
		},
		{
			name: "Env error",
			ctx:  func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) },
			hook: func(context.CancelFunc) func(context.Context, string, string) (Step, error, bool) {
				return func(ctx context.Context, key, tactic string) (Step, error, bool) {
					if key == "A" {
						return Step{}, errBoom, true
					}
					return Step{}, nil, false
				}
			},
			outcome: OutcomeError,
			applied: 3,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(map[string][]Candidate{
				"R": {c("a", -1), c("b", -2)},
				"A": {c("a1", -1), c("a2", -2)},
				"B": {c("b1", -1)},
			}, map[string]move{"R|a": to("A"), "R|b": to("B"), "A|a2": proves()})
			ctx, cancel := tt.ctx()
			defer cancel()
			if tt.hook != nil {
				e.onApply = tt.hook(cancel)
			}
			res := runEnv(t, ctx, e, Config{})
			if res.Outcome != tt.outcome {
				t.Fatalf("outcome %s, want %s (err %v)", res.Outcome, tt.outcome, res.Err)
			}
			if len(e.applied) != tt.applied {
				t.Errorf("applied %q, want %d calls", e.applied, tt.applied)
			}
			if tt.outcome == OutcomeError {
				if !errors.Is(res.Err, errBoom) {
					t.Errorf("err %v, want %v", res.Err, errBoom)
				}
			} else if res.Err != nil {
				t.Errorf("err %v for outcome %s", res.Err, res.Outcome)
			}
			// An expansion cut short by the ctx does not fail its node:
			// its untried candidates might still have worked.
			for _, n := range res.Trace.Nodes {
				if n.Status == "failed" {
					t.Errorf("node %s marked failed after an interrupted expansion", n.Key)
				}
			}
		})
	}
}

func TestCandidatesError(t *testing.T) {
	t.Parallel()
	errModel := errors.New("model down")
	e := newEnv(map[string][]Candidate{"R": {c("a", -1)}}, nil)
	e.candErr = errModel
	res := runEnv(t, context.Background(), e, Config{})
	if res.Outcome != OutcomeError || !errors.Is(res.Err, errModel) {
		t.Fatalf("outcome %s err %v", res.Outcome, res.Err)
	}
	if !strings.Contains(res.Err.Error(), "proposing tactics") {
		t.Errorf("err %q lacks context", res.Err)
	}
	if len(e.applied) != 0 {
		t.Errorf("applied %q after a proposer error", e.applied)
	}
}

func TestEnvErrorInTrace(t *testing.T) {
	t.Parallel()
	e := newEnv(map[string][]Candidate{"R": {c("a", -1), c("b", -2)}}, map[string]move{"R|a": boom(errors.New("pipe closed"))})
	res := runEnv(t, context.Background(), e, Config{})
	if res.Outcome != OutcomeError {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if len(res.Trace.Edges) != 1 || res.Trace.Edges[0].Outcome != "error" || res.Trace.Edges[0].Detail != "pipe closed" {
		t.Errorf("edges %+v", res.Trace.Edges)
	}
	if want := []string{"R|a"}; !reflect.DeepEqual(e.applied, want) {
		t.Errorf("applied %q, want %q", e.applied, want)
	}
}

func TestNoRoot(t *testing.T) {
	t.Parallel()
	res := Run(context.Background(), newEnv(nil, nil), State{ID: 1}, Config{})
	if res.Outcome != OutcomeError || !errors.Is(res.Err, ErrNoRoot) {
		t.Fatalf("outcome %s err %v", res.Outcome, res.Err)
	}
}

func TestTraceTimes(t *testing.T) {
	t.Parallel()
	// A fake clock that advances one second per reading.
	var tick time.Time
	now := func() time.Time { tick = tick.Add(time.Second); return tick }
	e := newEnv(map[string][]Candidate{"R": {c("a", -1)}, "A": {c("p", -1)}},
		map[string]move{"R|a": to("A"), "A|p": proves()})
	res := run(context.Background(), e, e.state("R"), Config{}, now)
	checkTrace(t, res)
	if res.Outcome != OutcomeProved {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if res.Trace.Elapsed <= 0 {
		t.Errorf("elapsed %v", res.Trace.Elapsed)
	}
	for _, n := range res.Trace.Nodes {
		if n.Expanded && (n.ExpandedAt < n.CreatedAt || n.ProposeTime <= 0) {
			t.Errorf("node %+v: times out of order", n)
		}
	}
	for _, ed := range res.Trace.Edges {
		if ed.Elapsed <= 0 {
			t.Errorf("edge %+v: no elapsed time", ed)
		}
	}
}

// TestRandomGraphs runs the search on random scripts and checks what it
// claims against the script: a proof replays, a root failure means no
// proof is reachable, and the trace is consistent.
func TestRandomGraphs(t *testing.T) {
	t.Parallel()
	counts := map[Outcome]int{}
	defer func() { t.Logf("outcomes: %v", counts) }()
	for seed := int64(1); seed <= 300; seed++ {
		r := rand.New(rand.NewSource(seed))
		nStates := 2 + r.Intn(12)
		key := func(i int) string {
			if i == 0 {
				return "R"
			}
			return fmt.Sprintf("S%d", i)
		}
		cands := map[string][]Candidate{}
		moves := map[string]move{}
		for i := 0; i < nStates; i++ {
			for j := 0; j < r.Intn(4); j++ {
				tac := fmt.Sprintf("t%d", r.Intn(5)) // repeated texts exercise dedupe
				cands[key(i)] = append(cands[key(i)], c(tac, -float64(r.Intn(4))/2))
				switch p := r.Float64(); {
				case p < 0.04:
					moves[key(i)+"|"+tac] = proves()
				case p < 0.7:
					moves[key(i)+"|"+tac] = to(key(r.Intn(nStates)))
				}
			}
		}
		e := newEnv(cands, moves)
		res := runEnv(t, context.Background(), e, Config{Expansions: 1000})
		// Which states can reach a proof, by the script?
		provable := map[string]bool{}
		for changed := true; changed; {
			changed = false
			for i := 0; i < nStates; i++ {
				k := key(i)
				if provable[k] {
					continue
				}
				for _, cd := range cands[k] {
					m, ok := moves[k+"|"+cd.Tactic]
					if ok && (m.status == Proved || m.status == Open && provable[m.to]) {
						provable[k], changed = true, true
					}
				}
			}
		}
		switch res.Outcome {
		case OutcomeProved:
			cur := "R"
			for i, tac := range res.Proof {
				m, ok := moves[cur+"|"+tac]
				if !ok {
					t.Fatalf("seed %d: proof %q: %q fails on %s", seed, res.Proof, tac, cur)
				}
				if m.status == Proved {
					if i != len(res.Proof)-1 {
						t.Fatalf("seed %d: proof %q goes on after closing the goal", seed, res.Proof)
					}
					break
				}
				cur = m.to
			}
			if m := moves[cur+"|"+res.Proof[len(res.Proof)-1]]; m.status != Proved {
				t.Fatalf("seed %d: proof %q does not close the goal", seed, res.Proof)
			}
		case OutcomeRootFailed, OutcomeExhausted:
			if provable["R"] {
				t.Fatalf("seed %d: %s, but the script has a proof", seed, res.Outcome)
			}
		default:
			t.Fatalf("seed %d: outcome %s", seed, res.Outcome)
		}
		counts[res.Outcome]++
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
}
