package model

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLimitStateAIMD(t *testing.T) {
	t.Parallel()
	t0 := time.Unix(1000, 0)
	ms := time.Millisecond
	s := newLimitState(LimitConfig{Initial: 2, Max: 10}.withDefaults())
	// Slow start: +1 per answer while the limit is in use, up to Max.
	for i := range 20 {
		s.onSuccess(t0.Add(time.Duration(i)*ms), 100*ms, s.capacity())
	}
	if s.limit != 10 {
		t.Fatalf("after slow start limit = %v, want the ceiling 10", s.limit)
	}
	// Overload halves it once per baseline latency.
	s.onOverload(t0.Add(time.Second))
	s.onOverload(t0.Add(time.Second + 50*ms))
	if s.limit != 5 || s.cuts != 1 {
		t.Fatalf("after a burst of 429s limit = %v (%d cuts), want 5 (1)", s.limit, s.cuts)
	}
	s.onOverload(t0.Add(time.Second + 150*ms))
	if s.limit != 2.5 {
		t.Fatalf("a later 429 left limit %v, want 2.5", s.limit)
	}
	// Congestion avoidance: about +1 per round trip (limit answers).
	before := s.limit
	for i := range 2 {
		s.onSuccess(t0.Add(2*time.Second+time.Duration(i)*ms), 100*ms, s.capacity())
	}
	if s.limit <= before || s.limit > before+1 {
		t.Errorf("additive increase: %v -> %v", before, s.limit)
	}
	// An idle limit does not grow.
	before = s.limit
	s.onSuccess(t0.Add(3*time.Second), 100*ms, 0)
	if s.limit != before {
		t.Errorf("grew while unused: %v -> %v", before, s.limit)
	}
	// Latency over 2x the baseline cuts by 10%.
	s.onSuccess(t0.Add(4*time.Second), 250*ms, s.capacity())
	if want := before * 0.9; s.limit != want {
		t.Errorf("slow answer: limit %v, want %v", s.limit, want)
	}
	// The floor holds.
	for i := range 20 {
		s.onOverload(t0.Add(time.Duration(10+i) * time.Second))
	}
	if s.limit != 1 || s.capacity() != 1 {
		t.Errorf("floor: limit %v", s.limit)
	}
	// Pinned: Max == Initial never moves.
	p := newLimitState(LimitConfig{Initial: 4, Max: 4}.withDefaults())
	p.onOverload(t0)
	for i := range 50 {
		p.onSuccess(t0.Add(time.Duration(i)*time.Second), time.Duration(i+1)*time.Second, 4)
	}
	if p.limit != 4 {
		t.Errorf("pinned limit moved to %v", p.limit)
	}
}

// A runtime that can hold 4 requests answers 429 beyond: the limit comes
// down to about that, every proposal still succeeds, and the endpoint
// was driven above its initial limit on the way.
func TestAdaptsTo429(t *testing.T) {
	t.Parallel()
	const capacity = 4
	var in atomic.Int64
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		n := in.Add(1)
		defer in.Add(-1)
		if n > capacity {
			writeJSON(w, 429, `{"error":{"message":"queue full"}}`)
			return
		}
		time.Sleep(5 * time.Millisecond) // service time
		writeJSON(w, 200, synthCompletion(body))
	})
	cfg := testConfig(srv.URL)
	cfg.Limits, cfg.Retries, cfg.Backoff = LimitConfig{Initial: 2, Max: 32}, 20, time.Millisecond
	l := mustLLM(t, cfg)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 15 {
				if _, err := l.Propose(context.Background(), leanReq("⊢ True")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	e := l.Stats().Endpoints[0]
	if e.PeakInFlight <= 2 || e.Throttled == 0 || e.LimitCuts == 0 {
		t.Errorf("endpoint %+v: want growth past 2, some 429s and cuts", e)
	}
	if e.Limit > 3*capacity {
		t.Errorf("limit %v after 429s beyond %d in flight", e.Limit, capacity)
	}
	if c := l.Cost(); c.Throttled != e.Throttled || c.Proposals != 16*15 {
		t.Errorf("cost %+v", c)
	}
}

// The total in flight is endpoints x per-endpoint limit.
func TestGlobalCapIsEndpointsTimesLimit(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var mu sync.Mutex
	peak := map[string]int{}
	cur := map[string]int{}
	handler := func(name string) func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		return func(w http.ResponseWriter, r *http.Request, body map[string]any) {
			mu.Lock()
			cur[name]++
			peak[name] = max(peak[name], cur[name])
			mu.Unlock()
			<-release
			mu.Lock()
			cur[name]--
			mu.Unlock()
			writeJSON(w, 200, synthCompletion(body))
		}
	}
	a, _ := fakeServer(t, handler("a"))
	b, _ := fakeServer(t, handler("b"))
	cfg := testConfig(a.URL, b.URL)
	cfg.Limits = LimitConfig{Initial: 3, Max: 3}
	l := mustLLM(t, cfg)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, err := l.Propose(context.Background(), leanReq("⊢ True")); err != nil {
				t.Error(err)
			}
		})
	}
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return l.Stats().Queued == 4 && cur["a"] == 3 && cur["b"] == 3
	})
	close(release)
	wg.Wait()
	if peak["a"] != 3 || peak["b"] != 3 {
		t.Errorf("peaks %v: want 3 per endpoint, 6 in all", peak)
	}
}

// A 429 with Retry-After pauses its endpoint: the others take the load.
func TestRetryAfterPausesEndpoint(t *testing.T) {
	t.Parallel()
	var busyCalls atomic.Int64
	busy, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		busyCalls.Add(1)
		w.Header().Set("Retry-After", "30")
		writeJSON(w, 429, `{"error":{"message":"rate limited"}}`)
	})
	ok, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 200, synthCompletion(body))
	})
	cfg := testConfig(busy.URL, ok.URL)
	cfg.Limits = LimitConfig{Initial: 1, Max: 1}
	l := mustLLM(t, cfg)
	for i := range 10 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := l.Propose(ctx, leanReq("⊢ True"))
		cancel()
		if err != nil {
			t.Fatalf("proposal %d: %v", i, err)
		}
	}
	if n := busyCalls.Load(); n != 1 {
		t.Errorf("the paused endpoint got %d requests, want 1", n)
	}
}
