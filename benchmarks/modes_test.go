package benchmarks

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// samplingProver proves theorems whose name starts with "ok" after one
// rejected sample, recording both samples as the modes do.
type samplingProver struct{}

func (p *samplingProver) Prove(ctx context.Context, thm prover.Theorem) prover.Outcome {
	ok := strings.HasPrefix(thm.Name, "ok")
	recordTwo(ctx, ok)
	if ok {
		return prover.Outcome{Status: prover.StatusProved, Proof: []string{"whole"}, FileText: "file"}
	}
	return prover.Outcome{Status: prover.StatusFailed, Note: "rejected"}
}

// recordTwo writes two sample records through the exported API: a run of
// WholeProof against a stub verifier.
func recordTwo(ctx context.Context, ok bool) {
	w := &prover.WholeProof{Backend: stubBackend{ok: ok}, Writer: stubWriter{}, RepairRounds: 1}
	w.Prove(ctx, prover.Theorem{Name: "x", Statement: "S."})
}

type stubWriter struct{}

func (stubWriter) Name() string { return "stub" }
func (stubWriter) WriteProof(ctx context.Context, req prover.ProofRequest) (prover.ProofText, error) {
	return prover.ProofText{Text: "t" + strings.Repeat("x", req.Round)}, nil
}

// stubBackend verifies the second file when ok.
type stubBackend struct{ ok bool }

func (stubBackend) Name() string { return "stub" }
func (stubBackend) Open(context.Context, prover.Theorem) (prover.Session, error) {
	return nil, prover.ErrClosed
}
func (stubBackend) Policy() prover.Policy { return nil }
func (stubBackend) Close() error          { return nil }
func (stubBackend) Assemble(thm prover.Theorem, proof []string) string {
	return strings.Join(proof, "\n")
}
func (b stubBackend) Verify(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	return prover.Verification{Verified: b.ok && req.Solution == "tx", Message: "Error: no", Elapsed: time.Millisecond}, nil
}

func TestRunnerModes(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r := &Runner{Prover: &samplingProver{}, Mode: prover.ModeWholeProof, Proposer: "stub", Sink: NewSink(&buf), Concurrency: 2, Attempts: 2}
	thms := []prover.Theorem{{Name: "ok_a", Split: "valid", Backend: "coq"}, {Name: "no_b", Split: "valid", Backend: "coq"}}
	res, err := r.Run(context.Background(), thms)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 4 {
		t.Fatalf("%d results", len(res))
	}
	for _, x := range res {
		if x.Mode != prover.ModeWholeProof || len(x.Samples) != 2 || x.Samples[1].Round != 1 {
			t.Errorf("%s#%d: mode %q samples %+v", x.Name, x.Attempt, x.Mode, x.Samples)
		}
		if want := x.Name == "ok_a"; x.Samples[1].Verified != want || (x.Status == "proved") != want {
			t.Errorf("%s: status %s samples %+v", x.Name, x.Status, x.Samples)
		}
	}
	// The lines carry the mode and the samples.
	var line Result
	if err := json.Unmarshal([]byte(strings.SplitN(buf.String(), "\n", 2)[0]), &line); err != nil || line.Mode != prover.ModeWholeProof || len(line.Samples) != 2 {
		t.Errorf("line %q: %v", buf.String(), err)
	}
	if SystemOf(line) != "coq/stub/whole-proof" {
		t.Errorf("SystemOf = %q", SystemOf(line))
	}
}

// Step-wise lines keep their old system name; a whole-proof and a sketch
// run of the same proposer are separate systems of the report, with
// pass@k computed over each one's samples.
func TestReportSeparatesModes(t *testing.T) {
	t.Parallel()
	mk := func(mode, status string, attempt int) Result {
		return Result{Name: "mathd_algebra_1", Split: "valid", Backend: "coq", Proposer: "llm", Status: status, Attempt: attempt, Mode: mode}
	}
	step := ReportInput{Path: "step.jsonl", Results: []Result{mk("", "failed", 0)}}
	whole := ReportInput{Path: "whole.jsonl", Results: []Result{mk(prover.ModeWholeProof, "failed", 0), mk(prover.ModeWholeProof, "proved", 1), mk(prover.ModeWholeProof, "failed", 2), mk(prover.ModeWholeProof, "failed", 3)}}
	sketch := ReportInput{Path: "sketch.jsonl", Results: []Result{mk(prover.ModeSketch, "proved", 0)}}
	rep, err := BuildReport([]ReportInput{step, whole, sketch}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]SystemStats{}
	for _, s := range rep.Systems {
		got[s.System] = s
	}
	if len(got) != 3 || got["coq/llm"].Solved != 0 || got["coq/llm/whole-proof"].Solved != 1 || got["coq/llm/sketch"].Solved != 1 {
		t.Fatalf("systems %v", got)
	}
	pk := got["coq/llm/whole-proof"].PassAtK
	if len(pk) == 0 || pk[0].K != 1 || pk[0].Value != 0.25 {
		t.Errorf("whole-proof pass@k %+v, want pass@1 = 1/4", pk)
	}
}

func TestMergeModeConflict(t *testing.T) {
	t.Parallel()
	a := Result{Name: "n", Split: "valid", Backend: "coq", Status: "failed"}
	b := a
	b.Mode = prover.ModeSketch
	res := Merge([]MergeInput{{Path: "a", Results: []Result{a}}, {Path: "b", Results: []Result{b}}}, nil)
	found := false
	for _, c := range res.Conflicts {
		found = found || c.Kind == "mode"
	}
	if !found {
		t.Errorf("no mode conflict: %+v", res.Conflicts)
	}
	same := Merge([]MergeInput{{Path: "a", Results: []Result{a}}, {Path: "b", Results: []Result{a}}}, nil)
	for _, c := range same.Conflicts {
		if c.Kind == "mode" {
			t.Errorf("conflict between lines of one mode: %v", c)
		}
	}
}

func TestInformal(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "inf.jsonl")
	rows := `{"problem_name": "mathd_algebra_141", "informal_statement": "S1", "informal_proof": "P1"}
{"problem_name": "aimei_2000_7", "informal_statement": "S2", "informal_proof": "P2"}
{"problem_name": "imo_1964_1_2", "informal_statement": "S3", "informal_proof": "P3"}
{"problem_name": "x_1", "informal_statement": "A", "informal_proof": "A"}
{"problem_name": "x_p1", "informal_statement": "B", "informal_proof": "B"}
`
	if err := os.WriteFile(path, []byte(rows), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := LoadInformal(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"mathd_algebra_141": "P1", "aimeI_2000_p7": "P2", "imo_1964_p1_2": "P3", "x_1": "A"} {
		if v, ok := in.For(name); !ok || v.Proof != want {
			t.Errorf("For(%s) = %+v, %v; want %s", name, v, ok, want)
		}
	}
	// x_1 and x_p1 normalise alike: only exact names find them.
	if _, ok := in.For("X_P1"); ok {
		t.Errorf("an ambiguous normal name was resolved")
	}
	if _, ok := in.For("mathd_algebra_142"); ok {
		t.Errorf("an unknown name was found")
	}
	if _, err := LoadInformal(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Errorf("a missing file loaded")
	}
	// The shipped data matches nearly every Coq valid theorem by name.
	real := filepath.Join("..", "data", "minif2f", "informal", "minif2f-informal.jsonl")
	if _, err := os.Stat(real); err == nil {
		in, err := LoadInformal(real)
		if err != nil {
			t.Fatalf("shipped data: %v", err)
		}
		if in.Len() != 488 {
			t.Errorf("shipped data: %d rows, want 488", in.Len())
		}
		for _, n := range []string{"aime_1983_p9", "amc12a_2002_p1", "mathd_numbertheory_1124"} {
			if _, ok := in.For(n); !ok {
				t.Errorf("shipped data: no informal proof for %s", n)
			}
		}
	}
}
