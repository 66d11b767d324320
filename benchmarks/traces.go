package benchmarks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/llemma-prove/llemma-prove/search"
)

// TraceFile is the search tree of one attempt, written by --trace DIR as
// DIR/<backend>/<split>/<name>.json (attempts after the first:
// <name>.a<N>.json).
type TraceFile struct {
	Name    string        `json:"name"`
	Split   string        `json:"split"`
	Backend string        `json:"backend"`
	Attempt int           `json:"attempt"`
	Status  string        `json:"status"`
	Proof   []string      `json:"proof"`
	Trace   *search.Trace `json:"trace"`
}

// Pair is one training example from a proof: the state before a step and
// the tactic taken there. --trace DIR appends them to DIR/pairs.jsonl.
type Pair struct {
	Name    string `json:"name"`
	Split   string `json:"split"`
	Backend string `json:"backend"`
	Attempt int    `json:"attempt"`
	Step    int    `json:"step"`
	State   string `json:"state"`
	Tactic  string `json:"tactic"`
}

// TracePath is where the trace of an attempt lives under dir.
func TracePath(dir string, k Key) string {
	name := k.Name
	if k.Attempt > 0 {
		name += fmt.Sprintf(".a%d", k.Attempt)
	}
	return filepath.Join(dir, k.Backend, k.Split, name+".json")
}

// ReadTrace reads the trace of an attempt; a missing file is (nil, nil).
func ReadTrace(dir string, k Key) (*TraceFile, error) {
	b, err := os.ReadFile(TracePath(dir, k))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var tf TraceFile
	if err := json.Unmarshal(b, &tf); err != nil {
		return nil, fmt.Errorf("%s: %w", TracePath(dir, k), err)
	}
	return &tf, nil
}

// stateText turns a trace node's key (goals joined by "\n\x00\n") into
// readable text, goals separated by a blank line.
func stateText(key string) string { return strings.ReplaceAll(key, "\n\x00\n", "\n\n") }

// ProofPairs follows proof from the root of tr and returns each step's
// state and tactic. It stops where the trace does not record a step.
func ProofPairs(tr *search.Trace, proof []string) []Pair {
	if tr == nil || len(tr.Nodes) == 0 {
		return nil
	}
	var out []Pair
	for i, j := range proofEdges(tr, proof) {
		e := tr.Edges[j]
		if e.From < 0 || e.From >= len(tr.Nodes) {
			break
		}
		out = append(out, Pair{Step: i, State: stateText(tr.Nodes[e.From].Key), Tactic: e.Tactic})
	}
	return out
}

// TraceWriter writes --trace DIR: one search tree per attempt (rewritten
// atomically) and the proof's training pairs appended to DIR/pairs.jsonl.
type TraceWriter struct {
	dir   string
	mu    sync.Mutex
	pairs *os.File
}

// OpenTraceWriter creates dir. When keep is non-nil (a resumed run), pairs
// of attempts without a verdict in the results (a run killed between the
// pairs and the result line) are dropped first, so none is written twice.
func OpenTraceWriter(dir string, keep func(Key) bool) (*TraceWriter, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--trace %s: %w", dir, err)
	}
	path := filepath.Join(dir, "pairs.jsonl")
	if keep != nil {
		if err := filterPairs(path, keep); err != nil {
			return nil, fmt.Errorf("--trace %s: %w", dir, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--trace %s: %w", dir, err)
	}
	return &TraceWriter{dir: dir, pairs: f}, nil
}

func filterPairs(path string, keep func(Key) bool) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(b, []byte("\n")) {
		if len(line) == 0 || line[len(line)-1] != '\n' {
			continue // empty or torn
		}
		var p Pair
		if json.Unmarshal(line, &p) != nil {
			continue
		}
		if keep(Key{Name: p.Name, Split: p.Split, Backend: p.Backend, Attempt: p.Attempt}) {
			out.Write(line)
		}
	}
	if out.Len() == len(b) {
		return nil
	}
	return writeAtomic(path, out.Bytes(), 0o644)
}

// Write records the trace of r and, for a proof, its pairs. It runs before
// the result line is written.
func (w *TraceWriter) Write(r Result, tr *search.Trace) error {
	if tr == nil {
		return nil
	}
	k := r.Key()
	path := TracePath(w.dir, k)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	b, err := json.Marshal(TraceFile{Name: r.Name, Split: r.Split, Backend: r.Backend, Attempt: r.Attempt, Status: r.Status, Proof: r.Proof, Trace: tr})
	if err != nil {
		return err
	}
	if err := writeAtomic(path, b, 0o644); err != nil {
		return fmt.Errorf("writing trace: %w", err)
	}
	if r.Status != "proved" {
		return nil
	}
	var buf bytes.Buffer
	for _, p := range ProofPairs(tr, r.Proof) {
		p.Name, p.Split, p.Backend, p.Attempt = r.Name, r.Split, r.Backend, r.Attempt
		line, err := json.Marshal(p)
		if err != nil {
			return err
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	if buf.Len() == 0 {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.pairs.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("writing pairs: %w", err)
	}
	return w.pairs.Sync()
}

// Close closes DIR/pairs.jsonl.
func (w *TraceWriter) Close() error { return w.pairs.Close() }
