package prover

import (
	"errors"
	"strings"
	"testing"
)

func TestLeanPolicyAccepts(t *testing.T) {
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
		got, err := LeanPolicy{}.Check(in)
		if err != nil || got != want {
			t.Errorf("Check(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := (LeanPolicy{AllowNativeDecide: true}).Check("native_decide"); err != nil {
		t.Errorf("native_decide with AllowNativeDecide: %v", err)
	}
}

func TestLeanPolicyRejects(t *testing.T) {
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
		_, err := LeanPolicy{}.Check(in)
		var r *Rejection
		if !errors.As(err, &r) || r.Rule != rule {
			t.Errorf("Check(%q) = %v; want rejection %q", in, err, rule)
		}
	}
}
