// Package prover is the shared vocabulary of llemma-prove and its agent.
//
// A Theorem is a benchmark statement in one proof assistant's syntax. A
// Backend owns live proof-assistant processes; Open gives a Session on one
// theorem, whose states are addressed by StateID and extended one tactic at a
// time with Apply. A failed tactic is data (a StepResult), never an error:
// errors mean the machinery failed.
//
// Nothing found by search is trusted. A Policy rejects untrusted tactic text
// before it reaches a prover, and a Verifier re-checks every claimed proof as
// a whole file in a fresh process with an axiom audit. The Agent wires a
// Proposer and a Backend into the best-first search of package search and
// reports an Outcome only after that final check.
package prover
