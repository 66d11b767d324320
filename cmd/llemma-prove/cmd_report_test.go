package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/model"
)

// A result line's model_cost is model.Cost: the same fields and JSON.
func TestModelCostIsModelCost(t *testing.T) {
	t.Parallel()
	c := model.Cost{Proposals: 1, Requests: 2, Retries: 3, Failures: 4, Throttled: 5, PromptTokens: 6, CompletionTokens: 7,
		CachedTokens: 8, Samples: 9, NoLogprobs: 10, ModelTime: time.Second, QueueTime: 2 * time.Second, ProposeTime: 3 * time.Second}
	mc := benchmarks.ModelCost(c)
	a, _ := json.Marshal(c)
	b, _ := json.Marshal(mc)
	if string(a) != string(b) {
		t.Errorf("model.Cost %s\nModelCost  %s", a, b)
	}
	if ex, _ := benchmarks.ExampleOf(benchmarks.Pair{Prompt: "s" + model.LlemmaSuffix, Tactic: "lia."}); ex.Completion != "\nlia.\n---" {
		t.Errorf("completion after a Llemma prompt %q", ex.Completion)
	}
}

// readJSONLines decodes every line of path into a map.
func readJSONLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, m)
	}
	return out
}

// Two shards and a second system share one --trace DIR, one shard is
// resumed after its backend crashed: every run writes its own directory,
// the resumed session appends, merge joins the shards, and report --trace
// draws each system's own trees and exports the reported proofs' steps
// (with the LLM's prompts) for fine-tuning.
func TestTracesAcrossShardsAndSystems(t *testing.T) {
	data := coqData(t)
	dir := t.TempDir()
	traces := filepath.Join(dir, "traces")
	s0, s1, l0 := filepath.Join(dir, "s0.jsonl"), filepath.Join(dir, "s1.jsonl"), filepath.Join(dir, "llm.jsonl")

	reset := useFakeBackend(&fakeBackend{crash: true})
	// One theorem at a time: runCLI's stderr is a bytes.Buffer, and the
	// runner's error log and progress line would write it from two
	// goroutines at once.
	_, stderr, code := runCLI(t, fakeArgs(data, s0, "--shard", "0/2", "--trace", traces, "--breaker", "0", "--concurrency", "1")...)
	reset()
	if code != 3 {
		t.Fatalf("crashing shard: exit %d, want 3\n%s", code, stderr)
	}
	t.Cleanup(useFakeBackend(&fakeBackend{}))
	for _, c := range [][]string{fakeArgs(data, s0, "--shard", "0/2", "--trace", traces, "--resume"), fakeArgs(data, s1, "--shard", "1/2", "--trace", traces)} {
		if _, stderr, code := runCLI(t, c...); code != 0 {
			t.Fatalf("%v: exit %d\n%s", c, code, stderr)
		}
	}
	srv, _ := fakeVLLM(t, func(string) []string {
		return []string{"auto.", "lia.", "easy.", "trivial.", "ring.", "tauto.", "intros.", "simpl.", "omega.", "nia."}
	})
	llmArgs := append(fakeArgs(data, l0, "--shard", "0/2", "--trace", traces), "--proposer", "llm", "--model-url", srv.URL, "--model", "fake", "--samples", "10")
	if _, stderr, code := runCLI(t, llmArgs...); code != 0 {
		t.Fatalf("llm run: exit %d\n%s", code, stderr)
	}

	// One directory per run, under one per system.
	runs, _ := filepath.Glob(filepath.Join(traces, "*", "*", "run.json"))
	systems, _ := filepath.Glob(filepath.Join(traces, "*"))
	if len(runs) != 3 || len(systems) != 2 {
		t.Fatalf("run dirs %v, system dirs %v; want 3 runs of 2 systems", runs, systems)
	}
	meta0, err := benchmarks.ReadMeta(s0)
	if err != nil || len(meta0.Sessions) != 2 {
		t.Fatalf("s0 meta %+v, %v", meta0, err)
	}
	pairFiles, _ := filepath.Glob(filepath.Join(traces, "*", meta0.RunID, "pairs.*.jsonl"))
	if len(pairFiles) != 2 {
		t.Errorf("s0's run has pairs files %v, want one per session", pairFiles)
	}
	if _, err := os.Stat(filepath.Join(traces, "pairs.jsonl")); !os.IsNotExist(err) {
		t.Errorf("a shared DIR/pairs.jsonl was written: %v", err)
	}

	merged := filepath.Join(dir, "merged.jsonl")
	if out, stderr, code := runCLI(t, "merge", merged, s0, s1); code != 0 || !strings.Contains(out, "0 conflicts, 0 missing") {
		t.Fatalf("merge: exit %d\n%s%s", code, out, stderr)
	}
	html, export, lj := filepath.Join(dir, "r.html"), filepath.Join(dir, "pairs.jsonl"), filepath.Join(dir, "llemma.json")
	out, stderr, code := runCLI(t, "report", merged, l0, "--trace", traces, "--html", html, "--export-pairs", export, "--json")
	if code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	var rep benchmarks.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Systems) != 2 || rep.Systems[0].System != "coq/llm:fake" || rep.Systems[1].System != "coq/portfolio" ||
		rep.Systems[0].Config == nil || rep.Systems[1].Config == nil || len(rep.Systems[1].Config.RunIDs) != 3 {
		t.Fatalf("systems %+v", rep.Systems)
	}

	// The LLM's lines carry what its proposals cost; the portfolio's none.
	if m := rep.Systems[0].Cost.Model; m == nil || m.Requests == 0 || m.Proposals == 0 || m.ProposeS <= 0 || rep.Systems[1].Cost.Model != nil {
		t.Errorf("model cost: llm %+v, portfolio %+v", rep.Systems[0].Cost.Model, rep.Systems[1].Cost.Model)
	}

	// Each proved cell's tree is its own system's: the trees the HTML draws
	// agree with the results, so count the proofs marked on them.
	proofs, steps, llmSteps := 0, 0, 0
	results := append(lines(t, merged), lines(t, l0)...)
	for _, r := range results {
		if r.Status == "proved" {
			proofs++
			steps += len(r.Proof)
			if strings.HasPrefix(r.Proposer, "llm") {
				llmSteps += len(r.Proof)
			}
		}
	}
	if proofs == 0 || llmSteps == 0 {
		t.Fatalf("the fake proved nothing (%d proofs, %d by the LLM): the test needs proofs", proofs, llmSteps)
	}
	page, _ := os.ReadFile(html)
	if n := strings.Count(string(page), `class="search-tree"`); n != len(results) {
		t.Errorf("%d trees drawn, want one per cell (%d)", n, len(results))
	}
	chromeDOM(t, html, `id="summary"`, `id="systems"`, `class="search-tree"`, `class="node onproof" open`)

	// The export: one example per proof step (deduplicated), the LLM's with
	// the prompt it was sent.
	exs := readJSONLines(t, export)
	recorded := 0
	for _, ex := range exs {
		p, c := ex["prompt"].(string), ex["completion"].(string)
		if strings.HasSuffix(p, model.LlemmaSuffix) {
			recorded++
			if !strings.HasPrefix(c, "\n") || !strings.HasSuffix(c, "\n---") {
				t.Errorf("completion %q after a Llemma prompt", c)
			}
		} else if !strings.HasPrefix(p, "[GOAL]\n") {
			t.Errorf("prompt %q: neither recorded nor [GOAL]", p)
		}
	}
	if len(exs) == 0 || len(exs) > steps || recorded == 0 || recorded > llmSteps {
		t.Errorf("%d examples (%d with a recorded prompt) for %d proof steps (%d by the LLM)", len(exs), recorded, steps, llmSteps)
	}
	t.Logf("%d results, %d proofs (%d steps, %d by the LLM), %d examples (%d with a recorded prompt)", len(results), proofs, steps, llmSteps, len(exs), recorded)
	if !strings.Contains(stderr, "export: ") {
		t.Errorf("no export line on stderr: %s", stderr)
	}

	// --llemma-json: the LLM system alone, with its real temperature.
	if _, stderr, code := runCLI(t, "report", l0, "--trace", traces, "--llemma-json", lj); code != 0 {
		t.Fatalf("report --llemma-json: exit %d\n%s", code, stderr)
	}
	var lf struct {
		Args map[string]any `json:"args"`
	}
	b, _ := os.ReadFile(lj)
	if json.Unmarshal(b, &lf); !reflect.DeepEqual(lf.Args["temperatures"], []any{1.0}) || lf.Args["model_name"] != "fake" {
		t.Errorf("llemma args %v", lf.Args)
	}
	if _, _, code := runCLI(t, "report", l0, "--export-pairs", export); code != 2 {
		t.Errorf("--export-pairs without --trace: exit %d, want 2", code)
	}
}

// merge exits 1 and writes nothing when the inputs conflict, unless
// --allow-conflicts.
func TestMergeConflictsExit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name string, verdict map[string]string, rs ...benchmarks.Result) string {
		p := filepath.Join(dir, name)
		if err := writeResults(p, rs); err != nil {
			t.Fatal(err)
		}
		if err := benchmarks.WriteMeta(p, &benchmarks.Meta{Kind: "llemma-prove run", RunID: name, Verdict: verdict,
			Sessions: []benchmarks.Session{{Split: "test", Attempts: 1, Theorems: []string{rs[0].Name}}}}); err != nil {
			t.Fatal(err)
		}
		return p
	}
	r := func(name, status string) benchmarks.Result {
		return benchmarks.Result{Name: name, Split: "test", Backend: "coq", Proposer: "portfolio", Status: status}
	}
	a := write("a.jsonl", map[string]string{"tactic-timeout": "3s"}, r("x", "proved"))
	b := write("b.jsonl", map[string]string{"tactic-timeout": "10s"}, r("y", "failed"))
	out := filepath.Join(dir, "m.jsonl")
	_, stderr, code := runCLI(t, "merge", out, a, b)
	if code != 1 || !strings.Contains(stderr, "conflict: config") || !strings.Contains(stderr, "--allow-conflicts") {
		t.Errorf("conflicting merge: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("OUT written despite conflicts: %v", err)
	}
	if stdout, stderr, code := runCLI(t, "merge", out, a, b, "--allow-conflicts"); code != 0 || !strings.Contains(stdout, "1 conflicts, 0 missing") {
		t.Errorf("--allow-conflicts: exit %d\n%s%s", code, stdout, stderr)
	}
}
