package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/sandbox"
)

// Defaults for the zero fields of a Spec.
const (
	DefaultMaxOutput = 8 << 20
	DefaultTailBytes = 4 << 10
	DefaultGrace     = 2 * time.Second
)

// Spec describes one external process.
type Spec struct {
	Name        string          // what it is, for messages: "coqc", "coqtop", "lean repl" (default: base of Argv[0])
	Argv        []string        // Argv[0] is looked up on PATH (the prover's)
	Dir         string          // working directory ("": the prover's)
	Env         []string        // added to os.Environ(); later entries win
	MemoryLimit int64           // RLIMIT_AS in bytes (0: none), set before the program's first instruction
	CPULimit    time.Duration   // RLIMIT_CPU, rounded up to seconds (0: none); SIGXCPU, then SIGKILL a second later
	Sandbox     *sandbox.Policy // nil: not sandboxed (see internal/sandbox)
	Stdin       io.Reader       // Run only (nil: /dev/null). An *os.File is passed as is; another reader is copied by a goroutine, which lives until its Read returns
	MergeOutput bool            // stdout and stderr share one pipe, in order (coqtop -emacs needs this)
	MaxOutput   int             // Run: bytes of stdout, and of stderr, kept (default 8 MiB); beyond that the process is killed: ErrOutputLimit
	TailBytes   int             // stderr tail kept for errors (default 4 KiB); with MergeOutput, the tail of the merged output
	Grace       time.Duration   // Close: wait after closing stdin, and after SIGTERM (default 2 s); also how long Err waits for the reaper
	InstallHint string          // for a StartError when the program is missing, e.g. "install it with: apt-get install -y coq"
}

func (s Spec) withDefaults() Spec {
	if s.MaxOutput <= 0 {
		s.MaxOutput = DefaultMaxOutput
	}
	if s.TailBytes <= 0 {
		s.TailBytes = DefaultTailBytes
	}
	if s.Grace <= 0 {
		s.Grace = DefaultGrace
	}
	if s.Name == "" {
		if len(s.Argv) > 0 {
			s.Name = filepath.Base(s.Argv[0])
		} else {
			s.Name = "process"
		}
	}
	return s
}

// Result is what a Run returns.
type Result struct {
	Stdout, Stderr []byte        // with MergeOutput everything is in Stdout
	ExitCode       int           // -1 when killed by a signal
	Elapsed, CPU   time.Duration // wall, and user+sys of the child and its reaped descendants (from rusage)
	Sandbox        string        // what confined it: "landlock ABI 7", "none: kernel without Landlock (best effort, unconfined)", "none: not sandboxed"
}

var (
	// ErrExited is wrapped by every *ExitError: the process died (or was
	// killed) and can serve no more requests.
	ErrExited = errors.New("proc: process died")
	// ErrTimeout is wrapped when a deadline passed and the process group
	// was killed.
	ErrTimeout = errors.New("proc: deadline exceeded, process group killed")
	// ErrOutputLimit is wrapped when a Run's output passed Spec.MaxOutput
	// and the process group was killed.
	ErrOutputLimit = errors.New("proc: output limit exceeded, process group killed")
	// ErrClosed is returned by a Pool that was closed.
	ErrClosed = errors.New("proc: pool closed")
	// errClosing is the kill reason recorded when Close had to SIGKILL.
	errClosing = errors.New("proc: closed")
	// errKilled is the reason recorded by Kill(nil).
	errKilled = errors.New("proc: killed")
)

// ExitError describes the death of a process: a non-zero exit from Run, or
// what Process.Err reports.
type ExitError struct {
	Name       string
	Err        error  // why: the exit status, or the kill reason with the status
	Code       int    // exit status; -1 when killed by a signal or still running
	StderrTail string // last bytes of stderr, trimmed
}

// Error reads "coqc process died: exit status 1; stderr tail: ...".
func (e *ExitError) Error() string {
	s := e.Name + " process died"
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.StderrTail != "" {
		s += "; stderr tail: " + e.StderrTail
	}
	return s
}

// Unwrap returns ErrExited and Err, for errors.Is and errors.As.
func (e *ExitError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrExited}
	}
	return []error{ErrExited, e.Err}
}

// StartError is a process that could not be started: not found on PATH
// (wraps exec.ErrNotFound), not executable, a bad working directory, a
// sandbox that cannot be set up.
type StartError struct {
	Name string
	Err  error
	Hint string // what the user can do, e.g. "install it with: apt-get install -y coq"
}

// Error reads "starting coqc: exec: "coqc": executable file not found in
// $PATH (install it with: apt-get install -y coq)".
func (e *StartError) Error() string {
	s := "starting " + e.Name + ": " + e.Err.Error()
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns Err.
func (e *StartError) Unwrap() error { return e.Err }

func (s *Spec) startError(err error) *StartError {
	e := &StartError{Name: s.Name, Err: err}
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		e.Hint = s.InstallHint
		if e.Hint == "" {
			e.Hint = "is it installed and on PATH?"
		}
	}
	return e
}

// command builds the exec.Cmd for s (defaults applied), through the
// sandbox helper when s asks for limits or a sandbox.
func (s *Spec) command() (*exec.Cmd, error) {
	if len(s.Argv) == 0 {
		return nil, &StartError{Name: s.Name, Err: errors.New("empty command")}
	}
	if s.Dir != "" {
		// Checked here: a failed chdir in the child looks like a missing
		// program ("fork/exec ...: no such file or directory").
		if fi, err := os.Stat(s.Dir); err != nil {
			return nil, &StartError{Name: s.Name, Err: fmt.Errorf("working directory: %w", err)}
		} else if !fi.IsDir() {
			return nil, &StartError{Name: s.Name, Err: fmt.Errorf("working directory %s is not a directory", s.Dir)}
		}
	}
	path, err := exec.LookPath(s.Argv[0])
	if err != nil {
		return nil, s.startError(err)
	}
	cmd := &exec.Cmd{Path: path, Args: slices.Clone(s.Argv), Dir: s.Dir}
	cmd.Env = append(os.Environ(), s.Env...)
	if s.Sandbox != nil || s.MemoryLimit > 0 || s.CPULimit > 0 {
		argv := append([]string{path}, s.Argv[1:]...)
		lim := sandbox.Limits{AddressSpace: s.MemoryLimit, CPU: s.CPULimit}
		wrapped, env, err := sandbox.Command(s.Sandbox, lim, argv)
		if err != nil {
			return nil, &StartError{Name: s.Name, Err: err}
		}
		cmd.Path, cmd.Args = wrapped[0], wrapped
		cmd.Env = append(cmd.Env, env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	return cmd, nil
}

// forker is the goroutine, locked to its OS thread for the life of the
// program, that forks every child: see "Parent-death signal and Go
// threads" in the package documentation.
var forker struct {
	once sync.Once
	reqs chan forkRequest
}

type forkRequest struct {
	cmd  *exec.Cmd
	done chan error
}

// startOnForker starts cmd from the forker thread. cmd must have only
// *os.File (or nil) stdio, so that os/exec starts no goroutine of its own.
func startOnForker(cmd *exec.Cmd) error {
	forker.once.Do(func() {
		forker.reqs = make(chan forkRequest)
		go func() {
			runtime.LockOSThread() // never unlocked, and this goroutine never returns
			for r := range forker.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	done := make(chan error, 1)
	forker.reqs <- forkRequest{cmd: cmd, done: done}
	return <-done
}

// Run runs spec to completion. timeout (0: only ctx) kills the whole
// process group at the deadline.
//
// Errors: a non-zero exit is *ExitError (Result still filled); killed at
// the deadline: an error wrapping ErrTimeout; output beyond MaxOutput: an
// error wrapping ErrOutputLimit; ctx done: context.Cause(ctx) wrapped;
// could not start: *StartError. The killed cases are not *ExitError, so
// that errors.As(err, &exitErr) means "the program itself failed".
func Run(ctx context.Context, spec Spec, timeout time.Duration) (Result, error) {
	spec = spec.withDefaults()
	res := Result{Sandbox: sandbox.Describe(spec.Sandbox)}
	p, err := start(ctx, spec, true)
	if err != nil {
		return res, err
	}
	if timeout > 0 {
		t := time.AfterFunc(timeout, func() {
			p.Kill(fmt.Errorf("%s killed after %v: %w", spec.Name, timeout, ErrTimeout))
		})
		defer t.Stop()
	}
	stop := context.AfterFunc(ctx, func() {
		p.Kill(fmt.Errorf("%s killed: %w", spec.Name, context.Cause(ctx)))
	})
	defer stop()

	<-p.done
	// The group is dead; a process that left it could still hold the pipes.
	if !waitFor(p.drained, spec.Grace) {
		p.closeReadEnds()
		<-p.drained
	}
	p.closeReadEnds()
	if p.stdinCopy != nil {
		_ = p.stdinCopy.Close()
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	res.Stdout = p.stdoutCap.kept()
	if !spec.MergeOutput {
		res.Stderr = p.tail.kept()
	}
	st := p.state
	res.ExitCode = st.ExitCode()
	res.Elapsed = p.end.Sub(p.begin)
	res.CPU = st.UserTime() + st.SystemTime()
	// A kill that crossed a normal exit did nothing, unless it was for the
	// output limit: then the output is truncated whatever the status.
	if p.killedAlive && (!st.Exited() || errors.Is(p.reason, ErrOutputLimit)) {
		err := p.reason
		if tail := p.tail.tailString(); tail != "" {
			err = fmt.Errorf("%w; stderr tail: %s", err, tail)
		}
		return res, err
	}
	if !st.Success() {
		return res, &ExitError{Name: spec.Name, Err: p.waitErr, Code: res.ExitCode, StderrTail: p.tail.tailString()}
	}
	return res, nil
}

func waitFor(ch <-chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ch:
		return true
	case <-t.C:
		return false
	}
}
