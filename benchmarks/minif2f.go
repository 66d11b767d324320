// Package benchmarks runs llemma-prove over miniF2F: loaders for each
// system's layout, the runner that appends one result line per theorem as
// it finishes, and the summary.
package benchmarks

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Splits are miniF2F's two halves.
var Splits = []string{"test", "valid"}

// Load reads split of the miniF2F copy at dir with the loader of the
// backend's driver (prover.Driver.LoadMiniF2F).
func Load(backend, dir, split string) ([]prover.Theorem, error) {
	d, err := prover.Lookup(backend)
	if err != nil {
		return nil, err
	}
	if d.LoadMiniF2F == nil {
		return nil, fmt.Errorf("backend %s has no miniF2F loader", d.Name)
	}
	if split != "test" && split != "valid" {
		return nil, fmt.Errorf("unknown split %q: use test or valid", split)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil, dataError{fmt.Errorf("data directory %s not found: pass --data DIR (for example ../shared/data/minif2f/%s) or run `make data`", dir, d.DataDir)}
	}
	thms, err := d.LoadMiniF2F(dir, split)
	if err != nil {
		return nil, dataError{err}
	}
	for i := range thms {
		if thms[i].Backend == "" {
			thms[i].Backend = d.Name
		}
		if thms[i].Split == "" {
			thms[i].Split = split
		}
	}
	return thms, nil
}

// ErrData marks a benchmark directory that is missing or does not parse
// (the CLI exits 2 for it).
var ErrData = errors.New("benchmarks: bad miniF2F data")

// dataError wraps ErrData without adding its text.
type dataError struct{ err error }

func (e dataError) Error() string   { return e.err.Error() }
func (e dataError) Unwrap() []error { return []error{ErrData, e.err} }

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
