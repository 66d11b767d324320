package coq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llemma-prove/llemma-prove/prover"
)

// prompt is coqtop's -emacs prompt: NAME < STATEID |OPEN_PROOFS| DEPTH <.
var promptRE = regexp.MustCompile(`<prompt>(\S+) < (\d+) \|([^|]*)\| (\d+) < </prompt>`)

// maxPending bounds what one sentence may print before its prompt.
const maxPending = 8 << 20

// tailSize is how much of the process's output is kept for error reports.
const tailSize = 4 << 10

// reply is one sentence's answer: the bytes before the next prompt and the
// prompt's fields.
type reply struct {
	Text  string
	Name  string // the proof being edited, "Coq" when none
	State int    // the state reached by the last successful sentence
}

// proc is one supervised coqtop process. stdout and stderr share one pipe:
// coqtop writes goals to stdout and prompts and errors to stderr, and only
// a shared descriptor keeps them in order.
type proc struct {
	cmd  *exec.Cmd
	pid  int
	dir  string // working directory, removed with the process
	in   io.WriteCloser
	out  *os.File
	mu   sync.Mutex
	buf  []byte // output not yet consumed
	tail []byte // the last bytes seen, for error messages
	wake chan struct{}
	done chan struct{} // closed when the process has exited
	err  error         // exit status, valid after done
	uses int           // theorems served
	base int           // state id after the prelude: each theorem starts here
	dead bool          // poisoned: never reuse

	closeOnce sync.Once
}

// startProc launches coqtop in its own process group under an address-space
// limit and reads up to its first prompt.
func startProc(ctx context.Context, argv []string, memLimit int64, env []string) (*proc, reply, error) {
	// Each process works in a directory of its own: lia/nra write their
	// certificate caches (.lia.cache ...) into the working directory.
	dir, err := os.MkdirTemp("", "llemma-coqtop-")
	if err != nil {
		return nil, reply{}, fmt.Errorf("creating a directory for coqtop: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return nil, reply{}, fmt.Errorf("creating pipe: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = pw, pw
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	in, err := cmd.StdinPipe()
	if err != nil {
		pr.Close()
		pw.Close()
		return nil, reply{}, fmt.Errorf("creating stdin pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		os.RemoveAll(dir)
		return nil, reply{}, fmt.Errorf("starting %s: %w (install it with: apt-get install -y coq libcoq-coquelicot)", argv[0], err)
	}
	pw.Close()
	p := &proc{cmd: cmd, pid: cmd.Process.Pid, dir: dir, in: in, out: pr, wake: make(chan struct{}, 1), done: make(chan struct{})}
	if memLimit > 0 {
		lim := &unix.Rlimit{Cur: uint64(memLimit), Max: uint64(memLimit)}
		if err := unix.Prlimit(p.pid, unix.RLIMIT_AS, lim, nil); err != nil {
			p.kill()
			return nil, reply{}, fmt.Errorf("limiting coqtop memory: %w", err)
		}
	}
	go p.read()
	go func() {
		p.err = cmd.Wait()
		os.RemoveAll(p.dir)
		close(p.done)
	}()
	r, err := p.await(ctx, 30*time.Second)
	if err != nil {
		p.kill()
		return nil, reply{}, fmt.Errorf("waiting for coqtop's first prompt: %w", err)
	}
	return p, r, nil
}

func (p *proc) read() {
	chunk := make([]byte, 64<<10)
	for {
		n, err := p.out.Read(chunk)
		if n > 0 {
			p.mu.Lock()
			p.buf = append(p.buf, chunk[:n]...)
			p.tail = append(p.tail, chunk[:n]...)
			if len(p.tail) > 2*tailSize {
				p.tail = append(p.tail[:0], p.tail[len(p.tail)-tailSize:]...)
			}
			p.mu.Unlock()
			select {
			case p.wake <- struct{}{}:
			default:
			}
		}
		if err != nil {
			p.out.Close()
			select {
			case p.wake <- struct{}{}:
			default:
			}
			return
		}
	}
}

// errDeadline is the cause when a sentence outlives its wall deadline.
var errDeadline = errors.New("coqtop did not answer before the deadline")

// send writes one sentence and waits for its prompt. On a deadline, a dead
// process or a cancelled ctx the process is poisoned and killed: coqtop
// cannot be interrupted reliably (vm_compute ignores Timeout and SIGINT).
func (p *proc) send(ctx context.Context, sentence string, deadline time.Duration) (reply, error) {
	if p.dead {
		return reply{}, prover.ErrProcessDied
	}
	if _, err := io.WriteString(p.in, sentence+"\n"); err != nil {
		p.kill()
		return reply{}, p.exitError(fmt.Errorf("writing to coqtop: %w", err))
	}
	return p.await(ctx, deadline)
}

func (p *proc) await(ctx context.Context, deadline time.Duration) (reply, error) {
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		p.mu.Lock()
		if loc := promptRE.FindSubmatchIndex(p.buf); loc != nil {
			r := reply{
				Text: string(p.buf[:loc[0]]),
				Name: string(p.buf[loc[2]:loc[3]]),
			}
			r.State, _ = strconv.Atoi(string(p.buf[loc[4]:loc[5]]))
			p.buf = append(p.buf[:0], p.buf[loc[1]:]...)
			p.mu.Unlock()
			return r, nil
		}
		overflow := len(p.buf) > maxPending
		p.mu.Unlock()
		if overflow {
			p.kill()
			return reply{}, p.exitError(errors.New("coqtop printed more than 8 MiB without a prompt"))
		}
		select {
		case <-p.wake:
		case <-p.done:
			// Drain what the reader may still hold, then report the death.
			select {
			case <-p.wake:
				continue
			default:
			}
			p.dead = true
			return reply{}, p.exitError(p.err)
		case <-timer.C:
			p.kill()
			return reply{}, errDeadline
		case <-ctx.Done():
			p.kill()
			return reply{}, context.Cause(ctx)
		}
	}
}

func (p *proc) exitError(err error) error {
	if err == nil {
		err = errors.New("exited")
	}
	return &prover.ExitError{Backend: "coqtop", Err: err, StderrTail: p.tailText()}
}

func (p *proc) tailText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	t := p.tail
	if len(t) > tailSize {
		t = t[len(t)-tailSize:]
	}
	return string(bytes.TrimSpace(t))
}

// kill SIGKILLs the whole process group and waits for the reaper.
func (p *proc) kill() {
	p.dead = true
	p.closeOnce.Do(func() {
		_ = syscall.Kill(-p.pid, syscall.SIGKILL)
		p.in.Close()
	})
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
	}
}

// rss is the process's resident set in bytes (0 if unknown).
func (p *proc) rss() int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(p.pid) + "/status")
	if err != nil {
		return 0
	}
	i := bytes.Index(b, []byte("VmRSS:"))
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+6:])
	if len(f) == 0 {
		return 0
	}
	kb, _ := strconv.ParseInt(string(f[0]), 10, 64)
	return kb << 10
}
