package lean

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/prover"
)

const minif2fHeader = "import Mathlib\n\nset_option maxHeartbeats 0\n\nopen BigOperators Real Nat Topology Rat\n\n"

func TestParseTheorem(t *testing.T) {
	t.Parallel()
	src := minif2fHeader + "theorem amc12b_2002_p3 (S : Finset ℕ)\n  -- note: a comment\n  (h₀ : ∀ n : ℕ, n ∈ S ↔ 0 < n) :\n  S.card = 1 := by sorry"
	thm, err := ParseTheorem("amc12b_2002_p3", src)
	if err != nil {
		t.Fatal(err)
	}
	if thm.Header != minif2fHeader || thm.Backend != "lean" || thm.Name != "amc12b_2002_p3" {
		t.Fatalf("ParseTheorem = %+v", thm)
	}
	if want := "theorem amc12b_2002_p3 (S : Finset ℕ)\n  -- note: a comment\n  (h₀ : ∀ n : ℕ, n ∈ S ↔ 0 < n) :\n  S.card = 1"; thm.Statement != want {
		t.Fatalf("Statement = %q, want %q", thm.Statement, want)
	}
	if thm.Header+thm.Statement+" := by sorry" != src {
		t.Error("header + statement + \" := by sorry\" does not give back the file")
	}
	for name, bad := range map[string]string{
		"no theorem":   minif2fHeader + "def x := 1",
		"wrong name":   minif2fHeader + "theorem other : 1 = 1 := by sorry",
		"no sorry":     minif2fHeader + "theorem t : 1 = 1 := by rfl",
		"two theorems": minif2fHeader + "theorem t : 1 = 1 := by sorry\ntheorem u : 1 = 1 := by sorry",
	} {
		if _, err := ParseTheorem("t", bad); !errors.Is(err, prover.ErrLoad) {
			t.Errorf("ParseTheorem(%s) err = %v, want ErrLoad", name, err)
		}
	}
}

func TestLoadMiniF2F(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(sharedDir(t), "data", "minif2f", "lean4")
	for _, split := range []string{"test", "valid"} {
		thms, err := LoadMiniF2F(dir, split)
		if err != nil {
			t.Fatal(err)
		}
		if len(thms) != 244 {
			t.Errorf("%s: %d theorems, want 244", split, len(thms))
		}
		for _, thm := range thms {
			if thm.Header != minif2fHeader {
				t.Fatalf("%s: header %q", thm.Name, thm.Header)
			}
			src, _ := os.ReadFile(thm.Path)
			if got := thm.Header + thm.Statement + " := by sorry"; strings.TrimRight(string(src), "\n") != got {
				t.Fatalf("%s: header+statement does not rebuild the file", thm.Name)
			}
			if thm.Split != split || !strings.HasPrefix(thm.Statement, "theorem "+thm.Name) {
				t.Fatalf("%s: %+v", thm.Name, thm)
			}
		}
	}
	if _, err := LoadMiniF2F(dir, "train"); err == nil {
		t.Error("LoadMiniF2F(train) succeeded")
	}
}

func TestAssemble(t *testing.T) {
	t.Parallel()
	b, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	thm := prover.Theorem{Name: "t", Header: minif2fHeader, Statement: "theorem t (x : ℝ) (h : x = 2) :\n  x + 1 = 3"}
	got := b.Assemble(thm, []string{"have h2 : x = 2 := by\n  exact h", "rw [h2]  \n\n  ring_nf", "norm_num"})
	want := minif2fHeader + thm.Statement + " := by\n  have h2 : x = 2 := by\n    exact h\n  rw [h2]\n    ring_nf\n  norm_num\n"
	if got != want {
		t.Fatalf("Assemble = %q, want %q", got, want)
	}
}

func TestDoctor(t *testing.T) {
	t.Parallel()
	data := filepath.Join(sharedDir(t), "data", "minif2f", "lean4")
	project := t.TempDir()
	os.WriteFile(filepath.Join(project, "lean-toolchain"), []byte("leanprover/lean4:v4.9.0\n"), 0o644)
	checks := Doctor(Config{Project: project, Repl: []string{"lake", "env", "/nonexistent/repl"}}, data)
	byName := map[string]prover.Check{}
	for _, c := range checks {
		byName[c.Name] = c
		if !c.OK && c.Fix == "" {
			t.Errorf("check %s failed without a fix", c.Name)
		}
	}
	if c := byName["lean toolchain"]; c.OK || !strings.Contains(c.Detail, "v4.24.0") {
		t.Errorf("toolchain check = %+v, want a mismatch naming v4.24.0", c)
	}
	if c := byName["lean repl"]; c.OK {
		t.Errorf("repl check = %+v, want not found", c)
	}
	os.WriteFile(filepath.Join(project, "lean-toolchain"), []byte("leanprover/lean4:v4.24.0\n"), 0o644)
	exe, _ := os.Executable()
	for _, c := range Doctor(Config{Project: project, Repl: []string{"lake", "env", exe}}, data) {
		if c.Name != "lake" && !c.OK {
			t.Errorf("check %+v, want OK", c)
		}
	}
}
