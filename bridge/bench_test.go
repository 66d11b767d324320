package bridge

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
)

const benchState = "x, y : R\nh0 : x + y = 10\nh1 : x - y = 2\n============================\nx = 6"

var (
	baselineOnce sync.Once
	baselineNs   float64
)

// baseline is the proposer called directly in the same process, per call.
func baseline(p prover.Proposer) float64 {
	baselineOnce.Do(func() {
		req := prover.ProposalRequest{State: prover.State{Text: benchState, Goals: []string{benchState}}, N: DefaultSuggestions}
		ctx := context.Background()
		const n = 20000
		start := time.Now()
		for range n {
			p.Propose(ctx, req)
		}
		baselineNs = float64(time.Since(start).Nanoseconds()) / n
	})
	return baselineNs
}

func report(b *testing.B, suggestions int, base float64) {
	perOp := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	b.ReportMetric(float64(suggestions)/b.Elapsed().Seconds(), "suggestions/s")
	b.ReportMetric(perOp-base, "overhead-ns/op")
	b.ReportMetric(perOp/base, "x-direct")
}

// BenchmarkSuggest measures suggestions/s over each transport with the
// GPU-free portfolio, and the server's overhead per request against the
// proposer called directly (x-direct is the ratio of times per request).
func BenchmarkSuggest(b *testing.B) {
	prop := &model.Portfolio{Backend: "coq"}
	base := baseline(prop)
	s := newServer(&fakeBackend{}, prop)
	s.MaxConcurrent = 64

	b.Run("direct", func(b *testing.B) {
		req := prover.ProposalRequest{State: prover.State{Text: benchState, Goals: []string{benchState}}, N: DefaultSuggestions}
		ctx := context.Background()
		total := 0
		for b.Loop() {
			c, _ := prop.Propose(ctx, req)
			total += len(c)
		}
		report(b, total, base)
	})
	b.Run("jsonrpc", func(b *testing.B) {
		c := dial(b, s)
		ctx := context.Background()
		params := SuggestParams{Backend: "coq", State: benchState}
		total := 0
		for b.Loop() {
			var r SuggestResult
			if err := c.Call(ctx, MethodSuggest, params, &r); err != nil {
				b.Fatal(err)
			}
			total += len(r.Suggestions)
		}
		report(b, total, base)
	})
	b.Run("http-llmstep", func(b *testing.B) {
		ts := httptest.NewServer(s.HTTPHandler())
		defer ts.Close()
		body := []byte(`{"tactic_state":"x, y : R\nh0 : x + y = 10\nh1 : x - y = 2\n============================\nx = 6","prefix":"","context":""}`)
		total := 0
		for b.Loop() {
			resp, err := http.Post(ts.URL+"/", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			out, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("%d %s", resp.StatusCode, out)
			}
			total += bytes.Count(out, []byte(`.",`)) + 1
		}
		report(b, total, base)
	})
}
