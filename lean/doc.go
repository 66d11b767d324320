// Package lean is the Lean 4 backend of llemma-prove. It drives the
// leanprover-community REPL (`lake env repl`) over its stdio protocol:
// one JSON request followed by a blank line, one pretty-printed JSON
// response followed by a blank line, strictly one request in flight per
// process.
//
// The pieces, bottom up:
//
//   - the wire client (protocol.go): typed requests and responses for every
//     request kind the REPL accepts, the framing rules, the exact error
//     strings, and the step rule (a step closes the proof only when it
//     carries no top-level message, no error-severity message, no goals and
//     proofStatus "Completed");
//   - REPL processes on internal/proc (process.go): proc.Start gives each
//     its own process group, RLIMIT_AS from its first instruction, the
//     parent-death signal, a stderr tail and RSS; every request runs under
//     Process.Do, which kills the group at the request's deadline (its own
//     limit or the caller's, whichever comes first: a *DeadlineError with
//     the real durations);
//   - a warm proc.Pool keyed by the import header (pool.go): each process
//     runs the header once and serves theorems on its env, recycled after
//     N requests or above an RSS threshold, restarted lazily after a
//     proc.Backoff; REPL failures (deaths, garbage, floods, failed starts)
//     are counted, and MaxFailures of them in a row make the backend
//     broken (prover.ErrBackendBroken with the last stderr tail);
//   - sessions (session.go): search branches on REPL proofState ids, tagged
//     with the process generation, and rebuilt by replaying the tactic path
//     after a restart;
//   - final verification (verify.go, scan.go, tool.go; VERIFY.md says what
//     it guarantees): challenge vs solution, never on a REPL. The file is
//     tokenised and refused if it would run its own code at compile or
//     import time, escape the kernel, reach the system or declare global
//     syntax; then fresh lean processes (internal/proc, sandboxed by
//     internal/sandbox) compile the challenge alone (the
//     statement with sorry, in namespace LlemmaChallenge), the solution as
//     module LlemmaSolution, and a harness-written file that imports both
//     and has the kernel check that _root_.NAME has the challenge's type,
//     and lists its axioms by full name for the allow-list;
//   - the miniF2F loader (loader.go) and the doctor (doctor.go).
package lean
