package model

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/llemma-prove/llemma-prove/prover"
)

// ErrUnavailable: no model runtime answered. It wraps
// prover.ErrUnavailable, so errors.Is works with either.
var ErrUnavailable = fmt.Errorf("model: runtime unavailable: %w", prover.ErrUnavailable)

// errUnsupported marks a request the server refuses by design (n > 1 on
// old llama.cpp, a list prompt on Ollama's /v1): never retried.
var errUnsupported = errors.New("model: request not supported by the server")

// RequestError is a model call that failed after every attempt.
type RequestError struct {
	URL      string // the endpoint of the last attempt, with the path
	Attempts int
	Err      error // the last attempt's error
	Hint     string
}

func (e *RequestError) Error() string {
	what := "model request failed"
	if isUnreachable(e.Err) {
		what = "model runtime unreachable"
	}
	msg := fmt.Sprintf("%s: %s after %d attempt(s): %v", what, e.URL, e.Attempts, e.Err)
	if e.Hint != "" {
		msg += "; " + e.Hint
	}
	return msg
}

// Unwrap gives the last error, plus ErrUnavailable when the runtime could
// not be reached at all.
func (e *RequestError) Unwrap() []error {
	if isUnreachable(e.Err) {
		return []error{e.Err, ErrUnavailable}
	}
	return []error{e.Err}
}

func isUnreachable(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH)
}

// endpoint is one runtime URL with its health record.
type endpoint struct {
	url      string
	inflight atomic.Int64
	requests atomic.Int64
	failures atomic.Int64

	mu        sync.Mutex
	fails     int // consecutive endpoint faults
	downUntil time.Time
}

func (e *endpoint) down(now time.Time) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return now.Before(e.downUntil)
}

func (e *endpoint) ok() {
	e.mu.Lock()
	e.fails, e.downUntil = 0, time.Time{}
	e.mu.Unlock()
}

// fail records a fault; from threshold consecutive faults on, the endpoint
// is skipped for a cooldown that doubles with each further fault.
func (e *endpoint) fail(now time.Time, threshold int, cooldown, maxCooldown time.Duration) {
	e.failures.Add(1)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fails++
	if e.fails < threshold {
		return
	}
	d := cooldown
	for i := threshold; i < e.fails && d < maxCooldown; i++ {
		d *= 2
	}
	e.downUntil = now.Add(min(d, maxCooldown))
}

// runtime spreads requests over endpoints with a concurrency limit,
// per-attempt timeouts and retries with backoff.
type runtime struct {
	eps           []*endpoint
	hc            *http.Client
	sem           *semaphore.Weighted
	timeout       time.Duration
	retries       int
	backoff       time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	failThreshold int
	cooldown      time.Duration
	maxCooldown   time.Duration
	hint          string
	rr            atomic.Uint64
	st            *counters
	now           func() time.Time
}

// pick chooses a live endpoint with the fewest requests in flight, not
// avoid when another exists; if every endpoint is down, the one that comes
// back soonest is tried anyway.
func (rt *runtime) pick(avoid *endpoint) *endpoint {
	now := rt.now()
	start := int(rt.rr.Add(1))
	var best, fallback *endpoint
	var fallbackUntil time.Time
	for i := range rt.eps {
		e := rt.eps[(start+i)%len(rt.eps)]
		if e == avoid && len(rt.eps) > 1 {
			continue
		}
		e.mu.Lock()
		until := e.downUntil
		e.mu.Unlock()
		if now.Before(until) {
			if fallback == nil || until.Before(fallbackUntil) {
				fallback, fallbackUntil = e, until
			}
			continue
		}
		if best == nil || e.inflight.Load() < best.inflight.Load() {
			best = e
		}
	}
	if best != nil {
		return best
	}
	if fallback != nil {
		return fallback
	}
	return rt.eps[0]
}

// post sends body to path on some endpoint and decodes the answer into a
// fresh T, retrying per the runtime's policy. It returns one error naming
// the URL and what failed, or the caller's ctx error.
func post[T any](ctx context.Context, rt *runtime, path string, body any) (*T, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding request: %w", err)
	}
	var last error
	var lastEP *endpoint
	attempts := 0
	for attempt := 0; attempt <= rt.retries; attempt++ {
		if attempt > 0 {
			rt.st.retries.Add(1)
		}
		if err := rt.sem.Acquire(ctx, 1); err != nil {
			return nil, ctxError(ctx, last)
		}
		ep := rt.pick(lastEP)
		lastEP = ep
		attempts++
		out := new(T)
		err := rt.attempt(ctx, ep, path, data, out)
		rt.sem.Release(1)
		if err == nil {
			ep.ok()
			return out, nil
		}
		rt.st.failures.Add(1)
		if ctx.Err() != nil {
			return nil, ctxError(ctx, err)
		}
		last = err
		retry, fault, wait := rt.classify(err, attempt)
		if fault {
			ep.fail(rt.now(), rt.failThreshold, rt.cooldown, rt.maxCooldown)
		}
		if !retry || attempt == rt.retries {
			break
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			break // the caller's budget ends before the retry could start
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return nil, ctxError(ctx, last)
		}
	}
	re := &RequestError{URL: lastEP.url + path, Attempts: attempts, Err: last}
	if isUnreachable(last) {
		re.Hint = rt.hint
	}
	return nil, re
}

func ctxError(ctx context.Context, last error) error {
	if last != nil {
		return fmt.Errorf("model request abandoned: %w (last attempt: %v)", context.Cause(ctx), last)
	}
	return fmt.Errorf("model request abandoned: %w", context.Cause(ctx))
}

// errAttemptTimeout is the cause of an attempt past the per-request timeout.
var errAttemptTimeout = errors.New("no complete answer within the request timeout")

func (rt *runtime) attempt(ctx context.Context, ep *endpoint, path string, data []byte, out any) error {
	ep.inflight.Add(1)
	defer ep.inflight.Add(-1)
	ep.requests.Add(1)
	rt.st.requests.Add(1)
	actx, cancel := context.WithTimeoutCause(ctx, rt.timeout, errAttemptTimeout)
	defer cancel()
	err := doJSON(actx, rt.hc, http.MethodPost, ep.url+path, data, out)
	if kind := unsupportedKind(err); kind != "" {
		return fmt.Errorf("%w (%s): %w", errUnsupported, kind, err)
	}
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), errAttemptTimeout) {
		return fmt.Errorf("POST %s: %w (%v): %w", ep.url+path, errAttemptTimeout, rt.timeout, err)
	}
	return err
}

// classify says whether err is worth another attempt, whether it counts
// against the endpoint's health, and how long to wait first.
func (rt *runtime) classify(err error, attempt int) (retry, fault bool, wait time.Duration) {
	wait = rt.backoffFor(attempt)
	if errors.Is(err, errUnsupported) {
		return false, false, 0
	}
	var ae *APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == http.StatusTooManyRequests:
			// Busy, not broken: honour Retry-After.
			if ae.RetryAfter > 0 {
				wait = max(wait, min(ae.RetryAfter, rt.maxRetryAfter))
			}
			return true, false, wait
		case ae.Status == http.StatusRequestTimeout:
			return true, false, wait
		case ae.Status >= 500:
			if ae.RetryAfter > 0 {
				wait = max(wait, min(ae.RetryAfter, rt.maxRetryAfter))
			}
			return true, true, wait
		default:
			return false, false, 0 // a bad request stays bad
		}
	}
	// Transport errors, cut bodies, timeouts and malformed bodies: the
	// endpoint is at fault; another attempt (maybe elsewhere) may work.
	return true, true, wait
}

// backoffFor is exponential backoff with jitter in [d/2, d].
func (rt *runtime) backoffFor(attempt int) time.Duration {
	d := rt.backoff
	for i := 0; i < attempt && d < rt.maxBackoff; i++ {
		d *= 2
	}
	d = min(d, rt.maxBackoff)
	if d <= 0 {
		return 0
	}
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// unsupportedKind recognises the servers' refusals of n > 1 or of a list
// prompt, which no retry fixes.
func unsupportedKind(err error) string {
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status < 400 {
		return ""
	}
	b := strings.ToLower(ae.Message + " " + ae.Body)
	switch {
	case strings.Contains(b, "only one completion choice"), strings.Contains(b, "n_cmpl"):
		return "n"
	case strings.Contains(b, "cannot unmarshal array") && strings.Contains(b, "prompt"):
		return "prompt-list"
	}
	return ""
}
