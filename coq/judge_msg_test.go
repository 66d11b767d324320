package coq

import (
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/prover"
)

// A rejection keeps coqc's location line even when a long goal context
// pushes it out of the tail (a repair round needs the line of the error).
func TestCoqcErrorKeepsTheLocation(t *testing.T) {
	loc := `File "./Sol/Solution.v", line 7, characters 2-9:`
	var env []string
	for i := range 30 {
		env = append(env, "h"+strings.Repeat("x", i%5)+" : 0 <= 1")
	}
	long := "Warning: x\n" + loc + "\nError:\nIn environment\n" + strings.Join(env, "\n") + "\nUnable to unify \"1\" with \"2\".\n"
	msg := coqcError(long)
	if !strings.HasPrefix(msg, loc) || !strings.Contains(msg, `Unable to unify "1" with "2".`) {
		t.Errorf("long error: %q, want the location and the last lines", msg)
	}
	// What a repair round is given keeps it too, whether or not the
	// tail starts at the error line.
	atError := "Warning: x\n" + strings.Join(env, "\n") + "\n" + loc + "\nError:\n" + strings.Join(env[:7], "\n")
	for _, out := range []string{long, atError} {
		if fe := prover.FirstError("coqc rejected the file: " + coqcError(out)); !strings.Contains(fe, "line 7") {
			t.Errorf("FirstError dropped the location: %q", fe)
		}
	}
	short := loc + "\nError: The reference foo was not found in the current environment.\n"
	if got := coqcError(short); strings.Count(got, "line 7") != 1 || !strings.Contains(got, "foo was not found") {
		t.Errorf("short error: %q, want it whole, the location once", got)
	}
	if got := coqcError("Error: Syntax error: '.' expected.\n"); got != "Error: Syntax error: '.' expected." {
		t.Errorf("no location: %q", got)
	}
}
