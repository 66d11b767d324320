// Package benchmarks runs llemma-prove over miniF2F: loaders for each
// system's layout, the runner that appends one result line per theorem as
// it finishes, and the summary.
package benchmarks

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/prover"
)

// Splits are miniF2F's two halves.
var Splits = []string{"test", "valid"}

// Loader reads one split of miniF2F in one system's layout.
type Loader func(dir, split string) ([]prover.Theorem, error)

// loaders maps a backend to its miniF2F loader. Backends register theirs
// in this package so that the runner and the CLI see one table.
var loaders = map[string]Loader{"coq": LoadCoq}

// RegisterLoader adds the loader of a backend.
func RegisterLoader(backend string, l Loader) { loaders[backend] = l }

// Load reads split of the miniF2F copy at dir for backend.
func Load(backend, dir, split string) ([]prover.Theorem, error) {
	l, ok := loaders[backend]
	if !ok {
		return nil, fmt.Errorf("no miniF2F loader for backend %q", backend)
	}
	if split != "test" && split != "valid" {
		return nil, fmt.Errorf("unknown split %q: use test or valid", split)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("data directory %s not found: pass --data DIR (for example ../shared/data/minif2f/%s) or run `make data`", dir, backend)
	}
	return l(dir, split)
}

// LoadCoq reads `DIR/{test,valid}/NAME.v` (the miniF2F-rocq layout); the
// theorem is the one named like its file.
func LoadCoq(dir, split string) ([]prover.Theorem, error) {
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
		thm, err := coq.ParseTheorem(name, string(src))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		thm.Split, thm.Path = split, f
		thms = append(thms, thm)
	}
	return thms, nil
}

// Select keeps the theorems named in only (all when empty), then the first
// limit (all when 0). A name in only that does not exist is an error.
func Select(thms []prover.Theorem, only []string, limit int) ([]prover.Theorem, error) {
	if len(only) > 0 {
		byName := make(map[string]prover.Theorem, len(thms))
		for _, t := range thms {
			byName[t.Name] = t
		}
		var out []prover.Theorem
		for _, n := range only {
			n = strings.TrimSpace(n)
			if n == "" {
				continue
			}
			t, ok := byName[n]
			if !ok {
				return nil, fmt.Errorf("--only: no theorem %q in this split", n)
			}
			out = append(out, t)
		}
		thms = out
	}
	if limit > 0 && len(thms) > limit {
		thms = thms[:limit]
	}
	return thms, nil
}

// Categories are miniF2F's problem sources, by name prefix.
var Categories = []string{"mathd_algebra", "mathd_numbertheory", "amc12", "aime", "imo", "algebra", "numbertheory", "induction"}

// Category returns the problem source of a miniF2F theorem name.
func Category(name string) string {
	for _, c := range Categories {
		if strings.HasPrefix(name, c) {
			return c
		}
	}
	return "other"
}
