package coq

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/llemma-prove/llemma-prove/config"
	"github.com/llemma-prove/llemma-prove/prover"
)

func init() {
	prover.Register(prover.Driver{
		Name:         "coq",
		Extensions:   []string{".v"},
		DataDir:      "coq",
		New:          newFromConfig,
		Policy:       func(config.Config) prover.Policy { return Policy{} },
		ParseTheorem: ParseTheorem,
		LastTheorem:  LastTheorem,
		LoadMiniF2F:  LoadMiniF2F,
		Doctor: func(ctx context.Context, cfg config.Config) []prover.Check {
			return Doctor(ctx, configFrom(cfg, 0, nil))
		},
		Versions: func(ctx context.Context, cfg config.Config) map[string]string {
			return map[string]string{"coqc": toolVersion(ctx, cfg.Coq.Coqc)}
		},
	})
}

// configFrom is the backend configuration of the typed config.
func configFrom(cfg config.Config, workers int, log *slog.Logger) Config {
	c := cfg.Coq
	return Config{
		Coqtop:        []string{c.Coqtop, "-quiet", "-emacs"},
		Coqc:          c.Coqc,
		Coqchk:        c.Coqchk,
		Workers:       workers,
		MemoryLimit:   c.MemoryLimit,
		MaxUses:       c.MaxUses,
		Processes:     c.Processes,
		AllowedAxioms: c.AllowAxioms,
		Interval:      c.Interval,
		Log:           log,
	}
}

func newFromConfig(cfg config.Config, workers int, log *slog.Logger) (prover.Backend, error) {
	return New(configFrom(cfg, workers, log)), nil
}

var lastDeclRE = regexp.MustCompile(`(?m)^\s*(?:Theorem|Lemma|Example|Corollary|Proposition|Fact|Remark)\s+([\p{L}_][\p{L}\p{N}_']*)`)

// LastTheorem is the name of the last theorem declared in src ("" when
// none).
func LastTheorem(src string) string {
	m := lastDeclRE.FindAllStringSubmatch(src, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

// LoadMiniF2F reads DIR/SPLIT/NAME.v (the miniF2F-rocq layout); each
// file's theorem is the one named like the file.
func LoadMiniF2F(dir, split string) ([]prover.Theorem, error) {
	files, err := filepath.Glob(filepath.Join(dir, split, "*.v"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .v files in %s: is --data the miniF2F Coq directory (holding test/ and valid/)?", filepath.Join(dir, split))
	}
	sort.Strings(files)
	thms := make([]prover.Theorem, 0, len(files))
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(filepath.Base(f), ".v")
		thm, err := ParseTheorem(name, string(src))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		thm.Split, thm.Path = split, f
		thms = append(thms, thm)
	}
	return thms, nil
}

// toolVersion is the first line of `cmd --version` ("" when it fails).
func toolVersion(ctx context.Context, cmd string) string {
	for _, c := range Doctor(ctx, Config{Coqc: cmd, Coqtop: []string{cmd}}) {
		if c.Name == cmd && c.OK {
			return c.Detail
		}
	}
	return ""
}
