package proc

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// PoolConfig configures a Pool. Start is required.
type PoolConfig[R comparable] struct {
	// Size bounds the resources alive at once: leased, idle, starting and
	// being closed (default CPUs()). It also bounds the leases.
	Size int
	// MaxUses closes a resource after this many leases (0: no limit).
	MaxUses int
	// MaxRSS closes a resource returned with more resident memory than
	// this, as reported by RSS (0 or RSS nil: no limit).
	MaxRSS int64
	// Start makes a ready resource for key (a coqtop with the prelude
	// loaded, a REPL with the import header run), within ctx.
	Start func(ctx context.Context, key string) (R, error)
	// Close disposes of a resource (nil: nothing to do). It may take a
	// while (a graceful process Close): the pool calls it outside its lock.
	Close func(R) error
	// Healthy is asked before an idle resource is leased again (nil:
	// always healthy); an unhealthy one is closed and another found.
	Healthy func(R) bool
	// RSS reports a resource's resident memory, for MaxRSS.
	RSS func(R) int64
	// Backoff paces starts after start failures (zero value: 100 ms .. 5 s).
	Backoff Backoff
}

// PoolStats counts what a Pool did.
type PoolStats struct {
	Started       int // successful starts
	Restarts      int // starts that replaced a resource closed as unhealthy
	Recycled      int // closed for MaxUses or MaxRSS
	Killed        int // closed as unhealthy: Put(r, false) or a failed health check
	Evicted       int // idle ones closed to make room for another key
	StartFailures int // Start errors (not counting a cancelled caller)
	Alive         int // now: leased + idle + starting + being closed
	Idle          int // now
	Leased        int // now
}

// Pool is the one warm pool of the project, generic over what it holds,
// keyed by a string (the header or prelude the resource was warmed with).
// It serves both "one process per theorem session" (coq: one key, Get per
// theorem, Put after) and "process per header" (lean: key = import header).
//
// At most Size resources are alive. Get blocks on a slot with the caller's
// ctx (a cancelled caller leaves the queue), then prefers an idle resource
// with the same key (the most recently used), else, when the pool is full,
// evicts the least recently used idle resource of another key, else starts
// one, after the pool's Backoff when starts have been failing. R must be
// comparable (a pointer, typically): Put finds the lease by it.
type Pool[R comparable] struct {
	cfg      PoolConfig[R]
	slots    chan struct{} // one per lease, or per close still holding its slot
	closedCh chan struct{}

	mu        sync.Mutex
	closed    bool
	alive     int
	idle      []*poolEntry[R] // least recently used first
	leased    map[R]*poolEntry[R]
	backoff   Backoff
	replace   int // resources closed as unhealthy and not yet replaced
	stats     PoolStats
	closeErrs []error
}

type poolEntry[R comparable] struct {
	r    R
	key  string
	uses int
}

// NewPool returns an empty pool; resources are started lazily by Get.
func NewPool[R comparable](cfg PoolConfig[R]) *Pool[R] {
	if cfg.Size <= 0 {
		cfg.Size = CPUs()
	}
	if cfg.Start == nil {
		panic("proc: PoolConfig.Start is nil")
	}
	return &Pool[R]{
		cfg:      cfg,
		slots:    make(chan struct{}, cfg.Size),
		closedCh: make(chan struct{}),
		leased:   map[R]*poolEntry[R]{},
		backoff:  cfg.Backoff,
	}
}

func (p *Pool[R]) acquire(ctx context.Context) error {
	select {
	case <-p.closedCh:
		return ErrClosed
	default:
	}
	select {
	case p.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-p.closedCh:
		return ErrClosed
	}
}

func (p *Pool[R]) release() { <-p.slots }

// Get leases a resource for key; give it back with Put. Errors: ErrClosed,
// ctx's cause, or Start's error.
func (p *Pool[R]) Get(ctx context.Context, key string) (R, error) {
	var zero R
	if err := p.acquire(ctx); err != nil {
		return zero, err
	}
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			p.release()
			return zero, ErrClosed
		}
		if e := p.takeIdle(key); e != nil {
			p.mu.Unlock()
			if p.cfg.Healthy == nil || p.cfg.Healthy(e.r) {
				p.mu.Lock()
				p.leased[e.r] = e
				p.mu.Unlock()
				return e.r, nil
			}
			err := p.closeResource(e.r)
			p.mu.Lock()
			p.stats.Killed++
			p.replace++
			p.alive--
			p.addCloseErr(err)
			p.mu.Unlock()
			continue
		}
		var victim *poolEntry[R]
		if p.alive >= p.cfg.Size && len(p.idle) > 0 {
			// Full: the least recently used idle resource of another key
			// makes room; its place in alive passes to the new one.
			victim, p.idle = p.idle[0], p.idle[1:]
			p.stats.Evicted++
		} else {
			p.alive++
		}
		wait := p.backoff.Remaining()
		p.mu.Unlock()

		if victim != nil {
			err := p.closeResource(victim.r)
			p.mu.Lock()
			p.addCloseErr(err)
			p.mu.Unlock()
		}
		r, err := p.startAfter(ctx, key, wait)
		p.mu.Lock()
		if err != nil {
			p.alive--
			if ctx.Err() == nil && !errors.Is(err, ErrClosed) {
				p.backoff.Failure()
				p.stats.StartFailures++
			}
			p.mu.Unlock()
			p.release()
			return zero, err
		}
		p.backoff.Success()
		p.stats.Started++
		if p.replace > 0 {
			p.replace--
			p.stats.Restarts++
		}
		if p.closed {
			p.mu.Unlock()
			cerr := p.closeResource(r)
			p.mu.Lock()
			p.alive--
			p.addCloseErr(cerr)
			p.mu.Unlock()
			p.release()
			return zero, ErrClosed
		}
		p.leased[r] = &poolEntry[R]{r: r, key: key}
		p.mu.Unlock()
		return r, nil
	}
}

// startAfter waits out wait (the backoff), then starts a resource.
func (p *Pool[R]) startAfter(ctx context.Context, key string, wait time.Duration) (R, error) {
	var zero R
	if wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return zero, context.Cause(ctx)
		case <-p.closedCh:
			return zero, ErrClosed
		}
	}
	return p.cfg.Start(ctx, key)
}

// takeIdle removes and returns the most recently used idle entry for key.
func (p *Pool[R]) takeIdle(key string) *poolEntry[R] {
	for i := len(p.idle) - 1; i >= 0; i-- {
		if e := p.idle[i]; e.key == key {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return e
		}
	}
	return nil
}

// Put gives back a leased resource. A healthy one under MaxUses and MaxRSS
// becomes idle for the next Get of its key; any other is closed, in the
// background, its slot held until the close is done (so at most Size are
// ever alive). Put panics on a resource the pool did not lease (or one
// already put back).
func (p *Pool[R]) Put(r R, healthy bool) {
	var rss int64
	if healthy && p.cfg.MaxRSS > 0 && p.cfg.RSS != nil {
		rss = p.cfg.RSS(r)
	}
	p.mu.Lock()
	e, ok := p.leased[r]
	if !ok {
		p.mu.Unlock()
		panic("proc: Pool.Put of a resource that is not leased")
	}
	delete(p.leased, r)
	e.uses++
	switch {
	case p.closed:
	case !healthy:
		p.stats.Killed++
		p.replace++
	case p.cfg.MaxUses > 0 && e.uses >= p.cfg.MaxUses, p.cfg.MaxRSS > 0 && rss > p.cfg.MaxRSS:
		p.stats.Recycled++
	default:
		p.idle = append(p.idle, e)
		p.mu.Unlock()
		p.release()
		return
	}
	p.mu.Unlock()
	go func() {
		err := p.closeResource(r)
		p.mu.Lock()
		p.alive--
		p.addCloseErr(err)
		p.mu.Unlock()
		p.release()
	}()
}

func (p *Pool[R]) closeResource(r R) error {
	if p.cfg.Close == nil {
		return nil
	}
	return p.cfg.Close(r)
}

// addCloseErr keeps close errors for Close to report; mu held.
func (p *Pool[R]) addCloseErr(err error) {
	if err != nil {
		p.closeErrs = append(p.closeErrs, err)
	}
}

// Close closes the pool: waiting and later Gets fail with ErrClosed, idle
// resources are closed, and leased ones are closed when Put back. It waits
// until every lease is back and every close is done, or ctx ends, and
// returns the close errors (plus ctx's cause if it ended first). It may be
// called again, to wait again.
func (p *Pool[R]) Close(ctx context.Context) error {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	if !p.closed {
		p.closed = true
		close(p.closedCh)
	}
	p.mu.Unlock()
	for _, e := range idle {
		err := p.closeResource(e.r)
		p.mu.Lock()
		p.alive--
		p.addCloseErr(err)
		p.mu.Unlock()
	}
	var waitErr error
	got := 0
	for ; got < p.cfg.Size; got++ {
		select {
		case p.slots <- struct{}{}:
			continue
		case <-ctx.Done():
			p.mu.Lock()
			waitErr = fmt.Errorf("closing the pool with %d resources leased: %w", len(p.leased), context.Cause(ctx))
			p.mu.Unlock()
		}
		break
	}
	for range got {
		p.release()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return errors.Join(append(p.closeErrs[:len(p.closeErrs):len(p.closeErrs)], waitErr)...)
}

// Stats returns the pool's counters.
func (p *Pool[R]) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Alive, s.Idle, s.Leased = p.alive, len(p.idle), len(p.leased)
	return s
}
