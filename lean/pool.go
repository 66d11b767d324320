package lean

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// pool holds warm REPL processes keyed by their import header. At most
// `workers` leases are out at once (a session or a verification holds one
// for its lifetime) and at most `workers` processes are alive: a lease for
// a header with no idle process evicts the least recently used idle process
// of another header.
type pool struct {
	cfg     *Config
	name    string
	workers int
	gen     *atomic.Uint64 // shared by the backend's pools: generations are unique

	sem      chan struct{}
	closedCh chan struct{}

	mu     sync.Mutex
	idle   []*process // least recently used first
	live   map[*process]struct{}
	closed bool
	fails  int // consecutive start failures, for the backoff

	backoffBase, backoffMax time.Duration
	grace                   time.Duration

	starts   atomic.Int64
	restarts atomic.Int64 // processes started to replace a dead or retired one
}

func newPool(cfg *Config, name string, workers int, gen *atomic.Uint64) *pool {
	return &pool{
		cfg:         cfg,
		name:        name,
		workers:     workers,
		gen:         gen,
		sem:         make(chan struct{}, workers),
		closedCh:    make(chan struct{}),
		live:        map[*process]struct{}{},
		backoffBase: 100 * time.Millisecond,
		backoffMax:  5 * time.Second,
		grace:       2 * time.Second,
	}
}

// acquire takes a lease token; release it with unlease.
func (p *pool) acquire(ctx context.Context) error {
	select {
	case <-p.closedCh:
		return prover.ErrClosed
	default:
	}
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-p.closedCh:
		return prover.ErrClosed
	}
}

func (p *pool) unlease() { <-p.sem }

// take returns a warm process for header: an idle one, or a new one
// (started lazily). The caller holds a lease token.
func (p *pool) take(ctx context.Context, header string) (*process, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, prover.ErrClosed
		}
		var got, stale *process
		for i := len(p.idle) - 1; i >= 0; i-- {
			if p.idle[i].header == header {
				got = p.idle[i]
				p.idle = append(p.idle[:i], p.idle[i+1:]...)
				break
			}
		}
		if got == nil && len(p.live) >= p.workers && len(p.idle) > 0 {
			stale = p.idle[0]
			p.idle = p.idle[1:]
		}
		p.mu.Unlock()
		if stale != nil {
			p.retire(stale)
		}
		if got == nil {
			return p.start(ctx, header, false)
		}
		if p.usable(got) {
			return got, nil
		}
		p.retire(got)
	}
}

// usable reports whether a process may serve another request: alive, not
// poisoned, under the request and RSS limits.
func (p *pool) usable(pr *process) bool {
	if pr.poisoned.Load() {
		return false
	}
	select {
	case <-pr.done:
		return false
	default:
	}
	if p.cfg.MaxRequests > 0 && pr.requests >= p.cfg.MaxRequests {
		return false
	}
	if p.cfg.RSSLimit > 0 && pr.rss() > p.cfg.RSSLimit {
		return false
	}
	return true
}

// start starts a process and warms it with header. After a failed start
// it first waits a capped exponential backoff (with ctx).
func (p *pool) start(ctx context.Context, header string, restart bool) (*process, error) {
	p.mu.Lock()
	fails := p.fails
	p.mu.Unlock()
	if fails > 0 {
		d := p.backoffBase << min(fails-1, 16)
		if d > p.backoffMax || d <= 0 {
			d = p.backoffMax
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, context.Cause(ctx)
		case <-p.closedCh:
			t.Stop()
			return nil, prover.ErrClosed
		}
	}
	pr, err := startProcess(p.cfg, p.gen.Add(1))
	if err != nil {
		p.failed()
		return nil, err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		pr.kill(prover.ErrClosed)
		return nil, prover.ErrClosed
	}
	p.live[pr] = struct{}{}
	p.mu.Unlock()
	p.starts.Add(1)
	if restart {
		p.restarts.Add(1)
	}
	pr.header = header
	resp, err := pr.roundTrip(ctx, CommandRequest{Cmd: headerCmd(header)}, p.cfg.StartTimeout)
	if err != nil {
		p.failed()
		p.retire(pr)
		if ctx.Err() != nil {
			return nil, err
		}
		var te *timeoutError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("starting repl: header not loaded within %v (raise the start timeout; a Mathlib import takes minutes on a cold cache): %w",
				p.cfg.StartTimeout, err)
		}
		return nil, fmt.Errorf("starting repl: loading header: %w", err)
	}
	p.healthy()
	if msg := responseError(resp); msg != "" {
		p.retire(pr)
		return nil, fmt.Errorf("%w: header: %s", prover.ErrLoad, msg)
	}
	pr.headerEnv = resp.Command.Env
	return pr, nil
}

func (p *pool) failed() {
	p.mu.Lock()
	p.fails++
	p.mu.Unlock()
}

func (p *pool) healthy() {
	p.mu.Lock()
	p.fails = 0
	p.mu.Unlock()
}

// release returns a process after use: to the idle list when it is still
// usable, otherwise it is stopped.
func (p *pool) release(pr *process) {
	if pr == nil {
		return
	}
	if !p.usable(pr) {
		p.retire(pr)
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.retire(pr)
		return
	}
	p.idle = append(p.idle, pr)
	p.mu.Unlock()
}

// retire stops a process and forgets it.
func (p *pool) retire(pr *process) {
	p.mu.Lock()
	delete(p.live, pr)
	p.mu.Unlock()
	pr.close(p.grace)
}

// close stops every process, busy ones included (their requests fail).
func (p *pool) close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	close(p.closedCh)
	all := make([]*process, 0, len(p.live))
	for pr := range p.live {
		all = append(all, pr)
	}
	p.live = map[*process]struct{}{}
	p.idle = nil
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, pr := range all {
		wg.Go(func() { pr.close(p.grace) })
	}
	wg.Wait()
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
