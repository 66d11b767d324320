package lean

import (
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
)

// AssembleWhole turns a model's complete proof (or sketch) of thm into the
// file to verify (prover.WholeAssembler). The text is one of:
//
//   - a whole file (it opens with `import`): kept as it is;
//   - declarations that state thm themselves (`theorem NAME ... := by
//     ...`, maybe after lemmas of their own), as DeepSeek-, Kimina- and
//     Goedel-Prover write them: thm's header (imports, options, opens)
//     and the text;
//   - the proof after thm's statement: `:= ...` or `by ...` (written
//     after the statement as it is), or a tactic block (Assemble's `:=
//     by` and the tactics, indented).
//
// A sketch (opts.Holes) keeps its `sorry` holes. The result is refused (a
// *prover.Rejection) only where the verifier would refuse it anyway:
// anything the final check's scan refuses (ScanLean: compile-time code,
// kernel switches, global syntax), and, unless it is a sketch, `sorry` or
// `admit` in the code (the verifier refuses sorryAx even when allowed).
// Nothing is held to the one-tactic policy of the step-wise search.
func (b *Backend) AssembleWhole(thm prover.Theorem, text string, opts prover.WholeOptions) (string, error) {
	text, err := prover.TrimTactic(text, 1<<20)
	if err != nil {
		return "", err
	}
	s := &scanner{src: text}
	s.lex()
	toks := s.toks
	var file string
	switch {
	case len(toks) > 0 && toks[0].kind == tkIdent && toks[0].text == "import":
		file = text + "\n"
	case declaresTheorem(toks, thm.Name):
		file = thm.Header + text + "\n"
	case len(toks) > 1 && toks[0].kind == tkSym && toks[0].text == ":" && toks[1].text == "=":
		file = thm.Header + thm.Statement + " " + text + "\n"
	case len(toks) > 0 && toks[0].kind == tkIdent && toks[0].text == "by":
		file = thm.Header + thm.Statement + " := " + text + "\n"
	default:
		file = b.Assemble(thm, []string{text})
	}
	sc := ScanLean(file)
	if len(sc.Refusals) > 0 {
		return "", prover.Reject("refused", "%s", sc.Refusals[0])
	}
	if opts.Holes {
		return file, nil
	}
	fs := &scanner{src: file}
	fs.lex()
	for _, t := range fs.toks {
		if t.kind == tkIdent && (t.text == "sorry" || t.text == "admit") {
			line, src := fs.lineOf(t.off)
			return "", prover.Reject("gives-up", "line %d: %s gives up the proof: %s", line, t.text, src)
		}
	}
	return file, nil
}

// declaresTheorem reports whether toks state name (or _root_.name) with
// theorem or lemma.
func declaresTheorem(toks []leanTok, name string) bool {
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].kind == tkIdent && (toks[i].text == "theorem" || toks[i].text == "lemma") &&
			toks[i+1].kind == tkIdent && strings.TrimPrefix(toks[i+1].text, "_root_.") == name {
			return true
		}
	}
	return false
}
