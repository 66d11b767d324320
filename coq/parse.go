package coq

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/llemma-prove/llemma-prove/prover"
)

// ParseTheorem cuts a Coq source file into the header before the theorem
// named name and the theorem's statement (through its final period, without
// the proof). The statement must be followed by Proof.
func ParseTheorem(name, src string) (prover.Theorem, error) {
	start := findDecl(src, name)
	if start < 0 {
		return prover.Theorem{}, fmt.Errorf("no `Theorem %s` (or Lemma) in the file", name)
	}
	sentences, _, err := SplitSentences(src[start:])
	if err != nil {
		return prover.Theorem{}, fmt.Errorf("theorem %s: %w", name, err)
	}
	if len(sentences) < 2 {
		return prover.Theorem{}, fmt.Errorf("theorem %s: the statement is not followed by `Proof.`", name)
	}
	stmt := sentences[0]
	if !strings.HasPrefix(src[start:], stmt) {
		return prover.Theorem{}, fmt.Errorf("theorem %s: cannot locate the statement", name)
	}
	if !isProofStart(sentences[1]) {
		return prover.Theorem{}, fmt.Errorf("theorem %s: expected `Proof.` after the statement, found %q", name, clip(sentences[1], 40))
	}
	if _, _, err := SplitSentences(src[:start]); err != nil {
		return prover.Theorem{}, fmt.Errorf("theorem %s: header: %w", name, err)
	}
	return prover.Theorem{Name: name, Backend: "coq", Header: src[:start], Statement: stmt}, nil
}

func isProofStart(s string) bool {
	return s == "Proof." || strings.HasPrefix(s, "Proof ") || strings.HasPrefix(s, "Proof\n")
}

var declRE = regexp.MustCompile(`(?m)^[ \t]*(?:Theorem|Lemma|Example|Corollary|Proposition|Fact|Remark)[ \t\n]+`)

// findDecl returns the offset of the declaration of name, or -1. The name
// must end there: imo_1966_p5 does not match imo_1966_p5'.
func findDecl(src, name string) int {
	for _, loc := range declRE.FindAllStringIndex(src, -1) {
		rest := src[loc[1]:]
		if !strings.HasPrefix(rest, name) {
			continue
		}
		r, _ := utf8.DecodeRuneInString(rest[len(name):])
		if r == utf8.RuneError || !isIdentRune(r) {
			i := loc[0]
			for i < len(src) && (src[i] == ' ' || src[i] == '\t') {
				i++
			}
			return i
		}
	}
	return -1
}

func isIdentRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '\'' || unicode.Is(unicode.No, r)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

var (
	idRE        = regexp.MustCompile(` ?\(ID \d+\)`)
	goalCountRE = regexp.MustCompile(`^(\d+) goals?\b`)
	goalIsRE    = regexp.MustCompile(`(?m)^goal (\d+) is:\s*$`)
)

// goals is a parsed `Show.` response.
type goals struct {
	Count int
	First string   // goal 1 with its hypotheses, canonical
	Rest  []string // conclusions of goals 2..Count, canonical
	Text  string   // the display, canonical
}

// canonical removes process-specific ids and trailing blanks.
func canonical(s string) string {
	s = idRE.ReplaceAllString(s, "")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			continue
		}
		out = append(out, l)
	}
	return dedent(out)
}

// dedent removes the indentation common to all lines.
func dedent(lines []string) string {
	min := -1
	for _, l := range lines {
		n := len(l) - len(strings.TrimLeft(l, " "))
		if min < 0 || n < min {
			min = n
		}
	}
	for i, l := range lines {
		if min > 0 {
			lines[i] = l[min:]
		}
	}
	return strings.Join(lines, "\n")
}

// parseShow reads the response to `Show.`; ok is false for anything that is
// not a plain goal display (then the state must not be used).
func parseShow(resp string) (g goals, proved bool, ok bool) {
	t := strings.TrimSpace(idRE.ReplaceAllString(resp, ""))
	if t == "No more goals." {
		return goals{}, true, true
	}
	m := goalCountRE.FindStringSubmatch(t)
	if m == nil {
		return goals{}, false, false
	}
	g.Count, _ = strconv.Atoi(m[1])
	body := t
	if i := strings.IndexByte(t, '\n'); i >= 0 {
		body = t[i+1:]
	} else {
		return goals{}, false, false
	}
	parts := goalIsRE.Split(body, -1)
	g.First = canonical(parts[0])
	for _, p := range parts[1:] {
		g.Rest = append(g.Rest, canonical(p))
	}
	if len(g.Rest) != g.Count-1 || !strings.Contains(g.First, "============================") {
		return goals{}, false, false
	}
	g.Text = canonical(t)
	return g, false, true
}

// parseShowN reads the response to `Show i.`: goal i with its context.
func parseShowN(resp string) (string, bool) {
	t := strings.TrimSpace(resp)
	if !strings.HasPrefix(t, "goal ") {
		return "", false
	}
	i := strings.IndexByte(t, '\n')
	if i < 0 {
		return "", false
	}
	return canonical(t[i+1:]), true
}

// parseAssumptions reads the output of `Print Assumptions` (the last one in
// out). It returns the axiom names, whether the block was found at all, and
// any section it does not understand (reported as disallowed).
func parseAssumptions(out string) (axioms []string, found bool, unknown []string) {
	const closed = "Closed under the global context"
	ci := strings.LastIndex(out, closed)
	ai := strings.LastIndex(out, "Axioms:")
	if ci < 0 && ai < 0 {
		return nil, false, nil
	}
	if ci > ai {
		return nil, true, nil
	}
	for _, line := range strings.Split(out[ai+len("Axioms:"):], "\n") {
		if line == "" || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name := line
		if i := strings.Index(line, " :"); i >= 0 {
			name = line[:i]
		}
		name = strings.TrimSpace(name)
		if strings.HasSuffix(name, ":") {
			// Another section ("Section Variables:", "Constants relying on
			// type-in-type:" ...): never allowed.
			unknown = append(unknown, name)
			continue
		}
		axioms = append(axioms, name)
	}
	return axioms, true, unknown
}

// declaredAssumptions lists the names a header declares as axioms or
// parameters: those belong to the problem statement.
var assumptionDeclRE = regexp.MustCompile(`^(?:Local\s+|Global\s+)?(?:Axiom|Axioms|Parameter|Parameters|Hypothesis|Hypotheses|Variable|Variables|Conjecture)\s+([^:]+?)\s*:`)

func declaredAssumptions(header string) map[string]bool {
	names := map[string]bool{}
	sentences, _, _ := SplitSentences(header)
	for _, s := range sentences {
		m := assumptionDeclRE.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		for _, n := range strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(m[1])) {
			names[n] = true
		}
	}
	return names
}
