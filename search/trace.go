package search

import "time"

// Trace records the search graph: every node created and every tactic tried.
type Trace struct {
	Nodes   []TraceNode   `json:"nodes"`
	Edges   []TraceEdge   `json:"edges"`
	Elapsed time.Duration `json:"elapsed_ns"`
}

// TraceNode is one proof state of the search graph.
type TraceNode struct {
	ID          int           `json:"id"`
	Key         string        `json:"state"`
	Depth       int           `json:"depth"`
	Cost        float64       `json:"cost"`
	Parent      int           `json:"parent"`           // the parent on the cheapest known path; -1 for the root
	Status      string        `json:"status,omitempty"` // "", proved, failed or exhausted
	Expanded    bool          `json:"expanded"`
	CreatedAt   time.Duration `json:"created_ns"`
	ExpandedAt  time.Duration `json:"expanded_ns,omitempty"`
	ProposeTime time.Duration `json:"propose_ns,omitempty"`
}

// TraceEdge is one tactic tried on a node.
type TraceEdge struct {
	From    int           `json:"from"`
	To      int           `json:"to"` // -1 unless the tactic led to a state
	Tactic  string        `json:"tactic"`
	Score   float64       `json:"score"`
	Outcome string        `json:"outcome"` // open, merged, visited, no-progress, proved, failed, timeout, rejected, error
	Detail  string        `json:"detail,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns"`
}
