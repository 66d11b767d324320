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
	// ErrBackendBroken: the backend's processes fail to start or keep
	// dying (a crash loop); it refuses further work at once instead of
	// spending every theorem's budget on it. The error also carries the
	// last failure (with the process's stderr tail).
	ErrBackendBroken = errors.New("prover: backend broken")
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

// Verifier is the final-verification contract, the same for every caller
// (the minif2f runner, check, prove, the bridge). Nothing reported as
// proved is trusted before Verify says so.
//
// The design is challenge vs solution, as the most trusted judges do it
// (Lean FRO's comparator, SafeVerify, coqchk): the expected statement (the
// challenge) is compiled alone, by the harness, in a clean directory; the
// user's file (the solution) is compiled as its own module in a fresh,
// sandboxed process; a third clean step, which imports neither file's
// notations, requires the solution's top-level constant to have the
// challenge's type; and the axioms it depends on are read from the kernel
// by full name and audited against an allow-list.
type Verifier interface {
	// Assemble returns the complete source file proving thm with proof:
	// the header and the statement exactly as given, then the tactics.
	Assemble(thm Theorem, proof []string) string
	// Verify judges req.Solution. A rejected file is a Verification with
	// Verified false and a Message; an error means the check could not be
	// run (a missing tool, a dead process, a cancelled ctx).
	Verify(ctx context.Context, req VerifyRequest) (Verification, error)
}

// VerifyRequest is one file to judge.
type VerifyRequest struct {
	// Name is the theorem the solution must prove, declared at the top
	// level of the file (not inside a module or namespace).
	Name string
	// Challenge, when set, is the expected statement: its Header and
	// Statement are compiled alone (trusted) and the solution's constant
	// must have exactly that type. Without it the verdict says what was
	// proved: the constant's full name, its type and its axioms.
	Challenge *Theorem
	// Solution is the complete source file under judgement (untrusted).
	Solution string
	// AllowAxioms names axioms, by full name, accepted beyond the
	// backend's allow-list (the CLI's --allow-axiom).
	AllowAxioms []string
}

// Verification is the verdict of a whole-file check.
type Verification struct {
	Verified bool
	// Constant is the judged constant's fully qualified name, as the
	// checker's kernel names it (e.g. LlemmaSolution.Solution.thm).
	Constant string
	// Type is the constant's statement as the prover prints it in a clean
	// context that imports no notation of the solution.
	Type string
	// Axioms lists, by full name, every axiom the constant depends on.
	Axioms []string
	// Disallowed lists the axioms outside the allow-list, and the file's
	// own axioms (then Verified is false).
	Disallowed []string
	// Refused is set when the file was not compiled at all because it
	// reaches outside its sandbox (writes files, loads code, changes the
	// load path); Message says which sentence.
	Refused bool
	Message string // why the file was not verified
	// Sandbox says what confined the checker processes, e.g.
	// "landlock ABI 7" or "none: kernel without Landlock".
	Sandbox string
	Elapsed time.Duration
}
