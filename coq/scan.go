package coq

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// A checked file is untrusted. Before coqc sees it, every sentence is
// scanned for vernacular that reaches outside the checker's job directory
// or loads code: writing files (Redirect, Extraction to a file), changing
// directory (Cd), running other files (Load), extending the load paths
// (Add LoadPath, Add ML Path), loading plugins (Declare ML Module), the
// OCaml toplevel (Drop), native compilation (native_compute runs the OCaml
// compiler under /tmp) and the kernel-check bypasses (Unset Guard/
// Positivity/Universe Checking, #[bypass_check]). The scan is cheap
// feedback with a clear message; the sandbox of the coqc process and the
// kernel-side audit (coqchk) are what the verdict rests on.

// coqToken is one lexical token of a sentence: comments are dropped,
// strings are kept whole (quotes included) and marked.
type coqToken struct {
	text   string
	string bool
}

// tokenizeCoq splits one sentence into identifiers/keywords, numbers,
// strings and single punctuation characters. Comments (nested) vanish.
func tokenizeCoq(s string) []coqToken {
	var toks []coqToken
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case strings.HasPrefix(s[i:], "(*"):
			depth := 0
			for i < len(s) {
				if strings.HasPrefix(s[i:], "(*") {
					depth++
					i += 2
					continue
				}
				if strings.HasPrefix(s[i:], "*)") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
		case r == '"':
			j := i + 1
			for j < len(s) {
				if s[j] == '"' {
					if j+1 < len(s) && s[j+1] == '"' {
						j += 2
						continue
					}
					j++
					break
				}
				j++
			}
			toks = append(toks, coqToken{text: s[i:j], string: true})
			i = j
		case unicode.IsSpace(r):
			i += w
		case isIdentStart(r):
			j := i + w
			for j < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[j:])
				if !isIdentRune(r2) {
					break
				}
				j += w2
			}
			toks = append(toks, coqToken{text: s[i:j]})
			i = j
		default:
			toks = append(toks, coqToken{text: s[i : i+w]})
			i += w
		}
	}
	return toks
}

func isIdentStart(r rune) bool { return unicode.IsLetter(r) || r == '_' }

// escapeWords are command words that reach outside the sandbox wherever
// they stand in a sentence (after control prefixes such as Time or Fail,
// or inside an attribute): an honest proof has no use for any of them.
var escapeWords = map[string]string{
	"Redirect":             "Redirect writes a file",
	"Cd":                   "Cd changes the working directory",
	"Load":                 "Load runs another file",
	"Drop":                 "Drop enters the OCaml toplevel",
	"LoadPath":             "it changes the load path",
	"ML":                   "it loads OCaml code or changes the ML path",
	"Extraction":           "extraction writes files and runs the OCaml compiler",
	"native_compute":       "native_compute runs the OCaml compiler outside the job directory",
	"native_cast_no_check": "native_cast_no_check runs the OCaml compiler",
	"NativeCompute":        "native compilation runs the OCaml compiler",
	"bypass_check":         "bypass_check skips the kernel's checks",
}

// checkingFlags are the kernel checks a file may not switch off.
var checkingFlags = map[string]bool{"Guard": true, "Positivity": true, "Universe": true}

// refusal returns why sentence must not be compiled, or "".
func refusal(sentence string) string {
	toks := tokenizeCoq(sentence)
	for i, t := range toks {
		if t.string {
			continue
		}
		if why, ok := escapeWords[t.text]; ok {
			return why
		}
		if checkingFlags[t.text] && i+1 < len(toks) && toks[i+1].text == "Checking" {
			return "it switches off the kernel's " + strings.ToLower(t.text) + " checking"
		}
	}
	return ""
}

// Refused is the error for a file that reaches outside its sandbox.
type Refused struct {
	Sentence int    // 1-based index of the offending sentence
	Text     string // the sentence, clipped
	Why      string
}

func (r *Refused) Error() string {
	return fmt.Sprintf("refused to compile: sentence %d %q: %s", r.Sentence, r.Text, r.Why)
}

// ScanFile splits a whole file into sentences as coqc reads them and
// refuses it when it does not parse to the end (an open comment or string
// would swallow the harness's own sentences) or when a sentence reaches
// outside the sandbox.
func ScanFile(src string) ([]string, error) {
	sentences, rest, err := SplitSentences(src)
	if err != nil {
		return nil, &Refused{Sentence: len(sentences) + 1, Why: "the file ends inside a comment or a string"}
	}
	if strings.TrimSpace(rest) != "" {
		if tokenizeCoq(rest) != nil {
			return nil, &Refused{Sentence: len(sentences) + 1, Text: clip(rest, 60), Why: "the file ends in an unterminated sentence"}
		}
	}
	for i, s := range sentences {
		if why := refusal(s); why != "" {
			return nil, &Refused{Sentence: i + 1, Text: clip(squash(s), 80), Why: why}
		}
	}
	return sentences, nil
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }
