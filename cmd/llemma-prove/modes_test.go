package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/llemma-prove/llemma-prove/benchmarks"
)

// fakeWriter answers /v1/completions like vLLM with one whole proof per
// request: script gets the prompt and returns the text.
func fakeWriter(t *testing.T, script func(prompt string) string) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"object":"list","data":[{"id":"fake","object":"model"}]}`))
			return
		}
		if r.URL.Path != "/v1/completions" {
			http.NotFound(w, r)
			return
		}
		calls.Add(1)
		var req struct {
			Prompt any `json:"prompt"`
			N      int `json:"n"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var prompts []string
		switch p := req.Prompt.(type) {
		case string:
			prompts = []string{p}
		case []any:
			for _, x := range p {
				prompts = append(prompts, x.(string))
			}
		}
		type choice struct {
			Index        int    `json:"index"`
			Text         string `json:"text"`
			FinishReason string `json:"finish_reason"`
		}
		var choices []choice
		for i, p := range prompts {
			for j := 0; j < max(req.N, 1); j++ {
				text := "\nauto.\n" // the pre-flight's tactic prompt
				if strings.Contains(p, "(* A complete formal proof") {
					text = script(p)
				}
				choices = append(choices, choice{Index: i*max(req.N, 1) + j, Text: text, FinishReason: "stop"})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "cmpl-1", "object": "text_completion", "model": "fake", "choices": choices})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// recheck runs `check --statement-of` on every proved line's file: a claim
// of the modes is only as good as the verifier's judgement of it.
func recheck(t *testing.T, data string, rs []benchmarks.Result) {
	t.Helper()
	for _, r := range rs {
		if r.Status != "proved" {
			continue
		}
		f := filepath.Join(t.TempDir(), r.Name+".v")
		if err := os.WriteFile(f, []byte(r.FileText), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, stderr, code := runCLI(t, "check", "--backend", "coq", "--data", data, "--statement-of", r.Name, f); code != 0 {
			t.Errorf("%s: claimed proved, check exits %d:\n%s%s\n%s", r.Name, code, out, stderr, r.FileText)
		}
	}
}

func byName(rs []benchmarks.Result) map[string]benchmarks.Result {
	m := map[string]benchmarks.Result{}
	for _, r := range rs {
		m[r.Name] = r
	}
	return m
}

// minif2f --mode whole-proof on a stand-in model: a right proof counts, a
// wrong one does not, cheats (Admitted, an axiom of False, a changed
// statement) never count whatever the round, and a proof repaired in the
// second round (given the checker's first error) counts; every claimed
// proof passes check again.
func TestWholeProofModeCLI(t *testing.T) {
	needCoq(t)
	t.Parallel()
	data := coqData(t)
	srv, calls := fakeWriter(t, func(p string) string {
		repair := strings.Contains(p, "This attempt failed")
		switch {
		case strings.Contains(p, "Theorem mathd_algebra_141"):
			return "  nra.\n"
		case strings.Contains(p, "Theorem mathd_algebra_107"):
			return "  reflexivity.\n"
		case strings.Contains(p, "Theorem mathd_algebra_24"):
			if repair && strings.Contains(p, "Error") {
				return "  intros x h. lra.\n"
			}
			return "  intros x h. reflexivity.\n"
		case strings.Contains(p, "Theorem mathd_numbertheory_3"):
			switch {
			case !repair: // gives up: refused before any check
				return "  intros.\nAdmitted.\n"
			case strings.Contains(p, "Axiom c"): // after the axiom: a bare admit
				return "  admit.\n"
			}
			// An axiom of False and a changed statement: judged, refused.
			return "Axiom c : False.\nTheorem mathd_numbertheory_3 : 1 mod 10 = 5.\nProof. destruct c. Qed.\n"
		}
		return "  auto.\n"
	})
	out := filepath.Join(t.TempDir(), "whole.jsonl")
	_, stderr, code := runCLI(t, "minif2f", "--backend", "coq", "--proposer", "llm", "--model-url", srv.URL, "--model", "fake",
		"--data", data, "--only", "mathd_algebra_141,mathd_algebra_107,mathd_algebra_24,mathd_numbertheory_3", "--out", out,
		"--mode", "whole-proof", "--repair-rounds", "2", "--proofs", "1", "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	rs := lines(t, out)
	got := byName(rs)
	want := map[string]string{"mathd_algebra_141": "proved", "mathd_algebra_107": "failed", "mathd_algebra_24": "proved", "mathd_numbertheory_3": "failed"}
	for n, w := range want {
		r := got[n]
		if r.Status != w || r.Mode != "whole-proof" {
			t.Errorf("%s: %s mode %q, want %s (%s)", n, r.Status, r.Mode, w, r.Error)
		}
	}
	if s := got["mathd_algebra_141"].Samples; len(s) != 1 || !s[0].Verified {
		t.Errorf("141 samples %+v: want one verified first sample", s)
	}
	if s := got["mathd_algebra_24"].Samples; len(s) != 2 || s[0].Verified || !s[1].Verified || s[1].Round != 1 {
		t.Errorf("24 samples %+v: want a rejected first sample and a verified repair", s)
	}
	cheat := got["mathd_numbertheory_3"].Samples
	if len(cheat) != 3 || cheat[0].Rejected != "gives-up" || cheat[1].Verified || cheat[1].VerifyS == 0 || cheat[2].Rejected != "gives-up" {
		t.Errorf("cheat samples %+v: want Admitted refused, the axiom judged and refused, admit refused", cheat)
	}
	if s := got["mathd_algebra_107"].Samples; len(s) != 3 {
		t.Errorf("107 samples %+v: want 3 (two repairs)", s)
	}
	if calls.Load() == 0 {
		t.Fatal("the model was never asked")
	}
	recheck(t, data, rs)

	// The report tells the mode apart (its own system row) and gives pass@k.
	rep, _, code := runCLI(t, "report", "--json", out)
	if code != 0 || !strings.Contains(rep, `"coq/llm:fake/whole-proof"`) {
		t.Errorf("report (exit %d) does not name the whole-proof system:\n%s", code, rep)
	}
}

// minif2f --mode sketch --sketch-from: the portfolio closes the holes of
// one sketch (proved), cannot close another's (failed, holes counted), and
// a sketch whose holes close but which declares an axiom is refused by the
// final check.
func TestSketchModeCLI(t *testing.T) {
	needCoq(t)
	t.Parallel()
	data := coqData(t)
	dir := t.TempDir()
	sketches := []map[string]string{
		{"name": "mathd_algebra_24", "sketch": "intros x h.\nassert (h2 : x = 50 * 40) by admit.\nadmit."},
		{"name": "mathd_algebra_107", "sketch": "intros x y h.\nassert (hf : False) by admit.\ncontradiction."},
		{"name": "mathd_numbertheory_3", "sketch": "Require Import Arith.\nAxiom c : False.\nTheorem mathd_numbertheory_3 : 0 = 0 -> ((1 * 1) + (2 * 2) + (3 * 3) + (4 * 4) + (5 * 5) + (6 * 6) + (7 * 7) + (8 * 8) + (9 * 9)) mod 10 = 5.\nProof.\nassert (t : True) by admit.\ndestruct c.\nQed."},
	}
	var sb strings.Builder
	for _, s := range sketches {
		b, _ := json.Marshal(s)
		sb.Write(b)
		sb.WriteString("\n")
	}
	from := filepath.Join(dir, "sketches.jsonl")
	if err := os.WriteFile(from, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "sketch.jsonl")
	_, stderr, code := runCLI(t, "minif2f", "--backend", "coq", "--data", data, "--only", "mathd_algebra_24,mathd_algebra_107,mathd_numbertheory_3",
		"--out", out, "--mode", "sketch", "--sketch-from", from, "--hole-timeout", "20s", "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	rs := lines(t, out)
	got := byName(rs)
	for n, w := range map[string]string{"mathd_algebra_24": "proved", "mathd_algebra_107": "failed", "mathd_numbertheory_3": "failed"} {
		if r := got[n]; r.Status != w || r.Mode != "sketch" {
			t.Errorf("%s: %s mode %q, want %s (%s)", n, r.Status, r.Mode, w, r.Error)
		}
	}
	if s := got["mathd_algebra_24"].Samples; len(s) != 1 || s[0].Holes != 2 || s[0].Closed != 2 || !s[0].Verified {
		t.Errorf("24 samples %+v", s)
	}
	if s := got["mathd_algebra_107"].Samples; len(s) != 1 || s[0].Holes != 1 || s[0].Closed != 0 || s[0].VerifyS != 0 {
		t.Errorf("107 samples %+v: an open hole never reaches the verifier", s)
	}
	if s := got["mathd_numbertheory_3"].Samples; len(s) != 1 || s[0].Closed != 1 || s[0].Verified {
		t.Errorf("cheating sketch samples %+v: its hole closes, the check refuses it", s)
	}
	recheck(t, data, rs)
}

// fill on a real Coq file with three admits: every hole is streamed as it
// closes, the filled file is written to -o, and it passes check.
func TestFillCLI(t *testing.T) {
	needCoq(t)
	t.Parallel()
	dir := t.TempDir()
	src := filepath.Join(dir, "three.v")
	file := `Require Import Arith Lia.

Definition double_free (a b : nat) : nat := 0.

Lemma double (n : nat) : n + n = 2 * n.
Proof.
  admit.
Admitted.

Theorem main_thm (a b : nat) (h : a = b + 1) : double_free a b = 0 -> a + a = 2 * a /\ a > b.
Proof.
  intros _.
  split.
  - rewrite double. admit.
  - assert (hb : b < a) by admit.
    admit.
Qed.
`
	if err := os.WriteFile(src, []byte(file), 0o644); err != nil {
		t.Fatal(err)
	}
	filled := filepath.Join(dir, "filled.v")
	_, stderr, code := runCLI(t, "fill", "--backend", "coq", "--workers", "2", "-o", filled, src)
	if code != 0 {
		t.Fatalf("fill exit %d\n%s", code, stderr)
	}
	if n := strings.Count(stderr, "): closed"); n != 5 {
		t.Errorf("%d holes reported closed, want 5 (3 admit, 1 assert, the Admitted):\n%s", n, stderr)
	}
	b, err := os.ReadFile(filled)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "admit") || strings.Contains(string(b), "Admitted") {
		t.Errorf("holes left:\n%s", b)
	}
	if out, stderr, code := runCLI(t, "check", "--backend", "coq", filled); code != 0 || !strings.Contains(out, "verified main_thm") {
		t.Errorf("check of the filled file: exit %d\n%s%s", code, out, stderr)
	}

	// A hole the search cannot close: exit 1, the file keeps it.
	open := filepath.Join(dir, "open.v")
	if err := os.WriteFile(open, []byte("Theorem t (n : nat) : n = n /\\ False.\nProof.\n  split.\n  - admit.\n  - admit.\nQed.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code := runCLI(t, "fill", "--backend", "coq", "--workers", "1", "--hole-timeout", "10s", open)
	if code != 1 || !strings.Contains(out, "admit.") || !strings.Contains(stderr, "1 of 2 holes closed") {
		t.Errorf("fill with an open hole: exit %d\n%s\n%s", code, out, stderr)
	}
}

// prove --mode: one theorem of a user's file, as a whole proof from the
// model (a right one verifies and is printed; a wrong one, repaired with
// the checker's error, verifies on round 2; without repair it exits 1) and
// as a sketch filled by the portfolio (no informal proof: the file is not
// a benchmark's).
func TestProveModesCLI(t *testing.T) {
	needCoq(t)
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "mine.v")
	const src = "Require Import Arith Lia.\n\nTheorem mine : forall n : nat, n + 0 = n.\nProof.\nAdmitted.\n"
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	srv, _ := fakeWriter(t, func(p string) string {
		if strings.Contains(p, "This attempt failed") {
			return "  intros n. lia.\n"
		}
		return "  intros n. reflexivity.\n"
	})
	llm := []string{"--backend", "coq", "--proposer", "llm", "--model-url", srv.URL, "--model", "fake", "--name", "mine"}
	out, stderr, code := runCLI(t, append(append([]string{"prove"}, llm...), "--mode", "whole-proof", file)...)
	if code != 1 || out != "" {
		t.Fatalf("wrong whole proof, no repair: exit %d, stdout %q, want 1 and nothing\n%s", code, out, stderr)
	}
	out, stderr, code = runCLI(t, append(append([]string{"prove"}, llm...), "--mode", "whole-proof", "--repair-rounds", "1", file)...)
	if code != 0 || !strings.Contains(out, "lia.") || !strings.Contains(stderr, "whole-proof mode") {
		t.Fatalf("repaired whole proof: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	proved := filepath.Join(dir, "proved.v")
	if err := os.WriteFile(proved, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	if o, e, c := runCLI(t, "check", "--backend", "coq", "--name", "mine", proved); c != 0 || !strings.Contains(o, "verified mine") {
		t.Fatalf("check of the proved file: exit %d\n%s\n%s", c, o, e)
	}

	sk := filepath.Join(dir, "sketches")
	if err := os.Mkdir(sk, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sk, "mine.v"), []byte("intros n.\nassert (h : n + 0 = n) by admit.\nexact h.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, stderr, code = runCLI(t, "prove", "--backend", "coq", "--name", "mine", "--mode", "sketch", "--sketch-from", sk, "--hole-timeout", "20s", file)
	if code != 0 || !strings.Contains(out, "Theorem mine") || strings.Contains(out, "admit") {
		t.Fatalf("sketch: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}
