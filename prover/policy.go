package prover

import "fmt"

// Policy decides what untrusted tactic text may reach a proof assistant.
// Check returns the tactic in the form the backend sends (for Coq: one
// sentence ending in a period) or a *Rejection.
type Policy interface {
	Check(tactic string) (string, error)
}

// Rejection says why a policy refused a tactic.
type Rejection struct {
	Rule   string // short stable name of the rule, e.g. "vernacular"
	Detail string
}

func (r *Rejection) Error() string {
	if r.Detail == "" {
		return "tactic rejected: " + r.Rule
	}
	return fmt.Sprintf("tactic rejected: %s: %s", r.Rule, r.Detail)
}

func reject(rule, format string, args ...any) error {
	return &Rejection{Rule: rule, Detail: fmt.Sprintf(format, args...)}
}
