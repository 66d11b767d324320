package benchmarks

import (
	"fmt"
	"strings"
	"testing"
)

func res(name, status string, attempt int) Result {
	return Result{Name: name, Split: "test", Backend: "coq", Proposer: "portfolio", Status: status, Attempt: attempt, Statement: "S " + name}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	a := []Result{res("a", "proved", 0), res("b", "interrupted", 0), res("c", "failed", 0)}
	b := []Result{res("b", "failed", 0), res("c", "proved", 0), res("a", "proved", 0)}
	b[2].Proof = []string{"other."} // a different proof is fine
	d := res("d", "proved", 0)
	d.Statement = "S changed"
	c := []Result{res("d", "failed", 0), d}
	meta := &Meta{RunID: "r1", Sessions: []Session{{Split: "test", Theorems: []string{"a", "b", "c", "d", "e"}}}}
	m := Merge([]MergeInput{{Path: "a", Results: a, Meta: meta}, {Path: "b", Results: b}, {Path: "c", Results: c}}, nil)
	got := map[string]string{}
	for _, r := range m.Results {
		got[r.Name] = r.Status
	}
	want := map[string]string{"a": "proved", "b": "failed", "c": "proved", "d": "proved"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("merged verdicts %v, want %v", got, want)
	}
	kinds := map[string]int{}
	for _, c := range m.Conflicts {
		kinds[c.Kind]++
	}
	if kinds["statement"] != 1 || kinds["verdict"] != 2 { // c: failed vs proved, d: failed vs proved
		t.Errorf("conflicts %v", m.Conflicts)
	}
	if fmt.Sprint(m.Missing) != "[test/e]" || m.Expected != 5 {
		t.Errorf("missing %v of %d, want [test/e] of 5", m.Missing, m.Expected)
	}
	if m.Duplicates != 4 {
		t.Errorf("duplicates %d, want 4", m.Duplicates)
	}
}

// Missing theorems are counted against the run's own theorem lists: a
// --limit run is complete with its own theorems; an attempt of pass@k
// without a verdict is named; a shard that no input ran is missing, with
// its theorems when the benchmark's names are known; an error line is no
// verdict.
func TestMergeMissing(t *testing.T) {
	t.Parallel()
	universe := map[string][]string{"test": {"t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"}}
	shardOf := func(i, n int) []string {
		var out []string
		for _, name := range universe["test"] {
			if (Shard{Index: i, Count: n}).Has(name) {
				out = append(out, name)
			}
		}
		return out
	}
	var inputs []MergeInput
	for _, i := range []int{0, 2} { // shard 1/3 never ran
		thms := shardOf(i, 3)
		var rs []Result
		for _, n := range thms {
			rs = append(rs, res(n, "failed", 0))
		}
		inputs = append(inputs, MergeInput{Path: fmt.Sprint(i), Results: rs, Meta: &Meta{RunID: fmt.Sprint("r", i),
			Sessions: []Session{{Split: "test", Shard: fmt.Sprintf("%d/3", i), Attempts: 1, Theorems: thms}}}})
	}
	m := Merge(inputs, nil)
	if fmt.Sprint(m.MissingShards) != "[test 1/3]" || len(m.Missing) != 0 {
		t.Errorf("without names: missing shards %v, theorems %v; want [test 1/3] and none", m.MissingShards, m.Missing)
	}
	m = Merge(inputs, universe)
	if strings.Join(m.Missing, ",") != "test/"+strings.Join(shardOf(1, 3), ",test/") || m.Expected != 10 {
		t.Errorf("with names: missing %v of %d, want shard 1/3's %v of 10", m.Missing, m.Expected, shardOf(1, 3))
	}

	// A --limit 2 run with 2 attempts: its own two theorems, not the split.
	meta := &Meta{RunID: "lim", Sessions: []Session{{Split: "test", Attempts: 2, Theorems: []string{"t0", "t1"}}}}
	rs := []Result{res("t0", "proved", 0), res("t0", "failed", 1), res("t1", "failed", 0), res("t1", "error", 1)}
	m = Merge([]MergeInput{{Path: "lim", Results: rs, Meta: meta}}, universe)
	if len(m.Missing) != 0 || fmt.Sprint(m.MissingAttempts) != "[test/t1#1]" || m.Expected != 2 {
		t.Errorf("limit run: missing %v, attempts %v, expected %d; want none, [test/t1#1], 2", m.Missing, m.MissingAttempts, m.Expected)
	}
	// No header at all: the benchmark is the expected set.
	m = Merge([]MergeInput{{Path: "bare", Results: rs}}, universe)
	if len(m.Missing) != 8 || m.Expected != 10 {
		t.Errorf("no header: missing %d of %d, want 8 of 10", len(m.Missing), m.Expected)
	}
}

// Inputs run with different verdict configs are a conflict.
func TestMergeConfigConflict(t *testing.T) {
	t.Parallel()
	a := &Meta{RunID: "a", Verdict: map[string]string{"tactic-timeout": "3s"}}
	b := &Meta{RunID: "b", Verdict: map[string]string{"tactic-timeout": "10s"}}
	m := Merge([]MergeInput{{Path: "a", Results: []Result{res("x", "proved", 0)}, Meta: a}, {Path: "b", Results: []Result{res("y", "failed", 0)}, Meta: b}}, nil)
	if len(m.Conflicts) != 1 || m.Conflicts[0].Kind != "config" || !strings.Contains(m.Conflicts[0].String(), `tactic-timeout "3s" -> "10s"`) {
		t.Errorf("conflicts %v", m.Conflicts)
	}
}
