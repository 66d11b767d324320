package proc

import (
	"context"
	"math/rand/v2"
	"time"
)

// Default bounds of a zero Backoff.
const (
	DefaultBackoffBase = 100 * time.Millisecond
	DefaultBackoffMax  = 5 * time.Second
	defaultJitter      = 0.2
)

// Backoff is the one restart policy of the project: capped exponential
// with jitter. After the n-th consecutive failure the next attempt waits
// min(Max, Base·2^(n-1)), minus a random fraction of up to Jitter of that
// (so it never exceeds Max); Success resets it. The zero value waits
// 100 ms, 200 ms, 400 ms, ... up to 5 s, with 20 % jitter.
//
// A Backoff is a value without a lock: it is not safe for concurrent use
// (Pool guards its own). Copying one copies its state.
type Backoff struct {
	Base, Max time.Duration
	// Jitter is the largest fraction of a delay randomly taken off it, in
	// [0, 1]; 0 means the default 0.2 and a negative value none.
	Jitter float64

	failures  int
	notBefore time.Time      // when the next attempt may start
	rand      func() float64 // [0, 1); nil: math/rand/v2
}

// Failure records a failure and returns the wait before the next attempt.
func (b *Backoff) Failure() time.Duration {
	b.failures++
	base, limit := b.Base, b.Max
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if limit <= 0 {
		limit = DefaultBackoffMax
	}
	limit = max(limit, base)
	d := limit
	if shift := b.failures - 1; shift < 62 && base <= limit>>shift {
		d = base << shift
	}
	jitter := b.Jitter
	switch {
	case jitter == 0:
		jitter = defaultJitter
	case jitter < 0:
		jitter = 0
	case jitter > 1:
		jitter = 1
	}
	if jitter > 0 {
		r := b.rand
		if r == nil {
			r = rand.Float64
		}
		d -= time.Duration(float64(d) * jitter * r())
	}
	b.notBefore = time.Now().Add(d)
	return d
}

// Success records a success: the next failure starts from Base again, and
// Wait returns at once.
func (b *Backoff) Success() {
	b.failures = 0
	b.notBefore = time.Time{}
}

// Failures is the number of consecutive failures recorded.
func (b *Backoff) Failures() int { return b.failures }

// Remaining is how much of the current backoff is left (0: none).
func (b *Backoff) Remaining() time.Duration {
	if b.failures == 0 {
		return 0
	}
	return max(time.Until(b.notBefore), 0)
}

// Wait waits out the current backoff: until the wait returned by the last
// Failure has passed (at once after Success, or if it has already passed),
// or ctx ends (returning its cause).
func (b *Backoff) Wait(ctx context.Context) error {
	return sleepCtx(ctx, b.Remaining())
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
