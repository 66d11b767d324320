package sandbox_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proctest"
	"github.com/llemma-prove/llemma-prove/internal/sandbox"
)

var fakes = map[string]func() int{
	// connect dials the TCP address in its first argument with a raw
	// socket (no Go net defaults such as Multipath TCP) and prints
	// "connected" or the error.
	"connect": func() int {
		addr := proctest.Args()[0]
		host, portS, _ := strings.Cut(addr, ":")
		port, _ := strconv.Atoi(portS)
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			fmt.Println("socket:", err)
			return 1
		}
		defer syscall.Close(fd)
		sa := &syscall.SockaddrInet4{Port: port}
		copy(sa.Addr[:], net.ParseIP(host).To4())
		if err := syscall.Connect(fd, sa); err != nil {
			fmt.Println("connect:", err)
			return 1
		}
		fmt.Println("connected")
		return 0
	},
}

func init() {
	fakes["hello"] = func() int { fmt.Println("hello"); return 0 }
}

func TestMain(m *testing.M) { proctest.Main(m, fakes) }

func needLandlock(t *testing.T, min int) {
	t.Helper()
	if abi, detail := sandbox.Available(); abi < min {
		t.Skipf("needs Landlock ABI %d; this kernel: %s", min, detail)
	}
}

// run runs argv (plus env) under p and limits, and returns its output and
// exit status.
func run(t *testing.T, p *sandbox.Policy, lim sandbox.Limits, env []string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	return runIn(t, "", p, lim, env, argv...)
}

// runIn is run in the working directory dir.
func runIn(t *testing.T, dir string, p *sandbox.Policy, lim sandbox.Limits, env []string, argv ...string) (stdout, stderr string, code int) {
	t.Helper()
	nargv, nenv, err := sandbox.Command(p, lim, argv)
	if err != nil {
		t.Fatalf("Command(%v): %v", argv, err)
	}
	cmd := exec.Command(nargv[0], nargv[1:]...)
	cmd.Env = append(append(os.Environ(), env...), nenv...)
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	cmd.WaitDelay = 10 * time.Second
	err = cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("running %v: %v", argv, err)
	}
	return o.String(), e.String(), code
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func TestWritesOnlyInsideReadWrite(t *testing.T) {
	needLandlock(t, 1)
	job, outside := t.TempDir(), t.TempDir()
	p := &sandbox.Policy{ReadOnly: sandbox.SystemReadOnly(), ReadWrite: []string{job}}

	out, errOut, code := run(t, p, sandbox.Limits{}, nil, "sh", "-c", "echo x > "+outside+"/leak")
	if code == 0 || exists(filepath.Join(outside, "leak")) {
		t.Fatalf("writing outside the job dir: exit %d, file exists %v (stdout %q stderr %q); want refused", code, exists(filepath.Join(outside, "leak")), out, errOut)
	}
	if !strings.Contains(errOut, "Permission denied") {
		t.Errorf("stderr %q, want Permission denied", errOut)
	}
	// The default-writable places are closed too.
	_, _, code = run(t, p, sandbox.Limits{}, nil, "sh", "-c", "mkdir "+outside+"/d || echo y > /tmp/llemma-sandbox-leak-$$")
	if code == 0 || exists(filepath.Join(outside, "d")) {
		t.Errorf("mkdir outside the job dir: exit %d; want refused", code)
	}

	_, errOut, code = run(t, p, sandbox.Limits{}, nil, "sh", "-c",
		"mkdir "+job+"/sub && echo x > "+job+"/sub/f && mv "+job+"/sub/f "+job+"/g && : > /dev/null && cat "+job+"/g")
	if code != 0 {
		t.Fatalf("writing inside the job dir: exit %d, stderr %q", code, errOut)
	}
	if b, err := os.ReadFile(filepath.Join(job, "g")); err != nil || string(b) != "x\n" {
		t.Errorf("job/g = %q, %v; want \"x\\n\"", b, err)
	}
}

func TestReadsOnlyListedPaths(t *testing.T) {
	needLandlock(t, 1)
	job, secret := t.TempDir(), t.TempDir()
	secretFile := filepath.Join(secret, "key")
	if err := os.WriteFile(secretFile, []byte("hunter2"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := &sandbox.Policy{ReadOnly: sandbox.SystemReadOnly(), ReadWrite: []string{job}}
	out, errOut, code := run(t, p, sandbox.Limits{}, nil, "cat", secretFile)
	if code == 0 || strings.Contains(out, "hunter2") {
		t.Fatalf("reading an unlisted file: exit %d, stdout %q; want refused", code, out)
	}
	if !strings.Contains(errOut, "Permission denied") {
		t.Errorf("stderr %q, want Permission denied", errOut)
	}
	_, _, code = run(t, p, sandbox.Limits{}, nil, "ls", secret)
	if code == 0 {
		t.Errorf("listing an unlisted directory succeeded")
	}
	_, _, code = run(t, p, sandbox.Limits{}, nil, "cat", "/etc/shadow")
	if code == 0 {
		t.Errorf("reading /etc/shadow under SystemReadOnly succeeded")
	}

	// Listed read-only: readable, not writable.
	p.ReadOnly = append(p.ReadOnly, secret)
	out, errOut, code = run(t, p, sandbox.Limits{}, nil, "cat", secretFile)
	if code != 0 || out != "hunter2" {
		t.Fatalf("reading a read-only file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	_, _, code = run(t, p, sandbox.Limits{}, nil, "sh", "-c", "echo x >> "+secretFile)
	if b, _ := os.ReadFile(secretFile); code == 0 || string(b) != "hunter2" {
		t.Errorf("appending to a read-only file: exit %d, content %q; want refused", code, b)
	}
}

func TestNoNetwork(t *testing.T) {
	needLandlock(t, 4)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	addr := ln.Addr().String()
	exe, _ := os.Executable()
	argv, env := proctest.Argv("connect", addr)
	p := &sandbox.Policy{ReadOnly: append(sandbox.SystemReadOnly(), exe), NoNetwork: true}

	out, errOut, code := run(t, p, sandbox.Limits{}, env, argv...)
	if code == 0 || !strings.Contains(out, "permission denied") {
		t.Errorf("sandboxed connect to %s: exit %d, stdout %q, stderr %q; want permission denied", addr, code, out, errOut)
	}
	// Without NoNetwork the same sandboxed program connects, so the denial
	// above is the network rule, not the file rules.
	p.NoNetwork = false
	out, errOut, code = run(t, p, sandbox.Limits{}, env, argv...)
	if code != 0 || !strings.Contains(out, "connected") {
		t.Errorf("sandboxed connect without NoNetwork: exit %d, stdout %q, stderr %q; want connected", code, out, errOut)
	}
	// And through the shell's /dev/tcp, the way a tool would.
	p.NoNetwork = true
	host, port, _ := strings.Cut(addr, ":")
	_, errOut, code = run(t, p, sandbox.Limits{}, nil, "bash", "-c", "exec 3<>/dev/tcp/"+host+"/"+port)
	if code == 0 {
		t.Errorf("bash /dev/tcp connect under NoNetwork succeeded (stderr %q)", errOut)
	}
}

func TestEnvVarHiddenFromChild(t *testing.T) {
	p := &sandbox.Policy{ReadOnly: sandbox.SystemReadOnly()}
	out, errOut, code := run(t, p, sandbox.Limits{}, []string{"KEEP_ME=1"}, "sh", "-c", `echo "${`+sandbox.EnvVar+`-unset} ${KEEP_ME-}"`)
	if code != 0 || out != "unset 1\n" {
		t.Errorf("child saw %s=%q (exit %d, stderr %q); want unset, other variables kept", sandbox.EnvVar, out, code, errOut)
	}
}

// TestStrayVariableIgnored: the variable alone, without the helper's
// marker argument, does not turn a binary into the helper.
func TestStrayVariableIgnored(t *testing.T) {
	argv, env := proctest.Argv("hello")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), env...), sandbox.EnvVar+`={"landlock":true}`)
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "hello\n" {
		t.Errorf("binary with a stray %s: %q, %v; want it to run as itself", sandbox.EnvVar, out, err)
	}
}

func TestRequiredWithoutLandlockFails(t *testing.T) {
	defer sandbox.FakeNoLandlock()()
	job, outside := t.TempDir(), t.TempDir()
	p := &sandbox.Policy{ReadOnly: sandbox.SystemReadOnly(), ReadWrite: []string{job}, Required: true}
	out, errOut, code := run(t, p, sandbox.Limits{}, nil, "sh", "-c", "echo ran; echo x > "+outside+"/leak")
	if code != sandbox.HelperExitCode || out != "" || exists(filepath.Join(outside, "leak")) {
		t.Fatalf("required policy without Landlock: exit %d, stdout %q; want exit %d before running anything", code, out, sandbox.HelperExitCode)
	}
	if want := "llemma-sandbox: landlock is required but unavailable"; !strings.Contains(errOut, want) {
		t.Errorf("stderr %q, want it to contain %q", errOut, want)
	}

	// Best effort runs unconfined.
	p.Required = false
	out, _, code = run(t, p, sandbox.Limits{}, nil, "sh", "-c", "echo x > "+outside+"/leak && echo ran")
	if code != 0 || out != "ran\n" {
		t.Errorf("best effort without Landlock: exit %d, stdout %q; want it to run unconfined", code, out)
	}
}

func TestCommandChecksInParent(t *testing.T) {
	defer sandbox.SetAvailable(func() (int, string) { return 0, "none: kernel without Landlock (best effort, unconfined)" })()
	_, _, err := (&sandbox.Policy{Required: true}).Wrap([]string{"true"})
	if err == nil || !strings.Contains(err.Error(), "required but unavailable") {
		t.Errorf("Wrap(required) without Landlock: err %v, want required but unavailable", err)
	}
	if got := sandbox.Describe(&sandbox.Policy{}); !strings.HasPrefix(got, "none: kernel without Landlock") {
		t.Errorf("Describe = %q", got)
	}
	if _, _, err := (&sandbox.Policy{}).Wrap([]string{"true"}); err != nil {
		t.Errorf("Wrap(best effort) without Landlock: %v", err)
	}
	sandbox.SetAvailable(func() (int, string) { return 3, "landlock ABI 3" })
	if _, _, err := (&sandbox.Policy{Required: true, NoNetwork: true}).Wrap([]string{"true"}); err == nil {
		t.Errorf("Wrap(required, NoNetwork) on ABI 3: no error")
	}
	if got, want := sandbox.Describe(&sandbox.Policy{NoNetwork: true}), "landlock ABI 3 (network not restricted: needs ABI 4)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
	if got := sandbox.Describe(nil); got != "none: not sandboxed" {
		t.Errorf("Describe(nil) = %q", got)
	}
	if _, _, err := (&sandbox.Policy{ReadWrite: []string{filepath.Join(t.TempDir(), "missing")}}).Wrap([]string{"true"}); err == nil {
		t.Errorf("Wrap with a missing read-write dir: no error")
	}
	if _, _, err := (&sandbox.Policy{}).Wrap(nil); err == nil {
		t.Errorf("Wrap(nil argv): no error")
	}
}

func TestAvailableOnThisKernel(t *testing.T) {
	abi, detail := sandbox.Available()
	t.Logf("Available() = %d, %q", abi, detail)
	if abi > 0 && detail != fmt.Sprintf("landlock ABI %d", abi) {
		t.Errorf("detail %q does not match ABI %d", detail, abi)
	}
	if abi == 0 && !strings.HasPrefix(detail, "none: ") {
		t.Errorf("detail %q should start with none:", detail)
	}
}

func TestLimits(t *testing.T) {
	out, errOut, code := run(t, nil, sandbox.Limits{AddressSpace: 512 << 20, CPU: 1500 * time.Millisecond}, nil, "sh", "-c", "ulimit -v; ulimit -t")
	if code != 0 || out != "524288\n2\n" {
		t.Errorf("limits seen by the child: %q (exit %d, stderr %q); want 524288 KiB and 2 s", out, code, errOut)
	}
}

func TestSystemReadOnly(t *testing.T) {
	ro := sandbox.SystemReadOnly()
	for _, bad := range []string{"/etc/shadow", "/etc/gshadow", "/etc/ssh", "/etc/sudoers", "/etc/ssl/private", "/etc", "/tmp", "/home", "/root", "/"} {
		if slices.Contains(ro, bad) {
			t.Errorf("SystemReadOnly contains %s", bad)
		}
	}
	for _, want := range []string{"/usr", "/bin", "/proc/self"} {
		if !slices.Contains(ro, want) {
			t.Errorf("SystemReadOnly lacks %s", want)
		}
	}
	if exists("/etc/passwd") && !slices.Contains(ro, "/etc/passwd") {
		t.Errorf("SystemReadOnly lacks /etc/passwd")
	}
	if exists("/etc/ssl/certs") && !slices.Contains(ro, "/etc/ssl/certs") {
		t.Errorf("SystemReadOnly lacks /etc/ssl/certs")
	}
}

// TestCoqcConfined compiles a proof file with coqc in the sandbox: a
// plain file compiles, and Redirect to a path outside the job dir, which
// works unconfined (checked first), fails to create the file.
func TestCoqcConfined(t *testing.T) {
	needLandlock(t, 1)
	coqc, err := exec.LookPath("coqc")
	if err != nil {
		t.Skip("coqc not on PATH (apt-get install -y coq)")
	}
	if testing.Short() {
		t.Skip("runs coqc; skipped with -short")
	}
	where, err := exec.Command(coqc, "-where").Output()
	if err != nil {
		t.Fatalf("coqc -where: %v", err)
	}
	outside := t.TempDir()
	leak := filepath.Join(outside, "leak")
	redirect := fmt.Sprintf("Redirect %q Print nat.\n", leak)
	proof := "Theorem two : 1 + 1 = 2.\nProof. reflexivity. Qed.\n"

	compile := func(p *sandbox.Policy, job, text string) (string, int) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(job, "Job.v"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		argv := []string{coqc, "-q", filepath.Join(job, "Job.v")}
		var out string
		var code int
		if p == nil {
			cmd := exec.Command(argv[0], argv[1:]...)
			cmd.Dir = job
			b, err := cmd.CombinedOutput()
			out = string(b)
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				code = ee.ExitCode()
			}
		} else {
			o, e, c := runIn(t, job, p, sandbox.Limits{}, []string{"HOME=" + job}, argv...)
			out, code = o+e, c
		}
		return out, code
	}

	// Unconfined, Redirect writes outside: the escape is real.
	ctl := t.TempDir()
	if out, code := compile(nil, ctl, redirect+proof); code != 0 || !exists(leak+".out") {
		t.Fatalf("unconfined coqc with Redirect: exit %d, %s.out exists %v; output %s", code, leak, exists(leak+".out"), out)
	}
	os.Remove(leak + ".out")

	job := t.TempDir()
	p := &sandbox.Policy{
		ReadOnly:  append(sandbox.SystemReadOnly(), strings.TrimSpace(string(where))),
		ReadWrite: []string{job},
		NoNetwork: true,
	}
	if out, code := compile(p, job, proof); code != 0 || !exists(filepath.Join(job, "Job.vo")) {
		t.Fatalf("sandboxed coqc on a plain proof: exit %d, Job.vo exists %v; output %s", code, exists(filepath.Join(job, "Job.vo")), out)
	}
	out, code := compile(p, job, redirect+proof)
	if exists(leak + ".out") {
		t.Fatalf("sandboxed coqc created %s.out through Redirect (exit %d, output %s)", leak, code, out)
	}
	if code == 0 {
		t.Errorf("sandboxed coqc with Redirect outside: exit 0, want failure; output %s", out)
	}
	t.Logf("sandboxed Redirect: exit %d: %s", code, strings.TrimSpace(out))
}
