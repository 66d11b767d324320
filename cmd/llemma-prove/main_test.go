package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/config"
	"github.com/llemma-prove/llemma-prove/prover"
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

// Bad input gets one clear line naming the flag, variable or file the
// value came from, exit 2 for usage, configuration and data errors, and
// nothing half-written.
func TestBadInput(t *testing.T) {
	data := coqData(t)
	tmp := t.TempDir()
	malformed := filepath.Join(tmp, "bad")
	os.MkdirAll(filepath.Join(malformed, "test"), 0o755)
	os.WriteFile(filepath.Join(malformed, "test", "broken.v"), []byte("Theorem broken : 1 = 1.\n(* unterminated"), 0o644)
	cfgDir := filepath.Join(tmp, "cfg")
	os.MkdirAll(cfgDir, 0o755)
	typo := filepath.Join(cfgDir, "typo.yaml")
	os.WriteFile(typo, []byte("coq:\n  memory_limit: 8GiB\n"), 0o644)
	badValue := filepath.Join(cfgDir, "bad.yaml")
	os.WriteFile(badValue, []byte("theorem-timeout: soon\n"), 0o644)
	self := filepath.Join(cfgDir, "self.yaml")
	os.WriteFile(self, []byte("config: other.yaml\n"), 0o644)
	cases := []struct {
		name string
		args []string
		env  []string // KEY=VALUE
		code int
		want string
	}{
		{"missing data", []string{"minif2f", "--backend", "coq", "--data", filepath.Join(tmp, "nope")}, nil, 2, "data directory"},
		{"unknown split", []string{"minif2f", "--backend", "coq", "--data", data, "--split", "train"}, nil, 2, "--split"},
		{"unknown backend", []string{"minif2f", "--backend", "hol4", "--data", data}, nil, 2, "--backend"},
		{"unknown proposer", []string{"minif2f", "--backend", "coq", "--proposer", "oracle", "--data", data, "--only", "mathd_algebra_141"}, nil, 2, "--proposer"},
		{"malformed file", []string{"minif2f", "--backend", "coq", "--data", malformed}, nil, 2, "broken.v"},
		{"no such theorem", []string{"minif2f", "--backend", "coq", "--data", data, "--only", "mathd_algebra_99999"}, nil, 2, "mathd_algebra_99999"},
		{"unwritable out", []string{"minif2f", "--backend", "coq", "--data", data, "--only", "mathd_algebra_141", "--out", "/proc/nope/out.jsonl"}, nil, 2, "--out"},
		{"bad duration", []string{"minif2f", "--backend", "coq", "--data", data, "--theorem-timeout", "soon"}, nil, 2, `--theorem-timeout "soon": give a duration`},
		{"bad duration from env", []string{"minif2f", "--backend", "coq", "--data", data}, []string{"LLEMMA_THEOREM_TIMEOUT=soon"}, 2, `LLEMMA_THEOREM_TIMEOUT "soon"`},
		{"bad duration from file", []string{"minif2f", "--config", badValue, "--data", data}, nil, 2, badValue + ` (key theorem-timeout) "soon"`},
		{"bad size from env", []string{"doctor"}, []string{"LLEMMA_COQ_MEMORY_LIMIT=lots"}, 2, `LLEMMA_COQ_MEMORY_LIMIT "lots": give a size`},
		{"unknown variable", []string{"doctor"}, []string{"LLEMMA_THEOREM_TIMOUT=30s"}, 2, "LLEMMA_THEOREM_TIMOUT is not a configuration variable (did you mean LLEMMA_THEOREM_TIMEOUT?)"},
		{"unknown file key", []string{"doctor", "--config", typo}, nil, 2, "unknown key coq.memory_limit (did you mean coq.memory-limit?)"},
		{"config in a config", []string{"doctor", "--config", self}, nil, 2, "cannot be set in a configuration file"},
		{"command flag before the command", []string{"--backend", "coq", "minif2f"}, nil, 2, "--backend before the command"},
		{"unknown command", []string{"prove-everything"}, nil, 2, "unknown command"},
		{"misspelt command", []string{"minif2ff"}, nil, 2, "did you mean minif2f"},
		{"unknown flag", []string{"minif2f", "--frobnicate"}, nil, 2, "frobnicate"},
		{"check missing file", []string{"check", filepath.Join(tmp, "none.v")}, nil, 2, "none.v"},
		{"missing config", []string{"doctor", "--config", filepath.Join(tmp, "none.yaml")}, nil, 2, "--config"},
		{"missing config from env", []string{"doctor"}, []string{"LLEMMA_CONFIG=" + filepath.Join(tmp, "none.yaml")}, 2, "LLEMMA_CONFIG"},
		{"resume without out", []string{"minif2f", "--backend", "coq", "--data", data, "--resume"}, nil, 2, "--resume needs --out"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, kv := range c.env {
				k, v, _ := strings.Cut(kv, "=")
				t.Setenv(k, v)
			}
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
	if entries, _ := os.ReadDir(tmp); len(entries) != 2 { // only "bad" and "cfg"
		t.Errorf("bad input left files behind: %v", entries)
	}
}

// Global flags work before the command; a config file and the environment
// set keys, and `config` shows where each value came from, secrets
// redacted.
func TestConfigSources(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "run.yaml")
	os.WriteFile(file, []byte("theorem-timeout: 45s\ncoq:\n  memory-limit: 6GiB\nmodel:\n  url: [http://u:pw@gpu:8000]\n"), 0o644)
	t.Setenv("LLEMMA_ISABELLE_PASSWORD", "hunter2")
	t.Setenv("LLEMMA_TACTIC_TIMEOUT", "4s")
	stdout, stderr, code := runCLI(t, "--log-level", "debug", "--config="+file, "config", "--json", "--workers", "3", "--coq.memory-limit", "5GiB")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	var entries []struct{ Key, Value, Source, Env string }
	if err := json.Unmarshal([]byte(stdout), &entries); err != nil {
		t.Fatalf("config --json: %v\n%s", err, stdout)
	}
	got := map[string]string{}
	for _, e := range entries {
		got[e.Key] = e.Value + " from " + e.Source
	}
	for key, want := range map[string]string{
		"theorem-timeout":   "45s from " + file + " (key theorem-timeout)",
		"tactic-timeout":    "4s from LLEMMA_TACTIC_TIMEOUT",
		"workers":           "3 from --workers",
		"coq.memory-limit":  "5GiB from --coq.memory-limit", // the flag wins over the file
		"log-level":         "debug from --log-level",
		"isabelle.password": "REDACTED from LLEMMA_ISABELLE_PASSWORD",
		"model.url":         "http://u:REDACTED@gpu:8000 from " + file + " (key model.url)",
		"expansions":        "0 from default",
	} {
		if got[key] != want {
			t.Errorf("%s: %q, want %q", key, got[key], want)
		}
	}
	if strings.Contains(stdout+stderr, "hunter2") || strings.Contains(stdout+stderr, "pw@") {
		t.Errorf("a secret was printed:\n%s%s", stdout, stderr)
	}
	// The text form prints every key too.
	if stdout, _, code := runCLI(t, "config"); code != 0 || !strings.Contains(stdout, "LLEMMA_THEOREM_TIMEOUT") {
		t.Errorf("config: exit %d\n%s", code, stdout)
	}
}

func TestMissingCoqtop(t *testing.T) {
	data := coqData(t)
	_, stderr, code := runCLI(t, "minif2f", "--backend", "coq", "--coq.coqtop", "/nonexistent/coqtop", "--data", data, "--only", "mathd_algebra_141")
	if code != 3 || !strings.Contains(stderr, "apt-get install") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q; want exit 3 and one line with the install command", code, stderr)
	}
}

// doctor exits 3 when the chosen backend is missing; check exits 3 (not 1)
// when its tool is not installed, and 1 when the proof is refused.
func TestDoctorAndCheckExits(t *testing.T) {
	stdout, stderr, code := runCLI(t, "doctor", "--backend", "coq", "--coq.coqtop", "/nonexistent/coqtop")
	if code != 3 || !strings.Contains(stderr, "the chosen backend coq is not usable") || !strings.Contains(stdout, "MISSING") {
		t.Errorf("doctor with coq missing: exit %d\n%s%s", code, stdout, stderr)
	}
	f := filepath.Join(t.TempDir(), "t.v")
	os.WriteFile(f, []byte("Theorem t : True.\nProof.\nexact I.\nQed.\n"), 0o644)
	_, stderr, code = runCLI(t, "check", f, "--coq.coqc", "/nonexistent/coqc")
	if code != 3 || !strings.Contains(stderr, "could not run") {
		t.Errorf("check with coqc missing: exit %d\n%s", code, stderr)
	}
	needCoq(t)
	if stdout, stderr, code := runCLI(t, "doctor", "--backend", "coq"); code != 0 {
		t.Errorf("doctor with coq installed: exit %d\n%s%s", code, stdout, stderr)
	}
	os.WriteFile(f, []byte("Theorem t : False.\nProof.\nAdmitted.\n"), 0o644)
	if stdout, stderr, code := runCLI(t, "check", f); code != 1 || !strings.Contains(stdout, "NOT VERIFIED") {
		t.Errorf("check of an admitted proof: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestHelp(t *testing.T) {
	out, _, code := runCLI(t, "minif2f", "-h")
	if code != 0 {
		t.Fatalf("minif2f -h: exit %d\n%s", code, out)
	}
	for _, flag := range []string{"--theorem-timeout duration", "--coq.memory-limit size", "--lean.repl string", "--isabelle.session string", "--model-url strings", "--breaker int", "(default 4GiB)"} {
		if !strings.Contains(out, flag) {
			t.Errorf("minif2f -h lacks %q", flag)
		}
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

// Every key of the schema is a flag of some command, so that each has its
// one flag name.
func TestEveryKeyHasAFlag(t *testing.T) {
	taken := map[string]bool{}
	for _, c := range commands {
		fs := flagSet(c, io.Discard)
		fs.VisitAll(func(f *pflag.Flag) {
			if a := f.Annotations[keyAnnotation]; len(a) == 1 {
				taken[a[0]] = true
			}
		})
	}
	for _, k := range config.Keys() {
		if !taken[k.Name] {
			t.Errorf("key %s is no command's flag", k.Name)
		}
	}
}

// coqDriver is the registered Coq driver.
func coqDriver(t *testing.T) prover.Driver {
	t.Helper()
	d, err := prover.Lookup("coq")
	if err != nil {
		t.Fatal(err)
	}
	return d
}
