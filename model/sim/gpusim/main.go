// Command gpusim serves the GPU-like runtime simulator of package
// model/sim, for runs of llemma-prove against a stand-in vLLM:
//
//	go run ./model/sim/gpusim -addr 127.0.0.1:8000 -model EleutherAI/llemma_7b
//	llemma-prove minif2f --proposer llm --model-url http://127.0.0.1:8000 --model EleutherAI/llemma_7b ...
//
// On SIGINT or SIGTERM it prints what the simulated model did (requests,
// occupancy, mean batch) and exits.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/llemma-prove/llemma-prove/model/sim"
)

func main() {
	var cfg sim.Config
	addr := flag.String("addr", "127.0.0.1:8000", "listen address")
	flag.StringVar(&cfg.Model, "model", "sim", "served model name")
	flag.DurationVar(&cfg.Base, "base", 250*time.Millisecond, "latency of a request alone")
	flag.DurationVar(&cfg.PerRequest, "per-request", 4*time.Millisecond, "latency added per request in the batch")
	flag.DurationVar(&cfg.PerSequence, "per-sequence", 0, "latency added per sequence (prompt x n) in the batch")
	flag.IntVar(&cfg.MaxBatch, "max-batch", 64, "requests running at once; more wait in the queue")
	flag.IntVar(&cfg.MaxQueue, "max-queue", 0, "longest queue; beyond it requests get 429 (0: unlimited)")
	flag.DurationVar(&cfg.RetryAfter, "retry-after", 0, "Retry-After sent with a 429")
	flag.Float64Var(&cfg.Reject429, "reject-429", 0, "probability of a 429 on any request")
	flag.IntVar(&cfg.MaxModelLen, "max-model-len", 4096, "context window reported by /v1/models")
	flag.BoolVar(&cfg.NoLogprobs, "no-logprobs", false, "answer without logprobs")
	flag.IntVar(&cfg.LogprobsMin, "logprobs-min", 0, "least logprobs value answered with logprobs (1: like SGLang)")
	flag.Uint64Var(&cfg.Seed, "seed", 0, "mixed into every sample")
	keyFile := flag.String("api-key-file", "", "require the bearer token in this file")
	flag.Parse()
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "gpusim:", err)
			os.Exit(2)
		}
		cfg.APIKey = strings.TrimSpace(string(b))
	}
	r, err := sim.Start(cfg, *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpusim:", err)
		os.Exit(1)
	}
	c := r.Config()
	fmt.Printf("gpusim: serving %s at %s (latency %v + %v x batch, max batch %d)\n", c.Model, r.URL, c.Base, c.PerRequest, c.MaxBatch)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	st := r.Stats()
	_ = r.Close()
	fmt.Printf("gpusim: %d requests (%d sequences), %d rejected, %d abandoned; occupancy %.1f%% over %v, mean batch %.1f, peak batch %d, peak queue %d\n",
		st.Requests, st.Sequences, st.Rejected, st.Abandoned, 100*st.Occupancy(), st.Elapsed.Round(time.Millisecond), st.MeanBatch(), st.PeakBatch, st.PeakQueue)
}
