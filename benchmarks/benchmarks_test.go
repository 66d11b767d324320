package benchmarks

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/prover"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "report", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test ./benchmarks -update` to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (rerun with -update if intended)\n--- got:\n%s", name, got)
	}
}

func names(n int) []prover.Theorem {
	var out []prover.Theorem
	for i := range n {
		out = append(out, prover.Theorem{Name: fmt.Sprintf("%s_%d", Categories[i%len(Categories)], i)})
	}
	return out
}

func TestShardsPartition(t *testing.T) {
	t.Parallel()
	thms := names(244)
	for _, n := range []int{1, 2, 3, 4, 7, 16} {
		seen := map[string]int{}
		for i := range n {
			for _, th := range (Shard{Index: i, Count: n}).Filter(thms) {
				seen[th.Name]++
			}
		}
		if len(seen) != len(thms) {
			t.Errorf("N=%d: shards cover %d of %d theorems", n, len(seen), len(thms))
		}
		for name, c := range seen {
			if c != 1 {
				t.Errorf("N=%d: %s is in %d shards", n, name, c)
			}
		}
	}
}

func TestParseShard(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want Shard
		ok   bool
	}{{"0/4", Shard{0, 4}, true}, {"3/4", Shard{3, 4}, true}, {"4/4", Shard{}, false}, {"-1/2", Shard{}, false}, {"1", Shard{}, false}, {"a/b", Shard{}, false}, {"0/0", Shard{}, false}} {
		got, err := ParseShard(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, ok=%v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestDetectShard(t *testing.T) {
	t.Parallel()
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		name   string
		flag   string
		shards int
		env    func(string) string
		want   Shard
		src    string // substring of the source; "" for none
		err    bool
	}{
		{"none", "", 0, env(), Shard{}, "", false},
		{"flag", "1/3", 0, env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "4"), Shard{1, 3}, "--shard", false},
		{"slurm count", "", 0, env("SLURM_ARRAY_TASK_ID", "2", "SLURM_ARRAY_TASK_COUNT", "4"), Shard{2, 4}, "SLURM_ARRAY_TASK_COUNT", false},
		{"slurm min max", "", 0, env("SLURM_ARRAY_TASK_ID", "5", "SLURM_ARRAY_TASK_MIN", "3", "SLURM_ARRAY_TASK_MAX", "6"), Shard{2, 4}, "MIN/MAX", false},
		{"slurm shards flag", "", 8, env("SLURM_ARRAY_TASK_ID", "7", "SLURM_ARRAY_TASK_COUNT", "4"), Shard{7, 8}, "--shards", false},
		{"slurm out of range", "", 0, env("SLURM_ARRAY_TASK_ID", "4", "SLURM_ARRAY_TASK_COUNT", "4"), Shard{}, "", true},
		{"slurm no count", "", 0, env("SLURM_ARRAY_TASK_ID", "1"), Shard{}, "", true},
		{"k8s", "", 5, env("JOB_COMPLETION_INDEX", "4"), Shard{4, 5}, "JOB_COMPLETION_INDEX=4", false},
		{"k8s without shards", "", 0, env("JOB_COMPLETION_INDEX", "0"), Shard{}, "", true},
		{"k8s out of range", "", 2, env("JOB_COMPLETION_INDEX", "2"), Shard{}, "", true},
		{"shards alone", "", 4, env(), Shard{}, "", true},
		{"flag vs shards", "1/3", 4, env(), Shard{}, "", true},
		{"garbage", "", 0, env("SLURM_ARRAY_TASK_ID", "x"), Shard{}, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, src, err := DetectShard(c.flag, c.shards, c.env)
			if (err != nil) != c.err || got != c.want || !strings.Contains(src, c.src) {
				t.Errorf("DetectShard = %v, %q, %v; want %v, %q, err=%v", got, src, err, c.want, c.src, c.err)
			}
		})
	}
}

func TestWilson(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		k, n   int
		lo, hi float64
	}{{0, 0, 0, 0}, {50, 100, 0.4038, 0.5962}, {0, 10, 0, 0.2775}, {10, 10, 0.7225, 1}, {2, 3, 0.2077, 0.9385}} {
		lo, hi := Wilson(c.k, c.n)
		if math.Abs(lo-c.lo) > 1e-4 || math.Abs(hi-c.hi) > 1e-4 {
			t.Errorf("Wilson(%d, %d) = %.4f, %.4f; want %.4f, %.4f", c.k, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

func TestPassK(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		n, c, k int
		want    float64
	}{{1, 1, 1, 1}, {1, 0, 1, 0}, {2, 1, 1, 0.5}, {2, 1, 2, 1}, {4, 1, 2, 0.5}, {10, 0, 5, 0}} {
		if got := PassK(c.n, c.c, c.k); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("PassK(%d, %d, %d) = %v, want %v", c.n, c.c, c.k, got, c.want)
		}
	}
}

func TestTornTail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "r.jsonl")
	line := `{"name":"a","split":"test","backend":"coq","status":"proved"}` + "\n"
	os.WriteFile(path, []byte(line+line[:20]), 0o644)
	rs, info, err := ReadResults(path)
	if err != nil || len(rs) != 1 || info.TornBytes != 20 {
		t.Fatalf("ReadResults = %d results, %+v, %v; want 1 and a 20-byte torn tail", len(rs), info, err)
	}
	n, err := RepairTail(path)
	if err != nil || n != 20 {
		t.Fatalf("RepairTail = %d, %v; want 20", n, err)
	}
	if b, _ := os.ReadFile(path); string(b) != line {
		t.Fatalf("after RepairTail: %q", b)
	}
	if n, err := RepairTail(path); n != 0 || err != nil {
		t.Fatalf("RepairTail on a clean file = %d, %v", n, err)
	}
	os.WriteFile(path, []byte(line+"{oops\n"), 0o644)
	if _, _, err := ReadResults(path); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Fatalf("a bad complete line: err %v, want one naming line 2", err)
	}
}

func res(name, status string, attempt int) Result {
	return Result{Name: name, Split: "test", Backend: "coq", Proposer: "portfolio", Status: status, Attempt: attempt, Statement: "S " + name}
}

func TestMerge(t *testing.T) {
	t.Parallel()
	a := []Result{res("a", "proved", 0), res("b", "interrupted", 0), res("c", "failed", 0)}
	b := []Result{res("b", "failed", 0), res("c", "proved", 0), res("a", "proved", 0)}
	b[2].Proof = []string{"other."} // a different proof is fine
	d := res("d", "proved", 0)
	d.Statement = "S changed"
	c := []Result{res("d", "failed", 0), d}
	meta := &Meta{RunID: "r1", Sessions: []Session{{Split: "test", Theorems: []string{"a", "b", "c", "d", "e"}}}}
	m := Merge([]MergeInput{{Path: "a", Results: a, Meta: meta}, {Path: "b", Results: b}, {Path: "c", Results: c}}, nil)
	got := map[string]string{}
	for _, r := range m.Results {
		got[r.Name] = r.Status
	}
	want := map[string]string{"a": "proved", "b": "failed", "c": "proved", "d": "proved"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("merged verdicts %v, want %v", got, want)
	}
	kinds := map[string]int{}
	for _, c := range m.Conflicts {
		kinds[c.Kind]++
	}
	if kinds["statement"] != 1 || kinds["verdict"] != 2 { // c: failed vs proved, d: failed vs proved
		t.Errorf("conflicts %v", m.Conflicts)
	}
	if fmt.Sprint(m.Missing) != "[test/e]" {
		t.Errorf("missing %v, want [test/e]", m.Missing)
	}
	if m.Duplicates != 4 {
		t.Errorf("duplicates %d, want 4", m.Duplicates)
	}
}

func readAll(t *testing.T, files ...string) []Result {
	t.Helper()
	var all []Result
	for _, f := range files {
		rs, _, err := ReadResults(filepath.Join("testdata", "report", f))
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rs...)
	}
	return all
}

// The report's every format is checked against goldens; rewrite them with
// `go test ./benchmarks -update`.
func TestReportGolden(t *testing.T) {
	all := readAll(t, "coq.jsonl", "lean.jsonl")
	rep, err := BuildReport([]string{"coq.jsonl", "lean.jsonl"}, all, filepath.Join("testdata", "report", "trace"))
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
	for _, want := range []string{`id="summary"`, `id="plot-wall"`, `id="plot-expansions"`, `class="node onproof" open`, "Cannot find witness", "<polyline"} {
		if !strings.Contains(html.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(html.String(), "http://") && strings.Count(html.String(), "http://") != strings.Count(html.String(), "http://www.w3.org/2000/svg") {
		t.Errorf("HTML refers to external assets")
	}
}

func TestLlemmaExport(t *testing.T) {
	all := readAll(t, "coq.jsonl")
	var b bytes.Buffer
	if err := WriteLlemmaJSON(&b, all, filepath.Join("testdata", "report", "trace")); err != nil {
		t.Fatal(err)
	}
	golden(t, "llemma.json", b.Bytes())
	var f struct {
		Results []struct {
			AttemptResults []map[string]any `json:"attempt_results"`
			Success        bool             `json:"success"`
			Example        map[string]any   `json:"example"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b.Bytes(), &f); err != nil {
		t.Fatal(err)
	}
	solved := 0
	for _, r := range f.Results {
		if r.Success {
			solved++
		}
		if len(r.AttemptResults) == 0 || r.Example["full_name"] == nil {
			t.Errorf("entry without attempts or example: %+v", r)
		}
	}
	if len(f.Results) != 4 || solved != 2 {
		t.Errorf("%d entries, %d solved; want 4, 2", len(f.Results), solved)
	}
	if err := WriteLlemmaJSON(&b, readAll(t, "coq.jsonl", "lean.jsonl"), ""); err == nil {
		t.Error("two systems exported into one Llemma file")
	}
}

func TestProofPairs(t *testing.T) {
	t.Parallel()
	tf, err := ReadTrace(filepath.Join("testdata", "report", "trace"), Key{Name: "mathd_algebra_1", Split: "test", Backend: "coq"})
	if err != nil || tf == nil {
		t.Fatalf("ReadTrace: %v, %v", tf, err)
	}
	ps := ProofPairs(tf.Trace, tf.Proof)
	if len(ps) != 2 || ps[0].Tactic != "intros x h." || !strings.Contains(ps[1].State, "h : x = 2") {
		t.Fatalf("pairs %+v", ps)
	}
}
