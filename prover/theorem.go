package prover

import (
	"strings"
	"time"
)

// Theorem is one benchmark problem as its proof assistant states it.
type Theorem struct {
	Name    string // declaration name, e.g. mathd_algebra_141
	Split   string // benchmark split: test or valid ("" outside a benchmark)
	Backend string // coq, lean or isabelle
	// Header is every line of the source before the statement: imports,
	// options, auxiliary definitions. It is kept byte for byte.
	Header string
	// Statement is the theorem's statement exactly as the source gives it,
	// up to (not including) the proof.
	Statement string
	Path      string // the file it was read from, for messages
}

// StateID names a proof state inside one Session. IDs are never reused
// within a session, survive process restarts (the session replays), and mean
// nothing outside the session that issued them.
type StateID uint64

// State is an open proof state.
type State struct {
	ID StateID
	// Goals holds one canonical text per open goal, hypotheses included,
	// with process-specific noise (such as Coq's "(ID 12)") removed. Two
	// states with equal Goals are the same state for search.
	Goals []string
	// Text is the state as the proof assistant prints it: what a model sees.
	Text string
}

// Key is the canonical identity of the state's goals.
func (s State) Key() string { return strings.Join(s.Goals, "\n\x00\n") }

// StepStatus classifies what one tactic did.
type StepStatus uint8

const (
	// StepFailed: the prover rejected the tactic; the state is unchanged.
	StepFailed StepStatus = iota
	// StepOpen: the tactic succeeded and goals remain.
	StepOpen
	// StepProved: the tactic succeeded and the prover reports the proof
	// complete by the backend's strict criterion.
	StepProved
	// StepTimeout: the tactic ran past its deadline and was killed.
	StepTimeout
	// StepRejected: the tactic policy refused the text; nothing was sent.
	StepRejected
)

var stepNames = [...]string{"failed", "open", "proved", "timeout", "rejected"}

func (s StepStatus) String() string {
	if int(s) < len(stepNames) {
		return stepNames[s]
	}
	return "unknown"
}

// StepResult is the outcome of one tactic on one state.
type StepResult struct {
	Status  StepStatus
	State   State  // the new state for StepOpen; no goals for StepProved
	Message string // the prover's message for a failure
	Elapsed time.Duration
}
