package benchmarks

import (
	"fmt"
	"sort"
	"strings"

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
	Kind   string `json:"kind"` // statement, verdict, config, mode
	Detail string `json:"detail"`
}

func (c Conflict) String() string {
	if c.Key == (Key{}) {
		return fmt.Sprintf("%s: %s", c.Kind, c.Detail)
	}
	return fmt.Sprintf("%s: %s: %s", c.Kind, c.Key, c.Detail)
}

// MergeResult is the merged run.
type MergeResult struct {
	Results    []Result
	Conflicts  []Conflict
	Duplicates int // lines dropped as duplicates of a key
	// Missing lists the expected theorems (split/name) with no verdict on
	// any of their attempts: never run, or only error or interrupted.
	Missing []string
	// MissingAttempts lists the expected attempts (split/name#k) without a
	// verdict, of theorems that have one on another attempt.
	MissingAttempts []string
	// MissingShards lists the shards (i/N, by split) that no input ran,
	// when the inputs' sessions ran some shards of N.
	MissingShards []string
	// Expected is the number of theorems the merged run should cover.
	Expected int
}

// Merge keeps one result per (name, split, backend, attempt): a proof over
// a failure over an error over an interruption, the first among equals.
// Two different proofs of a theorem are fine; a proof of a different
// statement, inputs that disagree (proved in one, failed in another),
// lines of different proof modes and inputs run with different verdict
// configs are conflicts.
//
// The theorems the merged run should cover are the run's own: the
// theorems (and attempts) each session of the inputs' headers
// (OUT.meta.json) was given. When a job ran shards i/N and some shard is
// in no input, that shard is missing; universe (split -> the benchmark's
// theorem names, e.g. from --data), when given, names its theorems, and
// is the expected set itself when no input has a header.
func Merge(inputs []MergeInput, universe map[string][]string) MergeResult {
	var res MergeResult
	type seen struct {
		r    Result
		path string
	}
	best := map[Key]seen{}
	modes := map[Key]seen{} // key -> first line, for mode conflicts
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
			if m, ok := modes[k]; !ok {
				modes[k] = seen{r, in.Path}
			} else if ModeOf(m.r) != ModeOf(r) {
				res.Conflicts = append(res.Conflicts, Conflict{Key: k, Kind: "mode",
					Detail: fmt.Sprintf("%s ran it in mode %s, %s in mode %s: different systems", m.path, ModeOf(m.r), in.Path, ModeOf(r))})
			}
			if r.Final() {
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
				Detail: fmt.Sprintf("proved in %s, %s in the other (kept the proof)", p, strings.Join(others, ", "))})
		}
	}
	SortResults(res.Results)
	res.Conflicts = append(res.Conflicts, configConflicts(inputs)...)
	res.missing(inputs, universe)
	return res
}

// configConflicts: inputs of one experiment share their verdict config.
func configConflicts(inputs []MergeInput) []Conflict {
	var out []Conflict
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
			out = append(out, Conflict{Kind: "config",
				Detail: fmt.Sprintf("%s and %s were run with different configs: %s", first.Path, in.Path, strings.Join(d, "; "))})
		}
	}
	return out
}

// missing fills in what the merged run lacks against the run's own
// theorem lists.
func (res *MergeResult) missing(inputs []MergeInput, universe map[string][]string) {
	type thm = [2]string // split, name
	attempts := map[thm]int{}
	var sessions []Session
	for _, in := range inputs {
		if in.Meta != nil {
			sessions = append(sessions, in.Meta.Sessions...)
		}
	}
	shards := map[string]map[int]map[int]bool{} // split -> N -> indices run
	for _, s := range sessions {
		for _, n := range s.Theorems {
			attempts[thm{s.Split, n}] = max(attempts[thm{s.Split, n}], s.Attempts, 1)
		}
		if sh, err := ParseShard(s.Shard); err == nil && sh.Active() {
			if shards[s.Split] == nil {
				shards[s.Split] = map[int]map[int]bool{}
			}
			if shards[s.Split][sh.Count] == nil {
				shards[s.Split][sh.Count] = map[int]bool{}
			}
			shards[s.Split][sh.Count][sh.Index] = true
		}
	}
	if len(sessions) == 0 {
		for split, names := range universe {
			for _, n := range names {
				attempts[thm{split, n}] = 1
			}
		}
	}
	for _, split := range sortedKeys(shards) {
		for n, run := range shards[split] {
			for i := range n {
				if run[i] {
					continue
				}
				sh := Shard{Index: i, Count: n}
				res.MissingShards = append(res.MissingShards, split+" "+sh.String())
				for _, name := range universe[split] {
					if sh.Has(name) {
						attempts[thm{split, name}] = max(attempts[thm{split, name}], 1)
					}
				}
			}
		}
	}
	sort.Strings(res.MissingShards)
	done := map[thm]map[int]bool{}
	for _, r := range res.Results {
		if r.Final() {
			t := thm{r.Split, r.Name}
			if done[t] == nil {
				done[t] = map[int]bool{}
			}
			done[t][r.Attempt] = true
		}
	}
	res.Expected = len(attempts)
	for t, n := range attempts {
		if len(done[t]) == 0 {
			res.Missing = append(res.Missing, t[0]+"/"+t[1])
			continue
		}
		for a := range n {
			if !done[t][a] {
				res.MissingAttempts = append(res.MissingAttempts, fmt.Sprintf("%s/%s#%d", t[0], t[1], a))
			}
		}
	}
	sort.Strings(res.Missing)
	sort.Strings(res.MissingAttempts)
}
