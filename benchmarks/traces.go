package benchmarks

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/search"
)

// The --trace DIR layout (format 2). Every run writes under a directory of
// its own, named by its system and run id, so that shards, resumed runs and
// other systems sharing DIR never write the same file:
//
//	DIR/<system>/<run id>/run.json                  the TraceRun (written once)
//	DIR/<system>/<run id>/<split>/<name>[.a<N>].json the search tree of an attempt
//	DIR/<system>/<run id>/pairs.<session>.jsonl     (state, tactic) pairs, appended by one session
//	DIR/<system>/<run id>/prompts.<session>.jsonl   the prompts the pairs refer to
//
// <system> is "<backend>.<proposer>[.<mode>]-<hash>", the hash of the exact
// (backend, proposer, mode) so that names that read alike never collide.
// The shards of a job are separate runs (one --out each), so they are
// separate directories; the sessions of one run (--resume) are sequential
// (the results file is locked), so a tree rewritten by a later session
// (an error attempt run again) is the current one, and the pairs of an
// attempt are those of the session that wrote its tree.
//
// Format 1 (before run ids) wrote DIR/<backend>/<split>/<name>.json and one
// shared DIR/pairs.jsonl; ReadPairs and Traces still read it (see Traces.Find
// for when its trees are matched to results).
const traceFormat = 2

// TraceRun names what a --trace writer records: the system (backend,
// proposer, mode) and the run. It is DIR/<system>/<run id>/run.json.
type TraceRun struct {
	Format   int    `json:"format"`
	Backend  string `json:"backend"`
	Proposer string `json:"proposer"` // the result lines' proposer, e.g. portfolio or llm:EleutherAI/llemma_7b
	Model    string `json:"model,omitempty"`
	// Mode is the search mode when it is not the default (llemma-parity).
	Mode  string `json:"mode,omitempty"`
	RunID string `json:"run_id"`
	// Session is the writing session (OUT.meta.json's session_id); it names
	// the session's pairs and prompts files and is not part of run.json.
	Session string `json:"-"`
}

// SystemDir is the directory name of the run's system under DIR.
func (t TraceRun) SystemDir() string {
	sum := sha256.Sum256([]byte(t.Backend + "\x00" + t.Proposer + "\x00" + t.Mode))
	name := slugN(t.Backend, 20) + "." + slugN(t.Proposer, 60)
	if t.Mode != "" {
		name += "." + slugN(t.Mode, 20)
	}
	return name + "-" + hex.EncodeToString(sum[:4])
}

// Dir is the run's directory under root.
func (t TraceRun) Dir(root string) string {
	return filepath.Join(root, t.SystemDir(), slug(t.RunID))
}

// slug keeps letters, digits and ._+- (anything else becomes -), at most
// 200 bytes, never "." or "..": a path element made from untrusted text.
func slug(s string) string { return slugN(s, 200) }

// slugN is slug cut at n bytes.
func slugN(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= n {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '+', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	out := b.String()
	if out == "" || strings.Trim(out, ".") == "" {
		out = "_" + out
	}
	return out
}

// TraceFile is the search tree of one attempt. Its small fields come
// before the tree, so that a reader can stop after them (traceHead).
type TraceFile struct {
	Format    int      `json:"format,omitempty"`
	Name      string   `json:"name"`
	Split     string   `json:"split"`
	Backend   string   `json:"backend"`
	Proposer  string   `json:"proposer,omitempty"`
	Mode      string   `json:"mode,omitempty"`
	RunID     string   `json:"run_id,omitempty"`
	Session   string   `json:"session,omitempty"`
	Attempt   int      `json:"attempt"`
	Status    string   `json:"status"`
	SearchEnd string   `json:"search_end,omitempty"`
	Statement string   `json:"statement,omitempty"`
	Proof     []string `json:"proof"`
	// Texts holds, by node id, how the proof assistant displayed a state
	// when it differs from the node's canonical goals (format 2, when the
	// proposer was observed: TraceWriter.Observe).
	Texts map[int]string `json:"texts,omitempty"`
	Trace *search.Trace  `json:"trace"`
}

// Key is the attempt the tree belongs to.
func (tf *TraceFile) Key() Key {
	return Key{Name: tf.Name, Split: tf.Split, Backend: tf.Backend, Attempt: tf.Attempt}
}

// Pair is one training example from a search: the state a tactic was
// tried on and what it did there. Positives are the steps of a verified
// proof; negatives are tactics that failed (Outcome failed, timeout,
// rejected or no-progress, the error in Detail). Format-1 pairs are all
// positives and carry only the fields up to Tactic.
type Pair struct {
	Name    string `json:"name"`
	Split   string `json:"split"`
	Backend string `json:"backend"`
	Attempt int    `json:"attempt"`
	// Step is the index of the proof step whose state this is, when the
	// state lies on the verified proof; -1 otherwise.
	Step   int    `json:"step"`
	State  string `json:"state"` // the canonical goals, separated by a blank line
	Tactic string `json:"tactic"`

	Proposer  string `json:"proposer,omitempty"`
	Mode      string `json:"mode,omitempty"`
	RunID     string `json:"run_id,omitempty"`
	Session   string `json:"session,omitempty"`
	Status    string `json:"status,omitempty"` // the attempt's verdict
	Statement string `json:"statement,omitempty"`
	// PromptID names the prompt rendered for the state (prompts.*.jsonl);
	// Prompt is filled in by ReadPairs and never written in a pairs file.
	PromptID string `json:"prompt_id,omitempty"`
	Prompt   string `json:"prompt,omitempty"`
	Negative bool   `json:"negative,omitempty"`
	// Outcome is the edge's outcome in the search: proved, open or merged
	// for positives; failed, timeout, rejected or no-progress (the error
	// kind) for negatives.
	Outcome string        `json:"outcome,omitempty"`
	Detail  string        `json:"detail,omitempty"`
	Score   float64       `json:"score,omitempty"`
	Elapsed time.Duration `json:"elapsed_ns,omitempty"`
}

// Key is the attempt the pair comes from.
func (p Pair) Key() Key {
	return Key{Name: p.Name, Split: p.Split, Backend: p.Backend, Attempt: p.Attempt}
}

// negativeOutcomes are the edge outcomes written as negatives: the
// tactic was tried and did not work. "error" (the machinery failed) and
// "visited" or "merged" (a state seen before) say nothing about the tactic.
var negativeOutcomes = map[string]bool{
	search.KindFailed: true, search.KindTimeout: true, search.KindRejected: true, "no-progress": true,
}

// attemptName is the tree file name of an attempt in its split directory.
func attemptName(k Key) string {
	name := k.Name
	if k.Attempt > 0 {
		name += fmt.Sprintf(".a%d", k.Attempt)
	}
	return name + ".json"
}

// TracePath is where the format-1 trace of an attempt lives under dir.
func TracePath(dir string, k Key) string {
	return filepath.Join(dir, k.Backend, k.Split, attemptName(k))
}

// runTracePath is where a run's tree of an attempt lives.
func runTracePath(runDir string, k Key) string {
	return filepath.Join(runDir, slug(k.Split), slug(strings.TrimSuffix(attemptName(k), ".json"))+".json")
}

// readTraceFile reads a tree file; a missing file is (nil, nil).
func readTraceFile(path string) (*TraceFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var tf TraceFile
	if err := json.Unmarshal(b, &tf); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &tf, nil
}

// ReadTrace reads the format-1 trace of an attempt; a missing file is
// (nil, nil). Traces.Find reads both formats.
func ReadTrace(dir string, k Key) (*TraceFile, error) { return readTraceFile(TracePath(dir, k)) }

// traceHead reads a tree file's fields before "trace" without reading the
// tree.
func traceHead(path string) (*TraceFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	dec := json.NewDecoder(bufio.NewReaderSize(f, 4096))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%s: not a trace file", path)
	}
	var head TraceFile
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		key, _ := t.(string)
		var dst any
		switch key {
		case "trace":
			return &head, nil
		case "name":
			dst = &head.Name
		case "split":
			dst = &head.Split
		case "backend":
			dst = &head.Backend
		case "proposer":
			dst = &head.Proposer
		case "run_id":
			dst = &head.RunID
		case "session":
			dst = &head.Session
		case "attempt":
			dst = &head.Attempt
		case "status":
			dst = &head.Status
		default:
			var skip json.RawMessage
			dst = &skip
		}
		if err := dec.Decode(dst); err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, key, err)
		}
	}
	return &head, nil
}

// stateText turns a trace node's key (goals joined by "\n\x00\n") into
// readable text, goals separated by a blank line.
func stateText(key string) string { return strings.ReplaceAll(key, "\n\x00\n", "\n\n") }

// proofEdges returns the indices in tr.Edges of the proof's steps.
func proofEdges(tr *search.Trace, proof []string) []int {
	var out []int
	cur := 0
	for i, tac := range proof {
		next := -2
		for j, e := range tr.Edges {
			if e.From != cur || e.Tactic != tac {
				continue
			}
			if i == len(proof)-1 && e.Outcome == "proved" {
				out = append(out, j)
				return out
			}
			if e.To >= 0 && (e.Outcome == "open" || e.Outcome == "merged") {
				out = append(out, j)
				next = e.To
				break
			}
		}
		if next < 0 {
			return out
		}
		cur = next
	}
	return out
}

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
		out = append(out, Pair{Step: i, State: stateText(tr.Nodes[e.From].Key), Tactic: e.Tactic, Outcome: e.Outcome, Score: e.Score, Elapsed: e.Elapsed})
	}
	return out
}

// SearchPairs are the pairs of one attempt's search: the steps of proof
// as positives when verified is set (a proof the final check refused
// gives none), and every tactic that failed as a negative. Pairs hold the
// state, tactic, outcome, score and step only.
func SearchPairs(tr *search.Trace, proof []string, verified bool) []Pair {
	var out []Pair
	for _, np := range searchPairs(tr, proof, verified) {
		out = append(out, np.Pair)
	}
	return out
}

// nodePair is a pair and the trace node of its state.
type nodePair struct {
	Pair
	node int
}

func searchPairs(tr *search.Trace, proof []string, verified bool) []nodePair {
	if tr == nil || len(tr.Nodes) == 0 {
		return nil
	}
	onProof := map[int]int{} // edge -> proof step
	stepOf := map[int]int{}  // node -> proof step whose state it is
	if verified {
		for i, j := range proofEdges(tr, proof) {
			onProof[j] = i
			stepOf[tr.Edges[j].From] = i
		}
	}
	var out []nodePair
	for j, e := range tr.Edges {
		if e.From < 0 || e.From >= len(tr.Nodes) {
			continue
		}
		step, ok := stepOf[e.From]
		if !ok {
			step = -1
		}
		p := Pair{Step: step, State: stateText(tr.Nodes[e.From].Key), Tactic: e.Tactic, Outcome: e.Outcome,
			Detail: e.Detail, Score: e.Score, Elapsed: e.Elapsed}
		if i, ok := onProof[j]; ok {
			p.Step = i
		} else if negativeOutcomes[e.Outcome] {
			p.Negative = true
		} else {
			continue
		}
		out = append(out, nodePair{p, e.From})
	}
	return out
}
