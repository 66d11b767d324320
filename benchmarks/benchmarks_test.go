package benchmarks

import (
	"bytes"
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
