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
// proof-step pretraining data (Proof-Pile-2) and ReProver's vLLM path.
const GoalProofstepTemplate = "[GOAL]\n%s\n[PROOFSTEP]\n"

// GoalProofstepInlineTemplate is the same format without newlines, as
// llmstep's fine-tuned models were trained on it.
const GoalProofstepInlineTemplate = "[GOAL]%s[PROOFSTEP]"

// LlemmaOriginalTemplate is the prompt of Llemma's formal2formal
// evaluation (proofsearch.py, _prompt_fewshot) byte for byte, with %s where
// the tactic state goes: three Mathlib examples, no trailing newline. Its
// SHA-256 is LlemmaOriginalSHA256.
const LlemmaOriginalTemplate = "Given the Lean 4 tactic state, suggest a next tactic.\n" +
	"Here are some examples:\n\n" +
	"Tactic state:\n---\n" +
	"α : Type u_1\n" +
	"r : α → α → Prop\n" +
	"inst✝¹ : DecidableEq α\n" +
	"inst✝ : IsIrrefl α r\n" +
	"⊢ CutExpand r ≤ InvImage (Finsupp.Lex (rᶜ ⊓ fun x x_1 => x ≠ x_1) fun x x_1 => x < x_1) ↑toFinsupp\n" +
	"---\nNext tactic:\n---\n" +
	"rintro s t ⟨u, a, hr, he⟩\n" +
	"---\n\n" +
	"Tactic state:\n---\n" +
	"ι : Type u_1\n" +
	"I✝ J✝ : Box ι\n" +
	"x y : ι → ℝ\n" +
	"I J : WithBot (Box ι)\n" +
	"⊢ ↑I = ↑J ↔ I = J\n" +
	"---\nNext tactic:\n---\n" +
	"simp only [Subset.antisymm_iff, ← le_antisymm_iff, withBotCoe_subset_iff]\n" +
	"---\n\n" +
	"Tactic state:\n---\n" +
	"m n : ℕ\n" +
	"h : Nat.coprime m n\n" +
	"⊢ Nat.gcd m n = 1\n" +
	"---\nNext tactic:\n---\n" +
	"rw [← h.gcd_eq_one]\n" +
	"---\n\n" +
	"Tactic state:\n---\n" +
	"%s" +
	LlemmaSuffix

// LlemmaOriginalSHA256 is the SHA-256 of LlemmaOriginalTemplate, as given
// in the project's anchors (728 bytes).
const LlemmaOriginalSHA256 = "98d756b0d69ed172cafc18c98237cd71fd6c15e2a0e063d1d0ddd0414b55f1b0"

// The names of the built-in prompt formats (LLMConfig.PromptFormat).
const (
	PromptLlemma              = "llemma"                // Llemma's few-shot format, this project's examples per backend
	PromptLlemmaOriginal      = "llemma-original"       // Llemma's own prompt, byte for byte (Lean 4 only)
	PromptGoalProofstep       = "goal-proofstep"        // [GOAL]\n...\n[PROOFSTEP]\n (Proof-Pile-2, ReProver)
	PromptGoalProofstepInline = "goal-proofstep-inline" // [GOAL]...[PROOFSTEP] (llmstep)
	PromptChat                = "chat"                  // an instruction for a chat model (the default with api chat)
)

// chatLanguage is the name and code-fence tag of a backend's language.
func chatLanguage(backend string) (name, tag string) {
	switch backend {
	case "coq":
		return "Coq", "coq"
	case "isabelle":
		return "Isabelle", "isabelle"
	}
	return "Lean 4", "lean"
}

// chatFormat is the user message for a chat-tuned prover (DeepSeek-Prover,
// Kimina, Goedel): the state in a code block, and the answer asked for in
// one. The server applies the model's chat template.
func chatFormat(backend string) *promptFormat {
	name, tag := chatLanguage(backend)
	pre := "Here is the current tactic state of a " + name + " proof:\n\n```" + tag + "\n"
	suf := "\n```\n\nGive the single next tactic only, in a ```" + tag + " code block, without explanation."
	return affix("chat-"+tag, pre, suf, nil)
}

// newPromptFormat resolves PromptFormat (a built-in name or a file path)
// for backend.
func newPromptFormat(format, backend string) (*promptFormat, error) {
	switch format {
	case PromptLlemmaOriginal:
		if backend != "" && backend != "lean" {
			return nil, fmt.Errorf("prompt %s is Lean 4's (Llemma's Mathlib examples); for %s use %s", PromptLlemmaOriginal, backend, PromptLlemma)
		}
		pre, suf, _ := strings.Cut(LlemmaOriginalTemplate, "%s")
		return affix(PromptLlemmaOriginal, pre, suf, []string{"---"}), nil
	case PromptChat:
		return chatFormat(backend), nil
	case PromptGoalProofstepInline:
		pre, suf, _ := strings.Cut(GoalProofstepInlineTemplate, "%s")
		return affix(PromptGoalProofstepInline, pre, suf, []string{"[GOAL]", "[PROOFSTEP]", "\n\n"}), nil
	case "", PromptLlemma:
		switch backend {
		case "", "lean":
			return affix("llemma-lean", fewShotPrefix(leanHeader, leanExamples), LlemmaSuffix, []string{"---"}), nil
		case "coq":
			return affix("llemma-coq", fewShotPrefix(coqHeader, coqExamples), LlemmaSuffix, []string{"---"}), nil
		case "isabelle":
			return affix("llemma-isabelle", fewShotPrefix(isabelleHeader, isabelleExamples), LlemmaSuffix, []string{"---"}), nil
		}
		return nil, fmt.Errorf("unknown backend %q for the llemma prompt (want lean, coq or isabelle)", backend)
	case PromptGoalProofstep:
		pre, suf, _ := strings.Cut(GoalProofstepTemplate, "%s")
		return affix(PromptGoalProofstep, pre, suf, []string{"[GOAL]", "[PROOFSTEP]", "\n\n"}), nil
	}
	data, err := os.ReadFile(format)
	if err != nil {
		return nil, fmt.Errorf("reading prompt template (want %s, %s, %s, %s, %s or a file): %w",
			PromptLlemma, PromptLlemmaOriginal, PromptGoalProofstep, PromptGoalProofstepInline, PromptChat, err)
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

// extractAnswer picks the tactic out of a chat model's answer: what follows
// the reasoning (</think>) if any, then the body of the first fenced code
// block if there is one. An answer still thinking when it was cut gives "".
func extractAnswer(text string) string {
	if i := strings.LastIndex(text, "</think>"); i >= 0 {
		text = text[i+len("</think>"):]
	} else if strings.Contains(text, "<think>") {
		return ""
	}
	open := strings.Index(text, "```")
	if open < 0 {
		return text
	}
	body := text[open+3:]
	end := strings.Index(body, "```")
	nl := strings.IndexByte(body, '\n')
	switch {
	case nl >= 0 && (end < 0 || nl < end):
		body = body[nl+1:] // drop the fence line, with its language tag
	case end >= 0:
		return body[:end] // ```tactic``` on one line
	default:
		return "" // an unterminated fence line and nothing else
	}
	if end := strings.Index(body, "```"); end >= 0 {
		body = body[:end]
	}
	return body
}
