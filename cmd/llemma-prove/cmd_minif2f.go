package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/config"
	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
)

// runKeys configure a miniF2F run.
var runKeys = []string{"split", "only", "limit", "concurrency", "attempts", "out", "resume", "force", "shard", "shards", "trace", "breaker", "json"}

func init() {
	register(&command{
		name:  "minif2f",
		short: "prove a miniF2F split and append one JSON line per theorem",
		keys:  keys(backendKeys, proposerKeys, searchKeys, runKeys, modeKeys),
		run:   runMiniF2F,
	})
}

// runMiniF2F: choose the theorems, build the stack, open the results file
// (locked), check the backend and the model before the first theorem, run,
// summarise. Exit 0 only when every theorem got a verdict.
func runMiniF2F(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 {
		return usagef("minif2f takes no arguments (got %q); use --only NAME", strings.Join(args, " "))
	}
	sel, err := a.selectTheorems(ctx)
	if err != nil {
		return err
	}
	st, err := a.newStack(sel.drv, a.workers())
	if err != nil {
		return err
	}
	st.agent.Slots = prover.NewSlots(a.workers())
	if st.modeProver, err = a.modeProver(st, st.agent.Slots, false); err != nil {
		return err
	}
	if n := a.cfg.Run.Mode.Proofs; n > 0 && st.modeProver != nil {
		sel.attempts = n
	}
	out, err := a.openResults(ctx, sel, a.verdict(ctx, st))
	if err != nil {
		return err
	}
	if len(sel.thms) > 0 {
		if err := a.preflight(ctx, st, &sel.thms[0]); err != nil {
			return err
		}
	}
	if err := out.begin(ctx, a, sel); err != nil {
		return err
	}
	start := time.Now()
	results, runErr := a.execute(ctx, sel, st, out)
	return a.summarize(ctx, sel, out, results, runErr, time.Since(start))
}

// selection is the theorems of one run.
type selection struct {
	drv      prover.Driver
	split    string
	thms     []prover.Theorem
	attempts int
	shard    benchmarks.Shard
	shardSrc string
}

// selectTheorems loads the split and applies --only, --limit and the shard.
func (a *app) selectTheorems(ctx context.Context) (*selection, error) {
	drv, err := a.driver(ctx)
	if err != nil {
		return nil, err
	}
	sel := &selection{drv: drv, split: a.cfg.Run.Split, attempts: max(a.cfg.Run.Attempts, 1)}
	thms, err := benchmarks.Load(drv.Name, a.dataDir(drv), sel.split)
	if err != nil {
		if errors.Is(err, benchmarks.ErrData) {
			return nil, asUsage(err)
		}
		return nil, err
	}
	if thms, err = benchmarks.Select(thms, a.cfg.Run.Only, a.cfg.Run.Limit); err != nil {
		return nil, asUsage(err)
	}
	shard, src, err := benchmarks.DetectShard(a.cfg.Run.Shard, a.cfg.Run.Shards, os.Getenv)
	if err != nil {
		return nil, asUsage(err)
	}
	if shard.Active() {
		all := len(thms)
		thms = shard.Filter(thms)
		a.say("shard %s (%s): %d of %d theorems", shard, src, len(thms), all)
	}
	sel.thms, sel.shard, sel.shardSrc = thms, shard, src
	return sel, nil
}

// verdict is what decides verdicts: the configuration's verdict keys with
// the backend, the proposer and the budgets resolved, the tools' versions,
// the proposer's model versions and the prompt template's hash. --resume
// refuses to mix runs where it differs.
func (a *app) verdict(ctx context.Context, st *stack) map[string]string {
	vc := a.cfg
	vc.Backend, vc.Proposer = st.drv.Name, a.proposerKind()
	vc.Search = vc.Search.Resolved(vc.Proposer == "llm")
	v := vc.Verdict()
	if a.mode() == prover.ModeStep {
		for _, k := range modeVerdictKeys {
			delete(v, k)
		}
	}
	for k, ver := range a.versions(ctx, st) {
		if k != "llemma-prove" {
			v["version."+k] = ver
		}
	}
	if vc.Proposer == "llm" {
		if b, err := os.ReadFile(vc.Model.Prompt); err == nil {
			sum := sha256.Sum256(b)
			v["model.prompt-sha256"] = hex.EncodeToString(sum[:])
		}
	}
	return v
}

// versions are the program's, the tools' and the proposer's models'.
func (a *app) versions(ctx context.Context, st *stack) map[string]string {
	out := map[string]string{"llemma-prove": version()}
	if st.drv.Versions != nil {
		for k, ver := range st.drv.Versions(ctx, a.backendConfig(st.drv)) {
			out[k] = ver
		}
	}
	for k, ver := range model.ModelVersions(st.proposer) {
		out[k] = ver
	}
	return out
}

// resultsFile is where the run's result lines go: --out (locked, with its
// sidecar when it is a regular file) or stdout.
type resultsFile struct {
	rf      *benchmarks.RunFile // nil: stdout
	sink    *benchmarks.Sink
	meta    *benchmarks.Meta // nil: no sidecar
	prev    []benchmarks.Result
	done    map[benchmarks.Key]bool
	resumed bool
	started bool
}

// openResults opens and locks --out, and checks what it already holds
// against --resume and --force; nothing is written yet.
func (a *app) openResults(ctx context.Context, sel *selection, verdict map[string]string) (*resultsFile, error) {
	out, resume := a.cfg.Run.Out, a.cfg.Run.Resume
	r := &resultsFile{done: map[benchmarks.Key]bool{}}
	if out == "" {
		if resume {
			return nil, usagef("--resume needs --out FILE (the run to continue)")
		}
		r.sink = benchmarks.NewSink(a.stdout)
		return r, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return nil, usagef("%s %s: %v", a.from("out"), out, err)
	}
	rf, err := benchmarks.OpenRunFile(out)
	if errors.Is(err, benchmarks.ErrLocked) {
		return nil, usagef("%s %s: another llemma-prove run is writing to it (the file is locked); wait for it to end or choose another --out", a.from("out"), out)
	}
	if err != nil {
		return nil, usagef("%s %s: %v", a.from("out"), out, err)
	}
	r.rf, r.sink = rf, rf.Sink()
	a.onExit("the results file", func() error { return rf.Close(!r.started) })
	if !rf.Regular() {
		if resume {
			return nil, usagef("--resume: %s is not a regular file", out)
		}
		a.say("--out %s is not a regular file: no %s sidecar is written, and --resume cannot continue it", out, filepath.Base(benchmarks.MetaPath(out)))
		return r, nil
	}
	if err := r.checkPrevious(a, verdict); err != nil {
		return nil, err
	}
	return r, nil
}

// checkPrevious reads what --out already holds, under its lock.
func (r *resultsFile) checkPrevious(a *app, verdict map[string]string) error {
	out, resume, force := r.rf.Path, a.cfg.Run.Resume, a.cfg.Run.Force
	meta, err := r.rf.ReadMeta()
	if err != nil {
		return usagef("--out %s: %v", out, err)
	}
	size, err := r.rf.Size()
	if err != nil {
		return err
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
		n, err := r.rf.RepairTail()
		if err != nil {
			return fmt.Errorf("--out %s: %w", out, err)
		}
		if n > 0 {
			a.say("resume: dropped a torn last line (%d bytes) of %s left by a killed run", n, out)
		}
		if r.prev, _, err = r.rf.ReadResults(); err != nil {
			return usagef("--resume: %v", err)
		}
		for _, res := range r.prev {
			if res.Final() {
				r.done[res.Key()] = true
			}
		}
		r.resumed = true
	}
	if meta == nil {
		meta = benchmarks.NewMeta(verdict)
	}
	r.meta = meta
	return nil
}

// begin records this session in the sidecar (under the file's lock).
func (r *resultsFile) begin(ctx context.Context, a *app, sel *selection) error {
	r.started = true
	if r.meta == nil {
		return nil
	}
	names := make([]string, len(sel.thms))
	for i, t := range sel.thms {
		names[i] = t.Name
	}
	cfg := map[string]any{}
	for k, v := range a.cfg.Values() {
		cfg[k] = v
	}
	shard := ""
	if sel.shard.Active() {
		shard = sel.shard.String()
	}
	r.meta.Sessions = append(r.meta.Sessions, benchmarks.Session{
		ID: benchmarks.NewRunID(), Started: time.Now().UTC().Truncate(time.Second), Host: hostname(),
		GitRevision: benchmarks.GitRevision(ctx), Args: redactArgs(os.Args[1:]), Config: cfg,
		Versions: versionsOf(r.meta.Verdict), Resumed: r.resumed, Forced: a.cfg.Run.Force,
		Shard: shard, ShardSource: sel.shardSrc, Split: sel.split, Attempts: sel.attempts, Theorems: names,
	})
	if err := r.rf.WriteMeta(r.meta); err != nil {
		return fmt.Errorf("--out %s: writing the run header: %w", r.rf.Path, err)
	}
	return nil
}

// versionsOf are the tool versions recorded in a verdict config.
func versionsOf(verdict map[string]string) map[string]string {
	out := map[string]string{"llemma-prove": version()}
	for k, v := range verdict {
		if name, ok := strings.CutPrefix(k, "version."); ok {
			out[name] = v
		}
	}
	return out
}

// execute runs the selection and returns this session's results.
func (a *app) execute(ctx context.Context, sel *selection, st *stack, out *resultsFile) ([]benchmarks.Result, error) {
	conc := a.cfg.Run.Concurrency
	if conc == 0 {
		conc = a.workers()
	}
	r := &benchmarks.Runner{Agent: st.agent, Prover: st.modeProver, Mode: a.mode(), Proposer: st.proposer.Name(), Concurrency: conc, Sink: out.sink,
		Progress: a.stderr, Log: a.log, Attempts: sel.attempts, Skip: func(k benchmarks.Key) bool { return out.done[k] },
		MaxErrors: a.cfg.Run.Breaker,
		JobContext: func(ctx context.Context, j benchmarks.Job) context.Context {
			return withCostMeter(model.WithAttempt(ctx, j.Attempt))
		},
		Annotate: addModelCost}
	if dir := a.cfg.Run.Trace; dir != "" {
		traces, err := benchmarks.OpenTraceWriter(dir, a.traceRun(sel, st, out))
		if err != nil {
			return nil, err
		}
		a.onExit("the traces", traces.Close)
		r.Traces = traces
		st.agent.Proposer = traces.Observe(st.agent.Proposer, model.AttemptFrom)
	}
	jobs := r.Jobs(sel.thms)
	if out.meta != nil {
		a.say("run %s: results in %s, header in %s", out.meta.RunID, out.rf.Path, benchmarks.MetaPath(out.rf.Path))
	}
	if skipped := len(sel.thms)*sel.attempts - len(jobs); skipped > 0 {
		a.say("resume: %d of %d attempts already have a verdict", skipped, len(sel.thms)*sel.attempts)
	}
	ag := st.agent
	ag.OnEvent = func(msg string) { a.log.Debug(msg) }
	if st.modeProver != nil {
		a.say("proving %d theorems of miniF2F %s in mode %s with %s + %s (%d at a time on %d checker processes, %d samples per theorem, %d repair rounds)",
			len(jobs), sel.split, a.mode(), sel.drv.Name, st.proposer.Name(), conc, a.workers(), sel.attempts, a.cfg.Run.Mode.RepairRounds)
		return r.Run(ctx, sel.thms)
	}
	a.say("proving %d theorems of miniF2F %s with %s + %s (%d at a time on %d checker processes, budget %d expansions x %d candidates, %s of tactic time per theorem, %s per tactic)",
		len(jobs), sel.split, sel.drv.Name, st.proposer.Name(), conc, a.workers(), ag.Search.Expansions, ag.Search.Samples, ag.TheoremTimeout, ag.Search.TacticTimeout)
	return r.Run(ctx, sel.thms)
}

type costMeterKey struct{}

// withCostMeter gives a job's ctx a model.Meter of its own: the cost of
// its proposals, for its result line (addModelCost).
func withCostMeter(ctx context.Context) context.Context {
	m := &model.Meter{}
	return context.WithValue(model.WithMeter(ctx, m), costMeterKey{}, m)
}

// addModelCost puts what the job's proposals cost at the model runtime on
// its result line (none for a proposer that never called one).
func addModelCost(ctx context.Context, _ benchmarks.Job, res *benchmarks.Result) {
	m, ok := ctx.Value(costMeterKey{}).(*model.Meter)
	if !ok {
		return
	}
	if c := m.Cost(); c.Requests > 0 {
		mc := benchmarks.ModelCost(c)
		res.ModelCost = &mc
	}
}

// traceRun names this session's --trace directory: the system and the
// run (the sidecar's run and session ids; fresh ones without a sidecar).
func (a *app) traceRun(sel *selection, st *stack, out *resultsFile) benchmarks.TraceRun {
	tr := benchmarks.TraceRun{Backend: sel.drv.Name, Proposer: st.proposer.Name(), RunID: benchmarks.NewRunID(), Session: benchmarks.NewRunID()}
	if st.llm != nil {
		tr.Model = a.cfg.Model.Name
	}
	if a.cfg.Search.LlemmaParity {
		tr.Mode = "llemma-parity"
	}
	if m := out.meta; m != nil && len(m.Sessions) > 0 {
		tr.RunID, tr.Session = m.RunID, m.Sessions[len(m.Sessions)-1].ID
	}
	return tr
}

// summarize prints the summary of the selection (earlier sessions
// included) and says why the run is not complete when it is not.
func (a *app) summarize(ctx context.Context, sel *selection, out *resultsFile, results []benchmarks.Result, runErr error, wall time.Duration) error {
	var be *benchmarks.BreakerError
	if runErr != nil && !errors.As(runErr, &be) {
		return runErr
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
	want := map[benchmarks.Key]bool{}
	for _, t := range sel.thms {
		for i := range sel.attempts {
			want[benchmarks.Key{Name: t.Name, Split: t.Split, Backend: t.Backend, Attempt: i}] = true
		}
	}
	var all []benchmarks.Result
	for _, res := range append(out.prev, results...) {
		if want[res.Key()] {
			all = append(all, res)
		}
	}
	all = benchmarks.Dedup(all, benchmarks.Result.Key)
	sum := benchmarks.Summarize(all, wall)
	if a.cfg.JSON {
		if err := json.NewEncoder(a.stdout).Encode(sum); err != nil {
			return err
		}
	} else {
		w := a.stderr
		if out.rf != nil {
			w = a.stdout
		}
		sum.WriteText(w)
	}
	switch {
	case ctx.Err() != nil:
		return nil // exit 130
	case be != nil:
		return infraError{be}
	}
	return incomplete(all, len(want))
}

// incomplete is the exit-3 error when theorems of the selection ended in
// error (counted by cause) or got no line at all.
func incomplete(all []benchmarks.Result, want int) error {
	causes := map[string]int{}
	errs := 0
	for _, r := range all {
		if r.Status == string(prover.StatusError) {
			errs++
			causes[r.Cause]++
		}
	}
	if errs == 0 {
		return nil
	}
	var parts []string
	for c, n := range causes {
		parts = append(parts, fmt.Sprintf("%s: %d", c, n))
	}
	sort.Strings(parts)
	return infraf("%d of %d theorems ended in error (%s), not in a verdict; fix the cause and run again with --resume to retry them",
		errs, want, strings.Join(parts, ", "))
}

// redactArgs hides the values of secret flags and passwords in URLs.
func redactArgs(args []string) []string {
	secret := map[string]bool{}
	for _, k := range config.Keys() {
		if k.Secret {
			secret["--"+k.Flag] = true
		}
	}
	out := make([]string, len(args))
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if name, _, ok := strings.Cut(arg, "="); ok && secret[name] {
			out[i] = name + "=" + config.Redacted
			continue
		}
		out[i] = config.RedactURL(arg)
		if secret[arg] && i+1 < len(args) {
			i++
			out[i] = config.Redacted
		}
	}
	return out
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}
