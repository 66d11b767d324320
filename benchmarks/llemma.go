package benchmarks

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/llemma-prove/llemma-prove/prover"
)

// The Llemma formal2formal results schema (what its compute_metrics.py
// reads): {"results":[{"attempt_results":[...],"success":bool,"example":{...}}]}.
type llemmaFile struct {
	Results []llemmaResult `json:"results"`
}

type llemmaResult struct {
	AttemptResults []map[string]any `json:"attempt_results"`
	Success        bool             `json:"success"`
	Example        map[string]any   `json:"example"`
}

// llemmaFailure maps a verdict to Llemma's failure_reason: "SearchEnded"
// when the search ran out (budget or time, as in Llemma, whose timeout
// ends the loop), else a class-like name for the machinery's failure.
func llemmaFailure(status string) string {
	switch status {
	case string(prover.StatusFailed), string(prover.StatusTimeout):
		return "SearchEnded"
	case string(prover.StatusInterrupted):
		return "Interrupted"
	}
	return "BackendError"
}

// WriteLlemmaJSON exports the results of one system in Llemma's
// formal2formal schema, one entry per problem with its attempts, so that
// Llemma's metric scripts apply unchanged. As in Llemma, "elapsed" is
// negative (start - end) and "iteration" counts expansions; a proof's
// "trace" lists (state_before, tactic) when traceDir holds its trace, and
// its "score" is the sum of the proof's tactic scores from that trace.
func WriteLlemmaJSON(w io.Writer, results []Result, traceDir string) error {
	results = Dedup(results, func(r Result) [5]string {
		return [5]string{r.Backend, r.Proposer, r.Split, r.Name, fmt.Sprint(r.Attempt)}
	})
	systems := map[string]bool{}
	for _, r := range results {
		systems[SystemOf(r)] = true
	}
	if len(systems) > 1 {
		var names []string
		for s := range systems {
			names = append(names, s)
		}
		sort.Strings(names)
		return fmt.Errorf("--llemma-json: the results hold %d systems (%v); export one system at a time", len(names), names)
	}
	SortResults(results)
	file := llemmaFile{Results: []llemmaResult{}}
	for i := 0; i < len(results); {
		j := i
		for j < len(results) && results[j].Split == results[i].Split && results[j].Name == results[i].Name {
			j++
		}
		first := results[i]
		lr := llemmaResult{Example: map[string]any{
			"full_name": first.Name, "split": first.Split, "statement": first.Statement,
			"category": Category(first.Name), "backend": first.Backend,
		}}
		for _, r := range results[i:j] {
			if r.Status != string(prover.StatusProved) {
				lr.AttemptResults = append(lr.AttemptResults, map[string]any{
					"theorem": r.Name, "success": false, "failure_reason": llemmaFailure(r.Status),
				})
				continue
			}
			lr.Success = true
			trace := []map[string]any{}
			score := 0.0
			if traceDir != "" {
				tf, err := ReadTrace(traceDir, r.Key())
				if err != nil {
					return err
				}
				if tf != nil && tf.Trace != nil {
					for _, p := range ProofPairs(tf.Trace, r.Proof) {
						trace = append(trace, map[string]any{"tactic": p.Tactic, "state_before": p.State})
					}
					for _, e := range proofEdges(tf.Trace, r.Proof) {
						score += tf.Trace.Edges[e].Score
					}
				}
			}
			lr.AttemptResults = append(lr.AttemptResults, map[string]any{
				"theorem": r.Name, "proof": r.Proof, "score": score, "success": true, "failure_reason": "",
				"trace": trace, "temperature": []float64{0}, "elapsed": -r.WallS, "iteration": r.Expansions,
			})
		}
		file.Results = append(file.Results, lr)
		i = j
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(file)
}
