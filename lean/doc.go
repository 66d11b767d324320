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
//   - supervised processes (process.go): own process group, RLIMIT_AS,
//     per-request wall deadline that kills the group, stderr tail, RSS;
//   - a warm pool keyed by the import header (pool.go): each process runs
//     the header once and serves theorems on its env, recycled after N
//     requests or above an RSS threshold, restarted lazily with capped
//     backoff;
//   - sessions (session.go): search branches on REPL proofState ids, tagged
//     with the process generation, and rebuilt by replaying the tactic path
//     after a restart;
//   - final verification (verify.go): the whole proof re-checked in command
//     mode on a process that did not run the search, with an axiom audit;
//   - the miniF2F loader (loader.go) and the doctor (doctor.go).
package lean
