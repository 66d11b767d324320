package lean

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/prover"
)

// One REPL process. Its supervision is internal/proc's (proc.Start): own
// process group, PR_SET_PDEATHSIG, RLIMIT_AS set before the program's first
// instruction, stderr drained into a tail, a reaper, Process.Do killing the
// group when a request outlives its deadline or its caller, and Close
// (stdin EOF, then SIGTERM, then SIGKILL to the group). This file adds only
// the REPL's framing on top (protocol.go) and says why a request failed.

const (
	stderrTailBytes  = 4 << 10
	maxResponseBytes = 64 << 20
)

// DeadlineError is a REPL request that got no answer within its bound: its
// own limit (the start timeout for the header, the request timeout for a
// statement or a replayed tactic, the tactic's timeout), or the caller's
// deadline when that came first. The process was killed: the REPL cannot
// be interrupted, and its replies carry no id.
//
// Past its own limit it wraps prover.ErrTacticTimeout; cut short by the
// caller's deadline it wraps that context's cause and
// context.DeadlineExceeded.
type DeadlineError struct {
	Request   string        // what was asked, e.g. "loading the header", `tactic "nlinarith"`
	LimitName string        // "start timeout", "request timeout" or "tactic timeout"
	Limit     time.Duration // the request's own limit
	Caller    bool          // the caller's deadline came first
	Elapsed   time.Duration // from sending the request to the kill
	Cause     error         // the cause of the caller's context (Caller only)
}

// Error reads `lean repl: loading the header: no answer within the start
// timeout of 10m0s (killed after 10m0.001s)`, or, cut by the caller, `lean
// repl: loading the header: no answer by the caller's deadline, 2m0s after
// the request was sent (start timeout 10m0s)`.
func (e *DeadlineError) Error() string {
	el := e.Elapsed.Round(time.Millisecond)
	if e.Caller {
		return fmt.Sprintf("lean repl: %s: no answer by the caller's deadline, %v after the request was sent (%s %v)", e.Request, el, e.LimitName, e.Limit)
	}
	return fmt.Sprintf("lean repl: %s: no answer within the %s of %v (killed after %v)", e.Request, e.LimitName, e.Limit, el)
}

// Unwrap returns prover.ErrTacticTimeout, or the caller's cause and
// context.DeadlineExceeded.
func (e *DeadlineError) Unwrap() []error {
	if e.Caller {
		return []error{e.Cause, context.DeadlineExceeded}
	}
	return []error{prover.ErrTacticTimeout}
}

// limit is one request's own bound, for DeadlineError.
type limit struct {
	what string // "loading the header"
	name string // "start timeout"
	d    time.Duration
}

// errProtocol: the process said something that is not a response; it was
// killed because the stream can no longer be trusted.
var errProtocol = errors.New("lean: repl protocol error")

// errRecycled is the kill reason of a healthy process retired for its
// request count or its memory.
var errRecycled = errors.New("lean: repl recycled")

// repl is one REPL process, used by one goroutine at a time (a session, or
// the pool's Start while it loads the header).
type repl struct {
	p           *proc.Process
	br          *bufio.Reader
	buf         bytes.Buffer
	gen         uint64 // the process generation its proof-state ids belong to
	maxResponse int

	header    string
	headerEnv int
	requests  int   // requests after the warm-up
	dead      error // why it may serve no more requests (nil: usable)
}

// startREPL starts the REPL cfg describes (defaults applied), with no
// header loaded. A missing program or project wraps prover.ErrUnavailable.
func startREPL(ctx context.Context, cfg *Config, gen uint64) (*repl, error) {
	if len(cfg.Repl) == 0 {
		return nil, fmt.Errorf("starting the lean repl: empty command: %w", prover.ErrUnavailable)
	}
	spec := proc.Spec{
		Name:        "lean repl",
		Argv:        cfg.Repl,
		Dir:         cfg.Project,
		Env:         cfg.Env,
		TailBytes:   stderrTailBytes,
		Grace:       cfg.grace,
		InstallHint: "run scripts/setup-lean.sh, or set the repl command in the config",
	}
	if cfg.MemoryLimit > 0 {
		// Set by the sandbox helper before the program starts, and so
		// inherited by what it starts (lake env starts the repl).
		spec.MemoryLimit = cfg.MemoryLimit
	}
	p, err := proc.Start(ctx, spec)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("%w: %w", err, prover.ErrUnavailable)
		}
		return nil, err
	}
	bound := cfg.maxResponse
	if bound <= 0 {
		bound = maxResponseBytes
	}
	return &repl{p: p, br: bufio.NewReaderSize(p.Stdout(), 64<<10), gen: gen, maxResponse: bound}, nil
}

// usable reports whether the process may serve another request.
func (r *repl) usable() bool { return r.dead == nil && !r.p.Exited() }

// kill kills the process group and marks the process unusable.
func (r *repl) kill(reason error) {
	if reason == nil {
		reason = errors.New("killed")
	}
	if r.dead == nil {
		r.dead = reason
	}
	r.p.Kill(reason)
}

// roundTrip sends req and waits for its response within lim (and ctx).
// Any outcome but a decoded response kills the process: a *DeadlineError
// at a deadline, ctx's cause (wrapped) when ctx was canceled, otherwise a
// *prover.ExitError with the exit status and the stderr tail (the process
// died, its output ended or overflowed, or it answered with something that
// is not a response).
func (r *repl) roundTrip(ctx context.Context, req any, lim limit) (Response, error) {
	if r.dead != nil {
		return Response{}, r.exitError(r.dead)
	}
	if ctx.Err() != nil {
		return Response{}, fmt.Errorf("lean repl: %s: %w", lim.what, context.Cause(ctx))
	}
	r.buf.Reset()
	if err := EncodeRequest(&r.buf, req); err != nil {
		return Response{}, err
	}
	var raw []byte
	start := time.Now()
	err := r.p.Do(ctx, lim.d, func() error {
		if _, err := r.p.Stdin().Write(r.buf.Bytes()); err != nil {
			return fmt.Errorf("writing the request: %w", err)
		}
		var err error
		raw, err = ReadResponse(r.br, r.maxResponse)
		return err
	})
	elapsed := time.Since(start)
	switch {
	case err == nil:
	case errors.Is(err, proc.ErrTimeout):
		de := &DeadlineError{Request: lim.what, LimitName: lim.name, Limit: lim.d, Elapsed: elapsed}
		r.kill(de)
		return Response{}, de
	case ctx.Err() != nil && errors.Is(err, context.Cause(ctx)):
		// Do killed the process when ctx ended.
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			de := &DeadlineError{Request: lim.what, LimitName: lim.name, Limit: lim.d, Caller: true, Elapsed: elapsed, Cause: context.Cause(ctx)}
			r.kill(de)
			return Response{}, de
		}
		err = fmt.Errorf("lean repl: %s: canceled after %v: %w", lim.what, elapsed.Round(time.Millisecond), context.Cause(ctx))
		r.kill(err)
		return Response{}, err
	default:
		var cause error
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			cause = nil // killed by someone else (Close): its reason says why
		case errors.Is(err, io.EOF):
			cause = errors.New("output closed without an answer")
		case errors.Is(err, io.ErrUnexpectedEOF):
			cause = errors.New("output ended in the middle of a response")
		default:
			cause = err
		}
		r.kill(cause)
		return Response{}, r.exitError(cause)
	}
	resp, err := DecodeResponse(raw)
	if err != nil {
		err = fmt.Errorf("%w: %w (response began %q)", errProtocol, err, head(raw, 80))
		r.kill(err)
		return Response{}, r.exitError(err)
	}
	return resp, nil
}

// exitError describes the process's death as a *prover.ExitError: cause
// (nil: the kill reason) with the exit status, and the stderr tail. It
// waits a moment for the process to be reaped and its stderr drained.
func (r *repl) exitError(cause error) error {
	err := r.p.Err(cause)
	var pe *proc.ExitError
	if errors.As(err, &pe) {
		return &prover.ExitError{Backend: "lean", Err: pe.Err, StderrTail: pe.StderrTail}
	}
	return &prover.ExitError{Backend: "lean", Err: err, StderrTail: r.p.StderrTail()}
}
