package search

import (
	"context"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// benchEnv is a zero-latency Env: every tactic succeeds with a fresh state,
// and every state has the same Branching candidates.
type benchEnv struct {
	cands []Candidate
	keys  []string // pre-built keys, so that the Env allocates nothing
	next  int
}

func newBenchEnv(branching, states int) *benchEnv {
	e := &benchEnv{keys: make([]string, states)}
	for i := range branching {
		e.cands = append(e.cands, Candidate{Tactic: "tac" + strconv.Itoa(i), Score: -0.1 - float64(i)/float64(branching)})
	}
	for i := range e.keys {
		e.keys[i] = "goal " + strconv.Itoa(i)
	}
	return e
}

func (e *benchEnv) Candidates(context.Context, State, []string) ([]Candidate, error) {
	return e.cands, nil
}

func (e *benchEnv) Apply(context.Context, State, string, time.Duration) (Step, error) {
	e.next++
	return Step{Status: Open, State: State{ID: StateID(e.next), Key: e.keys[e.next]}}, nil
}

// BenchmarkExpansion measures the search's own cost per expansion (the Env
// is free): Llemma's budget, 100 expansions of 32 fresh children each.
func BenchmarkExpansion(b *testing.B) {
	const branching, expansions = 32, 100
	cfg := Config{Expansions: expansions, Samples: branching, TacticTimeout: time.Second}
	env := newBenchEnv(branching, 1+branching*expansions+1)
	ctx := context.Background()
	var before, after runtime.MemStats
	var exps, nodes int
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for b.Loop() {
		env.next = 0
		res := Run(ctx, env, State{ID: 0, Key: env.keys[0]}, cfg)
		if res.Outcome != OutcomeBudget {
			b.Fatalf("outcome %s", res.Outcome)
		}
		exps += res.Expansions
		nodes += len(res.Trace.Nodes)
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(exps), "ns/expansion")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(nodes), "B/node")
	b.ReportMetric(float64(nodes)/float64(b.N), "nodes/op")
}
