package search

import (
	"context"
	"fmt"
	"math/rand"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
)

// prefetchEnv is a scriptEnv that prefetches: Prefetch computes the
// candidates in a goroutine, Candidates uses a prefetched answer for the
// same state and path, and every call is checked against the contract
// (one Drop or one use per Prefetch, at most Speculate outstanding).
type prefetchEnv struct {
	*scriptEnv
	t     *testing.T
	limit int // Config.Speculate

	mu          sync.Mutex
	pending     map[StateID]*prefetched
	prefetches  int
	used, drops int
	dropped     []string // keys, in the order of the Drops
	maxOut      int
	wg          sync.WaitGroup
}

type prefetched struct {
	path  []string
	done  chan struct{}
	cands []Candidate
}

func newPrefetchEnv(t *testing.T, e *scriptEnv, limit int) *prefetchEnv {
	return &prefetchEnv{scriptEnv: e, t: t, limit: limit, pending: map[StateID]*prefetched{}}
}

func (e *prefetchEnv) Prefetch(ctx context.Context, states []State, paths [][]string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(states) != len(paths) {
		e.t.Errorf("Prefetch of %d states with %d paths", len(states), len(paths))
	}
	for i, s := range states {
		if _, dup := e.pending[s.ID]; dup {
			e.t.Errorf("state %q prefetched twice without a use or a drop", s.Key)
		}
		p := &prefetched{path: slices.Clone(paths[i]), done: make(chan struct{})}
		e.pending[s.ID] = p
		e.prefetches++
		e.wg.Go(func() {
			defer close(p.done)
			e.scriptEnv.mu.Lock()
			p.cands = slices.Clone(e.cands[s.Key])
			e.scriptEnv.mu.Unlock()
		})
	}
	e.maxOut = max(e.maxOut, len(e.pending))
	if len(e.pending) > e.limit+1 { // the node being expanded may not have asked for its own yet
		e.t.Errorf("%d prefetches outstanding, Speculate %d", len(e.pending), e.limit)
	}
}

func (e *prefetchEnv) Drop(s State) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.pending[s.ID]; !ok {
		e.t.Errorf("Drop of %q, which has no prefetch outstanding", s.Key)
	}
	delete(e.pending, s.ID)
	e.drops++
	e.dropped = append(e.dropped, s.Key)
}

func (e *prefetchEnv) Candidates(ctx context.Context, s State, path []string) ([]Candidate, error) {
	e.mu.Lock()
	p, ok := e.pending[s.ID]
	if ok && !slices.Equal(p.path, path) {
		e.t.Errorf("Candidates(%q, %q) with a prefetch outstanding for path %q", s.Key, path, p.path)
	}
	if ok {
		delete(e.pending, s.ID)
		e.used++
	}
	e.mu.Unlock()
	// The scripted Candidates records the expansion order either way.
	cands, err := e.scriptEnv.Candidates(ctx, s, path)
	if ok {
		<-p.done
		if !reflect.DeepEqual(p.cands, cands) {
			e.t.Errorf("prefetched candidates of %q differ", s.Key)
		}
		return p.cands, err
	}
	return cands, err
}

// untimed is a trace without its clock readings, to compare two runs.
func untimed(tr Trace) Trace {
	tr.Elapsed = 0
	tr.Nodes = slices.Clone(tr.Nodes)
	tr.Edges = slices.Clone(tr.Edges)
	for i := range tr.Nodes {
		tr.Nodes[i].CreatedAt, tr.Nodes[i].ExpandedAt, tr.Nodes[i].ProposeTime = 0, 0, 0
	}
	for i := range tr.Edges {
		tr.Edges[i].Elapsed = 0
	}
	return tr
}

// randomScript is a random graph of states for seed (as TestRandomGraphs),
// denser, with many ties and cheap detours so that the frontier changes
// under the speculation's feet.
func randomScript(seed int64) (map[string][]Candidate, map[string]move) {
	r := rand.New(rand.NewSource(seed))
	nStates := 2 + r.Intn(20)
	key := func(i int) string {
		if i == 0 {
			return "R"
		}
		return fmt.Sprintf("S%d", i)
	}
	cands := map[string][]Candidate{}
	moves := map[string]move{}
	for i := 0; i < nStates; i++ {
		for j := 0; j < r.Intn(6); j++ {
			tac := fmt.Sprintf("t%d", r.Intn(6))
			cands[key(i)] = append(cands[key(i)], c(tac, -float64(r.Intn(5))/4))
			switch p := r.Float64(); {
			case p < 0.03:
				moves[key(i)+"|"+tac] = proves()
			case p < 0.05:
				moves[key(i)+"|"+tac] = fails(KindTimeout)
			case p < 0.8:
				moves[key(i)+"|"+tac] = to(key(r.Intn(nStates)))
			}
		}
	}
	return cands, moves
}

// Speculation never changes which node is expanded next, with which
// candidates, nor the outcome and the proof: on random graphs, in both
// search modes and at several budgets, the trace with Speculate 1..3 is
// the trace without speculation, and every prefetch is used or dropped.
func TestSpeculationKeepsTheSearch(t *testing.T) {
	t.Parallel()
	var used, dropped, prefetched int
	for seed := int64(1); seed <= 400; seed++ {
		cands, moves := randomScript(seed)
		parity := seed%2 == 0
		expansions := []int{1, 2, 5, 1000}[seed%4]
		base := newEnv(cands, moves)
		want := Run(context.Background(), base, base.state("R"), Config{Expansions: expansions, LlemmaParity: parity, Speculate: NoSpeculation})
		if want.Speculation != (Speculation{}) {
			t.Fatalf("seed %d: speculation counted with NoSpeculation: %+v", seed, want.Speculation)
		}
		for k := 1; k <= 3; k++ {
			name := fmt.Sprintf("seed %d, parity %v, expansions %d, speculate %d", seed, parity, expansions, k)
			e := newPrefetchEnv(t, newEnv(cands, moves), k)
			got := Run(context.Background(), e, e.state("R"), Config{Expansions: expansions, LlemmaParity: parity, Speculate: k})
			e.wg.Wait()
			if !parity {
				checkTrace(t, got) // parity traces have nodes of equal keys
			}
			if got.Outcome != want.Outcome || !slices.Equal(got.Proof, want.Proof) || got.Expansions != want.Expansions ||
				got.TacticChecks != want.TacticChecks {
				t.Fatalf("%s: %s %q after %d expansions, %d checks; without speculation %s %q after %d, %d", name,
					got.Outcome, got.Proof, got.Expansions, got.TacticChecks, want.Outcome, want.Proof, want.Expansions, want.TacticChecks)
			}
			if !reflect.DeepEqual(untimed(got.Trace), untimed(want.Trace)) {
				t.Fatalf("%s: the trace differs from the search without speculation", name)
			}
			if !slices.Equal(e.expanded, base.expanded) || !reflect.DeepEqual(e.paths, base.paths) || !slices.Equal(e.applied, base.applied) {
				t.Fatalf("%s: expanded %q, applied %q; without speculation %q, %q", name, e.expanded, e.applied, base.expanded, base.applied)
			}
			sp := got.Speculation
			if sp.Prefetched != sp.Used+sp.Dropped || sp.Prefetched != e.prefetches || sp.Used != e.used || sp.Dropped != e.drops {
				t.Fatalf("%s: speculation %+v; the env saw %d prefetches, %d used, %d dropped", name, sp, e.prefetches, e.used, e.drops)
			}
			if len(e.pending) != 0 {
				t.Fatalf("%s: %d prefetches outstanding after Run", name, len(e.pending))
			}
			if expansions == 1 && sp.Prefetched != 0 {
				t.Fatalf("%s: %d prefetches with a budget of one expansion (nothing can use them)", name, sp.Prefetched)
			}
			used, dropped, prefetched = used+sp.Used, dropped+sp.Dropped, prefetched+sp.Prefetched
		}
		if t.Failed() {
			t.Fatalf("seed %d", seed)
		}
	}
	t.Logf("prefetched %d: used %d, dropped %d", prefetched, used, dropped)
	if used == 0 || dropped == 0 {
		t.Errorf("prefetched %d, used %d, dropped %d: the graphs do not exercise both", prefetched, used, dropped)
	}
}

// The next node is prefetched while the current one is expanded: with the
// frontier {A, B} after the root, expanding A prefetches B, and B, still
// the best node after A, is then expanded from the prefetch.
func TestSpeculationPrefetchesTheNextNode(t *testing.T) {
	t.Parallel()
	cands := map[string][]Candidate{
		"R": {c("a", -0.1), c("b", -0.2)},
		"A": {c("x", -5)}, // A's child costs more than B
		"B": {c("y", -0.1)},
	}
	moves := map[string]move{"R|a": to("A"), "R|b": to("B"), "A|x": to("C"), "B|y": proves()}
	e := newPrefetchEnv(t, newEnv(cands, moves), 1)
	var log []string
	e.onApply = func(_ context.Context, key, tactic string) (Step, error, bool) {
		e.mu.Lock()
		var out []string
		for id := range e.pending {
			out = append(out, e.keys[id])
		}
		e.mu.Unlock()
		slices.Sort(out)
		log = append(log, fmt.Sprintf("%s|%s while %s prefetched", key, tactic, strings.Join(out, ",")))
		return Step{}, nil, false
	}
	res := Run(context.Background(), e, e.state("R"), Config{Expansions: 10})
	e.wg.Wait()
	if res.Outcome != OutcomeProved || !slices.Equal(res.Proof, []string{"b", "y"}) {
		t.Fatalf("%s %q", res.Outcome, res.Proof)
	}
	want := []string{"R|a while  prefetched", "R|b while  prefetched", "A|x while B prefetched", "B|y while C prefetched"}
	if !slices.Equal(log, want) {
		t.Errorf("checks:\n%q\nwant\n%q", log, want)
	}
	if got := res.Speculation; got != (Speculation{Prefetched: 2, Used: 1, Dropped: 1}) {
		t.Errorf("speculation %+v, want B used and C dropped at the end", got)
	}
}

// A node whose path changed after its prefetch (a cheaper path was found)
// is proposed afresh: the prefetch with the old path is dropped, not used.
func TestSpeculationPathChange(t *testing.T) {
	t.Parallel()
	// R -a-> A (0.1), R -b-> B (0.2), R -c-> S (1.0): expanding A (B and S
	// prefetched) finds S by a cheaper path, [a s] (0.15).
	cands := map[string][]Candidate{
		"R": {c("a", -0.1), c("b", -0.2), c("c", -1)},
		"A": {c("s", -0.05)},
		"B": {},
		"S": {c("z", -0.1)},
	}
	moves := map[string]move{"R|a": to("A"), "R|b": to("B"), "R|c": to("S"), "A|s": to("S"), "S|z": proves()}
	e := newPrefetchEnv(t, newEnv(cands, moves), 2)
	res := Run(context.Background(), e, e.state("R"), Config{Expansions: 10, Speculate: 2})
	e.wg.Wait()
	if res.Outcome != OutcomeProved || !slices.Equal(res.Proof, []string{"c", "z"}) {
		t.Fatalf("%s %q", res.Outcome, res.Proof)
	}
	i := slices.Index(e.expanded, "S")
	if i < 0 || !slices.Equal(e.paths[i], []string{"a", "s"}) {
		t.Fatalf("S expanded with path %q, want [a s]", e.paths)
	}
	if got := res.Speculation; got != (Speculation{Prefetched: 2, Used: 0, Dropped: 2}) || !slices.Equal(e.dropped, []string{"S", "B"}) {
		t.Errorf("speculation %+v, drops %q; want S dropped (its path changed), then B at the end", got, e.dropped)
	}
}

// Speculation stops with the search: a cancelled ctx leaves nothing
// outstanding, and an Env that is not a Prefetcher is never asked.
func TestSpeculationEndsWithTheSearch(t *testing.T) {
	t.Parallel()
	cands := map[string][]Candidate{"R": {c("a", -0.1), c("b", -0.2), c("c", -0.3)}, "A": {c("x", -0.1)}}
	moves := map[string]move{"R|a": to("A"), "R|b": to("B"), "R|c": to("C")}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newPrefetchEnv(t, newEnv(cands, moves), 2)
	e.onApply = func(_ context.Context, key, _ string) (Step, error, bool) {
		if key == "A" {
			cancel()
		}
		return Step{}, nil, false
	}
	res := Run(ctx, e, e.state("R"), Config{Expansions: 10, Speculate: 2})
	e.wg.Wait()
	if res.Outcome != OutcomeCanceled {
		t.Fatalf("outcome %s", res.Outcome)
	}
	if len(e.pending) != 0 || res.Speculation.Prefetched == 0 || res.Speculation.Prefetched != res.Speculation.Used+res.Speculation.Dropped {
		t.Errorf("after a cancel: %d outstanding, speculation %+v", len(e.pending), res.Speculation)
	}
	plain := newEnv(cands, moves)
	if res := Run(context.Background(), plain, plain.state("R"), Config{Expansions: 10}); res.Speculation != (Speculation{}) {
		t.Errorf("speculation %+v with an Env that cannot prefetch", res.Speculation)
	}
}

// A ctx cancelled with ErrBudget (a budget the caller counts, in CPU time
// say) ends the search as a timeout, like a deadline.
func TestBudgetCause(t *testing.T) {
	t.Parallel()
	cands := map[string][]Candidate{"R": {c("a", -0.1), c("b", -0.2)}, "A": {c("x", -0.1)}}
	moves := map[string]move{"R|a": to("A")}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	e := newEnv(cands, moves)
	e.onApply = func(_ context.Context, key, tactic string) (Step, error, bool) {
		if tactic == "b" {
			cancel(fmt.Errorf("15s of checker CPU: %w", ErrBudget))
		}
		return Step{}, nil, false
	}
	res := runEnv(t, ctx, e, Config{Expansions: 10})
	if res.Outcome != OutcomeTimeout {
		t.Fatalf("outcome %s, want timeout", res.Outcome)
	}
}
