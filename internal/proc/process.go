package proc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llemma-prove/llemma-prove/internal/sandbox"
)

// Process is a long-lived supervised child, from Start. Its methods are
// safe for concurrent use; reading Stdout and writing Stdin are the
// caller's (one request in flight: see Do).
type Process struct {
	name    string
	pid     int
	cmd     *exec.Cmd
	grace   time.Duration
	sandbox string
	begin   time.Time

	stdin     *os.File   // write end (Start), nil for Run
	stdinCopy *os.File   // Run: write end fed from Spec.Stdin by a goroutine
	stdout    *os.File   // read end the caller reads (Start) or the collector reads (Run)
	readEnds  []*os.File // every read end of ours, closed once the drainers are done

	done    chan struct{} // closed when reaped
	drained chan struct{} // closed when every drainer hit EOF

	tail      *capture // stderr, or the merged output
	stdoutCap *capture // Run: stdout (nil for Start)

	mu          sync.Mutex
	zombie      bool  // the leader exited: never signal its pid or group again
	killCalled  bool  // Kill ran
	killedAlive bool  // Kill signalled a live process (so it did kill it)
	signaled    bool  // Kill or Close signalled it while alive
	reason      error // the first Kill reason
	state       *os.ProcessState
	waitErr     error
	end         time.Time

	doSem     chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Start starts a long-lived process: own process group, rlimits, sandbox,
// PR_SET_PDEATHSIG=SIGKILL from a thread that never exits (see the package
// documentation), stderr drained into a tail buffer by a goroutine (the
// child never blocks on it), and a reaper goroutine. ctx bounds the start
// only: the process lives until Kill or Close (or its own death), never
// until ctx ends. Spec.Stdin and MaxOutput are not used. A program that
// exits at once still starts: its death shows as EOF on Stdout and in Err.
func Start(ctx context.Context, spec Spec) (*Process, error) {
	return start(ctx, spec.withDefaults(), false)
}

// start starts spec (defaults applied) for Start, or for Run (collecting
// stdout and stderr, Stdin from spec).
func start(ctx context.Context, spec Spec, run bool) (p *Process, err error) {
	if ctx.Err() != nil {
		return nil, fmt.Errorf("starting %s: %w", spec.Name, context.Cause(ctx))
	}
	cmd, err := spec.command()
	if err != nil {
		return nil, err
	}
	p = &Process{
		name:    spec.Name,
		cmd:     cmd,
		grace:   spec.Grace,
		sandbox: sandbox.Describe(spec.Sandbox),
		done:    make(chan struct{}),
		drained: make(chan struct{}),
		tail:    &capture{tailMax: spec.TailBytes},
		doSem:   make(chan struct{}, 1),
	}
	var childEnds, ours []*os.File
	defer func() {
		for _, f := range childEnds {
			_ = f.Close() // the child has its copies
		}
		if err != nil {
			for _, f := range ours {
				_ = f.Close()
			}
		}
	}()
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err != nil {
			return nil, nil, &StartError{Name: spec.Name, Err: fmt.Errorf("creating a pipe: %w", err)}
		}
		return r, w, nil
	}

	var copyIn io.Reader
	if run {
		switch in := spec.Stdin.(type) {
		case nil:
		case *os.File:
			cmd.Stdin = in
		default:
			r, w, err := pipe()
			if err != nil {
				return nil, err
			}
			childEnds, ours = append(childEnds, r), append(ours, w)
			cmd.Stdin, p.stdinCopy, copyIn = r, w, in
		}
	} else {
		r, w, err := pipe()
		if err != nil {
			return nil, err
		}
		childEnds, ours = append(childEnds, r), append(ours, w)
		cmd.Stdin, p.stdin = r, w
	}

	outR, outW, err := pipe()
	if err != nil {
		return nil, err
	}
	childEnds, ours = append(childEnds, outW), append(ours, outR)
	cmd.Stdout = outW
	p.readEnds = append(p.readEnds, outR)

	type drainer struct {
		from *os.File
		into *capture
		to   *os.File // copy on to this pipe (merged output of Start), or nil
	}
	var drainers []drainer
	switch {
	case spec.MergeOutput:
		cmd.Stderr = outW
		if run {
			p.stdout = outR
			p.stdoutCap = p.tail
			p.tail.keepMax = spec.MaxOutput
			drainers = append(drainers, drainer{from: outR, into: p.tail})
		} else {
			// Interpose a copier so the tail of the merged output is kept
			// for Err, as it is for stderr.
			userR, userW, err := pipe()
			if err != nil {
				return nil, err
			}
			ours = append(ours, userR, userW)
			p.stdout = userR
			p.readEnds = append(p.readEnds, userR)
			drainers = append(drainers, drainer{from: outR, into: p.tail, to: userW})
		}
	default:
		errR, errW, err := pipe()
		if err != nil {
			return nil, err
		}
		childEnds, ours = append(childEnds, errW), append(ours, errR)
		cmd.Stderr = errW
		p.readEnds = append(p.readEnds, errR)
		p.stdout = outR
		if run {
			p.stdoutCap = &capture{keepMax: spec.MaxOutput}
			p.tail.keepMax = spec.MaxOutput
			drainers = append(drainers, drainer{from: outR, into: p.stdoutCap})
		}
		drainers = append(drainers, drainer{from: errR, into: p.tail})
	}

	p.begin = time.Now()
	if err := startOnForker(cmd); err != nil {
		return nil, spec.startError(err)
	}
	p.pid = cmd.Process.Pid

	var wg sync.WaitGroup
	for _, d := range drainers {
		wg.Go(func() { p.drain(d.from, d.into, d.to, spec.MaxOutput) })
	}
	go func() {
		wg.Wait()
		close(p.drained)
	}()
	go p.reap()
	if copyIn != nil {
		w := p.stdinCopy
		go func() {
			_, _ = io.Copy(w, copyIn)
			_ = w.Close()
		}()
	}
	return p, nil
}

// drain reads r to EOF into c; with to, it forwards what it read (and
// closes to at the end). Past c's keep limit it kills the process with
// ErrOutputLimit and goes on reading, so the child never blocks.
func (p *Process) drain(r *os.File, c *capture, to *os.File, maxOutput int) {
	if to != nil {
		defer to.Close()
	}
	buf := make([]byte, 32<<10)
	forward := to != nil
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if c.write(buf[:n]) {
				p.Kill(fmt.Errorf("%s killed after more than %d bytes of output: %w", p.name, maxOutput, ErrOutputLimit))
			}
			if forward {
				if _, werr := to.Write(buf[:n]); werr != nil {
					forward = false // the reader is gone (Close); keep the tail going
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// reap waits for the leader to exit, kills what is left of its group while
// the leader is still an unreaped zombie (so the group id cannot have been
// reused), then reaps it.
func (p *Process) reap() {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, p.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	end := time.Now()
	p.mu.Lock()
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
	p.zombie = true
	p.mu.Unlock()
	err := p.cmd.Wait()
	p.mu.Lock()
	p.state, p.waitErr, p.end = p.cmd.ProcessState, err, end
	p.mu.Unlock()
	close(p.done)
}

// Pid is the process id, which is also its process group id.
func (p *Process) Pid() int { return p.pid }

// Name is Spec.Name.
func (p *Process) Name() string { return p.name }

// Sandbox says what confines the process (see Result.Sandbox).
func (p *Process) Sandbox() string { return p.sandbox }

// Stdin is the write end of the child's stdin (an *os.File, so
// SetWriteDeadline works).
func (p *Process) Stdin() *os.File { return p.stdin }

// Stdout is the read end of the child's stdout (SetReadDeadline works);
// with MergeOutput, stderr arrives here too, in order. After Kill, reads
// fail with os.ErrDeadlineExceeded.
func (p *Process) Stdout() *os.File { return p.stdout }

// Done is closed when the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited and been reaped.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// StderrTail is the last Spec.TailBytes of stderr (with MergeOutput, of
// the merged output), trimmed, invalid UTF-8 replaced.
func (p *Process) StderrTail() string { return p.tail.tailString() }

// Kill SIGKILLs the process group, once: later calls do nothing. It
// records reason (the first one given; nil records a generic one) for Err,
// and unblocks readers of Stdout and writers of Stdin by moving their
// deadlines to the past. It does not wait for the process to be reaped:
// <-Done() does.
func (p *Process) Kill(reason error) {
	if reason == nil {
		reason = errKilled
	}
	p.mu.Lock()
	first := !p.killCalled
	if first {
		p.killCalled = true
		p.reason = reason
		if !p.zombie {
			p.killedAlive, p.signaled = true, true
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			_ = syscall.Kill(p.pid, syscall.SIGKILL) // in case it left its group
		}
	}
	p.mu.Unlock()
	if first {
		past := time.Unix(1, 0)
		_ = p.stdout.SetReadDeadline(past)
		if p.stdin != nil {
			_ = p.stdin.SetWriteDeadline(past)
		}
	}
}

// terminate sends SIGTERM to a live group.
func (p *Process) terminate() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.zombie {
		p.signaled = true
		_ = syscall.Kill(-p.pid, syscall.SIGTERM)
	}
}

// Close stops the process gracefully and releases its pipes: close stdin,
// wait Grace for it to exit, SIGTERM the group, wait Grace, SIGKILL the
// group, wait until reaped. It is idempotent: later calls return the first
// result. The result is nil when the process exited successfully or was
// stopped by a signal from Kill or Close, and an *ExitError when it died
// of itself with a failure status.
func (p *Process) Close() error {
	p.closeOnce.Do(func() { p.closeErr = p.close() })
	return p.closeErr
}

func (p *Process) close() error {
	if p.stdin != nil {
		_ = p.stdin.Close()
	}
	if !waitFor(p.done, p.grace) {
		p.terminate()
		if !waitFor(p.done, p.grace) {
			p.Kill(errClosing)
			<-p.done
		}
	}
	// What the caller did not read is of no use now; closing it also frees
	// the merged-output copier if it was blocked on the caller. Then give
	// stderr (or the merged output) a moment to reach EOF, for the tail.
	_ = p.stdout.Close()
	waitFor(p.drained, p.grace)
	p.closeReadEnds()
	p.mu.Lock()
	failed := !p.signaled && !p.state.Success()
	p.mu.Unlock()
	if failed {
		return p.exitError(nil)
	}
	return nil
}

// closeReadEnds closes our read ends, which ends drainers that a process
// outside the group (holding a pipe) would keep waiting.
func (p *Process) closeReadEnds() {
	for _, f := range p.readEnds {
		_ = f.Close()
	}
}

// Err describes the process's death as an *ExitError: cause (or the Kill
// reason, if cause is nil) together with the exit status and the stderr
// tail. It waits up to Grace for the reaper and for stderr's EOF, so call
// it after Kill or after reading EOF; a process still running after that
// is reported as such. errors.Is(err, ErrExited) holds, and so does
// errors.Is(err, cause).
func (p *Process) Err(cause error) error {
	t := time.NewTimer(p.grace)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
		return p.exitError(cause)
	}
	select {
	case <-p.drained:
	case <-t.C:
	}
	return p.exitError(cause)
}

func (p *Process) exitError(cause error) *ExitError {
	e := &ExitError{Name: p.name, Code: -1, StderrTail: p.tail.tailString()}
	p.mu.Lock()
	defer p.mu.Unlock()
	why := cause
	if why == nil {
		why = p.reason
	}
	var status error
	if p.state != nil {
		e.Code = p.state.ExitCode()
		status = p.waitErr
		if status == nil {
			status = errors.New("exit status 0")
		}
	}
	switch {
	case why != nil && status != nil:
		e.Err = fmt.Errorf("%w (%v)", why, status)
	case why != nil:
		e.Err = fmt.Errorf("%w (still running)", why)
	case status != nil:
		e.Err = status
	default:
		e.Err = errors.New("stopped answering (still running)")
	}
	return e
}

// Do runs fn, which does one request's I/O on Stdin and Stdout. If timeout
// (0: none) elapses or ctx ends first, the process group is killed, which
// unblocks fn's reads and writes, and Do returns, once fn has returned, an
// error wrapping ErrTimeout (or ctx's cause). Otherwise it returns fn's
// error. Calls are serialised: one Do at a time (a second waits, with its
// ctx). fn must block only on the process's pipes.
func (p *Process) Do(ctx context.Context, timeout time.Duration, fn func() error) error {
	select {
	case p.doSem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", p.name, context.Cause(ctx))
	}
	defer func() { <-p.doSem }()
	if ctx.Err() != nil {
		return fmt.Errorf("%s: %w", p.name, context.Cause(ctx))
	}
	var once sync.Once
	var fired error
	fire := func(reason error) {
		once.Do(func() {
			fired = reason
			p.Kill(reason)
		})
	}
	var timer *time.Timer
	if timeout > 0 {
		timer = time.AfterFunc(timeout, func() {
			fire(fmt.Errorf("%s: no answer within %v: %w", p.name, timeout, ErrTimeout))
		})
	}
	stop := context.AfterFunc(ctx, func() {
		fire(fmt.Errorf("%s: %w", p.name, context.Cause(ctx)))
	})
	err := fn()
	if timer != nil {
		timer.Stop()
	}
	stop()
	once.Do(func() {}) // waits for a kill in progress; none can start after
	if fired != nil {
		return fired
	}
	return err
}

// capture keeps the first keepMax bytes written (keepMax 0: none) and the
// last tailMax bytes.
type capture struct {
	mu      sync.Mutex
	keep    []byte
	keepMax int
	over    bool
	tail    []byte
	tailMax int
}

// write records b and reports whether this write passed keepMax (once).
func (c *capture) write(b []byte) (overflowed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keepMax > 0 && !c.over {
		room := c.keepMax - len(c.keep)
		if len(b) > room {
			c.keep = append(c.keep, b[:room]...)
			c.over, overflowed = true, true
		} else {
			c.keep = append(c.keep, b...)
		}
	}
	if c.tailMax > 0 {
		if len(b) >= c.tailMax {
			c.tail = append(c.tail[:0], b[len(b)-c.tailMax:]...)
		} else {
			c.tail = append(c.tail, b...)
			if len(c.tail) > 2*c.tailMax {
				c.tail = append(c.tail[:0], c.tail[len(c.tail)-c.tailMax:]...)
			}
		}
	}
	return overflowed
}

func (c *capture) kept() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.keep)
}

func (c *capture) tailString() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tail
	if len(t) > c.tailMax {
		t = t[len(t)-c.tailMax:]
	}
	return strings.TrimSpace(strings.ToValidUTF8(string(t), "\uFFFD"))
}
