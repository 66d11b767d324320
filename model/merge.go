package model

import (
	"context"
	"fmt"
	"sort"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Merge returns a proposer that asks a and b and interleaves their
// candidates by score, keeping one copy of each tactic with the best score
// of the two. A tactic both propose keeps a's deadline (a is the proposer
// whose leashes were measured, such as the portfolio), unless a gave none.
// Its name is a.Name()+"+"+b.Name(), e.g. "portfolio+knn".
func Merge(a, b prover.Proposer) prover.Proposer { return &merged{a: a, b: b} }

type merged struct{ a, b prover.Proposer }

func (m *merged) Name() string { return m.a.Name() + "+" + m.b.Name() }

// Propose asks both proposers; an error from either is the call's error.
func (m *merged) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	ca, err := m.a.Propose(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.a.Name(), err)
	}
	cb, err := m.b.Propose(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.b.Name(), err)
	}
	out := make([]prover.Candidate, 0, len(ca)+len(cb))
	idx := make(map[string]int, len(ca)+len(cb))
	fromA := map[string]bool{}
	for li, list := range [][]prover.Candidate{ca, cb} {
		for _, c := range list {
			i, ok := idx[c.Tactic]
			if !ok {
				idx[c.Tactic] = len(out)
				fromA[c.Tactic] = li == 0
				out = append(out, c)
				continue
			}
			if c.Score <= out[i].Score {
				continue
			}
			timeout := out[i].Timeout
			if !fromA[c.Tactic] || timeout <= 0 {
				timeout = c.Timeout
			}
			out[i] = c
			out[i].Timeout = timeout
		}
	}
	// Stable: among equal scores a's order, then b's.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if req.N > 0 && len(out) > req.N {
		out = out[:req.N]
	}
	return out, nil
}

// ModelVersions returns the model versions of both merged proposers.
func (m *merged) ModelVersions() map[string]string {
	out := ModelVersions(m.a)
	for k, v := range ModelVersions(m.b) {
		out[k] = v
	}
	return out
}
