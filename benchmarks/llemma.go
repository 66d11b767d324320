package benchmarks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// The Llemma formal2formal results schema, as its proofsearch.py writes it
// and compute_metrics.py reads it:
// {"results":[{"attempt_results":[...],"success":bool,"example":{...}}],"args":{...}}.
type llemmaFile struct {
	Results []llemmaResult `json:"results"`
	Args    map[string]any `json:"args"`
}

type llemmaResult struct {
	AttemptResults []map[string]any `json:"attempt_results"`
	Success        bool             `json:"success"`
	Example        map[string]any   `json:"example"`
}

// ErrLlemmaSystems: --llemma-json exports one system.
var ErrLlemmaSystems = errors.New("--llemma-json exports one system at a time")

// LlemmaFailure maps an attempt without a proof to Llemma's failure_reason,
// the class name of what ended its search: SearchEnded when the search ran
// out of candidates or expansions (and for a proof the final check refused:
// Llemma had no final check), DojoHardTimeoutError when the theorem's time
// budget ran out (Llemma's 600 s alarm), DojoInitError when the theorem
// could not be loaded, DojoCrashError when the prover died; other errors
// are named after their cause (ModelError, VerifyError, ...).
func LlemmaFailure(r Result) string {
	switch r.Status {
	case string(prover.StatusFailed):
		return "SearchEnded"
	case string(prover.StatusTimeout):
		return "DojoHardTimeoutError"
	case string(prover.StatusInterrupted):
		return "Interrupted"
	}
	switch r.Cause {
	case prover.CauseLoad, prover.CauseSetupTimeout, prover.CauseBackendUnavailable:
		return "DojoInitError"
	case prover.CauseBackendCrashed, prover.CauseBackendBroken, prover.CauseBackend:
		return "DojoCrashError"
	case "":
		return "Error"
	}
	var b strings.Builder
	for _, part := range strings.Split(r.Cause, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String() + "Error"
}

// WriteLlemmaJSON exports the report's one system in Llemma's
// formal2formal schema, one entry per problem with its attempts, so that
// Llemma's metric scripts apply unchanged. As in proofsearch.py:
//   - "score" is the proof's cost, the sum over its steps of minus the
//     tactic's mean token log-probability (positive; lower is better);
//   - "iteration" is the 0-based index of the expansion that found it;
//   - "elapsed" is negative (start - end), over the search, as Llemma's
//     clock started once the theorem was loaded;
//   - "temperature" is the list of temperatures the model sampled at (the
//     real one: --llemma-parity decodes at 0), null for a proposer that
//     does not sample or a run without a sidecar;
//   - "trace" lists (state_before, tactic) along the proof when the
//     --trace directory holds its tree (and "score" needs it too: 0
//     without).
//
// The file's "args" records the run config.
func (rep *Report) WriteLlemmaJSON(w io.Writer) error {
	if len(rep.Systems) != 1 {
		var names []string
		for _, s := range rep.Systems {
			names = append(names, s.System)
		}
		return fmt.Errorf("%w: the results hold %d systems (%s)", ErrLlemmaSystems, len(names), strings.Join(names, ", "))
	}
	sys := rep.Systems[0]
	results := append([]Result(nil), rep.results[sys.System]...)
	SortResults(results)
	var temps any // null
	if c := sys.Config; c != nil && c.Temperature != nil {
		temps = []float64{*c.Temperature}
	}
	file := llemmaFile{Results: []llemmaResult{}, Args: llemmaArgs(sys, results, temps)}
	for i := 0; i < len(results); {
		j := i
		for j < len(results) && results[j].Split == results[i].Split && results[j].Name == results[i].Name {
			j++
		}
		lr, err := rep.llemmaEntry(sys.System, results[i:j], temps)
		if err != nil {
			return err
		}
		file.Results = append(file.Results, lr)
		i = j
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(file)
}

// llemmaEntry is one problem's entry: its attempts.
func (rep *Report) llemmaEntry(sys string, atts []Result, temps any) (llemmaResult, error) {
	first := atts[0]
	lr := llemmaResult{Example: map[string]any{
		"full_name": first.Name, "split": first.Split, "statement": first.Statement,
		"category": Category(first.Name), "backend": first.Backend,
	}}
	for _, r := range atts {
		if r.Status != string(prover.StatusProved) {
			lr.AttemptResults = append(lr.AttemptResults, map[string]any{
				"theorem": r.Name, "success": false, "failure_reason": LlemmaFailure(r),
			})
			continue
		}
		lr.Success = true
		trace := []map[string]any{}
		score := 0.0
		tf, err := rep.findTrace(sys, r)
		if err != nil {
			return lr, err
		}
		if tf != nil && tf.Trace != nil {
			for _, p := range ProofPairs(tf.Trace, r.Proof) {
				trace = append(trace, map[string]any{"tactic": p.Tactic, "state_before": p.State})
			}
			for _, e := range proofEdges(tf.Trace, r.Proof) {
				score -= tf.Trace.Edges[e].Score
			}
		}
		elapsed := r.SearchS
		if elapsed == 0 {
			elapsed = r.WallS // lines written before search_s
		}
		lr.AttemptResults = append(lr.AttemptResults, map[string]any{
			"theorem": r.Name, "proof": r.Proof, "score": round6(score), "success": true, "failure_reason": "",
			"trace": trace, "temperature": temps, "elapsed": -elapsed, "iteration": max(r.Expansions-1, 0),
		})
	}
	return lr, nil
}

func round6(v float64) float64 {
	s := strconv.FormatFloat(v, 'f', 6, 64)
	f, _ := strconv.ParseFloat(s, 64)
	return f + 0 // no -0
}

// llemmaArgs is proofsearch.py's args dict, from the run config where it
// is known, and this run's identity.
func llemmaArgs(sys SystemStats, results []Result, temps any) map[string]any {
	args := map[string]any{"temperatures": temps, "early_stop": true, "system": sys.System}
	splits := map[string]bool{}
	for _, r := range results {
		splits[r.Split] = true
	}
	if len(splits) == 1 {
		for s := range splits {
			args["dataset_name"] = "minif2f-" + s
		}
	}
	c := sys.Config
	if c == nil {
		return args
	}
	args["model_name"] = c.Model
	v := c.Verdict
	if n, err := strconv.Atoi(vget(v, "expansions")); err == nil {
		args["max_iters"] = n
	}
	if n, err := strconv.Atoi(vget(v, "samples")); err == nil {
		args["num_samples"] = n
	}
	if d, err := time.ParseDuration(vget(v, "theorem-timeout", "theorem_timeout")); err == nil {
		args["timeout"] = d.Seconds()
	}
	if c.Temperature != nil {
		args["beam_search"] = c.Beam && *c.Temperature == 0
	}
	args["run_ids"] = c.RunIDs
	args["verdict_config"] = v
	return args
}
