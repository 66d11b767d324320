package benchmarks

import (
	"fmt"
	"sort"

	"github.com/llemma-prove/llemma-prove/prover"
)

// MergeInput is one results file to merge.
type MergeInput struct {
	Path    string
	Results []Result
	Meta    *Meta // its OUT.meta.json, when there is one
}

// Conflict is a disagreement between inputs that merge reports.
type Conflict struct {
	Key    Key    `json:"key"`
	Kind   string `json:"kind"` // statement, verdict, config
	Detail string `json:"detail"`
}

func (c Conflict) String() string { return fmt.Sprintf("%s: %s: %s", c.Kind, c.Key, c.Detail) }

// MergeResult is the merged run.
type MergeResult struct {
	Results    []Result
	Conflicts  []Conflict
	Duplicates int // lines dropped as duplicates of a key
	// Missing lists the expected theorems (split/name) with no verdict.
	Missing []string
}

// Merge keeps one result per (name, split, backend, attempt): a proof over
// a failure over an error over an interruption, the first among equals.
// Two different proofs of a theorem are fine; a proof of a different
// statement, or inputs that disagree (proved in one, failed in another),
// are reported as conflicts. expected (split -> names), when given, lists
// the theorems the merged run should cover; otherwise the inputs' headers
// (OUT.meta.json, theorems of every session) are used.
func Merge(inputs []MergeInput, expected map[string][]string) MergeResult {
	var res MergeResult
	type seen struct {
		r    Result
		path string
	}
	best := map[Key]seen{}
	var order []Key
	verdicts := map[Key]map[string]string{} // key -> final status -> first path
	stmts := map[[3]string]seen{}           // (backend, split, name) -> first line with a statement
	for _, in := range inputs {
		for _, r := range in.Results {
			k := r.Key()
			if r.Statement != "" {
				sk := [3]string{r.Backend, r.Split, r.Name}
				if s, ok := stmts[sk]; !ok {
					stmts[sk] = seen{r, in.Path}
				} else if s.r.Statement != r.Statement {
					res.Conflicts = append(res.Conflicts, Conflict{Key: k, Kind: "statement",
						Detail: fmt.Sprintf("%s (%s in %s) and %s (%s in %s) state the theorem differently", s.r.Status, k, s.path, r.Status, k, in.Path)})
				}
			}
			if r.Final() && r.Status != string(prover.StatusError) {
				v := verdicts[k]
				if v == nil {
					v = map[string]string{}
					verdicts[k] = v
				}
				if _, ok := v[r.Status]; !ok {
					v[r.Status] = in.Path
				}
			}
			cur, ok := best[k]
			if !ok {
				best[k] = seen{r, in.Path}
				order = append(order, k)
				continue
			}
			res.Duplicates++
			if Better(r, cur.r) {
				best[k] = seen{r, in.Path}
			}
		}
	}
	for _, k := range order {
		res.Results = append(res.Results, best[k].r)
		v := verdicts[k]
		if p, ok := v[string(prover.StatusProved)]; ok && len(v) > 1 {
			var others []string
			for st, path := range v {
				if st != string(prover.StatusProved) {
					others = append(others, fmt.Sprintf("%s in %s", st, path))
				}
			}
			sort.Strings(others)
			res.Conflicts = append(res.Conflicts, Conflict{Key: k, Kind: "verdict",
				Detail: fmt.Sprintf("proved in %s, %v (kept the proof)", p, others)})
		}
	}
	SortResults(res.Results)
	// Configs: inputs of one experiment share their verdict config.
	var first *MergeInput
	for i := range inputs {
		in := &inputs[i]
		if in.Meta == nil {
			continue
		}
		if first == nil {
			first = in
			continue
		}
		if d := DiffVerdict(first.Meta.Verdict, in.Meta.Verdict); len(d) > 0 {
			res.Conflicts = append(res.Conflicts, Conflict{Kind: "config",
				Detail: fmt.Sprintf("%s and %s were run with different configs: %v", first.Path, in.Path, d)})
		}
	}
	if expected == nil {
		for _, in := range inputs {
			if in.Meta == nil {
				continue
			}
			for _, s := range in.Meta.Sessions {
				if expected == nil {
					expected = map[string][]string{}
				}
				expected[s.Split] = append(expected[s.Split], s.Theorems...)
			}
		}
	}
	have := map[[2]string]bool{}
	for _, r := range res.Results {
		if r.Final() {
			have[[2]string{r.Split, r.Name}] = true
		}
	}
	missing := map[string]bool{}
	for split, names := range expected {
		for _, n := range names {
			if !have[[2]string{split, n}] {
				missing[split+"/"+n] = true
			}
		}
	}
	for m := range missing {
		res.Missing = append(res.Missing, m)
	}
	sort.Strings(res.Missing)
	return res
}
