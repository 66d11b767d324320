package main

// The fault-injection suite: each fault of issue 14's fault matrix,
// reproduced with fake processes (a coqtop played by this test binary, see
// internal/proctest) and a fake model server, run through the CLI as a
// user runs it. Each case asserts the verdicts and causes in the results
// file, the exit code, the stderr lines, and how long the fault cost. The
// cases run the CLI as a subprocess and share nothing in-process, so they
// run in parallel (most of their time is spent waiting out a fault).

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/internal/proctest"
	"github.com/llemma-prove/llemma-prove/prover"
)

// faultThms are real miniF2F Coq theorems the faults run on.
const faultThms = "mathd_algebra_141,mathd_algebra_24,mathd_numbertheory_299,amc12a_2020_p4"

// fakeCoqtop writes a coqtop command that runs this test binary as the
// fake coqtop with fault (see proctest.Coqtop). The CLI's own marker is
// removed so that the child is the fake, not another CLI.
func fakeCoqtop(t *testing.T, fault string) string {
	t.Helper()
	argv, env := proctest.Argv("coqtop", "-fault="+fault)
	var b strings.Builder
	b.WriteString("#!/bin/sh\nexec env -u LLEMMA_TEST_CLI")
	for _, s := range append(env, argv...) {
		b.WriteString(" '" + strings.ReplaceAll(s, "'", `'\''`) + "'")
	}
	b.WriteString(" \"$@\"\n")
	path := filepath.Join(t.TempDir(), "coqtop")
	if err := os.WriteFile(path, []byte(b.String()), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// faultRun runs the CLI to its end and returns its output, exit code, the
// results it wrote (nil when no file) and how long it took.
func faultRun(t *testing.T, env []string, args ...string) (output string, code int, rs []benchmarks.Result, took time.Duration) {
	t.Helper()
	start := time.Now()
	cmd, w := cli(t, env, args...)
	err := cmd.Wait()
	took = time.Since(start)
	for i, a := range args {
		if a == "--out" && i+1 < len(args) {
			if fi, serr := os.Stat(args[i+1]); serr == nil && fi.Mode().IsRegular() {
				rs = lines(t, args[i+1])
			}
		}
	}
	return w.String(), exitOf(err), rs, took
}

// lastLine is the last non-empty line of out.
func lastLine(out string) string {
	ls := strings.Split(strings.TrimSpace(out), "\n")
	return ls[len(ls)-1]
}

// A broken coqtop stops the run before the first theorem, fast, with one
// line saying what is wrong, and leaves no results file: before, a coqtop
// printing garbage cost 30 s per theorem and one exiting at once gave a
// file of error lines and exit 0; a SIGSTOPped one ignored the budgets.
func TestFaultBrokenCoqtop(t *testing.T) {
	t.Parallel()
	needCoq(t)
	data := coqData(t)
	for _, c := range []struct {
		fault string
		want  []string // in the last stderr line
		max   time.Duration
	}{
		{"garbage", []string{"pre-flight", "could not open", "mathd_algebra_141"}, 20 * time.Second},
		{"exit", []string{"pre-flight", "cannot find the standard library"}, 20 * time.Second},
		{"stop=4", []string{"pre-flight", "within the setup budget (3s, --setup-timeout)"}, 20 * time.Second},
	} {
		t.Run(c.fault, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(t.TempDir(), "r.jsonl")
			stderr, code, rs, took := faultRun(t, nil, "minif2f", "--backend", "coq", "--proposer", "portfolio", "--data", data,
				"--only", faultThms, "--out", out, "--coq.coqtop", fakeCoqtop(t, c.fault), "--coq.memory-limit", "4194304GiB",
				"--setup-timeout", "3s", "--workers", "1")
			if code != exitInfra {
				t.Errorf("exit %d, want 3\n%s", code, stderr)
			}
			for _, w := range c.want {
				if !strings.Contains(lastLine(stderr), w) {
					t.Errorf("last stderr line %q lacks %q\n%s", lastLine(stderr), w, stderr)
				}
			}
			if rs != nil {
				t.Errorf("a run that never started wrote %d result lines", len(rs))
			}
			if took > c.max {
				t.Errorf("the fault cost %s, want at most %s", took, c.max)
			}
		})
	}
}

// A coqtop that crashes at every process's first tactic (a crash loop)
// makes theorems errors with a backend cause, never failed or timeout;
// the run says so on stderr and the circuit breaker stops it.
func TestFaultCrashLoop(t *testing.T) {
	t.Parallel()
	needCoq(t)
	data := coqData(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	stderr, code, rs, took := faultRun(t, nil, "minif2f", "--backend", "coq", "--proposer", "portfolio", "--data", data,
		"--only", faultThms, "--out", out, "--coq.coqtop", fakeCoqtop(t, "crash=1"), "--coq.memory-limit", "4194304GiB",
		"--theorem-timeout", "20s", "--workers", "1", "--concurrency", "1")
	t.Logf("took %s\n%s", took, stderr)
	if code != exitInfra {
		t.Errorf("exit %d, want 3", code)
	}
	if len(rs) == 0 {
		t.Fatalf("no result lines")
	}
	for _, r := range rs {
		if r.Status != "error" || (r.Cause != "backend-crashed" && r.Cause != "backend-broken") {
			t.Errorf("%s: %s (%s), want error with a backend cause: %s", r.Name, r.Status, r.Cause, r.Error)
		}
		if r.SearchS > 25 {
			t.Errorf("%s: searched %.1fs over a 20s budget", r.Name, r.SearchS)
		}
	}
	if !strings.Contains(stderr, "theorem ended in error") {
		t.Errorf("errors not logged on stderr")
	}
	if len(rs) == 3 && !strings.Contains(lastLine(stderr), "3 theorems in a row ended in error") {
		t.Errorf("breaker line missing: %q", lastLine(stderr))
	}
}

// A coqtop that stops (SIGSTOP) in every tactic costs each theorem at most
// its budgets (before: 92 s under an 8 s budget), and the theorem is not
// recorded as failed or timeout: the budget charges tactic CPU, which a
// stopped process does not spend, so the checks' wall cap
// (prover.CheckWallFactor, twice the budget) ends the search, as an error
// (the checker made no progress), and the run exits 3.
func TestFaultHungTactic(t *testing.T) {
	t.Parallel()
	needCoq(t)
	data := coqData(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	stderr, code, rs, took := faultRun(t, nil, "minif2f", "--backend", "coq", "--proposer", "portfolio", "--data", data,
		"--only", "mathd_algebra_141,mathd_algebra_24", "--out", out, "--coq.coqtop", fakeCoqtop(t, "hang=1"), "--coq.memory-limit", "4194304GiB",
		"--theorem-timeout", "8s", "--setup-timeout", "10s", "--workers", "1")
	t.Logf("exit %d, took %s\n%s", code, took, stderr)
	if len(rs) != 2 {
		t.Fatalf("%d result lines, want 2", len(rs))
	}
	for _, r := range rs {
		if r.Status != "error" || !strings.Contains(r.Error, "made no progress") {
			t.Errorf("%s: %s (%s): a stopped checker is an infrastructure error, not a verdict", r.Name, r.Status, r.Error)
		}
		if limit := prover.CheckWallFactor * 8; r.SearchS > limit+5 || r.WallS > limit+10+10 {
			t.Errorf("%s: search %.1fs, wall %.1fs: the hang outlived the budgets (8s of tactic time, %.0fs of checks, 10s setup)", r.Name, r.SearchS, r.WallS, limit)
		}
		if r.Status == "error" && code != exitInfra {
			t.Errorf("%s: an error line with exit %d", r.Name, code)
		}
	}
	if took > 2*(16+10+10)*time.Second {
		t.Errorf("the run took %s", took)
	}
}

// fakeModel is a model server that answers the pre-flight (the models
// list and the first completion) and then misbehaves as fault says.
type fakeModel struct {
	srv   *httptest.Server
	fault string
	posts atomic.Int64
	once  sync.Once
	stop  chan struct{} // closed at the end: hung handlers return
}

func newFakeModel(t *testing.T, fault string, healthyPosts int64) *fakeModel {
	m := &fakeModel{fault: fault, stop: make(chan struct{})}
	// Unstarted: m.srv is set before any handler can read it.
	m.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			if m.fault == "hang" && healthyPosts == 0 {
				m.hang(r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"object":"list","data":[{"id":"fake","object":"model"}]}`)
			return
		}
		io.Copy(io.Discard, r.Body)
		if m.posts.Add(1) <= healthyPosts {
			m.complete(w)
			return
		}
		switch m.fault {
		case "500":
			http.Error(w, `{"error":{"message":"CUDA out of memory"}}`, http.StatusInternalServerError)
		case "401":
			http.Error(w, `{"error":{"message":"invalid api key"}}`, http.StatusUnauthorized)
		case "garbage":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<html><body>502 Bad Gateway</body></html>")
		case "truncated":
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "4096")
			io.WriteString(w, `{"id":"cmpl","choices":[{"index":0,"text":"lia.","log`)
		case "refused":
			// The runtime goes away: no more connections.
			m.once.Do(func() { go func() { m.srv.Listener.Close(); m.srv.CloseClientConnections() }() })
			hj, ok := w.(http.Hijacker)
			if ok {
				if c, _, err := hj.Hijack(); err == nil {
					c.Close()
				}
			}
		case "hang":
			m.hang(r)
		}
	}))
	m.srv.Start()
	t.Cleanup(func() { close(m.stop); m.srv.Close() })
	return m
}

func (m *fakeModel) hang(r *http.Request) {
	select {
	case <-r.Context().Done():
	case <-m.stop:
	}
}

// complete answers a completion with two samples and logprobs.
func (m *fakeModel) complete(w http.ResponseWriter) {
	var choices []map[string]any
	for i := range 2 {
		choices = append(choices, map[string]any{"index": i, "text": "\nlia.\n", "finish_reason": "stop",
			"logprobs": map[string]any{"tokens": []string{"\n", "lia.", "\n"}, "token_logprobs": []float64{-0.01, -0.2, -0.01}}})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"id": "cmpl-1", "object": "text_completion", "model": "fake", "choices": choices})
}

// A model that is down from the start stops the run before the first
// theorem with one line naming the problem (before: every theorem error,
// nothing on stderr, exit 0).
func TestFaultModelDownAtStart(t *testing.T) {
	t.Parallel()
	needCoq(t)
	data := coqData(t)
	refused := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return "http://" + ln.Addr().String()
	}()
	for _, c := range []struct {
		fault, url string
		want       string
	}{
		{"500", "", "the model is not usable"},
		{"401", "", "the model is not usable"},
		{"garbage", "", "the model is not usable"},
		{"truncated", "", "the model is not usable"},
		{"refused", refused, "the model is not usable"},
		{"hang", "", "the model is not usable"},
	} {
		t.Run(c.fault, func(t *testing.T) {
			t.Parallel()
			url := c.url
			if url == "" {
				url = newFakeModel(t, c.fault, 0).srv.URL
			}
			out := filepath.Join(t.TempDir(), "r.jsonl")
			stderr, code, rs, took := faultRun(t, nil, "minif2f", "--backend", "coq", "--proposer", "llm", "--model-url", url, "--model", "fake",
				"--data", data, "--only", faultThms, "--out", out, "--workers", "1")
			if code != exitInfra || !strings.Contains(lastLine(stderr), c.want) || !strings.Contains(lastLine(stderr), strings.TrimPrefix(url, "http://")) {
				t.Errorf("exit %d, last line %q; want 3 and %q naming %s\n%s", code, lastLine(stderr), c.want, url, stderr)
			}
			if rs != nil {
				t.Errorf("%d result lines from a run that never started", len(rs))
			}
			if took > 40*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
}

// A model that fails after the pre-flight makes each theorem an error with
// cause model (or model-unavailable), never a timeout or a failure, even
// when it never answers; the circuit breaker stops the run after three.
func TestFaultModelDownMidRun(t *testing.T) {
	t.Parallel()
	needCoq(t)
	data := coqData(t)
	for _, c := range []struct {
		fault  string
		causes []string
	}{
		{"500", []string{"model"}},
		{"401", []string{"model"}},
		{"garbage", []string{"model"}},
		{"truncated", []string{"model"}},
		{"refused", []string{"model-unavailable", "model"}},
		{"hang", []string{"model"}},
	} {
		t.Run(c.fault, func(t *testing.T) {
			t.Parallel()
			m := newFakeModel(t, c.fault, 1)
			out := filepath.Join(t.TempDir(), "r.jsonl")
			args := []string{"minif2f", "--backend", "coq", "--proposer", "llm", "--model-url", m.srv.URL, "--model", "fake",
				"--data", data, "--only", faultThms, "--out", out, "--workers", "1", "--concurrency", "1",
				"--theorem-timeout", "4s", "--samples", "2", "--expansions", "2"}
			limit := 4.0 + 3
			if c.fault == "hang" {
				// The budget charges tactic time, not model waits: a hung
				// server is cut by the request timeout (2s, no retry).
				args = append(args, "--model.timeout", "2s", "--model.retries", "-1")
				limit = 2 + 3
			}
			stderr, code, rs, _ := faultRun(t, nil, args...)
			if code != exitInfra {
				t.Errorf("exit %d, want 3\n%s", code, stderr)
			}
			if len(rs) != 3 {
				t.Errorf("%d result lines, want 3 (the breaker stops the fourth)\n%s", len(rs), stderr)
			}
			for _, r := range rs {
				ok := false
				for _, want := range c.causes {
					ok = ok || (r.Status == "error" && r.Cause == want)
				}
				if !ok {
					t.Errorf("%s: %s (%s): %s; want error with cause %v", r.Name, r.Status, r.Cause, r.Error, c.causes)
				}
				if r.SearchS > limit {
					t.Errorf("%s: search %.1fs, over its bound of %.0fs", r.Name, r.SearchS, limit)
				}
			}
			if l := lastLine(stderr); !strings.Contains(l, "stopped the run: 3 theorems in a row ended in error (") {
				t.Errorf("last stderr line %q is not the breaker's\n%s", l, stderr)
			}
		})
	}
}

// Errors are retried by --resume; nothing finished is lost; an infra fault
// leaves exit 3 and the fixed rerun exit 0 with the reference verdicts.
func TestFaultResumeRetriesErrors(t *testing.T) {
	t.Parallel()
	data := coqData(t)
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.jsonl")
	base := []string{"LLEMMA_TEST_FAKE_DELAY=1ms"}
	if _, code, _, _ := faultRun(t, base, fakeArgs(data, ref)...); code != 0 {
		t.Fatalf("reference run: exit %d", code)
	}
	want := verdicts(t, lines(t, ref))
	out := filepath.Join(dir, "r.jsonl")
	stderr, code, rs, _ := faultRun(t, append(base, "LLEMMA_TEST_FAKE_CRASH=1"), fakeArgs(data, out, "--breaker", "0")...)
	if code != exitInfra || !strings.Contains(lastLine(stderr), "ended in error (backend-crashed: 10)") {
		t.Fatalf("crashing run: exit %d, last line %q", code, lastLine(stderr))
	}
	if len(rs) != 10 {
		t.Fatalf("%d lines, want 10 errors", len(rs))
	}
	stderr, code, _, _ = faultRun(t, base, fakeArgs(data, out, "--resume")...)
	if code != 0 || strings.Contains(stderr, "already have a verdict") {
		t.Fatalf("resume: exit %d (error lines must be retried, not skipped)\n%s", code, stderr)
	}
	got := map[string]string{}
	for _, r := range benchmarks.Dedup(lines(t, out), benchmarks.Result.Key) {
		got[r.Key().String()] = r.Status + " " + strings.Join(r.Proof, " ")
	}
	sameVerdicts(t, got, want)
}

// Two runs on one --out: the second fails at once with a clear message
// (before: both proved the same theorems and one session was lost).
func TestFaultOutLocked(t *testing.T) {
	t.Parallel()
	data := coqData(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	first, w := cli(t, []string{"LLEMMA_TEST_FAKE_DELAY=50ms"}, fakeArgs(data, out, "--log-level", "debug")...)
	if !w.waitFor("msg=\"searching ", 1, time.Minute) {
		t.Fatalf("the first run did not start\n%s", w)
	}
	stderr, code, _, took := faultRun(t, []string{"LLEMMA_TEST_FAKE_DELAY=50ms"}, fakeArgs(data, out, "--resume")...)
	if code != exitUsage || !strings.Contains(stderr, "another llemma-prove run is writing to it") || took > 20*time.Second {
		t.Errorf("second run: exit %d after %s\n%s", code, took, stderr)
	}
	first.Process.Signal(os.Interrupt)
	first.Wait()
	meta, err := benchmarks.ReadMeta(out)
	if err != nil || meta == nil || len(meta.Sessions) != 1 {
		t.Errorf("meta %+v, %v; want the first run's one session", meta, err)
	}
}

// No sidecar beside a device, and the run says so; a full disk is exit 3.
func TestFaultOutNotRegular(t *testing.T) {
	t.Parallel()
	data := coqData(t)
	os.Remove("/dev/full.meta.json")
	env := []string{"LLEMMA_TEST_FAKE_DELAY=1ms"}
	args := func(out string) []string {
		return []string{"minif2f", "--backend", "coq", "--proposer", "portfolio", "--data", data, "--only", "mathd_algebra_141", "--out", out, "--expansions", "2"}
	}
	stderr, code, _, _ := faultRun(t, env, args("/dev/full")...)
	if code != exitInfra || !strings.Contains(stderr, "not a regular file: no full.meta.json sidecar") || !strings.Contains(lastLine(stderr), "no space left on device") {
		t.Errorf("--out /dev/full: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat("/dev/full.meta.json"); !os.IsNotExist(err) {
		os.Remove("/dev/full.meta.json")
		t.Errorf("a sidecar was written beside /dev/full")
	}
	output, code, _, _ := faultRun(t, env, args("/dev/stdout")...)
	if code != 0 || !strings.Contains(output, `"name":"mathd_algebra_141"`) || !strings.Contains(output, "not a regular file") {
		t.Errorf("--out /dev/stdout: exit %d\n%s", code, output)
	}
	if _, err := os.Stat("/dev/stdout.meta.json"); err == nil {
		os.Remove("/dev/stdout.meta.json")
		t.Errorf("a sidecar was written beside /dev/stdout")
	}
}

// Secrets reach neither the sidecar (mode 0600) nor the results nor stderr.
func TestFaultNoSecretsWritten(t *testing.T) {
	t.Parallel()
	data := coqData(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	env := []string{"LLEMMA_TEST_FAKE_DELAY=1ms", "LLEMMA_MODEL_API_KEY=sk-live-123"}
	stderr, code, _, _ := faultRun(t, env, "minif2f", "--backend", "coq", "--proposer", "portfolio", "--data", data,
		"--only", "mathd_algebra_141", "--out", out, "--expansions", "2", "--isabelle.password", "hunter2",
		"--model-url", "http://user:pw123@127.0.0.1:1", "--log-level", "debug")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	fi, err := os.Stat(benchmarks.MetaPath(out))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sidecar %v %v; want mode 0600", fi, err)
	}
	for _, f := range []string{out, benchmarks.MetaPath(out)} {
		b, _ := os.ReadFile(f)
		for _, secret := range []string{"hunter2", "sk-live-123", "pw123"} {
			if strings.Contains(string(b), secret) || strings.Contains(stderr, secret) {
				t.Errorf("%q written to %s or stderr", secret, f)
			}
		}
	}
	b, _ := os.ReadFile(benchmarks.MetaPath(out))
	if !strings.Contains(string(b), `"--isabelle.password",`) || !strings.Contains(string(b), "REDACTED") {
		t.Errorf("the sidecar does not record the redacted arguments:\n%s", b)
	}
}

// kill -9 of the prover leaves no coqtop or coqc behind (the children get
// PDEATHSIG from internal/proc).
func TestFaultKill9LeavesNoCoq(t *testing.T) {
	needCoq(t)
	data := coqData(t)
	out := filepath.Join(t.TempDir(), "r.jsonl")
	cmd, w := cli(t, nil, "minif2f", "--backend", "coq", "--proposer", "portfolio", "--data", data,
		"--only", "imo_1959_p1,amc12a_2020_p4", "--out", out, "--workers", "2", "--theorem-timeout", "120s", "--log-level", "debug")
	if !w.waitFor("msg=\"searching ", 2, 90*time.Second) {
		t.Fatalf("no two searches under way\n%s", w)
	}
	kids := coqChildren(cmd.Process.Pid)
	if len(kids) == 0 {
		t.Fatalf("no coq process under the CLI\n%s", w)
	}
	// Watch the children's exits (a pidfd is readable once its process
	// has exited, whoever its parent is), then kill the prover.
	fds := map[int]int{}
	for _, pid := range kids {
		if fd, err := unix.PidfdOpen(pid, 0); err == nil {
			fds[pid] = fd
			defer unix.Close(fd)
		}
	}
	cmd.Process.Kill()
	cmd.Wait()
	for pid, fd := range fds {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(pfd, 10000); err != nil || n == 0 {
			t.Errorf("coq process %d outlived kill -9 of the prover by 10s (%v)", pid, err)
		}
	}
	if left := alive(kids); len(left) > 0 {
		t.Errorf("coq processes %v outlived kill -9 of the prover (of %v)", left, kids)
	}
}

// concurrencyThms are quick miniF2F theorems: four the portfolio proves in
// about two seconds, two whose root fails fast.
const concurrencyThms = "aime_1989_p8,algebra_sqineq_at2malt1,aime_1990_p4,aime_1983_p2," +
	"algebra_others_exirrpowirrrat,amc12_2000_p6"

// Verdicts do not depend on load: the same theorems at --concurrency 1 and
// 16 on this machine get the same verdicts, because at most --workers
// (default: the CPUs this process may use) theorems hold a checker at
// once, the others queue outside their budget (queue_s), and tactic
// budgets are coqtop CPU time.
func TestConcurrencyVerdicts(t *testing.T) {
	needCoq(t)
	data := coqData(t)
	dir := t.TempDir()
	got := map[string]map[string]string{}
	for _, conc := range []string{"1", "16"} {
		out := filepath.Join(dir, "c"+conc+".jsonl")
		stderr, code, rs, took := faultRun(t, nil, "minif2f", "--backend", "coq", "--proposer", "portfolio", "--data", data,
			"--only", concurrencyThms, "--out", out, "--concurrency", conc)
		if code != 0 {
			t.Fatalf("--concurrency %s: exit %d\n%s", conc, code, stderr)
		}
		got[conc] = map[string]string{}
		queued := 0.0
		for _, r := range rs {
			got[conc][r.Name] = r.Status
			queued += r.QueueS
		}
		t.Logf("--concurrency %s: %s, %.1fs queued in all: %v", conc, took.Round(time.Millisecond), queued, got[conc])
	}
	for name, v := range got["1"] {
		if got["16"][name] != v {
			t.Errorf("%s: %s at --concurrency 1, %s at 16", name, v, got["16"][name])
		}
	}
	if len(got["1"]) != 6 || len(got["16"]) != 6 {
		t.Errorf("verdicts %v", got)
	}
}

// The runtime --model-launch starts is stopped when the command ends, by
// minif2f and serve as by prove (before: only prove stopped it). The
// runtime records the SIGTERM of a graceful stop: a parent-death SIGKILL
// alone would leave no mark.
func TestModelLaunchStopped(t *testing.T) {
	t.Parallel()
	data := coqData(t)
	m := newFakeModel(t, "none", 1<<30)
	for _, c := range []struct {
		name string
		args []string
	}{
		{"minif2f", []string{"minif2f", "--backend", "coq", "--data", data, "--only", "mathd_algebra_141", "--expansions", "1", "--samples", "2"}},
		{"serve", []string{"serve", "--stdio", "--backend", "coq"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			pidFile, mark := filepath.Join(dir, "pid"), filepath.Join(dir, "stopped")
			launch := `sh -c "trap 'echo TERM > ` + mark + `; exit 0' TERM; echo \$\$ > ` + pidFile + `; sleep 300 & wait"`
			args := append(c.args, "--proposer", "llm", "--model-url", m.srv.URL, "--model", "fake", "--model-launch", launch)
			stderr, code, _, _ := faultRun(t, []string{"LLEMMA_TEST_FAKE_DELAY=1ms"}, args...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, stderr)
			}
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatalf("the runtime was not launched: %v\n%s", err, stderr)
			}
			if _, err := os.Stat(mark); err != nil {
				t.Errorf("%s ended without stopping the runtime it launched (no SIGTERM)", c.name)
			}
			var pid int
			fmt.Sscan(strings.TrimSpace(string(b)), &pid)
			fd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				return // gone and reaped
			}
			defer unix.Close(fd)
			// Still in the process table: it must at least have exited.
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if n, err := unix.Poll(pfd, 5000); err != nil || n == 0 {
				t.Errorf("the launched runtime (pid %d) outlived %s", pid, c.name)
			}
		})
	}
}
