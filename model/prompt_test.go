package model

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/coq"
)

var update = flag.Bool("update", false, "rewrite golden files")

const leanState = "a b : ℕ\nh₀ : a + b = 10\nh₁ : a - b = 2\n⊢ a = 6"

func TestLlemmaPromptGolden(t *testing.T) {
	for _, tc := range []struct{ backend, state, header string }{
		{"lean", leanState, "Given the Lean 4 tactic state, suggest a next tactic.\nHere are some examples:\n\n"},
		{"coq", "a, b : nat\nH : a + b = 10\n============================\na <= 10", "Given the Coq tactic state, suggest a next tactic.\n"},
		{"isabelle", "proof (prove)\ngoal (1 subgoal):\n 1. (a::nat) + b = 10 ⟹ a ≤ 10", "Given the Isabelle proof state, suggest a next proof step.\n"},
	} {
		l := mustLLM(t, LLMConfig{Model: "m", Backend: tc.backend})
		got, err := l.Prompt(leanReq(tc.state))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(got, "\n---\nNext tactic:\n---") || !strings.HasSuffix(got, LlemmaSuffix) ||
			strings.HasSuffix(got, "\n") || !strings.HasSuffix(got, "---") {
			t.Errorf("%s: prompt must end with %q and no newline; ends %q", tc.backend, LlemmaSuffix, got[len(got)-30:])
		}
		if !strings.HasPrefix(got, tc.header) {
			t.Errorf("%s: prompt starts %q", tc.backend, got[:60])
		}
		if c := strings.Count(got, "Tactic state:\n---\n"); c != 4 {
			t.Errorf("%s: %d tactic-state blocks, want 3 examples + the query", tc.backend, c)
		}
		if !strings.HasSuffix(got, "Tactic state:\n---\n"+tc.state+LlemmaSuffix) {
			t.Errorf("%s: query block is not the state verbatim", tc.backend)
		}
		golden := filepath.Join("testdata", "prompt_llemma_"+tc.backend+".golden")
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./model -run Golden -update)", err)
		}
		if got != string(want) {
			t.Errorf("%s prompt differs from %s:\n%s", tc.backend, golden, got)
		}
	}
}

func TestGoalProofstepPrompt(t *testing.T) {
	t.Parallel()
	l := mustLLM(t, LLMConfig{Model: "m", PromptFormat: "goal-proofstep"})
	got, _ := l.Prompt(leanReq(leanState))
	if got != "[GOAL]\n"+leanState+"\n[PROOFSTEP]\n" {
		t.Errorf("prompt %q", got)
	}
}

func TestUserTemplates(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tmpl := filepath.Join(dir, "t.tmpl")
	os.WriteFile(tmpl, []byte("{{.Backend}} {{.Theorem}} [{{.Hypotheses}}] <{{.Goal}}> {{len .Path}}\nNext:"), 0o644)
	l := mustLLM(t, LLMConfig{Model: "m", PromptFormat: tmpl})
	req := leanReq(leanState)
	req.Path = []string{"intro x", "simp"}
	got, err := l.Prompt(req)
	want := "lean t [a b : ℕ\nh₀ : a + b = 10\nh₁ : a - b = 2] <⊢ a = 6> 2\nNext:"
	if err != nil || got != want {
		t.Errorf("template prompt = %q, %v; want %q", got, err, want)
	}
	pct := filepath.Join(dir, "p.txt")
	os.WriteFile(pct, []byte("STATE %s 100% END"), 0o644)
	got, _ = mustLLM(t, LLMConfig{Model: "m", PromptFormat: pct}).Prompt(leanReq("⊢ p"))
	if got != "STATE ⊢ p 100% END" {
		t.Errorf("%%s prompt = %q", got)
	}
	for _, bad := range []string{"no state here", "%s and %s", "{{.Nope}}", "{{"} {
		p := filepath.Join(dir, "bad")
		os.WriteFile(p, []byte(bad), 0o644)
		if _, err := NewLLM(LLMConfig{Model: "m", PromptFormat: p}); err == nil {
			t.Errorf("template %q accepted", bad)
		}
	}
	if _, err := NewLLM(LLMConfig{Model: "m", PromptFormat: filepath.Join(dir, "missing")}); err == nil {
		t.Error("missing template file accepted")
	}
}

func TestLongStateKeepsGoal(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 3000 {
		b.WriteString("h")
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(" : some_long_hypothesis_about_naturals n = n\n")
	}
	b.WriteString("⊢ the_goal_we_keep n\n\ncase second\nh : False\n⊢ other_goal")
	l := mustLLM(t, LLMConfig{Model: "m"})
	got, err := l.Prompt(leanReq(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if est := estimateTokens(got); est > 4096-256 {
		t.Errorf("prompt estimated at %d tokens, over %d", est, 4096-256)
	}
	if !strings.HasSuffix(got, "⊢ the_goal_we_keep n"+LlemmaSuffix) || strings.Contains(got, "other_goal") {
		t.Errorf("cut prompt lost the main goal or kept the others: ...%q", got[len(got)-120:])
	}
	if !strings.Contains(got, "h : some_long") && !strings.Contains(got, "hx") {
		t.Error("every hypothesis dropped though some fit")
	}
	if l.Stats().PromptsCut != 1 {
		t.Error("cut not counted")
	}

	// A goal longer than the whole budget is cut at its tail.
	huge := "x : ℕ\n⊢ " + strings.Repeat("f (", 8000) + "x"
	got, _ = l.Prompt(leanReq(huge))
	if estimateTokens(got) > 4096-256 || !strings.Contains(got, "⊢ f (f (") {
		t.Errorf("huge goal not cut to fit: %d tokens", estimateTokens(got))
	}
}

func TestSplitGoalCoqAndIsabelle(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ state, goal string }{
		{"2 goals\n\n  n : nat\n  H : n > 0\n  ============================\n  n + 0 = n\n\ngoal 2 is:\n  True", "  ============================\n  n + 0 = n"},
		{"proof (prove)\nusing this:\n  A\ngoal (2 subgoals):\n 1. A ⟹ B\n 2. C", "goal (2 subgoals):\n 1. A ⟹ B"},
	} {
		_, goal, ok := splitGoal(tc.state)
		if !ok || strings.Join(goal, "\n") != tc.goal {
			t.Errorf("splitGoal(%q) goal = %q, want %q", tc.state, strings.Join(goal, "\n"), tc.goal)
		}
	}
}

func TestCleanHygiene(t *testing.T) {
	t.Parallel()
	var st counters
	samples := []Sample{
		{Text: "\n simp \n", LogProb: -2, Tokens: 4, HasLogprobs: true}, // -0.5
		{Text: "simp", LogProb: -1, Tokens: 4, HasLogprobs: true},       // -0.25: better duplicate
		{Text: "\n---\n", LogProb: -1, Tokens: 1, HasLogprobs: true},    // empty after the cut
		{Text: "  ", Tokens: 1, HasLogprobs: true},                      // empty
		{Text: "sorry", LogProb: -0.1, Tokens: 1, HasLogprobs: true},    // gives up
		{Text: "ring\n---\nmore", LogProb: -3, Tokens: 3, HasLogprobs: true, Finish: "length"},
		{Text: "admit_lemma x", LogProb: -4, Tokens: 2, HasLogprobs: true}, // not the word admit
	}
	got := clean(samples, []string{"---"}, nil, 0, &st)
	want := []string{"simp", "ring", "admit_lemma x"}
	if len(got) != len(want) {
		t.Fatalf("clean = %+v", got)
	}
	for i, w := range want {
		if got[i].Tactic != w {
			t.Errorf("candidate %d = %q, want %q", i, got[i].Tactic, w)
		}
	}
	if got[0].Score != -0.25 {
		t.Errorf("duplicate merge kept score %v, want the max -0.25", got[0].Score)
	}
	if st.empty.Load() != 2 || st.duplicates.Load() != 1 || st.rejected.Load() != 1 || st.truncated.Load() != 1 || st.byRule["gives-up"] != 1 {
		t.Errorf("counters empty=%d dup=%d rej=%d trunc=%d rules=%v", st.empty.Load(), st.duplicates.Load(), st.rejected.Load(), st.truncated.Load(), st.byRule)
	}
	if top := clean(samples, []string{"---"}, nil, 1, &counters{}); len(top) != 1 || top[0].Tactic != "simp" {
		t.Errorf("max 1 = %+v", top)
	}
}

func TestCoqPolicyApplied(t *testing.T) {
	t.Parallel()
	var st counters
	samples := []Sample{
		{Text: "\nlia.\n", HasLogprobs: true, Tokens: 1, LogProb: -1},
		{Text: "lia", HasLogprobs: true, Tokens: 1, LogProb: -0.5}, // the policy adds the period: duplicate
		{Text: "Admitted.", HasLogprobs: true, Tokens: 1},
		{Text: "intro. auto.", HasLogprobs: true, Tokens: 1},
		{Text: "Require Import Lia.", HasLogprobs: true, Tokens: 1},
	}
	got := clean(samples, []string{"---"}, coq.Policy{}, 0, &st)
	if len(got) != 1 || got[0].Tactic != "lia." || got[0].Score != -0.5 {
		t.Fatalf("clean with CoqPolicy = %+v", got)
	}
	if st.rejected.Load() != 3 || st.byRule["multiple-sentences"] != 1 {
		t.Errorf("rejections %v", st.byRule)
	}
}
