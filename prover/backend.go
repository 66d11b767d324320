package prover

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors shared by the backends.
var (
	// ErrProcessDied: a proof-assistant process exited or stopped answering.
	ErrProcessDied = errors.New("prover: process died")
	// ErrUnavailable: the backend's tools are not installed or not reachable.
	ErrUnavailable = errors.New("prover: backend unavailable")
	// ErrClosed: the backend or session was closed.
	ErrClosed = errors.New("prover: closed")
	// ErrLoad: the theorem's header or statement did not load.
	ErrLoad = errors.New("prover: theorem did not load")
	// ErrTacticTimeout is the context cause of a tactic past its deadline.
	ErrTacticTimeout = errors.New("prover: tactic timed out")
)

// ExitError reports a dead process with what it last said on stderr.
type ExitError struct {
	Backend    string
	Err        error  // exit status or the reason the process was killed
	StderrTail string // the last bytes the process wrote to stderr
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s process died: %v", e.Backend, e.Err)
	if e.StderrTail != "" {
		msg += "; stderr tail: " + e.StderrTail
	}
	return msg
}

func (e *ExitError) Unwrap() []error { return []error{ErrProcessDied, e.Err} }

// Session is one theorem opened on a live proof-assistant process.
// A Session is used by one goroutine at a time.
type Session interface {
	// Root is the theorem's initial state.
	Root() State
	// Apply runs one tactic on a state this session issued. A tactic that
	// fails, times out or is refused is a StepResult; an error means the
	// session cannot go on (the process could not be restored).
	Apply(ctx context.Context, from StateID, tactic string, timeout time.Duration) (StepResult, error)
	// Close releases the process. It is safe to call twice.
	Close() error
}

// Backend owns the processes of one proof assistant.
type Backend interface {
	Name() string
	// Open loads thm on a live process and returns its session.
	Open(ctx context.Context, thm Theorem) (Session, error)
	// Policy is the tactic policy for untrusted proposals on this backend.
	Policy() Policy
	Verifier
	// Close stops every process of the backend.
	Close() error
}

// Verifier is the final-verification contract. A proof found by search
// counts only after Verify reports it verified: the assembled file is
// checked whole, in a fresh process that did not run the search, and the
// axioms the theorem depends on are audited against an allow-list.
type Verifier interface {
	// Assemble returns the complete source file proving thm with proof:
	// the header and the statement exactly as given, then the tactics.
	Assemble(thm Theorem, proof []string) string
	// ProofOf extracts the tactic list from a complete file whose header and
	// statement must be exactly thm's. It fails on anything else, so that
	// Verify(thm, Assemble(thm, ProofOf(file))) proves exactly thm.
	ProofOf(thm Theorem, fileText string) ([]string, error)
	// Verify checks fileText, a complete source file declaring thm.Name.
	// A rejected proof is a Verification with Verified false; error means
	// the check could not be run.
	Verify(ctx context.Context, thm Theorem, fileText string) (Verification, error)
}

// Verification is the verdict of a whole-file check.
type Verification struct {
	Verified bool
	// Axioms lists every axiom thm.Name depends on, as the prover names them.
	Axioms []string
	// Disallowed lists the axioms outside the allow-list (then Verified is false).
	Disallowed []string
	Message    string // why the file was not verified
	Elapsed    time.Duration
}
