package benchmarks

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/llemma-prove/llemma-prove/coq" // registers the coq driver
	"github.com/llemma-prove/llemma-prove/prover"
)

// Load goes through the backend's driver; a missing or broken data
// directory is ErrData (the CLI's exit 2), an unknown backend names the
// registered ones.
func TestLoadThroughDriver(t *testing.T) {
	t.Parallel()
	if _, err := Load("hol4", t.TempDir(), "test"); err == nil || !strings.Contains(err.Error(), "coq") {
		t.Errorf("unknown backend: %v, want the registered names", err)
	}
	if _, err := Load("coq", filepath.Join(t.TempDir(), "none"), "test"); !errors.Is(err, ErrData) || !strings.Contains(err.Error(), "make data") {
		t.Errorf("missing dir: %v", err)
	}
	if _, err := Load("coq", t.TempDir(), "train"); err == nil || !strings.Contains(err.Error(), "train") {
		t.Errorf("bad split: %v", err)
	}
	bad := t.TempDir()
	os.MkdirAll(filepath.Join(bad, "test"), 0o755)
	os.WriteFile(filepath.Join(bad, "test", "broken.v"), []byte("Theorem broken : 1 = 1.\n(* unterminated"), 0o644)
	if _, err := Load("coq", bad, "test"); !errors.Is(err, ErrData) || !strings.Contains(err.Error(), "broken.v") {
		t.Errorf("malformed file: %v, want ErrData naming broken.v", err)
	}
	empty := t.TempDir()
	if _, err := Load("coq", empty, "test"); !errors.Is(err, ErrData) {
		t.Errorf("no files: %v", err)
	}
}

// The Coq loader reads both splits of the workspace's miniF2F copy: 244
// theorems each, named like their files, with the statement and header
// cut where the theorem starts.
func TestLoadCoqMiniF2F(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "shared", "data", "minif2f", "coq")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipping: %s absent", dir)
	}
	for _, split := range Splits {
		thms, err := Load("coq", dir, split)
		if err != nil {
			t.Fatal(err)
		}
		if len(thms) != 244 {
			t.Errorf("%s: %d theorems, want 244", split, len(thms))
		}
		for _, th := range thms {
			if th.Backend != "coq" || th.Split != split || filepath.Base(th.Path) != th.Name+".v" {
				t.Errorf("%s: backend %q split %q path %q", th.Name, th.Backend, th.Split, th.Path)
			}
			src, _ := os.ReadFile(th.Path)
			if !strings.HasPrefix(string(src), th.Header+th.Statement) || !strings.Contains(th.Statement, th.Name) {
				t.Errorf("%s: header+statement is not a prefix of the file", th.Name)
			}
		}
	}
	if _, err := Select([]prover.Theorem{{Name: "a"}}, []string{"b"}, 0); err == nil {
		t.Error("Select of a missing name succeeded")
	}
}
