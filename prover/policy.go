package prover

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

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

// Reject returns a *Rejection of rule with a formatted detail, for the
// policies that live in backend packages.
func Reject(rule, format string, args ...any) error {
	return &Rejection{Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

func reject(rule, format string, args ...any) error { return Reject(rule, format, args...) }

// DefaultMaxTactic is the longest tactic, in bytes, a policy accepts
// unless configured otherwise.
const DefaultMaxTactic = 2000

// TrimTactic applies the checks every policy shares and returns the text
// without outer white space: not empty, at most max bytes (DefaultMaxTactic
// when max is 0), valid UTF-8, no control character but newline and tab. A failed
// check is a *Rejection (rules "empty", "too-long", "encoding").
func TrimTactic(tactic string, max int) (string, error) {
	if max <= 0 {
		max = DefaultMaxTactic
	}
	t := strings.TrimSpace(tactic)
	switch {
	case t == "":
		return "", reject("empty", "no tactic text")
	case len(t) > max:
		return "", reject("too-long", "%d bytes (limit %d)", len(t), max)
	case !utf8.ValidString(t):
		return "", reject("encoding", "not valid UTF-8")
	}
	for _, r := range t {
		if r != '\n' && r != '\t' && unicode.IsControl(r) {
			return "", reject("encoding", "control character %U", r)
		}
	}
	return t, nil
}

func trimmed(tactic string, max int) (string, error) { return TrimTactic(tactic, max) }
