package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/llemma-prove/llemma-prove/benchmarks"
)

func init() {
	register(&command{
		name:  "report",
		args:  "RESULTS...",
		short: "report on results files: solved with a 95% interval, run configs, cost, failure reasons, closing tactics, categories, pass@k, plots, systems compared, proofs",
		keys:  []string{"report.html", "report.md", "json", "report.llemma-json", "report.trace", "report.export-pairs"},
		run:   runReport,
	})
}

func runReport(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("report takes one or more RESULTS files")
	}
	var inputs []benchmarks.ReportInput
	for _, in := range args {
		rs, info, err := benchmarks.ReadResults(in)
		if err != nil {
			if os.IsNotExist(err) {
				return usagef("report: cannot read %s: %v", in, err)
			}
			return err
		}
		if info.TornBytes > 0 {
			a.say("report: %s ends in a torn line (%d bytes), skipped", in, info.TornBytes)
		}
		meta, err := benchmarks.ReadMeta(in)
		if err != nil {
			return usagef("report: %v", err)
		}
		inputs = append(inputs, benchmarks.ReportInput{Path: in, Results: rs, Meta: meta})
	}
	var traces *benchmarks.Traces
	if dir := a.cfg.Report.Trace; dir != "" {
		var err error
		if traces, err = benchmarks.OpenTraces(dir); err != nil {
			return usagef("--trace %s: %v", dir, err)
		}
	} else if a.cfg.Report.ExportPairs != "" {
		return usagef("--export-pairs needs --trace DIR (the runs' --trace directory)")
	}
	rep, err := benchmarks.BuildReport(inputs, traces)
	if err != nil {
		return err
	}
	if p := a.cfg.Report.LlemmaJSON; p != "" {
		if err := writeFile(p, func(w *bufio.Writer) error { return rep.WriteLlemmaJSON(w) }); err != nil {
			if errors.Is(err, benchmarks.ErrLlemmaSystems) {
				return asUsage(err)
			}
			return err
		}
	}
	if p := a.cfg.Report.ExportPairs; p != "" {
		if err := a.exportPairs(p, traces, inputs); err != nil {
			return err
		}
	}
	if p := a.cfg.Report.HTML; p != "" {
		if err := writeFile(p, func(w *bufio.Writer) error { return rep.WriteHTML(w) }); err != nil {
			return err
		}
	}
	if p := a.cfg.Report.Markdown; p != "" {
		if err := writeFile(p, func(w *bufio.Writer) error { rep.WriteMarkdown(w); return nil }); err != nil {
			return err
		}
	}
	if a.cfg.JSON {
		return rep.WriteJSON(a.stdout)
	}
	rep.WriteText(a.stdout)
	return nil
}

// exportPairs writes the proof steps of the reported results as
// prompt/completion lines: the pairs of the --trace directory whose
// attempt is one of the results (same run, same verdict).
func (a *app) exportPairs(path string, traces *benchmarks.Traces, inputs []benchmarks.ReportInput) error {
	set, err := benchmarks.ReadPairs(traces.Root)
	if err != nil {
		return fmt.Errorf("--export-pairs: %w", err)
	}
	keep := reportedAttempts(inputs)
	var st benchmarks.ExportStats
	if err := writeFile(path, func(w *bufio.Writer) error {
		var err error
		st, err = benchmarks.WriteExamples(w, set.Pairs, keep)
		return err
	}); err != nil {
		return err
	}
	a.say("export: %d examples to %s (%d with the prompt recorded at search time, the others in [GOAL]/[PROOFSTEP] form; %d duplicates dropped)",
		st.Examples, path, st.Recorded, st.Duplicates)
	return nil
}

// reportedAttempts selects the pairs of the reported results: a pair of a
// run (run id) belongs to a results file of that run with the same
// verdict on its attempt; a format-1 pair (no run id; positives only) to a
// proved line of its attempt.
func reportedAttempts(inputs []benchmarks.ReportInput) func(benchmarks.Pair) bool {
	type att struct {
		run string
		key benchmarks.Key
	}
	best := map[att]benchmarks.Result{} // the line kept for the attempt, as the report keeps it
	for _, in := range inputs {
		runs := []string{""}
		if m := in.Meta; m != nil {
			runs = append(runs, m.RunID)
			runs = append(runs, m.MergedFrom...)
		}
		for _, r := range in.Results {
			for _, id := range runs {
				k := att{id, r.Key()}
				if old, ok := best[k]; !ok || benchmarks.Better(r, old) {
					best[k] = r
				}
			}
		}
	}
	return func(p benchmarks.Pair) bool {
		r, ok := best[att{p.RunID, p.Key()}]
		if p.RunID == "" {
			return ok && r.Status == "proved"
		}
		return ok && r.Status == p.Status
	}
}

// writeFile writes path through a buffer; a failed write leaves no file.
func writeFile(path string, fill func(w *bufio.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	w := bufio.NewWriter(f)
	err = fill(w)
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
