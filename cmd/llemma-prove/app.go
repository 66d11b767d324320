package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/isabelle"
	"github.com/llemma-prove/llemma-prove/lean"
	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

func init() {
	benchmarks.RegisterLoader("isabelle", isabelle.LoadMiniF2F)
	benchmarks.RegisterLoader("lean", lean.LoadMiniF2F)
}

// app is what every command gets: the one viper instance (flags > LLEMMA_*
// environment > config file > defaults), the streams and the logger.
type app struct {
	v      *viper.Viper
	fs     *pflag.FlagSet
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

func newApp(fs *pflag.FlagSet, stdout, stderr io.Writer) (*app, error) {
	v := viper.New()
	v.SetEnvPrefix("LLEMMA")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	v.AutomaticEnv()
	if err := v.BindPFlags(fs); err != nil {
		return nil, err
	}
	// Config-file keys for flags whose names are short on the command line.
	for key, flag := range map[string]string{
		"model.url": "model-url", "model.name": "model", "model.launch": "model-launch",
		"model.api": "model-api", "model.temperature": "temperature", "model.prompt": "prompt",
		"model.beam": "beam", "model.seed": "seed",
	} {
		if f := fs.Lookup(flag); f != nil {
			if err := v.BindPFlag(key, f); err != nil {
				return nil, err
			}
		}
	}
	if path := v.GetString("config"); path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			var pe *iofs.PathError
			if errors.As(err, &pe) {
				return nil, usagef("--config %s: file not found", path)
			}
			return nil, usagef("--config %s: %v", path, err)
		}
	}
	level, err := parseLevel(v.GetString("log-level"))
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	return &app{v: v, fs: fs, stdout: stdout, stderr: stderr, log: log}, nil
}

// say prints one line for people on stderr.
func (a *app) say(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }

// duration reads a duration key, naming the flag in the error.
func (a *app) duration(key string) (time.Duration, error) {
	s := strings.TrimSpace(a.v.GetString(key))
	if s == "" || s == "0" {
		return 0, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	if n, err := strconv.ParseFloat(s, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), nil
	}
	return 0, usagef("--%s %q: give a duration such as 30s or 10m", key, s)
}

// intKey reads a non-negative integer key.
func (a *app) intKey(key string) (int, error) {
	s := strings.TrimSpace(a.v.GetString(key))
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, usagef("--%s %q: give a whole number >= 0", key, s)
	}
	return n, nil
}

// bytesKey reads a size such as 4GiB, 512MiB or a plain number of bytes.
func (a *app) bytesKey(key string) (int64, error) {
	s := strings.TrimSpace(a.v.GetString(key))
	if s == "" {
		return 0, nil
	}
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.m
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, usagef("--%s %q: give a size such as 4GiB", key, a.v.GetString(key))
	}
	return n * mult, nil
}

// backendFlags declares the flags that choose and configure a backend.
func backendFlags(fs *pflag.FlagSet) {
	fs.String("backend", "auto", "proof assistant: coq, lean, isabelle, or auto (the first one installed)")
	fs.Int("workers", 0, "checker processes at most (default: the number of CPUs)")
	fs.String("coq.coqtop", "coqtop", "coqtop command")
	fs.String("coq.coqc", "coqc", "coqc command")
	fs.String("coq.memory-limit", "4GiB", "address-space limit per Coq process")
	fs.Bool("coq.interval", false, "load libcoq-interval's interval tactic (apt-get install -y libcoq-interval) and propose it")
	fs.Int("coq.max-uses", 20, "recycle a warm coqtop after this many theorems")
	fs.StringSlice("coq.allow-axioms", nil, "replace the allow-list of axioms (default: the stdlib's real-number and classical axioms)")
	fs.String("lean.repl", "lake env repl", "command that starts one Lean REPL (run in --lean.project)")
	fs.String("lean.project", "", "the Lake project the REPL runs in (default: the miniF2F data directory)")
	fs.String("lean.memory-limit", "12GiB", "address-space limit per REPL (Mathlib needs about 9GiB)")
	fs.Int("lean.max-requests", 0, "recycle a REPL after this many requests (0: the backend's default)")
	fs.Bool("lean.allow-native-decide", false, "accept native_decide (adds the axiom Lean.ofReduceBool)")
	fs.String("isabelle.server", "isabelle server", "command that starts an Isabelle server")
	fs.String("isabelle.address", "", "reuse a running Isabelle server at HOST:PORT (with --isabelle.password)")
	fs.String("isabelle.password", "", "password of the running Isabelle server")
	fs.String("isabelle.session", "HOL", "Isabelle session the theorems run in")
}

// proposerFlags declares the flags that choose and configure a proposer.
func proposerFlags(fs *pflag.FlagSet) {
	fs.String("proposer", "auto", "where tactics come from: portfolio (no GPU), knn (learned, no GPU), portfolio+knn, llm, or auto (llm when --model-url is set)")
	fs.String("knn-model", "", "k-NN model file for --proposer knn (default "+model.DefaultKNNModel+"; build it with `llemma-prove train`)")
	fs.StringSlice("model-url", nil, "LLM runtime base URL(s), e.g. http://127.0.0.1:8000 (vLLM); several spread the load")
	fs.String("model", "", "served model name, e.g. EleutherAI/llemma_7b")
	fs.String("model-api", "openai", "runtime API: openai (vLLM, SGLang, llama.cpp /v1/completions) or ollama (/api/generate)")
	fs.Float64("temperature", 1.0, "sampling temperature (Llemma used 32-beam search at 0: see --beam)")
	fs.Bool("beam", false, "beam search on vLLM (use_beam_search), as Llemma's evaluation")
	fs.Int64("seed", -1, "sampling seed (-1: none)")
	fs.String("prompt", "llemma", "prompt format: llemma, goal-proofstep, or a template file")
	fs.String("model-launch", "", "command that starts the runtime (e.g. 'vllm serve EleutherAI/llemma_7b'); stopped on exit")
}

// searchFlags declares the budget flags. Zero means the proposer's default.
func searchFlags(fs *pflag.FlagSet) {
	fs.Int("expansions", 0, "nodes expanded per theorem (default: 100 with an LLM, portfolio's own otherwise)")
	fs.Int("samples", 0, "candidates per expansion (default: 32 with an LLM)")
	fs.String("theorem-timeout", "", "wall time per theorem (default: 600s with an LLM)")
	fs.String("tactic-timeout", "", "wall time per tactic (default: 10s with an LLM)")
	fs.Bool("llemma-parity", false, "search as Llemma's proofsearch.py: no state merging, no failure propagation (for comparisons)")
}

// chooseBackend resolves --backend auto and checks the choice exists.
func (a *app) chooseBackend() (string, error) {
	b := strings.ToLower(a.v.GetString("backend"))
	switch b {
	case "coq", "lean", "isabelle":
		return b, nil
	case "", "auto":
		if _, err := exec.LookPath(a.v.GetString("coq.coqtop")); err == nil {
			a.say("backend: coq (auto: coqtop found on PATH)")
			return "coq", nil
		}
		return "", fmt.Errorf("--backend auto: no proof assistant found; install Coq with `sudo apt-get install -y coq libcoq-coquelicot` (or run `make run`), or choose --backend lean|isabelle")
	}
	return "", usagef("--backend %q: use coq, lean, isabelle or auto", b)
}

// newBackend builds the chosen backend from the configuration.
func (a *app) newBackend(name string) (prover.Backend, error) {
	workers, err := a.intKey("workers")
	if err != nil {
		return nil, err
	}
	if workers == 0 {
		workers = defaultWorkers()
	}
	switch name {
	case "coq":
		mem, err := a.bytesKey("coq.memory-limit")
		if err != nil {
			return nil, err
		}
		if _, err := exec.LookPath(a.v.GetString("coq.coqtop")); err != nil {
			return nil, fmt.Errorf("%w: coqtop not found; install Coq with `sudo apt-get install -y coq libcoq-coquelicot` (or run `make run`)", prover.ErrUnavailable)
		}
		return coq.New(coq.Config{
			Coqtop:        append([]string{a.v.GetString("coq.coqtop")}, "-quiet", "-emacs"),
			Coqc:          a.v.GetString("coq.coqc"),
			Workers:       workers,
			MemoryLimit:   mem,
			MaxUses:       a.v.GetInt("coq.max-uses"),
			AllowedAxioms: a.v.GetStringSlice("coq.allow-axioms"),
			Interval:      a.v.GetBool("coq.interval"),
			Log:           a.log,
		}), nil
	case "lean":
		mem, err := a.bytesKey("lean.memory-limit")
		if err != nil {
			return nil, err
		}
		repl := strings.Fields(a.v.GetString("lean.repl"))
		if len(repl) == 0 {
			return nil, usagef("--lean.repl is empty")
		}
		if _, err := exec.LookPath(repl[0]); err != nil {
			return nil, fmt.Errorf("%w: %s not found; install Lean and build the REPL with `make setup-lean` (needs internet), then pass --lean.repl and --lean.project", prover.ErrUnavailable, repl[0])
		}
		return lean.New(lean.Config{
			Repl:              repl,
			Project:           a.leanProject(),
			MemoryLimit:       mem,
			MaxRequests:       a.v.GetInt("lean.max-requests"),
			Workers:           workers,
			AllowNativeDecide: a.v.GetBool("lean.allow-native-decide"),
		})
	case "isabelle":
		if a.v.GetString("isabelle.address") == "" {
			if f := strings.Fields(a.v.GetString("isabelle.server")); len(f) == 0 {
				return nil, usagef("--isabelle.server is empty")
			} else if _, err := exec.LookPath(f[0]); err != nil {
				return nil, fmt.Errorf("%w: %s not found; install Isabelle2023 or later and put its bin/ on PATH, or pass --isabelle.address of a running server", prover.ErrUnavailable, f[0])
			}
		}
		return isabelle.New(isabelle.Config{
			Server:   strings.Fields(a.v.GetString("isabelle.server")),
			Address:  a.v.GetString("isabelle.address"),
			Password: a.v.GetString("isabelle.password"),
			Session:  a.v.GetString("isabelle.session"),
			Workers:  workers,
			Log:      a.log,
		})
	}
	return nil, fmt.Errorf("backend %s is not wired into this build yet", name)
}

// newProposer builds the proposer and reports whether it is the GPU-free
// portfolio (whose budgets differ).
func (a *app) newProposer(backend string) (prover.Proposer, bool, error) {
	p := strings.ToLower(a.v.GetString("proposer"))
	switch p {
	case "", "auto":
		if len(a.v.GetStringSlice("model.url")) > 0 {
			p = "llm"
		} else {
			p = "portfolio"
		}
		a.say("proposer: %s (auto)", p)
	}
	switch p {
	case "portfolio":
		return &model.Portfolio{Backend: backend, Interval: backend == "coq" && a.v.GetBool("coq.interval")}, true, nil
	case "knn", "portfolio+knn":
		k, err := model.OpenKNN(a.v.GetString("knn-model"), backend)
		if err != nil {
			return nil, false, err
		}
		if p == "knn" {
			return k, true, nil
		}
		return model.Merge(&model.Portfolio{Backend: backend, Interval: backend == "coq" && a.v.GetBool("coq.interval")}, k), true, nil
	case "llm":
		l, err := a.newLLM(backend)
		return l, false, err
	}
	return nil, false, usagef("--proposer %q: use portfolio, knn, portfolio+knn, llm or auto", p)
}

// newLLM builds the LLM proposer; the caller closes it (stopping a runtime
// it launched).
func (a *app) newLLM(backend string) (*model.LLM, error) {
	name := a.v.GetString("model.name")
	if name == "" {
		return nil, usagef("--proposer llm needs --model NAME (the served model, e.g. EleutherAI/llemma_7b)")
	}
	samples, err := a.intKey("samples")
	if err != nil {
		return nil, err
	}
	cfg := model.LLMConfig{
		URLs:         a.v.GetStringSlice("model.url"),
		Model:        name,
		API:          a.v.GetString("model.api"),
		Samples:      samples,
		Temperature:  func() *float64 { t := a.v.GetFloat64("model.temperature"); return &t }(),
		Beam:         a.v.GetBool("model.beam"),
		PromptFormat: a.v.GetString("model.prompt"),
		Backend:      backend,
		Policy:       policyFor(backend),
		Launch:       a.v.GetString("model.launch"),
		OnProgress:   func(msg string) { a.say("model: %s", msg) },
	}
	if seed := a.v.GetInt64("model.seed"); seed >= 0 {
		cfg.Seed = &seed
	}
	return model.NewLLM(cfg)
}

// policyFor is the tactic policy that candidates for backend must pass.
func policyFor(backend string) prover.Policy {
	switch backend {
	case "lean":
		return prover.LeanPolicy{}
	case "isabelle":
		return prover.IsabellePolicy{}
	}
	return coq.Policy{}
}

// Budgets. The LLM defaults are Llemma's evaluation; the portfolio's are
// tuned so that a miniF2F split runs in minutes on two cores.
var (
	llmBudget       = budget{expansions: 100, samples: 32, theorem: 600 * time.Second, tactic: 10 * time.Second}
	portfolioBudget = budget{expansions: 12, samples: 64, theorem: 15 * time.Second, tactic: 3 * time.Second}
)

type budget struct {
	expansions, samples int
	theorem, tactic     time.Duration
}

// budget reads the budget flags over the proposer's defaults.
func (a *app) budget(portfolio bool) (budget, error) {
	d := llmBudget
	if portfolio {
		d = portfolioBudget
	}
	exp, err := a.intKey("expansions")
	if err != nil {
		return d, err
	}
	samples, err := a.intKey("samples")
	if err != nil {
		return d, err
	}
	tt, err := a.duration("theorem-timeout")
	if err != nil {
		return d, err
	}
	tac, err := a.duration("tactic-timeout")
	if err != nil {
		return d, err
	}
	if exp > 0 {
		d.expansions = exp
	}
	if samples > 0 {
		d.samples = samples
	}
	if tt > 0 {
		d.theorem = tt
	}
	if tac > 0 {
		d.tactic = tac
	}
	return d, nil
}

// newAgent assembles the agent with the budget flags over the proposer's
// defaults.
func (a *app) newAgent(b prover.Backend, p prover.Proposer, portfolio bool) (*prover.Agent, error) {
	d, err := a.budget(portfolio)
	if err != nil {
		return nil, err
	}
	return &prover.Agent{
		Backend:        b,
		Proposer:       p,
		Search:         search.Config{Expansions: d.expansions, Samples: d.samples, TacticTimeout: d.tactic, LlemmaParity: a.v.GetBool("llemma-parity")},
		TheoremTimeout: d.theorem,
		Log:            a.log,
	}, nil
}

// leanProject is the Lake project the REPL runs in: --lean.project, else
// the miniF2F Lean 4 data directory (itself a Lake project).
func (a *app) leanProject() string {
	if p := a.v.GetString("lean.project"); p != "" {
		return p
	}
	return a.dataDir("lean")
}

// dataDir resolves --data: the flag, else data/minif2f/<backend> (made by
// `make data`), else ../shared/data/minif2f/<backend>.
func (a *app) dataDir(backend string) string {
	if d := a.v.GetString("data"); d != "" {
		return d
	}
	if backend == "lean" {
		backend = "lean4"
	}
	for _, d := range []string{filepath.Join("data", "minif2f", backend), filepath.Join("..", "shared", "data", "minif2f", backend)} {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return filepath.Join("data", "minif2f", backend)
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
