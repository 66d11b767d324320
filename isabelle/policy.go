package isabelle

import (
	"errors"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/llemma-prove/llemma-prove/prover"
)

// This file is the tactic policy (moved here from package prover) and the
// tokeniser it and the theorem loader share (scanIsar). It is not the
// final check's scanner (ScanIsabelle, scan.go): scanIsar keeps words
// whole (letters of any script, digits, _, ', inner dots) because the
// policy and the loader compare whole words ("x.simps", "apply"), while
// ScanIsabelle splits as finely as Isabelle could, so that no refused
// word can hide. A candidate step passes this policy before any prover
// sees it; a whole file passes RefuseSolution and the audit of verify.go.

// isarKind classifies a token of Isabelle's outer syntax.
type isarKind uint8

const (
	isarWord      isarKind = iota // identifier, keyword or number (letters, digits, _ ' .)
	isarString                    // "..." or `...`
	isarCartouche                 // \<open>...\<close> (nested)
	isarComment                   // (* ... *) (nested) or {* ... *}
	isarSymbol                    // \<name> outside a word, or any other character
	isarSpace                     // white space
)

// isarToken is one token with its byte offset in the scanned text.
type isarToken struct {
	Kind isarKind
	Text string
	Pos  int
}

// errIsarIncomplete: the text ends inside a comment, string or cartouche.
var errIsarIncomplete = errors.New("isabelle: incomplete Isabelle text: open comment, string or cartouche")

const (
	isarOpen  = `\<open>`
	isarClose = `\<close>`
)

// scanIsar splits Isabelle outer syntax into tokens. Comments (* *) and
// cartouches nest; strings use backslash escapes. Concatenating the
// tokens' texts gives back src.
func scanIsar(src string) ([]isarToken, error) {
	var toks []isarToken
	i := 0
	for i < len(src) {
		start := i
		r, w := utf8.DecodeRuneInString(src[i:])
		switch {
		case unicode.IsSpace(r):
			for i < len(src) {
				r, w := utf8.DecodeRuneInString(src[i:])
				if !unicode.IsSpace(r) {
					break
				}
				i += w
			}
			toks = append(toks, isarToken{isarSpace, src[start:i], start})
		case strings.HasPrefix(src[i:], "(*"):
			depth := 0
			for {
				if i >= len(src) {
					return toks, errIsarIncomplete
				}
				if strings.HasPrefix(src[i:], "(*") {
					depth++
					i += 2
					continue
				}
				if strings.HasPrefix(src[i:], "*)") {
					depth--
					i += 2
					if depth == 0 {
						break
					}
					continue
				}
				i++
			}
			toks = append(toks, isarToken{isarComment, src[start:i], start})
		case strings.HasPrefix(src[i:], "{*"):
			end := strings.Index(src[i+2:], "*}")
			if end < 0 {
				return toks, errIsarIncomplete
			}
			i += 2 + end + 2
			toks = append(toks, isarToken{isarComment, src[start:i], start})
		case r == '"' || r == '`':
			q := src[i]
			i++
			closed := false
			for i < len(src) {
				if src[i] == '\\' {
					i += 2
					continue
				}
				if src[i] == q {
					i++
					closed = true
					break
				}
				i++
			}
			if !closed || i > len(src) {
				return toks, errIsarIncomplete
			}
			toks = append(toks, isarToken{isarString, src[start:i], start})
		case strings.HasPrefix(src[i:], isarOpen) || r == '‹':
			depth := 0
			for {
				if i >= len(src) {
					return toks, errIsarIncomplete
				}
				switch {
				case strings.HasPrefix(src[i:], isarOpen):
					depth++
					i += len(isarOpen)
				case strings.HasPrefix(src[i:], "‹"):
					depth++
					i += len("‹")
				case strings.HasPrefix(src[i:], isarClose):
					depth--
					i += len(isarClose)
				case strings.HasPrefix(src[i:], "›"):
					depth--
					i += len("›")
				default:
					i++
				}
				if depth == 0 {
					break
				}
			}
			toks = append(toks, isarToken{isarCartouche, src[start:i], start})
		case isarWordRune(r):
			for i < len(src) {
				r, w := utf8.DecodeRuneInString(src[i:])
				if !isarWordRune(r) && r != '.' {
					break
				}
				// a trailing dot (as in "..") is not part of the word
				if r == '.' && (i+1 >= len(src) || !isarWordByte(src[i+1])) {
					break
				}
				i += w
			}
			toks = append(toks, isarToken{isarWord, src[start:i], start})
		case r == '\\' && strings.HasPrefix(src[i:], `\<`):
			end := strings.IndexByte(src[i:], '>')
			if end < 0 {
				i += w
			} else {
				i += end + 1
			}
			toks = append(toks, isarToken{isarSymbol, src[start:i], start})
		default:
			i += w
			toks = append(toks, isarToken{isarSymbol, src[start:i], start})
		}
	}
	return toks, nil
}

func isarWordRune(r rune) bool {
	return r == '_' || r == '\'' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isarWordByte(b byte) bool {
	return b == '_' || b == '\'' || b >= 0x80 || unicode.IsLetter(rune(b)) || unicode.IsDigit(rune(b))
}

// Policy is the tactic policy for Isabelle proposals. A candidate
// is one apply-style proof command: apply, by (sent as apply: the client
// alone writes the closing), using, unfolding, including, defer, prefer,
// or the bare word sledgehammer, which the backend resolves into the
// tactic it finds. Nothing that cheats, adds axioms, runs ML, changes
// configuration, ends the proof or leaves the proof is accepted.
type Policy struct {
	// MaxLen bounds the candidate's length in bytes (default 2000).
	MaxLen int
}

var _ prover.Policy = Policy{}

var (
	// Words that are refused anywhere, even inside strings: the check is
	// lexical on purpose.
	// \<proof> and ⟨proof⟩ are aliases of sorry.
	isaCheat = regexp.MustCompile(`(?i:sorry|oops|quick_and_dirty|skip_proof|cheat|oracle|axiomatization|\baxioms?\b|\\<proof>|⟨proof⟩)`)
	isaML    = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_'])(ML\w*|SML\w*|\w*_ML|declare|setup|\w+_setup|tactic|raw_tactic|\w+_tactic|eval_tac|compile_generated_files|export_code|code_reflect)(?:$|[^\p{L}\p{N}_'])`)
	isaDiag  = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_'])(nitpick|nunchaku|quickcheck|print_state|print_\w+|find_theorems|find_consts|thm_oracles|try0?|solve_direct|value|term|typ|prop|thm)(?:$|[^\p{L}\p{N}_'(])`)
)

// isarCommands maps the Isar command words a candidate may not contain (at
// the top level, outside strings) to the policy rule that names them.
var isarCommands = func() map[string]string {
	m := map[string]string{}
	for _, w := range strings.Fields(`theory begin end lemma theorem corollary proposition schematic_goal
		lemmas theorems definition abbreviation fun function primrec primcorec termination datatype codatatype
		record typedef type_synonym typedecl consts locale interpretation global_interpretation sublocale
		instantiation instance class context notepad named_theorems section subsection subsubsection text
		txt chapter paragraph inductive inductive_set coinductive partial_function nominal_datatype bundle
		unbundle hide_const hide_fact hide_type no_notation notation syntax translations method
		simproc_setup attribute_setup method_setup local_setup setup declare axiomatization oracle`) {
		m[w] = "theory-command"
	}
	for _, w := range strings.Fields(`done qed next oops sorry`) {
		m[w] = "closing"
	}
	for _, w := range strings.Fields(`proof have show hence thus fix obtain assume presume case then from
		with note moreover ultimately also finally let define consider subgoal interpret include includes
		guess write`) {
		m[w] = "isar-structure"
	}
	return m
}()

// stepCommands are the commands a candidate may start with.
var stepCommands = map[string]bool{
	"apply": true, "by": true, "using": true, "unfolding": true, "including": true,
	"defer": true, "prefer": true, "sledgehammer": true,
}

// Check accepts one apply-style proof command and returns it trimmed, with
// `by M` rewritten to `apply M` and `by M1 M2` to `apply (M1, M2)`.
func (p Policy) Check(tactic string) (string, error) {
	t, err := prover.TrimTactic(tactic, p.MaxLen)
	if err != nil {
		return "", err
	}
	if m := isaCheat.FindString(t); m != "" {
		return "", prover.Reject("cheating", "%q", m)
	}
	if m := isaML.FindStringSubmatch(t); m != nil {
		return "", prover.Reject("ml-or-config", "%q", m[1])
	}
	if strings.Contains(t, "[[") {
		return "", prover.Reject("ml-or-config", "configuration attributes [[...]] are not allowed")
	}
	toks, err := scanIsar(t)
	if err != nil {
		return "", prover.Reject("incomplete", "%v", err)
	}
	var words []isarToken // significant tokens at parenthesis depth 0
	depth := 0
	for _, tk := range toks {
		switch tk.Kind {
		case isarComment:
			return "", prover.Reject("comment", "comments are not allowed in a candidate")
		case isarSpace:
			continue
		case isarSymbol:
			if tk.Text == `\<comment>` || tk.Text == "-" && strings.HasPrefix(t[tk.Pos:], "--") {
				return "", prover.Reject("comment", "comments are not allowed in a candidate")
			}
			if depth == 0 && (tk.Text == "{" || tk.Text == "}") {
				return "", prover.Reject("isar-structure", "proof blocks are not search steps")
			}
			switch tk.Text {
			case "(", "[":
				depth++
			case ")", "]":
				depth--
				if depth < 0 {
					return "", prover.Reject("incomplete", "unbalanced brackets")
				}
			}
		case isarWord:
			if m := isaDiag.FindStringSubmatch(" " + tk.Text + " "); m != nil && depth == 0 && tk.Text != "sledgehammer" {
				return "", prover.Reject("diagnostic", "%q", tk.Text)
			}
			if rule, ok := isarCommands[tk.Text]; ok && (depth == 0 || rule != "isar-structure") {
				return "", prover.Reject(rule, "%q is not a search step", tk.Text)
			}
		}
		if depth == 0 || (tk.Kind == isarSymbol && (tk.Text == "(" || tk.Text == "[") && depth == 1) {
			words = append(words, tk)
		}
	}
	if depth != 0 {
		return "", prover.Reject("incomplete", "unbalanced brackets")
	}
	if len(words) == 0 || words[0].Kind != isarWord || !stepCommands[words[0].Text] {
		return "", prover.Reject("not-a-step", "a step starts with apply, by, using, unfolding, including, defer, prefer or sledgehammer; got %q", firstWord(t))
	}
	for _, w := range words[1:] {
		if w.Kind == isarWord && stepCommands[w.Text] {
			return "", prover.Reject("multiple-commands", "%q starts a second command; send one step at a time", w.Text)
		}
		if w.Kind == isarSymbol && w.Text == "." {
			return "", prover.Reject("closing", "%q ends the proof; the client writes the closing", w.Text)
		}
	}
	cmd := words[0].Text
	rest := strings.TrimSpace(t[len(cmd):])
	switch cmd {
	case "sledgehammer":
		if rest != "" && !(strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") && strings.Count(rest, "[") == 1) {
			return "", prover.Reject("sledgehammer", "sledgehammer takes no arguments besides [options]")
		}
		return "sledgehammer", nil
	case "apply", "by":
		if rest == "" {
			return "", prover.Reject("empty", "%s needs a method", cmd)
		}
		methods, err := splitMethods(rest)
		if err != nil {
			return "", err
		}
		switch {
		case cmd == "apply" && len(methods) != 1:
			return "", prover.Reject("multiple-methods", "apply takes one method; parenthesize it")
		case len(methods) == 1:
			return "apply " + methods[0], nil
		case len(methods) == 2:
			return "apply (" + methods[0] + ", " + methods[1] + ")", nil
		default:
			return "", prover.Reject("multiple-methods", "by takes at most two methods")
		}
	case "defer", "prefer":
		for _, c := range rest {
			if !unicode.IsDigit(c) && !unicode.IsSpace(c) {
				return "", prover.Reject("not-a-step", "%s takes a goal number", cmd)
			}
		}
	default:
		if rest == "" {
			return "", prover.Reject("empty", "%s needs facts", cmd)
		}
	}
	return strings.TrimSpace(cmd + " " + rest), nil
}

// splitMethods splits the method text after apply/by into top-level method
// expressions: a parenthesized group or a name with its arguments, each
// with trailing modifiers (+ ? [n]).
func splitMethods(s string) ([]string, error) {
	toks, err := scanIsar(s)
	if err != nil {
		return nil, prover.Reject("incomplete", "%v", err)
	}
	var out []string
	start := -1
	depth := 0
	flush := func(end int) {
		if start >= 0 {
			out = append(out, strings.TrimSpace(s[start:end]))
			start = -1
		}
	}
	for _, tk := range toks {
		if tk.Kind == isarSpace {
			continue
		}
		if depth == 0 {
			isMod := tk.Kind == isarSymbol && (tk.Text == "+" || tk.Text == "?" || tk.Text == "[")
			if !isMod && start >= 0 {
				// a new top-level method begins (arguments of a method
				// need parentheses in Isabelle)
				flush(tk.Pos)
			}
			if start < 0 {
				if tk.Kind != isarWord && !(tk.Kind == isarSymbol && tk.Text == "(") {
					return nil, prover.Reject("method-syntax", "a method is a name or a parenthesized expression: %q", s)
				}
				start = tk.Pos
			}
		}
		switch tk.Text {
		case "(", "[":
			depth++
		case ")", "]":
			depth--
			if depth < 0 {
				return nil, prover.Reject("incomplete", "unbalanced brackets")
			}
		}
	}
	flush(len(s))
	if depth != 0 {
		return nil, prover.Reject("incomplete", "unbalanced brackets")
	}
	return out, nil
}

// firstWord is the start of s up to white space, "(" or ".", for messages.
func firstWord(s string) string {
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '(' || r == '.' }); i > 0 {
		return s[:i]
	}
	return s
}
