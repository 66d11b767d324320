package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/llemma-prove/llemma-prove/benchmarks"
)

func init() {
	register(&command{
		name:  "minif2f",
		short: "prove a miniF2F split and append one JSON line per theorem",
		flags: func(fs *pflag.FlagSet) {
			backendFlags(fs)
			proposerFlags(fs)
			fs.String("data", "", "miniF2F directory for the backend (default data/minif2f/<backend>, see `make data`)")
			fs.String("split", "test", "test or valid")
			fs.String("only", "", "comma-separated theorem names to run")
			fs.Int("limit", 0, "run only the first N theorems")
			fs.Int("concurrency", 0, "theorems in parallel (default: --workers)")
			searchFlags(fs)
			fs.String("out", "", "append results (JSON lines) to this file instead of stdout")
			fs.Bool("json", false, "print the summary as JSON")
		},
		run: runMiniF2F,
	})
}

func runMiniF2F(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return usagef("minif2f takes no arguments (got %q); use --only NAME", strings.Join(args, " "))
	}
	backendName, err := a.chooseBackend()
	if err != nil {
		return err
	}
	split := a.v.GetString("split")
	if split != "test" && split != "valid" {
		return usagef("--split %q: use test or valid", split)
	}
	dir := a.dataDir(backendName)
	thms, err := benchmarks.Load(backendName, dir, split)
	if err != nil {
		return err
	}
	var only []string
	if s := a.v.GetString("only"); s != "" {
		only = strings.Split(s, ",")
	}
	limit, err := a.intKey("limit")
	if err != nil {
		return err
	}
	if thms, err = benchmarks.Select(thms, only, limit); err != nil {
		return usageError{err.Error()}
	}
	conc, err := a.intKey("concurrency")
	if err != nil {
		return err
	}
	// Every flag is checked before anything starts or is written.
	if _, err := a.budget(true); err != nil {
		return err
	}
	out := a.v.GetString("out")
	if out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return fmt.Errorf("--out %s: %w", out, err)
		}
	}
	sink, err := benchmarks.OpenSink(out, a.stdout)
	if err != nil {
		return err
	}
	defer sink.Close()
	backend, err := a.newBackend(backendName)
	if err != nil {
		return err
	}
	defer backend.Close()
	proposer, portfolio, err := a.newProposer(backendName)
	if err != nil {
		return err
	}
	if c, ok := proposer.(io.Closer); ok {
		defer c.Close()
	}
	agent, err := a.newAgent(backend, proposer, portfolio)
	if err != nil {
		return err
	}
	if conc == 0 {
		conc = defaultWorkers()
		if w, _ := a.intKey("workers"); w > 0 {
			conc = w
		}
	}
	a.say("proving %d theorems of miniF2F %s with %s + %s (%d at a time, budget %d expansions x %d candidates, %s per theorem, %s per tactic)",
		len(thms), split, backendName, proposer.Name(), conc, agent.Search.Expansions, agent.Search.Samples, agent.TheoremTimeout, agent.Search.TacticTimeout)
	start := time.Now()
	r := &benchmarks.Runner{Agent: agent, Proposer: proposer.Name(), Concurrency: conc, Sink: sink, Progress: a.stderr, Log: a.log}
	results, err := r.Run(ctx, thms)
	if err != nil {
		return err
	}
	sum := benchmarks.Summarize(results, time.Since(start))
	w := a.stderr
	if out != "" {
		w = a.stdout
	}
	if a.v.GetBool("json") {
		return json.NewEncoder(a.stdout).Encode(sum)
	}
	sum.WriteText(w)
	return nil
}
