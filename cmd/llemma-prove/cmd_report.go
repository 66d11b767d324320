package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/llemma-prove/llemma-prove/benchmarks"
)

func init() {
	register(&command{
		name:  "report",
		args:  "RESULTS...",
		short: "report on results files: solved with a 95% interval, categories, pass@k, plots, systems compared, proofs",
		keys:  []string{"report.html", "report.md", "json", "report.llemma-json", "report.trace"},
		run:   runReport,
	})
}

func runReport(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("report takes one or more RESULTS files")
	}
	var all []benchmarks.Result
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
		all = append(all, rs...)
	}
	traceDir := a.cfg.Report.Trace
	if traceDir != "" {
		if fi, err := os.Stat(traceDir); err != nil || !fi.IsDir() {
			return usagef("--trace %s: not a directory", traceDir)
		}
	}
	rep, err := benchmarks.BuildReport(args, all, traceDir)
	if err != nil {
		return err
	}
	if p := a.cfg.Report.LlemmaJSON; p != "" {
		if len(rep.Systems) > 1 {
			var names []string
			for _, s := range rep.Systems {
				names = append(names, s.System)
			}
			return usagef("--llemma-json: the results hold %d systems (%s); export one system at a time", len(names), strings.Join(names, ", "))
		}
		if err := writeFile(p, func(w *bufio.Writer) error { return benchmarks.WriteLlemmaJSON(w, all, traceDir) }); err != nil {
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
