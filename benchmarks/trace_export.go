package benchmarks

import (
	"encoding/json"
	"io"
	"strings"
)

// TrainingExample is one line of the fine-tuning export.
type TrainingExample struct {
	Prompt     string `json:"prompt"`
	Completion string `json:"completion"`
}

// GoalProofstep is the prompt of a pair that has none recorded (a
// GPU-free proposer's run): the [GOAL]/[PROOFSTEP] format of Llemma's
// pretraining proof-step data.
func GoalProofstep(state string) string { return "[GOAL]\n" + state + "\n[PROOFSTEP]\n" }

// llemmaPromptEnd ends the Llemma formats' prompts: the model answers
// "\n<tactic>\n" and stops at the next "---".
const llemmaPromptEnd = "\n---\nNext tactic:\n---"

// ExampleOf is the prompt/completion of a positive pair: its recorded
// prompt, else GoalProofstep of its state; the completion is the tactic as
// the prompt's format expects the model to write it (after a Llemma-format
// prompt "\n<tactic>\n---", so that the model learns to stop; else the
// tactic alone, for the trainer to end with EOS). recorded says whether
// the prompt was the one recorded.
func ExampleOf(p Pair) (ex TrainingExample, recorded bool) {
	if p.Prompt == "" {
		return TrainingExample{Prompt: GoalProofstep(p.State), Completion: p.Tactic}, false
	}
	if strings.HasSuffix(p.Prompt, llemmaPromptEnd) {
		return TrainingExample{Prompt: p.Prompt, Completion: "\n" + p.Tactic + "\n---"}, true
	}
	return TrainingExample{Prompt: p.Prompt, Completion: p.Tactic}, true
}

// ExportStats says what WriteExamples wrote.
type ExportStats struct {
	Examples   int
	Recorded   int // with the prompt recorded at search time
	Duplicates int // the same prompt and completion again, dropped
}

// WriteExamples writes the positive pairs as prompt/completion JSON lines
// (the fine-tuning format of OpenAI's legacy API, TRL and most trainers),
// the same example once. keep, when set, selects the pairs (e.g. those of
// the results being reported).
func WriteExamples(w io.Writer, pairs []Pair, keep func(Pair) bool) (ExportStats, error) {
	var st ExportStats
	seen := map[[2]string]bool{}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for _, p := range pairs {
		if p.Negative || (keep != nil && !keep(p)) {
			continue
		}
		ex, rec := ExampleOf(p)
		k := [2]string{ex.Prompt, ex.Completion}
		if seen[k] {
			st.Duplicates++
			continue
		}
		seen[k] = true
		if err := enc.Encode(ex); err != nil {
			return st, err
		}
		st.Examples++
		if rec {
			st.Recorded++
		}
	}
	return st, nil
}
