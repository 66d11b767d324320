package benchmarks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Key identifies one attempt at one theorem: --resume and merge keep one
// verdict per key.
type Key struct {
	Name    string `json:"name"`
	Split   string `json:"split"`
	Backend string `json:"backend"`
	Attempt int    `json:"attempt"`
}

func (k Key) String() string {
	s := fmt.Sprintf("%s/%s/%s", k.Backend, k.Split, k.Name)
	if k.Attempt > 0 {
		s += fmt.Sprintf("#%d", k.Attempt)
	}
	return s
}

// Key returns the result's key.
func (r Result) Key() Key {
	return Key{Name: r.Name, Split: r.Split, Backend: r.Backend, Attempt: r.Attempt}
}

// rank orders verdicts for deduplication: a proof beats everything, a
// verdict beats an error, anything beats an interruption.
func rank(status string) int {
	switch status {
	case string(prover.StatusProved):
		return 4
	case string(prover.StatusFailed), string(prover.StatusTimeout):
		return 3
	case string(prover.StatusError):
		return 2
	case string(prover.StatusInterrupted):
		return 1
	}
	return 0
}

// Better reports whether a should replace b as the verdict for their key.
func Better(a, b Result) bool { return rank(a.Status) > rank(b.Status) }

// Dedup keeps one result per key of keyOf: the best verdict, the first
// line among equals. The order is that of the first line of each key.
func Dedup[K comparable](results []Result, keyOf func(Result) K) []Result {
	idx := map[K]int{}
	var out []Result
	for _, r := range results {
		k := keyOf(r)
		if i, ok := idx[k]; ok {
			if Better(r, out[i]) {
				out[i] = r
			}
			continue
		}
		idx[k] = len(out)
		out = append(out, r)
	}
	return out
}

// SortResults orders results by split, name, backend, proposer, attempt.
func SortResults(rs []Result) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		if a.Split != b.Split {
			return a.Split < b.Split
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Backend != b.Backend {
			return a.Backend < b.Backend
		}
		if a.Proposer != b.Proposer {
			return a.Proposer < b.Proposer
		}
		return a.Attempt < b.Attempt
	})
}

// ReadInfo says what ReadResults found besides the results.
type ReadInfo struct {
	Lines int
	// TornBytes is the size of an unterminated last line (what a run killed
	// mid-write leaves); it is not parsed.
	TornBytes int
}

// ReadResults reads a results file (JSON lines). An unterminated last line
// is skipped and reported in ReadInfo; any other bad line is an error.
// Lines that are not results (a "kind" field, as in headers) are skipped.
func ReadResults(path string) ([]Result, ReadInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, ReadInfo{}, err
	}
	return parseResults(path, b)
}

func parseResults(path string, b []byte) ([]Result, ReadInfo, error) {
	var info ReadInfo
	if i := bytes.LastIndexByte(b, '\n'); i+1 < len(b) {
		info.TornBytes = len(b) - (i + 1)
		b = b[:i+1]
	}
	var out []Result
	for n := 1; len(b) > 0; n++ {
		i := bytes.IndexByte(b, '\n')
		line := bytes.TrimSpace(b[:i])
		b = b[i+1:]
		if len(line) == 0 {
			continue
		}
		info.Lines++
		var probe struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal(line, &probe); err != nil {
			return nil, info, fmt.Errorf("%s:%d: not a JSON results line: %v", path, n, err)
		}
		if probe.Kind != "" {
			continue
		}
		var r Result
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, info, fmt.Errorf("%s:%d: %v", path, n, err)
		}
		if r.Name == "" || r.Status == "" {
			return nil, info, fmt.Errorf("%s:%d: a results line needs name and status", path, n)
		}
		out = append(out, r)
	}
	return out, info, nil
}

// RepairTail truncates an unterminated last line of the file at path
// (see RunFile.RepairTail). It returns the number of bytes dropped.
func RepairTail(path string) (int, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	return repairTail(f)
}
