package benchmarks

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
)

// InformalFile is where the informal statements and proofs of miniF2F live
// relative to a backend's data directory (data/minif2f/<backend>).
const InformalFile = "../informal/minif2f-informal.jsonl"

// Informal holds miniF2F's human-written statements and proofs (the
// Draft-Sketch-Prove data), by problem name.
type Informal struct {
	exact map[string]prover.Informal
	norm  map[string]prover.Informal // by NormalName; ambiguous names left out
}

// informalRow is one line of minif2f-informal.jsonl.
type informalRow struct {
	Name      string `json:"problem_name"`
	Statement string `json:"informal_statement"`
	Proof     string `json:"informal_proof"`
}

// LoadInformal reads a JSON-lines file of {problem_name,
// informal_statement, informal_proof}.
func LoadInformal(path string) (*Informal, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: informal statements: %w", ErrData, err)
	}
	defer f.Close()
	in := &Informal{exact: map[string]prover.Informal{}, norm: map[string]prover.Informal{}}
	ambiguous := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r informalRow
		b := sc.Bytes()
		if !json.Valid(b) {
			// The published file has one pandas NaN for a missing proof.
			b = bytes.ReplaceAll(b, []byte(": NaN"), []byte(": null"))
		}
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%w: %s line %d: %w", ErrData, path, line, err)
		}
		if r.Name == "" {
			continue
		}
		v := prover.Informal{Statement: r.Statement, Proof: r.Proof}
		in.exact[r.Name] = v
		n := NormalName(r.Name)
		if _, dup := in.norm[n]; dup {
			ambiguous[n] = true
		}
		in.norm[n] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	for n := range ambiguous {
		delete(in.norm, n)
	}
	return in, nil
}

// For is the informal statement and proof of the split's theorem name: by
// the same name, else by NormalName (the informal data spells 160 names
// the old way, e.g. aimei_2000_7 for aimeI_2000_p7).
func (in *Informal) For(name string) (prover.Informal, bool) {
	if in == nil {
		return prover.Informal{}, false
	}
	if v, ok := in.exact[name]; ok {
		return v, true
	}
	v, ok := in.norm[NormalName(name)]
	return v, ok
}

// Len is the number of problems.
func (in *Informal) Len() int {
	if in == nil {
		return 0
	}
	return len(in.exact)
}

var (
	pNumberRE   = regexp.MustCompile(`_p(\d)`)
	letterNumRE = regexp.MustCompile(`([a-z])(\d)`)
)

// NormalName is a miniF2F problem name in a spelling shared by the old and
// new names: lower case, no "p" before a problem number, an underscore
// between letters and the digits after them (aime1983_9 and aime_1983_p9
// are both aime_1983_9).
func NormalName(name string) string {
	n := strings.ToLower(name)
	n = pNumberRE.ReplaceAllString(n, "_$1")
	n = letterNumRE.ReplaceAllString(n, "${1}_$2")
	return strings.Join(strings.FieldsFunc(n, func(r rune) bool { return r == '_' }), "_")
}
