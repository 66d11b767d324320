package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/internal/proctest"
	"github.com/llemma-prove/llemma-prove/prover"
)

// fakes are the programs the test binary plays when re-executed (see
// internal/proctest): a coqtop with injectable faults.
var fakes = map[string]func() int{"coqtop": proctest.Coqtop}

func TestMain(m *testing.M) {
	if os.Getenv("LLEMMA_TEST_CLI") != "" {
		runAsCLI()
	}
	proctest.Main(m, fakes)
}

// fakeNames are real miniF2F Coq theorems (only parsed: the fake proves).
var fakeNames = "mathd_algebra_141,mathd_algebra_478,mathd_numbertheory_299,mathd_numbertheory_5,mathd_algebra_107,mathd_algebra_359,amc12a_2020_p4,imo_1959_p1,aime_1983_p1,mathd_numbertheory_3"

// cli starts the test binary as the CLI; its stdout and stderr go to the
// returned watcher.
func cli(t *testing.T, env []string, args ...string) (*exec.Cmd, *watcher) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Env = append(append(os.Environ(), "LLEMMA_TEST_CLI=1"), env...)
	w := newWatcher()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, w
}

// watcher collects a process's output and lets a test wait for lines: the
// event a test synchronises on, instead of sleeping.
type watcher struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newWatcher() *watcher { return &watcher{changed: make(chan struct{}, 1)} }

func (w *watcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.buf.Write(p)
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *watcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// count is the number of complete lines containing s.
func (w *watcher) count(s string) int {
	text := w.String()
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	} else {
		text = ""
	}
	n := 0
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			n++
		}
	}
	return n
}

// waitFor waits until n complete lines contain s; false when the process
// printed nothing more for the whole of timeout.
func (w *watcher) waitFor(s string, n int, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for w.count(s) < n {
		select {
		case <-w.changed:
		case <-t.C:
			return w.count(s) >= n
		}
	}
	return true
}

func exitOf(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return -int(ws.Signal())
		}
		return ee.ExitCode()
	}
	return -1000
}

func fakeArgs(data, out string, extra ...string) []string {
	return append([]string{"minif2f", "--backend", "coq", "--proposer", "portfolio", "--data", data,
		"--only", fakeNames, "--out", out, "--theorem-timeout", "10m", "--expansions", "6", "--concurrency", "2", "--workers", "2"}, extra...)
}

// lines reads a results file strictly: every line whole and a result.
func lines(t *testing.T, path string) []benchmarks.Result {
	t.Helper()
	rs, info, err := benchmarks.ReadResults(path)
	if err != nil || info.TornBytes > 0 {
		t.Fatalf("%s: %v (torn %d bytes)", path, err, info.TornBytes)
	}
	return rs
}

func verdicts(t *testing.T, rs []benchmarks.Result) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, r := range rs {
		k := r.Key().String()
		if _, dup := m[k]; dup {
			t.Errorf("duplicate line for %s", k)
		}
		m[k] = r.Status + " " + strings.Join(r.Proof, " ")
	}
	return m
}

func sameVerdicts(t *testing.T, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d verdicts, want %d", len(got), len(want))
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %q, want %q", k, got[k], w)
		}
	}
}

// A run killed with SIGKILL at random points and resumed each time ends
// with exactly the verdicts of an uninterrupted run: no duplicate, no
// missing line.
func TestKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: many processes (-short)")
	}
	data := coqData(t)
	dir := t.TempDir()
	env := []string{"LLEMMA_TEST_FAKE_DELAY=2ms"}
	ref := filepath.Join(dir, "ref.jsonl")
	cmd, stderr := cli(t, env, fakeArgs(data, ref)...)
	start := time.Now()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("reference run: %v\n%s", err, stderr)
	}
	full := time.Since(start)
	want := verdicts(t, lines(t, ref))
	if len(want) != 10 {
		t.Fatalf("reference run: %d verdicts, want 10\n%s", len(want), stderr)
	}
	kinds := map[string]bool{}
	for _, v := range want {
		kinds[strings.Fields(v)[0]] = true
	}
	if !kinds["proved"] || !kinds["failed"] {
		t.Fatalf("the fake should prove some and fail some: %v", want)
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, an uninterrupted run takes %s", seed, full)
	rng := rand.New(rand.NewPCG(seed, 1))
	out := filepath.Join(dir, "killed.jsonl")
	kills := 0
	for i := 0; ; i++ {
		if i == 40 {
			t.Fatalf("not finished after 40 runs")
		}
		cmd, stderr := cli(t, env, fakeArgs(data, out, "--resume")...)
		wait := time.Duration(rng.Int64N(int64(full)))
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d: %v\n%s", i, err, stderr)
			}
		case <-time.After(wait):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
			continue
		}
		break
	}
	t.Logf("%d kills", kills)
	got := lines(t, out)
	for _, r := range got {
		if r.Status == string(prover.StatusInterrupted) {
			t.Errorf("SIGKILL left an interrupted line: %+v", r)
		}
	}
	sameVerdicts(t, verdicts(t, got), want)
	meta, err := benchmarks.ReadMeta(out)
	if err != nil || meta == nil || len(meta.Sessions) < 1 {
		t.Fatalf("meta %+v, %v", meta, err)
	}
}

// SIGINT stops the run: theorems in flight are recorded as interrupted
// (never failed), the exit is 130, and --resume finishes the run.
func TestInterruptFake(t *testing.T) {
	data := coqData(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	env := []string{"LLEMMA_TEST_FAKE_DELAY=100ms"}
	cmd, stderr := cli(t, env, fakeArgs(data, out, "--log-level", "debug")...)
	// Both theorems in flight are searching (the agent's debug events).
	if !stderr.waitFor("msg=\"searching ", 2, time.Minute) {
		t.Fatalf("no two searches under way\n%s", stderr)
	}
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if code := exitOf(err); code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, stderr)
	}
	rs := lines(t, out)
	interrupted := 0
	for _, r := range rs {
		if r.Status == string(prover.StatusInterrupted) {
			interrupted++
		}
	}
	if interrupted != 2 {
		t.Errorf("%d interrupted lines, want 2 (the theorems in flight): %+v\n%s", interrupted, rs, stderr)
	}
	if !strings.Contains(stderr.String(), "--resume") {
		t.Errorf("stderr does not say how to continue:\n%s", stderr)
	}
}

// Resuming refuses a different config (one line, exit 2) unless --force;
// an existing --out is not appended to without --resume.
func TestResumeConfig(t *testing.T) {
	data := coqData(t)
	t.Cleanup(useFakeBackend(&fakeBackend{}))
	out := filepath.Join(t.TempDir(), "r.jsonl")
	args := fakeArgs(data, out)
	if _, stderr, code := runCLI(t, args...); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	n := len(lines(t, out))
	_, stderr, code := runCLI(t, args...)
	if code != 2 || !strings.Contains(stderr, "--resume") {
		t.Errorf("rerun into an existing --out: exit %d\n%s", code, stderr)
	}
	_, stderr, code = runCLI(t, append(args, "--resume", "--expansions", "3")...)
	if code != 2 || !strings.Contains(strings.SplitN(stderr, "\n", 2)[0], `expansions "6" -> "3"`) {
		t.Errorf("resume with other budgets: exit %d\n%s", code, stderr)
	}
	stdout, stderr, code := runCLI(t, append(args, "--resume")...)
	if code != 0 || len(lines(t, out)) != n || !strings.Contains(stderr, "10 of 10 attempts already have a verdict") {
		t.Errorf("resume of a finished run: exit %d, %d lines (want %d)\n%s%s", code, len(lines(t, out)), n, stdout, stderr)
	}
	if _, stderr, code := runCLI(t, append(args, "--resume", "--expansions", "3", "--force")...); code != 0 {
		t.Errorf("--force: exit %d\n%s", code, stderr)
	}
	meta, _ := benchmarks.ReadMeta(out)
	if meta == nil || len(meta.Sessions) != 3 || !meta.Sessions[2].Forced {
		t.Errorf("meta sessions %+v", meta)
	}
}

// Shards are disjoint, cover the selection, are detected from Slurm and
// Kubernetes variables, and merge into the unsharded run.
func TestShardsMerge(t *testing.T) {
	data := coqData(t)
	t.Cleanup(useFakeBackend(&fakeBackend{}))
	dir := t.TempDir()
	full := filepath.Join(dir, "full.jsonl")
	if _, stderr, code := runCLI(t, fakeArgs(data, full)...); code != 0 {
		t.Fatalf("unsharded: exit %d\n%s", code, stderr)
	}
	want := verdicts(t, lines(t, full))
	for _, n := range []int{2, 3} {
		var shards []string
		seen := map[string]int{}
		for i := range n {
			out := filepath.Join(dir, fmt.Sprintf("s%d-%d.jsonl", n, i))
			shards = append(shards, out)
			var (
				stderr string
				code   int
			)
			switch i {
			case 0:
				_, stderr, code = runCLI(t, fakeArgs(data, out, "--shard", fmt.Sprintf("0/%d", n))...)
			case 1:
				t.Setenv("SLURM_ARRAY_TASK_ID", "1")
				t.Setenv("SLURM_ARRAY_TASK_COUNT", strconv.Itoa(n))
				_, stderr, code = runCLI(t, fakeArgs(data, out)...)
				os.Unsetenv("SLURM_ARRAY_TASK_ID")
				if !strings.Contains(stderr, fmt.Sprintf("shard 1/%d (Slurm array", n)) {
					t.Errorf("Slurm shard not announced:\n%s", stderr)
				}
			default:
				t.Setenv("JOB_COMPLETION_INDEX", strconv.Itoa(i))
				_, stderr, code = runCLI(t, fakeArgs(data, out, "--shards", strconv.Itoa(n))...)
				os.Unsetenv("JOB_COMPLETION_INDEX")
				if !strings.Contains(stderr, fmt.Sprintf("shard %d/%d (Kubernetes Indexed Job", i, n)) {
					t.Errorf("Kubernetes shard not announced:\n%s", stderr)
				}
			}
			if code != 0 {
				t.Fatalf("shard %d/%d: exit %d\n%s", i, n, code, stderr)
			}
			for _, r := range lines(t, out) {
				seen[r.Name]++
			}
		}
		if len(seen) != 10 {
			t.Errorf("N=%d: shards cover %d of 10", n, len(seen))
		}
		for name, c := range seen {
			if c != 1 {
				t.Errorf("N=%d: %s in %d shards", n, name, c)
			}
		}
		merged := filepath.Join(dir, fmt.Sprintf("merged%d.jsonl", n))
		stdout, stderr, code := runCLI(t, append([]string{"merge", merged}, shards...)...)
		if code != 0 || !strings.Contains(stdout, "0 conflicts, 0 missing") {
			t.Fatalf("merge: exit %d\n%s%s", code, stdout, stderr)
		}
		sameVerdicts(t, verdicts(t, lines(t, merged)), want)
	}
	// Missing theorems are named, relative to the headers or to --data.
	one := filepath.Join(dir, "s3-0.jsonl")
	stdout, stderr, code := runCLI(t, "merge", filepath.Join(dir, "partial.jsonl"), one, "--data", data, "--split", "test")
	if code != 0 || !strings.Contains(stderr, "missing") || strings.Contains(stdout, " 0 missing") {
		t.Errorf("merge of one shard against --data: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestReportCLI(t *testing.T) {
	t.Parallel()
	td := filepath.Join("..", "..", "benchmarks", "testdata", "report")
	dir := t.TempDir()
	html, md, lj := filepath.Join(dir, "r.html"), filepath.Join(dir, "r.md"), filepath.Join(dir, "l.json")
	stdout, stderr, code := runCLI(t, "report", filepath.Join(td, "coq.jsonl"), "--html", html, "--md", md, "--llemma-json", lj, "--trace", filepath.Join(td, "trace"))
	if code != 0 || !strings.HasPrefix(stdout, "coq/portfolio: solved 2/4") {
		t.Fatalf("report: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, f := range []string{html, md, lj} {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	_, stderr, code = runCLI(t, "report", filepath.Join(td, "coq.jsonl"), filepath.Join(td, "lean.jsonl"), "--llemma-json", lj)
	if code != 2 || !strings.Contains(stderr, "one system at a time") {
		t.Errorf("two systems into --llemma-json: exit %d\n%s", code, stderr)
	}
	if _, _, code := runCLI(t, "report", filepath.Join(dir, "none.jsonl")); code != 2 {
		t.Errorf("missing input: exit %d, want 2", code)
	}
}

// coqChildren lists the coqtop/coqc processes whose parent is pid.
func coqChildren(pid int) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		comm := s[strings.IndexByte(s, '(')+1 : i]
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) && strings.HasPrefix(comm, "coq") {
			out = append(out, p)
		}
	}
	return out
}

// alive reports the pids still running (zombies count as gone).
func alive(pids []int) []int {
	var out []int
	for _, p := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
		if err != nil {
			continue
		}
		s := string(b)
		if f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]); len(f) > 0 && f[0] == "Z" {
			continue
		}
		out = append(out, p)
	}
	return out
}

// On the real Coq, SIGINT records the searches in flight as interrupted
// and leaves no coqtop behind.
func TestInterruptRealCoq(t *testing.T) {
	needCoq(t)
	data := coqData(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	started := time.Now()
	cmd, stderr := cli(t, nil, "minif2f", "--backend", "coq", "--proposer", "portfolio", "--data", data,
		"--only", "imo_1959_p1,amc12a_2020_p4,aime_1983_p1", "--out", out, "--workers", "2", "--theorem-timeout", "120s", "--log-level", "debug")
	// Two searches under way, each on a coqtop of its own.
	if !stderr.waitFor("msg=\"searching ", 2, 90*time.Second) {
		t.Fatalf("no two searches under way within 90s\n%s", stderr)
	}
	kids := coqChildren(cmd.Process.Pid)
	if len(kids) == 0 {
		t.Fatalf("searching, but no coq process is a child of the CLI\n%s", stderr)
	}
	cmd.Process.Signal(os.Interrupt)
	sigAfter := time.Since(started)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if code := exitOf(err); code != 130 {
			t.Errorf("exit %d, want 130\n%s", code, stderr)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("still running 30s after SIGINT\n%s", stderr)
	}
	if left := alive(kids); len(left) > 0 {
		t.Errorf("coq processes %v outlived the run (of %v)", left, kids)
	}
	rs := lines(t, out)
	if len(rs) == 0 {
		t.Fatalf("no result lines\n%s", stderr)
	}
	t.Logf("coq processes %v; results %v", kids, verdicts(t, rs))
	interrupted := 0
	for _, r := range rs {
		switch {
		case r.Status == string(prover.StatusInterrupted):
			interrupted++
		case r.WallS >= sigAfter.Seconds():
			// A verdict that took longer than the time to SIGINT was
			// reached after it: the interruption was recorded as a verdict.
			t.Errorf("%s recorded as %s after SIGINT (%.1fs), want interrupted", r.Name, r.Status, r.WallS)
		}
	}
	if interrupted == 0 {
		t.Errorf("no interrupted line")
	}
}

// The real Coq end to end: a run with --trace; the same run killed with
// SIGKILL once a line is written, then resumed, ends with the same
// verdicts; the HTML report of the run opens in headless Chromium without
// console errors and shows the summary, the plots and a search tree.
func TestRealCoqResumeReport(t *testing.T) {
	needCoq(t)
	data := coqData(t)
	dir := t.TempDir()
	args := func(out string, extra ...string) []string {
		return append([]string{"minif2f", "--backend", "coq", "--proposer", "portfolio", "--data", data,
			"--only", "mathd_numbertheory_299,mathd_algebra_478", "--out", out, "--workers", "1", "--theorem-timeout", "60s"}, extra...)
	}
	ref, traces := filepath.Join(dir, "ref.jsonl"), filepath.Join(dir, "traces")
	if _, stderr, code := runCLI(t, args(ref, "--trace", traces)...); code != 0 {
		t.Fatalf("reference run: exit %d\n%s", code, stderr)
	}
	want := verdicts(t, lines(t, ref))

	out := filepath.Join(dir, "killed.jsonl")
	cmd, stderr := cli(t, nil, args(out, "--log-level", "debug")...)
	// The runner logs "theorem done" once the line is written and synced.
	if !stderr.waitFor("theorem done", 1, 90*time.Second) {
		t.Fatalf("no theorem finished within 90s\n%s", stderr)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if _, stderr2, code := runCLI(t, args(out, "--resume")...); code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", code, stderr, stderr2)
	}
	sameVerdicts(t, verdicts(t, lines(t, out)), want)

	html := filepath.Join(dir, "report.html")
	if _, stderr, code := runCLI(t, "report", ref, "--html", html, "--trace", traces); code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	chromeDOM(t, html, `id="summary"`, `id="plot-wall"`, `id="plot-expansions"`, `class="search-tree"`, `class="node onproof" open`, "<polyline")
}

// chromeDOM opens page in headless Chromium and checks the DOM for each of
// want and for no JavaScript or console errors.
func chromeDOM(t *testing.T, page string, want ...string) {
	t.Helper()
	bin := ""
	for _, b := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(b); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("skipping the browser check: chromium not installed (apt-get install -y chromium)")
	}
	abs, _ := filepath.Abs(page)
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--user-data-dir="+t.TempDir(),
		"--enable-logging=stderr", "--v=0", "--dump-dom", "file://"+abs)
	var dom, logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &dom, &logs
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, logs.String())
		}
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("chromium hung\n%s", logs.String())
	}
	d := dom.String()
	if !strings.Contains(d, `data-js-errors="0"`) {
		t.Errorf("page-side error hook did not report 0 errors")
	}
	var consoleErrs []string
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "CONSOLE") || strings.Contains(l, "Uncaught") {
			consoleErrs = append(consoleErrs, l)
		}
	}
	sort.Strings(consoleErrs)
	if len(consoleErrs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(consoleErrs, "\n"))
	}
	for _, w := range want {
		if !strings.Contains(d, w) {
			t.Errorf("DOM lacks %q", w)
		}
	}
}

// The fake's verifier can refuse: a proof search found but the final check
// refuses is failed, keeps its proof for study, and has no file text.
func TestFakeVerifierRejects(t *testing.T) {
	data := coqData(t)
	dir := t.TempDir()
	reset := useFakeBackend(&fakeBackend{})
	ref := filepath.Join(dir, "ref.jsonl")
	if _, stderr, code := runCLI(t, fakeArgs(data, ref)...); code != 0 {
		t.Fatalf("reference: exit %d\n%s", code, stderr)
	}
	reset()
	proved := map[string]bool{}
	for _, r := range lines(t, ref) {
		if r.Status == string(prover.StatusProved) {
			proved[r.Name] = true
		}
	}
	if len(proved) == 0 {
		t.Fatal("the fake proved nothing")
	}
	t.Cleanup(useFakeBackend(&fakeBackend{reject: proved}))
	out := filepath.Join(dir, "rejected.jsonl")
	if _, stderr, code := runCLI(t, fakeArgs(data, out)...); code != 0 {
		t.Fatalf("rejecting run: exit %d\n%s", code, stderr)
	}
	for _, r := range lines(t, out) {
		if !proved[r.Name] {
			continue
		}
		if r.Status != string(prover.StatusFailed) || !strings.Contains(r.Error, "failed final check: fake: rejected") || len(r.Proof) == 0 || r.FileText != "" {
			t.Errorf("%s: %s %q proof %q file %d bytes; want failed, the rejection, the proof kept, no file", r.Name, r.Status, r.Error, r.Proof, len(r.FileText))
		}
	}
}

// TestSpeculateReachesTheAgent: --speculate and LLEMMA_SPECULATE set the
// search's speculation depth; unset, the search's default (0) is kept.
func TestSpeculateReachesTheAgent(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  string
		want int
	}{{nil, "", 0}, {[]string{"--speculate", "3"}, "", 3}, {[]string{"--speculate", "-1"}, "", -1}, {nil, "2", 2}} {
		if tc.env != "" {
			t.Setenv("LLEMMA_SPECULATE", tc.env)
		}
		fs := flagSet(commands["minif2f"], &strings.Builder{})
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		a, err := newApp(commands["minif2f"], fs, &strings.Builder{}, &strings.Builder{})
		if err != nil {
			t.Fatal(err)
		}
		if got := a.newAgent(nil, nil).Search.Speculate; got != tc.want {
			t.Errorf("args %q env %q: Speculate = %d, want %d", tc.args, tc.env, got, tc.want)
		}
	}
}
