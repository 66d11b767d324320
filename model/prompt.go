package model

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"strings"
	"text/template"
	"unicode/utf8"
)

// PromptData is what a prompt template sees. A user template file written
// for text/template (detected by "{{") may use every field:
//
//	{{.State}}      the tactic state as the prover prints it, cut to fit the context
//	{{.Goal}}       the main goal: from its ⊢ / ===== / "goal (...)" line to the end of that goal
//	{{.Hypotheses}} the lines of the main goal's block before .Goal
//	{{.Theorem}}    the theorem's name
//	{{.Statement}}  the theorem's statement as the source gives it
//	{{.Backend}}    lean, coq or isabelle
//	{{.Path}}       the tactics from the root to this state ([]string)
//
// A file without "{{" is a %s-style template: it must contain exactly one
// "%s", which is replaced by .State; nothing else is interpreted (no %%).
// Either kind is used byte for byte: a trailing newline in the file ends up
// in the prompt (Llemma's format has none).
type PromptData struct {
	State      string
	Goal       string
	Hypotheses string
	Theorem    string
	Statement  string
	Backend    string
	Path       []string
}

// promptFormat renders prompts of one kind.
type promptFormat struct {
	name   string
	stop   []string
	render func(d PromptData) (string, error)
}

// LlemmaSuffix ends every Llemma-format prompt (no trailing newline): the
// model writes "\n<tactic>\n" and stops at the next "---".
const LlemmaSuffix = "\n---\nNext tactic:\n---"

type example struct{ state, tactic string }

// The few-shot examples are this project's own, in each system's syntax
// (Llemma's three Mathlib examples are not reused).
var (
	leanHeader   = "Given the Lean 4 tactic state, suggest a next tactic.\nHere are some examples:\n\n"
	leanExamples = []example{
		{"a b : ℕ\nh : a ≤ b\n⊢ a < b + 1", "exact Nat.lt_succ_of_le h"},
		{"x y : ℝ\nhx : 0 < x\nhy : 0 < y\n⊢ Real.log (x * y) = Real.log x + Real.log y",
			"rw [Real.log_mul (ne_of_gt hx) (ne_of_gt hy)]"},
		{"α : Type u_1\ns t : Set α\n⊢ s ∩ t ⊆ s", "rintro x ⟨hs, -⟩"},
	}
	coqHeader   = "Given the Coq tactic state, suggest a next tactic.\nHere are some examples:\n\n"
	coqExamples = []example{
		{"n : nat\n============================\nn + 0 = n", "induction n as [| n IHn]; simpl; auto."},
		{"a, b : Z\nH : (a <= b)%Z\n============================\n(a < b + 1)%Z", "lia."},
		{"A : Type\nl : list A\n============================\nrev (rev l) = l", "apply rev_involutive."},
	}
	isabelleHeader   = "Given the Isabelle proof state, suggest a next proof step.\nHere are some examples:\n\n"
	isabelleExamples = []example{
		{"proof (prove)\ngoal (1 subgoal):\n 1. (n::nat) + 0 = n", "by simp"},
		{"proof (prove)\ngoal (1 subgoal):\n 1. ⋀x::real. 0 < x ⟹ 0 < x ^ 3", "by (simp add: zero_less_power)"},
		{"proof (prove)\ngoal (1 subgoal):\n 1. (a::int) dvd b ⟹ a dvd b * c", "by (rule dvd_mult2)"},
	}
)

// fewShotPrefix is the header and examples followed by the query's opening.
func fewShotPrefix(header string, exs []example) string {
	var b strings.Builder
	b.WriteString(header)
	for _, e := range exs {
		b.WriteString("Tactic state:\n---\n")
		b.WriteString(e.state)
		b.WriteString("\n---\nNext tactic:\n---\n")
		b.WriteString(e.tactic)
		b.WriteString("\n---\n\n")
	}
	b.WriteString("Tactic state:\n---\n")
	return b.String()
}

func affix(name, prefix, suffix string, stop []string) *promptFormat {
	return &promptFormat{name: name, stop: stop, render: func(d PromptData) (string, error) {
		return prefix + d.State + suffix, nil
	}}
}

// GoalProofstepTemplate is the [GOAL]/[PROOFSTEP] format of Llemma's
// proof-step pretraining data and ReProver's vLLM path.
const GoalProofstepTemplate = "[GOAL]\n%s\n[PROOFSTEP]\n"

// newPromptFormat resolves PromptFormat ("llemma", "goal-proofstep" or a
// file path) for backend.
func newPromptFormat(format, backend string) (*promptFormat, error) {
	switch format {
	case "", "llemma":
		switch backend {
		case "", "lean":
			return affix("llemma-lean", fewShotPrefix(leanHeader, leanExamples), LlemmaSuffix, []string{"---"}), nil
		case "coq":
			return affix("llemma-coq", fewShotPrefix(coqHeader, coqExamples), LlemmaSuffix, []string{"---"}), nil
		case "isabelle":
			return affix("llemma-isabelle", fewShotPrefix(isabelleHeader, isabelleExamples), LlemmaSuffix, []string{"---"}), nil
		}
		return nil, fmt.Errorf("unknown backend %q for the llemma prompt (want lean, coq or isabelle)", backend)
	case "goal-proofstep":
		pre, suf, _ := strings.Cut(GoalProofstepTemplate, "%s")
		return affix("goal-proofstep", pre, suf, []string{"[GOAL]", "[PROOFSTEP]", "\n\n"}), nil
	}
	data, err := os.ReadFile(format)
	if err != nil {
		return nil, fmt.Errorf("reading prompt template (want llemma, goal-proofstep or a file): %w", err)
	}
	return parsePromptTemplate(format, string(data))
}

// parsePromptTemplate builds a format from a user template's text.
func parsePromptTemplate(name, text string) (*promptFormat, error) {
	stop := []string{"---"}
	if strings.Contains(text, "{{") {
		t, err := template.New(name).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("parsing prompt template %s: %w", name, err)
		}
		f := &promptFormat{name: name, stop: stop, render: func(d PromptData) (string, error) {
			var b bytes.Buffer
			if err := t.Execute(&b, d); err != nil {
				return "", fmt.Errorf("rendering prompt template %s: %w", name, err)
			}
			return b.String(), nil
		}}
		if _, err := f.render(PromptData{}); err != nil {
			return nil, err
		}
		return f, nil
	}
	if c := strings.Count(text, "%s"); c != 1 {
		return nil, fmt.Errorf("prompt template %s: want exactly one %%s (or a text/template with {{.State}}), found %d", name, c)
	}
	pre, suf, _ := strings.Cut(text, "%s")
	return affix(name, pre, suf, stop), nil
}

// estimateTokens over-estimates a Llama SentencePiece token count: three
// ASCII bytes per token, one token per byte outside ASCII (byte fallback).
func estimateTokens(s string) int {
	ascii, other := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] < utf8.RuneSelf {
			ascii++
		} else {
			other++
		}
	}
	return (ascii+2)/3 + other
}

var isabelleSubgoal2 = regexp.MustCompile(`^\s*2\.\s`)

// goalLine reports whether a line opens a goal's conclusion.
func goalLine(line string) bool {
	t := strings.TrimSpace(line)
	return strings.HasPrefix(t, "⊢") || strings.HasPrefix(t, "====") ||
		strings.HasPrefix(t, "goal (") || strings.HasPrefix(t, "goal:")
}

// splitGoal finds the main (first) goal of a state: the hypotheses of its
// block and the goal itself. ok is false when no goal marker is found.
// For one goal this is the part after the last ⊢; with several goals the
// first one is kept, since tactics act on it.
func splitGoal(state string) (hyps, goal []string, ok bool) {
	lines := strings.Split(state, "\n")
	g := -1
	for i, ln := range lines {
		if goalLine(ln) {
			g = i
			break
		}
	}
	if g < 0 {
		return nil, nil, false
	}
	end := len(lines)
	for j := g + 1; j < len(lines); j++ {
		if strings.TrimSpace(lines[j]) == "" || isabelleSubgoal2.MatchString(lines[j]) {
			end = j
			break
		}
	}
	start := g
	for start > 0 && strings.TrimSpace(lines[start-1]) != "" {
		start--
	}
	return lines[start:g], lines[g:end], true
}

// fitState cuts state to at most budget estimated tokens, keeping the main
// goal: other goals go first, then hypotheses from the top (a hypothesis
// with its indented continuation lines), then the goal's tail.
func fitState(state string, budget int) (string, bool) {
	if estimateTokens(state) <= budget {
		return state, false
	}
	if budget <= 0 {
		return "", true
	}
	hyps, goal, ok := splitGoal(state)
	if !ok {
		return cutToTokens(state, budget), true
	}
	join := func() string { return strings.Join(append(append([]string{}, hyps...), goal...), "\n") }
	s := join()
	for len(hyps) > 0 && estimateTokens(s) > budget {
		// A hypothesis is a line plus the more deeply indented lines after it.
		n := 1
		for n < len(hyps) && indent(hyps[n]) > indent(hyps[0]) {
			n++
		}
		hyps = hyps[n:]
		s = join()
	}
	if estimateTokens(s) > budget {
		s = cutToTokens(s, budget)
	}
	return s, true
}

// cutToTokens keeps the longest prefix of s within budget estimated
// tokens, on a rune boundary.
func cutToTokens(s string, budget int) string {
	ascii, other := 0, 0
	for i, r := range s {
		if r < utf8.RuneSelf {
			ascii++
		} else {
			other += utf8.RuneLen(r)
		}
		if (ascii+2)/3+other > budget {
			return s[:i]
		}
	}
	return s
}

func indent(line string) int {
	return len(line) - len(strings.TrimLeft(line, " \t"))
}
