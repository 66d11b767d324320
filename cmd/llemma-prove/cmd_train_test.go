package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

const trainStdlibV = `Require Import Arith.
Ltac local_triv := reflexivity.
Lemma plus_0 : forall n : nat, n + 0 = n.
Proof.
  intros n.
  rewrite Nat.add_0_r.
  local_triv.
Qed.
`

// writeTraces writes a --trace DIR as minif2f does: pairs.jsonl and one
// search tree with a failed edge.
func writeTraces(t *testing.T, dir, split string) {
	t.Helper()
	state := "x : R\nh₀ : x / 2 = 3\n============================\nx = 6"
	p := benchmarks.Pair{Name: "mathd_algebra_x", Split: split, Backend: "coq", State: state, Tactic: "field_simplify_eq in h₀; lra."}
	line, _ := json.Marshal(p)
	if err := os.MkdirAll(filepath.Join(dir, "coq", split), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pairs.jsonl"), append(line, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	tf := benchmarks.TraceFile{Name: "mathd_algebra_x", Split: split, Backend: "coq", Status: "proved", Trace: &search.Trace{
		Nodes: []search.TraceNode{{ID: 0, Key: state, Parent: -1}},
		Edges: []search.TraceEdge{
			{From: 0, To: -1, Tactic: "lia.", Outcome: "failed"},
			{From: 0, To: -1, Tactic: "field_simplify_eq in h₀; lra.", Outcome: "proved"},
		},
	}}
	b, _ := json.Marshal(tf)
	if err := os.WriteFile(filepath.Join(dir, "coq", split, "mathd_algebra_x.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTrainEndToEnd replays a tiny stdlib dir through the real coqtop,
// reads a valid-split trace, writes a model that the knn proposer loads,
// and a second train reads the replay from the cache.
func TestTrainEndToEnd(t *testing.T) {
	needCoq(t)
	tmp := t.TempDir()
	std := filepath.Join(tmp, "theories", "Tiny")
	if err := os.MkdirAll(std, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(std, "Tiny.v"), []byte(trainStdlibV), 0o644); err != nil {
		t.Fatal(err)
	}
	traces := filepath.Join(tmp, "trace")
	writeTraces(t, traces, "valid")
	out := filepath.Join(tmp, "models", "knn.gz")
	cache := filepath.Join(tmp, "cache")
	args := []string{"train", "--stdlib", std, "--traces", traces, "--negatives", "--out", out, "--cache", cache, "--timeout", "30s"}
	_, stderr, code := runCLI(t, args...)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	if !strings.Contains(stderr, "[1/1] Tiny/Tiny.v: 3 steps, 3 with progress") || strings.Contains(stderr, "(cached)") {
		t.Errorf("progress lines: %s", stderr)
	}
	m, err := model.LoadKNN(out)
	if err != nil {
		t.Fatal(err)
	}
	h := m.Header
	// intros and rewrite from the replay (local_triv is the file's own
	// Ltac, dropped), the trace's proof step, and its failed lia.
	if h.Pairs.Positive != 3 || h.Pairs.Negative != 1 || len(h.Sources) != 2 || h.Sources[0].Kind != "stdlib" || h.Sources[0].Files != 1 ||
		h.Sources[1].Kind != "trace" || len(h.Sources[1].SHA256) != 64 || !strings.Contains(h.Coq, "8.") {
		t.Errorf("header = %+v", h)
	}
	k, err := model.OpenKNN(out, "coq")
	if err != nil {
		t.Fatal(err)
	}
	cands, err := k.Propose(context.Background(), prover.ProposalRequest{State: prover.State{Goals: []string{"y : R\nH : y / 4 = 1\n============================\ny = 4"}}})
	if err != nil || len(cands) == 0 || cands[0].Tactic != "field_simplify_eq in H; lra." {
		t.Errorf("knn on a similar state = %+v, %v", cands, err)
	}

	// Again: the replay comes from the cache, and the model is the same.
	_, stderr, code = runCLI(t, args...)
	if code != 0 || !strings.Contains(stderr, "(cached)") {
		t.Errorf("second train exit %d, want the cache: %s", code, stderr)
	}
	m2, err := model.LoadKNN(out)
	if err != nil || m2.Header.Pairs != h.Pairs {
		t.Errorf("second model %+v, %v; want the same pairs as %+v", m2.Header.Pairs, err, h.Pairs)
	}
}

// TestTrainRefusesTestSplit: training never reads the test split.
func TestTrainRefusesTestSplit(t *testing.T) {
	tmp := t.TempDir()
	traces := filepath.Join(tmp, "trace")
	writeTraces(t, traces, "test")
	out := filepath.Join(tmp, "knn.gz")
	var o, e strings.Builder
	err := run(context.Background(), []string{"train", "--stdlib", "none", "--traces", traces, "--out", out}, &o, &e)
	if !errors.Is(err, errTestSplit) {
		t.Errorf("train on test traces = %v, want errTestSplit", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a model was written from test traces: %v", err)
	}
}

// TestTrainTracesOnly needs no Coq: a model from valid traces alone, used
// by minif2f's --proposer knn through newProposer.
func TestTrainTracesOnly(t *testing.T) {
	tmp := t.TempDir()
	traces := filepath.Join(tmp, "trace")
	writeTraces(t, traces, "valid")
	out := filepath.Join(tmp, "knn.gz")
	_, stderr, code := runCLI(t, "train", "--stdlib", "none", "--traces", traces, "--negatives=false", "--out", out)
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	m, err := model.LoadKNN(out)
	if err != nil || m.Header.Pairs.Positive != 1 || m.Header.Pairs.Negative != 0 {
		t.Fatalf("model %+v, %v", m, err)
	}
	for _, name := range []string{"knn", "portfolio+knn"} {
		fs := flagSet(commands["minif2f"], &strings.Builder{})
		if err := fs.Parse([]string{"--proposer", name, "--knn-model", out}); err != nil {
			t.Fatal(err)
		}
		a, err := newApp(commands["minif2f"], fs, &strings.Builder{}, &strings.Builder{})
		if err != nil {
			t.Fatal(err)
		}
		p, _, err := a.newProposer(coqDriver(t))
		gpuFree := a.proposerKind() != "llm"
		if err != nil || p.Name() != name || !gpuFree || model.ModelVersions(p)["knn"] != m.Version() {
			t.Errorf("--proposer %s: %v (gpu-free budget %v), %v, versions %v", name, p, gpuFree, err, model.ModelVersions(p))
		}
	}
	fs := flagSet(commands["minif2f"], &strings.Builder{})
	if err := fs.Parse([]string{"--proposer", "knn", "--knn-model", filepath.Join(tmp, "missing.gz")}); err != nil {
		t.Fatal(err)
	}
	a, err := newApp(commands["minif2f"], fs, &strings.Builder{}, &strings.Builder{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.newProposer(coqDriver(t)); !errors.Is(err, model.ErrNoKNNModel) || !strings.Contains(err.Error(), "llemma-prove train") {
		t.Errorf("missing model: %v, want ErrNoKNNModel with a hint", err)
	}
}
