package coq

// SetTimeoutSlack makes the Coq-side Timeout of every tactic larger than its
// wall deadline by slack seconds, so a test can play a tactic that ignores
// Coq's Timeout (as vm_compute does) with an ordinary loop.
func SetTimeoutSlack(n int) (reset func()) {
	old := timeoutSlack
	timeoutSlack = n
	return func() { timeoutSlack = old }
}
