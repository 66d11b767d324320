package isabelle

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
)

// ErrParse: a source file is not one theory with one theorem.
var ErrParse = errors.New("isabelle: cannot parse theorem file")

// proofStart are the words that end a statement: the first proof command.
var proofStart = map[string]bool{
	"proof": true, "by": true, "apply": true, "using": true, "unfolding": true, "sorry": true,
	"oops": true, "including": true, "supply": true, "done": true, "end": true, "subgoal": true,
	"defer": true, "prefer": true, "sledgehammer": true, "nitpick": true,
}

// goalCommands are the theory commands that state a goal.
var goalCommands = map[string]bool{
	"theorem": true, "lemma": true, "corollary": true, "proposition": true, "schematic_goal": true,
}

// commandWords split a proof text into commands (at parenthesis depth 0).
var commandWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`apply by using unfolding including supply defer prefer sledgehammer
		done qed proof next oops sorry end have show hence thus fix obtain assume presume case then from
		with note moreover ultimately also finally let define consider subgoal print_state lemma theorem
		corollary proposition definition declare setup local_setup ML ML_val ML_file axiomatization
		nitpick quickcheck`) {
		m[w] = true
	}
	return m
}()

// sigTokens returns the tokens that are not space or comments.
func sigTokens(src string) ([]isarToken, error) {
	toks, err := scanIsar(src)
	if err != nil {
		return nil, err
	}
	out := toks[:0]
	for _, t := range toks {
		if t.Kind != isarSpace && t.Kind != isarComment {
			out = append(out, t)
		}
	}
	return out, nil
}

// theoryHeader locates `theory NAME imports ... begin` in src.
type theoryHeader struct {
	namePos, nameEnd int    // byte range of NAME
	imports          string // the text between imports and begin, trimmed
	bodyPos          int    // the byte offset just after begin
}

func parseHeader(src string, toks []isarToken) (theoryHeader, int, error) {
	var h theoryHeader
	i := 0
	for i < len(toks) && !(toks[i].Kind == isarWord && toks[i].Text == "theory") {
		i++
	}
	if i+1 >= len(toks) || toks[i+1].Kind != isarWord {
		return h, 0, fmt.Errorf("%w: no theory header", ErrParse)
	}
	h.namePos, h.nameEnd = toks[i+1].Pos, toks[i+1].Pos+len(toks[i+1].Text)
	j := i + 2
	impStart := -1
	for ; j < len(toks); j++ {
		if toks[j].Kind != isarWord {
			continue
		}
		if toks[j].Text == "imports" && impStart < 0 {
			impStart = toks[j].Pos + len("imports")
		}
		if toks[j].Text == "begin" {
			break
		}
	}
	if j >= len(toks) || impStart < 0 {
		return h, 0, fmt.Errorf("%w: theory header without imports ... begin", ErrParse)
	}
	h.imports = strings.TrimSpace(src[impStart:toks[j].Pos])
	h.bodyPos = toks[j].Pos + len("begin")
	return h, j + 1, nil
}

// ParseTheorem reads one miniF2F-style theory: a header, exactly one
// theorem named name, possibly a proof (stripped: the theorem counts as an
// open problem), and end. Header is the source before the theorem command,
// byte for byte; Statement runs from the command to the first proof
// command, trailing white space removed.
func ParseTheorem(name, src string) (prover.Theorem, error) {
	toks, err := sigTokens(src)
	if err != nil {
		return prover.Theorem{}, fmt.Errorf("%w: %s: %v", ErrParse, name, err)
	}
	_, k, err := parseHeader(src, toks)
	if err != nil {
		return prover.Theorem{}, fmt.Errorf("%s: %w", name, err)
	}
	start, count := -1, 0
	for i := k; i < len(toks); i++ {
		if toks[i].Kind == isarWord && goalCommands[toks[i].Text] {
			count++
			if start < 0 {
				start = i
			}
		}
	}
	if count != 1 {
		return prover.Theorem{}, fmt.Errorf("%w: %s: %d theorem commands, want exactly 1", ErrParse, name, count)
	}
	if start+1 >= len(toks) || toks[start+1].Text != name {
		return prover.Theorem{}, fmt.Errorf("%w: %s: the theorem is not named %s", ErrParse, name, name)
	}
	end := len(src)
	for i := start + 2; i < len(toks); i++ {
		if toks[i].Kind == isarWord && proofStart[toks[i].Text] {
			end = toks[i].Pos
			break
		}
	}
	stmt := strings.TrimRight(src[toks[start].Pos:end], " \t\r\n")
	return prover.Theorem{
		Name:      name,
		Backend:   "isabelle",
		Header:    src[:toks[start].Pos],
		Statement: stmt,
	}, nil
}

// LoadMiniF2F loads dir/split/*.thy (dir is .../minif2f/isabelle), sorted
// by name. Files that fail to parse are reported in the joined error; the
// others are returned.
func LoadMiniF2F(dir, split string) ([]prover.Theorem, error) {
	files, err := filepath.Glob(filepath.Join(dir, split, "*.thy"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("loading miniF2F %s: no .thy files in %s", split, filepath.Join(dir, split))
	}
	sort.Strings(files)
	var out []prover.Theorem
	var errs []error
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t, err := ParseTheorem(strings.TrimSuffix(filepath.Base(f), ".thy"), string(b))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		t.Split, t.Path = split, f
		out = append(out, t)
	}
	return out, errors.Join(errs...)
}

// Imports returns the import list of thm's theory header.
func Imports(thm prover.Theorem) (string, error) {
	toks, err := sigTokens(thm.Header)
	if err != nil {
		return "", err
	}
	h, _, err := parseHeader(thm.Header, toks)
	return h.imports, err
}

// renameTheory replaces the theory name in header by name.
func renameTheory(header, name string) (string, error) {
	toks, err := sigTokens(header)
	if err != nil {
		return "", err
	}
	h, _, err := parseHeader(header, toks)
	if err != nil {
		return "", err
	}
	return header[:h.namePos] + name + header[h.nameEnd:], nil
}

// closing is what the client alone writes after the steps: a state print
// and the end of the apply script.
const (
	statePrint = "print_state"
	closeProof = "done"
	dropProof  = "oops"
)

// Assemble returns thm's header and statement byte for byte, one step per
// line, the client's closing `done` and `end`.
func (b *Backend) Assemble(thm prover.Theorem, proof []string) string {
	return assemble(thm, b.resolve(thm, proof))
}

func assemble(thm prover.Theorem, proof []string) string { return assembleSteps(thm, proof, true) }

// assembleSteps writes thm's header and statement, one step a line
// indented two spaces, the closing `done` when closing is set, and `end`.
func assembleSteps(thm prover.Theorem, proof []string, closing bool) string {
	var sb strings.Builder
	sb.WriteString(thm.Header)
	sb.WriteString(thm.Statement)
	sb.WriteString("\n")
	for _, s := range proof {
		sb.WriteString("  ")
		sb.WriteString(s)
		sb.WriteString("\n")
	}
	if closing {
		sb.WriteString("  " + closeProof + "\n")
	}
	sb.WriteString("\nend\n")
	return sb.String()
}

// splitCommands splits proof text into trimmed commands, each starting at a
// command word at parenthesis depth 0. Text before the first command word is
// an error, and so are comments.
func splitCommands(src string) ([]string, error) {
	toks, err := scanIsar(src)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrParse, err)
	}
	var starts []int
	depth := 0
	for _, t := range toks {
		switch t.Kind {
		case isarComment:
			return nil, fmt.Errorf("%w: comment in the proof", ErrParse)
		case isarSpace:
			continue
		case isarSymbol:
			switch t.Text {
			case "(", "[":
				depth++
			case ")", "]":
				depth--
			}
		case isarWord:
			if depth == 0 && commandWords[t.Text] {
				starts = append(starts, t.Pos)
				continue
			}
		}
		if len(starts) == 0 {
			return nil, fmt.Errorf("%w: text before the first proof command: %q", ErrParse, t.Text)
		}
	}
	out := make([]string, len(starts))
	for i, s := range starts {
		e := len(src)
		if i+1 < len(starts) {
			e = starts[i+1]
		}
		out[i] = strings.TrimSpace(src[s:e])
	}
	return out, nil
}

// checkText is a theory written for one check, with the line ranges of its
// parts (1-based, inclusive).
type checkText struct {
	name      string // theory and file base name
	text      string
	stmtLines [2]int   // header and statement
	steps     [][2]int // one range per step
	closing   [2]int   // print, done, end
}

// buildCheck writes thm with steps under the theory name name, followed by
// the client's state print and closing. When local is set, thm's statement
// ends at a local goal of a structured proof: the closing done finishes
// that goal only, and an oops then drops the enclosing proof, so that a
// check without errors means the local goal is done.
func buildCheck(thm prover.Theorem, name string, steps []string, local bool) (checkText, error) {
	header, err := renameTheory(thm.Header, name)
	if err != nil {
		return checkText{}, err
	}
	var sb strings.Builder
	line := 1
	add := func(s string) [2]int {
		from := line
		sb.WriteString(s)
		line += strings.Count(s, "\n")
		return [2]int{from, line - 1}
	}
	ct := checkText{name: name}
	ct.stmtLines = add(header + thm.Statement + "\n")
	for _, s := range steps {
		ct.steps = append(ct.steps, add("  "+s+"\n"))
	}
	if local {
		ct.closing = add("  " + statePrint + "\n  " + closeProof + "\n  " + dropProof + "\n\nend\n")
	} else {
		ct.closing = add("  " + statePrint + "\n  " + closeProof + "\n\nend\n")
	}
	ct.text = sb.String()
	return ct, nil
}
