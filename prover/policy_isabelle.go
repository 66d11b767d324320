package prover

import (
	"errors"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// IsarTokenKind classifies a token of Isabelle's outer syntax.
type IsarTokenKind uint8

const (
	IsarWord      IsarTokenKind = iota // identifier, keyword or number (letters, digits, _ ' .)
	IsarString                         // "..." or `...`
	IsarCartouche                      // \<open>...\<close> (nested)
	IsarComment                        // (* ... *) (nested) or {* ... *}
	IsarSymbol                         // \<name> outside a word, or any other character
	IsarSpace                          // white space
)

// IsarToken is one token with its byte offset in the scanned text.
type IsarToken struct {
	Kind IsarTokenKind
	Text string
	Pos  int
}

// ErrIsarIncomplete: the text ends inside a comment, string or cartouche.
var ErrIsarIncomplete = errors.New("prover: incomplete Isabelle text: open comment, string or cartouche")

const (
	isarOpen  = `\<open>`
	isarClose = `\<close>`
)

// ScanIsar splits Isabelle outer syntax into tokens. Comments (* *) and
// cartouches nest; strings use backslash escapes. Concatenating the
// tokens' texts gives back src.
func ScanIsar(src string) ([]IsarToken, error) {
	var toks []IsarToken
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
			toks = append(toks, IsarToken{IsarSpace, src[start:i], start})
		case strings.HasPrefix(src[i:], "(*"):
			depth := 0
			for {
				if i >= len(src) {
					return toks, ErrIsarIncomplete
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
			toks = append(toks, IsarToken{IsarComment, src[start:i], start})
		case strings.HasPrefix(src[i:], "{*"):
			end := strings.Index(src[i+2:], "*}")
			if end < 0 {
				return toks, ErrIsarIncomplete
			}
			i += 2 + end + 2
			toks = append(toks, IsarToken{IsarComment, src[start:i], start})
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
				return toks, ErrIsarIncomplete
			}
			toks = append(toks, IsarToken{IsarString, src[start:i], start})
		case strings.HasPrefix(src[i:], isarOpen) || r == '‹':
			depth := 0
			for {
				if i >= len(src) {
					return toks, ErrIsarIncomplete
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
			toks = append(toks, IsarToken{IsarCartouche, src[start:i], start})
		case isWordRune(r):
			for i < len(src) {
				r, w := utf8.DecodeRuneInString(src[i:])
				if !isWordRune(r) && r != '.' {
					break
				}
				// a trailing dot (as in "..") is not part of the word
				if r == '.' && (i+1 >= len(src) || !isWordByte(src[i+1])) {
					break
				}
				i += w
			}
			toks = append(toks, IsarToken{IsarWord, src[start:i], start})
		case r == '\\' && strings.HasPrefix(src[i:], `\<`):
			end := strings.IndexByte(src[i:], '>')
			if end < 0 {
				i += w
			} else {
				i += end + 1
			}
			toks = append(toks, IsarToken{IsarSymbol, src[start:i], start})
		default:
			i += w
			toks = append(toks, IsarToken{IsarSymbol, src[start:i], start})
		}
	}
	return toks, nil
}

func isWordRune(r rune) bool {
	return r == '_' || r == '\'' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func isWordByte(b byte) bool {
	return b == '_' || b == '\'' || b >= 0x80 || unicode.IsLetter(rune(b)) || unicode.IsDigit(rune(b))
}

// IsabellePolicy is the tactic policy for Isabelle proposals. A candidate
// is one apply-style proof command: apply, by (sent as apply: the client
// alone writes the closing), using, unfolding, including, defer, prefer,
// or the bare word sledgehammer, which the backend resolves into the
// tactic it finds. Nothing that cheats, adds axioms, runs ML, changes
// configuration, ends the proof or leaves the proof is accepted.
type IsabellePolicy struct {
	// MaxLen bounds the candidate's length in bytes (default 2000).
	MaxLen int
}

var _ Policy = IsabellePolicy{}

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
func (p IsabellePolicy) Check(tactic string) (string, error) {
	t, err := trimmed(tactic, p.MaxLen)
	if err != nil {
		return "", err
	}
	if m := isaCheat.FindString(t); m != "" {
		return "", reject("cheating", "%q", m)
	}
	if m := isaML.FindStringSubmatch(t); m != nil {
		return "", reject("ml-or-config", "%q", m[1])
	}
	if strings.Contains(t, "[[") {
		return "", reject("ml-or-config", "configuration attributes [[...]] are not allowed")
	}
	toks, err := ScanIsar(t)
	if err != nil {
		return "", reject("incomplete", "%v", err)
	}
	var words []IsarToken // significant tokens at parenthesis depth 0
	depth := 0
	for _, tk := range toks {
		switch tk.Kind {
		case IsarComment:
			return "", reject("comment", "comments are not allowed in a candidate")
		case IsarSpace:
			continue
		case IsarSymbol:
			if tk.Text == `\<comment>` || tk.Text == "-" && strings.HasPrefix(t[tk.Pos:], "--") {
				return "", reject("comment", "comments are not allowed in a candidate")
			}
			if depth == 0 && (tk.Text == "{" || tk.Text == "}") {
				return "", reject("isar-structure", "proof blocks are not search steps")
			}
			switch tk.Text {
			case "(", "[":
				depth++
			case ")", "]":
				depth--
				if depth < 0 {
					return "", reject("incomplete", "unbalanced brackets")
				}
			}
		case IsarWord:
			if m := isaDiag.FindStringSubmatch(" " + tk.Text + " "); m != nil && depth == 0 && tk.Text != "sledgehammer" {
				return "", reject("diagnostic", "%q", tk.Text)
			}
			if rule, ok := isarCommands[tk.Text]; ok && (depth == 0 || rule != "isar-structure") {
				return "", reject(rule, "%q is not a search step", tk.Text)
			}
		}
		if depth == 0 || (tk.Kind == IsarSymbol && (tk.Text == "(" || tk.Text == "[") && depth == 1) {
			words = append(words, tk)
		}
	}
	if depth != 0 {
		return "", reject("incomplete", "unbalanced brackets")
	}
	if len(words) == 0 || words[0].Kind != IsarWord || !stepCommands[words[0].Text] {
		return "", reject("not-a-step", "a step starts with apply, by, using, unfolding, including, defer, prefer or sledgehammer; got %q", firstWord(t))
	}
	for _, w := range words[1:] {
		if w.Kind == IsarWord && stepCommands[w.Text] {
			return "", reject("multiple-commands", "%q starts a second command; send one step at a time", w.Text)
		}
		if w.Kind == IsarSymbol && w.Text == "." {
			return "", reject("closing", "%q ends the proof; the client writes the closing", w.Text)
		}
	}
	cmd := words[0].Text
	rest := strings.TrimSpace(t[len(cmd):])
	switch cmd {
	case "sledgehammer":
		if rest != "" && !(strings.HasPrefix(rest, "[") && strings.HasSuffix(rest, "]") && strings.Count(rest, "[") == 1) {
			return "", reject("sledgehammer", "sledgehammer takes no arguments besides [options]")
		}
		return "sledgehammer", nil
	case "apply", "by":
		if rest == "" {
			return "", reject("empty", "%s needs a method", cmd)
		}
		methods, err := splitMethods(rest)
		if err != nil {
			return "", err
		}
		switch {
		case cmd == "apply" && len(methods) != 1:
			return "", reject("multiple-methods", "apply takes one method; parenthesize it")
		case len(methods) == 1:
			return "apply " + methods[0], nil
		case len(methods) == 2:
			return "apply (" + methods[0] + ", " + methods[1] + ")", nil
		default:
			return "", reject("multiple-methods", "by takes at most two methods")
		}
	case "defer", "prefer":
		for _, c := range rest {
			if !unicode.IsDigit(c) && !unicode.IsSpace(c) {
				return "", reject("not-a-step", "%s takes a goal number", cmd)
			}
		}
	default:
		if rest == "" {
			return "", reject("empty", "%s needs facts", cmd)
		}
	}
	return strings.TrimSpace(cmd + " " + rest), nil
}

// splitMethods splits the method text after apply/by into top-level method
// expressions: a parenthesized group or a name with its arguments, each
// with trailing modifiers (+ ? [n]).
func splitMethods(s string) ([]string, error) {
	toks, err := ScanIsar(s)
	if err != nil {
		return nil, reject("incomplete", "%v", err)
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
		if tk.Kind == IsarSpace {
			continue
		}
		if depth == 0 {
			isMod := tk.Kind == IsarSymbol && (tk.Text == "+" || tk.Text == "?" || tk.Text == "[")
			if !isMod && start >= 0 {
				// a new top-level method begins (arguments of a method
				// need parentheses in Isabelle)
				flush(tk.Pos)
			}
			if start < 0 {
				if tk.Kind != IsarWord && !(tk.Kind == IsarSymbol && tk.Text == "(") {
					return nil, reject("method-syntax", "a method is a name or a parenthesized expression: %q", s)
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
				return nil, reject("incomplete", "unbalanced brackets")
			}
		}
	}
	flush(len(s))
	if depth != 0 {
		return nil, reject("incomplete", "unbalanced brackets")
	}
	return out, nil
}
