package prover

// Check is one line of `llemma-prove doctor`: whether a tool is usable,
// and the command that fixes it when it is not.
type Check struct {
	Name   string // e.g. "coqtop", "lean repl", "model endpoint"
	OK     bool
	Detail string // version found, or what is wrong
	Fix    string // the command or setting that fixes it
	// Optional marks a check whose failure costs a feature or some
	// theorems (an optional library), not the backend: the run's
	// pre-flight warns about it instead of refusing to start.
	Optional bool
}
