package model

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// BenchmarkClientOverhead is one Propose (prompt, request encoding, HTTP
// round trip on loopback, decoding, hygiene) against a server that answers
// a canned 32-sample response at once.
func BenchmarkClientOverhead(b *testing.B) {
	body := synthCompletion(map[string]any{"n": 32.0})
	srv, _ := fakeServer(b, func(w http.ResponseWriter, r *http.Request, _ map[string]any) { writeJSON(w, 200, body) })
	cfg := testConfig(srv.URL)
	cfg.Samples = 32
	l := mustLLM(b, cfg)
	ctx := context.Background()
	req := leanReq(leanState)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Propose(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThroughput drives Propose from many goroutines through a
// concurrency limit of 8 against a server with a fixed 20 ms latency. The
// ideal is concurrency/latency = 400 req/s.
func BenchmarkThroughput(b *testing.B) {
	const latency, concurrency = 20 * time.Millisecond, 8
	srv, _ := fakeServer(b, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		t := time.NewTimer(latency)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		writeJSON(w, 200, synthCompletion(body))
	})
	cfg := testConfig(srv.URL)
	cfg.Limits = LimitConfig{Initial: concurrency, Max: concurrency}
	l := mustLLM(b, cfg)
	ctx := context.Background()
	req := leanReq(leanState)
	b.SetParallelism(concurrency) // 8 x GOMAXPROCS goroutines: the semaphore is the limit
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Propose(ctx, req); err != nil {
				b.Error(err)
				return
			}
		}
	})
	el := time.Since(start).Seconds()
	achieved := float64(b.N) / el
	ideal := float64(concurrency) / latency.Seconds()
	b.ReportMetric(achieved, "req/s")
	b.ReportMetric(ideal, "ideal-req/s")
	b.ReportMetric(achieved/ideal, "efficiency")
}
