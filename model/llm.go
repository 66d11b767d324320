package model

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/llemma-prove/llemma-prove/prover"
)

// LLMConfig configures the LLM proposer. Zero fields take the defaults
// noted; NewLLM documents the decoding choice.
type LLMConfig struct {
	// URLs are runtime base URLs (a trailing "/v1" is dropped). Requests
	// are spread over them; a failing one is skipped for a while. Default
	// http://127.0.0.1:8000 (openai) or http://127.0.0.1:11434 (ollama).
	URLs []string
	// Model is the served model name (required), e.g. EleutherAI/llemma_7b.
	Model string
	// API is "openai" (POST /v1/completions: vLLM, SGLang, llama.cpp; the
	// default) or "ollama" (POST /api/generate, one sample per request).
	API string
	// Samples is n, the completions requested per state (default 32).
	Samples int
	// Temperature for sampling; 0 means the default 1.0. Beam search runs
	// at 0 whatever this says; Greedy sends 0 with one sample.
	Temperature float64
	Greedy      bool
	// TopP is sent on every request (default 1.0).
	TopP float64
	// MaxTokens per completion (default 256); ContextTokens is the model's
	// window (default 4096): prompt + MaxTokens must fit in it.
	MaxTokens     int
	ContextTokens int
	// Stop overrides the prompt format's stop strings.
	Stop []string
	// Timeout bounds one HTTP attempt, body included (default 2 min).
	Timeout time.Duration
	// Retries after a failed attempt (default 3; negative: none). Backoff
	// is the first wait (default 250 ms), doubled per retry up to 10 s, with
	// jitter; a 429's Retry-After is honoured up to 60 s.
	Retries int
	Backoff time.Duration
	// Concurrency bounds the HTTP requests in flight over all URLs (default 8).
	Concurrency int
	// BatchPrompts bounds the prompts sent in one request by ProposeBatch
	// (default 8; 1 sends one prompt per request). Ignored for ollama.
	BatchPrompts int
	// PromptFormat is "llemma" (default: Llemma's few-shot format with
	// this project's examples for Backend), "goal-proofstep", or the path
	// of a template file (see PromptData).
	PromptFormat string
	// Backend is lean (default), coq or isabelle: it picks the few-shot
	// examples and where the goal is found when a state is cut.
	Backend string
	// Policy is the backend's tactic policy, applied to every candidate
	// before it is returned. Nil: only text that gives up a goal is refused.
	Policy prover.Policy
	// Seed, when set, makes sampling reproducible: the seed sent is derived
	// from Seed and the prompt (and the sample number when n is fanned out).
	Seed *int64
	// Beam asks vLLM for beam search (use_beam_search, width Samples, at
	// temperature 0), as Llemma's evaluation did. openai API only.
	Beam bool
	// Launch, when set, is a shell command that starts the runtime (e.g.
	// "vllm serve EleutherAI/llemma_7b --port 8000"); Start runs it in its
	// own process group and waits for URLs[0] to be healthy; Close stops it.
	Launch        string
	LaunchTimeout time.Duration // default 20 min (model loading is slow)
	// OnProgress receives launcher progress lines.
	OnProgress func(msg string)
	// HTTPClient is used for every request (default: a client with a
	// connection pool sized to Concurrency and no overall timeout).
	HTTPClient *http.Client
	// Extra adds server-specific request fields, e.g. {"top_k": 0,
	// "min_p": 0} so that llama.cpp samples the same distribution as vLLM.
	Extra map[string]any
}

// LLM proposes tactics from a language model served over HTTP. It is safe
// for concurrent use.
type LLM struct {
	cfg    LLMConfig
	format *promptFormat
	stops  []string
	temp   float64
	n      int
	rt     *runtime
	st     counters

	noN    atomic.Bool // the server refused n > 1: fan out n requests
	noList atomic.Bool // the server refused a list prompt: one per request

	startMu  sync.Mutex
	launcher *Launcher
	closed   bool
}

var _ prover.Proposer = (*LLM)(nil)

// NewLLM checks cfg, fills in defaults and returns the proposer. It does
// not contact the runtime; Start launches it when cfg.Launch is set.
//
// Decoding: by default the proposer samples n=32 at temperature 1.0 (top_p
// 1.0). This deviates from Llemma's evaluation, which ran 32-beam search at
// temperature 0 on vLLM 0.1.7's offline API: vLLM's HTTP server still
// accepts use_beam_search, but runs it outside the engine, slowly, and
// without stop strings, and no other runtime supports it. Beam: true
// restores the Llemma setting on vLLM.
func NewLLM(cfg LLMConfig) (*LLM, error) {
	if cfg.Model == "" {
		return nil, errors.New("model name required (llemma-prove doctor lists the served models)")
	}
	switch cfg.API {
	case "", "openai":
		cfg.API = "openai"
	case "ollama":
		if cfg.Beam {
			return nil, errors.New("beam search needs the openai API (vLLM); ollama only samples")
		}
	default:
		return nil, fmt.Errorf("unknown model API %q (want openai or ollama)", cfg.API)
	}
	if len(cfg.URLs) == 0 {
		if cfg.API == "ollama" {
			cfg.URLs = []string{"http://127.0.0.1:11434"}
		} else {
			cfg.URLs = []string{"http://127.0.0.1:8000"}
		}
	}
	cfg.URLs = append([]string(nil), cfg.URLs...)
	for i, u := range cfg.URLs {
		cfg.URLs[i] = normalizeURL(u)
		if !strings.HasPrefix(cfg.URLs[i], "http://") && !strings.HasPrefix(cfg.URLs[i], "https://") {
			return nil, fmt.Errorf("model URL %q: want http:// or https://", u)
		}
	}
	if cfg.Samples <= 0 {
		cfg.Samples = 32
	}
	if cfg.MaxTokens <= 0 {
		cfg.MaxTokens = 256
	}
	if cfg.ContextTokens <= 0 {
		cfg.ContextTokens = 4096
	}
	if cfg.TopP <= 0 {
		cfg.TopP = 1.0
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Minute
	}
	switch {
	case cfg.Retries < 0:
		cfg.Retries = 0
	case cfg.Retries == 0:
		cfg.Retries = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 250 * time.Millisecond
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.BatchPrompts <= 0 {
		cfg.BatchPrompts = 8
	}
	if cfg.LaunchTimeout <= 0 {
		cfg.LaunchTimeout = 20 * time.Minute
	}
	if cfg.Backend == "" {
		cfg.Backend = "lean"
	}
	f, err := newPromptFormat(cfg.PromptFormat, cfg.Backend)
	if err != nil {
		return nil, err
	}
	l := &LLM{cfg: cfg, format: f, stops: f.stop, temp: cfg.Temperature, n: cfg.Samples}
	if cfg.Stop != nil {
		l.stops = append([]string(nil), cfg.Stop...)
	}
	if l.temp <= 0 {
		l.temp = 1.0
	}
	if cfg.Greedy {
		l.temp, l.n = 0, 1
	}
	if cfg.Beam {
		l.temp = 0
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Concurrency
		hc = &http.Client{Transport: tr}
	}
	hint := "is the model runtime running? start it (e.g. `vllm serve " + cfg.Model + " --port 8000`) or set the launch command"
	if cfg.API == "ollama" {
		hint = "is ollama running? start it with `ollama serve`"
	}
	l.rt = &runtime{
		hc:            hc,
		sem:           semaphore.NewWeighted(int64(cfg.Concurrency)),
		timeout:       cfg.Timeout,
		retries:       cfg.Retries,
		backoff:       cfg.Backoff,
		maxBackoff:    10 * time.Second,
		maxRetryAfter: time.Minute,
		failThreshold: 2,
		cooldown:      2 * time.Second,
		maxCooldown:   time.Minute,
		hint:          hint,
		st:            &l.st,
		now:           time.Now,
	}
	for _, u := range cfg.URLs {
		l.rt.eps = append(l.rt.eps, &endpoint{url: u})
	}
	return l, nil
}

func normalizeURL(u string) string {
	u = strings.TrimRight(strings.TrimSpace(u), "/")
	u = strings.TrimSuffix(u, "/v1")
	return u
}

// Name identifies the proposer in logs and results.
func (l *LLM) Name() string { return "llm:" + l.cfg.Model }

// Propose asks the model for cfg.Samples completions on req.State and
// returns the cleaned candidates, best first, at most req.N of them.
func (l *LLM) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	res, err := l.ProposeBatch(ctx, []prover.ProposalRequest{req})
	if err != nil {
		return nil, err
	}
	return res[0], nil
}

// ProposeBatch proposes for several states at once, sending up to
// cfg.BatchPrompts prompts per request (the runtime's prefix cache shares
// the few-shot header). The result is in the order of reqs.
func (l *LLM) ProposeBatch(ctx context.Context, reqs []prover.ProposalRequest) ([][]prover.Candidate, error) {
	if err := l.Start(ctx); err != nil {
		return nil, err
	}
	prompts := make([]string, len(reqs))
	for i, r := range reqs {
		p, err := l.Prompt(r)
		if err != nil {
			return nil, err
		}
		prompts[i] = p
	}
	l.st.proposals.Add(int64(len(reqs)))
	samples, err := l.sample(ctx, prompts, l.n)
	if err != nil {
		return nil, err
	}
	out := make([][]prover.Candidate, len(reqs))
	for i := range reqs {
		out[i] = clean(samples[i], l.stops, l.cfg.Policy, reqs[i].N, &l.st)
	}
	return out, nil
}

// Prompt renders the prompt for req, cutting the state to fit the context.
func (l *LLM) Prompt(req prover.ProposalRequest) (string, error) {
	state := req.State.Text
	if state == "" {
		state = strings.Join(req.State.Goals, "\n\n")
	}
	d := PromptData{Theorem: req.Theorem.Name, Statement: req.Theorem.Statement, Backend: l.cfg.Backend, Path: req.Path}
	empty, err := l.format.render(d)
	if err != nil {
		return "", err
	}
	limit := l.cfg.ContextTokens - l.cfg.MaxTokens - 8 // BOS and tokenizer slack
	budget := limit - estimateTokens(empty)
	var prompt string
	for try := 0; try < 6; try++ {
		s, cut := fitState(state, budget)
		d.State = s
		d.Hypotheses, d.Goal = "", s
		if hyps, goal, ok := splitGoal(s); ok {
			d.Hypotheses, d.Goal = strings.Join(hyps, "\n"), strings.Join(goal, "\n")
		}
		prompt, err = l.format.render(d)
		if err != nil {
			return "", err
		}
		if estimateTokens(prompt) <= limit || budget <= 0 {
			if cut {
				l.st.promptsCut.Add(1)
			}
			return prompt, nil
		}
		budget = budget * 2 / 3 // the template repeats the state (e.g. .State and .Goal)
	}
	l.st.promptsCut.Add(1)
	return prompt, nil
}

// Stats returns a snapshot of the counters.
func (l *LLM) Stats() Stats {
	c := &l.st
	s := Stats{
		Proposals: c.proposals.Load(), Requests: c.requests.Load(), Retries: c.retries.Load(),
		Failures: c.failures.Load(), Samples: c.samples.Load(), Truncated: c.truncated.Load(),
		NoLogprobs: c.noLogprobs.Load(), Empty: c.empty.Load(), Duplicates: c.duplicates.Load(),
		Rejected: c.rejected.Load(), Kept: c.kept.Load(), PromptsCut: c.promptsCut.Load(),
		RejectedByRule: map[string]int64{},
	}
	c.mu.Lock()
	for k, v := range c.byRule {
		s.RejectedByRule[k] = v
	}
	c.mu.Unlock()
	now := time.Now()
	for _, e := range l.rt.eps {
		s.Endpoints = append(s.Endpoints, EndpointStats{URL: e.url, Requests: e.requests.Load(),
			Failures: e.failures.Load(), InFlight: e.inflight.Load(), Down: e.down(now)})
	}
	return s
}

// Start launches the runtime when cfg.Launch is set and waits until it is
// healthy; without Launch it does nothing. Propose calls it, so an explicit
// call only moves the wait (and its errors) up front. A failed start is
// tried again on the next call.
func (l *LLM) Start(ctx context.Context) error {
	if l.cfg.Launch == "" {
		return nil
	}
	l.startMu.Lock()
	defer l.startMu.Unlock()
	if l.closed {
		return fmt.Errorf("model runtime: %w", prover.ErrClosed)
	}
	if l.launcher != nil {
		return nil
	}
	lctx, cancel := context.WithTimeout(ctx, l.cfg.LaunchTimeout)
	defer cancel()
	paths := []string{"/health", "/v1/models"}
	if l.cfg.API == "ollama" {
		paths = []string{"/api/tags"}
	}
	ln, err := StartRuntime(lctx, LaunchConfig{
		Command: l.cfg.Launch, HealthURL: l.cfg.URLs[0], HealthPaths: paths,
		HTTPClient: l.rt.hc, Progress: l.cfg.OnProgress,
	})
	if err != nil {
		return err
	}
	l.launcher = ln
	return nil
}

// Close stops a runtime that Start launched. It is safe to call twice.
func (l *LLM) Close() error {
	l.startMu.Lock()
	defer l.startMu.Unlock()
	l.closed = true
	if l.launcher == nil {
		return nil
	}
	return l.launcher.Close()
}

// sample returns, per prompt, the completions of one call.
func (l *LLM) sample(ctx context.Context, prompts []string, n int) ([][]Sample, error) {
	if l.cfg.API == "ollama" {
		return l.perPrompt(ctx, prompts, func(ctx context.Context, p string) ([]Sample, error) {
			return l.fanOut(ctx, p, n, l.ollamaOne)
		})
	}
	batch := l.cfg.BatchPrompts
	if l.noList.Load() {
		batch = 1
	}
	out := make([][]Sample, len(prompts))
	g, gctx := errgroup.WithContext(ctx)
	for i := 0; i < len(prompts); i += batch {
		j := min(i+batch, len(prompts))
		g.Go(func() error {
			res, err := l.completeBatch(gctx, prompts[i:j], n)
			if err != nil {
				return err
			}
			copy(out[i:j], res)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (l *LLM) perPrompt(ctx context.Context, prompts []string, one func(context.Context, string) ([]Sample, error)) ([][]Sample, error) {
	out := make([][]Sample, len(prompts))
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range prompts {
		g.Go(func() error {
			res, err := one(gctx, p)
			out[i] = res
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// completeBatch sends prompts in one /v1/completions request, falling back
// to one prompt per request or n requests per prompt when the server
// refuses a list prompt or n > 1.
func (l *LLM) completeBatch(ctx context.Context, prompts []string, n int) ([][]Sample, error) {
	if n > 1 && l.noN.Load() {
		return l.perPrompt(ctx, prompts, func(ctx context.Context, p string) ([]Sample, error) {
			return l.fanOut(ctx, p, n, l.openaiOne)
		})
	}
	req := l.request(prompts, n, l.seedFor(prompts[0], 0))
	resp, err := post[CompletionResponse](ctx, l.rt, "/v1/completions", req)
	if err != nil {
		switch unsupportedKind(err) {
		case "n":
			if n > 1 {
				l.noN.Store(true)
				return l.completeBatch(ctx, prompts, n)
			}
		case "prompt-list":
			if len(prompts) > 1 {
				l.noList.Store(true)
				return l.perPrompt(ctx, prompts, func(ctx context.Context, p string) ([]Sample, error) {
					res, err := l.completeBatch(ctx, []string{p}, n)
					if err != nil {
						return nil, err
					}
					return res[0], nil
				})
			}
		}
		return nil, err
	}
	groups, err := groupChoices(resp.Choices, len(prompts), n)
	if err != nil {
		return nil, fmt.Errorf("model response from %s: %w", l.cfg.Model, err)
	}
	out := make([][]Sample, len(prompts))
	for i, g := range groups {
		for _, c := range g {
			out[i] = append(out[i], sampleFromChoice(c, l.stops))
		}
	}
	return out, nil
}

func (l *LLM) request(prompts []string, n int, seed *int64) CompletionRequest {
	var p any = prompts
	if len(prompts) == 1 {
		p = prompts[0]
	}
	temp, topP, maxTokens, logprobs := l.temp, l.cfg.TopP, l.cfg.MaxTokens, 0
	r := CompletionRequest{
		Model: l.cfg.Model, Prompt: p, N: &n, Temperature: &temp, TopP: &topP,
		MaxTokens: &maxTokens, Stop: l.stops, Logprobs: &logprobs, Seed: seed, Extra: l.cfg.Extra,
	}
	if l.cfg.Beam && n > 1 {
		beam := true
		r.UseBeamSearch = &beam
	}
	return r
}

// openaiOne is one n=1 completion, for servers that refuse n > 1.
func (l *LLM) openaiOne(ctx context.Context, prompt string, seed *int64) (Sample, error) {
	resp, err := post[CompletionResponse](ctx, l.rt, "/v1/completions", l.request([]string{prompt}, 1, seed))
	if err != nil {
		return Sample{}, err
	}
	if len(resp.Choices) == 0 {
		return Sample{}, fmt.Errorf("model response from %s: %w: no choices", l.cfg.Model, errMalformed)
	}
	return sampleFromChoice(resp.Choices[0], l.stops), nil
}

// ollamaOne is one /api/generate call: raw prompt, no template, logprobs.
func (l *LLM) ollamaOne(ctx context.Context, prompt string, seed *int64) (Sample, error) {
	temp, topP, maxTokens, numCtx := l.temp, l.cfg.TopP, l.cfg.MaxTokens, l.cfg.ContextTokens
	stops := l.stops
	if stops == nil {
		stops = []string{}
	}
	req := OllamaGenerateRequest{Model: l.cfg.Model, Prompt: prompt, Raw: true, Stream: false, Logprobs: true,
		Options: OllamaOptions{Temperature: &temp, TopP: &topP, Seed: seed, NumPredict: &maxTokens, NumCtx: &numCtx, Stop: stops}}
	resp, err := post[OllamaGenerateResponse](ctx, l.rt, "/api/generate", req)
	if err != nil {
		return Sample{}, err
	}
	return sampleFromOllama(resp, l.stops), nil
}

// fanOut makes n single-sample calls with distinct seeds. Failed calls are
// dropped while at least one succeeds; otherwise the first error returns.
func (l *LLM) fanOut(ctx context.Context, prompt string, n int, one func(context.Context, string, *int64) (Sample, error)) ([]Sample, error) {
	res := make([]Sample, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for j := range n {
		wg.Go(func() {
			res[j], errs[j] = one(ctx, prompt, l.seedFor(prompt, j))
		})
	}
	wg.Wait()
	var out []Sample
	var first error
	for j := range n {
		if errs[j] != nil {
			if first == nil {
				first = errs[j]
			}
			continue
		}
		out = append(out, res[j])
	}
	if len(out) == 0 && first != nil {
		return nil, first
	}
	return out, nil
}

// seedFor derives the seed of sample j of prompt: reproducible from
// cfg.Seed, else random (so fanned-out samples differ).
func (l *LLM) seedFor(prompt string, j int) *int64 {
	var v int64
	if l.cfg.Seed == nil {
		if j == 0 && !l.noN.Load() && l.cfg.API == "openai" {
			return nil
		}
		v = rand.Int64N(1 << 31)
	} else {
		h := fnv.New64a()
		h.Write([]byte(prompt))
		v = int64((uint64(*l.cfg.Seed)^h.Sum64())+uint64(j)) & 0x7fffffff
	}
	return &v
}
