package prover

import (
	"context"
	"time"
)

// Candidate is one proposed tactic with its model score.
type Candidate struct {
	Tactic string
	// Score is the mean token log-probability (<= 0; higher is better).
	// Search priority adds -Score along the path, as in Llemma.
	Score float64
	// LogProb is the summed token log-probability, Tokens the token count
	// (zero for proposers that have no tokens).
	LogProb float64
	Tokens  int
	// Timeout, when positive, shortens the per-tactic deadline for this
	// candidate (heavy decision procedures get short leashes).
	Timeout time.Duration
}

// ProposalRequest asks for candidate tactics on one state.
type ProposalRequest struct {
	Theorem Theorem
	State   State
	// Path is the tactic list from the root to State (informational).
	Path []string
	N    int // how many candidates are wanted at most
}

// Proposer produces candidate tactics. Its output is untrusted.
type Proposer interface {
	Name() string
	Propose(ctx context.Context, req ProposalRequest) ([]Candidate, error)
}

type speculationKey struct{}

// WithSpeculation marks ctx as a speculative proposal's: one the search
// asked for ahead of need, which it may drop (cancelling ctx). Proposers
// that count their cost count these apart (Speculative).
func WithSpeculation(ctx context.Context) context.Context {
	return context.WithValue(ctx, speculationKey{}, true)
}

// Speculative reports whether ctx is a speculative proposal's
// (WithSpeculation).
func Speculative(ctx context.Context) bool {
	v, _ := ctx.Value(speculationKey{}).(bool)
	return v
}
