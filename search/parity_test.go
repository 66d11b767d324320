package search

import (
	"context"
	"testing"
)

// In Llemma-parity mode equal states reached by two paths are two nodes,
// each expanded; a state equal to an expanded one is dropped as visited;
// and a root whose children all failed is not "root-failed": the search
// runs until the frontier empties, as proofsearch.py does.
func TestLlemmaParity(t *testing.T) {
	t.Parallel()
	cands := map[string][]Candidate{
		"R": {c("a", -0.1), c("b", -0.2), c("back", -0.3)},
		"S": {c("x", -0.1)},
	}
	moves := map[string]move{
		"R|a":    to("S"),
		"R|b":    to("S"),
		"R|back": to("R"), // equal to the root, which was expanded
		"S|x":    fails("failed"),
	}

	merged := newEnv(cands, moves)
	res := runEnv(t, context.Background(), merged, Config{Expansions: 10})
	if res.Outcome != OutcomeRootFailed || res.Expansions != 2 {
		t.Fatalf("merging: outcome %s after %d expansions; want root-failed after 2", res.Outcome, res.Expansions)
	}

	parity := newEnv(cands, moves)
	res = Run(context.Background(), parity, parity.state("R"), Config{Expansions: 10, LlemmaParity: true})
	if res.Outcome != OutcomeExhausted {
		t.Fatalf("parity: outcome %s; want exhausted (no failure propagation)", res.Outcome)
	}
	if res.Expansions != 3 || len(res.Trace.Nodes) != 3 {
		t.Fatalf("parity: %d expansions, %d nodes; want S expanded twice as two nodes (3, 3)", res.Expansions, len(res.Trace.Nodes))
	}
	visited := 0
	for _, e := range res.Trace.Edges {
		if e.Outcome == "visited" {
			visited++
			if e.Tactic != "back" {
				t.Errorf("visited edge %q", e.Tactic)
			}
		}
	}
	if visited != 1 {
		t.Errorf("%d visited edges, want 1", visited)
	}
	// The parity search still returns proofs, and the shortest one.
	moves2 := map[string]move{"R|a": to("S"), "R|b": to("S"), "S|x": proves()}
	e := newEnv(cands, moves2)
	res = Run(context.Background(), e, e.state("R"), Config{LlemmaParity: true})
	if res.Outcome != OutcomeProved || len(res.Proof) != 2 || res.Proof[0] != "a" {
		t.Fatalf("parity proof: %s %v", res.Outcome, res.Proof)
	}
}
