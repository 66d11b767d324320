package lean

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/prover"
)

// The warm pool is a proc.Pool of REPL processes keyed by their import
// header: its Start runs the header once on a new process (bounded by the
// start timeout and the caller's deadline), an idle process is reused only
// while it is healthy (alive, under MaxRequests and RSSLimit), and failed
// starts are paced by the pool's proc.Backoff.
//
// This file also keeps the backend's failure count. A failure is a REPL
// that failed to start (died, hung past the start timeout, said something
// that is not a response) or that died or misbehaved under a request
// (crash, EOF, garbage, a response past the size bound, a forgotten proof
// state, a statement or a replay past the request timeout). Neither the
// caller's end (its ctx) nor a tactic past its own timeout is a failure,
// and neither is the second death of a tactic that killed a fresh process
// too (a tactic can crash Lean: a stack overflow, memory). After a failure
// the next start waits a proc.Backoff; Config.HealthyTactics tactics
// answered since the last failure forgive the failures before; at
// Config.MaxFailures failures in a row the backend is broken: every later
// Open and Apply fails at once with prover.ErrBackendBroken wrapping the
// last failure (with its stderr tail).

// newPool is the backend's pool (b.cfg resolved).
func (b *Backend) newPool() *proc.Pool[*repl] {
	cfg := proc.PoolConfig[*repl]{
		Size:    b.cfg.Workers,
		Start:   b.startWarm,
		Close:   b.closeREPL,
		Healthy: b.usable,
		RSS:     func(r *repl) int64 { return r.p.RSS() },
		Backoff: b.cfg.backoff,
	}
	if b.cfg.RSSLimit > 0 {
		cfg.MaxRSS = b.cfg.RSSLimit
	}
	return proc.NewPool(cfg)
}

// get leases a warm process for header.
func (b *Backend) get(ctx context.Context, header string) (*repl, error) {
	r, err := b.pool.Get(ctx, header)
	if errors.Is(err, proc.ErrClosed) {
		return nil, fmt.Errorf("%w: %w", prover.ErrClosed, err)
	}
	return r, err
}

// put gives a leased process back: it stays warm if it is still usable,
// otherwise the pool stops it.
func (b *Backend) put(r *repl) { b.pool.Put(r, b.usable(r)) }

// usable reports whether r may serve another request: alive, not killed,
// under the request and RSS limits.
func (b *Backend) usable(r *repl) bool {
	if !r.usable() {
		return false
	}
	if b.cfg.MaxRequests > 0 && r.requests >= b.cfg.MaxRequests {
		return false
	}
	if b.cfg.RSSLimit > 0 && r.p.RSS() > b.cfg.RSSLimit {
		return false
	}
	return true
}

// startWarm is the pool's Start: after the restart backoff, a new process
// with header loaded, within the start timeout and ctx.
func (b *Backend) startWarm(ctx context.Context, header string) (*repl, error) {
	if err := b.brokenErr(); err != nil {
		return nil, err
	}
	if err := b.waitRestart(ctx); err != nil {
		return nil, err
	}
	r, err := b.spawn(ctx)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, prover.ErrClosed) {
			return nil, err
		}
		return nil, b.failed(fmt.Errorf("starting the lean repl: %w", err))
	}
	resp, err := r.roundTrip(ctx, CommandRequest{Cmd: headerCmd(header)}, limit{what: "loading the header", name: "start timeout", d: b.cfg.StartTimeout})
	if err != nil {
		b.closeREPL(r)
		switch {
		case b.closed.Load():
			return nil, fmt.Errorf("%w: %w", prover.ErrClosed, err)
		case ctx.Err() != nil:
			// The caller gave up (its budget ran out), not the backend.
			return nil, fmt.Errorf("starting the lean repl: %w", err)
		}
		return nil, b.failed(b.startError(err))
	}
	if msg := responseError(resp); msg != "" {
		b.closeREPL(r)
		return nil, fmt.Errorf("%w: header: %s", prover.ErrLoad, msg)
	}
	r.header, r.headerEnv = header, resp.Command.Env
	b.starts.Add(1)
	return r, nil
}

// startError is a failed header load with what the user can do about it.
func (b *Backend) startError(err error) error {
	var de *DeadlineError
	var ee *prover.ExitError
	switch {
	case errors.As(err, &de):
		return fmt.Errorf("starting the lean repl: %w (raise the start timeout: a cold Mathlib import takes minutes)", err)
	case errors.As(err, &ee) && ee.StderrTail == "" && b.cfg.MemoryLimit > 0:
		return fmt.Errorf("starting the lean repl: %w (a repl that dies without a word while importing may be out of address space: `import Mathlib` needs about 9 GiB, the limit is %d MiB)",
			err, b.cfg.MemoryLimit>>20)
	}
	return fmt.Errorf("starting the lean repl: %w", err)
}

// spawn starts a process and records it, so that Close can kill it.
func (b *Backend) spawn(ctx context.Context) (*repl, error) {
	b.mu.Lock()
	if b.closed.Load() {
		b.mu.Unlock()
		return nil, prover.ErrClosed
	}
	b.spawning.Add(1)
	b.mu.Unlock()
	defer b.spawning.Done()
	r, err := startREPL(ctx, &b.cfg, b.gen.Add(1))
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed.Load() {
		r.kill(prover.ErrClosed)
		_ = r.p.Close()
		return nil, prover.ErrClosed
	}
	b.live[r] = struct{}{}
	return r, nil
}

// closeREPL stops r (stdin EOF, SIGTERM, SIGKILL to the group; at once if
// it was killed) and forgets it. It is the pool's Close. A failure status
// was reported when the process failed, so it is not returned again.
func (b *Backend) closeREPL(r *repl) error {
	if err := r.p.Close(); err != nil {
		b.cfg.Log.Debug("lean repl exited with a failure", "err", err)
	}
	b.mu.Lock()
	delete(b.live, r)
	b.mu.Unlock()
	return nil
}

// waitRestart waits out the restart backoff, with ctx.
func (b *Backend) waitRestart(ctx context.Context) error {
	b.mu.Lock()
	d := b.backoff.Remaining()
	b.mu.Unlock()
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting %v before restarting the lean repl: %w", d.Round(time.Millisecond), context.Cause(ctx))
	case <-b.life.Done():
		return prover.ErrClosed
	}
}

// noteFailure counts err if it is a failure of the REPL (see the top of
// this file) and returns it, or the error that makes the backend broken.
func (b *Backend) noteFailure(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || b.closed.Load() || errors.Is(err, prover.ErrClosed) {
		return err
	}
	var ee *prover.ExitError
	var de *DeadlineError
	if errors.As(err, &ee) || (errors.As(err, &de) && !de.Caller) {
		return b.failed(err)
	}
	return err
}

// failed counts a failure and returns err, or, at MaxFailures in a row,
// the error that makes the backend broken.
func (b *Backend) failed(err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken != nil {
		return b.broken
	}
	b.failures++
	b.failuresTotal++
	b.answered = 0
	wait := b.backoff.Failure()
	n := b.failures
	if n >= b.cfg.MaxFailures {
		b.broken = fmt.Errorf("%w: the lean repl failed %d times in a row (died, misbehaved or did not start, with fewer than %d tactics answered in between); the last failure: %w",
			prover.ErrBackendBroken, n, b.cfg.HealthyTactics, err)
		b.cfg.Log.Error("lean backend broken: no further theorem will be tried", "failures", n, "err", b.broken)
		return b.broken
	}
	b.cfg.Log.Warn("lean repl failure", "failures", n, "max", b.cfg.MaxFailures, "next_start_in", wait.Round(time.Millisecond), "err", err)
	return err
}

// answer records a tactic the REPL answered; HealthyTactics of them
// forgive the failures before.
func (b *Backend) answer() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.answered++
	if b.answered >= b.cfg.HealthyTactics && b.failures > 0 {
		b.failures = 0
		b.backoff.Success()
	}
}

// brokenErr is the error every call returns once the backend is broken.
func (b *Backend) brokenErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.broken
}

// headerCmd is the warm-up command for a header: the header text without
// trailing white space (options and opens persist in the env).
func headerCmd(header string) string { return strings.TrimRight(header, " \t\r\n") }

// responseError returns the reason a command response failed: a top-level
// message or the first error-severity message; "" when it did not.
func responseError(r Response) string {
	switch r.Kind {
	case KindError:
		return r.Error.Message
	case KindCommand:
		return firstError(r.Command.Messages)
	}
	return "unexpected " + r.Kind.String() + " response to a command"
}
