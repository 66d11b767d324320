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
