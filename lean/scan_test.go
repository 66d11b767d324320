package lean

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestScanLean(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src string
		reason    string // substring of the first refusal; "" = accepted
	}{
		// Accepted: keywords in comments and strings are not commands.
		{"line comment", "-- #eval IO.println 1\ntheorem t : True := trivial\n", ""},
		{"nested comment", "/- outer /- inner #eval 1 -/ run_cmd still comment -/\ntheorem t : True := trivial\n", ""},
		{"doc comment", "/-- uses `#eval` and initialize in prose -/\ntheorem t : True := trivial\n", ""},
		{"string", "def s : String := \"#eval run_cmd unsafe IO.FS\"\n", ""},
		{"char literal quote", "def c : Char := '\"'\ndef d : Char := '\\''\n", ""},
		{"identifier with prime", "theorem t (h' : 1 = 1) : 1 = 1 := h'\n", ""},
		{"local notation", "local notation \"𝟚\" => (2 : ℕ)\nlocal infixl:65 \" ⊕⊕ \" => Nat.add\n", ""},
		{"allowed attributes", "@[simp, local instance] theorem t : True := trivial\nattribute [-simp] t\n", ""},
		{"bullets and calc", "theorem t (x : ℝ) : x = x := by\n  · calc x = x := rfl\n", ""},
		{"mathlib tokens with quotes", "example (f : ℕ → ℕ) (s : Set ℕ) : f ⁻¹' s = f ⁻¹' s := rfl\nexample (f : ℕ → ℕ) (s : Set ℕ) : f '' s = f '' s := rfl\n", ""},
		{"guillemet name", "theorem «my thm #eval» : True := trivial\n", ""},
		{"set_option allowed", "set_option maxHeartbeats 400000 in\ntheorem t : True := trivial\n", ""},

		// Refused.
		{"eval", "#eval IO.println \"hi\"\n", "`#eval` runs code"},
		{"eval bang", "#eval! 1\n", "`#eval!`"},
		{"run_cmd", "run_cmd Lean.logInfo \"x\"\n", "`run_cmd`"},
		{"run_tac", "example : True := by run_tac pure ()\n", "`run_tac`"},
		{"initialize", "initialize pure ()\n", "`initialize`"},
		{"skipKernelTC", "set_option debug.skipKernelTC true\n", "debug.skipKernelTC"},
		{"skipKernelTC guillemets", "set_option «debug».skipKernelTC true in\ntheorem t : True := trivial\n", "debug.skipKernelTC"},
		{"implemented_by", "@[implemented_by f] def g : Nat := 1\n", "`implemented_by`"},
		{"extern attribute", "@[extern \"c_f\"] def g : Nat := 1\n", "extern"},
		{"tactic attribute", "@[tactic my] def m : Nat := 1\n", "attribute `tactic`"},
		{"unsafe", "unsafe def f : Nat := 1\n", "`unsafe`"},
		{"unsafe identifier", "def f : Nat := unsafeBaseIO (pure 1)\n", "unsafe code"},
		{"IO.Process", "def f := IO.Process.run {cmd := \"sh\"}\n", "reaches the system"},
		{"open IO", "open IO in\ndef f := println \"x\"\n", "`IO`"},
		{"global notation", "notation:65 a \" + \" b => a * b\n", "global `notation`"},
		{"global infixl", "infixl:65 \" + \" => HMul.hMul\n", "global `infixl`"},
		{"macro_rules", "macro_rules | `(type_of% $x) => `(True)\n", "`macro_rules`"},
		{"local macro", "local macro \"x\" : term => `(1)\n", "`macro`"},
		{"elab", "local elab \"x\" : term => pure (Lean.mkNatLit 1)\n", "`elab`"},
		{"syntax", "syntax \"foo\" : term\n", "`syntax`"},
		{"delab", "@[delab app.f] def d : Nat := 1\n", "attribute `delab`"},
		{"app_unexpander", "@[app_unexpander f] def d : Nat := 1\n", "attribute `app_unexpander`"},
		{"simproc", "simproc s (f _) := fun _ => pure .continue\n", "`simproc`"},
		{"register option", "register_option foo : Bool := {defValue := true}\n", "`register_option`"},
		{"export", "export Foo (t)\n", "`export`"},
		{"exit", "#exit\n", "`#exit`"},
		{"eval after /-/ comment", "/-/ -/ #eval 1\n", "`#eval`"},
		{"eval after /-- comment", "/--/ -/ -/ #eval 1\n", "`#eval`"},
		{"nested depth mismatch", "/- /- -/ -/ #eval 1\n", "`#eval`"},
		{"raw string", "def s := r\"\\\" #eval 1 --\"\n", "`#eval`"},
		{"raw string with hashes", "def s := r#\"a\"# #eval 1\n", "`#eval`"},
		{"char literal hides nothing", "def c := '\"' #eval 1 -- \"\n", "`#eval`"},
		{"interpolation", "def s := s!\"{(by run_tac pure () : Nat)}\"\n", "interpolated"},
		{"unterminated string", "def s := \"abc\n#eval 1\n", "unterminated string"},
		{"unterminated comment", "/- #eval 1\n", "unterminated comment"},
		{"bad escape", "def s := \"\\q #eval 1\"\n", "escape"},
		{"glued comment opener", "def f := x <--y\n#eval 1\n", "`--` glued"},
		{"glued block opener", "def f := p \\/-q\n", "`/-` glued"},
		{"glued quote after symbol", "def f := g ⁻'\"' \"\n", "quote glued"},
		{"quote after number", "def f := 2'\"' \"\n", "quote glued"},
		{"notation atom mixing", "local notation \"x-\" => 5\n", "notation atom"},
		{"notation atom quote", "local notation \"a\\\"\" => 5\n", "notation atom"},
		{"hash command guard", "#guard 1 = 1\n", "`#guard`"},
		{"invalid utf8", "theorem t : True := trivial \xff\n", "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := ScanLean(tc.src)
			if tc.reason == "" {
				if len(got.Refusals) > 0 {
					t.Fatalf("ScanLean(%q) refused: %v", tc.src, got.Refusals)
				}
				return
			}
			if len(got.Refusals) == 0 {
				t.Fatalf("ScanLean(%q) accepted, want a refusal containing %q", tc.src, tc.reason)
			}
			if r := got.Refusals[0]; !strings.Contains(r.Reason, tc.reason) || r.Line < 1 {
				t.Fatalf("ScanLean(%q) = %v, want %q first", tc.src, got.Refusals, tc.reason)
			}
		})
	}
}

func TestScanLeanLineAndAxioms(t *testing.T) {
	t.Parallel()
	src := "import Mathlib\n\nnamespace Std.TrustMe\naxiom propext : False\nend Std.TrustMe\naxiom _root_.cheat : False\nsection\naxiom local_ax : False\nend\n\n  #eval 1\n"
	got := ScanLean(src)
	if want := []string{"Std.TrustMe.propext", "cheat", "local_ax"}; !slices.Equal(got.Axioms, want) {
		t.Errorf("Axioms = %q, want %q", got.Axioms, want)
	}
	if len(got.Refusals) != 1 || got.Refusals[0].Line != 11 || got.Refusals[0].Text != "#eval 1" {
		t.Errorf("Refusals = %+v, want one at line 11 with its text", got.Refusals)
	}
}

// scanSeeds: the fixtures' Lean files and commands, the miniF2F data,
// and the adversarial corpus.
func scanSeeds(tb testing.TB) []string {
	dir := filepath.Join("..", "..", "shared", "fixtures", "lean-repl")
	var seeds []string
	files, _ := filepath.Glob(filepath.Join(dir, "*.lean"))
	more, _ := filepath.Glob(filepath.Join(dir, "Mathlib", "*.lean"))
	for _, f := range append(files, more...) {
		if b, err := os.ReadFile(f); err == nil {
			seeds = append(seeds, string(b))
		}
	}
	ins, _ := filepath.Glob(filepath.Join(dir, "*.in"))
	mins, _ := filepath.Glob(filepath.Join(dir, "Mathlib", "*.in"))
	for _, f := range append(ins, mins...) {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, req := range strings.Split(string(b), "\n\n") {
			var m map[string]any
			if json.Unmarshal([]byte(strings.ReplaceAll(req, "\n", "")), &m) == nil {
				if cmd, ok := m["cmd"].(string); ok {
					seeds = append(seeds, cmd)
				}
				if tac, ok := m["tactic"].(string); ok {
					seeds = append(seeds, tac)
				}
			}
		}
	}
	mf, _ := filepath.Glob(filepath.Join("..", "..", "shared", "data", "minif2f", "lean4", "MiniF2F", "Valid", "*.lean"))
	for i, f := range mf {
		if i >= 20 {
			break
		}
		if b, err := os.ReadFile(f); err == nil {
			seeds = append(seeds, string(b))
		}
	}
	for _, c := range adversarialCorpus() {
		seeds = append(seeds, c.solution)
	}
	return seeds
}

// FuzzScanLean: no panic; refusals point at real lines; no prefix hides a
// trailing command (src + "\n#eval 1\n" is always refused); and a clean
// file stays clean with a command inside a comment appended.
func FuzzScanLean(f *testing.F) {
	for _, s := range scanSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		got := ScanLean(src)
		lines := strings.Count(src, "\n") + 1
		for _, r := range got.Refusals {
			if r.Line < 1 || r.Line > lines {
				t.Fatalf("refusal at line %d of a %d-line file: %+v", r.Line, lines, r)
			}
		}
		if tail := ScanLean(src + "\n#eval 1\n"); len(tail.Refusals) == 0 {
			t.Fatalf("a trailing #eval went unseen after %q", src)
		}
		if len(got.Refusals) == 0 {
			for _, c := range []string{"\n-- #eval 1\n", "\n/- #eval 1 /- run_cmd -/ -/\n", "\ndef s := \"#eval\"\n"} {
				if again := ScanLean(src + c); len(again.Refusals) > 0 {
					t.Fatalf("appending %q to a clean file refused it: %v", c, again.Refusals)
				}
			}
		}
	})
}

// TestScanLeanAcceptsMiniF2F: every benchmark statement (the challenges
// the verifier compiles) passes the scanner, and so does the file
// Assemble makes from it.
func TestScanLeanAcceptsMiniF2F(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(sharedDir(t), "data", "minif2f", "lean4")
	b, _ := New(Config{})
	n := 0
	for _, split := range []string{"test", "valid"} {
		thms, err := LoadMiniF2F(dir, split)
		if err != nil {
			t.Fatal(err)
		}
		for _, thm := range thms {
			n++
			if err := checkChallenge(thm, thm.Name); err != nil {
				t.Errorf("%s: %v", thm.Name, err)
			}
			file := b.Assemble(thm, []string{"intro x", "nlinarith [sq_nonneg (x - 1), h₀]", "· simp"})
			if rs := ScanLean(file).Refusals; len(rs) > 0 {
				t.Errorf("%s: the assembled file is refused: %v", thm.Name, rs)
			}
		}
	}
	if n != 488 {
		t.Errorf("scanned %d theorems, want 488", n)
	}
}
