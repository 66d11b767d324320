package search_test

import (
	"context"
	"fmt"
	"time"

	"github.com/llemma-prove/llemma-prove/search"
)

// tinyEnv proves "a + 0 = a" two ways: "lia" fails, "rewrite ..." then
// "reflexivity" works.
type tinyEnv struct{}

func (tinyEnv) Candidates(_ context.Context, s search.State, _ []string) ([]search.Candidate, error) {
	switch s.Key {
	case "a + 0 = a":
		return []search.Candidate{
			{Tactic: "lia.", Score: -0.2},
			{Tactic: "rewrite Nat.add_0_r.", Score: -0.5},
		}, nil
	case "a = a":
		return []search.Candidate{{Tactic: "reflexivity.", Score: -0.1}}, nil
	}
	return nil, nil
}

func (tinyEnv) Apply(_ context.Context, s search.State, tactic string, _ time.Duration) (search.Step, error) {
	switch {
	case s.Key == "a + 0 = a" && tactic == "rewrite Nat.add_0_r.":
		return search.Step{Status: search.Open, State: search.State{ID: 2, Key: "a = a"}}, nil
	case s.Key == "a = a" && tactic == "reflexivity.":
		return search.Step{Status: search.Proved}, nil
	}
	return search.Step{Status: search.Failed, Detail: "cannot find witness"}, nil
}

func Example() {
	root := search.State{ID: 1, Key: "a + 0 = a"}
	res := search.Run(context.Background(), tinyEnv{}, root, search.DefaultConfig())
	fmt.Println(res.Outcome, res.Proof)
	fmt.Println("expansions:", res.Expansions, "tactics checked:", res.TacticChecks)
	for _, e := range res.Trace.Edges {
		fmt.Printf("%d -> %d %s %s\n", e.From, e.To, e.Tactic, e.Outcome)
	}
	// Output:
	// proved [rewrite Nat.add_0_r. reflexivity.]
	// expansions: 2 tactics checked: 3
	// 0 -> -1 lia. failed
	// 0 -> 1 rewrite Nat.add_0_r. open
	// 1 -> -1 reflexivity. proved
}
