package isabelle

import (
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
)

// terminalCommands end a proof (or a proof block) by themselves; a text
// whose last command is one of them gets no closing of ours.
var terminalCommands = map[string]bool{
	"done": true, "qed": true, "by": true, "sorry": true, "oops": true, "end": true,
}

// AssembleWhole turns a model's complete proof (or sketch) of thm into the
// theory to verify (prover.WholeAssembler). The text is one of:
//
//   - a whole theory (`theory ... begin ... end`): kept as it is;
//   - theory commands that state thm themselves (`theorem NAME: ...
//     proof ... qed`, maybe after lemmas of their own): thm's header,
//     the text, and `end`;
//   - the proof after thm's statement, in any style (`by auto`, `apply
//     simp done`, `proof - ... qed`; a trailing `end` of the theory is
//     dropped): thm's header and statement, the proof, `done` when it is
//     an apply script left open, and `end`.
//
// A sketch (opts.Holes) may leave holes: `sorry` or `\<proof>`, and a
// `sledgehammer` call, the Draft-Sketch-Prove placeholder, which becomes
// a `sorry` for the hole filler. The result is refused (a
// *prover.Rejection) only where the verifier would refuse it anyway: the
// final check's token scan (RefuseSolution: ML, file access, axioms, and,
// unless it is a sketch, sorry and oops). Nothing is held to the
// one-method policy of the step-wise search.
func (b *Backend) AssembleWhole(thm prover.Theorem, text string, opts prover.WholeOptions) (string, error) {
	text, err := prover.TrimTactic(text, 1<<20)
	if err != nil {
		return "", err
	}
	sig, err := holeTokens(text, true)
	if err != nil {
		return "", prover.Reject("unparsable", "%v", err)
	}
	if opts.Holes {
		text, sig, err = hammerHoles(text, sig)
		if err != nil {
			return "", prover.Reject("unparsable", "%v", err)
		}
	}
	var file string
	switch {
	case len(sig) > 0 && sig[0].Kind == TokWord && sig[0].Text == "theory":
		file = text + "\n"
	case declares(sig, thm.Name):
		file = thm.Header + dropTheoryEnd(text, sig) + "\n\nend\n"
	default:
		file = assembleProof(thm, dropTheoryEnd(text, sig))
	}
	if opts.Holes {
		if r := refuseSketch(b, file); r != "" {
			return "", prover.Reject("refused", "%s", r)
		}
		return file, nil
	}
	if r := RefuseSolution(file); r != nil {
		reason := "refused"
		if r.Token == "sorry" || r.Token == "oops" || r.Token == HoleProof {
			reason = "gives-up"
		}
		return "", prover.Reject(reason, "%v", r)
	}
	return file, nil
}

// declares reports whether sig states name with a goal command.
func declares(sig []Token, name string) bool {
	for i := 0; i+1 < len(sig); i++ {
		if sig[i].Kind == TokWord && goalCommands[sig[i].Text] && sig[i+1].Kind == TokWord && sig[i+1].Text == name {
			return true
		}
	}
	return false
}

// dropTheoryEnd drops a last `end` that closes no `begin` of the text:
// the model's copy of the theory's end, which the assembly writes.
func dropTheoryEnd(text string, sig []Token) string {
	if len(sig) == 0 {
		return text
	}
	last := sig[len(sig)-1]
	if last.Kind != TokWord || last.Text != "end" {
		return text
	}
	begins, ends := 0, 0
	for _, t := range sig {
		if t.Kind == TokWord {
			switch t.Text {
			case "begin":
				begins++
			case "end":
				ends++
			}
		}
	}
	if ends <= begins {
		return text
	}
	return strings.TrimRight(text[:last.Pos], " \t\r\n")
}

// assembleProof writes thm's header and statement, proof indented two
// spaces, the `done` an open apply script lacks, and `end`.
func assembleProof(thm prover.Theorem, proof string) string {
	var lines []string
	for _, line := range strings.Split(proof, "\n") {
		if strings.TrimSpace(line) != "" {
			lines = append(lines, strings.TrimRight(line, " \t\r"))
		}
	}
	sig, err := holeTokens(proof, true)
	return assembleSteps(thm, lines, err == nil && !terminalCommands[lastCommand(sig)])
}

// lastCommand is the last command word of sig at bracket depth 0 ("" for
// none), or "." for a proof ended by `.` or `..` after a command.
func lastCommand(sig []Token) string {
	depth, last := 0, ""
	for i, t := range sig {
		switch t.Kind {
		case TokOther:
			switch t.Text {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				depth--
			case ".":
				// `.` and `..` close a proof, as `by this` and `by rule`
				if depth == 0 && (i+1 == len(sig) || sig[i+1].Kind == TokWord && commandWords[sig[i+1].Text]) {
					last = "done"
				}
			}
		case TokWord:
			if depth == 0 && commandWords[t.Text] && !(i > 0 && sig[i-1].Kind == TokOther && sig[i-1].Text == ".") {
				last = t.Text
			}
		}
	}
	return last
}

// hammerHoles rewrites each `sledgehammer` command of a sketch (the
// Draft-Sketch-Prove placeholder) into a `sorry` hole.
func hammerHoles(text string, sig []Token) (string, []Token, error) {
	var at []int
	for i, t := range sig {
		if t.Kind == TokWord && t.Text == "sledgehammer" &&
			!(i > 0 && sig[i-1].Kind == TokOther && sig[i-1].Text == ".") &&
			!(i+1 < len(sig) && sig[i+1].Kind == TokOther && sig[i+1].Text == ".") {
			at = append(at, t.Pos)
		}
	}
	if len(at) == 0 {
		return text, sig, nil
	}
	var sb strings.Builder
	last := 0
	for _, p := range at {
		sb.WriteString(text[last:p])
		sb.WriteString("sorry")
		last = p + len("sledgehammer")
	}
	sb.WriteString(text[last:])
	out := sb.String()
	sig, err := holeTokens(out, true)
	return out, sig, err
}

// refuseSketch is the final check's token scan of a sketch with its holes
// taken out: what it refuses stays refused when the holes are filled. It
// returns why, or "".
func refuseSketch(b *Backend, file string) string {
	hs, err := parseIsabelleHoles(b, file) // in source order
	if err != nil {
		return err.Error()
	}
	var sb strings.Builder
	last := 0
	for _, h := range hs {
		sb.WriteString(file[last:h.Start])
		sb.WriteString("done")
		last = h.End
	}
	sb.WriteString(file[last:])
	if r := RefuseSolution(sb.String()); r != nil {
		return r.Error()
	}
	return ""
}
