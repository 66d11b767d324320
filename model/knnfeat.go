package model

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Proof-state features for the k-NN proposer, after Tactician's simple
// features (coq-automation.md §2.2) but computed from coqtop's printed
// goal, since there is no term tree outside Coq: the display is parsed into
// hypotheses and conclusion, tokenised, local names are replaced by
// placeholders typed by their type's head, numerals are bucketed, and the
// unigrams, adjacent bigrams and head/argument bigrams of the goal and the
// hypotheses (in separate namespaces) are hashed to uint64.

// FeatureVersion changes whenever the features of a state change; a model
// file records the version it was built with and is refused by another.
const FeatureVersion = 1

// FeatureConfig describes the features, for a model file's header.
type FeatureConfig struct {
	Version      int      `json:"version"`
	Numerals     []string `json:"numerals"`
	Bigrams      string   `json:"bigrams"`
	Namespaces   []string `json:"namespaces"`
	Placeholders string   `json:"placeholders"`
	Hash         string   `json:"hash"`
}

// CurrentFeatureConfig is the configuration this build computes.
func CurrentFeatureConfig() FeatureConfig {
	return FeatureConfig{
		Version:      FeatureVersion,
		Numerals:     []string{"0", "1", "2", "small (3..100)", "large (>100)", "decimal"},
		Bigrams:      "adjacent tokens at one parenthesis depth; head before '(' with the first token inside",
		Namespaces:   []string{"G (conclusion)", "H (hypotheses)", "V (variable types)", "N (counts)"},
		Placeholders: "local variables and bound names by their type's head ($R, $nat, $Z, $fun, ...); hypotheses $H",
		Hash:         "fnv-1a 64 over namespace and tokens",
	}
}

// maxStateBytes bounds the text a state's features are computed from.
const maxStateBytes = 64 << 10

const goalBar = "============================"

// goalHyp is one line of a goal's context: `a, b : R`, `H : x < y` or
// `x := 3 : nat`.
type goalHyp struct {
	names []string
	typ   string
	class string // the type's head class: R, nat, Z, fun, prop, sort, ...
}

// goalState is a parsed goal display: goal 1's context and conclusion and
// the number of goals.
type goalState struct {
	hyps   []goalHyp
	concl  string
	nGoals int
}

// parseGoals reads a State's Goals (goal 1 with its hypotheses first).
func parseGoals(goals []string) goalState {
	var g goalState
	g.nGoals = len(goals)
	if len(goals) == 0 {
		return g
	}
	first := goals[0]
	if len(first) > maxStateBytes {
		first = first[:maxStateBytes]
	}
	hypText, concl := "", first
	if i := strings.LastIndex(first, goalBar); i >= 0 {
		hypText, concl = first[:i], first[i+len(goalBar):]
	}
	g.concl = strings.TrimSpace(concl)
	for _, line := range strings.Split(hypText, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(g.hyps) > 0 {
			g.hyps[len(g.hyps)-1].typ += " " + strings.TrimSpace(line)
			continue
		}
		i := strings.Index(line, " : ")
		if i < 0 {
			continue
		}
		head, typ := line[:i], strings.TrimSpace(line[i+3:])
		if j := strings.Index(head, " := "); j >= 0 { // let-bound: x := body : T
			head = head[:j]
		}
		var names []string
		for _, n := range strings.Split(head, ",") {
			if n = strings.TrimSpace(n); isIdent(n) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			continue
		}
		g.hyps = append(g.hyps, goalHyp{names: names, typ: typ})
	}
	for i := range g.hyps {
		g.hyps[i].class = typeClass(g.hyps[i].typ)
	}
	return g
}

// knownTypes are type heads whose inhabitants are data, not proofs.
var knownTypes = map[string]bool{
	"nat": true, "Z": true, "R": true, "N": true, "Q": true, "C": true, "positive": true,
	"bool": true, "list": true, "option": true, "prod": true, "sum": true, "Set": true,
	"Type": true, "Prop": true, "comparison": true, "ascii": true, "string": true, "sig": true,
	"Rdefinitions.R": true, "BinNums.Z": true, "Datatypes.nat": true,
}

// propWords at parenthesis depth 0 make a type a proposition.
var propWords = map[string]bool{
	"=": true, "<>": true, "<": true, "<=": true, ">": true, ">=": true, "/\\": true, "\\/": true,
	"<->": true, "~": true, "forall": true, "exists": true, "True": true, "False": true, "|": true,
}

// typeClass is the head class of a hypothesis's type: a known data type's
// head (R, nat, Z, list ...), fun for functions, sort for Prop/Type/Set,
// prop for propositions (proofs), else the head identifier.
func typeClass(typ string) string {
	toks := tokenize(typ)
	// (P)%R and (P) classify as P.
	if n := len(toks); n >= 3 && toks[n-1].kind == tokOp && strings.HasPrefix(toks[n-1].s, "%") {
		toks = toks[:n-1]
	}
	for len(toks) >= 2 && toks[0].kind == tokOpen && closes(toks) {
		toks = toks[1 : len(toks)-1]
	}
	if len(toks) == 0 {
		return "other"
	}
	depth, arrow := 0, false
	for _, t := range toks {
		switch t.s {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
		}
		if depth == 0 {
			if propWords[t.s] {
				return "prop"
			}
			if t.s == "->" {
				arrow = true
			}
		}
	}
	if arrow {
		return "fun"
	}
	head := toks[0].s
	switch head {
	case "Prop", "Type", "Set":
		return "sort"
	}
	if knownTypes[head] {
		if i := strings.LastIndexByte(head, '.'); i >= 0 {
			head = head[i+1:]
		}
		return head
	}
	if len(toks) > 1 && toks[0].kind == tokIdent {
		return "prop" // an unknown head applied to arguments: a predicate (prime p, Nat.Odd n)
	}
	if toks[0].kind == tokIdent && (unicode.IsUpper(firstRune(head)) || len(toks) == 1) {
		return head
	}
	return "other"
}

// closes reports whether toks[0]'s parenthesis closes at the last token.
func closes(toks []token) bool {
	depth := 0
	for i, t := range toks {
		switch t.kind {
		case tokOpen:
			depth++
		case tokClose:
			depth--
			if depth == 0 {
				return i == len(toks)-1
			}
		}
	}
	return false
}

func firstRune(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }

type tokKind uint8

const (
	tokIdent tokKind = iota
	tokNum
	tokOp
	tokOpen
	tokClose
	tokComma
	tokString
)

type token struct {
	s     string
	kind  tokKind
	start int // byte offset in the text
}

// isIdentStart and isIdentRune follow Coq's identifiers, with Unicode
// letters and subscript digits (h₁).
func isIdentStart(r rune) bool { return unicode.IsLetter(r) || r == '_' }
func isIdentRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '\'' || unicode.Is(unicode.No, r)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if i == 0 && !isIdentStart(r) || !isIdentRune(r) {
			return false
		}
	}
	return true
}

// tokenize splits printed Coq terms: identifiers and qualified names,
// numerals, operator runs, parentheses and commas, strings.
func tokenize(s string) []token {
	out := make([]token, 0, len(s)/3+1)
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		start := i
		switch {
		case unicode.IsSpace(r):
			i += w
			continue
		case isIdentStart(r):
			j := i + w
			for j < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[j:])
				if isIdentRune(r2) {
					j += w2
					continue
				}
				// A qualified name: Z.add, Rdefinitions.Rplus.
				if r2 == '.' && j+1 < len(s) {
					if r3, _ := utf8.DecodeRuneInString(s[j+1:]); isIdentStart(r3) {
						j++
						continue
					}
				}
				break
			}
			out = append(out, token{s[i:j], tokIdent, start})
			i = j
		case r >= '0' && r <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '_') {
				j++
			}
			if j+1 < len(s) && s[j] == '.' && s[j+1] >= '0' && s[j+1] <= '9' {
				j++
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
			}
			out = append(out, token{s[i:j], tokNum, start})
			i = j
		case r == '(' || r == '[' || r == '{':
			out = append(out, token{s[i : i+w], tokOpen, start})
			i += w
		case r == ')' || r == ']' || r == '}':
			out = append(out, token{s[i : i+w], tokClose, start})
			i += w
		case r == ',':
			out = append(out, token{",", tokComma, start})
			i += w
		case r == '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				j++
			}
			if j < len(s) {
				j++
			}
			out = append(out, token{s[i:j], tokString, start})
			i = j
		case r == '%':
			// A scope delimiter: %R, %Z, %nat.
			j := i + 1
			for j < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[j:])
				if !isIdentRune(r2) {
					break
				}
				j += w2
			}
			out = append(out, token{s[i:j], tokOp, start})
			i = j
		default:
			j := i
			for j < len(s) {
				r2, w2 := utf8.DecodeRuneInString(s[j:])
				if unicode.IsSpace(r2) || isIdentStart(r2) || r2 >= '0' && r2 <= '9' || strings.ContainsRune("()[]{},\"%", r2) {
					break
				}
				j += w2
			}
			if j == i {
				j = i + w
			}
			out = append(out, token{s[i:j], tokOp, start})
			i = j
		}
	}
	return out
}

// numBucket replaces a numeral by its bucket, never its value.
func numBucket(s string) string {
	if strings.Contains(s, ".") {
		return "#dec"
	}
	s = strings.TrimLeft(strings.ReplaceAll(s, "_", ""), "0")
	switch {
	case s == "":
		return "#0"
	case s == "1":
		return "#1"
	case s == "2":
		return "#2"
	case len(s) <= 2 || s == "100":
		return "#small"
	}
	return "#large"
}

// maxBinderTokens bounds the scan for a binder's names (so that a display
// full of binders without commas stays linear).
const maxBinderTokens = 64

// binders introduce bound names up to the next ',' or '=>'.
var binders = map[string]bool{"forall": true, "exists": true, "fun": true, "exists!": true}

// symbols maps each token of a term to its feature symbol: local names by
// placeholders, numerals by buckets.
func symbols(toks []token, locals map[string]string) []string {
	out := make([]string, len(toks))
	bound := map[string]string{}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		switch t.kind {
		case tokNum:
			out[i] = numBucket(t.s)
			continue
		case tokString:
			out[i] = "\"str\""
			continue
		case tokIdent:
		default:
			out[i] = t.s
			continue
		}
		if binders[t.s] {
			out[i] = t.s
			// Bound names up to ',' or '=>' (types after ':' are terms).
			j := i + 1
			var names []string
			typ := ""
			for ; j < len(toks) && j <= i+maxBinderTokens && toks[j].s != "," && toks[j].s != "=>"; j++ {
				switch {
				case toks[j].s == ":" && j+1 < len(toks):
					typ = toks[j+1].s
				case toks[j].kind == tokIdent && typ == "":
					names = append(names, toks[j].s)
				case toks[j].s == ")":
					for _, n := range names {
						bound[n] = boundClass(typ)
					}
					names, typ = nil, ""
				}
			}
			for _, n := range names {
				bound[n] = boundClass(typ)
			}
			continue
		}
		if c, ok := bound[t.s]; ok {
			out[i] = c
		} else if c, ok := locals[t.s]; ok {
			out[i] = c
		} else {
			out[i] = t.s
		}
	}
	return out
}

func boundClass(typ string) string {
	if typ == "" {
		return "$b"
	}
	c := typeClass(typ)
	if c == "other" || c == "prop" {
		return "$b"
	}
	return "$" + c
}

// placeholder is the symbol a local name stands for in features.
func placeholder(class string) string {
	if class == "prop" {
		return "$H"
	}
	return "$" + class
}

// featureSet accumulates hashed features; sorted deduplicates them.
type featureSet struct{ h []uint64 }

func (f *featureSet) add(parts ...string) {
	const offset64, prime64 = 14695981039346656037, 1099511628211
	h := uint64(offset64)
	for i, p := range parts {
		if i > 0 {
			h *= prime64 // FNV-1a of the separator byte 0
		}
		for j := 0; j < len(p); j++ {
			h ^= uint64(p[j])
			h *= prime64
		}
	}
	f.h = append(f.h, h)
}

func (f *featureSet) sorted() []uint64 {
	slices.Sort(f.h)
	f.h = slices.Compact(f.h)
	return f.h
}

// termFeatures adds the unigrams, adjacent bigrams (at one parenthesis
// depth) and head/argument bigrams (the token before '(' with the first one
// inside) of one term in namespace ns, and its top-level connective.
func termFeatures(f *featureSet, ns string, syms []string, toks []token) {
	type frame struct{ prev, head string }
	stack := []frame{{}}
	for i, s := range syms {
		f.add(ns, s)
		top := &stack[len(stack)-1]
		switch toks[i].kind {
		case tokOpen:
			stack = append(stack, frame{head: top.prev})
			top.prev = ""
			continue
		case tokClose:
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			stack[len(stack)-1].prev = "()"
			continue
		case tokComma:
			top.prev = ""
			continue
		}
		if top.prev == "" && top.head != "" {
			f.add(ns, top.head, "(", s)
			top.head = ""
		}
		if top.prev != "" {
			f.add(ns, top.prev, s)
		}
		top.prev = s
	}
	f.add(ns+"^", connective(toks, syms))
}

// connectiveOrder lists the top-level connectives loosest first.
var connectiveOrder = []string{"<->", "->", "\\/", "/\\", "~", "=", "<>", "<=", "<", ">=", ">", "+", "-", "*", "/", "^"}

// connective is the loosest operator at parenthesis depth 0, or the head.
func connective(toks []token, syms []string) string {
	if len(toks) == 0 {
		return ""
	}
	if binders[toks[0].s] {
		return toks[0].s
	}
	present := map[string]bool{}
	depth := 0
	for _, t := range toks {
		switch t.kind {
		case tokOpen:
			depth++
		case tokClose:
			depth--
		case tokOp:
			if depth == 0 {
				present[t.s] = true
			}
		}
	}
	for _, c := range connectiveOrder {
		if present[c] {
			return c
		}
	}
	return "app:" + syms[0]
}

func countBucket(n int) string {
	switch {
	case n <= 0:
		return "0"
	case n <= 3:
		return string(rune('0' + n))
	case n <= 6:
		return "4-6"
	}
	return "7+"
}

// localNames maps each name of g's context to its placeholder.
func (g goalState) localNames() map[string]string {
	m := map[string]string{}
	for _, h := range g.hyps {
		for _, n := range h.names {
			m[n] = placeholder(h.class)
		}
	}
	return m
}

// stateFeatures computes the sorted feature hashes of a parsed state.
func stateFeatures(g goalState) []uint64 {
	f := &featureSet{}
	locals := g.localNames()
	toks := tokenize(g.concl)
	termFeatures(f, "G", symbols(toks, locals), toks)
	if len(toks) > 0 {
		f.add("G0", symbols(toks[:1], locals)[0])
	}
	classes := map[string]int{}
	nprop := 0
	for _, h := range g.hyps {
		if h.class != "prop" {
			classes[h.class] += len(h.names)
			if h.class == "fun" {
				ht := tokenize(h.typ)
				termFeatures(f, "F", symbols(ht, locals), ht)
			}
			continue
		}
		nprop += len(h.names)
		ht := tokenize(h.typ)
		termFeatures(f, "H", symbols(ht, locals), ht)
	}
	for c, n := range classes {
		f.add("V", c)
		f.add("V", c, countBucket(n))
	}
	f.add("N", "goals", countBucket(g.nGoals))
	f.add("N", "hyps", countBucket(nprop))
	return f.sorted()
}

// hypFeatures is the feature set of one hypothesis type (for slot binding).
func hypFeatures(typ string, locals map[string]string) []uint64 {
	f := &featureSet{}
	ht := tokenize(typ)
	termFeatures(f, "H", symbols(ht, locals), ht)
	return f.sorted()
}
