package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/benchmarks"
)

func init() {
	register(&command{
		name:  "merge",
		args:  "OUT IN...",
		short: "merge results files (shards, resumed runs) into OUT: one verdict per theorem; missing theorems reported against the runs' own theorem lists; exit 1 on conflicts",
		keys:  []string{"data", "merge.split", "merge.backend", "merge.force", "merge.allow-conflicts"},
		run:   runMerge,
	})
}

func runMerge(ctx context.Context, a *app, args []string) error {
	if len(args) < 2 {
		return usagef("merge takes OUT and at least one IN file")
	}
	out, ins := args[0], args[1:]
	for _, in := range ins {
		if filepath.Clean(in) == filepath.Clean(out) {
			return usagef("merge: OUT %s is also an input", out)
		}
	}
	if _, err := os.Stat(out); err == nil && !a.cfg.Merge.Force {
		return usagef("merge: %s exists; pass --force to overwrite it", out)
	}
	inputs, backends, err := a.mergeInputs(ins)
	if err != nil {
		return err
	}
	universe, err := a.expectedTheorems(backends)
	if err != nil {
		return err
	}
	m := benchmarks.Merge(inputs, universe)
	for _, c := range m.Conflicts {
		a.say("conflict: %s", c)
	}
	if len(m.MissingShards) > 0 {
		hint := ""
		if universe == nil {
			hint = " (give --data to name their theorems)"
		}
		a.say("missing shards: no input ran %s%s", strings.Join(m.MissingShards, ", "), hint)
	}
	a.sayList("missing %d of %d theorems (no verdict: never run, or error or interrupted; --resume runs them)", m.Missing, len(m.Missing), m.Expected)
	a.sayList("missing %d attempts", m.MissingAttempts, len(m.MissingAttempts))
	if len(m.Conflicts) > 0 && !a.cfg.Merge.AllowConflicts {
		a.say("merge: %d conflicts: %s not written; fix the inputs, or pass --allow-conflicts to merge anyway", len(m.Conflicts), out)
		return errNotVerified
	}
	if err := writeResults(out, m.Results); err != nil {
		return err
	}
	if err := benchmarks.WriteMeta(out, a.mergedMeta(ctx, inputs)); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "merged %d files into %s: %d results, %d duplicates dropped, %d conflicts, %d missing\n",
		len(ins), out, len(m.Results), m.Duplicates, len(m.Conflicts), len(m.Missing))
	return nil
}

// sayList says what format and args say, then the first 20 of list.
func (a *app) sayList(format string, list []string, args ...any) {
	if len(list) == 0 {
		return
	}
	show, more := list, ""
	if len(show) > 20 {
		show, more = show[:20], fmt.Sprintf(" (and %d more)", len(list)-20)
	}
	a.say(format+": %s%s", append(args, strings.Join(show, ", "), more)...)
}

// mergeInputs reads the input files and their sidecars, and the backends
// their lines name.
func (a *app) mergeInputs(ins []string) ([]benchmarks.MergeInput, map[string]bool, error) {
	var inputs []benchmarks.MergeInput
	backends := map[string]bool{}
	for _, in := range ins {
		rs, info, err := benchmarks.ReadResults(in)
		if err != nil {
			if os.IsNotExist(err) {
				return nil, nil, usagef("merge: cannot read %s: %v", in, err)
			}
			return nil, nil, err
		}
		if info.TornBytes > 0 {
			a.say("merge: %s ends in a torn line (%d bytes), skipped", in, info.TornBytes)
		}
		meta, err := benchmarks.ReadMeta(in)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range rs {
			backends[r.Backend] = true
		}
		inputs = append(inputs, benchmarks.MergeInput{Path: in, Results: rs, Meta: meta})
	}
	return inputs, backends, nil
}

// expectedTheorems are the theorem names of --data by split (nil without
// --data). Merge counts missing theorems against the inputs' own theorem
// lists (their sidecars' sessions); these names the theorems of a shard no
// input ran, and are the expected set only for inputs without sidecars.
func (a *app) expectedTheorems(backends map[string]bool) (map[string][]string, error) {
	dir := a.cfg.Data
	if dir == "" {
		return nil, nil
	}
	splits := benchmarks.Splits
	if s := a.cfg.Merge.Split; s != "" {
		splits = []string{s}
	}
	if b := a.cfg.Merge.Backend; b != "" {
		backends = map[string]bool{b: true}
	}
	expected := map[string][]string{}
	for b := range backends {
		for _, s := range splits {
			thms, err := benchmarks.Load(b, dir, s)
			if err != nil {
				return nil, asUsage(err)
			}
			for _, t := range thms {
				expected[s] = append(expected[s], t.Name)
			}
		}
	}
	return expected, nil
}

// mergedMeta is the merged run's sidecar: the inputs' sessions and this
// one.
func (a *app) mergedMeta(ctx context.Context, inputs []benchmarks.MergeInput) *benchmarks.Meta {
	meta := &benchmarks.Meta{Kind: "llemma-prove run", RunID: benchmarks.NewRunID()}
	for _, in := range inputs {
		if in.Meta == nil {
			continue
		}
		if meta.Verdict == nil {
			meta.Verdict = in.Meta.Verdict
		}
		meta.MergedFrom = append(meta.MergedFrom, in.Meta.RunID)
		meta.Sessions = append(meta.Sessions, in.Meta.Sessions...)
	}
	meta.Sessions = append(meta.Sessions, benchmarks.Session{
		ID: benchmarks.NewRunID(), Started: time.Now().UTC().Truncate(time.Second), Host: hostname(),
		GitRevision: benchmarks.GitRevision(ctx), Args: redactArgs(os.Args[1:]), Config: a.configValues(),
	})
	return meta
}

// writeResults writes rs as JSON lines to path through a temporary file.
func writeResults(path string, rs []benchmarks.Result) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	sink := benchmarks.NewSink(f)
	for _, r := range rs {
		if err := sink.Write(r); err != nil {
			f.Close()
			os.Remove(tmp)
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
