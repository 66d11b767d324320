package isabelle

import (
	"context"
	"log/slog"
	"regexp"
	"strings"

	"github.com/llemma-prove/llemma-prove/config"
	"github.com/llemma-prove/llemma-prove/prover"
)

func init() {
	prover.Register(prover.Driver{
		Name:       "isabelle",
		Extensions: []string{".thy"},
		DataDir:    "isabelle",
		New: func(cfg config.Config, workers int, log *slog.Logger) (prover.Backend, error) {
			c := configFrom(cfg, workers)
			c.Log = log
			return New(c)
		},
		Policy:       func(config.Config) prover.Policy { return Policy{} },
		ParseTheorem: ParseTheorem,
		LastTheorem:  lastTheorem,
		LoadMiniF2F:  LoadMiniF2F,
		Doctor: func(ctx context.Context, cfg config.Config) []prover.Check {
			return Doctor(configFrom(cfg, 0))
		},
	})
}

// configFrom is the backend configuration of the typed config.
func configFrom(cfg config.Config, workers int) Config {
	return Config{
		Server:   strings.Fields(cfg.Isabelle.Server),
		Address:  cfg.Isabelle.Address,
		Password: cfg.Isabelle.Password,
		Session:  cfg.Isabelle.Session,
		Workers:  workers,
	}
}

var lastDeclRE = regexp.MustCompile(`(?m)^\s*(?:theorem|lemma|corollary|proposition)\s+([\p{L}_][\p{L}\p{N}_'.]*)`)

func lastTheorem(src string) string {
	m := lastDeclRE.FindAllStringSubmatch(src, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}
