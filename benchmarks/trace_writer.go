package benchmarks

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// Prompter renders the prompt a proposer sends for a request (*model.LLM
// does). The trace writer uses it to record the prompt of each state.
type Prompter interface {
	Prompt(req prover.ProposalRequest) (string, error)
}

// TraceWriter writes one session of one run into a --trace DIR (see the
// layout above). It is safe for concurrent use.
type TraceWriter struct {
	root string
	run  TraceRun
	dir  string

	mu       sync.Mutex
	pairs    *os.File
	prompts  *os.File
	written  map[string]bool // prompt ids in this session's prompts file
	prompter Prompter
	seen     map[Key]*observed // states proposed for, by attempt (Observe)
}

// ErrTraceRun: a TraceRun without a run id or a session.
var ErrTraceRun = errors.New("benchmarks: a --trace writer needs a run id and a session id")

// OpenTraceWriter opens run's directory under root for appending: it
// writes run.json when it is not there yet and opens the session's pairs
// file (created, appended, never truncated; its prompts file likewise, at
// the first prompt). Nothing written by other runs, systems or sessions is
// touched.
func OpenTraceWriter(root string, run TraceRun) (*TraceWriter, error) {
	if run.RunID == "" || run.Session == "" {
		return nil, ErrTraceRun
	}
	run.Format = traceFormat
	dir := run.Dir(root)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("--trace %s: %w", root, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "run.json")); errors.Is(err, os.ErrNotExist) {
		b, err := json.MarshalIndent(run, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := writeAtomic(filepath.Join(dir, "run.json"), append(b, '\n'), 0o644); err != nil {
			return nil, fmt.Errorf("--trace %s: %w", root, err)
		}
	}
	w := &TraceWriter{root: root, run: run, dir: dir, written: map[string]bool{}, seen: map[Key]*observed{}}
	var err error
	if w.pairs, err = openAppend(filepath.Join(dir, "pairs."+slug(run.Session)+".jsonl")); err != nil {
		return nil, fmt.Errorf("--trace %s: %w", root, err)
	}
	return w, nil
}

func openAppend(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	// A line torn by a killed session of the same run would glue onto the
	// next one: end it first.
	if fi, err := f.Stat(); err == nil && fi.Size() > 0 {
		r, err := os.Open(path)
		if err == nil {
			last := make([]byte, 1)
			if _, err := r.ReadAt(last, fi.Size()-1); err == nil && last[0] != '\n' {
				f.Write([]byte{'\n'})
			}
			r.Close()
		}
	}
	return f, nil
}

// Dir is the run's directory.
func (w *TraceWriter) Dir() string { return w.dir }

// observed is what Observe recorded for one attempt: the theorem and, per
// state key, the display text and path the proposer was given.
type observed struct {
	thm    prover.Theorem
	states map[string]seenState
}

type seenState struct {
	text string
	path []string
}

// Observe returns p wrapped so that the writer learns the state text and
// path of every proposal (attemptOf tells a proposal's attempt from its
// ctx, e.g. model.AttemptFrom); when p is a Prompter, the pairs then carry
// the prompt p renders for their state. The wrapper proposes exactly as p
// does (ProposeBatch included).
func (w *TraceWriter) Observe(p prover.Proposer, attemptOf func(context.Context) int) prover.Proposer {
	if pr, ok := p.(Prompter); ok {
		w.mu.Lock()
		w.prompter = pr
		w.mu.Unlock()
	}
	o := &observer{inner: p, w: w, attemptOf: attemptOf}
	if bp, ok := p.(batchProposer); ok {
		return &batchObserver{observer: o, batch: bp}
	}
	return o
}

type batchProposer interface {
	ProposeBatch(ctx context.Context, reqs []prover.ProposalRequest) ([][]prover.Candidate, error)
}

type observer struct {
	inner     prover.Proposer
	w         *TraceWriter
	attemptOf func(context.Context) int
}

func (o *observer) Name() string { return o.inner.Name() }

func (o *observer) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	o.note(ctx, req)
	return o.inner.Propose(ctx, req)
}

func (o *observer) note(ctx context.Context, req prover.ProposalRequest) {
	attempt := 0
	if o.attemptOf != nil {
		attempt = o.attemptOf(ctx)
	}
	k := Key{Name: req.Theorem.Name, Split: req.Theorem.Split, Backend: req.Theorem.Backend, Attempt: attempt}
	w := o.w
	w.mu.Lock()
	defer w.mu.Unlock()
	ob := w.seen[k]
	if ob == nil {
		ob = &observed{thm: req.Theorem, states: map[string]seenState{}}
		w.seen[k] = ob
	}
	if _, ok := ob.states[req.State.Key()]; !ok {
		ob.states[req.State.Key()] = seenState{text: req.State.Text, path: append([]string(nil), req.Path...)}
	}
}

type batchObserver struct {
	*observer
	batch batchProposer
}

func (o *batchObserver) ProposeBatch(ctx context.Context, reqs []prover.ProposalRequest) ([][]prover.Candidate, error) {
	for _, r := range reqs {
		o.note(ctx, r)
	}
	return o.batch.ProposeBatch(ctx, reqs)
}

// take removes and returns what Observe recorded for k.
func (w *TraceWriter) take(k Key) *observed {
	w.mu.Lock()
	defer w.mu.Unlock()
	ob := w.seen[k]
	delete(w.seen, k)
	return ob
}

// promptID names a prompt in the prompts files.
func promptID(prompt string) string {
	sum := sha256.Sum256([]byte(prompt))
	return hex.EncodeToString(sum[:12])
}

// Write records the search tree of r and its pairs. It runs before the
// result line is written; a tree written again by a later session of the
// run (an attempt run again) replaces the earlier one.
func (w *TraceWriter) Write(r Result, tr *search.Trace) error {
	ob := w.take(r.Key())
	if tr == nil {
		return nil
	}
	k := r.Key()
	path := runTracePath(w.dir, k)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tf := TraceFile{Format: traceFormat, Name: r.Name, Split: r.Split, Backend: r.Backend, Proposer: r.Proposer, Mode: w.run.Mode,
		RunID: w.run.RunID, Session: w.run.Session, Attempt: r.Attempt, Status: r.Status, SearchEnd: r.SearchEnd,
		Statement: r.Statement, Proof: r.Proof, Trace: tr}
	if ob != nil {
		for i, n := range tr.Nodes {
			if s, ok := ob.states[n.Key]; ok && s.text != "" && s.text != stateText(n.Key) {
				if tf.Texts == nil {
					tf.Texts = map[int]string{}
				}
				tf.Texts[i] = s.text
			}
		}
	}
	b, err := json.Marshal(tf)
	if err != nil {
		return err
	}
	if err := writeAtomic(path, b, 0o644); err != nil {
		return fmt.Errorf("writing trace: %w", err)
	}
	pairs := searchPairs(tr, r.Proof, r.Status == string(prover.StatusProved))
	if len(pairs) == 0 {
		return nil
	}
	w.mu.Lock()
	prompter := w.prompter
	w.mu.Unlock()
	prompts := map[int]string{} // node -> prompt id
	var pbuf, lbuf bytes.Buffer
	for _, np := range pairs {
		p := np.Pair
		p.Name, p.Split, p.Backend, p.Attempt = r.Name, r.Split, r.Backend, r.Attempt
		p.Proposer, p.Mode, p.RunID, p.Session = r.Proposer, w.run.Mode, w.run.RunID, w.run.Session
		p.Status, p.Statement = r.Status, r.Statement
		if prompter != nil && ob != nil {
			id, ok := prompts[np.node]
			if !ok {
				id = w.renderPrompt(prompter, ob, tr.Nodes[np.node].Key, &pbuf)
				prompts[np.node] = id
			}
			p.PromptID = id
		}
		line, err := json.Marshal(p)
		if err != nil {
			return err
		}
		lbuf.Write(line)
		lbuf.WriteByte('\n')
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if pbuf.Len() > 0 {
		if w.prompts == nil { // the session's first prompt
			f, err := openAppend(filepath.Join(w.dir, "prompts."+slug(w.run.Session)+".jsonl"))
			if err != nil {
				return fmt.Errorf("writing prompts: %w", err)
			}
			w.prompts = f
		}
		if _, err := w.prompts.Write(pbuf.Bytes()); err != nil {
			return fmt.Errorf("writing prompts: %w", err)
		}
		if err := w.prompts.Sync(); err != nil {
			return fmt.Errorf("writing prompts: %w", err)
		}
	}
	if _, err := w.pairs.Write(lbuf.Bytes()); err != nil {
		return fmt.Errorf("writing pairs: %w", err)
	}
	return w.pairs.Sync()
}

// renderPrompt renders the prompt of the state with key, appends it to buf
// when this session has not written it yet, and returns its id ("" when it
// cannot be rendered: the state was never proposed for).
func (w *TraceWriter) renderPrompt(pr Prompter, ob *observed, key string, buf *bytes.Buffer) string {
	s, ok := ob.states[key]
	if !ok {
		return ""
	}
	prompt, err := pr.Prompt(prover.ProposalRequest{Theorem: ob.thm, State: prover.State{Goals: strings.Split(key, "\n\x00\n"), Text: s.text}, Path: s.path})
	if err != nil || prompt == "" {
		return ""
	}
	id := promptID(prompt)
	w.mu.Lock()
	fresh := !w.written[id]
	w.written[id] = true
	w.mu.Unlock()
	if fresh {
		line, _ := json.Marshal(struct {
			ID     string `json:"id"`
			Prompt string `json:"prompt"`
		}{id, prompt})
		buf.Write(line)
		buf.WriteByte('\n')
	}
	return id
}

// Close closes the session's files.
func (w *TraceWriter) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.pairs.Close()
	if w.prompts != nil {
		err = errors.Join(err, w.prompts.Close())
	}
	return err
}
