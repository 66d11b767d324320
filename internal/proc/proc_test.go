package proc_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/internal/sandbox"
)

// waitGone fails t unless pid exits within d. It waits on a pidfd, which
// becomes readable when the process exits (reaped or not).
func waitGone(t *testing.T, pid int, d time.Duration) {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return // already gone and reaped
	}
	if err != nil {
		t.Fatalf("pidfd_open(%d): %v", pid, err)
	}
	defer unix.Close(fd)
	if !pollReadable(t, fd, d) {
		t.Errorf("process %d still alive after %v", pid, d)
	}
}

func pollReadable(t *testing.T, fd int, d time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(max(time.Until(deadline), 0).Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		return n > 0
	}
}

func TestRunOK(t *testing.T) {
	t.Parallel()
	spec := fake("ok", "hello", "world")
	res, err := proc.Run(context.Background(), spec, 30*time.Second)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if string(res.Stdout) != "hello world\n" || string(res.Stderr) != "a note on stderr\n" {
		t.Errorf("stdout %q stderr %q", res.Stdout, res.Stderr)
	}
	if res.ExitCode != 0 || res.Elapsed <= 0 || res.CPU <= 0 {
		t.Errorf("exit %d elapsed %v cpu %v", res.ExitCode, res.Elapsed, res.CPU)
	}
	if res.Sandbox != "none: not sandboxed" {
		t.Errorf("Sandbox %q", res.Sandbox)
	}
}

func TestRunExitError(t *testing.T) {
	t.Parallel()
	res, err := proc.Run(context.Background(), fake("exit3"), 30*time.Second)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || !errors.Is(err, proc.ErrExited) {
		t.Fatalf("Run = %v, want *ExitError", err)
	}
	if ee.Code != 3 || res.ExitCode != 3 || ee.StderrTail != "Error: the proof is not finished" {
		t.Errorf("code %d (result %d), tail %q", ee.Code, res.ExitCode, ee.StderrTail)
	}
	if want := "exit3 process died: exit status 3; stderr tail: Error: the proof is not finished"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if errors.Is(err, proc.ErrTimeout) {
		t.Errorf("a plain exit is not a timeout")
	}
}

func TestRunTimeoutKillsGroup(t *testing.T) {
	t.Parallel()
	// The fake must print its grandchild's pid before the deadline; on a
	// loaded machine it may not, so the deadline grows until it does.
	for _, timeout := range []time.Duration{500 * time.Millisecond, 2 * time.Second, 8 * time.Second} {
		start := time.Now()
		res, err := proc.Run(context.Background(), fake("hang-group"), timeout)
		if !errors.Is(err, proc.ErrTimeout) {
			t.Fatalf("Run = %v, want ErrTimeout", err)
		}
		var ee *proc.ExitError
		if errors.As(err, &ee) {
			t.Errorf("a timeout should not be an *ExitError: %v", err)
		}
		if el := time.Since(start); el > timeout+20*time.Second {
			t.Errorf("Run took %v with a %v timeout", el, timeout)
		}
		if res.ExitCode != -1 {
			t.Errorf("exit code %d, want -1 (killed)", res.ExitCode)
		}
		pid, perr := strconv.Atoi(strings.TrimSpace(string(res.Stdout)))
		if perr != nil {
			t.Logf("no grandchild pid within %v (stdout %q); retrying with more time", timeout, res.Stdout)
			continue
		}
		waitGone(t, pid, 10*time.Second)
		return
	}
	t.Fatalf("the fake never printed its grandchild's pid")
}

func TestRunOutputLimit(t *testing.T) {
	t.Parallel()
	spec := fake("flood-stdout")
	spec.MaxOutput = 64 << 10
	res, err := proc.Run(context.Background(), spec, time.Minute)
	if !errors.Is(err, proc.ErrOutputLimit) {
		t.Fatalf("Run = %v, want ErrOutputLimit", err)
	}
	if len(res.Stdout) != 64<<10 || !bytes.HasPrefix(res.Stdout, []byte("garbage ")) {
		t.Errorf("kept %d bytes of stdout, want %d", len(res.Stdout), 64<<10)
	}
}

func TestRunStdinMergedDirEnv(t *testing.T) {
	t.Parallel()
	spec := fake("cat")
	spec.Stdin = strings.NewReader("line one\nline two\n")
	res, err := proc.Run(context.Background(), spec, 30*time.Second)
	if err != nil || string(res.Stdout) != "line one\nline two\n" {
		t.Errorf("cat from a reader: %q, %v", res.Stdout, err)
	}

	f, err := os.Open(filepath.Join("doc.go"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	spec.Stdin = f
	res, err = proc.Run(context.Background(), spec, 30*time.Second)
	if want, _ := os.ReadFile("doc.go"); err != nil || !bytes.Equal(res.Stdout, want) {
		t.Errorf("cat from a file: %d bytes, %v", len(res.Stdout), err)
	}

	spec = fake("merged")
	spec.MergeOutput = true
	res, err = proc.Run(context.Background(), spec, 30*time.Second)
	if err != nil || string(res.Stdout) != "out1\nerr1\nout2\n" || res.Stderr != nil {
		t.Errorf("merged: stdout %q stderr %q, %v", res.Stdout, res.Stderr, err)
	}

	dir := t.TempDir()
	spec = fake("pwd-env", "LLEMMA_TEST_VAR")
	spec.Dir = dir
	spec.Env = append(spec.Env, "LLEMMA_TEST_VAR=set by spec")
	res, err = proc.Run(context.Background(), spec, 30*time.Second)
	if want := dir + "\nset by spec\n"; err != nil || string(res.Stdout) != want {
		t.Errorf("pwd-env: %q, %v; want %q", res.Stdout, err, want)
	}
}

func TestRunContextCancel(t *testing.T) {
	t.Parallel()
	fifo := filepath.Join(t.TempDir(), "started")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	cause := errors.New("the theorem budget is spent")
	ctx, cancel := context.WithCancelCause(context.Background())
	go func() {
		// Opening the FIFO blocks until the fake opens it: it is running.
		f, err := os.Open(fifo)
		if err == nil {
			bufio.NewReader(f).ReadString('\n')
			f.Close()
		}
		cancel(cause)
	}()
	res, err := proc.Run(ctx, fake("fifo-hang", fifo), time.Minute)
	if !errors.Is(err, cause) || errors.Is(err, proc.ErrTimeout) {
		t.Fatalf("Run = %v, want the ctx cause", err)
	}
	if res.ExitCode != -1 {
		t.Errorf("exit code %d, want -1 (killed)", res.ExitCode)
	}
	// A ctx already done: nothing starts.
	if _, err := proc.Run(ctx, fake("ok"), 0); !errors.Is(err, cause) {
		t.Errorf("Run with a done ctx = %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	spec := proc.Spec{Name: "coqc", Argv: []string{"llemma-no-such-program"}, InstallHint: "install it with: apt-get install -y coq"}
	_, err := proc.Run(context.Background(), spec, 0)
	var se *proc.StartError
	if !errors.As(err, &se) || !errors.Is(err, exec.ErrNotFound) || se.Hint != spec.InstallHint {
		t.Fatalf("Run(missing) = %#v, want *StartError wrapping exec.ErrNotFound with the hint", err)
	}
	if !strings.HasPrefix(err.Error(), "starting coqc: ") || !strings.HasSuffix(err.Error(), "(install it with: apt-get install -y coq)") {
		t.Errorf("Error() = %q", err)
	}
	if _, err := proc.Start(context.Background(), spec); !errors.As(err, &se) {
		t.Errorf("Start(missing) = %v, want *StartError", err)
	}
	if _, err := proc.Start(context.Background(), proc.Spec{}); !errors.As(err, &se) {
		t.Errorf("Start(empty argv) = %v, want *StartError", err)
	}
	bad := fake("ok")
	bad.Dir = filepath.Join(t.TempDir(), "missing")
	if _, err := proc.Run(context.Background(), bad, 0); !errors.As(err, &se) || se.Hint != "" {
		t.Errorf("Run(bad dir) = %v, want *StartError without an install hint", err)
	}
}

// readLine reads one line from p's stdout under Do.
func readLine(t *testing.T, p *proc.Process, br *bufio.Reader, timeout time.Duration) (string, error) {
	t.Helper()
	var line string
	err := p.Do(context.Background(), timeout, func() error {
		var err error
		line, err = br.ReadString('\n')
		return err
	})
	return strings.TrimSuffix(line, "\n"), err
}

func TestStartEchoAndClose(t *testing.T) {
	t.Parallel()
	p, err := proc.Start(context.Background(), fake("echo"))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(p.Stdout())
	for _, msg := range []string{"Goal 1 = 1.", "reflexivity."} {
		var got string
		err := p.Do(context.Background(), 30*time.Second, func() error {
			if _, err := fmt.Fprintln(p.Stdin(), msg); err != nil {
				return err
			}
			line, err := br.ReadString('\n')
			got = strings.TrimSpace(line)
			return err
		})
		if err != nil || got != msg {
			t.Fatalf("round trip %q: got %q, %v", msg, got, err)
		}
	}
	if p.Exited() || p.Pid() <= 0 {
		t.Errorf("Exited %v pid %d", p.Exited(), p.Pid())
	}
	if rss := p.RSS(); rss <= 0 {
		t.Errorf("RSS() = %d for a live process", rss)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if !p.Exited() {
		t.Errorf("not reaped after Close")
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if p.RSS() != 0 {
		t.Errorf("RSS after exit = %d", p.RSS())
	}
}

func TestCloseEscalatesToSIGKILL(t *testing.T) {
	t.Parallel()
	spec := fake("ignore-term")
	spec.Grace = 200 * time.Millisecond
	p, err := proc.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(p.Stdout())
	if line, err := readLine(t, p, br, 30*time.Second); err != nil || line != "ready" {
		t.Fatalf("first line %q, %v", line, err)
	}
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Errorf("Close = %v, want nil (stopped by Close)", err)
	}
	if el := time.Since(start); el < 2*spec.Grace {
		t.Errorf("Close took %v; it should have waited out stdin EOF and SIGTERM (2 × %v)", el, spec.Grace)
	}
	var ee *proc.ExitError
	if err := p.Err(nil); !errors.As(err, &ee) || !strings.Contains(ee.Err.Error(), "signal: killed") {
		t.Errorf("Err after Close = %v, want killed by SIGKILL", err)
	}
}

func TestStderrFloodNeverBlocks(t *testing.T) {
	t.Parallel()
	p, err := proc.Start(context.Background(), fake("flood-stderr", strconv.Itoa(16<<20)))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	br := bufio.NewReader(p.Stdout())
	if line, err := readLine(t, p, br, time.Minute); err != nil || line != "done" {
		t.Fatalf("after 16 MiB of stderr: %q, %v (the child blocked?)", line, err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	tail := p.StderrTail()
	if !strings.HasSuffix(tail, "END-OF-FLOOD") || len(tail) > proc.DefaultTailBytes {
		t.Errorf("tail: %d bytes ending %q", len(tail), tail[max(0, len(tail)-40):])
	}
}

func TestDieOnStart(t *testing.T) {
	t.Parallel()
	p, err := proc.Start(context.Background(), fake("die-on-start"))
	if err != nil {
		t.Fatalf("Start: %v (a program that exits at once still starts)", err)
	}
	br := bufio.NewReader(p.Stdout())
	if _, err := readLine(t, p, br, 30*time.Second); !errors.Is(err, io.EOF) {
		t.Fatalf("read from a dead process: %v, want EOF", err)
	}
	err = p.Err(nil)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || ee.Code != 1 || ee.StderrTail != "fatal: cannot load the prelude" {
		t.Fatalf("Err = %#v", err)
	}
	if want := "die-on-start process died: exit status 1; stderr tail: fatal: cannot load the prelude"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if err := p.Close(); !errors.As(err, &ee) {
		t.Errorf("Close of a process that died of itself = %v, want *ExitError", err)
	}
}

func TestSlowStart(t *testing.T) {
	t.Parallel()
	p, err := proc.Start(context.Background(), fake("slow-start", "300ms"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	br := bufio.NewReader(p.Stdout())
	if line, err := readLine(t, p, br, 30*time.Second); err != nil || line != "ready" {
		t.Fatalf("slow start: %q, %v", line, err)
	}

	// The same program, given less time than it needs to start, is killed.
	q, err := proc.Start(context.Background(), fake("slow-start", "1h"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	if _, err := readLine(t, q, bufio.NewReader(q.Stdout()), 100*time.Millisecond); !errors.Is(err, proc.ErrTimeout) {
		t.Errorf("start within 100ms: %v, want ErrTimeout", err)
	}
	<-q.Done()
}

func TestDoTimeoutUnblocksRead(t *testing.T) {
	t.Parallel()
	p, err := proc.Start(context.Background(), fake("block"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	br := bufio.NewReader(p.Stdout())
	if line, err := readLine(t, p, br, 30*time.Second); err != nil || line != "ready" {
		t.Fatalf("first line %q, %v", line, err)
	}
	var readErr error
	err = p.Do(context.Background(), 200*time.Millisecond, func() error {
		_, readErr = br.ReadString('\n') // never answered
		return readErr
	})
	if !errors.Is(err, proc.ErrTimeout) {
		t.Fatalf("Do = %v, want ErrTimeout", err)
	}
	if !errors.Is(readErr, os.ErrDeadlineExceeded) {
		t.Errorf("the blocked read returned %v, want os.ErrDeadlineExceeded", readErr)
	}
	<-p.Done() // killed
	if err := p.Err(nil); !errors.Is(err, proc.ErrTimeout) || !errors.Is(err, proc.ErrExited) {
		t.Errorf("Err = %v, want ErrExited and the recorded ErrTimeout", err)
	}
}

func TestDoContextCancel(t *testing.T) {
	t.Parallel()
	p, err := proc.Start(context.Background(), fake("block"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	br := bufio.NewReader(p.Stdout())
	if line, err := readLine(t, p, br, 30*time.Second); err != nil || line != "ready" {
		t.Fatalf("first line %q, %v", line, err)
	}
	cause := errors.New("ctrl-c")
	ctx, cancel := context.WithCancelCause(context.Background())
	err = p.Do(ctx, time.Hour, func() error {
		cancel(cause) // the caller gives up while the request is in flight
		_, err := br.ReadString('\n')
		return err
	})
	if !errors.Is(err, cause) || errors.Is(err, proc.ErrTimeout) {
		t.Fatalf("Do = %v, want the ctx cause", err)
	}
	<-p.Done()
	// Do with a done ctx does not run fn.
	ran := false
	if err := p.Do(ctx, 0, func() error { ran = true; return nil }); !errors.Is(err, cause) || ran {
		t.Errorf("Do(done ctx) = %v, ran %v", err, ran)
	}
	// fn's own error passes through.
	q, err := proc.Start(context.Background(), fake("echo"))
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	mine := errors.New("bad reply")
	if err := q.Do(context.Background(), time.Minute, func() error { return mine }); err != mine {
		t.Errorf("Do = %v, want fn's error", err)
	}
}

func TestKillIsIdempotent(t *testing.T) {
	t.Parallel()
	p, err := proc.Start(context.Background(), fake("block"))
	if err != nil {
		t.Fatal(err)
	}
	first := errors.New("first reason")
	p.Kill(first)
	p.Kill(errors.New("second reason"))
	<-p.Done()
	if err := p.Err(nil); !errors.Is(err, first) {
		t.Errorf("Err = %v, want the first reason", err)
	}
	cause := errors.New("the caller's view")
	if err := p.Err(cause); !errors.Is(err, cause) {
		t.Errorf("Err(cause) = %v, want cause", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close after Kill = %v", err)
	}
}

func TestMergedStart(t *testing.T) {
	t.Parallel()
	spec := fake("merged")
	spec.MergeOutput = true
	p, err := proc.Start(context.Background(), spec)
	if err != nil {
		t.Fatal(err)
	}
	var all bytes.Buffer
	err = p.Do(context.Background(), 30*time.Second, func() error {
		_, err := all.ReadFrom(p.Stdout())
		return err
	})
	if err != nil || all.String() != "out1\nerr1\nout2\n" {
		t.Errorf("merged stdout %q, %v", all.String(), err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if tail := p.StderrTail(); tail != "out1\nerr1\nout2" {
		t.Errorf("tail of merged output %q", tail)
	}
}

func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	// A Go child needs about 1 GiB of address space to start at all (more
	// under -race), so the limit is 2 GiB and the fake asks for 6.
	spec := fake("alloc", "6144")
	spec.MemoryLimit = 2 << 30
	res, err := proc.Run(context.Background(), spec, time.Minute)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || strings.Contains(string(res.Stdout), "allocated") {
		t.Fatalf("allocating 6 GiB under a 2 GiB limit: %v, stdout %q; want it to die", err, res.Stdout)
	}
	// "out of memory" normally, "too many address space collisions" under -race.
	if !strings.Contains(string(res.Stderr), "fatal error: ") {
		t.Errorf("stderr begins %q, want a fatal runtime error", res.Stderr[:min(len(res.Stderr), 300)])
	}
	spec = fake("alloc", "16")
	spec.MemoryLimit = 2 << 30
	if res, err := proc.Run(context.Background(), spec, time.Minute); err != nil || !strings.Contains(string(res.Stdout), "allocated 16 MiB") {
		t.Errorf("16 MiB under the limit: %q, %v", res.Stdout, err)
	}
}

func TestCPULimit(t *testing.T) {
	t.Parallel()
	spec := fake("spin")
	spec.CPULimit = time.Second
	res, err := proc.Run(context.Background(), spec, time.Minute)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || ee.Code != -1 {
		t.Fatalf("spinning under a 1 s CPU limit: %v, want killed by a signal", err)
	}
	if res.CPU < 900*time.Millisecond {
		t.Errorf("CPU %v, want about the limit", res.CPU)
	}
}

func TestPdeathsigOnKill9(t *testing.T) {
	t.Parallel()
	starter, err := proc.Start(context.Background(), fake("starter"))
	if err != nil {
		t.Fatal(err)
	}
	defer starter.Close()
	line, err := readLine(t, starter, bufio.NewReader(starter.Stdout()), 30*time.Second)
	if err != nil {
		t.Fatalf("starter: %v", err)
	}
	child, err := strconv.Atoi(line)
	if err != nil {
		t.Fatalf("starter said %q: %v (stderr %q)", line, err, starter.StderrTail())
	}
	fd, err := unix.PidfdOpen(child, 0)
	if err != nil {
		t.Fatalf("pidfd_open(child %d): %v", child, err)
	}
	defer unix.Close(fd)
	if pollReadable(t, fd, 0) {
		t.Fatalf("child %d already dead", child)
	}
	// kill -9 of the starter alone (the child is in a group of its own).
	if err := unix.Kill(starter.Pid(), unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if !pollReadable(t, fd, 10*time.Second) {
		t.Errorf("child %d survived the SIGKILL of its parent", child)
	}
}

// TestPdeathsigSurvivesThreadExit starts a child from a goroutine that
// locks its thread and exits, which ends the thread: a child forked from
// that thread would get its parent-death signal then.
func TestPdeathsigSurvivesThreadExit(t *testing.T) {
	t.Parallel()
	type started struct {
		p   *proc.Process
		tfd int
		err error
	}
	ch := make(chan started)
	var try func()
	try = func() {
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		tid := unix.Gettid()
		if tid == os.Getpid() {
			go try() // the main thread is never ended; use another
			return
		}
		tfd, err := unix.PidfdOpen(tid, unix.PIDFD_THREAD)
		if err != nil {
			ch <- started{err: fmt.Errorf("pidfd_open(thread %d, PIDFD_THREAD): %w", tid, err)}
			return
		}
		p, err := proc.Start(context.Background(), fake("echo"))
		ch <- started{p: p, tfd: tfd, err: err}
	}
	go try()
	s := <-ch
	if s.err != nil {
		if s.p == nil && strings.Contains(s.err.Error(), "PIDFD_THREAD") {
			t.Skipf("kernel cannot wait for a thread: %v", s.err)
		}
		t.Fatal(s.err)
	}
	defer unix.Close(s.tfd)
	defer s.p.Close()
	if !pollReadable(t, s.tfd, 10*time.Second) {
		t.Fatalf("the locked thread did not exit")
	}
	br := bufio.NewReader(s.p.Stdout())
	err := s.p.Do(context.Background(), 30*time.Second, func() error {
		if _, err := fmt.Fprintln(s.p.Stdin(), "still here"); err != nil {
			return err
		}
		_, err := br.ReadString('\n')
		return err
	})
	if err != nil || s.p.Exited() {
		t.Errorf("child after its starting thread exited: %v (exited %v, %v)", err, s.p.Exited(), s.p.Err(nil))
	}
}

func TestSandboxedRun(t *testing.T) {
	t.Parallel()
	if abi, detail := sandbox.Available(); abi < 1 {
		t.Skipf("no Landlock: %s", detail)
	}
	job, outside := t.TempDir(), t.TempDir()
	spec := proc.Spec{
		Name:    "sh",
		Argv:    []string{"sh", "-c", "echo in > " + job + "/f && echo out > " + outside + "/f"},
		Sandbox: &sandbox.Policy{ReadOnly: sandbox.SystemReadOnly(), ReadWrite: []string{job}, NoNetwork: true},
		Dir:     job,
	}
	res, err := proc.Run(context.Background(), spec, 30*time.Second)
	var ee *proc.ExitError
	if !errors.As(err, &ee) || !strings.Contains(ee.StderrTail, "Permission denied") {
		t.Errorf("Run = %v, want the write outside refused", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "f")); err == nil {
		t.Errorf("the sandboxed shell wrote outside its job dir")
	}
	if b, _ := os.ReadFile(filepath.Join(job, "f")); string(b) != "in\n" {
		t.Errorf("job/f = %q", b)
	}
	if !strings.HasPrefix(res.Sandbox, "landlock ABI ") {
		t.Errorf("Result.Sandbox = %q", res.Sandbox)
	}
}

func TestParseVmRSS(t *testing.T) {
	t.Parallel()
	status := []byte("Name:\tcoqtop\nVmPeak:\t  9999 kB\nVmRSS:\t    1234 kB\nRssAnon:\t 1000 kB\n")
	if got := proc.ParseVmRSS(status); got != 1234<<10 {
		t.Errorf("ParseVmRSS = %d", got)
	}
	if got := proc.ParseVmRSS([]byte("Name:\tzombie\n")); got != 0 {
		t.Errorf("ParseVmRSS(no VmRSS) = %d", got)
	}
}
