package prover

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// testPolicy stands in for a backend's tactic policy in this package's
// tests (the real ones live with their backends, which import prover): one
// sentence starting with a lowercase word, nothing that gives up a goal,
// no comment, string, bullet, brace or prompt markup; it appends the final
// period. The Coq policy's own tests (coq/policy_test.go) cover the real
// rules; the agent tests only need a policy that refuses the cheats.
type testPolicy struct{}

var testPolicyForbidden = regexp.MustCompile(`\b(admit|give_up|Admitted|Abort|Qed)\b|_no_check|\(\*|\*\)|"|<prompt>|\.\.|\.\s`)

func (testPolicy) Check(tactic string) (string, error) {
	t, err := TrimTactic(tactic, 0)
	if err != nil {
		return "", err
	}
	if m := testPolicyForbidden.FindString(t); m != "" {
		return "", Reject("test-policy", "%q", m)
	}
	if first, _ := utf8.DecodeRuneInString(t); !unicode.IsLower(first) {
		return "", Reject("test-policy", "not a tactic: %q", t)
	}
	if !strings.HasSuffix(t, ".") {
		t += "."
	}
	return t, nil
}
