package model

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"sync"
	"time"

	"github.com/llemma-prove/llemma-prove/coq"
)

// KNNFormat names the k-NN model file format; KNNFormatVersion is its
// version. A reader refuses other formats and newer versions.
const (
	KNNFormat        = "llemma-prove/knn"
	KNNFormatVersion = 1
)

// DefaultKNNModel is where `llemma-prove train` writes, and the proposer
// looks, by default (relative to the working directory).
const DefaultKNNModel = "models/coq-knn.gz"

// ErrKNNModel: the model file is not a k-NN model this build can read.
var ErrKNNModel = errors.New("model: not a usable k-NN model file")

// KNNHeader describes a model file: how, when and from what it was built.
type KNNHeader struct {
	Format   string        `json:"format"`
	Version  int           `json:"version"`
	Created  time.Time     `json:"created"`
	Coq      string        `json:"coq,omitempty"` // coqc --version of the replays
	Sources  []KNNSource   `json:"sources"`
	Pairs    KNNPairCounts `json:"pairs"`
	Features FeatureConfig `json:"features"`
	// Training records the wall time the build took (replays included).
	TrainingSeconds float64 `json:"training_seconds,omitempty"`
}

// KNNSource is one origin of training pairs.
type KNNSource struct {
	Kind   string `json:"kind"` // stdlib (replayed .v files) or trace (pairs.jsonl)
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"` // of the file (trace) or of the sorted file hashes (stdlib dir)
	Files  int    `json:"files,omitempty"`
	Pairs  int    `json:"pairs"` // pairs kept from this source
}

// KNNPairCounts counts the pairs of a model.
type KNNPairCounts struct {
	Positive int `json:"positive"` // steps that made progress (seen, before dedup)
	Negative int `json:"negative"` // failed or timed-out steps (seen, before dedup)
	Dropped  int `json:"dropped"`  // refused by the tactic policy or too large
	Examples int `json:"examples"` // distinct (state, tactic) entries in the file
	States   int `json:"states"`   // distinct states in the file
}

// KNNState is one recorded proof state: goal 1 with its context, and how
// many goals there were.
type KNNState struct {
	Text  string `json:"t"`
	Goals int    `json:"g"`
}

// KNNExample is one (state, tactic) entry of a model file.
type KNNExample struct {
	State  int    `json:"s"` // index into the file's states
	Tactic string `json:"t"`
	Source int    `json:"src"`
	Count  int    `json:"n,omitempty"`   // times it made progress
	Neg    int    `json:"neg,omitempty"` // times it failed
	MS     int    `json:"ms,omitempty"`  // slowest recorded run
}

type knnFile struct {
	Header   KNNHeader    `json:"header"`
	States   []KNNState   `json:"states"`
	Examples []KNNExample `json:"examples"`
}

// KNNModel is a loaded k-NN model: its header and the index built from it.
type KNNModel struct {
	Header KNNHeader
	path   string
	sha    string
	size   int64
	pos    *knnIndex // examples that made progress
	neg    *knnIndex // examples that failed
}

// KNNInfo identifies a loaded model for a run's metadata.
type KNNInfo struct {
	Path    string    `json:"path,omitempty"`
	SHA256  string    `json:"sha256"`
	Bytes   int64     `json:"bytes"`
	Header  KNNHeader `json:"header"`
	Indexed int       `json:"indexed"` // examples in the positive index
}

// LoadKNN reads a model file.
func LoadKNN(path string) (*KNNModel, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading k-NN model: %w", err)
	}
	m, err := ReadKNN(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.path = path
	return m, nil
}

// ReadKNN reads a model from r (gzip'd JSON).
func ReadKNN(r io.Reader) (*KNNModel, error) {
	h := sha256.New()
	cr := &countingReader{r: io.TeeReader(r, h)}
	zr, err := gzip.NewReader(cr)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKNNModel, err)
	}
	var f knnFile
	dec := json.NewDecoder(zr)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrKNNModel, err)
	}
	if _, err := io.Copy(io.Discard, cr); err != nil {
		return nil, fmt.Errorf("reading k-NN model: %w", err)
	}
	switch {
	case f.Header.Format != KNNFormat:
		return nil, fmt.Errorf("%w: format %q, want %q", ErrKNNModel, f.Header.Format, KNNFormat)
	case f.Header.Version < 1 || f.Header.Version > KNNFormatVersion:
		return nil, fmt.Errorf("%w: format version %d, this build reads up to %d", ErrKNNModel, f.Header.Version, KNNFormatVersion)
	case f.Header.Features.Version != FeatureVersion:
		return nil, fmt.Errorf("%w: built with feature version %d, this build computes %d; rebuild it with `llemma-prove train`", ErrKNNModel, f.Header.Features.Version, FeatureVersion)
	}
	m := &KNNModel{Header: f.Header, sha: hex.EncodeToString(h.Sum(nil)), size: cr.n}
	if err := m.index(f); err != nil {
		return nil, err
	}
	return m, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// index parses every state once (in parallel) and builds the two indexes.
// Tactic templates are made when an example is first a neighbour.
func (m *KNNModel) index(f knnFile) error {
	for _, e := range f.Examples {
		if e.State < 0 || e.State >= len(f.States) {
			return fmt.Errorf("%w: example refers to state %d of %d", ErrKNNModel, e.State, len(f.States))
		}
	}
	type parsed struct {
		g     goalState
		feats []uint64
	}
	states := make([]parsed, len(f.States))
	workers := max(1, min(goruntime.GOMAXPROCS(0), 8))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(f.States); i += workers {
				states[i].g = parseStateText(f.States[i])
				states[i].feats = stateFeatures(states[i].g)
			}
		}()
	}
	wg.Wait()
	ex := make([]knnExample, len(f.Examples))
	for i, e := range f.Examples {
		p := &states[e.State]
		ex[i] = knnExample{feats: p.feats, state: &p.g, tactic: e.Tactic, count: e.Count, neg: e.Neg, ms: e.MS, lazy: &lazyTemplate{}}
	}
	var pos, neg []knnExample
	for i, e := range f.Examples {
		if e.Count > 0 {
			pos = append(pos, ex[i])
		}
		if e.Neg > 0 {
			neg = append(neg, ex[i])
		}
	}
	m.pos, m.neg = buildIndex(pos), buildIndex(neg)
	return nil
}

// namesLocal reports whether tactic mentions a name of g's context or
// introduces a name (then its template must rename it away from clashes).
func namesLocal(tactic string, g goalState) bool {
	names := map[string]bool{}
	for _, h := range g.hyps {
		for _, n := range h.names {
			names[n] = true
		}
	}
	for _, t := range tokenize(tactic) {
		if t.kind == tokIdent && (names[t.s] || introWords[t.s] || namingWords[t.s] || binders[t.s] || t.s == "as" || t.s == "eqn") {
			return true
		}
	}
	return false
}

func parseStateText(s KNNState) goalState {
	goals := []string{s.Text}
	for i := 1; i < s.Goals; i++ {
		goals = append(goals, "")
	}
	return parseGoals(goals)
}

// Version is the model's identity: "sha256:" and the file's hash.
func (m *KNNModel) Version() string { return "sha256:" + m.sha }

// Info describes the model for a run's metadata.
func (m *KNNModel) Info() KNNInfo {
	return KNNInfo{Path: m.path, SHA256: m.sha, Bytes: m.size, Header: m.Header, Indexed: len(m.pos.ex)}
}

// KNNBuilder collects training pairs and writes a model file. Pairs are
// deduplicated by (state, tactic); the tactic policy filters them.
type KNNBuilder struct {
	header   KNNHeader
	states   []KNNState
	stateIdx map[KNNState]int
	examples []KNNExample
	exIdx    map[[2]string]int
}

// NewKNNBuilder starts an empty model.
func NewKNNBuilder() *KNNBuilder {
	return &KNNBuilder{
		header:   KNNHeader{Format: KNNFormat, Version: KNNFormatVersion, Features: CurrentFeatureConfig()},
		stateIdx: map[KNNState]int{},
		exIdx:    map[[2]string]int{},
	}
}

// AddSource registers a source and returns its index for Add.
func (b *KNNBuilder) AddSource(s KNNSource) int {
	b.header.Sources = append(b.header.Sources, s)
	return len(b.header.Sources) - 1
}

// SetCoq records the Coq version the replays ran on.
func (b *KNNBuilder) SetCoq(v string) { b.header.Coq = v }

// SetTraining records the training wall time.
func (b *KNNBuilder) SetTraining(d time.Duration) {
	b.header.TrainingSeconds = d.Round(time.Second).Seconds()
}

// maxTacticBytes bounds a stored tactic.
const maxTacticBytes = 400

// Add records one step of source src: the goals before it (goal 1 with its
// context first) and the tactic, which made progress or failed. It
// reports whether the pair was kept (the policy accepts the tactic, the
// state is a goal display of bounded size).
func (b *KNNBuilder) Add(src int, goals []string, tactic string, progress bool, elapsed time.Duration) bool {
	t, err := (coq.Policy{}).Check(tactic)
	if err != nil || len(t) > maxTacticBytes || len(goals) == 0 || len(goals[0]) > maxStateBytes ||
		!strings.Contains(goals[0], goalBar) || src < 0 || src >= len(b.header.Sources) {
		b.header.Pairs.Dropped++
		return false
	}
	t = strings.Join(strings.Fields(t), " ")
	st := KNNState{Text: goals[0], Goals: len(goals)}
	si, ok := b.stateIdx[st]
	if !ok {
		si = len(b.states)
		b.stateIdx[st] = si
		b.states = append(b.states, st)
	}
	key := [2]string{fmt.Sprint(si), t}
	ei, ok := b.exIdx[key]
	if !ok {
		ei = len(b.examples)
		b.exIdx[key] = ei
		b.examples = append(b.examples, KNNExample{State: si, Tactic: t, Source: src})
	}
	e := &b.examples[ei]
	if progress {
		e.Count++
		b.header.Pairs.Positive++
	} else {
		e.Neg++
		b.header.Pairs.Negative++
	}
	if ms := int(elapsed.Milliseconds()); ms > e.MS {
		e.MS = ms
	}
	b.header.Sources[src].Pairs++
	return true
}

// Counts returns the pair counts so far.
func (b *KNNBuilder) Counts() KNNPairCounts {
	c := b.header.Pairs
	c.Examples, c.States = len(b.examples), len(b.states)
	return c
}

// Write writes the model as gzip'd JSON.
func (b *KNNBuilder) Write(w io.Writer) error {
	f := knnFile{Header: b.header, States: b.states, Examples: b.examples}
	f.Header.Created = time.Now().UTC().Truncate(time.Second)
	f.Header.Pairs = b.Counts()
	if f.States == nil {
		f.States = []KNNState{}
	}
	if f.Examples == nil {
		f.Examples = []KNNExample{}
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(zw).Encode(f); err != nil {
		return fmt.Errorf("writing k-NN model: %w", err)
	}
	return zw.Close()
}

// WriteFile writes the model to path atomically (temporary file + rename).
func (b *KNNBuilder) WriteFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("writing k-NN model: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".knn-*")
	if err != nil {
		return fmt.Errorf("writing k-NN model: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := b.Write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("writing k-NN model: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing k-NN model: %w", err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("writing k-NN model: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing k-NN model: %w", err)
	}
	return nil
}
