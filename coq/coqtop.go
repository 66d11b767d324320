package coq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/prover"
)

// promptRE is coqtop's -emacs prompt, NAME < STATEID |OPEN_PROOFS| DEPTH <,
// anchored at a "<prompt>" already found.
var promptRE = regexp.MustCompile(`^<prompt>(\S+) < (\d+) \|([^|]*)\| (\d+) < </prompt>`)

var (
	promptOpen  = []byte("<prompt>")
	promptClose = []byte("</prompt>")
	welcome     = []byte("Welcome to ")
)

const (
	// maxPending bounds what one sentence may print before its prompt.
	maxPending = 8 << 20
	// defaultStartTimeout bounds the wait for the first prompt when the
	// ctx has no earlier deadline (coqtop.md §4: 56 ms on an idle machine).
	defaultStartTimeout = 20 * time.Second
	// minInterruptCPU is the CPU a sentence must have used before coqtop
	// is sent SIGINT: a SIGINT that arrives while coqtop is still reading
	// the sentence (or idle) corrupts its input (coqtop.md §5.1), so a
	// sentence that has not started computing is killed instead.
	minInterruptCPU = 50 * time.Millisecond
	// defaultGrace is how long an interrupted sentence may take to answer
	// before the process is killed (coqtop answers in ~14 ms).
	defaultGrace = time.Second
)

// errDeadline is wrapped by every error of a sentence that outlived its
// budget (CPU or wall); it wraps prover.ErrTacticTimeout.
var errDeadline = fmt.Errorf("coqtop did not answer in time: %w", prover.ErrTacticTimeout)

// reply is one sentence's answer: the bytes before the next prompt and the
// prompt's fields.
type reply struct {
	Text  string
	Name  string // the proof being edited, "Coq" when none
	State int    // the state reached by the last successful sentence
}

// interrupted reports whether the reply is coqtop's answer to SIGINT: the
// sentence was stopped and the state did not change.
func (r reply) interrupted() bool {
	t := strings.TrimSpace(r.Text)
	return t == "Error: User interrupt." || strings.HasSuffix(t, "\nError: User interrupt.")
}

// coqtop is one coqtop -emacs process, supervised by internal/proc: its
// own process group, stdout and stderr merged into one pipe (coqtop writes
// goals to stdout and prompts and errors to stderr, and only a shared
// descriptor keeps them in order), the tail of that output kept for
// errors, and a working directory of its own (lia and nra write their
// caches there). One goroutine uses it at a time.
type coqtop struct {
	p     *proc.Process
	dir   string
	buf   []byte // output read but not yet consumed
	scan  int    // where in buf the next "<prompt>" may start
	chunk []byte
	base  int  // state id after the prelude: each theorem starts here
	dead  bool // poisoned (killed, died, interrupted at the wrong moment): never reuse
	grace time.Duration

	state       int           // the state id of the last prompt
	startTime   time.Duration // exec through the prelude (Backend.startWarm)
	sessions    int           // sessions that have used it
	spent       time.Duration // CPU time of the last exchange
	cpuMark     time.Duration // the process's CPU time at the end of the last exchange
	interrupted bool          // the last exchange sent SIGINT
}

// startCoqtop starts argv (coqtop -quiet -emacs) under an address-space
// limit (memLimit <= 0: none) and reads up to its first prompt, within ctx
// (and at most 20 s when ctx has no earlier deadline). A program whose
// first words are not coqtop's "Welcome to" fails at once.
func startCoqtop(ctx context.Context, argv []string, memLimit int64, env []string) (*coqtop, reply, error) {
	dir, err := os.MkdirTemp("", "llemma-coqtop-")
	if err != nil {
		return nil, reply{}, fmt.Errorf("creating a directory for coqtop: %w", err)
	}
	spec := proc.Spec{
		Name:        "coqtop",
		Argv:        argv,
		Dir:         dir,
		Env:         env,
		MemoryLimit: max(memLimit, 0),
		MergeOutput: true,
		InstallHint: "install it with: apt-get install -y coq libcoq-coquelicot",
	}
	p, err := proc.Start(ctx, spec)
	if err != nil {
		os.RemoveAll(dir)
		return nil, reply{}, err
	}
	c := &coqtop{p: p, dir: dir, chunk: make([]byte, 64<<10), grace: defaultGrace}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultStartTimeout)
		defer cancel()
	}
	start := time.Now()
	r, err := c.exchange(ctx, "", limits{what: "the first prompt", first: true})
	if err != nil {
		c.kill()
		var ee *proc.ExitError
		if !errors.As(err, &ee) {
			err = c.p.Err(err) // with the tail of what it printed
		}
		return nil, reply{}, fmt.Errorf("waiting %v for coqtop's first prompt: %w", time.Since(start).Round(time.Millisecond), err)
	}
	return c, r, nil
}

// limits bound one exchange.
type limits struct {
	// cpu is the sentence's budget of coqtop CPU time (0: none). Past it
	// coqtop gets SIGINT, which stops the sentence and keeps the process
	// (an error wrapping errDeadline); a sentence that does not stop
	// within the grace (vm_compute ignores SIGINT) has its process killed.
	cpu time.Duration
	// wall bounds the wait for the answer (0: only ctx); past it the
	// process is killed. It is a backstop for a process that does not run
	// (stopped, starved), not the tactic's budget.
	wall time.Duration
	// what names the sentence in messages ("the tactic", "Show.").
	what string
	// first: read the first prompt, writing nothing.
	first bool
}

// watch is the state shared by an exchange and its watcher goroutine.
type watch struct {
	mu          sync.Mutex
	stopped     bool
	interrupted error // why SIGINT was sent; nil when it was not
	killed      error // why the watcher killed the process
}

// exchange writes one sentence (none for the first prompt) and reads its
// reply, up to the next prompt, within lim and ctx. When ctx ends, a
// sentence that is computing is interrupted (SIGINT) and the process kept
// if it stops within the grace; otherwise the process is killed. Errors:
// past a budget, one wrapping errDeadline (prover.ErrTacticTimeout); ctx
// ended, one wrapping its cause; the process died or misbehaved, a
// *proc.ExitError wrapping prover.ErrProcessDied with the output's tail.
// After any error, c.dead says whether the process is still usable.
func (c *coqtop) exchange(ctx context.Context, sentence string, lim limits) (reply, error) {
	if c.dead {
		return reply{}, c.p.Err(fmt.Errorf("coqtop was killed earlier: %w", prover.ErrProcessDied))
	}
	c.spent, c.interrupted = 0, false
	if ctx.Err() != nil {
		return reply{}, fmt.Errorf("%s not sent: %w", lim.what, context.Cause(ctx))
	}
	start, before := time.Now(), c.state
	// An idle coqtop uses no CPU: the reading taken at the end of the last
	// exchange is this one's start (one /proc read per sentence).
	cpu0 := c.cpuMark
	if cpu0 == 0 {
		cpu0 = c.p.CPUTime()
	}
	used := func() time.Duration { return max(c.p.CPUTime()-cpu0, 0) }
	defer func() {
		if now := c.p.CPUTime(); now > 0 {
			c.spent, c.cpuMark = max(now-cpu0, 0), now
		}
	}()

	w := &watch{}
	stop := make(chan struct{})
	watcherDone := make(chan struct{})
	go c.watch(ctx, lim, used, w, stop, watcherDone)

	var r reply
	err := c.p.Do(context.WithoutCancel(ctx), lim.wall, func() error {
		if !lim.first {
			if _, err := io.WriteString(c.p.Stdin(), sentence+"\n"); err != nil {
				return fmt.Errorf("writing to coqtop: %w", err)
			}
		}
		var err error
		r, err = c.read(lim.first)
		return err
	})
	close(stop)
	<-watcherDone
	w.mu.Lock()
	w.stopped = true
	interrupted, killed := w.interrupted, w.killed
	w.mu.Unlock()
	c.interrupted = interrupted != nil
	elapsed := time.Since(start).Round(time.Millisecond)

	switch {
	case killed != nil:
		c.dead = true
		return reply{}, killed
	case errors.Is(err, proc.ErrTimeout):
		c.dead = true
		return reply{}, fmt.Errorf("coqtop gave no answer to %s within %v (wall; it used %v of CPU), killed: %w",
			lim.what, lim.wall, used().Round(time.Millisecond), errDeadline)
	case err != nil:
		return reply{}, c.died(err)
	case interrupted != nil && r.interrupted() && r.State == before:
		return r, interrupted
	case interrupted != nil:
		// The sentence ended on its own as SIGINT was sent: the signal is
		// pending and would break the next sentence.
		c.kill()
		return reply{}, fmt.Errorf("%w (it answered %v later, as it was interrupted; process killed)", interrupted, elapsed)
	}
	c.state = r.State
	return r, nil
}

// watch runs beside an exchange: it samples coqtop's CPU time against
// lim.cpu and watches ctx; either sends SIGINT. After a SIGINT for the CPU
// budget the sentence may use c.grace more of CPU (or ten times that of
// wall time, when it does not run) before the process is killed: a loaded
// machine delays the answer, not the verdict. After the ctx's end it gets
// c.grace of wall time: the caller's budget is spent.
func (c *coqtop) watch(ctx context.Context, lim limits, used func() time.Duration, w *watch, stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	var tick <-chan time.Time
	if lim.cpu > 0 {
		t := time.NewTicker(min(max(lim.cpu/50, 10*time.Millisecond), 100*time.Millisecond))
		defer t.Stop()
		tick = t.C
	}
	ctxDone := ctx.Done()
	var (
		graceC   <-chan time.Time // wall time left before the kill
		cpuAt    time.Duration    // CPU used when SIGINT was sent
		cpuGrace time.Duration    // CPU allowed after it (0: none)
		why      error            // the kill's reason
		ctxEnded bool
	)
	begin := time.Now()
	kill := func() {
		w.mu.Lock()
		if !w.stopped {
			w.killed = why
			c.p.Kill(why)
		}
		w.mu.Unlock()
	}
	// interrupt sends SIGINT for reason, or, when the sentence is not
	// computing (stopped, starved, or still reading it: a SIGINT then
	// corrupts coqtop's input), arranges the kill after the grace.
	interrupt := func(reason error, forBudget bool) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.stopped {
			return
		}
		if forBudget && ctxEnded {
			return // the kill is already due a grace after the ctx's end
		}
		graceC = time.After(c.grace)
		if w.interrupted != nil {
			cpuGrace = 0 // the ctx ended after the budget's SIGINT: no more waiting
			return
		}
		u := used()
		if u < minInterruptCPU {
			why = fmt.Errorf("%w; it was not computing (%v of CPU), so it was killed %v later", reason, u.Round(time.Millisecond), c.grace)
			return
		}
		if err := c.p.Signal(syscall.SIGINT); err != nil {
			why = reason
			return
		}
		w.interrupted = reason
		why = fmt.Errorf("%w; it did not stop after SIGINT and was killed", reason)
		if forBudget {
			cpuAt, cpuGrace = u, c.grace
			graceC = time.After(10 * c.grace)
		}
	}
	for {
		select {
		case <-stop:
			return
		case <-tick:
			u := used()
			switch {
			case w.interrupted == nil && u >= max(lim.cpu, minInterruptCPU):
				interrupt(fmt.Errorf("coqtop used %v of CPU on %s (budget %v, %v wall): %w",
					u.Round(time.Millisecond), lim.what, lim.cpu, time.Since(begin).Round(time.Millisecond), errDeadline), true)
			case cpuGrace > 0 && u-cpuAt >= cpuGrace:
				kill()
				return
			}
		case <-ctxDone:
			ctxDone, ctxEnded = nil, true
			if lim.first {
				// A starting coqtop is not worth saving.
				why = fmt.Errorf("no first prompt within %v: %w", time.Since(begin).Round(time.Millisecond), context.Cause(ctx))
				kill()
				return
			}
			interrupt(fmt.Errorf("%s stopped after %v: %w", lim.what, time.Since(begin).Round(time.Millisecond), context.Cause(ctx)), false)
		case <-graceC:
			kill()
			return
		}
	}
}

// read reads up to the next prompt. For the first prompt it checks that
// the program speaks like coqtop.
func (c *coqtop) read(first bool) (reply, error) {
	for {
		if r, ok := c.takeReply(); ok {
			return r, nil
		}
		if first {
			if t := bytes.TrimLeft(c.buf, " \t\r\n"); len(t) > 0 && !bytes.HasPrefix(t, promptOpen) {
				n := min(len(t), len(welcome))
				if !bytes.Equal(t[:n], welcome[:n]) {
					// Not coqtop: often a program failing at start, which
					// exits a moment later with a status worth reporting.
					exited := time.NewTimer(200 * time.Millisecond)
					select {
					case <-c.p.Done():
					case <-exited.C:
					}
					exited.Stop()
					c.p.Kill(errors.New("coqtop killed: its output does not start like coqtop's"))
					return reply{}, fmt.Errorf("not coqtop's greeting: %q", clip(string(t), 120))
				}
			}
		}
		if len(c.buf) > maxPending {
			c.p.Kill(fmt.Errorf("coqtop killed after more than %d bytes without a prompt", maxPending))
			return reply{}, fmt.Errorf("coqtop printed more than %d bytes without a prompt", maxPending)
		}
		n, err := c.p.Stdout().Read(c.chunk)
		c.buf = append(c.buf, c.chunk[:n]...)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("its output ended")
			}
			if _, ok := c.takeReply(); ok {
				// A prompt arrived with the end: the next sentence finds EOF.
				err = errors.New("its output ended after a prompt")
			}
			return reply{}, err
		}
	}
}

// takeReply cuts the text up to the first complete prompt out of buf.
func (c *coqtop) takeReply() (reply, bool) {
	for {
		i := bytes.Index(c.buf[c.scan:], promptOpen)
		if i < 0 {
			c.scan = max(c.scan, len(c.buf)-len(promptOpen)+1)
			return reply{}, false
		}
		i += c.scan
		loc := promptRE.FindSubmatchIndex(c.buf[i:])
		if loc == nil {
			if bytes.Contains(c.buf[i:], promptClose) {
				c.scan = i + 1 // not a prompt: look further
				continue
			}
			c.scan = i // incomplete: wait for more
			return reply{}, false
		}
		r := reply{Text: string(c.buf[:i]), Name: string(c.buf[i+loc[2] : i+loc[3]])}
		r.State, _ = strconv.Atoi(string(c.buf[i+loc[4] : i+loc[5]]))
		c.buf = append(c.buf[:0], c.buf[i+loc[1]:]...)
		c.scan = 0
		return r, true
	}
}

// died marks the process dead and describes its death: a *proc.ExitError
// wrapping prover.ErrProcessDied, with the exit status and the tail of
// its output.
func (c *coqtop) died(cause error) error {
	c.dead = true
	c.p.Kill(nil) // it may be alive and misbehaving
	return c.p.Err(fmt.Errorf("%v: %w", cause, prover.ErrProcessDied))
}

// send is one sentence under a wall deadline only (0: ctx only).
func (c *coqtop) send(ctx context.Context, sentence string, deadline time.Duration) (reply, error) {
	return c.exchange(ctx, sentence, limits{wall: deadline, what: clip(strconv.Quote(sentence), 60)})
}

// kill SIGKILLs the process group, waits for the reaper and releases the
// process's pipes and directory.
func (c *coqtop) kill() {
	c.dead = true
	c.p.Kill(nil)
	c.close()
}

// close stops the process (gracefully when it is healthy: stdin closed,
// then SIGTERM, then SIGKILL) and removes its directory. The death of a
// process already known dead was reported when it happened.
func (c *coqtop) close() error {
	err := c.p.Close()
	os.RemoveAll(c.dir)
	if c.dead {
		return nil
	}
	return err
}

// healthy reports whether the process can serve another theorem.
func (c *coqtop) healthy() bool { return !c.dead && !c.p.Exited() }
