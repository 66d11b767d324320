package benchmarks

import (
	"bytes"
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/search"
)

func readInputs(t *testing.T, files ...string) []ReportInput {
	t.Helper()
	var out []ReportInput
	for _, f := range files {
		rs, _, err := ReadResults(filepath.Join("testdata", "report", f))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ReportInput{Path: f, Results: rs})
	}
	return out
}

func legacyTraces(t *testing.T) *Traces {
	t.Helper()
	tr, err := OpenTraces(filepath.Join("testdata", "report", "trace"))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// The report's every format is checked against goldens; rewrite them with
// `go test ./benchmarks -update`. These inputs have no sidecars and their
// trace directory is in format 1: both still work.
func TestReportGolden(t *testing.T) {
	rep, err := BuildReport(readInputs(t, "coq.jsonl", "lean.jsonl"), legacyTraces(t))
	if err != nil {
		t.Fatal(err)
	}
	var text, md, js, html bytes.Buffer
	rep.WriteText(&text)
	rep.WriteMarkdown(&md)
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", text.Bytes())
	golden(t, "report.md", md.Bytes())
	golden(t, "report.json", js.Bytes())
	golden(t, "report.html", html.Bytes())

	s := rep.Systems[0]
	if s.System != "coq/portfolio" || s.Solved != 2 || s.Problems != 4 {
		t.Errorf("coq system %+v, want 2/4 (the interrupted line superseded)", s)
	}
	l := rep.Systems[1]
	if len(l.PassAtK) != 2 || math.Abs(l.PassAtK[0].Value-1.0/3) > 1e-9 || math.Abs(l.PassAtK[1].Value-2.0/3) > 1e-9 {
		t.Errorf("lean pass@k %+v, want 1/3 and 2/3", l.PassAtK)
	}
	if rep.Cross == nil || rep.Cross.ByAll != 1 || rep.Cross.OnlyBy["coq/portfolio"] != 1 || rep.Cross.OnlyBy["lean/llm"] != 1 {
		t.Errorf("cross %+v", rep.Cross)
	}
	for _, want := range []string{`id="summary"`, `id="plot-wall"`, `id="plot-expansions"`, `class="node onproof" open`, "Cannot find witness", "<polyline", `id="systems"`} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(html.String(), "http://") && strings.Count(html.String(), "http://") != strings.Count(html.String(), "http://www.w3.org/2000/svg") {
		t.Errorf("HTML refers to external assets")
	}
	// Without sidecars two systems' configs are unknown: said so.
	if len(rep.Warnings) != 3 || !strings.Contains(rep.Warnings[0], "coq/portfolio: no OUT.meta.json") ||
		!strings.Contains(rep.Warnings[2], "different problems") {
		t.Errorf("warnings %q", rep.Warnings)
	}
}

// systemInputs are three runs with sidecars: Coq with the portfolio, and
// the same Lean model at two temperatures (so two systems), one with model
// costs on its lines.
func systemInputs() []ReportInput {
	v := func(kv ...string) map[string]string {
		m := map[string]string{"expansions": "100", "samples": "32", "theorem-timeout": "600s", "llemma-parity": "false"}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	sess := func(rev, shard string, thms ...string) Session {
		return Session{ID: "s-" + rev, Host: "node-" + rev, GitRevision: rev, Split: "test", Attempts: 1, Shard: shard, Theorems: thms}
	}
	coqMeta := &Meta{RunID: "run-coq", Verdict: v("backend", "coq", "proposer", "portfolio", "expansions", "12", "samples", "64",
		"theorem-timeout", "15s", "tactic-timeout", "3s", "version.coqc", "The Coq Proof Assistant, version 8.16.1"),
		Sessions: []Session{sess("aaa", "", "p1", "p2", "p3", "p4")}}
	leanV := func(temp, beam string) map[string]string {
		return v("backend", "lean", "proposer", "llm", "tactic-timeout", "10s", "model.name", "m", "model.temperature", temp,
			"model.beam", beam, "model.prompt", "llemma", "model.max-tokens", "256", "version.lean", "Lean 4.9.0")
	}
	t0 := &Meta{RunID: "run-t0", Verdict: leanV("0", "true"), Sessions: []Session{sess("bbb", "", "p1", "p2", "p3")}}
	t1 := &Meta{RunID: "run-t1", Verdict: leanV("1", "false"), Sessions: []Session{sess("bbb", "", "p1", "p2", "p3")}}
	r := func(name, backend, proposer, status string, proof ...string) Result {
		res := Result{Name: name, Split: "test", Backend: backend, Proposer: proposer, Status: status, Proof: proof,
			Statement: "theorem " + name, Expansions: 3, TacticChecks: 40, WallS: 6, QueueS: 1, SetupS: 0.5, SearchS: 4, VerifyS: 0.5}
		if status == "proved" {
			res.FileText = "theorem " + name + " := by " + strings.Join(proof, "; ")
		}
		return res
	}
	withCost := func(res Result, reqs int64, propose time.Duration) Result {
		res.ModelCost = &ModelCost{Proposals: reqs, Requests: reqs, PromptTokens: 1000 * reqs, CachedTokens: 500 * reqs,
			CompletionTokens: 50 * reqs, ModelTime: 2 * propose, ProposeTime: propose}
		return res
	}
	coq := []Result{
		r("p1", "coq", "portfolio", "proved", "intros x h.", "lia."),
		r("p2", "coq", "portfolio", "proved", "lia."),
		r("p3", "coq", "portfolio", "failed"),
		r("p4", "coq", "portfolio", "error"),
	}
	coq[2].SearchEnd = "budget"
	coq[3].Cause = "backend-crashed"
	lean0 := []Result{
		withCost(r("p1", "lean", "llm:m", "proved", "norm_num"), 2, time.Second),
		withCost(r("p2", "lean", "llm:m", "timeout"), 10, 3*time.Second),
		withCost(r("p3", "lean", "llm:m", "proved", "intro x", "nlinarith [sq_nonneg x]"), 4, 2*time.Second),
	}
	lean1 := []Result{
		r("p1", "lean", "llm:m", "failed", "simp"), // refused by the final check: the proof is kept
		r("p2", "lean", "llm:m", "proved", "norm_num [h]"),
		r("p3", "lean", "llm:m", "failed"),
	}
	lean1[0].SearchEnd = "proved"
	lean1[2].SearchEnd = "exhausted"
	return []ReportInput{{Path: "coq.jsonl", Results: coq, Meta: coqMeta}, {Path: "lean-t0.jsonl", Results: lean0, Meta: t0}, {Path: "lean-t1.jsonl", Results: lean1, Meta: t1}}
}

// Systems with sidecars: configs shown, the same model at two
// temperatures split into two systems, the warnings, costs, failure
// reasons and tactics; goldens for every format.
func TestReportSystemsGolden(t *testing.T) {
	t.Parallel()
	rep, err := BuildReport(systemInputs(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var text, md, js, html bytes.Buffer
	rep.WriteText(&text)
	rep.WriteMarkdown(&md)
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	golden(t, "systems.txt", text.Bytes())
	golden(t, "systems.md", md.Bytes())
	golden(t, "systems.json", js.Bytes())
	golden(t, "systems.html", html.Bytes())

	var names []string
	for _, s := range rep.Systems {
		names = append(names, s.System)
	}
	want := []string{"coq/portfolio", "lean/llm:m [model.beam=false, model.temperature=1]", "lean/llm:m [model.beam=true, model.temperature=0]"}
	if strings.Join(names, "|") != strings.Join(want, "|") {
		t.Fatalf("systems %q, want %q", names, want)
	}
	coq, t1, t0 := rep.Systems[0], rep.Systems[1], rep.Systems[2]
	if c := coq.Config; c == nil || c.Budget != "12 expansions x 64 candidates, 15s of tactic time per theorem, 3s per tactic" ||
		c.Checker != "The Coq Proof Assistant, version 8.16.1" || strings.Join(c.GitRevisions, ",") != "aaa" || c.Temperature != nil {
		t.Errorf("coq config %+v", c)
	}
	if c := t0.Config; c == nil || c.Temperature == nil || *c.Temperature != 0 || !c.Beam || c.Decoding != "beam search at temperature 0, 256 new tokens" {
		t.Errorf("t0 config %+v", c)
	}
	// Warnings name what differs beyond the systems' identity.
	joined := strings.Join(rep.Warnings, "\n")
	for _, w := range []string{"differ in expansions: coq/portfolio 12,", "differ in tactic-timeout", "different git revisions", "different problems"} {
		if !strings.Contains(joined, w) {
			t.Errorf("no warning %q in\n%s", w, joined)
		}
	}
	for _, w := range []string{"differ in model.", "version.coqc", "differ in backend", "differ in proposer"} {
		if strings.Contains(joined, w) {
			t.Errorf("warning about %q (identity, or another backend's key):\n%s", w, joined)
		}
	}
	// Failure reasons and tactics.
	if got := topCounts(coq.Failures, 5); got != "error: backend-crashed 1, failed: budget 1" {
		t.Errorf("coq failures %q", got)
	}
	if got := topCounts(t1.Failures, 5); got != "failed: exhausted 1, failed: proof refused by the final check 1" {
		t.Errorf("t1 failures %q", got)
	}
	if got := topCounts(coq.Closers, 5); got != "lia. 2" {
		t.Errorf("coq closers %q", got)
	}
	if got := topCounts(t0.Tactics, 5); got != "intro 1, nlinarith 1, norm_num 1" {
		t.Errorf("t0 tactic heads %q", got)
	}
	// Cost: sums, checks per second, model time against checker time.
	if c := coq.Cost; c.Attempts != 4 || c.SearchS != 16 || c.TacticChecks != 160 || c.ChecksPerS != 10 || c.Model != nil {
		t.Errorf("coq cost %+v", c)
	}
	m := t0.Cost.Model
	if m == nil || m.Requests != 16 || m.PromptTokens != 16000 || m.CacheHitRate != 0.5 || m.ProposeS != 6 || m.ModelS != 12 || m.CheckerS != 6 || m.ChecksPerCheckerS != 20 {
		t.Errorf("t0 model cost %+v", m)
	}
	if !strings.Contains(html.String(), `id="warnings"`) || !strings.Contains(html.String(), "beam search at temperature 0") {
		t.Errorf("HTML lacks the warnings or the configs")
	}
}

// One backend/proposer with and without a sidecar is one system; with two
// sidecars that agree (shards of one run), too.
func TestReportShardsOneSystem(t *testing.T) {
	t.Parallel()
	in := systemInputs()
	coq := in[0]
	shard1 := ReportInput{Path: "coq.1.jsonl", Results: []Result{{Name: "p9", Split: "test", Backend: "coq", Proposer: "portfolio", Status: "proved", Proof: []string{"lia."}}},
		Meta: &Meta{RunID: "run-coq-1", Verdict: coq.Meta.Verdict, Sessions: []Session{{Host: "other", GitRevision: "aaa", Split: "test", Theorems: []string{"p9"}}}}}
	bare := ReportInput{Path: "coq.old.jsonl", Results: []Result{{Name: "p8", Split: "test", Backend: "coq", Proposer: "portfolio", Status: "failed"}}}
	rep, err := BuildReport([]ReportInput{coq, shard1, bare}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Systems) != 1 || rep.Systems[0].Problems != 6 {
		t.Fatalf("systems %+v, want one with 6 problems", rep.Systems)
	}
	c := rep.Systems[0].Config
	if strings.Join(c.RunIDs, ",") != "run-coq,run-coq-1" || c.Hosts != 2 || c.Sessions != 2 || len(rep.Warnings) != 0 {
		t.Errorf("config %+v, warnings %q", c, rep.Warnings)
	}
}

func TestTacticHead(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"nlinarith [sq_nonneg (x - 1)]": "nlinarith", "lia.": "lia", "  field_simplify_eq in h₀; lra.": "field_simplify_eq",
		"norm_num": "norm_num", "(intros; lia).": "intros", "": "",
	} {
		if got := TacticHead(in); got != want {
			t.Errorf("TacticHead(%q) = %q, want %q", in, got, want)
		}
	}
}

// The Llemma export of a system: positive scores (the path cost), 0-based
// iteration, elapsed over the search, the real temperature and Llemma's
// failure reasons.
func TestLlemmaExport(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	in := systemInputs()[1] // lean t0
	w, err := OpenTraceWriter(root, TraceRun{Backend: "lean", Proposer: "llm:m", RunID: "run-t0", Session: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	tr := &search.Trace{Nodes: []search.TraceNode{{ID: 0, Key: "x : ℝ\n⊢ x * x ≥ 0", Parent: -1, Expanded: true}, {ID: 1, Key: "⊢ 1 = 1", Parent: 0}},
		Edges: []search.TraceEdge{
			{From: 0, To: -1, Tactic: "simp", Score: -0.1, Outcome: "failed", Detail: "simp made no progress"},
			{From: 0, To: 1, Tactic: "intro x", Score: -0.25, Outcome: "open"},
			{From: 1, To: -1, Tactic: "nlinarith [sq_nonneg x]", Score: -0.5, Outcome: "proved"},
		}}
	if err := w.Write(in.Results[2], tr); err != nil {
		t.Fatal(err)
	}
	w.Close()
	traces, err := OpenTraces(root)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := BuildReport([]ReportInput{in}, traces)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := rep.WriteLlemmaJSON(&b); err != nil {
		t.Fatal(err)
	}
	golden(t, "llemma.json", b.Bytes())
	var f struct {
		Results []struct {
			AttemptResults []map[string]any `json:"attempt_results"`
			Success        bool             `json:"success"`
			Example        map[string]any   `json:"example"`
		} `json:"results"`
		Args map[string]any `json:"args"`
	}
	if err := json.Unmarshal(b.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Results) != 3 || !f.Results[0].Success || f.Results[1].Success || !f.Results[2].Success {
		t.Fatalf("entries %+v", f.Results)
	}
	p3 := f.Results[2].AttemptResults[0]
	if p3["score"] != 0.75 || p3["iteration"] != 2.0 || p3["elapsed"] != -4.0 || len(p3["trace"].([]any)) != 2 {
		t.Errorf("p3 attempt %v: want score 0.75 (= 0.25 + 0.5), iteration 2 (of 3 expansions), elapsed -4 (search_s)", p3)
	}
	if temps, ok := p3["temperature"].([]any); !ok || len(temps) != 1 || temps[0] != 0.0 {
		t.Errorf("temperature %v, want [0]", p3["temperature"])
	}
	if r := f.Results[1].AttemptResults[0]["failure_reason"]; r != "DojoHardTimeoutError" {
		t.Errorf("timeout failure_reason %v", r)
	}
	if f.Args["max_iters"] != 100.0 || f.Args["model_name"] != "m" || f.Args["dataset_name"] != "minif2f-test" {
		t.Errorf("args %v", f.Args)
	}

	rep2, _ := BuildReport(systemInputs(), nil)
	if err := rep2.WriteLlemmaJSON(&b); err == nil {
		t.Error("three systems exported into one Llemma file")
	}
	// A proposer that does not sample has no temperature.
	rep3, _ := BuildReport(systemInputs()[:1], nil)
	b.Reset()
	if err := rep3.WriteLlemmaJSON(&b); err != nil || !strings.Contains(b.String(), `"temperature": null`) ||
		!strings.Contains(b.String(), `"failure_reason": "DojoCrashError"`) {
		t.Errorf("portfolio export: %v\n%s", err, b.String())
	}
}

func TestLlemmaFailure(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		status, cause, want string
	}{
		{"failed", "", "SearchEnded"}, {"timeout", "", "DojoHardTimeoutError"}, {"error", "load", "DojoInitError"},
		{"error", "setup-timeout", "DojoInitError"}, {"error", "backend-crashed", "DojoCrashError"},
		{"error", "model-unavailable", "ModelUnavailableError"}, {"error", "verify", "VerifyError"}, {"interrupted", "", "Interrupted"},
	} {
		if got := LlemmaFailure(Result{Status: c.status, Cause: c.cause}); got != c.want {
			t.Errorf("LlemmaFailure(%s, %s) = %s, want %s", c.status, c.cause, got, c.want)
		}
	}
}

// --llemma-parity decodes with beam search at temperature 0 whatever
// model.temperature says: the config (and so --llemma-json) says what ran.
func TestReportParityDecoding(t *testing.T) {
	t.Parallel()
	in := ReportInput{Path: "p.jsonl", Results: []Result{{Name: "x", Split: "test", Backend: "lean", Proposer: "llm:m", Status: "failed"}},
		Meta: &Meta{RunID: "p", Verdict: map[string]string{"backend": "lean", "proposer": "llm", "llemma-parity": "true",
			"model.name": "m", "model.temperature": "1", "model.beam": "false", "model.prompt": "llemma"}}}
	rep, err := BuildReport([]ReportInput{in}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Systems[0].Config
	if c.Temperature == nil || *c.Temperature != 0 || !c.Beam || !strings.HasPrefix(c.Decoding, "Llemma parity") ||
		c.Prompt != "llemma-original" || !strings.Contains(c.Search, "parity") {
		t.Errorf("parity config %+v", c)
	}
	var b bytes.Buffer
	if err := rep.WriteLlemmaJSON(&b); err != nil || !strings.Contains(b.String(), `"temperatures": [
      0
    ]`) {
		t.Errorf("parity export: %v\n%s", err, b.String())
	}
}
