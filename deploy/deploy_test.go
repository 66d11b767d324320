// Package deploy holds no Go code: its tests run the Slurm and Kubernetes
// scripts beside them with fake Slurm variables, a fake llemma-prove and a
// fake vLLM (model/sim, the runtime simulator), the test binary playing
// each (LLEMMA_FAKE_CLI, LLEMMA_FAKE_VLLM).
package deploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/llemma-prove/llemma-prove/model/sim"
)

func TestMain(m *testing.M) {
	switch {
	case os.Getenv("LLEMMA_FAKE_VLLM") != "":
		os.Exit(fakeVLLM(os.Args[1:]))
	case os.Getenv("LLEMMA_FAKE_CLI") != "":
		os.Exit(fakeCLI(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// flagValue is the value of --name in args ("" when absent).
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// fakeVLLM serves the runtime simulator on --port until it is killed, as
// `python -m vllm.entrypoints.openai.api_server --port N` would, and says
// "ready" on stdout once it listens. With FAKE_VLLM_FAIL set it exits at
// once, as a server without a GPU does.
func fakeVLLM(args []string) int {
	if os.Getenv("FAKE_VLLM_FAIL") != "" {
		fmt.Fprintln(os.Stderr, "fake vllm: no GPU")
		return 1
	}
	l, err := net.Listen("tcp", "127.0.0.1:"+flagValue(args, "--port"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "fake vllm:", err)
		return 1
	}
	fmt.Println("ready")
	err = http.Serve(l, sim.New(sim.Config{Model: flagValue(args, "--model"), Base: time.Millisecond}))
	fmt.Fprintln(os.Stderr, "fake vllm:", err)
	return 1
}

// fakeCLI plays llemma-prove minif2f for one shard: it logs its call to
// FAKE_LOG, fails (exit 3) when the model does not answer, as the real
// pre-flight does, and then follows the plan of its task
// (FAKE_PLAN_<task>): "ok" writes a result line to --out; "exitN" exits
// N; "move" (once) plays a model server that moves during the run: it
// starts a new server, publishes its address in FAKE_URL_FILE, kills the
// old one (FAKE_OLD_PID) and exits 3, as a run whose model went away does.
func fakeCLI(args []string) int {
	task := os.Getenv("SLURM_ARRAY_TASK_ID")
	url := flagValue(args, "--model-url")
	f, err := os.OpenFile(os.Getenv("FAKE_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 99
	}
	fmt.Fprintf(f, "task=%s url=%s resume=%v out=%s\n", task, url, contains(args, "--resume"), flagValue(args, "--out"))
	f.Close()
	if !answers(url) {
		fmt.Fprintln(os.Stderr, "fake llemma-prove: the model does not answer at", url)
		return 3
	}
	plan := os.Getenv("FAKE_PLAN_" + task)
	if plan == "move" {
		marker := os.Getenv("FAKE_LOG") + ".moved"
		if _, err := os.Stat(marker); err != nil {
			os.WriteFile(marker, nil, 0o644)
			newURL, pid, err := startVLLM()
			if err != nil {
				fmt.Fprintln(os.Stderr, "fake llemma-prove:", err)
				return 98
			}
			os.WriteFile(os.Getenv("FAKE_NEW_PID"), []byte(strconv.Itoa(pid)), 0o644)
			tmp := os.Getenv("FAKE_URL_FILE") + ".tmp"
			os.WriteFile(tmp, []byte(newURL+"\n"), 0o644)
			os.Rename(tmp, os.Getenv("FAKE_URL_FILE"))
			if old, err := strconv.Atoi(os.Getenv("FAKE_OLD_PID")); err == nil {
				syscall.Kill(old, syscall.SIGKILL)
				for answers(url) { // until the old address is dead
				}
			}
			return 3
		}
		plan = "ok"
	}
	if code, ok := strings.CutPrefix(plan, "exit"); ok {
		n, _ := strconv.Atoi(code)
		return n
	}
	out := flagValue(args, "--out")
	os.MkdirAll(filepath.Dir(out), 0o755)
	line, _ := json.Marshal(map[string]any{"name": "thm_" + task, "split": "test", "backend": "coq", "status": "proved"})
	o, err := os.OpenFile(out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return 97
	}
	o.Write(append(line, '\n'))
	o.Close()
	return 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// answers reports whether a model server answers at url (.../v1).
func answers(url string) bool {
	if url == "" {
		return false
	}
	c := http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get(url + "/models")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// freePort is a TCP port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startVLLM starts a fake vLLM in its own process group and waits for its
// "ready"; it returns its URL and pid.
func startVLLM() (string, int, error) {
	port, err := freePort()
	if err != nil {
		return "", 0, err
	}
	exe, _ := os.Executable()
	cmd := exec.Command(exe, "--port", strconv.Itoa(port))
	cmd.Env = append(os.Environ(), "LLEMMA_FAKE_VLLM=1", "LLEMMA_FAKE_CLI=")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", 0, err
	}
	if err := cmd.Start(); err != nil {
		return "", 0, err
	}
	line := make([]byte, 6)
	if _, err := io.ReadFull(out, line); err != nil || string(line) != "ready\n" {
		cmd.Process.Kill()
		return "", 0, fmt.Errorf("the fake vLLM did not start: %q, %v", line, err)
	}
	return fmt.Sprintf("http://127.0.0.1:%d/v1", port), cmd.Process.Pid, nil
}

// slurmEnv is a fake Slurm job array: the script, fakes on PATH, and the
// environment of each task.
type slurmEnv struct {
	t       *testing.T
	dir     string
	results string
	log     string
	port    int
	env     []string
}

func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not installed", tool)
		}
	}
}

func newSlurm(t *testing.T, tasks int, extra ...string) *slurmEnv {
	t.Helper()
	needTools(t, "bash", "curl")
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	os.MkdirAll(bin, 0o755)
	write := func(name, body string) string {
		p := filepath.Join(bin, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	llemma := write("llemma-prove", fmt.Sprintf("LLEMMA_FAKE_CLI=1 exec %q \"$@\"", exe))
	vllm := write("fake-vllm", fmt.Sprintf("LLEMMA_FAKE_VLLM=1 exec %q \"$@\"", exe))
	// squeue prints the array tasks Slurm still knows: the lines of
	// FAKE_SQUEUE (the test writes it).
	write("squeue", `[ -n "$FAKE_SQUEUE" ] && [ -r "$FAKE_SQUEUE" ] || exit 1; cat "$FAKE_SQUEUE"`)
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	s := &slurmEnv{t: t, dir: dir, results: filepath.Join(dir, "results"), log: filepath.Join(dir, "calls.log"), port: port}
	s.env = append([]string{
		"PATH=" + bin + ":/usr/bin:/bin", "HOME=" + dir,
		"SLURM_ARRAY_JOB_ID=4242", "SLURM_ARRAY_TASK_MIN=0", fmt.Sprintf("SLURM_ARRAY_TASK_MAX=%d", tasks-1),
		fmt.Sprintf("SLURM_ARRAY_TASK_COUNT=%d", tasks), "SLURM_CPUS_PER_TASK=2",
		"LLEMMA=" + llemma, "VLLM_CMD=" + vllm, fmt.Sprintf("VLLM_PORT=%d", port), "ADVERTISE_HOST=127.0.0.1",
		"RESULTS=" + s.results, "POLL=0.05", "SERVER_WAIT=60", "FAKE_LOG=" + s.log,
	}, extra...)
	return s
}

// start runs task i of the array in the background.
func (s *slurmEnv) start(i int, extra ...string) *exec.Cmd {
	s.t.Helper()
	cmd := exec.Command("bash", "slurm/minif2f.sbatch")
	cmd.Env = append(append(append([]string{}, s.env...), fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", i)), extra...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		if s.t.Failed() {
			s.t.Logf("task %d output:\n%s", i, out.String())
		}
	})
	return cmd
}

// wait waits for cmd (60 s at most) and returns its exit code.
func wait(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(60 * time.Second):
		t.Fatalf("task still running after 60 s: it waits for something that never comes")
		return -1
	}
}

func (s *slurmEnv) state(name string) string {
	b, _ := os.ReadFile(filepath.Join(s.results, ".state.4242", name))
	return strings.TrimSpace(string(b))
}

func (s *slurmEnv) calls() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// The whole array succeeds: the first task serves, every task proves its
// shard against the published address, and the first task stops the
// server once all have ended.
func TestSlurmArray(t *testing.T) {
	t.Parallel()
	s := newSlurm(t, 3)
	var cmds []*exec.Cmd
	for i := range 3 {
		cmds = append(cmds, s.start(i))
	}
	for i, c := range cmds {
		if code := wait(t, c); code != 0 {
			t.Errorf("task %d: exit %d", i, code)
		}
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/v1", s.port)
	for i := range 3 {
		if s.state(fmt.Sprintf("task.%d.exit", i)) != "0" {
			t.Errorf("task %d's exit file %q", i, s.state(fmt.Sprintf("task.%d.exit", i)))
		}
		if !strings.Contains(s.calls(), fmt.Sprintf("task=%d url=%s resume=true", i, url)) {
			t.Errorf("task %d did not run against %s:\n%s", i, url, s.calls())
		}
		if _, err := os.Stat(filepath.Join(s.results, fmt.Sprintf("minif2f-test.%d.jsonl", i))); err != nil {
			t.Errorf("task %d's results: %v", i, err)
		}
	}
	if answers(url) {
		t.Errorf("the model server still answers after the array ended")
	}
	if s.state("vllm-url") != "" {
		t.Errorf("the published address outlived the server")
	}
}

// A failing shard does not keep the server up until the time limit: the
// first task stops it once every task has ended and exits 1; a task that
// Slurm no longer knows and that left no exit file (SIGKILL) counts as
// ended.
func TestSlurmFailedShards(t *testing.T) {
	t.Parallel()
	sq := filepath.Join(t.TempDir(), "squeue")
	os.WriteFile(sq, []byte("0\n1\n2\n"), 0o644) // task 3 is gone: killed without a trace
	s := newSlurm(t, 4, "FAKE_PLAN_2=exit2", "FAKE_SQUEUE="+sq)
	first := s.start(0)
	for _, i := range []int{1, 2} {
		code := wait(t, s.start(i))
		if want := map[int]int{1: 0, 2: 2}[i]; code != want {
			t.Errorf("task %d: exit %d, want %d", i, code, want)
		}
	}
	if code := wait(t, first); code != 1 {
		t.Errorf("first task: exit %d, want 1 (tasks failed)", code)
	}
	if s.state("task.2.exit") != "2" || s.state("task.3.exit") != "" {
		t.Errorf("exit files: task 2 %q, task 3 %q", s.state("task.2.exit"), s.state("task.3.exit"))
	}
	if answers(fmt.Sprintf("http://127.0.0.1:%d/v1", s.port)) {
		t.Errorf("the model server still answers")
	}
}

// A model server that cannot start stops the array at once: the first
// task exits 1 and the waiting tasks see why instead of waiting
// SERVER_WAIT.
func TestSlurmServerFails(t *testing.T) {
	t.Parallel()
	s := newSlurm(t, 2, "FAKE_VLLM_FAIL=1", "SERVER_WAIT=3600", "VLLM_RESTARTS=1")
	first, other := s.start(0), s.start(1)
	start := time.Now()
	if code := wait(t, first); code != 1 {
		t.Errorf("first task: exit %d, want 1", code)
	}
	if code := wait(t, other); code != 1 {
		t.Errorf("other task: exit %d, want 1", code)
	}
	if !strings.Contains(s.state("vllm-failed"), "exited 2 times") {
		t.Errorf("vllm-failed %q", s.state("vllm-failed"))
	}
	if s.calls() != "" {
		t.Errorf("a shard ran without a server:\n%s", s.calls())
	}
	t.Logf("array stopped %v after the start", time.Since(start).Round(time.Millisecond))
}

// A model server that moves (a requeued first task starts it on another
// node) is followed: the shard's run fails, the task reads the new address
// and resumes there.
func TestSlurmServerMoves(t *testing.T) {
	t.Parallel()
	oldURL, oldPID, err := startVLLM()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-oldPID, syscall.SIGKILL) })
	dir := t.TempDir()
	newPID := filepath.Join(dir, "new.pid")
	t.Cleanup(func() {
		if b, err := os.ReadFile(newPID); err == nil {
			if pid, err := strconv.Atoi(string(b)); err == nil {
				syscall.Kill(-pid, syscall.SIGKILL)
			}
		}
	})
	s := newSlurm(t, 2)
	urlFile := filepath.Join(s.results, ".state.4242", "vllm-url")
	os.MkdirAll(filepath.Dir(urlFile), 0o755)
	os.WriteFile(urlFile, []byte(oldURL+"\n"), 0o644) // published by the first task, before it moved
	task := s.start(1, "FAKE_PLAN_1=move", "FAKE_URL_FILE="+urlFile, fmt.Sprintf("FAKE_OLD_PID=%d", oldPID), "FAKE_NEW_PID="+newPID)
	if code := wait(t, task); code != 0 {
		t.Fatalf("task 1: exit %d\n%s", code, s.calls())
	}
	calls := strings.Split(strings.TrimSpace(s.calls()), "\n")
	newURL := strings.TrimSpace(s.state("vllm-url"))
	if len(calls) != 2 || !strings.Contains(calls[0], "url="+oldURL) || !strings.Contains(calls[1], "url="+newURL+" resume=true") || newURL == oldURL {
		t.Errorf("calls %q; want one at %s, then a resume at the new address %s", calls, oldURL, newURL)
	}
}

// submit.sh creates the log and results directories before sbatch opens
// the --output file there, and passes options through.
func TestSlurmSubmitCreatesDirs(t *testing.T) {
	t.Parallel()
	needTools(t, "bash")
	dir := t.TempDir()
	args := filepath.Join(dir, "sbatch.args")
	fake := filepath.Join(dir, "sbatch")
	os.WriteFile(fake, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+args+"\necho \"RESULTS=$RESULTS\" >> "+args+"\n"), 0o755)
	results := filepath.Join(dir, "new", "results")
	cmd := exec.Command("bash", "slurm/submit.sh", "--array=0-7")
	cmd.Env = append(os.Environ(), "SBATCH="+fake, "RESULTS="+results)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("submit.sh: %v\n%s", err, out)
	}
	if fi, err := os.Stat(filepath.Join(results, "logs")); err != nil || !fi.IsDir() {
		t.Fatalf("logs dir not created: %v", err)
	}
	b, _ := os.ReadFile(args)
	got := string(b)
	for _, want := range []string{"--output=" + results + "/logs/slurm-%A_%a.log\n", "--array=0-7\n", "slurm/minif2f.sbatch\n", "RESULTS=" + results + "\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("sbatch got %q, want %q in it", got, want)
		}
	}
}

// The scripts pass shellcheck.
func TestShellcheck(t *testing.T) {
	t.Parallel()
	needTools(t, "shellcheck")
	files, _ := filepath.Glob("*/*.sh")
	files = append(files, "slurm/minif2f.sbatch")
	out, err := exec.CommandContext(context.Background(), "shellcheck", append([]string{"-x"}, files...)...).CombinedOutput()
	if err != nil {
		t.Errorf("shellcheck %v: %v\n%s", files, err, out)
	}
}

// k8sDocs parses the YAML documents of a manifest.
func k8sDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var out []map[string]any
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, doc)
	}
}

// at follows a path of map keys and list indices through a YAML document.
func at(t *testing.T, v any, path ...any) any {
	t.Helper()
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("at %v: %v is not a map", path, v)
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("at %v: %v is not a list of %d", path, v, k+1)
			}
			v = l[k]
		}
	}
	return v
}

// The Job and the server agree with each other and with the image: shards
// equal completions, the model URL is the Service's, the image is the one
// deploy/Dockerfile builds (its user owns what the pods write), a config
// error fails the Job at once, a disruption is no failure, and what the
// shards write into is created first.
func TestK8sManifests(t *testing.T) {
	t.Parallel()
	job := k8sDocs(t, "k8s/minif2f-job.yaml")[0]
	server := k8sDocs(t, "k8s/vllm.yaml")
	spec := at(t, job, "spec").(map[string]any)
	pod := at(t, spec, "template", "spec").(map[string]any)
	prove := at(t, pod, "containers", 0).(map[string]any)
	args := map[string]string{}
	for _, a := range at(t, prove, "args").([]any) {
		k, v, _ := strings.Cut(a.(string), "=")
		args[k] = v
	}
	if fmt.Sprint(spec["completions"]) != args["--shards"] || fmt.Sprint(spec["parallelism"]) != args["--shards"] || spec["completionMode"] != "Indexed" {
		t.Errorf("completions %v, parallelism %v, --shards %s", spec["completions"], spec["parallelism"], args["--shards"])
	}
	if pod["restartPolicy"] != "Never" || spec["ttlSecondsAfterFinished"] == nil {
		t.Errorf("restartPolicy %v (podFailurePolicy needs Never), ttl %v", pod["restartPolicy"], spec["ttlSecondsAfterFinished"])
	}
	rules := at(t, spec, "podFailurePolicy", "rules").([]any)
	if at(t, rules, 0, "action") != "FailJob" || fmt.Sprint(at(t, rules, 0, "onExitCodes", "values")) != "[2]" ||
		at(t, rules, 0, "onExitCodes", "containerName") != "prove" || at(t, rules, 1, "action") != "Ignore" ||
		at(t, rules, 1, "onPodConditions", 0, "type") != "DisruptionTarget" {
		t.Errorf("podFailurePolicy %v", rules)
	}
	svc := server[1]
	port := fmt.Sprint(at(t, svc, "spec", "ports", 0, "port"))
	wantURL := fmt.Sprintf("http://%s:%s/v1", at(t, svc, "metadata", "name"), port)
	if args["--model-url"] != wantURL || !strings.Contains(at(t, pod, "initContainers", 1, "command", 2).(string), wantURL+"/models") {
		t.Errorf("model URL %s, init wait %v; want the Service's %s", args["--model-url"], at(t, pod, "initContainers", 1, "command"), wantURL)
	}
	if m := fmt.Sprint(at(t, server[0], "spec", "template", "spec", "containers", 0, "args")); !strings.Contains(m, args["--model"]) {
		t.Errorf("the server serves %s, the shards ask for %s", m, args["--model"])
	}
	docker, _ := os.ReadFile("Dockerfile")
	image := prove["image"].(string)
	for i := range 2 {
		if img := at(t, pod, "initContainers", i, "image"); img != image {
			t.Errorf("init container %d runs %v, the shard %s", i, img, image)
		}
	}
	if !strings.Contains(string(docker), strings.TrimSuffix(image, ":latest")) {
		t.Errorf("deploy/Dockerfile does not say it builds %s", image)
	}
	uid := fmt.Sprint(at(t, pod, "securityContext", "runAsUser"))
	if !strings.Contains(string(docker), "--uid "+uid) || !strings.Contains(string(docker), "USER "+uid) {
		t.Errorf("the pods run as uid %s, the image's user is not", uid)
	}
	prepare := at(t, pod, "initContainers", 0, "command", 2).(string)
	created := strings.Fields(strings.TrimPrefix(prepare, "mkdir -p "))[0]
	for _, p := range []string{filepath.Dir(args["--out"]), args["--trace"]} {
		if !strings.HasPrefix(created+"/", p+"/") {
			t.Errorf("nothing creates %s before the shard writes into it (prepare makes %s)", p, created)
		}
	}
}

// run.sh starts the server and the Job and makes the Job own the server,
// so that deleting the Job frees the GPU.
func TestK8sRun(t *testing.T) {
	t.Parallel()
	needTools(t, "bash")
	dir := t.TempDir()
	calls := filepath.Join(dir, "calls")
	fake := filepath.Join(dir, "kubectl")
	os.WriteFile(fake, []byte(`#!/bin/sh
echo "$*" >> `+calls+`
case "$*" in *"get job"*) echo 1234-uid ;; esac
`), 0o755)
	cmd := exec.Command("bash", "k8s/run.sh")
	cmd.Env = append(os.Environ(), "KUBECTL="+fake, "NAMESPACE=prover")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("run.sh: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(calls)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{"delete job llemma-minif2f", "apply -f", "create -f", "get job llemma-minif2f", "patch deployment/llemma-vllm", "patch service/llemma-vllm"}
	if len(lines) != len(want) {
		t.Fatalf("kubectl calls %q", lines)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], "--namespace prover "+w) {
			t.Errorf("call %d %q, want %q", i, lines[i], w)
		}
	}
	for _, l := range lines[4:] {
		if !strings.Contains(l, `"kind":"Job","name":"llemma-minif2f","uid":"1234-uid"`) {
			t.Errorf("patch %q does not make the Job the owner", l)
		}
	}
}
