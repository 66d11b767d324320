package lean

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
)

// declRE finds a theorem or lemma declaration at the start of a line.
var declRE = regexp.MustCompile(`(?m)^(?:theorem|lemma)[ \t]+([^\s:(\[{]+)`)

// sorryTail is the proof placeholder a benchmark statement ends with.
var sorryTail = regexp.MustCompile(`\s*:=\s*by\s+sorry\s*$`)

// ParseTheorem reads one Lean 4 benchmark file: everything before the
// `theorem NAME` line is the header (byte for byte), the statement runs to
// the final `:= by sorry`, which is dropped. name, when not empty, must be
// the declared name.
func ParseTheorem(name, src string) (prover.Theorem, error) {
	locs := declRE.FindAllStringSubmatchIndex(src, -1)
	if len(locs) == 0 {
		return prover.Theorem{}, fmt.Errorf("%w: no theorem declaration found", prover.ErrLoad)
	}
	if len(locs) > 1 {
		return prover.Theorem{}, fmt.Errorf("%w: %d declarations; want one theorem per file", prover.ErrLoad, len(locs))
	}
	loc := locs[0]
	declared := src[loc[2]:loc[3]]
	if name == "" {
		name = declared
	} else if declared != name {
		return prover.Theorem{}, fmt.Errorf("%w: the file declares %q, want %q", prover.ErrLoad, declared, name)
	}
	rest := src[loc[0]:]
	m := sorryTail.FindStringIndex(rest)
	if m == nil {
		return prover.Theorem{}, fmt.Errorf("%w: %s does not end with \":= by sorry\"", prover.ErrLoad, name)
	}
	stmt := strings.TrimRight(rest[:m[0]], " \t\r\n")
	if strings.Contains(stmt, "sorry") {
		return prover.Theorem{}, fmt.Errorf("%w: %s: the statement mentions sorry", prover.ErrLoad, name)
	}
	return prover.Theorem{
		Name:      name,
		Backend:   "lean",
		Header:    src[:loc[0]],
		Statement: stmt,
	}, nil
}

// LoadMiniF2F loads the Lean 4 miniF2F split ("test" or "valid") from dir,
// the project root holding MiniF2F/{Test,Valid}/NAME.lean. Theorems come
// sorted by name.
func LoadMiniF2F(dir, split string) ([]prover.Theorem, error) {
	var sub string
	switch split {
	case "test":
		sub = "Test"
	case "valid":
		sub = "Valid"
	default:
		return nil, fmt.Errorf("loading miniF2F: unknown split %q (want test or valid)", split)
	}
	root := filepath.Join(dir, "MiniF2F", sub)
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("loading miniF2F %s split: %w (is %s the miniF2F Lean 4 project?)", split, err, dir)
	}
	var out []prover.Theorem
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".lean") {
			continue
		}
		path := filepath.Join(root, e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		thm, err := ParseTheorem(strings.TrimSuffix(e.Name(), ".lean"), string(b))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		thm.Split, thm.Path = split, path
		out = append(out, thm)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("loading miniF2F %s split: %w", split, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("loading miniF2F %s split: no .lean files in %s", split, root)
	}
	slices.SortFunc(out, func(a, b prover.Theorem) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
