package isabelle

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// This file is the lexical gate of the final check: the untrusted solution
// is tokenised as Isabelle's outer syntax does it, and refused, with the
// offending line, before the server sees it when it could reach outside
// the logic (run ML, read or write files, start tools) or cheat in a way a
// word shows (sorry, oops, axiomatization, quick_and_dirty).
//
// What the tokeniser follows (read in seL4/isabelle, Pure/General/
// symbol_pos.ML scan_comment): comments (* ... *) nest; cartouches
// \<open>...\<close> nest; strings "..." and `...` take backslash escapes;
// symbols are \<name> or \<^name>. Where our reading and Isabelle's could
// differ the scan is made coarser, never finer: words are split at every
// character that is not an ASCII letter, digit, _ or ' (so `1.ML` and
// `éML` still show the word ML), the old verbatim {* ... *} is refused
// (later Isabelle versions lex its inside as commands), and the check runs
// twice, once with the UTF-8 cartouche delimiters ‹ › as delimiters and
// once as plain characters, because whether the server decodes them into
// \<open>/\<close> before lexing is not verified here.

// TokenKind classifies a token of Isabelle outer syntax.
type TokenKind uint8

// Token kinds.
const (
	TokSpace     TokenKind = iota // white space
	TokComment                    // (* ... *), nested
	TokString                     // "..." or `...`
	TokCartouche                  // \<open>...\<close> or ‹...›, nested
	TokSymbol                     // \<name> or \<^name>
	TokWord                       // a run of ASCII letters, digits, _ and '
	TokOther                      // any other character (., :, (, ‹ when not a delimiter, ...)
)

// Token is one token with its byte offset and 1-based line.
type Token struct {
	Kind TokenKind
	Text string
	Pos  int
	Line int
}

// ErrScan: the text is not well-formed outer syntax (an open comment,
// string or cartouche, a malformed symbol, invalid UTF-8, control bytes).
var ErrScan = errors.New("isabelle: cannot tokenise theory text")

const (
	symOpen  = `\<open>`
	symClose = `\<close>`
	uniOpen  = "‹"
	uniClose = "›"
)

var symbolRE = regexp.MustCompile(`^\\<\^?[A-Za-z][A-Za-z0-9_']*>`)

// ScanIsabelle tokenises src as Isabelle outer syntax, with ‹ › as
// cartouche delimiters. Concatenating the tokens' texts gives back src.
func ScanIsabelle(src string) ([]Token, error) { return scanIsabelle(src, true) }

func isWordByte(c byte) bool {
	return c == '_' || c == '\'' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func scanIsabelle(src string, uniCartouche bool) ([]Token, error) {
	if !utf8.ValidString(src) {
		return nil, fmt.Errorf("%w: not UTF-8 text", ErrScan)
	}
	var toks []Token
	line := 1
	i := 0
	fail := func(what string) ([]Token, error) {
		return toks, fmt.Errorf("%w: line %d: %s", ErrScan, line, what)
	}
	for i < len(src) {
		start, startLine := i, line
		c := src[i]
		kind := TokOther
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r' || src[i] == '\f') {
				i++
			}
			kind = TokSpace
		case c < 0x20 || c == 0x7f:
			return fail(fmt.Sprintf("control character %#x", c))
		case strings.HasPrefix(src[i:], "(*"):
			depth := 0
			for {
				if i >= len(src) {
					return fail("comment (* not closed")
				}
				if strings.HasPrefix(src[i:], "(*") {
					depth++
					i += 2
				} else if strings.HasPrefix(src[i:], "*)") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
				} else {
					i++
				}
			}
			kind = TokComment
		case strings.HasPrefix(src[i:], "{*"):
			return fail("old-style verbatim {* ... *} is refused; use a cartouche")
		case c == '"' || c == '`':
			i++
			closed := false
			for i < len(src) {
				if src[i] == '\\' {
					i += 2
					continue
				}
				if src[i] == c {
					i++
					closed = true
					break
				}
				i++
			}
			if !closed || i > len(src) {
				return fail("string not closed")
			}
			kind = TokString
		case strings.HasPrefix(src[i:], symOpen) || uniCartouche && strings.HasPrefix(src[i:], uniOpen):
			depth := 0
			for {
				if i >= len(src) {
					return fail("cartouche not closed")
				}
				switch {
				case strings.HasPrefix(src[i:], symOpen):
					depth++
					i += len(symOpen)
				case uniCartouche && strings.HasPrefix(src[i:], uniOpen):
					depth++
					i += len(uniOpen)
				case strings.HasPrefix(src[i:], symClose):
					depth--
					i += len(symClose)
				case uniCartouche && strings.HasPrefix(src[i:], uniClose):
					depth--
					i += len(uniClose)
				default:
					i++
				}
				if depth == 0 {
					break
				}
			}
			kind = TokCartouche
		case c == '\\' && strings.HasPrefix(src[i:], `\<`):
			m := symbolRE.FindString(src[i:])
			if m == "" {
				return fail("malformed symbol")
			}
			i += len(m)
			kind = TokSymbol
		case isWordByte(c):
			for i < len(src) && isWordByte(src[i]) {
				i++
			}
			kind = TokWord
		default:
			_, w := utf8.DecodeRuneInString(src[i:])
			i += w
		}
		if i > len(src) {
			i = len(src)
		}
		text := src[start:i]
		line += strings.Count(text, "\n")
		toks = append(toks, Token{Kind: kind, Text: text, Pos: start, Line: startLine})
	}
	return toks, nil
}

// Refusal says why a solution was not sent to the server.
type Refusal struct {
	Line   int    // 1-based line of the offending token
	Source string // that line, trimmed
	Token  string // the offending word or symbol
	Reason string
}

func (r *Refusal) Error() string {
	if r.Line > 0 {
		return fmt.Sprintf("line %d: %s (%q in %q)", r.Line, r.Reason, r.Token, r.Source)
	}
	return r.Reason
}

// refusedWords maps words that may not occur outside comments, strings
// and cartouches to the reason. Isabelle command keywords are reserved
// words, so an honest file cannot use them as names.
var refusedWords = func() map[string]string {
	m := map[string]string{}
	add := func(reason, words string) {
		for _, w := range strings.Fields(words) {
			m[w] = reason
		}
	}
	add("runs ML code in the prover", `ML ML_prf ML_val ML_command ML_file ML_file_debug ML_file_no_debug
		ML_export ML_import SML_file SML_file_debug SML_file_no_debug SML_import SML_export
		setup local_setup declaration syntax_declaration method_setup attribute_setup simproc_setup
		parse_ast_translation parse_translation print_translation typed_print_translation
		print_ast_translation oracle tactic raw_tactic code_reflect code_printing realizers`)
	add("reads or writes files or starts external tools", `external_file generate_file
		export_generated_files compile_generated_files scala_build_generated_files export_code
		bibtex_file import_file import_tptp spark_open boogie_file sledgehammer nitpick nunchaku
		quickcheck try try0 value values approximate find_unused_assms test_code document_files`)
	add("skips a proof", `sorry oops quick_and_dirty skip_proof skip_proofs`)
	add("adds axioms", `axiomatization axioms defs`)
	add("theory header keywords are refused", `keywords abbrevs`)
	return m
}()

// allowedControls are the control symbols \<^name> accepted outside
// comments: formatting only. Others (\<^ML>, \<^file>, ...) are document
// or ML antiquotations that run when the text is checked.
var allowedControls = map[string]bool{
	`\<^sub>`: true, `\<^sup>`: true, `\<^bsub>`: true, `\<^esub>`: true, `\<^bsup>`: true,
	`\<^esup>`: true, `\<^bold>`: true, `\<^emph>`: true, `\<^isub>`: true, `\<^isup>`: true,
}

var importRE = regexp.MustCompile(`^"?[A-Za-z][A-Za-z0-9_'-]*(\.[A-Za-z][A-Za-z0-9_']*)*"?$`)

// harnessTheories are the theory names the final check writes; the
// solution may not import them.
var harnessTheories = []string{chalTheory, solTheory, cmpTheory}

// RefuseSolution returns why src must not reach the server, or nil. It
// checks the text under both readings of the UTF-8 cartouche delimiters.
func RefuseSolution(src string) *Refusal {
	for _, uni := range []bool{true, false} {
		if r := refuse(src, uni); r != nil {
			return r
		}
	}
	return nil
}

func lineOf(src string, line int) string {
	lines := strings.Split(src, "\n")
	if line >= 1 && line <= len(lines) {
		return clip(strings.TrimSpace(lines[line-1]), 200)
	}
	return ""
}

func refuse(src string, uni bool) *Refusal {
	toks, err := scanIsabelle(src, uni)
	if err != nil {
		line := 0
		if len(toks) > 0 {
			line = toks[len(toks)-1].Line
		}
		return &Refusal{Line: line, Source: lineOf(src, line), Reason: err.Error()}
	}
	at := func(t Token, reason string) *Refusal {
		return &Refusal{Line: t.Line, Source: lineOf(src, t.Line), Token: t.Text, Reason: reason}
	}
	for i, t := range toks {
		// a malformed symbol anywhere could be read differently by Isabelle
		for k := strings.Index(t.Text, `\<`); k >= 0; {
			if symbolRE.FindString(t.Text[k:]) == "" {
				return at(t, "malformed symbol")
			}
			next := strings.Index(t.Text[k+2:], `\<`)
			if next < 0 {
				break
			}
			k += 2 + next
		}
		if t.Kind != TokComment && strings.Contains(t.Text, "@{") {
			return at(t, "antiquotations @{...} are refused (they run when the text is checked)")
		}
		if t.Kind != TokComment {
			for _, m := range controlRE.FindAllString(t.Text, -1) {
				if !allowedControls[m] {
					return at(t, "control symbol "+m+" is refused (an antiquotation)")
				}
			}
		}
		switch t.Kind {
		case TokWord:
			if t.Text == "axioms" && i > 0 && toks[i-1].Text == "." {
				continue // a locale's fact loc.axioms
			}
			if reason, ok := refusedWords[t.Text]; ok {
				return at(t, "`"+t.Text+"` "+reason)
			}
			if strings.HasSuffix(t.Text, "_setup") || strings.HasSuffix(t.Text, "_translation") ||
				strings.HasPrefix(t.Text, "ML_") || strings.HasPrefix(t.Text, "SML_") {
				return at(t, "`"+t.Text+"` runs ML code in the prover")
			}
		case TokSymbol:
			if t.Text == `\<proof>` {
				return at(t, "`\\<proof>` is sorry")
			}
		case TokOther:
			if t.Text == "⟨" && strings.HasPrefix(src[t.Pos:], "⟨proof⟩") {
				return at(t, "`⟨proof⟩` is sorry")
			}
		}
	}
	return refuseHeader(src, toks)
}

var controlRE = regexp.MustCompile(`\\<\^[A-Za-z][A-Za-z0-9_']*>`)

// refuseHeader checks the theory header: one `theory NAME imports ...
// begin`, imports by plain or session-qualified name only (no paths, no
// harness theories).
func refuseHeader(src string, toks []Token) *Refusal {
	sig := make([]Token, 0, len(toks))
	for _, t := range toks {
		if t.Kind != TokSpace && t.Kind != TokComment {
			sig = append(sig, t)
		}
	}
	count := 0
	for _, t := range sig {
		if t.Kind == TokWord && t.Text == "theory" {
			count++
		}
	}
	if count != 1 {
		return &Refusal{Reason: fmt.Sprintf("the file must hold exactly one theory header, found %d", count)}
	}
	i := 0
	for sig[i].Text != "theory" {
		if sig[i].Kind != TokCartouche && sig[i].Kind != TokWord {
			return &Refusal{Line: sig[i].Line, Source: lineOf(src, sig[i].Line), Token: sig[i].Text, Reason: "text before the theory header"}
		}
		// document markup (chapter, section, text ‹...›) may precede the header
		if sig[i].Kind == TokWord && !map[string]bool{"chapter": true, "section": true, "text": true, "title": true, "subsection": true}[sig[i].Text] {
			return &Refusal{Line: sig[i].Line, Source: lineOf(src, sig[i].Line), Token: sig[i].Text, Reason: "a command before the theory header"}
		}
		i++
	}
	if i+2 >= len(sig) || sig[i+1].Kind != TokWord || sig[i+2].Text != "imports" {
		return &Refusal{Line: sig[i].Line, Source: lineOf(src, sig[i].Line), Token: "theory", Reason: "the header must read `theory NAME imports ... begin`"}
	}
	j := i + 3
	// an import is a word, possibly dotted or with -, or a string
	for ; j < len(sig) && !(sig[j].Kind == TokWord && sig[j].Text == "begin"); j++ {
		t := sig[j]
		name := t.Text
		if t.Kind == TokWord || t.Kind == TokOther && (t.Text == "." || t.Text == "-") {
			// glue a dotted or dashed unquoted name back together
			k := j
			for k+1 < len(sig) && sig[k+1].Pos == sig[k].Pos+len(sig[k].Text) && (sig[k+1].Kind == TokWord || sig[k+1].Text == "." || sig[k+1].Text == "-") {
				k++
			}
			name = src[sig[j].Pos : sig[k].Pos+len(sig[k].Text)]
			j = k
		} else if t.Kind != TokString {
			return &Refusal{Line: t.Line, Source: lineOf(src, t.Line), Token: t.Text, Reason: "unexpected token in the imports"}
		}
		if !importRE.MatchString(name) {
			return &Refusal{Line: t.Line, Source: lineOf(src, t.Line), Token: name, Reason: "imports must name theories (Main, \"HOL-Library.X\"), not files"}
		}
		base := strings.Trim(name, `"`)
		for _, h := range harnessTheories {
			if base == h || strings.HasSuffix(base, "."+h) {
				return &Refusal{Line: t.Line, Source: lineOf(src, t.Line), Token: name, Reason: "the solution may not import the checker's theories"}
			}
		}
	}
	if j >= len(sig) {
		return &Refusal{Line: sig[i].Line, Source: lineOf(src, sig[i].Line), Token: "theory", Reason: "the theory header has no begin"}
	}
	return nil
}
