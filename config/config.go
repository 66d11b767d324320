// Package config is llemma-prove's one typed configuration. The CLI builds
// it once, at the edge, from its viper instance (flags > LLEMMA_*
// environment > --config file > the defaults defined here, once) and
// validates it; everything below the CLI (backends through their drivers,
// proposers, the runner, the bridge) takes the typed values and never reads
// flags, the environment or files itself.
//
// Each backend reads its own section (Coq, Lean, Isabelle); fields that can
// change a verdict are tagged `verdict:"true"` so that the run's meta and
// --resume compare exactly them, and secrets are tagged `secret:"true"` so
// that nothing the run writes or logs contains them.
package config

import "time"

// Config is the whole configuration of one command.
type Config struct {
	Backend  string `key:"backend" verdict:"true"`  // coq, lean, isabelle or auto
	Proposer string `key:"proposer" verdict:"true"` // portfolio, knn, portfolio+knn, llm or auto
	Workers  int    `key:"workers"`                 // checker processes at most (0: the CPUs this process may use)
	Data     string `key:"data"`                    // miniF2F directory of the backend
	LogLevel string `key:"log-level"`

	Search   Search   `key:"search"`
	Coq      Coq      `key:"coq"`
	Lean     Lean     `key:"lean"`
	Isabelle Isabelle `key:"isabelle"`
	Model    Model    `key:"model"`
	KNN      KNN      `key:"knn"`
}

// Search is the budget of one theorem. Zero values mean the proposer's
// default (Budgets).
type Search struct {
	Expansions     int           `key:"expansions" verdict:"true"`
	Samples        int           `key:"samples" verdict:"true"`
	TheoremTimeout time.Duration `key:"theorem-timeout" verdict:"true"`
	TacticTimeout  time.Duration `key:"tactic-timeout" verdict:"true"`
	LlemmaParity   bool          `key:"llemma-parity" verdict:"true"`
}

// Budget is a resolved search budget.
type Budget struct {
	Expansions, Samples           int
	TheoremTimeout, TacticTimeout time.Duration
}

// Budgets are the defaults, written once: Llemma's evaluation budget with
// an LLM, and the GPU-free proposers' budget, tuned so that a miniF2F split
// runs in minutes on two cores.
var Budgets = struct{ LLM, GPUFree Budget }{
	LLM:     Budget{Expansions: 100, Samples: 32, TheoremTimeout: 600 * time.Second, TacticTimeout: 10 * time.Second},
	GPUFree: Budget{Expansions: 12, Samples: 64, TheoremTimeout: 15 * time.Second, TacticTimeout: 3 * time.Second},
}

// Resolve fills the zero fields of s from the proposer's defaults.
func (s Search) Resolve(llm bool) Budget {
	b := Budgets.GPUFree
	if llm {
		b = Budgets.LLM
	}
	if s.Expansions > 0 {
		b.Expansions = s.Expansions
	}
	if s.Samples > 0 {
		b.Samples = s.Samples
	}
	if s.TheoremTimeout > 0 {
		b.TheoremTimeout = s.TheoremTimeout
	}
	if s.TacticTimeout > 0 {
		b.TacticTimeout = s.TacticTimeout
	}
	return b
}

// Coq configures the Coq backend.
type Coq struct {
	Coqtop      string   `key:"coqtop"`
	Coqc        string   `key:"coqc"`
	Coqchk      string   `key:"coqchk"`
	MemoryLimit int64    `key:"memory-limit" verdict:"true"` // bytes
	Interval    bool     `key:"interval" verdict:"true"`
	MaxUses     int      `key:"max-uses"`
	AllowAxioms []string `key:"allow-axioms" verdict:"true"` // full paths; empty: the backend's default list
}

// Lean configures the Lean 4 backend.
type Lean struct {
	Repl              string `key:"repl"` // command line of one REPL
	Project           string `key:"project"`
	MemoryLimit       int64  `key:"memory-limit" verdict:"true"`
	MaxRequests       int    `key:"max-requests"`
	AllowNativeDecide bool   `key:"allow-native-decide" verdict:"true"`
}

// Isabelle configures the Isabelle backend.
type Isabelle struct {
	Server   string `key:"server"`
	Address  string `key:"address"`
	Password string `key:"password" secret:"true"`
	Session  string `key:"session" verdict:"true"`
}

// Model configures the LLM proposer.
type Model struct {
	URLs        []string `key:"url"`
	Name        string   `key:"name" verdict:"true"`
	API         string   `key:"api" verdict:"true"`
	Temperature float64  `key:"temperature" verdict:"true"`
	Beam        bool     `key:"beam" verdict:"true"`
	Seed        int64    `key:"seed" verdict:"true"` // -1: none
	Prompt      string   `key:"prompt" verdict:"true"`
	Launch      string   `key:"launch"`
	APIKey      string   `key:"api-key" secret:"true"`
}

// KNN configures the learned proposer.
type KNN struct {
	Model string `key:"model" verdict:"true"` // the model file (its sha256 goes into the meta)
}

// Defaults is the configuration when nothing is set: the one place the
// defaults are written.
func Defaults() Config {
	return Config{
		Backend:  "auto",
		Proposer: "auto",
		LogLevel: "warn",
		Coq: Coq{
			Coqtop: "coqtop", Coqc: "coqc", Coqchk: "coqchk",
			MemoryLimit: 4 << 30, MaxUses: 20,
		},
		Lean: Lean{Repl: "lake env repl", MemoryLimit: 12 << 30},
		Isabelle: Isabelle{
			Server: "isabelle server", Session: "HOL",
		},
		Model: Model{API: "openai", Temperature: 1.0, Seed: -1, Prompt: "llemma"},
	}
}
