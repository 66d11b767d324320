package model

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Whole proofs and sketches (the whole-proof and sketch modes): the model
// writes a complete proof, a repair of a failed one, or a formal sketch
// with holes, in one long completion. The prompts come in two styles:
//
//   - completion (openai, ollama, llamacpp APIs): a source file the model
//     continues, the theorem's header and statement then "Proof." (Coq),
//     ":= by" (Lean) or nothing (Isabelle); the model's text ends at the
//     backend's closing word (Qed., the next declaration), which is cut;
//   - chat: instructions and the file in a message, the answer is the
//     first fenced code block of the reply (or the whole reply).
//
// A repair (Round > 0) shows the failed attempt and the checker's first
// error. A sketch shows the informal statement and proof (in a comment for
// completion models) and says what a hole is. Nothing the model writes is
// trusted: the mode assembles it and the final verifier judges it.

// proofSyntax is what a backend's proof file looks like around a proof.
type proofSyntax struct {
	lang         string   // the code-fence language
	open         string   // written after the statement, before the proof
	close        string   // what ends a proof (written after a shown attempt)
	stops        []string // completion stop strings
	keep         []string // stops that end a proof: put back after the cut
	hole         string   // how a sketch's hole is written
	commentOpen  string
	commentClose string
}

func syntaxOf(backend string) proofSyntax {
	switch backend {
	case "coq":
		return proofSyntax{lang: "coq", open: "Proof.\n", close: "Qed.", stops: []string{"Qed.", "Admitted.", "Abort.", "```"}, keep: []string{"Qed.", "Admitted.", "Abort."},
			hole: "`admit.` for a subgoal, or `assert (h : fact) by admit.` for a step", commentOpen: "(*", commentClose: "*)"}
	case "isabelle":
		return proofSyntax{lang: "isabelle", open: "", close: "", stops: []string{"\nlemma ", "\ntheorem ", "\nend", "```"},
			hole: "`sorry` for a step", commentOpen: "(*", commentClose: "*)"}
	}
	return proofSyntax{lang: "lean", open: "", close: "", stops: []string{"\ntheorem ", "\nlemma ", "\n\n\n", "```"},
		hole: "`sorry` for a step", commentOpen: "/-", commentClose: "-/"}
}

// comment makes text safe inside the backend's comment: neither its
// closer nor its opener (comments nest in Coq and Lean) stays whole.
func (s proofSyntax) comment(text string) string {
	spaced := func(t string) string { return strings.Join(strings.Split(t, ""), " ") }
	text = strings.ReplaceAll(strings.TrimSpace(text), s.commentClose, spaced(s.commentClose))
	return strings.ReplaceAll(text, s.commentOpen, spaced(s.commentOpen))
}

// attempt is a failed attempt as shown after the statement: without a
// leading opener of its own (Proof.), which the prompt writes.
func (s proofSyntax) attempt(prev string) string {
	prev = strings.TrimSpace(prev)
	if o := strings.TrimSpace(s.open); o != "" {
		prev = strings.TrimSpace(strings.TrimPrefix(prev, o))
	}
	return prev
}

// statementOf is the theorem as a file states it: header and statement.
func statementOf(thm prover.Theorem) string {
	return strings.TrimRight(thm.Header+thm.Statement, "\n") + "\n"
}

// ProofPrompt renders the prompt of req for backend (coq, lean, isabelle)
// in the completion style, or the chat style's user message when chat is
// set, and the stop strings of a completion (none for chat).
func ProofPrompt(backend string, chat bool, req prover.ProofRequest) (string, []string) {
	sx := syntaxOf(backend)
	if chat {
		return chatProofPrompt(backend, sx, req), nil
	}
	var b strings.Builder
	thm := statementOf(req.Theorem)
	task := "A complete formal proof, checked by the proof assistant."
	if req.Kind == prover.KindSketch {
		task = "A formal sketch that follows the informal proof: each step is stated and left as a hole (" + sx.hole + "), and automation closes the holes."
	}
	fmt.Fprintf(&b, "%s %s %s\n", sx.commentOpen, sx.comment(task), sx.commentClose)
	if inf := req.Informal; inf != nil && req.Kind == prover.KindSketch {
		fmt.Fprintf(&b, "%s Informal statement: %s %s\n", sx.commentOpen, sx.comment(inf.Statement), sx.commentClose)
		fmt.Fprintf(&b, "%s Informal proof: %s %s\n", sx.commentOpen, sx.comment(inf.Proof), sx.commentClose)
	}
	if req.Round > 0 {
		fmt.Fprintf(&b, "%s This attempt failed: %s\n", sx.commentOpen, sx.commentClose)
		b.WriteString(thm)
		b.WriteString(sx.open)
		b.WriteString(sx.attempt(req.Previous))
		b.WriteString("\n")
		if sx.close != "" && !strings.HasSuffix(sx.attempt(req.Previous), sx.close) {
			b.WriteString(sx.close + "\n")
		}
		fmt.Fprintf(&b, "%s The checker's error: %s %s\n", sx.commentOpen, sx.comment(req.Error), sx.commentClose)
		fmt.Fprintf(&b, "%s A corrected proof: %s\n", sx.commentOpen, sx.commentClose)
	}
	b.WriteString(thm)
	b.WriteString(sx.open)
	return b.String(), sx.stops
}

func chatProofPrompt(backend string, sx proofSyntax, req prover.ProofRequest) string {
	var b strings.Builder
	thm := statementOf(req.Theorem)
	fence := func(s string) string { return "```" + sx.lang + "\n" + strings.TrimRight(s, "\n") + "\n```\n" }
	switch req.Kind {
	case prover.KindSketch:
		fmt.Fprintf(&b, "Write a formal sketch in %s of the theorem below that follows the informal proof: state each step and leave it as a hole (%s); automation will close the holes. Keep the statement exactly as given.\n\n", sx.lang, sx.hole)
		if inf := req.Informal; inf != nil {
			fmt.Fprintf(&b, "Informal statement:\n%s\n\nInformal proof:\n%s\n\n", strings.TrimSpace(inf.Statement), strings.TrimSpace(inf.Proof))
		}
	default:
		fmt.Fprintf(&b, "Write a complete %s proof of the theorem below. Keep the statement exactly as given; do not use axioms, admit or sorry.\n\n", sx.lang)
	}
	b.WriteString("Theorem:\n")
	b.WriteString(fence(thm))
	if req.Round > 0 {
		b.WriteString("\nThis attempt failed:\n")
		b.WriteString(fence(thm + sx.open + sx.attempt(req.Previous)))
		fmt.Fprintf(&b, "\nThe checker's first error:\n```\n%s\n```\n\nWrite a corrected proof.\n", strings.TrimSpace(req.Error))
	}
	after := "the statement"
	if o := strings.TrimSpace(sx.open); o != "" {
		after = o
	}
	fmt.Fprintf(&b, "\nAnswer with the proof only (what follows %s), in one ```%s code block.", after, sx.lang)
	return b.String()
}

var _ prover.ProofWriter = (*LLM)(nil)

// WriteProof asks the model for one complete proof, repair or sketch
// (ProofPrompt: the chat style with the chat API), at the configured
// temperature and max tokens, seeded per attempt and round. Its cost goes
// to the meters of ctx and to Cost like a proposal's. The text is
// untrusted.
func (l *LLM) WriteProof(ctx context.Context, req prover.ProofRequest) (prover.ProofText, error) {
	start := time.Now()
	if err := l.Start(ctx); err != nil {
		return prover.ProofText{}, err
	}
	prompt, stops := ProofPrompt(l.cfg.Backend, l.cfg.API == APIChat, req)
	if len(l.cfg.Stop) > 0 && l.cfg.API != APIChat {
		stops = l.cfg.Stop
	}
	seed := l.seedFor(ctx, prompt, req.Round)
	var s Sample
	var err error
	switch l.cfg.API {
	case APIChat:
		var msgs []ChatMessage
		if l.cfg.System != "" {
			msgs = append(msgs, ChatMessage{Role: "system", Content: l.cfg.System})
		}
		msgs = append(msgs, ChatMessage{Role: "user", Content: prompt})
		n, temp, topP, maxTokens := 1, l.temp, l.cfg.TopP, l.cfg.MaxTokens
		creq := ChatRequest{Model: l.cfg.Model, Messages: msgs, N: &n, Temperature: &temp, TopP: &topP, TopK: l.cfg.TopK,
			MinP: l.cfg.MinP, MaxTokens: &maxTokens, Seed: seed, Extra: l.cfg.Extra}
		var resp ChatResponse
		if err = l.rt.post(ctx, "/v1/chat/completions", creq, &resp); err == nil {
			if len(resp.Choices) == 0 {
				err = fmt.Errorf("model response from %s: %w: no choices", l.cfg.Model, errMalformed)
			} else {
				s = sampleFromChat(resp.Choices[0], nil)
				s.Text = extractAnswer(s.Text)
			}
		}
	case APIOpenAI:
		creq := l.completionRequest([]string{prompt}, 1, seed)
		creq.Stop = stops
		var resp CompletionResponse
		if err = l.rt.post(ctx, "/v1/completions", creq, &resp); err == nil {
			if len(resp.Choices) == 0 {
				err = fmt.Errorf("model response from %s: %w: no choices", l.cfg.Model, errMalformed)
			} else {
				c := resp.Choices[0]
				s = sampleFromChoice(c, stops)
				s.Text += keptStop(c, stops, syntaxOf(l.cfg.Backend).keep)
			}
		}
	case APIOllama:
		// Ollama does not say which stop ended the text: a kept stop
		// (Qed.) is lost, and the assembly writes the closing itself.
		s, err = l.ollamaGenerate(ctx, prompt, seed, stops)
	case APILlamaCpp:
		var c Choice
		if s, c, err = l.llamaCppOne(ctx, prompt, seed, stops); err == nil {
			s.Text += keptStop(c, stops, syntaxOf(l.cfg.Backend).keep)
		}
	default:
		err = fmt.Errorf("whole proofs and sketches need the openai, chat, ollama or llamacpp API, not %s", l.cfg.API)
	}
	record(ctx, &l.total, Cost{Proposals: 1, Samples: 1, ProposeTime: time.Since(start)})
	if err != nil {
		return prover.ProofText{}, err
	}
	return prover.ProofText{Text: s.Text, Truncated: s.Finish == "length"}, nil
}

// keptStop is the stop string that ended c when it is one that ends a
// proof (Qed., Admitted.): the model wrote it, and the proof is judged
// with it (a whole file's proof needs its Qed.; a give-up stays one).
// The stop is found in the text (cut here) or in vLLM's stop_reason (cut
// by the server).
func keptStop(c Choice, stops, keep []string) string {
	matched := ""
	if cut := cutAtStop(c.Text, stops); cut < len(c.Text) {
		for _, st := range stops {
			if st != "" && strings.HasPrefix(c.Text[cut:], st) {
				matched = st
				break
			}
		}
	} else if r, ok := c.StopReason.(string); ok {
		matched = r
	}
	for _, k := range keep {
		if matched == k {
			return k
		}
	}
	return ""
}
