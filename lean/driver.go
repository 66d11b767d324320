package lean

import (
	"context"
	"log/slog"
	"strings"

	"github.com/llemma-prove/llemma-prove/config"
	"github.com/llemma-prove/llemma-prove/prover"
)

func init() {
	prover.Register(prover.Driver{
		Name:       "lean",
		Extensions: []string{".lean"},
		DataDir:    "lean4",
		New: func(cfg config.Config, workers int, log *slog.Logger) (prover.Backend, error) {
			c := configFrom(cfg, workers)
			c.Log = log
			return New(c)
		},
		Policy: func(cfg config.Config) prover.Policy {
			return Policy{AllowNativeDecide: cfg.Lean.AllowNativeDecide}
		},
		ParseTheorem: ParseTheorem,
		LastTheorem: func(src string) string {
			m := declRE.FindAllStringSubmatch(src, -1)
			if len(m) == 0 {
				return ""
			}
			return m[len(m)-1][1]
		},
		LoadMiniF2F: LoadMiniF2F,
		Doctor: func(ctx context.Context, cfg config.Config) []prover.Check {
			return Doctor(configFrom(cfg, 0), cfg.Data)
		},
	})
}

// configFrom is the backend configuration of the typed config.
func configFrom(cfg config.Config, workers int) Config {
	project := cfg.Lean.Project
	if project == "" {
		project = cfg.Data
	}
	return Config{
		Repl:              strings.Fields(cfg.Lean.Repl),
		Project:           project,
		MemoryLimit:       cfg.Lean.MemoryLimit,
		MaxRequests:       cfg.Lean.MaxRequests,
		Workers:           workers,
		AllowNativeDecide: cfg.Lean.AllowNativeDecide,
	}
}
