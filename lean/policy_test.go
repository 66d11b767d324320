package lean

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/llemma-prove/llemma-prove/prover"
)

func TestPolicyAccepts(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"norm_num":                          "norm_num",
		"  nlinarith [sq_nonneg (a - b)]  ": "nlinarith [sq_nonneg (a - b)]",
		"intro x hx":                        "intro x hx",
		"simp only [Finset.sum_range_succ] at h₀ ⊢": "simp only [Finset.sum_range_succ] at h₀ ⊢",
		"have h : x = 2 := by\n    linarith\n\n":    "have h : x = 2 := by\n    linarith",
		"rw [h]  \n  ring":                          "rw [h]\n  ring",
		"set_option maxRecDepth 10000 in decide":    "set_option maxRecDepth 10000 in decide",
		"open Real in simp [Real.sqrt_eq_iff]":      "open Real in simp [Real.sqrt_eq_iff]",
		"exact #[1, 2].size_pos":                    "exact #[1, 2].size_pos",
		"by_contra! h":                              "by_contra! h",
		"refine ⟨?_, ?_⟩":                           "refine ⟨?_, ?_⟩",
		"simp [List.get?]":                          "simp [List.get?]",
		"exact Nat.le_of_lt_succ h":                 "exact Nat.le_of_lt_succ h",
		"interval_cases x <;> simp_all":             "interval_cases x <;> simp_all",
	}
	for in, want := range tests {
		got, err := Policy{}.Check(in)
		if err != nil || got != want {
			t.Errorf("Check(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := (Policy{AllowNativeDecide: true}).Check("native_decide"); err != nil {
		t.Errorf("native_decide with AllowNativeDecide: %v", err)
	}
}

func TestPolicyRejects(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"":                                      "empty",
		"sorry":                                 "sorry",
		"exact sorry":                           "sorry",
		"·sorry":                                "sorry",
		"admit":                                 "sorry",
		"exact (sorryAx _ false)":               "sorry",
		"stop":                                  "sorry",
		"native_decide":                         "native",
		"decide +native":                        "native",
		"exact Lean.ofReduceBool _ _ rfl":       "native",
		"exact?":                                "search",
		"apply?":                                "search",
		"rw?":                                   "search",
		"simp?":                                 "search",
		"aesop?":                                "search",
		"hint":                                  "search",
		"rw_search":                             "search",
		"polyrith":                              "search",
		"run_tac Lean.Elab.Tactic.evalTactic x": "meta",
		"#eval IO.println 1":                    "command",
		"#print axioms foo":                     "command",
		"exact (IO.Process.exit 0 : IO Unit)":   "io",
		"set_option debug.skipKernelTC true in simp":         "set-option",
		"set_option trace.profiler true in simp":             "set-option",
		"simp\ntheorem cheat : False := sorry":               "indentation",
		"simp\n  theorem cheat : 1 = 1 := rfl":               "command",
		"axiom cheat : False":                                "command",
		"exact (by exact trivial : True)\n  axiom x : False": "command",
		"def f := 1":                                 "command",
		"import Mathlib":                             "command",
		"elab \"cheat\" : tactic => pure ()":         "command",
		"macro \"cheat\" : tactic => `(tactic| rfl)": "command",
		"syntax \"x\" : tactic":                      "command",
		"attribute [simp] foo":                       "command",
		"local instance : Foo := x":                  "command",
		"namespace Foo":                              "command",
		"end":                                        "command",
		"open Real":                                  "command",
		"@[simp] theorem x : True := trivial":        "command",
		"simp -- done":                               "comment",
		"simp /- x -/":                               "comment",
		"simp\tat h":                                 "encoding",
		"simp\x00":                                   "encoding",
		"exact (unsafeCast 0 : False)":               "meta",
		strings.Repeat("a", 2001):                    "too-long",
		"\xff":                                       "encoding",
	}
	for in, rule := range tests {
		_, err := Policy{}.Check(in)
		var r *prover.Rejection
		if !errors.As(err, &r) || r.Rule != rule {
			t.Errorf("Check(%q) = %v; want rejection %q", in, err, rule)
		}
	}
}

// policySeeds are the tables' inputs and a few attacks, for FuzzPolicy.
func policySeeds() []string {
	return []string{
		"norm_num", "intro x hx", "have h : x = 2 := by\n    linarith\n\n", "rw [h]  \n  ring",
		"set_option maxRecDepth 10000 in decide", "open Real in simp [Real.sqrt_eq_iff]", "exact #[1, 2].size_pos",
		"exact sorry", "·sorry", "exact «sorry»", "exact 1sorry", "exact h.sorry", "native_decide", "decide +native",
		"simp\ntheorem cheat : False := sorry", "simp\n  theorem cheat : 1 = 1 := rfl", "exact?", "simp [List.get?]",
		"set_option debug.skipKernelTC true in simp", "simp -- done", "simp /- x -/", "simp\tat h", "\xff",
		"exact (IO.Process.exit 0 : IO Unit)", "open Real", "@[simp] theorem x : True := trivial", "simp\r\n  ring",
	}
}

// FuzzPolicy: no panic; a rejection is a *prover.Rejection; an accepted
// tactic is a fixed point, stays one indented block (every continuation
// line indented, no blank line, no comment, no tab, no # command), names
// no sorry, admit or sorryAx (checked here by splitting on every rune
// that cannot be part of an identifier, independently of the policy's own
// regular expression), and names native_decide only when allowed; the
// native-decide policy accepts whatever the default one does, unchanged.
func FuzzPolicy(f *testing.F) {
	for _, s := range policySeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, p := range []Policy{{}, {AllowNativeDecide: true}} {
			got, err := p.Check(s)
			if err != nil {
				var r *prover.Rejection
				if !errors.As(err, &r) || r.Rule == "" {
					t.Fatalf("Check(%q) error %v is not a *prover.Rejection with a rule", s, err)
				}
				continue
			}
			if again, err := p.Check(got); err != nil || again != got {
				t.Fatalf("Check(Check(%q)) = %q, %v; want the fixed point %q", s, again, err, got)
			}
			if got == "" || got != strings.TrimSpace(got) || len(got) > 2000 {
				t.Fatalf("Check(%q) = %q: empty, untrimmed or too long", s, got)
			}
			if strings.Contains(got, "--") || strings.Contains(got, "/-") || strings.ContainsRune(got, '\t') {
				t.Fatalf("Check(%q) = %q keeps a comment or a tab", s, got)
			}
			for i, line := range strings.Split(got, "\n") {
				if i > 0 && (!strings.HasPrefix(line, " ") || strings.TrimSpace(line) == "") {
					t.Fatalf("Check(%q) = %q: line %d %q would leave the tactic block", s, got, i+1, line)
				}
			}
			for i := 0; i < len(got); i++ {
				if got[i] == '#' && (i+1 == len(got) || got[i+1] != '[') {
					t.Fatalf("Check(%q) = %q keeps a # command", s, got)
				}
			}
			for _, w := range identParts(got) {
				switch {
				case w == "sorry" || w == "admit" || w == "sorryAx":
					t.Fatalf("Check(%q) = %q names %s", s, got, w)
				case w == "native_decide" && !p.AllowNativeDecide:
					t.Fatalf("Check(%q) = %q names native_decide", s, got)
				}
			}
			if !p.AllowNativeDecide {
				if nat, err := (Policy{AllowNativeDecide: true}).Check(s); err != nil || nat != got {
					t.Fatalf("the native-decide policy gives %q, %v for %q, which the default accepts as %q", nat, err, s, got)
				}
			}
		}
	})
}

// identParts splits s on every rune that cannot continue an identifier
// (dots included; letters and numbers of any script, subscripts among
// them, can) and drops leading numbers, which cannot start one ("1sorry"
// is 1 then sorry).
func identParts(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool {
		return !(unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '\'' || r == '!' || r == '?')
	})
	for i, p := range parts {
		parts[i] = strings.TrimLeftFunc(p, unicode.IsNumber)
	}
	return parts
}
