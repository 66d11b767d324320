package lean

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// The pre-compile scanner. A solution is refused, before any process
// starts, when it contains a construct that runs code of its own at
// compile or import time (#eval, run_cmd, initialize, elab, macros,
// simprocs, attributes that register meta code), escapes the kernel
// (debug options, unsafe, implemented_by, extern), reaches the system (IO,
// System, FS, Process), declares global syntax that would still be active
// in the compare file that imports it, or is written so that this scanner
// and Lean could disagree on where a comment, string or character literal
// ends. The last rule is what makes the others hold: the scanner
// tokenises the way Lean's whitespace and token functions do (nested
// /- -/ comments whose opener swallows its third character, -- line
// comments, escapes, raw strings, «» identifiers, Lean's own identifier
// characters), and where a file depends on the token table (a symbol
// glued to --, /-, ' or ") or on string interpolation ({ inside a
// string), it refuses instead of guessing.
//
// The scan is cheap feedback and the gate in front of the compile; the
// verdict itself still comes from the kernel (compare file and axiom
// audit), never from this text.

// Refusal is one construct the verifier will not compile.
type Refusal struct {
	Line   int    // 1-based line of the construct
	Text   string // that source line, trimmed
	Reason string
}

func (r Refusal) String() string {
	return fmt.Sprintf("line %d: %s: %s", r.Line, r.Reason, r.Text)
}

// LeanScan is what ScanLean found in a Lean 4 file.
type LeanScan struct {
	// Refusals, in source order; empty means the file may be compiled.
	Refusals []Refusal
	// Axioms are the axioms the file declares, named as written and
	// prefixed with the enclosing namespaces.
	Axioms []string
}

type tokKind uint8

const (
	tkIdent  tokKind = iota // identifier or keyword, dotted, «» kept
	tkHash                  // #word: a hash command such as #eval
	tkSym                   // one symbol rune
	tkString                // a string literal (text = raw contents)
	tkChar                  // a character literal
	tkNumber                // a numeric literal
)

type leanTok struct {
	kind tokKind
	text string
	off  int // byte offset of the token's first byte
}

// Commands and keywords that run the file's own code at compile or import
// time, or add syntax or elaborators.
var scanKeywords = map[string]string{
	"run_cmd": "runs code at compile time", "run_elab": "runs code at compile time",
	"run_meta": "runs code at compile time", "run_tac": "runs code at compile time",
	"by_elab": "runs code at compile time", "initialize": "runs code when the module is imported",
	"builtin_initialize": "runs code when the module is imported",
	"unsafe":             "escapes the kernel", "implemented_by": "replaces compiled code",
	"extern": "replaces compiled code", "elab": "defines an elaborator (code run at compile time)",
	"elab_rules": "defines an elaborator (code run at compile time)",
	"macro":      "defines a macro (code run at compile time)", "macro_rules": "defines a macro (code run at compile time)",
	"syntax": "declares syntax", "declare_syntax_cat": "declares syntax",
	"binder_predicate": "declares syntax", "simproc": "registers code run by simp",
	"dsimproc": "registers code run by simp", "simproc_decl": "registers code run by simp",
	"dsimproc_decl": "registers code run by simp", "add_aesop_rules": "registers code run by aesop",
	"export":    "adds aliases that could stand in for the top-level name",
	"plausible": "runs code at compile time", "slim_check": "runs code at compile time",
}

// Prefixes of command keywords that register extensions, options or
// syntax (register_simp_attr, declare_config_elab, builtin_simproc, ...).
var scanKeywordPrefixes = []string{"register_", "declare_", "builtin_"}

// Hash commands that evaluate the file's code (or go to the network).
var scanHashCommands = map[string]bool{
	"#eval": true, "#eval!": true, "#exit": true, "#guard": true, "#html": true, "#widget": true,
	"#test": true, "#sample": true, "#leansearch": true, "#loogle": true, "#moogle": true,
	"#statesearch": true,
}

// Name components that reach the system or the environment directly.
var scanComponents = map[string]bool{
	"IO": true, "EIO": true, "BaseIO": true, "System": true, "Process": true, "FS": true,
	"Environment": true, "addDecl": true, "addDeclCore": true, "addDeclWithoutChecking": true,
	"addAndCompile": true, "evalDecl": true, "evalConst": true, "evalExpr": true,
	"modifyEnv": true, "setEnv": true,
}

// Attributes a solution may use: lemma and instance bookkeeping handled by
// library code. Any other attribute could register the file's own code
// (tactic, macro, delab, app_unexpander, simproc, norm_num, positivity,
// init, csimp, implemented_by, extern, ...) and is refused.
var scanAttributes = map[string]bool{
	"simp": true, "reducible": true, "irreducible": true, "semireducible": true, "instance": true,
	"inline": true, "noinline": true, "specialize": true, "ext": true, "norm_cast": true,
	"push_cast": true, "refl": true, "symm": true, "trans": true, "mono": true, "gcongr": true,
	"congr": true, "nolint": true, "deprecated": true, "match_pattern": true, "elab_as_elim": true,
	"elab_without_expected_type": true, "induction_eliminator": true, "cases_eliminator": true,
	"field_simps": true, "simps": true, "mk_iff": true, "to_additive": true, "coe": true,
	"inherit_doc": true, "nontriviality": true, "bound": true, "fun_prop": true, "continuity": true,
	"measurability": true, "class": true, "pp_nodot": true, "grind": true, "zify_simps": true,
	"qify_simps": true, "rify_simps": true, "parity_simps": true, "mfld_simps": true,
}

// The notation family: allowed only as `local` or `scoped`, since a global
// one stays active in every file that imports the module.
var scanNotations = map[string]bool{
	"notation": true, "notation3": true, "infix": true, "infixl": true, "infixr": true,
	"prefix": true, "postfix": true,
}

// Symbols that end a Mathlib token with a quote: f ⁻¹' s, ∑' n, ∏' n.
var quoteTokenEnds = map[rune]bool{'¹': true, '∑': true, '∏': true}

// isLetterLike, isSubScriptAlnum, isIdFirst and isIdRest are Lean's own
// definitions (Init/Meta: Lean.isLetterLike ...): ASCII letters, Greek but
// λ Π Σ, Coptic, Greek extended, the letter-like block (ℕ ℝ ...), the
// mathematical alphanumerics, and subscripts.
func isLetterLike(c rune) bool {
	return (0x3b1 <= c && c <= 0x3c9 && c != 0x3bb) ||
		(0x391 <= c && c <= 0x3a9 && c != 0x3a0 && c != 0x3a3) ||
		(0x3ca <= c && c <= 0x3fb) ||
		(0x1f00 <= c && c <= 0x1ffe) ||
		(0x2100 <= c && c <= 0x214f) ||
		(0x1d49c <= c && c <= 0x1d59f)
}

func isSubScriptAlnum(c rune) bool {
	return (0x2080 <= c && c <= 0x2089) || (0x2090 <= c && c <= 0x209c) || (0x1d62 <= c && c <= 0x1d6a)
}

func isASCIIAlpha(c rune) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isDigit(c rune) bool      { return '0' <= c && c <= '9' }
func isIdFirst(c rune) bool    { return isASCIIAlpha(c) || c == '_' || isLetterLike(c) }
func isIdRest(c rune) bool {
	return isASCIIAlpha(c) || isDigit(c) || c == '_' || c == '\'' || c == '!' || c == '?' ||
		isLetterLike(c) || isSubScriptAlnum(c)
}
func isSpace(c rune) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// isBracket: single-character tokens after which a quote starts a literal.
func isBracket(c rune) bool { return strings.ContainsRune("()[]{}⟨⟩⦃⦄,;", c) }

type scanner struct {
	src  string
	toks []leanTok
	out  LeanScan
	stop bool // a lexing error: Lean's recovery could resume anywhere after it
}

// ScanLean tokenises a Lean 4 source file as Lean does and reports every
// construct the verifier refuses to compile, and the axioms it declares.
// A refusal names the line and says why; a keyword inside a comment or a
// string is not a command and is not refused.
func ScanLean(src string) LeanScan {
	s := &scanner{src: src}
	if !utf8.ValidString(src) {
		s.refuse(0, "the file is not valid UTF-8")
		return s.out
	}
	if strings.ContainsRune(src, 0) {
		s.refuse(strings.IndexByte(src, 0), "the file contains a NUL byte")
		return s.out
	}
	s.lex()
	s.analyse()
	return s.out
}

// lineOf returns the 1-based line number and the trimmed line at off.
func (s *scanner) lineOf(off int) (int, string) {
	if off > len(s.src) {
		off = len(s.src)
	}
	if off < 0 {
		off = 0
	}
	n := strings.Count(s.src[:off], "\n") + 1
	start := strings.LastIndexByte(s.src[:off], '\n') + 1
	end := strings.IndexByte(s.src[off:], '\n')
	if end < 0 {
		end = len(s.src)
	} else {
		end += off
	}
	text := strings.TrimSpace(s.src[start:end])
	if len(text) > 200 {
		text = text[:200] + "..."
	}
	return n, text
}

// maxRefusals bounds the report (and the work on a hostile file).
const maxRefusals = 50

// maxLookahead bounds how far an attribute list or a notation command is
// followed (so that no file costs quadratic time).
const maxLookahead = 400

func (s *scanner) refuse(off int, reason string) {
	if len(s.out.Refusals) >= maxRefusals {
		s.stop = true
		return
	}
	line, text := s.lineOf(off)
	s.out.Refusals = append(s.out.Refusals, Refusal{Line: line, Text: text, Reason: reason})
}

func (s *scanner) at(i int) (rune, int) {
	if i >= len(s.src) {
		return -1, 0
	}
	return utf8.DecodeRuneInString(s.src[i:])
}

// prev is the rune just before byte offset i (-1 at the start).
func (s *scanner) prev(i int) rune {
	if i <= 0 {
		return -1
	}
	r, _ := utf8.DecodeLastRuneInString(s.src[:i])
	return r
}

// symbolBefore reports whether the rune before i is glued to it and could
// belong to the same token in Lean's token table.
func (s *scanner) symbolBefore(i int, brackets bool) bool {
	p := s.prev(i)
	if p < 0 || isSpace(p) || isIdRest(p) {
		return false
	}
	if brackets && isBracket(p) {
		return false
	}
	return true
}

func (s *scanner) emit(kind tokKind, text string, off int) {
	s.toks = append(s.toks, leanTok{kind: kind, text: text, off: off})
}

func (s *scanner) lex() {
	src := s.src
	i := 0
	for i < len(src) && !s.stop {
		c, w := s.at(i)
		next, _ := s.at(i + w)
		switch {
		case isSpace(c):
			i += w
		case c == '-' && next == '-':
			if s.symbolBefore(i, false) {
				s.refuse(i, "`--` glued to a symbol: Lean's token table decides whether it starts a comment (add a space)")
			}
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				i = len(src)
			} else {
				i += j + 1
			}
		case c == '/' && next == '-':
			if s.symbolBefore(i, false) {
				s.refuse(i, "`/-` glued to a symbol: Lean's token table decides whether it starts a comment (add a space)")
			}
			i = s.blockComment(i)
		case c == '"':
			if s.symbolBefore(i, true) {
				s.refuse(i, "a string glued to a symbol: Lean's token table decides where it starts (add a space)")
			}
			i = s.stringLit(i, i+1)
		case c == '\'':
			i = s.quote(i)
		case c == '«' || isIdFirst(c):
			i = s.ident(i)
		case isDigit(c):
			j := i
			for j < len(src) {
				d, dw := s.at(j)
				n2, _ := s.at(j + dw)
				if isASCIIAlpha(d) || isDigit(d) || d == '_' || (d == '.' && isDigit(n2)) {
					j += dw
					continue
				}
				break
			}
			s.emit(tkNumber, src[i:j], i)
			i = j
		case c == '#' && (isIdFirst(next) || next == '«'):
			j := s.identEnd(i + w)
			if s.stop {
				return
			}
			s.emit(tkHash, "#"+unguillemet(src[i+w:j]), i)
			i = j
		default:
			s.emit(tkSym, string(c), i)
			i += w
		}
	}
}

// blockComment skips a /- -/ comment starting at i, as Lean does: the
// opener consumes /- and the character after it (so /-/ does not nest),
// then -/ closes and /- opens one level.
func (s *scanner) blockComment(i int) int {
	src := s.src
	j := i + 2
	if j >= len(src) {
		s.refuse(i, "unterminated comment")
		s.stop = true
		return len(src)
	}
	_, w := s.at(j)
	j += w
	depth := 1
	for {
		if j >= len(src) {
			s.refuse(i, "unterminated comment")
			s.stop = true
			return len(src)
		}
		c, w := s.at(j)
		switch c {
		case '-':
			j += w
			if j < len(src) && src[j] == '/' {
				j++
				depth--
				if depth == 0 {
					return j
				}
			}
		case '/':
			j += w
			if j < len(src) && src[j] == '-' {
				j++
				depth++
			}
		default:
			j += w
		}
	}
}

// stringLit reads a string literal whose opening quote is at open and
// whose contents start at i; it returns the offset after the closing
// quote. Escapes are Lean's; anything Lean would reject is refused (after
// a lexing error Lean's recovery could resume inside what looks like a
// string here).
func (s *scanner) stringLit(open, i int) int {
	src := s.src
	var sb strings.Builder
	braced := false
	for {
		if i >= len(src) {
			s.refuse(open, "unterminated string literal")
			s.stop = true
			return len(src)
		}
		c, w := s.at(i)
		switch c {
		case '"':
			if braced {
				s.refuse(open, "a string literal with `{`: Lean may read it as an interpolated string whose {...} is code")
			}
			s.emit(tkString, sb.String(), open)
			return i + w
		case '\\':
			n, ok := s.escape(i, true)
			if !ok {
				s.refuse(i, "a string escape Lean does not accept")
				s.stop = true
				return len(src)
			}
			sb.WriteString(src[i:n])
			i = n
		default:
			if c == '{' {
				braced = true
			}
			sb.WriteRune(c)
			i += w
		}
	}
}

// escape validates the escape sequence at i (a backslash) and returns the
// offset after it: \\ \" \' \n \t \r \xHH \uHHHH, and in strings a
// backslash before a newline (a string gap).
func (s *scanner) escape(i int, inString bool) (int, bool) {
	src := s.src
	if i+1 >= len(src) {
		return 0, false
	}
	hex := func(from, n int) bool {
		if from+n > len(src) {
			return false
		}
		for k := from; k < from+n; k++ {
			if !strings.ContainsRune("0123456789abcdefABCDEF", rune(src[k])) {
				return false
			}
		}
		return true
	}
	switch src[i+1] {
	case '\\', '"', '\'', 'n', 't', 'r':
		return i + 2, true
	case 'x':
		return i + 4, hex(i+2, 2)
	case 'u':
		return i + 6, hex(i+2, 4)
	case '\n':
		return i + 2, inString
	}
	return 0, false
}

// quote handles a ' at a token start: ” is a token; otherwise Lean reads
// a character literal. A quote glued to a symbol may instead end a token
// of the table (f ⁻¹' s) and is refused unless it is one of Mathlib's.
func (s *scanner) quote(i int) int {
	src := s.src
	if i+1 < len(src) && src[i+1] == '\'' {
		s.emit(tkSym, "''", i)
		return i + 2
	}
	if p := s.prev(i); quoteTokenEnds[p] {
		s.emit(tkSym, "'", i)
		return i + 1
	}
	if s.symbolBefore(i, true) || isIdRest(s.prev(i)) {
		// After a symbol the token table decides; after a number (an
		// identifier would have taken the quote) Lean's number syntax does.
		s.refuse(i, "a quote glued to the token before it: Lean's tokeniser decides whether it starts a character literal (add a space)")
		s.stop = true
		return len(src)
	}
	j := i + 1
	if j >= len(src) {
		s.refuse(i, "unterminated character literal")
		s.stop = true
		return len(src)
	}
	if src[j] == '\\' {
		n, ok := s.escape(j, false)
		if !ok {
			s.refuse(i, "a character escape Lean does not accept")
			s.stop = true
			return len(src)
		}
		j = n
	} else {
		_, w := s.at(j)
		j += w
	}
	if j >= len(src) || src[j] != '\'' {
		s.refuse(i, "malformed character literal")
		s.stop = true
		return len(src)
	}
	s.emit(tkChar, src[i:j+1], i)
	return j + 1
}

// identEnd returns the end of the (dotted) identifier starting at i.
func (s *scanner) identEnd(i int) int {
	src := s.src
	j := i
	for {
		c, w := s.at(j)
		switch {
		case c == '«':
			k := strings.IndexRune(src[j+w:], '»')
			if k < 0 {
				s.refuse(j, "unterminated «identifier»")
				s.stop = true
				return len(src)
			}
			j += w + k + len("»")
		case isIdFirst(c):
			j += w
			for {
				d, dw := s.at(j)
				if d < 0 || !isIdRest(d) {
					break
				}
				j += dw
			}
		default:
			return j
		}
		// A dot continues the name when an identifier part follows.
		if d, dw := s.at(j); d == '.' {
			if e, _ := s.at(j + dw); isIdFirst(e) || e == '«' {
				j += dw
				continue
			}
		}
		return j
	}
}

// ident reads an identifier, or a raw string literal r"..." / r#"..."#.
func (s *scanner) ident(i int) int {
	src := s.src
	if src[i] == 'r' && i+1 < len(src) && (src[i+1] == '"' || src[i+1] == '#') && !isIdRest(s.prev(i)) {
		hashes := 0
		j := i + 1
		for j < len(src) && src[j] == '#' {
			hashes++
			j++
		}
		if j < len(src) && src[j] == '"' {
			closer := "\"" + strings.Repeat("#", hashes)
			k := strings.Index(src[j+1:], closer)
			if k < 0 {
				s.refuse(i, "unterminated raw string literal")
				s.stop = true
				return len(src)
			}
			s.emit(tkString, src[j+1:j+1+k], i)
			return j + 1 + k + len(closer)
		}
	}
	j := s.identEnd(i)
	if s.stop {
		return len(src)
	}
	s.emit(tkIdent, src[i:j], i)
	return j
}

// unguillemet drops the «» quoting of an identifier's components.
func unguillemet(s string) string {
	return strings.NewReplacer("«", "", "»", "").Replace(s)
}

func (s *scanner) sym(k int, text string) bool {
	return k >= 0 && k < len(s.toks) && s.toks[k].kind == tkSym && s.toks[k].text == text
}

func (s *scanner) word(k int) string {
	if k >= 0 && k < len(s.toks) && s.toks[k].kind == tkIdent {
		return s.toks[k].text
	}
	return ""
}

func (s *scanner) analyse() {
	var namespaces []string
	for k, t := range s.toks {
		if len(s.out.Refusals) >= maxRefusals {
			return
		}
		switch t.kind {
		case tkHash:
			if scanHashCommands[t.text] {
				s.refuse(t.off, fmt.Sprintf("`%s` runs code at compile time", t.text))
			}
		case tkSym:
			if t.text == "@" && s.sym(k+1, "[") {
				s.attributes(k + 1)
			}
		case tkIdent:
			s.identifier(k, t)
			w := unguillemet(t.text)
			switch w {
			case "set_option":
				if name := s.word(k + 1); name != "" {
					if first, _, _ := strings.Cut(unguillemet(name), "."); first == "debug" {
						s.refuse(t.off, fmt.Sprintf("`set_option %s` changes what the kernel checks", unguillemet(name)))
					}
				}
			case "attribute":
				if s.sym(k+1, "[") {
					s.attributes(k + 1)
				}
			case "axiom":
				if name := s.word(k + 1); name != "" {
					full := unguillemet(name)
					if rest, ok := strings.CutPrefix(full, "_root_."); ok {
						full = rest
					} else if ns := strings.Join(nonEmpty(namespaces), "."); ns != "" {
						full = ns + "." + full
					}
					s.out.Axioms = append(s.out.Axioms, full)
				}
			case "namespace":
				namespaces = append(namespaces, unguillemet(s.word(k+1)))
			case "section":
				namespaces = append(namespaces, "")
			case "end":
				if len(namespaces) > 0 {
					namespaces = namespaces[:len(namespaces)-1]
				}
			}
			if scanNotations[w] {
				s.notation(k, w)
			}
		}
	}
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// identifier applies the keyword and name-component rules to one
// identifier token.
func (s *scanner) identifier(k int, t leanTok) {
	w := unguillemet(t.text)
	if why, ok := scanKeywords[w]; ok {
		s.refuse(t.off, fmt.Sprintf("`%s` %s", w, why))
		return
	}
	for _, p := range scanKeywordPrefixes {
		if strings.HasPrefix(w, p) {
			s.refuse(t.off, fmt.Sprintf("`%s` registers an extension, option or syntax", w))
			return
		}
	}
	for _, c := range strings.Split(w, ".") {
		switch {
		case scanComponents[c]:
			s.refuse(t.off, fmt.Sprintf("`%s` reaches the system or the environment", w))
			return
		case strings.Contains(strings.ToLower(c), "unsafe"):
			s.refuse(t.off, fmt.Sprintf("`%s` is unsafe code", w))
			return
		}
	}
}

// attributes checks the attribute list whose `[` is token k.
func (s *scanner) attributes(k int) {
	depth := 0
	entryStart := true
	for j := k; j < len(s.toks); j++ {
		if j-k > maxLookahead {
			s.refuse(s.toks[k].off, "attribute list too long or unterminated")
			return
		}
		t := s.toks[j]
		if t.kind == tkSym {
			switch t.text {
			case "[", "(", "{", "⟨":
				depth++
				if depth == 1 && t.text == "[" {
					entryStart = true
				}
				continue
			case "]", ")", "}", "⟩":
				depth--
				if depth == 0 {
					return
				}
				continue
			case ",":
				if depth == 1 {
					entryStart = true
				}
				continue
			case "-":
				continue // attribute [-simp] foo
			}
		}
		if depth != 1 || !entryStart {
			continue
		}
		w := unguillemet(t.text)
		if t.kind == tkIdent && (w == "local" || w == "scoped") {
			continue
		}
		entryStart = false
		if t.kind != tkIdent || !scanAttributes[w] {
			s.refuse(t.off, fmt.Sprintf("attribute `%s` is not accepted in a solution (it could register the file's own code)", t.text))
		}
	}
}

// notation checks a notation-family command at token k: it must be local
// or scoped, and its atoms must tokenise the same for Lean and here.
func (s *scanner) notation(k int, kw string) {
	if mod := unguillemet(s.word(k - 1)); mod != "local" && mod != "scoped" {
		s.refuse(s.toks[k].off, fmt.Sprintf("global `%s` stays active in the files that import the solution (use `local %s`)", kw, kw))
		return
	}
	for j := k + 1; j < len(s.toks) && j-k <= maxLookahead; j++ {
		t := s.toks[j]
		if s.sym(j, "=") && s.sym(j+1, ">") && s.toks[j+1].off == t.off+1 {
			return
		}
		if t.kind == tkString && !safeAtom(t.text) {
			s.refuse(t.off, fmt.Sprintf("notation atom %q could change how Lean splits the rest of the file", t.text))
		}
	}
}

// safeAtom: an atom (spaces aside) made only of identifier characters, or
// only of symbols other than the ones that open comments, strings,
// characters, names, interpolations and «» identifiers.
func safeAtom(a string) bool {
	a = strings.TrimSpace(a)
	if a == "" {
		return false
	}
	ident, sym := false, false
	for _, c := range a {
		switch {
		case isSpace(c):
			return false
		case isIdRest(c):
			ident = true
		case strings.ContainsRune("-/\"'`{}«»#\\", c):
			return false
		default:
			sym = true
		}
	}
	if ident && sym {
		return false
	}
	if ident {
		r, _ := utf8.DecodeRuneInString(a)
		return isIdFirst(r)
	}
	return true
}

// declaresConstants returns the declaration keywords a challenge header
// uses (def, theorem, notation, ...): the compare file imports the
// challenge and the solution together, so a constant both declare at the
// top level would clash.
func declaresConstants(header string) []string {
	s := &scanner{src: header}
	s.lex()
	decl := map[string]bool{
		"def": true, "theorem": true, "lemma": true, "abbrev": true, "instance": true,
		"structure": true, "inductive": true, "class": true, "axiom": true, "opaque": true,
		"mutual": true, "example": true, "irreducible_def": true,
	}
	var out []string
	for k, t := range s.toks {
		w := unguillemet(t.text)
		if t.kind != tkIdent {
			continue
		}
		if mod := unguillemet(s.word(k - 1)); decl[w] || (scanNotations[w] && mod != "local" && mod != "scoped") {
			out = append(out, w)
		}
	}
	return out
}
