package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/prover"
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
			fs.Int("attempts", 1, "attempts per theorem, recorded as attempt 0..N-1 (for pass@k)")
			searchFlags(fs)
			fs.String("out", "", "append results (JSON lines) to this file instead of stdout; the run header goes to OUT.meta.json")
			fs.Bool("resume", false, "continue the run in --out: skip theorems that have a verdict, drop a torn last line")
			fs.Bool("force", false, "with --resume, continue even when the config differs; without it, append a new session to an existing --out")
			fs.String("shard", "", "run part i of N of the split (i/N, by theorem name); default: from a Slurm array or a Kubernetes Indexed Job")
			fs.Int("shards", 0, "number of shards when the index comes from the environment (Kubernetes JOB_COMPLETION_INDEX; Slurm: default the array size)")
			fs.String("trace", "", "write each theorem's search tree to DIR/<backend>/<split>/<name>.json and the proofs' (state, tactic) pairs to DIR/pairs.jsonl")
			fs.Bool("json", false, "print the summary as JSON")
		},
		run: runMiniF2F,
	})
}

// testBackend, when set (by tests), replaces the backend the flags choose.
var testBackend func(name string) (prover.Backend, error)

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
	shards, err := a.intKey("shards")
	if err != nil {
		return err
	}
	shard, shardSrc, err := benchmarks.DetectShard(a.v.GetString("shard"), shards, os.Getenv)
	if err != nil {
		return usageError{err.Error()}
	}
	if shard.Active() {
		all := len(thms)
		thms = shard.Filter(thms)
		a.say("shard %s (%s): %d of %d theorems", shard, shardSrc, len(thms), all)
	}
	attempts, err := a.intKey("attempts")
	if err != nil {
		return err
	}
	attempts = max(attempts, 1)
	conc, err := a.intKey("concurrency")
	if err != nil {
		return err
	}
	// Budget flags are checked before anything prints or starts.
	for _, k := range []string{"theorem-timeout", "tactic-timeout"} {
		if _, err := a.duration(k); err != nil {
			return err
		}
	}
	out := a.v.GetString("out")
	resume, force := a.v.GetBool("resume"), a.v.GetBool("force")
	if resume && out == "" {
		return usagef("--resume needs --out FILE (the run to continue)")
	}
	if out != "" {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			return fmt.Errorf("--out %s: %w", out, err)
		}
	}
	var backend prover.Backend
	if testBackend != nil {
		backend, err = testBackend(backendName)
	} else {
		backend, err = a.newBackend(backendName)
	}
	if err != nil {
		return err
	}
	defer backend.Close()
	proposer, portfolio, err := a.newProposer(backendName)
	if err != nil {
		return err
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
	verdict, versions := a.verdictConfig(ctx, backendName, proposer.Name(), split, agent)

	// The results file and its header.
	var (
		meta *benchmarks.Meta
		done = map[benchmarks.Key]bool{}
		prev []benchmarks.Result
	)
	if out != "" {
		if meta, err = benchmarks.ReadMeta(out); err != nil {
			return fmt.Errorf("--out %s: %w", out, err)
		}
		size := int64(0)
		if fi, err := os.Stat(out); err == nil {
			size = fi.Size()
		}
		switch {
		case (size > 0 || meta != nil) && !resume && !force:
			return usagef("--out %s already holds a run: pass --resume to continue it (or --force to append a new session), or choose another --out", out)
		case resume && size > 0 && meta == nil && !force:
			return usagef("--resume: %s has no %s, so its config cannot be checked; pass --force to resume anyway", out, filepath.Base(benchmarks.MetaPath(out)))
		case resume && meta != nil && !force:
			if d := benchmarks.DiffVerdict(meta.Verdict, verdict); len(d) > 0 {
				return usagef("--resume: %s was run with a different config (%s); pass --force to mix them, or choose another --out", out, strings.Join(d, "; "))
			}
		}
		if resume && size > 0 {
			n, err := benchmarks.RepairTail(out)
			if err != nil {
				return fmt.Errorf("--out %s: %w", out, err)
			}
			if n > 0 {
				a.say("resume: dropped a torn last line (%d bytes) of %s left by a killed run", n, out)
			}
			if prev, _, err = benchmarks.ReadResults(out); err != nil {
				return fmt.Errorf("--resume: %w", err)
			}
			for _, r := range prev {
				if r.Final() {
					done[r.Key()] = true
				}
			}
		}
		if meta == nil {
			meta = benchmarks.NewMeta(verdict)
		}
		names := make([]string, len(thms))
		for i, t := range thms {
			names[i] = t.Name
		}
		meta.Sessions = append(meta.Sessions, benchmarks.Session{
			ID: benchmarks.NewRunID(), Started: time.Now().UTC().Truncate(time.Second), Host: hostname(),
			GitRevision: benchmarks.GitRevision(ctx), Args: os.Args[1:], Config: a.effectiveConfig(),
			Versions: versions, Resumed: resume && size > 0, Forced: force,
			Shard: shardString(shard), ShardSource: shardSrc, Split: split, Attempts: attempts, Theorems: names,
		})
		if err := benchmarks.WriteMeta(out, meta); err != nil {
			return fmt.Errorf("--out %s: writing the run header: %w", out, err)
		}
	}
	sink, err := benchmarks.OpenSink(out, a.stdout)
	if err != nil {
		return err
	}
	defer sink.Close()
	var traces *benchmarks.TraceWriter
	if dir := a.v.GetString("trace"); dir != "" {
		var keep func(benchmarks.Key) bool
		if len(prev) > 0 {
			keep = func(k benchmarks.Key) bool { return done[k] }
		}
		if traces, err = benchmarks.OpenTraceWriter(dir, keep); err != nil {
			return err
		}
		defer traces.Close()
	}
	r := &benchmarks.Runner{Agent: agent, Proposer: proposer.Name(), Concurrency: conc, Sink: sink, Progress: a.stderr, Log: a.log,
		Attempts: attempts, Skip: func(k benchmarks.Key) bool { return done[k] }, Traces: traces}
	jobs := r.Jobs(thms)
	if meta != nil {
		a.say("run %s: results in %s, header in %s", meta.RunID, out, benchmarks.MetaPath(out))
	}
	if skipped := len(thms)*attempts - len(jobs); skipped > 0 {
		a.say("resume: %d of %d attempts already have a verdict", skipped, len(thms)*attempts)
	}
	a.say("proving %d theorems of miniF2F %s with %s + %s (%d at a time, budget %d expansions x %d candidates, %s per theorem, %s per tactic)",
		len(jobs), split, backendName, proposer.Name(), conc, agent.Search.Expansions, agent.Search.Samples, agent.TheoremTimeout, agent.Search.TacticTimeout)
	start := time.Now()
	results, err := r.Run(ctx, thms)
	if err != nil {
		return err
	}
	interrupted := 0
	for _, res := range results {
		if res.Status == string(prover.StatusInterrupted) {
			interrupted++
		}
	}
	if ctx.Err() != nil {
		a.say("interrupted: %d in flight recorded as interrupted; continue with --resume --out FILE", interrupted)
	}
	// The summary covers this session's selection, earlier sessions included.
	want := map[benchmarks.Key]bool{}
	for _, t := range thms {
		for i := range attempts {
			want[benchmarks.Key{Name: t.Name, Split: t.Split, Backend: t.Backend, Attempt: i}] = true
		}
	}
	var all []benchmarks.Result
	for _, res := range append(prev, results...) {
		if want[res.Key()] {
			all = append(all, res)
		}
	}
	all = benchmarks.Dedup(all, benchmarks.Result.Key)
	sum := benchmarks.Summarize(all, time.Since(start))
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

func shardString(s benchmarks.Shard) string {
	if !s.Active() {
		return ""
	}
	return s.String()
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// effectiveConfig is every flag's value after flags > environment >
// config file > defaults.
func (a *app) effectiveConfig() map[string]any {
	cfg := map[string]any{}
	a.fs.VisitAll(func(f *pflag.Flag) { cfg[f.Name] = a.v.Get(f.Name) })
	return cfg
}

// verdictConfig is what decides verdicts (resume refuses to mix runs where
// it differs): backend and its version, proposer and model, the resolved
// budgets, the split and the axiom allow-list. Paths, parallelism, model
// URLs and selections are left out. versions holds the tools' versions.
func (a *app) verdictConfig(ctx context.Context, backend, proposer, split string, ag *prover.Agent) (verdict, versions map[string]string) {
	versions = map[string]string{"llemma-prove": version()}
	verdict = map[string]string{
		"backend":         backend,
		"proposer":        proposer,
		"model":           a.v.GetString("model.name"),
		"split":           split,
		"expansions":      fmt.Sprint(ag.Search.Expansions),
		"samples":         fmt.Sprint(ag.Search.Samples),
		"theorem_timeout": ag.TheoremTimeout.String(),
		"tactic_timeout":  ag.Search.TacticTimeout.String(),
	}
	if ag.Search.LlemmaParity {
		verdict["llemma_parity"] = "true"
	}
	if backend == "coq" {
		axioms := append([]string(nil), a.v.GetStringSlice("coq.allow-axioms")...)
		sort.Strings(axioms)
		verdict["coq.allow-axioms"] = strings.Join(axioms, ",")
		verdict["coq.memory-limit"] = a.v.GetString("coq.memory-limit")
		v := benchmarks.ToolVersion(ctx, a.v.GetString("coq.coqc"))
		versions["coqc"] = v
		verdict["backend_version"] = v
	}
	if m := a.v.GetString("model"); m != "" {
		versions["model"] = m
	}
	return verdict, versions
}
