package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/benchmarks"
)

// shared is the read-only workspace material beside the project.
var shared = filepath.Join("..", "..", "..", "shared")

func coqData(t *testing.T) string {
	t.Helper()
	d := filepath.Join(shared, "data", "minif2f", "coq")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("skipping: %s absent (../shared beside the project)", d)
	}
	return d
}

func needCoq(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: runs the real Coq (-short)")
	}
	for _, tool := range []string{"coqtop", "coqc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not installed (make test installs it)", tool)
		}
	}
}

func runCLI(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var o, e bytes.Buffer
	ctx := context.Background()
	err := run(ctx, args, &o, &e)
	code = exitCode(ctx, err, &e)
	return o.String(), e.String(), code
}

// Bad input gets one clear line naming the flag or file, exit 2 for usage
// errors, and nothing half-written.
func TestBadInput(t *testing.T) {
	data := coqData(t)
	tmp := t.TempDir()
	malformed := filepath.Join(tmp, "bad")
	os.MkdirAll(filepath.Join(malformed, "test"), 0o755)
	os.WriteFile(filepath.Join(malformed, "test", "broken.v"), []byte("Theorem broken : 1 = 1.\n(* unterminated"), 0o644)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing data", []string{"minif2f", "--backend", "coq", "--data", filepath.Join(tmp, "nope")}, 1, "data directory"},
		{"unknown split", []string{"minif2f", "--backend", "coq", "--data", data, "--split", "train"}, 2, "--split"},
		{"unknown backend", []string{"minif2f", "--backend", "hol4", "--data", data}, 2, "--backend"},
		{"unknown proposer", []string{"minif2f", "--backend", "coq", "--proposer", "oracle", "--data", data, "--only", "mathd_algebra_141"}, 2, "--proposer"},
		{"malformed file", []string{"minif2f", "--backend", "coq", "--data", malformed}, 1, "broken.v"},
		{"no such theorem", []string{"minif2f", "--backend", "coq", "--data", data, "--only", "mathd_algebra_99999"}, 2, "mathd_algebra_99999"},
		{"unwritable out", []string{"minif2f", "--backend", "coq", "--data", data, "--only", "mathd_algebra_141", "--out", "/proc/nope/out.jsonl"}, 1, "--out"},
		{"bad duration", []string{"minif2f", "--backend", "coq", "--data", data, "--theorem-timeout", "soon"}, 2, "--theorem-timeout"},
		{"unknown command", []string{"prove-everything"}, 2, "unknown command"},
		{"unknown flag", []string{"minif2f", "--frobnicate"}, 2, "frobnicate"},
		{"check missing file", []string{"check", filepath.Join(tmp, "none.v")}, 2, "none.v"},
		{"missing config", []string{"doctor", "--config", filepath.Join(tmp, "none.yaml")}, 2, "--config"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, stderr, code := runCLI(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, c.code, stderr)
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if !strings.Contains(lines[0], c.want) {
				t.Errorf("first stderr line %q does not mention %q", lines[0], c.want)
			}
		})
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 1 { // only "bad"
		t.Errorf("bad input left files behind: %v", entries)
	}
}

func TestMissingCoqtop(t *testing.T) {
	data := coqData(t)
	_, stderr, code := runCLI(t, "minif2f", "--backend", "coq", "--coq.coqtop", "/nonexistent/coqtop", "--data", data, "--only", "mathd_algebra_141")
	if code != 1 || !strings.Contains(stderr, "apt-get install") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q; want one line with the install command", code, stderr)
	}
}

func TestHelp(t *testing.T) {
	out, _, code := runCLI(t, "minif2f", "-h")
	if code != 0 || !strings.Contains(out, "--theorem-timeout") {
		t.Fatalf("minif2f -h: exit %d\n%s", code, out)
	}
	out, _, code = runCLI(t, "help")
	if code != 0 || !strings.Contains(out, "minif2f") || !strings.Contains(out, "check") {
		t.Fatalf("help: exit %d\n%s", code, out)
	}
}

// The vertical slice end to end on the real Coq: proved lines carry a file
// that plain coqc compiles, and `check --statement-of` accepts it.
func TestMiniF2FEndToEnd(t *testing.T) {
	needCoq(t)
	data := coqData(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	names := "mathd_algebra_141,mathd_algebra_24"
	_, stderr, code := runCLI(t, "minif2f", "--backend", "coq", "--proposer", "portfolio", "--data", data,
		"--only", names, "--out", out, "--workers", "1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var results []benchmarks.Result
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r benchmarks.Result
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("bad line %q: %v", sc.Text(), err)
		}
		results = append(results, r)
	}
	if len(results) != 2 {
		t.Fatalf("%d result lines, want 2", len(results))
	}
	proved := 0
	for _, r := range results {
		if r.Status != "proved" {
			continue
		}
		proved++
		dir := t.TempDir()
		file := filepath.Join(dir, r.Name+".v")
		os.WriteFile(file, []byte(r.FileText), 0o644)
		cmd := exec.Command("coqc", "-q", file)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: plain coqc rejects the verified file: %v\n%s", r.Name, err, b)
		}
		stdout, stderr, code := runCLI(t, "check", file, "--statement-of", r.Name, "--data", data)
		if code != 0 || !strings.HasPrefix(stdout, "verified "+r.Name) {
			t.Errorf("check %s: exit %d\n%s%s", r.Name, code, stdout, stderr)
		}
	}
	if proved == 0 {
		t.Fatalf("the portfolio proved neither of %s: %+v", names, results)
	}
}
