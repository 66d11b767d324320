package model

import (
	"context"
	"sync"
	"time"
)

// Cost is what proposals cost at the model runtime: counts, tokens and
// time. The runner keeps one per theorem (a Meter in the theorem's ctx) and
// one per run (LLM.Cost); their JSON field names are the result-line names.
type Cost struct {
	Proposals int64 `json:"proposals"` // states proposed for
	Requests  int64 `json:"requests"`  // HTTP attempts, retries included
	Retries   int64 `json:"retries"`   // attempts after the first of a call
	Failures  int64 `json:"failures"`  // attempts that failed
	Throttled int64 `json:"throttled"` // answers 429 or 503 (the runtime was full)
	// Token counts as the runtime reports them (usage, or the native
	// fields of Ollama and llama.cpp); zero when it reports none.
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	// CachedTokens is the part of PromptTokens served from the prefix cache
	// (vLLM needs --enable-prompt-tokens-details to report it).
	CachedTokens int64 `json:"cached_tokens"`
	Samples      int64 `json:"samples"`     // completions received
	NoLogprobs   int64 `json:"no_logprobs"` // completions that came without logprobs
	// ModelTime sums the wall time of the HTTP attempts (request-seconds:
	// concurrent requests add up). QueueTime sums the waits for an in-flight
	// slot on the client side. ProposeTime sums the wall time of the
	// proposal calls, which is what their callers waited.
	ModelTime   time.Duration `json:"model_ns"`
	QueueTime   time.Duration `json:"queue_ns"`
	ProposeTime time.Duration `json:"propose_ns"`
}

// Add adds o to c.
func (c *Cost) Add(o Cost) {
	c.Proposals += o.Proposals
	c.Requests += o.Requests
	c.Retries += o.Retries
	c.Failures += o.Failures
	c.Throttled += o.Throttled
	c.PromptTokens += o.PromptTokens
	c.CompletionTokens += o.CompletionTokens
	c.CachedTokens += o.CachedTokens
	c.Samples += o.Samples
	c.NoLogprobs += o.NoLogprobs
	c.ModelTime += o.ModelTime
	c.QueueTime += o.QueueTime
	c.ProposeTime += o.ProposeTime
}

// CacheHitRate is CachedTokens / PromptTokens (0 when nothing was reported).
func (c Cost) CacheHitRate() float64 {
	if c.PromptTokens <= 0 {
		return 0
	}
	return float64(c.CachedTokens) / float64(c.PromptTokens)
}

// Meter accumulates the Cost of the proposals made under a ctx that carries
// it (WithMeter). It is safe for concurrent use; the zero value is ready.
type Meter struct {
	mu sync.Mutex
	c  Cost
}

// Cost returns what has been recorded so far.
func (m *Meter) Cost() Cost {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.c
}

func (m *Meter) add(c Cost) {
	m.mu.Lock()
	m.c.Add(c)
	m.mu.Unlock()
}

type meterKey struct{}

// WithMeter returns a ctx under which every proposal's cost is also
// recorded in m. Meters nest: a speculative proposal made under a theorem's
// ctx can carry a meter of its own and still count towards the theorem's.
func WithMeter(ctx context.Context, m *Meter) context.Context {
	prev, _ := ctx.Value(meterKey{}).([]*Meter)
	chain := make([]*Meter, 0, len(prev)+1)
	chain = append(append(chain, prev...), m)
	return context.WithValue(ctx, meterKey{}, chain)
}

// record adds c to the meters carried by ctx and to total.
func record(ctx context.Context, total *Meter, c Cost) {
	if total != nil {
		total.add(c)
	}
	if ctx == nil {
		return
	}
	ms, _ := ctx.Value(meterKey{}).([]*Meter)
	for _, m := range ms {
		m.add(c)
	}
}

type attemptKey struct{}

// WithAttempt marks the proposals made under ctx as belonging to attempt
// k (0-based) of a theorem. The seed of every request is derived from it,
// so that the attempts of pass@k sample differently (and each one
// reproducibly when a seed is configured).
func WithAttempt(ctx context.Context, k int) context.Context {
	return context.WithValue(ctx, attemptKey{}, k)
}

// AttemptFrom is the attempt set by WithAttempt (0 when none).
func AttemptFrom(ctx context.Context) int {
	k, _ := ctx.Value(attemptKey{}).(int)
	return k
}
