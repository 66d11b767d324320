package benchmarks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Traces is a --trace directory opened for reading, in either format.
type Traces struct {
	Root string
	runs map[string][]runDir // run id -> its directories (one per system)
}

type runDir struct {
	path string
	run  TraceRun
}

// OpenTraces indexes the runs under root (their run.json files).
func OpenTraces(root string) (*Traces, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("%s: not a directory", root)
	}
	t := &Traces{Root: root, runs: map[string][]runDir{}}
	files, err := filepath.Glob(filepath.Join(root, "*", "*", "run.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var run TraceRun
		if err := json.Unmarshal(b, &run); err != nil || run.RunID == "" {
			return nil, fmt.Errorf("%s: not a trace run header", f)
		}
		t.runs[run.RunID] = append(t.runs[run.RunID], runDir{path: filepath.Dir(f), run: run})
	}
	return t, nil
}

// Runs lists the runs found, sorted by directory.
func (t *Traces) Runs() []TraceRun {
	var out []TraceRun
	for _, d := range t.dirs() {
		out = append(out, d.run)
	}
	return out
}

func (t *Traces) dirs() []runDir {
	var dirs []runDir
	for _, ds := range t.runs {
		dirs = append(dirs, ds...)
	}
	sort.Slice(dirs, func(i, j int) bool { return dirs[i].path < dirs[j].path })
	return dirs
}

// ErrAmbiguousTrace: several runs of the result's system hold a tree for
// its attempt, and the result does not say which run it comes from.
var ErrAmbiguousTrace = errors.New("benchmarks: several runs hold a tree for this attempt")

// Find returns the tree of r's attempt. runIDs are the runs r may come
// from (its results file's run id and, for a merged file, the merged
// ones); without them any run of r's system (backend and proposer) may
// hold it, as long as only one does. A format-1 tree (no system in its
// name, so any system could have written it) is used only when legacyOK
// (the caller knows r's system is the only one on its backend). Either
// way the tree must agree with r (status, and proof when proved), so no
// tree is ever shown under another run's result. A missing tree is
// (nil, nil).
func (t *Traces) Find(r Result, runIDs []string, legacyOK bool) (*TraceFile, error) {
	k := r.Key()
	var dirs []runDir
	if len(runIDs) > 0 {
		for _, id := range runIDs {
			dirs = append(dirs, t.runs[id]...)
		}
	} else {
		dirs = t.dirs()
	}
	var found []*TraceFile
	for _, d := range dirs {
		if d.run.Backend != r.Backend || d.run.Proposer != r.Proposer {
			continue
		}
		tf, err := readTraceFile(runTracePath(d.path, k))
		if err != nil {
			return nil, err
		}
		if tf != nil && agrees(tf, r) {
			found = append(found, tf)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		return nil, fmt.Errorf("%w: %s (%d runs of %s/%s)", ErrAmbiguousTrace, k, len(found), r.Backend, r.Proposer)
	case !legacyOK:
		return nil, nil
	}
	tf, err := ReadTrace(t.Root, k)
	if err != nil || tf == nil || !agrees(tf, r) {
		return nil, err
	}
	return tf, nil
}

// agrees reports whether tf can be r's tree.
func agrees(tf *TraceFile, r Result) bool {
	if tf.Trace == nil || tf.Key() != r.Key() || tf.Status != r.Status || (tf.Proposer != "" && tf.Proposer != r.Proposer) {
		return false
	}
	if r.Status == string(prover.StatusProved) {
		return strings.Join(tf.Proof, "\x00") == strings.Join(r.Proof, "\x00")
	}
	return true
}

// PairSet is what ReadPairs found.
type PairSet struct {
	Pairs []Pair
	// Files are the files read, in order; SHA256 is the digest of their
	// contents in that order (the provenance of a model trained on them).
	Files  []string
	SHA256 string
	// Legacy counts the pairs read from format-1 files.
	Legacy int
}

// ReadPairs reads every pair under root: a format-2 run's pairs are those
// of the session that wrote the attempt's current tree (an attempt run
// again by a later session replaces the earlier pairs), with their
// prompts filled in; format-1 pairs come from DIR/pairs.jsonl (positives)
// and the failed edges of DIR/<backend>/<split>/*.json (negatives).
// Torn or unreadable lines (a killed run) are skipped.
func ReadPairs(root string) (*PairSet, error) {
	t, err := OpenTraces(root)
	if err != nil {
		return nil, err
	}
	set := &PairSet{}
	h := sha256.New()
	read := func(path string) ([]byte, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		set.Files = append(set.Files, path)
		h.Write(b)
		return b, nil
	}
	// Format 1.
	if b, err := read(filepath.Join(root, "pairs.jsonl")); err == nil {
		for _, line := range jsonLines(b) {
			var p Pair
			if json.Unmarshal(line, &p) == nil && p.Tactic != "" {
				set.Pairs = append(set.Pairs, p)
				set.Legacy++
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	legacyTrees, err := filepath.Glob(filepath.Join(root, "*", "*", "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(legacyTrees)
	for _, f := range legacyTrees {
		if filepath.Base(f) == "run.json" {
			continue
		}
		b, err := read(f)
		if err != nil {
			return nil, err
		}
		var tf TraceFile
		if json.Unmarshal(b, &tf) != nil || tf.Trace == nil || tf.Format >= traceFormat {
			continue
		}
		for _, p := range SearchPairs(tf.Trace, nil, false) {
			p.Name, p.Split, p.Backend, p.Attempt, p.Status = tf.Name, tf.Split, tf.Backend, tf.Attempt, tf.Status
			set.Pairs = append(set.Pairs, p)
			set.Legacy++
		}
	}
	// Format 2.
	for _, d := range t.dirs() {
		if err := readRunPairs(d.path, set, read); err != nil {
			return nil, err
		}
	}
	set.SHA256 = hex.EncodeToString(h.Sum(nil))
	return set, nil
}

// readRunPairs adds the current pairs of one run directory.
func readRunPairs(dir string, set *PairSet, read func(string) ([]byte, error)) error {
	trees, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil {
		return err
	}
	current := map[Key]string{} // attempt -> session of its tree
	for _, f := range trees {
		head, err := traceHead(f)
		if err != nil {
			continue // a tree torn by a crash mid-rename cannot happen; a foreign file can
		}
		current[head.Key()] = head.Session
	}
	prompts := map[string]string{}
	pfiles, err := filepath.Glob(filepath.Join(dir, "prompts.*.jsonl"))
	if err != nil {
		return err
	}
	sort.Strings(pfiles)
	for _, f := range pfiles {
		b, err := read(f)
		if err != nil {
			return err
		}
		for _, line := range jsonLines(b) {
			var p struct{ ID, Prompt string }
			if json.Unmarshal(line, &p) == nil && p.ID != "" {
				prompts[p.ID] = p.Prompt
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(dir, "pairs.*.jsonl"))
	if err != nil {
		return err
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := read(f)
		if err != nil {
			return err
		}
		for _, line := range jsonLines(b) {
			var p Pair
			if json.Unmarshal(line, &p) != nil || p.Tactic == "" {
				continue
			}
			if s, ok := current[p.Key()]; !ok || s != p.Session {
				continue // superseded by a later session's run of the attempt
			}
			p.Prompt = prompts[p.PromptID]
			set.Pairs = append(set.Pairs, p)
		}
	}
	return nil
}

// jsonLines splits b into its complete, non-empty lines (a torn last line
// is dropped).
func jsonLines(b []byte) [][]byte {
	var out [][]byte
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		if line := bytes.TrimSpace(b[:i]); len(line) > 0 {
			out = append(out, line)
		}
		b = b[i+1:]
	}
	return out
}
