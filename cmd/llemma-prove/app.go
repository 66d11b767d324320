package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/config"
	_ "github.com/llemma-prove/llemma-prove/coq" // the backends register their drivers
	"github.com/llemma-prove/llemma-prove/internal/proc"
	_ "github.com/llemma-prove/llemma-prove/isabelle"
	_ "github.com/llemma-prove/llemma-prove/lean"
	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// app is what every command gets: the typed configuration built once from
// the one viper instance, where each value came from, the streams, the
// logger, and what to stop when the command ends.
type app struct {
	cmd    *command
	set    *settings
	cfg    config.Config
	v      *viper.Viper // for the flags outside the schema (train's)
	fs     *pflag.FlagSet
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger

	mu      sync.Mutex
	closers []closer
	doctors map[string][]prover.Check
}

type closer struct {
	what string
	fn   func() error
}

// onExit registers fn to run when the command ends, on every exit path
// (last registered, first run).
func (a *app) onExit(what string, fn func() error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closers = append(a.closers, closer{what, fn})
}

// close runs the registered closers.
func (a *app) close() error {
	a.mu.Lock()
	cs := a.closers
	a.closers = nil
	a.mu.Unlock()
	var errs []error
	for i := len(cs) - 1; i >= 0; i-- {
		if err := cs[i].fn(); err != nil {
			errs = append(errs, fmt.Errorf("stopping %s: %w", cs[i].what, err))
		}
	}
	return errors.Join(errs...)
}

// say prints one line for people on stderr.
func (a *app) say(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }

// from names where a key's value came from, for messages.
func (a *app) from(key string) string { return a.set.from(key) }

// duration reads a flag outside the schema (train's) as a duration.
func (a *app) duration(key string) (time.Duration, error) {
	s := a.v.GetString(key)
	d, ok := config.ParseDuration(s)
	if !ok {
		return 0, usagef("--%s %q: give a duration such as 30s or 10m", key, s)
	}
	return d, nil
}

// intKey reads a flag outside the schema as a whole number >= 0.
func (a *app) intKey(key string) (int, error) {
	var c config.Config
	s := strings.TrimSpace(a.v.GetString(key))
	if s == "" {
		return 0, nil
	}
	if err := c.Set("workers", s); err != nil {
		return 0, usagef("--%s %q: give a whole number >= 0", key, s)
	}
	return c.Workers, nil
}

// bytesKey reads a flag outside the schema as a size (4GiB).
func (a *app) bytesKey(key string) (int64, error) {
	n, ok := config.ParseBytes(a.v.GetString(key))
	if !ok {
		return 0, usagef("--%s %q: give a size such as 4GiB", key, a.v.GetString(key))
	}
	return n, nil
}

// defaultWorkers is the number of CPUs this process may use (affinity and
// cgroup quota: a pod's limit, not the node's CPU count).
func defaultWorkers() int { return proc.CPUs() }

// workers is the number of checker processes at most.
func (a *app) workers() int {
	if a.cfg.Workers > 0 {
		return a.cfg.Workers
	}
	return defaultWorkers()
}

// testDriver, when set (by tests), replaces parts of the chosen driver
// (its backend factory, its doctor).
var testDriver func(prover.Driver) prover.Driver

// driver looks the configured backend up; auto is the first registered
// backend whose doctor finds everything it needs.
func (a *app) driver(ctx context.Context) (prover.Driver, error) {
	name := strings.ToLower(a.cfg.Backend)
	if name != "" && name != "auto" {
		d, err := prover.Lookup(name)
		if err != nil {
			return prover.Driver{}, usagef("%s %q: use %s or auto", a.from("backend"), a.cfg.Backend, strings.Join(driverNames(), ", "))
		}
		return a.use(d), nil
	}
	var missing []string
	for _, d := range prover.Drivers() {
		d = a.use(d)
		if bad := failing(a.doctor(ctx, d)); len(bad) == 0 {
			return d, nil
		} else {
			missing = append(missing, fmt.Sprintf("%s: %s", d.Name, checkText(bad[0])))
		}
	}
	return prover.Driver{}, infraf("%w: --backend auto: no proof assistant is installed (%s)", prover.ErrUnavailable, strings.Join(missing, "; "))
}

// driverForFile is the driver of a source file's extension, unless
// --backend says otherwise.
func (a *app) driverForFile(ctx context.Context, path string) (prover.Driver, error) {
	if src := a.set.src["backend"]; src.kind != "default" && src.kind != "" && a.cfg.Backend != "auto" {
		return a.driver(ctx)
	}
	d, ok := prover.DriverForFile(path)
	if !ok {
		return prover.Driver{}, usagef("%s: no backend reads %s files; give --backend %s", path, filepath.Ext(path), strings.Join(driverNames(), "|"))
	}
	return a.use(d), nil
}

// use makes d the command's backend: the data directory defaults to d's,
// and tests may swap parts of it.
func (a *app) use(d prover.Driver) prover.Driver {
	if testDriver != nil {
		d = testDriver(d)
	}
	return d
}

func driverNames() []string {
	var out []string
	for _, d := range prover.Drivers() {
		out = append(out, d.Name)
	}
	return out
}

// doctor runs d's checks once per command.
func (a *app) doctor(ctx context.Context, d prover.Driver) []prover.Check {
	a.mu.Lock()
	if c, ok := a.doctors[d.Name]; ok {
		a.mu.Unlock()
		return c
	}
	a.mu.Unlock()
	var checks []prover.Check
	if d.Doctor != nil {
		cfg := a.cfg
		cfg.Data = a.dataDir(d)
		checks = d.Doctor(ctx, cfg)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.doctors == nil {
		a.doctors = map[string][]prover.Check{}
	}
	a.doctors[d.Name] = checks
	return checks
}

// failing are the checks that are neither OK nor optional.
func failing(checks []prover.Check) []prover.Check {
	var out []prover.Check
	for _, c := range checks {
		if !c.OK && !c.Optional {
			out = append(out, c)
		}
	}
	return out
}

func checkText(c prover.Check) string {
	s := c.Name + ": " + c.Detail
	if c.Fix != "" {
		s += " (fix: " + c.Fix + ")"
	}
	return s
}

// dataDir resolves --data: the key, else data/minif2f/<dir> (made by
// `make data`), else ../shared/data/minif2f/<dir>.
func (a *app) dataDir(d prover.Driver) string {
	if a.cfg.Data != "" {
		return a.cfg.Data
	}
	for _, dir := range []string{filepath.Join("data", "minif2f", d.DataDir), filepath.Join("..", "shared", "data", "minif2f", d.DataDir)} {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
	}
	return filepath.Join("data", "minif2f", d.DataDir)
}

// backendConfig is the configuration a driver builds its backend from,
// with the data directory resolved.
func (a *app) backendConfig(d prover.Driver) config.Config {
	cfg := a.cfg
	cfg.Data = a.dataDir(d)
	return cfg
}

// newBackend builds d's backend; it is stopped when the command ends. Its
// processes start lazily.
func (a *app) newBackend(d prover.Driver, workers int) (prover.Backend, error) {
	b, err := a.buildBackend(d, workers)
	if err != nil {
		return nil, err
	}
	a.onExit("the "+d.Name+" backend", b.Close)
	return b, nil
}

// buildBackend builds d's backend, for a caller that stops it.
func (a *app) buildBackend(d prover.Driver, workers int) (prover.Backend, error) {
	b, err := d.New(a.backendConfig(d), workers, a.log)
	if err != nil {
		if errors.Is(err, prover.ErrUnavailable) {
			return nil, infraError{err}
		}
		return nil, usagef("backend %s: %v", d.Name, err)
	}
	return b, nil
}

// proposerKind resolves --proposer auto.
func (a *app) proposerKind() string {
	if p := a.cfg.Proposer; p != "auto" && p != "" {
		return p
	}
	if len(a.cfg.Model.URLs) > 0 {
		return "llm"
	}
	return "portfolio"
}

// newProposer builds the proposer for d; an LLM runtime it launches is
// stopped when the command ends.
func (a *app) newProposer(d prover.Driver) (prover.Proposer, *model.LLM, error) {
	portfolio := func() *model.Portfolio {
		return &model.Portfolio{Backend: d.Name, Interval: a.cfg.Coq.Interval}
	}
	switch kind := a.proposerKind(); kind {
	case "portfolio":
		return portfolio(), nil, nil
	case "knn", "portfolio+knn":
		k, err := model.OpenKNN(a.cfg.KNN.Model, d.Name)
		if err != nil {
			return nil, nil, usagef("%s: %w", a.from("knn.model"), err)
		}
		if kind == "knn" {
			return k, nil, nil
		}
		return model.Merge(portfolio(), k), nil, nil
	default: // llm
		l, err := a.newLLM(d)
		if err != nil {
			return nil, nil, err
		}
		return l, l, nil
	}
}

// llmConfig is the LLM proposer's configuration for d: every model.* key
// (model.LLMConfigFrom), the backend's policy, and with --llemma-parity
// Llemma's decoding (refused when a key set explicitly contradicts it).
func (a *app) llmConfig(d prover.Driver) (model.LLMConfig, error) {
	if a.cfg.Model.Name == "" {
		return model.LLMConfig{}, usagef("--proposer llm needs --model NAME (the served model, e.g. EleutherAI/llemma_7b)")
	}
	cfg, err := model.LLMConfigFrom(a.cfg.Model, d.Name, a.budget().Samples)
	if err != nil {
		return model.LLMConfig{}, usagef("%w", err)
	}
	cfg.Policy = d.Policy(a.cfg)
	cfg.OnProgress = func(msg string) { a.say("model: %s", msg) }
	cfg.Log = a.log
	if a.cfg.Search.LlemmaParity {
		if cfg, err = model.LlemmaParity(cfg, a.explicit); err != nil {
			return model.LLMConfig{}, usagef("%w", err)
		}
	}
	return cfg, nil
}

// explicit reports whether a key was set by a flag, a variable or the
// file (the search keys are also accepted as "search.NAME").
func (a *app) explicit(key string) bool {
	if _, ok := config.Lookup(key); !ok {
		key = strings.TrimPrefix(key, "search.")
	}
	src, ok := a.set.src[key]
	return ok && src.kind != "default"
}

func (a *app) newLLM(d prover.Driver) (*model.LLM, error) {
	cfg, err := a.llmConfig(d)
	if err != nil {
		return nil, err
	}
	l, err := model.NewLLM(cfg)
	if err != nil {
		return nil, usagef("--proposer llm: %w", err)
	}
	a.onExit("the model runtime", l.Close)
	return l, nil
}

// budget is the configured budget over the proposer's defaults.
func (a *app) budget() config.Budget { return a.cfg.Search.Resolve(a.proposerKind() == "llm") }

// newAgent assembles the agent over b and p with the configured budgets.
func (a *app) newAgent(b prover.Backend, p prover.Proposer) *prover.Agent {
	bud := a.budget()
	return &prover.Agent{
		Backend:        b,
		Proposer:       p,
		Search:         search.Config{Expansions: bud.Expansions, Samples: bud.Samples, TacticTimeout: bud.TacticTimeout, LlemmaParity: a.cfg.Search.LlemmaParity, Speculate: a.cfg.Search.Speculate},
		TheoremTimeout: bud.TheoremTimeout,
		SetupTimeout:   a.cfg.Search.SetupTimeout,
		VerifyTimeout:  a.cfg.Search.VerifyTimeout,
		WallBackstop:   a.cfg.Search.Backstop,
		Log:            a.log,
	}
}

// stack is what a proving command runs on: a backend, a proposer and the
// agent over them.
type stack struct {
	drv      prover.Driver
	backend  prover.Backend
	proposer prover.Proposer
	llm      *model.LLM // the proposer when it is an LLM
	agent    *prover.Agent
	// modeProver proves instead of the agent in the whole-proof and
	// sketch modes (nil: step).
	modeProver prover.Prover
}

// newStack builds the backend (workers checker processes at most), the
// proposer and the agent for d. Nothing starts yet.
func (a *app) newStack(d prover.Driver, workers int) (*stack, error) {
	b, err := a.newBackend(d, workers)
	if err != nil {
		return nil, err
	}
	p, l, err := a.newProposer(d)
	if err != nil {
		return nil, err
	}
	return &stack{drv: d, backend: b, proposer: p, llm: l, agent: a.newAgent(b, p)}, nil
}

func version() string {
	rev := benchmarks.GitRevision(context.Background())
	if r, dirty, ok := strings.Cut(rev, "+"); ok && len(r) > 12 {
		return r[:12] + "+" + dirty
	} else if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}
