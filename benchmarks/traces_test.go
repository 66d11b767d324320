package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// tree is a small search: the root, one failed and one timed-out tactic,
// then a two-step proof.
func tree(name string) *search.Trace {
	return &search.Trace{
		Nodes: []search.TraceNode{
			{ID: 0, Key: "x : nat\n============================\n" + name, Parent: -1, Expanded: true},
			{ID: 1, Key: "h : x = 2\n============================\nx + 1 = 3", Parent: 0, Expanded: true},
		},
		Edges: []search.TraceEdge{
			{From: 0, To: -1, Tactic: "lia.", Score: -0.1, Outcome: "failed", Detail: "Error: Cannot find witness."},
			{From: 0, To: -1, Tactic: "nia.", Score: -0.2, Outcome: "timeout"},
			{From: 0, To: 1, Tactic: "intros x h.", Score: -0.3, Outcome: "open"},
			{From: 1, To: -1, Tactic: "ring.", Score: -0.4, Outcome: "error", Detail: "coqtop died"},
			{From: 1, To: -1, Tactic: "lia.", Score: -0.5, Outcome: "proved"},
		},
	}
}

func proved(name, proposer string) Result {
	return Result{Name: name, Split: "test", Backend: "coq", Proposer: proposer, Status: "proved", Proof: []string{"intros x h.", "lia."}, Statement: "Theorem " + name + "."}
}

func openWriter(t *testing.T, root string, run TraceRun) *TraceWriter {
	t.Helper()
	w, err := OpenTraceWriter(root, run)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// snapshot maps every file under root to its content.
func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			out[p] = string(b)
		}
		return err
	})
	return out
}

// Two systems writing the same theorem into one --trace DIR keep their own
// trees, and report finds each system's tree for its own result.
func TestTracesKeyedBySystem(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	a := openWriter(t, root, TraceRun{Backend: "coq", Proposer: "portfolio", RunID: "run-a", Session: "s1"})
	b := openWriter(t, root, TraceRun{Backend: "coq", Proposer: "llm:m", Mode: "llemma-parity", RunID: "run-b", Session: "s1"})
	ra, rb := proved("t1", "portfolio"), proved("t1", "llm:m")
	rb.Proof = []string{"intros x h.", "lia."}
	ta, tb := tree("A"), tree("B")
	if err := a.Write(ra, ta); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(rb, tb); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b.Close()
	if a.Dir() == b.Dir() || filepath.Dir(a.Dir()) == filepath.Dir(b.Dir()) {
		t.Fatalf("two systems share a directory: %s, %s", a.Dir(), b.Dir())
	}
	tr, err := OpenTraces(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    Result
		runs []string
		want string
	}{{ra, []string{"run-a"}, "A"}, {rb, []string{"run-b"}, "B"}, {ra, nil, "A"}, {rb, nil, "B"}} {
		tf, err := tr.Find(c.r, c.runs, false)
		if err != nil || tf == nil || !strings.HasSuffix(tf.Trace.Nodes[0].Key, c.want) {
			t.Errorf("Find(%s, %v) = %+v, %v; want system %s's tree", c.r.Proposer, c.runs, tf, err, c.want)
		}
	}
	// A result of another run of the system, or one that disagrees with the
	// tree (a failure where the tree holds a proof), gets no tree.
	if tf, err := tr.Find(ra, []string{"run-x"}, false); tf != nil || err != nil {
		t.Errorf("Find with a foreign run id = %v, %v", tf, err)
	}
	failed := ra
	failed.Status, failed.Proof = "failed", nil
	if tf, err := tr.Find(failed, nil, false); tf != nil || err != nil {
		t.Errorf("Find of a failed result = %v, %v; the tree is a proof", tf, err)
	}
	// Two runs of one system without run ids to tell them apart: ambiguous.
	c := openWriter(t, root, TraceRun{Backend: "coq", Proposer: "portfolio", RunID: "run-c", Session: "s9"})
	c.Write(ra, tree("C"))
	c.Close()
	tr, _ = OpenTraces(root)
	if _, err := tr.Find(ra, nil, false); !errors.Is(err, ErrAmbiguousTrace) {
		t.Errorf("two runs, no run id: %v, want ErrAmbiguousTrace", err)
	}
	if tf, err := tr.Find(ra, []string{"run-c"}, false); err != nil || !strings.HasSuffix(tf.Trace.Nodes[0].Key, "C") {
		t.Errorf("Find with run-c = %v, %v", tf, err)
	}
}

// Shards and resumed sessions sharing one DIR only ever append to their
// own files: a resumed session runs an attempt again, and the reader keeps
// the pairs of the session that wrote the current tree; another shard's
// files are untouched, and a torn line left by a killed session is ended
// before the next one is appended.
func TestTracesAppendOnly(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	run := TraceRun{Backend: "coq", Proposer: "portfolio", RunID: "run-1", Session: "s1"}
	w1 := openWriter(t, root, run)
	errRes := proved("t2", "portfolio")
	errRes.Status, errRes.Proof, errRes.Cause = "error", nil, "backend-crashed"
	for _, r := range []Result{proved("t1", "portfolio"), errRes} {
		if err := w1.Write(r, tree(r.Name)); err != nil {
			t.Fatal(err)
		}
	}
	w1.Close()
	shard := openWriter(t, root, TraceRun{Backend: "coq", Proposer: "portfolio", RunID: "run-2", Session: "s7"})
	if err := shard.Write(proved("t3", "portfolio"), tree("t3")); err != nil {
		t.Fatal(err)
	}
	shard.Close()
	// The session is killed mid-line.
	p1 := filepath.Join(w1.Dir(), "pairs.s1.jsonl")
	f, _ := os.OpenFile(p1, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"name":"t9","spl`)
	f.Close()
	before := snapshot(t, root)

	// --resume: a new session of run-1 runs t2 again (now proved).
	run.Session = "s2"
	w2 := openWriter(t, root, run)
	if err := w2.Write(proved("t2", "portfolio"), tree("t2")); err != nil {
		t.Fatal(err)
	}
	w2.Close()
	after := snapshot(t, root)
	t2tree := runTracePath(w1.Dir(), Key{Name: "t2", Split: "test", Backend: "coq"})
	for p, b := range before {
		if p != t2tree && after[p] != b {
			t.Errorf("%s was rewritten by another session", p)
		}
	}
	set, err := ReadPairs(root)
	if err != nil {
		t.Fatal(err)
	}
	bySession := map[string]int{}
	for _, p := range set.Pairs {
		bySession[p.RunID+"/"+p.Name+"/"+p.Session]++
		if p.Name == "t9" {
			t.Errorf("a torn line was read: %+v", p)
		}
	}
	// Each proved attempt: 2 positives and 2 negatives (failed, timeout;
	// the error edge is the machinery's, not the tactic's). The error
	// attempt's pairs (s1) are superseded by s2's.
	want := map[string]int{"run-1/t1/s1": 4, "run-1/t2/s2": 4, "run-2/t3/s7": 4}
	if fmt.Sprint(bySession) != fmt.Sprint(want) {
		t.Errorf("pairs by run/theorem/session %v, want %v", bySession, want)
	}
	if len(set.Files) != 3 || len(set.SHA256) != 64 { // three sessions' pairs; no prompts without a prompter
		t.Errorf("files %v, digest %q", set.Files, set.SHA256)
	}
}

// SearchPairs: positives along a verified proof with their step, negatives
// with their error kind, nothing from a proof the final check refused.
func TestSearchPairs(t *testing.T) {
	t.Parallel()
	ps := SearchPairs(tree("g"), []string{"intros x h.", "lia."}, true)
	var got []string
	for _, p := range ps {
		got = append(got, fmt.Sprintf("%s %d %v %s", p.Tactic, p.Step, p.Negative, p.Outcome))
	}
	want := []string{"lia. 0 true failed", "nia. 0 true timeout", "intros x h. 0 false open", "lia. 1 false proved"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("pairs\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ps[0].Detail != "Error: Cannot find witness." || !strings.Contains(ps[2].State, "============================") {
		t.Errorf("pair fields %+v", ps[0])
	}
	for _, p := range SearchPairs(tree("g"), []string{"intros x h.", "lia."}, false) {
		if !p.Negative {
			t.Errorf("a refused proof gave a positive: %+v", p)
		}
	}
}

// fakePrompter is a proposer that renders prompts, in Llemma's format, and
// proposes in batches.
type fakePrompter struct{ batches int }

func (*fakePrompter) Name() string { return "llm:fake" }
func (*fakePrompter) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	return []prover.Candidate{{Tactic: "lia.", Score: -0.1}}, nil
}
func (f *fakePrompter) ProposeBatch(ctx context.Context, reqs []prover.ProposalRequest) ([][]prover.Candidate, error) {
	f.batches++
	out := make([][]prover.Candidate, len(reqs))
	for i := range reqs {
		out[i], _ = f.Propose(ctx, reqs[i])
	}
	return out, nil
}
func (*fakePrompter) Prompt(req prover.ProposalRequest) (string, error) {
	return fmt.Sprintf("Theorem %s\nTactic state:\n---\n%s\n---\nNext tactic:\n---", req.Theorem.Name, req.State.Text), nil
}

type attemptKey struct{}

// Observe: the pairs carry the prompt the proposer renders for the state
// as the proof assistant displayed it, per attempt; the export writes
// prompt/completion lines.
func TestTracesPrompts(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	w := openWriter(t, root, TraceRun{Backend: "coq", Proposer: "llm:fake", RunID: "r", Session: "s"})
	fp := &fakePrompter{}
	p := w.Observe(fp, func(ctx context.Context) int { a, _ := ctx.Value(attemptKey{}).(int); return a })
	bp, ok := p.(interface {
		ProposeBatch(context.Context, []prover.ProposalRequest) ([][]prover.Candidate, error)
	})
	if !ok || p.Name() != "llm:fake" {
		t.Fatalf("the wrapper hides ProposeBatch or the name: %T %s", p, p.Name())
	}
	var wg sync.WaitGroup
	for attempt := range 4 {
		wg.Go(func() {
			ctx := context.WithValue(context.Background(), attemptKey{}, attempt)
			tr := tree("g")
			name := fmt.Sprintf("t%d", attempt%2)
			thm := prover.Theorem{Name: name, Split: "test", Backend: "coq"}
			for i, n := range tr.Nodes {
				st := prover.State{Goals: strings.Split(n.Key, "\n\x00\n"), Text: fmt.Sprintf("DISPLAY %d of attempt %d", i, attempt)}
				if i == 0 {
					p.Propose(ctx, prover.ProposalRequest{Theorem: thm, State: st})
				} else {
					bp.ProposeBatch(ctx, []prover.ProposalRequest{{Theorem: thm, State: st}})
				}
			}
			r := proved(name, "llm:fake")
			r.Attempt = attempt
			if err := w.Write(r, tr); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	w.Close()
	if fp.batches != 4 {
		t.Errorf("%d batches reached the proposer, want 4", fp.batches)
	}
	set, err := ReadPairs(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Pairs) != 16 {
		t.Fatalf("%d pairs, want 16", len(set.Pairs))
	}
	for _, pr := range set.Pairs {
		node := 0
		if pr.Step == 1 {
			node = 1
		}
		want := fmt.Sprintf("Theorem %s\nTactic state:\n---\nDISPLAY %d of attempt %d\n---\nNext tactic:\n---", pr.Name, node, pr.Attempt)
		if pr.Prompt != want || pr.PromptID == "" || pr.Statement == "" || pr.Status != "proved" {
			t.Errorf("pair %+v: prompt %q, want %q", pr, pr.Prompt, want)
		}
	}
	// The tree keeps the display texts; prompts are stored once each.
	tf, _ := readTraceFile(runTracePath(w.Dir(), Key{Name: "t1", Split: "test", Backend: "coq", Attempt: 3}))
	if tf == nil || tf.Texts[1] != "DISPLAY 1 of attempt 3" {
		t.Errorf("tree texts %+v", tf)
	}
	prompts, _ := os.ReadFile(filepath.Join(w.Dir(), "prompts.s.jsonl"))
	if n := bytes.Count(prompts, []byte("\n")); n != 8 {
		t.Errorf("%d prompts stored, want 8 (2 states x 4 attempts)", n)
	}

	var out bytes.Buffer
	st, err := WriteExamples(&out, set.Pairs, func(p Pair) bool { return p.Attempt != 0 })
	if err != nil || st.Examples != 6 || st.Recorded != 6 {
		t.Fatalf("export %+v, %v; want 6 recorded examples (3 attempts x 2 steps)", st, err)
	}
	var ex TrainingExample
	json.Unmarshal(bytes.SplitN(out.Bytes(), []byte("\n"), 2)[0], &ex)
	if !strings.HasSuffix(ex.Prompt, "Next tactic:\n---") || (ex.Completion != "\nintros x h.\n---" && ex.Completion != "\nlia.\n---") {
		t.Errorf("example %+v: a Llemma prompt's completion is \\n<tactic>\\n---", ex)
	}
}

// Format-1 directories (DIR/pairs.jsonl, DIR/<backend>/<split>/*.json)
// still read: positives from pairs.jsonl, negatives from the trees; and
// their trees are matched to results only when the caller allows it.
func TestTracesLegacy(t *testing.T) {
	t.Parallel()
	root := filepath.Join("testdata", "report", "trace")
	set, err := ReadPairs(root)
	if err != nil {
		t.Fatal(err)
	}
	neg := 0
	for _, p := range set.Pairs {
		if !p.Negative {
			t.Errorf("positive %+v from a format-1 tree (positives come from pairs.jsonl)", p)
		}
		neg++
	}
	if neg == 0 || set.Legacy != neg {
		t.Errorf("legacy negatives %d (legacy %d)", neg, set.Legacy)
	}
	tr := legacyTraces(t)
	r := Result{Name: "mathd_algebra_1", Split: "test", Backend: "coq", Proposer: "portfolio", Status: "proved", Proof: []string{"intros x h.", "lia."}}
	if tf, err := tr.Find(r, []string{"some-run"}, true); err != nil || tf == nil {
		t.Errorf("legacy Find = %v, %v", tf, err)
	}
	if tf, _ := tr.Find(r, nil, false); tf != nil {
		t.Errorf("legacy tree used although another system shares the backend")
	}
	r.Proof = []string{"lia."}
	if tf, _ := tr.Find(r, nil, true); tf != nil {
		t.Errorf("legacy tree of another proof used")
	}

	dir := t.TempDir()
	line, _ := json.Marshal(Pair{Name: "x", Split: "valid", Backend: "coq", State: "s", Tactic: "lia."})
	os.WriteFile(filepath.Join(dir, "pairs.jsonl"), append(line, []byte("\n{\"torn")...), 0o644)
	set, err = ReadPairs(dir)
	if err != nil || len(set.Pairs) != 1 || set.Pairs[0].Negative || set.Pairs[0].Step != 0 {
		t.Errorf("legacy pairs.jsonl: %+v, %v", set, err)
	}
	var out bytes.Buffer
	st, _ := WriteExamples(&out, append(set.Pairs, set.Pairs...), nil)
	if st.Examples != 1 || st.Duplicates != 1 || st.Recorded != 0 || !strings.Contains(out.String(), `"prompt":"[GOAL]\ns\n[PROOFSTEP]\n","completion":"lia."`) {
		t.Errorf("export of a pair without a prompt: %+v %s", st, out.String())
	}
}

// The head reader stops before the tree and reads the fields in any order.
func TestTraceHead(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "t.json")
	os.WriteFile(p, []byte(`{"session":"s2","name":"n","extra":{"a":[1,2]},"split":"valid","backend":"coq","attempt":3,"trace":{"nodes":[`), 0o644)
	h, err := traceHead(p)
	if err != nil || h.Key() != (Key{Name: "n", Split: "valid", Backend: "coq", Attempt: 3}) || h.Session != "s2" {
		t.Errorf("head %+v, %v", h, err)
	}
	os.WriteFile(p, []byte(`[1]`), 0o644)
	if _, err := traceHead(p); err == nil {
		t.Errorf("a JSON array read as a trace head")
	}
}

// Directory names are path elements whatever the proposer or run id say.
func TestTraceRunDir(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, r := range []TraceRun{
		{Backend: "coq", Proposer: "llm:EleutherAI/llemma_7b", RunID: "../../etc"},
		{Backend: "coq", Proposer: "llm:EleutherAI_llemma_7b", RunID: "x"},
		{Backend: "coq", Proposer: "llm:EleutherAI/llemma_7b", Mode: "llemma-parity", RunID: "x"},
		{Backend: "coq", Proposer: "..", RunID: ".."},
	} {
		d := r.SystemDir()
		if strings.ContainsAny(d, "/\\") || d == "." || d == ".." || seen[d] {
			t.Errorf("SystemDir(%+v) = %q", r, d)
		}
		seen[d] = true
		rel, err := filepath.Rel("/root", r.Dir("/root"))
		if err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, string(filepath.Separator)) != 1 {
			t.Errorf("Dir(%+v) = %q escapes the root", r, r.Dir("/root"))
		}
	}
	if _, err := OpenTraceWriter(t.TempDir(), TraceRun{Backend: "coq"}); !errors.Is(err, ErrTraceRun) {
		t.Errorf("a writer without run id: %v", err)
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	t.Log(keys)
}
