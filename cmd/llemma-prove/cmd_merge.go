package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/llemma-prove/llemma-prove/benchmarks"
)

func init() {
	register(&command{
		name:  "merge",
		args:  "OUT IN...",
		short: "merge results files (shards, resumed runs) into OUT: one verdict per theorem, conflicts and missing theorems reported",
		flags: func(fs *pflag.FlagSet) {
			fs.String("data", "", "miniF2F directory: report the theorems of --split that no input covers (default: those the inputs' headers list)")
			fs.String("split", "", "split for --data: test or valid (default: both)")
			fs.String("backend", "", "backend for --data (default: each backend in the inputs)")
			fs.Bool("force", false, "overwrite OUT when it exists")
		},
		run: runMerge,
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
	if _, err := os.Stat(out); err == nil && !a.v.GetBool("force") {
		return usagef("merge: %s exists; pass --force to overwrite it", out)
	}
	var inputs []benchmarks.MergeInput
	backends := map[string]bool{}
	for _, in := range ins {
		rs, info, err := benchmarks.ReadResults(in)
		if err != nil {
			if os.IsNotExist(err) {
				return usagef("merge: cannot read %s: %v", in, err)
			}
			return err
		}
		if info.TornBytes > 0 {
			a.say("merge: %s ends in a torn line (%d bytes), skipped", in, info.TornBytes)
		}
		meta, err := benchmarks.ReadMeta(in)
		if err != nil {
			return err
		}
		for _, r := range rs {
			backends[r.Backend] = true
		}
		inputs = append(inputs, benchmarks.MergeInput{Path: in, Results: rs, Meta: meta})
	}
	var expected map[string][]string
	if dir := a.v.GetString("data"); dir != "" {
		splits := benchmarks.Splits
		if s := a.v.GetString("split"); s != "" {
			if s != "test" && s != "valid" {
				return usagef("--split %q: use test or valid", s)
			}
			splits = []string{s}
		}
		if b := a.v.GetString("backend"); b != "" {
			backends = map[string]bool{b: true}
		}
		expected = map[string][]string{}
		for b := range backends {
			for _, s := range splits {
				thms, err := benchmarks.Load(b, dir, s)
				if err != nil {
					return err
				}
				for _, t := range thms {
					expected[s] = append(expected[s], t.Name)
				}
			}
		}
	}
	m := benchmarks.Merge(inputs, expected)
	if err := writeResults(out, m.Results); err != nil {
		return err
	}
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
		GitRevision: benchmarks.GitRevision(ctx), Args: os.Args[1:], Config: a.effectiveConfig(),
	})
	if err := benchmarks.WriteMeta(out, meta); err != nil {
		return err
	}
	for _, c := range m.Conflicts {
		a.say("conflict: %s", c)
	}
	if len(m.Missing) > 0 {
		show := m.Missing
		if len(show) > 20 {
			show = show[:20]
		}
		more := ""
		if len(m.Missing) > len(show) {
			more = fmt.Sprintf(" (and %d more)", len(m.Missing)-len(show))
		}
		a.say("missing %d theorems: %s%s", len(m.Missing), strings.Join(show, ", "), more)
	}
	fmt.Fprintf(a.stdout, "merged %d files into %s: %d results, %d duplicates dropped, %d conflicts, %d missing\n",
		len(ins), out, len(m.Results), m.Duplicates, len(m.Conflicts), len(m.Missing))
	return nil
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
	sink, _ := benchmarks.OpenSink("", f)
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
