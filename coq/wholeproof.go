package coq

import (
	"regexp"
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
)

var (
	proofStartRE = regexp.MustCompile(`^Proof\b`)
	importRE     = regexp.MustCompile(`^(?:From\s+\S+\s+)?(?:Require|Import|Export)\b|^(?:Local\s+|Global\s+)?Open\s+Scope\b`)
)

// AssembleWhole turns a model's complete proof (or sketch) of thm into the
// file to verify. The text is either the proof after the statement (a
// leading Proof. and the closing Qed. are optional) or a whole file that
// declares thm itself (it then gets the prelude, and the header's imports
// it lacks). The result is refused (a *prover.Rejection) only when the
// verifier would refuse it anyway: a sentence that reaches outside the
// checker's sandbox (ScanFile), or, unless it is a sketch or extra axioms
// are allowed, a proof that gives up: closed by Admitted (an axiom of the
// file's own) or a bare admit./give_up. in a proof closed by Qed. Nothing
// is held to the one-tactic policy of the step-wise search.
func (b *Backend) AssembleWhole(thm prover.Theorem, text string, opts prover.WholeOptions) (string, error) {
	text, err := prover.TrimTactic(text, 1<<20)
	if err != nil {
		return "", err
	}
	var file string
	if findDecl(text, thm.Name) >= 0 {
		file = b.preludeFor([]string{text}) + missingImports(thm.Header, text) + text + "\n"
	} else {
		file = b.assembleBody(thm, text)
	}
	if _, err := ScanFile(file); err != nil {
		return "", prover.Reject("refused", "%v", err)
	}
	if opts.Holes || len(opts.AllowAxioms) > 0 {
		return file, nil
	}
	f, err := parseFile(file)
	if err != nil {
		return "", prover.Reject("unparsable", "%v", err)
	}
	for _, d := range f.decls {
		switch d.closing {
		case "Admitted.":
			return "", prover.Reject("gives-up", "%s is closed by Admitted: an axiom of the file's own", d.name)
		case "Qed.", "Defined.":
			for si := d.stmt + 1; si < d.end; si++ {
				if giveUpRE.MatchString(f.clean[si]) {
					return "", prover.Reject("gives-up", "%q in the proof of %s, closed by %s", f.clean[si], d.name, strings.TrimSuffix(d.closing, "."))
				}
			}
		}
	}
	return file, nil
}

// assembleBody is Assemble of a proof body that may open with Proof. and
// end with its own closing (kept when it is Qed, Defined or Admitted).
func (b *Backend) assembleBody(thm prover.Theorem, body string) string {
	spans, _, err := SplitSpans(body)
	if err == nil && len(spans) > 0 {
		if first := squash(stripComments(body[spans[0][0]:spans[0][1]])); proofStartRE.MatchString(first) {
			body = strings.TrimSpace(body[spans[0][1]:])
			spans, _, err = SplitSpans(body)
		}
	}
	closing := ""
	if err == nil && len(spans) > 0 {
		last := spans[len(spans)-1]
		if c := squash(stripComments(body[last[0]:last[1]])); c == "Qed." || c == "Defined." || c == "Admitted." {
			closing = c
			body = strings.TrimSpace(body[:last[0]])
		}
	}
	file := b.Assemble(thm, []string{body})
	if closing != "" && closing != "Qed." {
		file = strings.TrimSuffix(file, "Qed.\n") + closing + "\n"
	}
	return file
}

// missingImports are the import sentences of header that text lacks, one
// per line.
func missingImports(header, text string) string {
	sentences, _, err := SplitSentences(header)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for _, s := range sentences {
		c := squash(stripComments(s))
		if importRE.MatchString(c) && !strings.Contains(squash(stripComments(text)), c) {
			b.WriteString(s)
			b.WriteString("\n")
		}
	}
	return b.String()
}

var _ prover.WholeAssembler = (*Backend)(nil)
