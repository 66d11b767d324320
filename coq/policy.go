package coq

import (
	"errors"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Policy is the tactic policy for Coq proposals (coqtop.md §5.3). A
// candidate must be exactly one tactic sentence: no vernacular command, no
// comment, no bullet or brace, nothing that gives up a goal or skips a
// check.
type Policy struct {
	// MaxLen bounds the candidate's length in bytes (default 2000).
	MaxLen int
}

var _ prover.Policy = Policy{}

// ErrIncomplete: the text leaves coqtop waiting for more input (an open
// comment or string); sending it would hang the process.
var ErrIncomplete = errors.New("incomplete sentence: open comment or string")

// SplitSentences splits Coq source into sentences the way coqtop reads
// them: a sentence ends at a '.' followed by white space or the end of the
// text, outside comments (nested) and strings ("" escapes a quote). A bullet
// (-, +, * repeated) or a brace at the start of a sentence is a sentence by
// itself. Sentences are returned trimmed, with their final period; a
// trailing fragment without a period is returned as rest.
func SplitSentences(src string) (sentences []string, rest string, err error) {
	spans, restStart, err := SplitSpans(src)
	for _, sp := range spans {
		sentences = append(sentences, strings.TrimSpace(src[sp[0]:sp[1]]))
	}
	if err != nil {
		return sentences, "", err
	}
	return sentences, strings.TrimSpace(src[restStart:]), nil
}

// SplitSpans is SplitSentences as byte offsets: each span is
// [start, end) of one sentence in src, end just after its period (or its
// bullet or brace); restStart is where the unterminated tail begins.
func SplitSpans(src string) (spans [][2]int, restStart int, err error) {
	start := 0
	depth := 0 // comment nesting
	inString := false
	atStart := true // only white space (or comments) since the sentence began
	for i := 0; i < len(src); {
		r, w := utf8.DecodeRuneInString(src[i:])
		switch {
		case inString:
			if r == '"' {
				if i+1 < len(src) && src[i+1] == '"' {
					i += 2
					continue
				}
				inString = false
			}
		case depth > 0:
			if strings.HasPrefix(src[i:], "(*") {
				depth++
				i += 2
				continue
			}
			if strings.HasPrefix(src[i:], "*)") {
				depth--
				i += 2
				continue
			}
		case strings.HasPrefix(src[i:], "(*"):
			depth++
			i += 2
			continue
		case r == '"':
			inString = true
			atStart = false
		case atStart && unicode.IsSpace(r):
			start = i + w
		case atStart && (r == '{' || r == '}'):
			spans = append(spans, [2]int{i, i + w})
			start = i + w
		case atStart && (r == '-' || r == '+' || r == '*'):
			j := i
			for j < len(src) && src[j] == src[i] {
				j++
			}
			spans = append(spans, [2]int{i, j})
			start = j
			i = j
			continue
		case r == '.':
			atStart = false
			next := i + 1
			if next >= len(src) || isSpaceByte(src[next]) {
				spans = append(spans, [2]int{start, next})
				start = next
				atStart = true
			}
		default:
			atStart = false
		}
		i += w
	}
	if depth > 0 || inString {
		return spans, start, ErrIncomplete
	}
	return spans, start, nil
}

func isSpaceByte(b byte) bool { return b == ' ' || b == '\n' || b == '\t' || b == '\r' || b == '\f' }

var (
	// A goal selector before a tactic: all:, 2:, 1,3:, 1-2:, [x]:, !:, par:.
	coqSelector = regexp.MustCompile(`^(?:all|par|!|\d+(?:\s*[-,]\s*\d+)*|\[[\p{L}_][\p{L}\p{N}_']*\])\s*:\s*`)
	// Words that give up a goal or change the environment, wherever they stand.
	coqForbiddenWords = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_'.])(admit|give_up|Admitted|Abort|Qed|Defined|Save|Axiom|Axioms|Parameter|Parameters|Hypothesis|Hypotheses|Variable|Variables|Conjecture|Definition|Fixpoint|Lemma|Theorem|Require|Import|Export|Load|Drop|Declare|Redirect|Reset|Back|BackTo|Undo|Restart|Quit|Unset|Ltac|Ltac2|Extraction|Proof)(?:$|[^\p{L}\p{N}_'])`)
	// Tactics that skip the type check of the term they install.
	coqNoCheck = regexp.MustCompile(`[\p{L}_]*_no_check\b`)
)

// Check accepts exactly one Coq tactic sentence and returns it ending in a
// period.
func (p Policy) Check(tactic string) (string, error) {
	t, err := prover.TrimTactic(tactic, p.MaxLen)
	if err != nil {
		return "", err
	}
	switch {
	case strings.Contains(t, "<prompt>") || strings.Contains(t, "</prompt>"):
		return "", prover.Reject("prompt-marker", "contains coqtop's prompt markup")
	case strings.Contains(t, "(*") || strings.Contains(t, "*)"):
		return "", prover.Reject("comment", "comments are not allowed in a candidate")
	}
	sentences, rest, err := SplitSentences(t)
	if err != nil {
		return "", prover.Reject("incomplete", "%v", err)
	}
	if rest != "" {
		sentences = append(sentences, rest+".")
	}
	if len(sentences) != 1 {
		return "", prover.Reject("multiple-sentences", "%d sentences; send one tactic at a time", len(sentences))
	}
	s := sentences[0]
	body := strings.TrimSpace(strings.TrimSuffix(s, "."))
	if body == "" {
		return "", prover.Reject("empty", "no tactic text")
	}
	if strings.HasSuffix(body, ".") {
		// "tac.." or "tac...": Coq reads ".." as a token, not an end of
		// sentence, and "..." runs the hidden default tactic of Proof with.
		return "", prover.Reject("structure", "a tactic ends with exactly one period")
	}
	switch body[0] {
	case '-', '+', '*', '{', '}':
		return "", prover.Reject("structure", "bullets and braces are not search steps")
	}
	if loc := coqSelector.FindStringIndex(body); loc != nil {
		body = body[loc[1]:]
	}
	first, _ := utf8.DecodeRuneInString(body)
	if !(unicode.IsLower(first) || first == '_' || first == '(' || first == '[') {
		return "", prover.Reject("vernacular", "a sentence starting with %q is a command, not a tactic", firstWord(body))
	}
	if m := coqForbiddenWords.FindStringSubmatch(s); m != nil {
		return "", prover.Reject("forbidden-word", "%q", m[1])
	}
	if m := coqNoCheck.FindString(s); m != "" {
		return "", prover.Reject("no-check", "%q skips the type check", m)
	}
	return s, nil
}

func firstWord(s string) string {
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '(' || r == '.' }); i > 0 {
		return s[:i]
	}
	return s
}
