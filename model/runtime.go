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
	"syscall"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// ErrUnavailable: no model runtime answered. It wraps
// prover.ErrUnavailable, so errors.Is works with either.
var ErrUnavailable = fmt.Errorf("model: runtime unavailable: %w", prover.ErrUnavailable)

// ErrUnauthorized: the runtime refused the request's credentials (HTTP 401
// or 403). Every later request would fail the same way, so a runner should
// stop rather than fail each theorem.
var ErrUnauthorized = errors.New("model: runtime refused the credentials")

// errUnsupported marks a request the server refuses by design (n > 1 on
// old llama.cpp, a list prompt on Ollama's /v1): never retried.
var errUnsupported = errors.New("model: request not supported by the server")

// RequestError is a model call that failed after every attempt.
type RequestError struct {
	URL      string // the endpoint of the last attempt, with the path (no password)
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
// not be reached at all and ErrUnauthorized when it refused the key.
func (e *RequestError) Unwrap() []error {
	errs := []error{e.Err}
	if isUnreachable(e.Err) {
		errs = append(errs, ErrUnavailable)
	}
	if isAuthError(e.Err) {
		errs = append(errs, ErrUnauthorized)
	}
	return errs
}

func isUnreachable(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH)
}

func isAuthError(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Status == http.StatusUnauthorized || ae.Status == http.StatusForbidden)
}

// endpoint is one runtime URL with its health record and in-flight limit,
// guarded by the runtime's mutex.
type endpoint struct {
	url  string // base URL, as requests use it
	name string // the same without a password, for messages

	requests, failures, throttled int64

	fails       int       // consecutive endpoint faults
	downUntil   time.Time // skipped until then (faults)
	pausedUntil time.Time // no new requests until then (Retry-After)
	ls          limitState
}

// runtime spreads requests over endpoints within their in-flight limits,
// with per-attempt timeouts and retries with backoff, and records what
// every attempt cost.
type runtime struct {
	eps           []*endpoint
	hc            *http.Client
	key           Secret
	timeout       time.Duration
	retries       int
	backoff       time.Duration
	maxBackoff    time.Duration
	maxRetryAfter time.Duration
	failThreshold int
	cooldown      time.Duration
	maxCooldown   time.Duration
	hint          string
	total         *Meter // the LLM's run-wide cost
	now           func() time.Time

	mu      sync.Mutex
	wake    chan struct{} // closed (and replaced) whenever a slot may have freed
	rr      int
	waiting int // requests waiting for a slot
}

func newRuntime(urls []string, lim LimitConfig) *runtime {
	rt := &runtime{wake: make(chan struct{}), now: time.Now}
	lim = lim.withDefaults()
	for _, u := range urls {
		rt.eps = append(rt.eps, &endpoint{url: u, name: displayURL(u), ls: newLimitState(lim)})
	}
	return rt
}

// signal wakes the requests waiting for a slot. rt.mu must be held.
func (rt *runtime) signal() {
	close(rt.wake)
	rt.wake = make(chan struct{})
}

// pick chooses the endpoint for the next attempt, rt.mu held: among the
// live endpoints with a free slot, the least loaded relative to its limit,
// not avoid when another will do. When every endpoint is down the one that
// comes back soonest is tried anyway. It returns nil when every candidate
// is full or paused, with the time a pause ends (zero: wait for a slot).
func (rt *runtime) pick(now time.Time, avoid *endpoint) (*endpoint, time.Time) {
	rt.rr++
	var best, fallback *endpoint
	var bestLoad float64
	var wakeAt time.Time
	allDown := true
	for pass := 0; pass < 2 && best == nil; pass++ {
		for i := range rt.eps {
			e := rt.eps[(rt.rr+i)%len(rt.eps)]
			down := now.Before(e.downUntil)
			if !down {
				allDown = false
			}
			if pass == 0 && e == avoid && len(rt.eps) > 1 {
				continue
			}
			if now.Before(e.pausedUntil) {
				if wakeAt.IsZero() || e.pausedUntil.Before(wakeAt) {
					wakeAt = e.pausedUntil
				}
				continue
			}
			if e.ls.inflight >= e.ls.capacity() {
				continue
			}
			if down {
				if fallback == nil || e.downUntil.Before(fallback.downUntil) {
					fallback = e
				}
				continue
			}
			load := float64(e.ls.inflight) / float64(e.ls.capacity())
			if best == nil || load < bestLoad {
				best, bestLoad = e, load
			}
		}
	}
	if best == nil && allDown && fallback != nil {
		return fallback, time.Time{}
	}
	return best, wakeAt
}

// acquire waits for a slot on some endpoint and takes it. It returns the
// endpoint and how many requests it has in flight with this one.
func (rt *runtime) acquire(ctx context.Context, avoid *endpoint) (*endpoint, int, error) {
	for {
		rt.mu.Lock()
		e, wakeAt := rt.pick(rt.now(), avoid)
		if e != nil {
			e.ls.inflight++
			e.ls.peak = max(e.ls.peak, e.ls.inflight)
			busy := e.ls.inflight
			rt.mu.Unlock()
			return e, busy, nil
		}
		wake := rt.wake
		rt.waiting++
		rt.mu.Unlock()
		err := waitWake(ctx, wake, wakeAt)
		rt.mu.Lock()
		rt.waiting--
		rt.mu.Unlock()
		if err != nil {
			return nil, 0, err
		}
	}
}

// waitWake waits until wake is closed, the time at (if set) comes, or ctx
// ends.
func waitWake(ctx context.Context, wake <-chan struct{}, at time.Time) error {
	var timer <-chan time.Time
	if !at.IsZero() {
		t := time.NewTimer(max(time.Until(at), time.Millisecond))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-wake:
	case <-timer:
	}
	return nil
}

// outcome classifies a finished attempt for the endpoint's record.
type outcome int

const (
	outcomeOK       outcome = iota
	outcomeOverload         // 429, 503, attempt timeout: cut the limit
	outcomeFault            // the endpoint is broken: count towards cooldown
	outcomeOther            // the request was at fault (4xx), or the caller left
)

// release gives back e's slot and records the attempt's outcome.
func (rt *runtime) release(e *endpoint, busy int, lat time.Duration, o outcome, retryAfter time.Duration) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	now := rt.now()
	e.ls.inflight--
	e.requests++
	switch o {
	case outcomeOK:
		e.fails, e.downUntil = 0, time.Time{}
		e.ls.onSuccess(now, lat, busy)
	case outcomeOverload:
		e.failures++
		e.throttled++
		e.ls.onOverload(now)
		if retryAfter > 0 {
			e.pausedUntil = now.Add(min(retryAfter, rt.maxRetryAfter))
		}
	case outcomeFault:
		e.failures++
		e.fails++
		if e.fails >= rt.failThreshold {
			d := rt.cooldown
			for i := rt.failThreshold; i < e.fails && d < rt.maxCooldown; i++ {
				d *= 2
			}
			e.downUntil = now.Add(min(d, rt.maxCooldown))
		}
	case outcomeOther:
		e.failures++
	}
	rt.signal()
}

// alternative reports whether an endpoint other than e is neither down
// nor paused.
func (rt *runtime) alternative(e *endpoint) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	now := rt.now()
	for _, o := range rt.eps {
		if o != e && !now.Before(o.downUntil) && !now.Before(o.pausedUntil) {
			return true
		}
	}
	return false
}

// usageReporter is a decoded answer that knows its token accounting.
type usageReporter interface {
	usage() (prompt, completion, cached int)
}

// post sends body to path on some endpoint and decodes the answer into
// out, retrying per the runtime's policy, and records the cost of every
// attempt in ctx's meters. It returns one error naming the URL and what
// failed, or the caller's ctx error.
func (rt *runtime) post(ctx context.Context, path string, body any, out usageReporter) error {
	data, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encoding request: %w", err)
	}
	var last error
	var lastEP *endpoint
	attempts := 0
	for attempt := 0; attempt <= rt.retries; attempt++ {
		q0 := time.Now()
		ep, busy, err := rt.acquire(ctx, lastEP)
		queued := time.Since(q0)
		if err != nil {
			record(ctx, rt.total, Cost{QueueTime: queued})
			return ctxError(ctx, last)
		}
		lastEP = ep
		attempts++
		t0 := time.Now()
		err = rt.attempt(ctx, ep, path, data, out)
		lat := time.Since(t0)
		c := Cost{Requests: 1, ModelTime: lat, QueueTime: queued}
		if attempt > 0 {
			c.Retries = 1
		}
		if err == nil {
			c.PromptTokens, c.CompletionTokens, c.CachedTokens = usageCounts(out)
			rt.release(ep, busy, lat, outcomeOK, 0)
			record(ctx, rt.total, c)
			return nil
		}
		c.Failures = 1
		retry, o, wait, retryAfter := rt.classify(err, attempt)
		if ctx.Err() != nil {
			o = outcomeOther // the caller left: says nothing about the endpoint
		}
		if o == outcomeOverload {
			c.Throttled = 1
		}
		rt.release(ep, busy, lat, o, retryAfter)
		record(ctx, rt.total, c)
		if ctx.Err() != nil {
			return ctxError(ctx, err)
		}
		last = err
		if !retry || attempt == rt.retries {
			break
		}
		if retryAfter > 0 && rt.alternative(ep) {
			wait = rt.backoffFor(attempt) // the pause is this endpoint's: try another one
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			break // the caller's budget ends before the retry could start
		}
		if err := sleepCtx(ctx, wait); err != nil {
			return ctxError(ctx, last)
		}
	}
	re := &RequestError{URL: lastEP.name + path, Attempts: attempts, Err: last}
	switch {
	case isUnreachable(last):
		re.Hint = rt.hint
	case isAuthError(last) && rt.key == "":
		re.Hint = "the runtime wants an API key: set model.api-key-file, " + EnvAPIKey + " or " + EnvOpenAIAPIKey
	case isAuthError(last):
		re.Hint = "the runtime refused the API key given: check model.api-key-file / " + EnvAPIKey
	}
	return re
}

func usageCounts(out usageReporter) (int64, int64, int64) {
	p, c, k := out.usage()
	return int64(p), int64(c), int64(k)
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
	actx, cancel := context.WithTimeoutCause(ctx, rt.timeout, errAttemptTimeout)
	defer cancel()
	err := doJSON(actx, rt.hc, http.MethodPost, ep.url+path, ep.name+path, data, out, rt.key)
	if kind := unsupportedKind(err); kind != "" {
		return fmt.Errorf("%w (%s): %w", errUnsupported, kind, err)
	}
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(actx), errAttemptTimeout) {
		return fmt.Errorf("POST %s: %w (%v): %w", ep.name+path, errAttemptTimeout, rt.timeout, err)
	}
	return err
}

// classify says whether err is worth another attempt, what it says about
// the endpoint, how long to wait first, and the Retry-After asked for.
func (rt *runtime) classify(err error, attempt int) (retry bool, o outcome, wait, retryAfter time.Duration) {
	wait = rt.backoffFor(attempt)
	if errors.Is(err, errUnsupported) {
		return false, outcomeOther, 0, 0
	}
	if errors.Is(err, errAttemptTimeout) {
		return true, outcomeOverload, wait, 0
	}
	var ae *APIError
	if errors.As(err, &ae) {
		if ae.RetryAfter > 0 {
			retryAfter = min(ae.RetryAfter, rt.maxRetryAfter)
		}
		switch {
		case ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusServiceUnavailable:
			// Busy, not broken: honour Retry-After.
			return true, outcomeOverload, max(wait, retryAfter), retryAfter
		case ae.Status == http.StatusRequestTimeout:
			return true, outcomeOverload, wait, 0
		case ae.Status >= 500:
			return true, outcomeFault, max(wait, retryAfter), 0
		default:
			return false, outcomeOther, 0, 0 // a bad request (or key) stays bad
		}
	}
	// Transport errors, cut bodies and malformed bodies: the endpoint is at
	// fault; another attempt (maybe elsewhere) may work.
	return true, outcomeFault, wait, 0
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

// EndpointStats is one runtime URL's record.
type EndpointStats struct {
	URL       string // without a password
	Requests  int64
	Failures  int64
	Throttled int64 // 429/503 answers and timed-out attempts
	InFlight  int64
	// Limit is the current in-flight limit, PeakInFlight the most in
	// flight at once, LimitCuts how often congestion cut the limit.
	Limit        float64
	PeakInFlight int64
	LimitCuts    int64
	// Baseline is the smallest recent latency (0 before any answer).
	Baseline time.Duration
	Down     bool // skipped until its cooldown ends
}

// queued is the number of requests waiting for a slot.
func (rt *runtime) queued() int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.waiting
}

func (rt *runtime) endpointStats() []EndpointStats {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	now := rt.now()
	out := make([]EndpointStats, 0, len(rt.eps))
	for _, e := range rt.eps {
		out = append(out, EndpointStats{URL: e.name, Requests: e.requests, Failures: e.failures,
			Throttled: e.throttled, InFlight: int64(e.ls.inflight), Limit: e.ls.limit,
			PeakInFlight: int64(e.ls.peak), LimitCuts: e.ls.cuts, Baseline: e.ls.baseline(),
			Down: now.Before(e.downUntil)})
	}
	return out
}
