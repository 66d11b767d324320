package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// dataScript copies scripts/data.sh and its shim into a fresh workspace
// (no ../shared beside it) and returns the workspace and a runner.
func dataScript(t *testing.T) (dir string, run func(env ...string) (string, error)) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "ws", "repo")
	os.MkdirAll(filepath.Join(dir, "scripts"), 0o755)
	for _, f := range []string{"data.sh", "coquelicot-shim.v"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "scripts", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "scripts", f), b, 0o755)
	}
	return dir, func(env ...string) (string, error) {
		cmd := exec.Command("bash", filepath.Join(dir, "scripts", "data.sh"))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
}

// make data without git says so and leaves no directory behind.
func TestDataWithoutGit(t *testing.T) {
	t.Parallel()
	dir, run := dataScript(t)
	bin := t.TempDir()
	for _, tool := range []string{"bash", "dirname", "mktemp", "sed", "cp", "find", "mv", "ln", "tail", "grep", "head", "rm", "rmdir", "mkdir", "cat"} {
		if p, err := exec.LookPath(tool); err == nil {
			os.Symlink(p, filepath.Join(bin, tool))
		}
	}
	out, err := run("PATH=" + bin)
	if err == nil || !strings.Contains(out, "git is needed") {
		t.Fatalf("no git: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("data/ left behind: %v", err)
	}
}

// A clone that fails (no network) says what to do and leaves nothing.
func TestDataCloneFails(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("skipping: git not installed")
	}
	dir, run := dataScript(t)
	out, err := run("MINIF2F_ROCQ_URL=" + filepath.Join(t.TempDir(), "no-such-repo"))
	if err == nil || !strings.Contains(out, "cannot clone") || !strings.Contains(out, "no network?") {
		t.Fatalf("failed clone: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("data/ left behind: %v", err)
	}
}

// A clone gets the workspace copy's patches: the Coquelicot 3.2 shim after
// Coquelicot's Require (the files then equal the workspace's), From Coq,
// and Admitted.
func TestDataCloneIsPatched(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("skipping: git not installed")
	}
	shared := filepath.Join("..", "..", "..", "shared", "data", "minif2f", "coq")
	if _, err := os.Stat(shared); err != nil {
		t.Skipf("skipping: %s absent", shared)
	}
	shim, _ := os.ReadFile(filepath.Join("..", "..", "scripts", "coquelicot-shim.v"))
	// An upstream-like repository: the workspace's files without the shim,
	// two of them with the Rocq 9 stdlib name and no Admitted.
	up := t.TempDir()
	want := map[string]string{}
	for _, split := range []string{"test", "valid"} {
		os.MkdirAll(filepath.Join(up, "theories", split), 0o755)
		files, _ := filepath.Glob(filepath.Join(shared, split, "*.v"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			rel := filepath.Join(split, filepath.Base(f))
			want[rel] = string(b)
			src := strings.Replace(string(b), string(shim), "", 1)
			os.WriteFile(filepath.Join(up, "theories", rel), []byte(src), 0o644)
		}
	}
	raw := "From Stdlib Require Import Reals.\nTheorem raw_one : 1 = 1.\nProof."
	os.WriteFile(filepath.Join(up, "theories", "test", "raw_one.v"), []byte(raw), 0o644)
	want[filepath.Join("test", "raw_one.v")] = "From Coq Require Import Reals.\nTheorem raw_one : 1 = 1.\nProof.\nAdmitted.\n"
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", up, "-c", "user.email=t@t", "-c", "user.name=t"}, args...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, b)
		}
	}
	git("init", "-q")
	git("add", ".")
	git("commit", "-q", "-m", "fixture")
	dir, run := dataScript(t)
	out, err := run("MINIF2F_ROCQ_URL="+up, "MINIF2F_ROCQ_REV=HEAD")
	if err != nil {
		t.Fatalf("make data: %v\n%s", err, out)
	}
	if !strings.Contains(out, "files got the Coquelicot 3.2 shim") || strings.Contains(out, " 0 files got") {
		t.Errorf("output: %s", out)
	}
	shimmed := 0
	for rel, w := range want {
		b, err := os.ReadFile(filepath.Join(dir, "data", "minif2f", "coq", rel))
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			continue
		}
		if string(b) != w {
			t.Errorf("%s differs from the workspace copy:\n%s", rel, b)
		}
		if strings.Contains(w, string(shim)) {
			shimmed++
		}
	}
	if shimmed < 30 {
		t.Errorf("only %d files carry the shim", shimmed)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "data", ".minif2f*")); len(entries) > 0 {
		t.Errorf("staging left behind: %v", entries)
	}
}
