package lean

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llemma-prove/llemma-prove/prover"
)

const (
	stderrTailBytes  = 4 << 10
	maxResponseBytes = 64 << 20
)

// errTimeout is a request past its wall deadline; the process was killed.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string { return fmt.Sprintf("repl request timed out after %v", e.after) }
func (e *timeoutError) Unwrap() error { return prover.ErrTacticTimeout }

// errProtocol: the process said something that is not a response; it was
// killed because the stream can no longer be trusted.
var errProtocol = errors.New("lean: repl protocol error")

// process is one supervised REPL process: own process group, RLIMIT_AS,
// one request in flight, killed (whole group) on any request failure.
type process struct {
	gen uint64
	cmd *exec.Cmd
	pid int

	stdin  *os.File
	stdout *os.File
	br     *bufio.Reader // owned by the goroutine holding the process

	done    chan struct{} // closed after Wait returned
	errDone chan struct{} // closed when stderr hit EOF
	waitErr error

	tailMu sync.Mutex
	tail   []byte

	killOnce  sync.Once
	closeOnce sync.Once
	reason    error       // why it was killed (under tailMu)
	poisoned  atomic.Bool // killed or dead: never reused

	buf       bytes.Buffer
	headerEnv int // the env of the warm-up header
	header    string
	requests  int // requests after the warm-up
}

// startProcess starts the REPL described by cfg (defaults applied).
func startProcess(cfg *Config, gen uint64) (*process, error) {
	if len(cfg.Repl) == 0 {
		return nil, fmt.Errorf("starting repl: empty command: %w", prover.ErrUnavailable)
	}
	cmd := exec.Command(cfg.Repl[0], cfg.Repl[1:]...)
	cmd.Dir = cfg.Project
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting repl: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW)
		return nil, fmt.Errorf("starting repl: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(inR, inW, outR, outW)
		return nil, fmt.Errorf("starting repl: %w", err)
	}
	// *os.File ends: the child gets the fds directly, so Wait does not wait
	// for pipe EOF (an orphan cannot hold it off).
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	if err := cmd.Start(); err != nil {
		closeAll(inR, inW, outR, outW, errR, errW)
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("starting repl %q: %w: %w (run scripts/setup-lean.sh, or set the repl command in the config)",
				strings.Join(cfg.Repl, " "), err, prover.ErrUnavailable)
		}
		return nil, fmt.Errorf("starting repl %q: %w", strings.Join(cfg.Repl, " "), err)
	}
	closeAll(inR, outW, errW)
	p := &process{
		gen:     gen,
		cmd:     cmd,
		pid:     cmd.Process.Pid,
		stdin:   inW,
		stdout:  outR,
		br:      bufio.NewReaderSize(outR, 64<<10),
		done:    make(chan struct{}),
		errDone: make(chan struct{}),
	}
	if cfg.MemoryLimit > 0 {
		// Applied right after Start: the limit is inherited by what the
		// child starts later (lake env starts the repl after loading).
		lim := unix.Rlimit{Cur: uint64(cfg.MemoryLimit), Max: uint64(cfg.MemoryLimit)}
		if err := unix.Prlimit(p.pid, unix.RLIMIT_AS, &lim, nil); err != nil {
			_ = syscall.Kill(-p.pid, syscall.SIGKILL)
			_ = cmd.Wait()
			closeAll(inW, outR, errR)
			return nil, fmt.Errorf("limiting repl address space to %d bytes: %w", cfg.MemoryLimit, err)
		}
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	go p.drainStderr(errR)
	return p, nil
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		_ = f.Close()
	}
}

func (p *process) drainStderr(r *os.File) {
	defer close(p.errDone)
	defer r.Close()
	b := make([]byte, 4096)
	for {
		n, err := r.Read(b)
		if n > 0 {
			p.tailMu.Lock()
			p.tail = append(p.tail, b[:n]...)
			if len(p.tail) > stderrTailBytes {
				p.tail = append(p.tail[:0], p.tail[len(p.tail)-stderrTailBytes:]...)
			}
			p.tailMu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// stderrTail returns the last bytes the process wrote on stderr.
func (p *process) stderrTail() string {
	p.tailMu.Lock()
	defer p.tailMu.Unlock()
	return strings.TrimSpace(strings.ToValidUTF8(string(p.tail), "?"))
}

// kill SIGKILLs the process group and marks the process unusable.
func (p *process) kill(reason error) {
	p.killOnce.Do(func() {
		p.tailMu.Lock()
		p.reason = reason
		p.tailMu.Unlock()
		p.poisoned.Store(true)
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		_ = p.stdin.Close()
		// Wake a reader blocked on a pipe an orphan might still hold.
		_ = p.stdout.SetReadDeadline(time.Unix(1, 0))
		go func() {
			<-p.done
			_ = p.stdout.Close()
		}()
	})
}

// exitError waits briefly for the process to be reaped and its stderr
// drained, and reports it as a *prover.ExitError.
func (p *process) exitError(cause error) error {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-p.done:
	case <-t.C:
	}
	select {
	case <-p.errDone:
	case <-t.C:
	}
	err := cause
	if err == nil {
		select {
		case <-p.done:
			err = p.waitErr
			if err == nil {
				err = errors.New("exited")
			}
		default:
			err = errors.New("stopped answering")
		}
	} else {
		select {
		case <-p.done:
			if p.waitErr != nil {
				err = fmt.Errorf("%w (%v)", cause, p.waitErr)
			}
		default:
		}
	}
	return &prover.ExitError{Backend: "lean", Err: err, StderrTail: p.stderrTail()}
}

// roundTrip sends req and waits for its response within timeout. Any
// failure other than a decoded response kills the process: the REPL cannot
// be interrupted, and its replies carry no id.
func (p *process) roundTrip(ctx context.Context, req any, timeout time.Duration) (Response, error) {
	if p.poisoned.Load() {
		p.tailMu.Lock()
		reason := p.reason
		p.tailMu.Unlock()
		return Response{}, p.exitError(reason)
	}
	select {
	case <-p.done:
		p.kill(nil)
		return Response{}, p.exitError(nil)
	default:
	}
	p.buf.Reset()
	if err := EncodeRequest(&p.buf, req); err != nil {
		return Response{}, err
	}
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = p.stdin.SetWriteDeadline(deadline)
	if _, err := p.stdin.Write(p.buf.Bytes()); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return Response{}, p.expired(ctx, timeout)
		}
		p.kill(err)
		return Response{}, p.exitError(fmt.Errorf("writing request: %w", err))
	}
	// Read in this goroutine: the deadline bounds the wait, ctx moves the
	// deadline to the past, and the process's death closes the pipe.
	_ = p.stdout.SetReadDeadline(deadline)
	if ctx.Done() != nil {
		fired := make(chan struct{})
		stop := context.AfterFunc(ctx, func() {
			defer close(fired)
			_ = p.stdout.SetReadDeadline(time.Unix(1, 0))
		})
		// A callback already running must finish before the next request
		// sets its own deadline.
		defer func() {
			if !stop() {
				<-fired
			}
		}()
	}
	raw, err := ReadResponse(p.br, maxResponseBytes)
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return Response{}, p.expired(ctx, timeout)
		}
	}
	return p.decode(raw, err)
}

// expired kills the process after a pipe deadline fired, and says why:
// the caller's ctx ended, or the request outlived its timeout.
func (p *process) expired(ctx context.Context, timeout time.Duration) error {
	if ctx.Err() != nil {
		p.kill(context.Cause(ctx))
		return context.Cause(ctx)
	}
	terr := &timeoutError{after: timeout}
	p.kill(terr)
	return terr
}

func (p *process) decode(raw []byte, rerr error) (Response, error) {
	if rerr != nil {
		var cause error
		switch {
		case errors.Is(rerr, io.EOF):
			cause = nil // exit status says more
		case errors.Is(rerr, io.ErrUnexpectedEOF):
			cause = errors.New("output ended in the middle of a response")
		default:
			cause = fmt.Errorf("reading response: %w", rerr)
		}
		p.kill(cause)
		return Response{}, p.exitError(cause)
	}
	resp, err := DecodeResponse(raw)
	if err != nil {
		err = fmt.Errorf("%w: %w (response began %q)", errProtocol, err, head(raw, 80))
		p.kill(err)
		return Response{}, p.exitError(err)
	}
	return resp, nil
}

func head(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// close stops the process gently (stdin EOF makes the REPL exit), then by
// SIGTERM and SIGKILL to the group. It is idempotent.
func (p *process) close(grace time.Duration) {
	p.closeOnce.Do(func() {
		alreadyKilled := p.poisoned.Load()
		if !alreadyKilled {
			_ = p.stdin.Close()
			if !waitFor(p.done, grace) {
				_ = syscall.Kill(-p.pid, syscall.SIGTERM)
				waitFor(p.done, grace)
			}
		}
		p.kill(ErrClosedProcess)
		<-p.done
	})
}

// ErrClosedProcess is the reason recorded for a process closed on purpose.
var ErrClosedProcess = errors.New("lean: repl process closed")

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

// rss returns the resident set size in bytes of the process and its
// descendants (lake env runs the repl as a child), from /proc.
func (p *process) rss() int64 {
	var total int64
	queue := []int{p.pid}
	for n := 0; len(queue) > 0 && n < 64; n++ {
		pid := queue[0]
		queue = queue[1:]
		total += vmRSS(pid)
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/task/" + strconv.Itoa(pid) + "/children")
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if c, err := strconv.Atoi(f); err == nil {
				queue = append(queue, c)
			}
		}
	}
	return total
}

func vmRSS(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("\nVmRSS:"))
	if i < 0 {
		return 0
	}
	line := b[i+len("\nVmRSS:"):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	f := strings.Fields(string(line)) // "1234 kB"
	if len(f) == 0 {
		return 0
	}
	kb, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return 0
	}
	return kb << 10
}
