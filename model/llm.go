package model

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/llemma-prove/llemma-prove/prover"
)

// The model APIs (LLMConfig.API).
const (
	APIOpenAI   = "openai"   // POST /v1/completions: vLLM, SGLang, llama.cpp (the default)
	APIChat     = "chat"     // POST /v1/chat/completions: the server applies the model's chat template
	APIOllama   = "ollama"   // POST /api/generate: one sample per request, raw prompt
	APILlamaCpp = "llamacpp" // POST /completion: llama-server's native endpoint
)

// LLMConfig configures the LLM proposer. Zero fields take the defaults
// noted; NewLLM documents the decoding choice.
type LLMConfig struct {
	// URLs are runtime base URLs (a trailing "/v1" is dropped). Requests
	// are spread over them; a failing one is skipped for a while. Default
	// http://127.0.0.1:8000 (11434 for ollama, 8080 for llamacpp).
	URLs []string
	// Model is the served model name (required), e.g. EleutherAI/llemma_7b.
	Model string
	// API is APIOpenAI (the default), APIChat, APIOllama or APILlamaCpp.
	API string
	// APIKey is sent as "Authorization: Bearer <key>". When empty, it is
	// read from APIKeyFile, else $LLEMMA_MODEL_API_KEY, else
	// $OPENAI_API_KEY (ResolveAPIKey). It never appears in errors or logs.
	APIKey     Secret
	APIKeyFile string
	// Samples is n, the completions requested per state (default 32).
	Samples int
	// Temperature of sampling (nil: 1.0). 0 is greedy decoding: one
	// sample per state, since every sample would be the same; with Beam, 0
	// is implied and Samples is the beam width. Greedy is the same as 0.
	Temperature *float64
	Greedy      bool
	// TopP is sent on every request (default 1.0). TopK and MinP are sent
	// when set (nil: the runtime's default), except that the llamacpp API
	// always sends them (top_k 0, min_p 0 when nil), since llama.cpp's
	// defaults would otherwise truncate the distribution.
	TopP float64
	TopK *int
	MinP *float64
	// MaxTokens per completion (default 256); ContextTokens is the model's
	// window (default 4096): prompt + MaxTokens must fit in it.
	MaxTokens     int
	ContextTokens int
	// Stop overrides the prompt format's stop strings.
	Stop []string
	// TopLogprobs is the number of alternatives asked per token (the
	// sampled token's own logprob always comes back). Default 1: vLLM
	// answers logprobs 0 with the sampled token, but SGLang and llama.cpp
	// return nothing for 0. Negative sends 0.
	TopLogprobs int
	// RequireLogprobs makes an answer without logprobs an error (wrapping
	// ErrNoLogprobs) instead of candidates tried in proposal order.
	RequireLogprobs bool
	// Timeout bounds one HTTP attempt, body included (default 2 min).
	Timeout time.Duration
	// Retries after a failed attempt (default 3; negative: none). Backoff
	// is the first wait (default 250 ms), doubled per retry up to 10 s, with
	// jitter; a 429's Retry-After is honoured up to 60 s.
	Retries int
	Backoff time.Duration
	// Limits is the in-flight policy of each endpoint (see LimitConfig):
	// at most len(URLs) x Limits.Max requests are in flight in all.
	Limits LimitConfig
	// BatchPrompts bounds the prompts sent in one request by ProposeBatch
	// (default 8; 1 sends one prompt per request). openai and llamacpp only.
	BatchPrompts int
	// PromptFormat is one of the Prompt* names (default PromptLlemma, or
	// PromptChat with the chat API) or the path of a template file (see
	// PromptData).
	PromptFormat string
	// System is the system message of the chat API ("" sends none).
	System string
	// Backend is lean (default), coq or isabelle: it picks the few-shot
	// examples and where the goal is found when a state is cut.
	Backend string
	// Policy is the backend's tactic policy, applied to every candidate
	// before it is returned. Nil: only text that gives up a goal is refused.
	Policy prover.Policy
	// Seed makes sampling reproducible. Every request carries a seed
	// derived from it (a random one drawn by NewLLM when nil), the theorem
	// attempt (WithAttempt), the prompt and the sample number, so the
	// attempts of pass@k sample differently.
	Seed *int64
	// Beam asks vLLM for beam search (use_beam_search, width Samples, at
	// temperature 0), as Llemma's evaluation did. openai and chat APIs.
	Beam bool
	// Launch, when set, is a shell command that starts the runtime (e.g.
	// "vllm serve EleutherAI/llemma_7b --port 8000"); Start runs it and
	// waits for URLs[0] to be healthy, a runtime that dies is restarted
	// with backoff, and Close stops it.
	Launch        string
	LaunchTimeout time.Duration // default 20 min (model loading is slow)
	// OnProgress receives launcher progress lines.
	OnProgress func(msg string)
	// HTTPClient is used for every request (default: a client with a
	// connection pool sized to the in-flight limits and no overall timeout).
	HTTPClient *http.Client
	// Extra adds server-specific request fields, e.g. {"cache_salt": "x"}.
	// A field that the request already has is not overridden.
	Extra map[string]any
	// Log receives warnings (default slog.Default()).
	Log *slog.Logger

	stopGrace time.Duration // LaunchConfig.StopGrace (tests)
}

// ErrNoLogprobs: the runtime answered without per-token logprobs, so the
// candidates cannot be scored (LLMConfig.RequireLogprobs).
var ErrNoLogprobs = errors.New("model: the runtime returned no logprobs")

// LLM proposes tactics from a language model served over HTTP. It is safe
// for concurrent use.
type LLM struct {
	cfg      LLMConfig
	format   *promptFormat
	stops    []string
	temp     float64
	n        int
	seedBase int64
	topLP    int
	rt       *runtime
	st       counters
	total    Meter
	log      *slog.Logger

	noN       atomic.Bool // the server refused n > 1: fan out n requests
	noList    atomic.Bool // the server refused a list prompt: one per request
	warnedNoL atomic.Bool

	sup supervisor
}

var _ prover.Proposer = (*LLM)(nil)

// NewLLM checks cfg, fills in defaults and returns the proposer. It does
// not contact the runtime; Start launches it when cfg.Launch is set.
//
// Decoding: by default the proposer samples n=32 at temperature 1.0 (top_p
// 1.0). This deviates from Llemma's evaluation, which ran 32-beam search at
// temperature 0 on vLLM 0.1.7's offline API: vLLM's HTTP server still
// accepts use_beam_search, but runs it outside the engine, slowly, and
// without stop strings, and no other runtime supports it. Beam: true (or
// the LlemmaParity preset) restores the Llemma setting on vLLM.
func NewLLM(cfg LLMConfig) (*LLM, error) {
	if cfg.Model == "" {
		return nil, errors.New("model name required (llemma-prove doctor lists the served models)")
	}
	defURL := "http://127.0.0.1:8000"
	switch cfg.API {
	case "", APIOpenAI:
		cfg.API = APIOpenAI
	case APIChat:
	case APIOllama, APILlamaCpp:
		if cfg.Beam {
			return nil, fmt.Errorf("beam search needs vLLM (api %s or %s); %s only samples", APIOpenAI, APIChat, cfg.API)
		}
		defURL = "http://127.0.0.1:11434"
		if cfg.API == APILlamaCpp {
			defURL = "http://127.0.0.1:8080"
		}
	default:
		return nil, fmt.Errorf("unknown model API %q (want %s, %s, %s or %s)", cfg.API, APIOpenAI, APIChat, APIOllama, APILlamaCpp)
	}
	if len(cfg.URLs) == 0 {
		cfg.URLs = []string{defURL}
	}
	cfg.URLs = append([]string(nil), cfg.URLs...)
	for i, u := range cfg.URLs {
		cfg.URLs[i] = normalizeURL(u)
		if !strings.HasPrefix(cfg.URLs[i], "http://") && !strings.HasPrefix(cfg.URLs[i], "https://") {
			return nil, fmt.Errorf("model URL %q: want http:// or https://", displayURL(u))
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
	if cfg.MaxTokens >= cfg.ContextTokens {
		return nil, fmt.Errorf("model.max-tokens %d leaves no room for the prompt in a %d-token context", cfg.MaxTokens, cfg.ContextTokens)
	}
	if cfg.TopP <= 0 {
		cfg.TopP = 1.0
	}
	if cfg.TopP > 1 {
		return nil, fmt.Errorf("model.top-p %v: want a value in (0, 1]", cfg.TopP)
	}
	if cfg.Temperature != nil && *cfg.Temperature < 0 {
		return nil, fmt.Errorf("model.temperature %v: want >= 0 (0 is greedy)", *cfg.Temperature)
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
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.BatchPrompts <= 0 {
		cfg.BatchPrompts = 8
	}
	if cfg.LaunchTimeout <= 0 {
		cfg.LaunchTimeout = 20 * time.Minute
	}
	if cfg.Backend == "" {
		cfg.Backend = "lean"
	}
	if cfg.PromptFormat == "" && cfg.API == APIChat {
		cfg.PromptFormat = PromptChat
	}
	key, _, err := ResolveAPIKey(cfg.APIKey, cfg.APIKeyFile, nil)
	if err != nil {
		return nil, err
	}
	cfg.APIKey = key
	f, err := newPromptFormat(cfg.PromptFormat, cfg.Backend)
	if err != nil {
		return nil, err
	}
	l := &LLM{cfg: cfg, format: f, stops: f.stop, temp: 1.0, n: cfg.Samples, log: cfg.Log, topLP: 1}
	if l.log == nil {
		l.log = slog.Default()
	}
	if cfg.Stop != nil {
		l.stops = append([]string(nil), cfg.Stop...)
	}
	if cfg.Temperature != nil {
		l.temp = *cfg.Temperature
	}
	switch {
	case cfg.Beam:
		l.temp = 0
	case cfg.Greedy || l.temp == 0:
		l.temp, l.n = 0, 1
	}
	switch {
	case cfg.TopLogprobs < 0:
		l.topLP = 0
	case cfg.TopLogprobs > 0:
		l.topLP = cfg.TopLogprobs
	}
	if cfg.Seed != nil {
		l.seedBase = *cfg.Seed
	} else {
		l.seedBase = rand.Int64()
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Limits.Max
		hc = &http.Client{Transport: tr}
	}
	hint := "is the model runtime running? start it (e.g. `vllm serve " + cfg.Model + " --port 8000`) or set the launch command"
	switch cfg.API {
	case APIOllama:
		hint = "is ollama running? start it with `ollama serve`"
	case APILlamaCpp:
		hint = "is llama-server running? start it with `llama-server -m MODEL.gguf --port 8080 --parallel 8`"
	}
	rt := newRuntime(cfg.URLs, cfg.Limits)
	rt.hc, rt.key, rt.timeout, rt.retries, rt.backoff = hc, cfg.APIKey, cfg.Timeout, cfg.Retries, cfg.Backoff
	rt.maxBackoff, rt.maxRetryAfter = 10*time.Second, time.Minute
	rt.failThreshold, rt.cooldown, rt.maxCooldown = 2, 2*time.Second, time.Minute
	rt.hint, rt.total = hint, &l.total
	l.rt = rt
	if cfg.APIKey != "" {
		for _, u := range cfg.URLs {
			if insecureKeyTarget(u) {
				l.log.Warn("sending the model API key over plain http to a non-loopback host", "url", displayURL(u))
			}
		}
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
// the few-shot header). The result is in the order of reqs. Its cost is
// recorded in the meters of ctx (WithMeter) and in Cost.
func (l *LLM) ProposeBatch(ctx context.Context, reqs []prover.ProposalRequest) ([][]prover.Candidate, error) {
	start := time.Now()
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
	c := Cost{Proposals: int64(len(reqs))}
	for _, ss := range samples {
		for _, s := range ss {
			c.Samples++
			if !s.HasLogprobs && strings.TrimSpace(s.Text) != "" {
				c.NoLogprobs++
			}
		}
	}
	c.ProposeTime = time.Since(start)
	record(ctx, &l.total, c)
	if err != nil {
		return nil, err
	}
	if c.NoLogprobs > 0 {
		if l.cfg.RequireLogprobs {
			return nil, fmt.Errorf("%w: %d of %d completions from %s (%s API, top logprobs %d); %s",
				ErrNoLogprobs, c.NoLogprobs, c.Samples, l.cfg.Model, l.cfg.API, l.topLP, noLogprobsFix(l.cfg.API))
		}
		if l.warnedNoL.CompareAndSwap(false, true) {
			l.log.Warn("model runtime returned completions without logprobs: they all score the same, so best-first search tries them in proposal order",
				"model", l.cfg.Model, "api", l.cfg.API, "fix", noLogprobsFix(l.cfg.API))
		}
	}
	out := make([][]prover.Candidate, len(reqs))
	for i := range reqs {
		out[i] = clean(samples[i], l.stops, l.cfg.Policy, reqs[i].N, &l.st)
	}
	return out, nil
}

func noLogprobsFix(api string) string {
	switch api {
	case APIOllama:
		return "Ollama returns logprobs on /api/generate from v0.12.11: upgrade it"
	case APIChat:
		return "the server ignores logprobs/top_logprobs on chat completions: try api openai with a chat template file"
	}
	return "raise model.logprobs (SGLang and llama.cpp return none for 0), or use api llamacpp for llama-server"
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
	if l.cfg.API == APIChat {
		limit -= estimateTokens(l.cfg.System) + 32 // the chat template's markup
	}
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

// Cost is what every proposal of this proposer has cost so far.
func (l *LLM) Cost() Cost { return l.total.Cost() }

// Stats returns a snapshot of the counters.
func (l *LLM) Stats() Stats {
	c := &l.st
	cost := l.total.Cost()
	s := Stats{
		Proposals: c.proposals.Load(), Requests: cost.Requests, Retries: cost.Retries,
		Failures: cost.Failures, Samples: c.samples.Load(), Truncated: c.truncated.Load(),
		NoLogprobs: c.noLogprobs.Load(), Empty: c.empty.Load(), Duplicates: c.duplicates.Load(),
		Rejected: c.rejected.Load(), Kept: c.kept.Load(), PromptsCut: c.promptsCut.Load(),
		RejectedByRule: map[string]int64{}, Cost: cost, Restarts: l.sup.restarts.Load(),
	}
	c.mu.Lock()
	for k, v := range c.byRule {
		s.RejectedByRule[k] = v
	}
	c.mu.Unlock()
	s.Endpoints = l.rt.endpointStats()
	s.Queued = int64(l.rt.queued())
	return s
}

// sample returns, per prompt, the completions of one call.
func (l *LLM) sample(ctx context.Context, prompts []string, n int) ([][]Sample, error) {
	switch l.cfg.API {
	case APIOllama:
		return l.perPrompt(ctx, prompts, func(ctx context.Context, p string) ([]Sample, error) {
			return l.fanOut(ctx, p, n, l.ollamaOne)
		})
	case APIChat:
		return l.perPrompt(ctx, prompts, func(ctx context.Context, p string) ([]Sample, error) {
			return l.chat(ctx, p, n)
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
			var res [][]Sample
			var err error
			if l.cfg.API == APILlamaCpp {
				res, err = l.llamaCppBatch(gctx, prompts[i:j], n)
			} else {
				res, err = l.completeBatch(gctx, prompts[i:j], n)
			}
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
	req := l.completionRequest(prompts, n, l.seedFor(ctx, prompts[0], 0))
	var resp CompletionResponse
	if err := l.rt.post(ctx, "/v1/completions", req, &resp); err != nil {
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
	groups, err := groupChoices(resp.Choices, choiceIndex, len(prompts), n)
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

func (l *LLM) completionRequest(prompts []string, n int, seed *int64) CompletionRequest {
	var p any = prompts
	if len(prompts) == 1 {
		p = prompts[0]
	}
	temp, topP, maxTokens, logprobs := l.temp, l.cfg.TopP, l.cfg.MaxTokens, l.topLP
	r := CompletionRequest{
		Model: l.cfg.Model, Prompt: p, N: &n, Temperature: &temp, TopP: &topP, TopK: l.cfg.TopK, MinP: l.cfg.MinP,
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
	var resp CompletionResponse
	if err := l.rt.post(ctx, "/v1/completions", l.completionRequest([]string{prompt}, 1, seed), &resp); err != nil {
		return Sample{}, err
	}
	if len(resp.Choices) == 0 {
		return Sample{}, fmt.Errorf("model response from %s: %w: no choices", l.cfg.Model, errMalformed)
	}
	return sampleFromChoice(resp.Choices[0], l.stops), nil
}

// chat is one /v1/chat/completions request for n answers to prompt (the
// user message), falling back to n requests when the server refuses n > 1.
func (l *LLM) chat(ctx context.Context, prompt string, n int) ([]Sample, error) {
	if n > 1 && l.noN.Load() {
		return l.fanOut(ctx, prompt, n, func(ctx context.Context, p string, seed *int64) (Sample, error) {
			ss, err := l.chatRequest(ctx, p, 1, seed)
			if err != nil {
				return Sample{}, err
			}
			if len(ss) == 0 {
				return Sample{}, fmt.Errorf("model response from %s: %w: no choices", l.cfg.Model, errMalformed)
			}
			return ss[0], nil
		})
	}
	ss, err := l.chatRequest(ctx, prompt, n, l.seedFor(ctx, prompt, 0))
	if err != nil && n > 1 && unsupportedKind(err) == "n" {
		l.noN.Store(true)
		return l.chat(ctx, prompt, n)
	}
	return ss, err
}

func (l *LLM) chatRequest(ctx context.Context, prompt string, n int, seed *int64) ([]Sample, error) {
	var msgs []ChatMessage
	if l.cfg.System != "" {
		msgs = append(msgs, ChatMessage{Role: "system", Content: l.cfg.System})
	}
	msgs = append(msgs, ChatMessage{Role: "user", Content: prompt})
	temp, topP, maxTokens, topLP := l.temp, l.cfg.TopP, l.cfg.MaxTokens, l.topLP
	req := ChatRequest{Model: l.cfg.Model, Messages: msgs, N: &n, Temperature: &temp, TopP: &topP, TopK: l.cfg.TopK,
		MinP: l.cfg.MinP, MaxTokens: &maxTokens, Stop: l.stops, Logprobs: true, TopLogprobs: &topLP, Seed: seed,
		Extra: l.cfg.Extra}
	if l.cfg.Beam && n > 1 {
		beam := true
		req.UseBeamSearch = &beam
	}
	var resp ChatResponse
	if err := l.rt.post(ctx, "/v1/chat/completions", req, &resp); err != nil {
		return nil, err
	}
	groups, err := groupChoices(resp.Choices, chatChoiceIndex, 1, n)
	if err != nil {
		return nil, fmt.Errorf("model response from %s: %w", l.cfg.Model, err)
	}
	out := make([]Sample, 0, len(groups[0]))
	for _, c := range groups[0] {
		s := sampleFromChat(c, l.stops)
		s.Text = extractAnswer(s.Text)
		out = append(out, s)
	}
	return out, nil
}

// ollamaOne is one /api/generate call: raw prompt, no template, logprobs.
func (l *LLM) ollamaOne(ctx context.Context, prompt string, seed *int64) (Sample, error) {
	return l.ollamaGenerate(ctx, prompt, seed, l.stops)
}

// ollamaGenerate is one /api/generate call stopped at stops.
func (l *LLM) ollamaGenerate(ctx context.Context, prompt string, seed *int64, stops []string) (Sample, error) {
	temp, topP, maxTokens, numCtx := l.temp, l.cfg.TopP, l.cfg.MaxTokens, l.cfg.ContextTokens
	if stops == nil {
		stops = []string{}
	}
	req := OllamaGenerateRequest{Model: l.cfg.Model, Prompt: prompt, Raw: true, Stream: false, Logprobs: true,
		Options: OllamaOptions{Temperature: &temp, TopP: &topP, TopK: l.cfg.TopK, MinP: l.cfg.MinP, Seed: seed,
			NumPredict: &maxTokens, NumCtx: &numCtx, Stop: stops}}
	var resp OllamaGenerateResponse
	if err := l.rt.post(ctx, "/api/generate", req, &resp); err != nil {
		return Sample{}, err
	}
	return sampleFromOllama(&resp, stops), nil
}

// llamaCppRequest is a native /completion request of prompt (a string or
// []string), every sampler sent.
func (l *LLM) llamaCppRequest(prompt any, seed *int64, stops []string) LlamaCppRequest {
	temp, topP, maxTokens := l.temp, l.cfg.TopP, l.cfg.MaxTokens
	topK, minP, nProbs := 0, 0.0, max(l.topLP, 1)
	if l.cfg.TopK != nil {
		topK = *l.cfg.TopK
	}
	if l.cfg.MinP != nil {
		minP = *l.cfg.MinP
	}
	return LlamaCppRequest{Prompt: prompt, NPredict: &maxTokens, Temperature: &temp, TopP: &topP, TopK: &topK,
		MinP: &minP, Stop: stops, Seed: seed, NProbs: &nProbs, CachePrompt: true, Extra: l.cfg.Extra}
}

// llamaCppOne is one native /completion call of one prompt stopped at
// stops; the Choice carries the stopping word as StopReason.
func (l *LLM) llamaCppOne(ctx context.Context, prompt string, seed *int64, stops []string) (Sample, Choice, error) {
	req := l.llamaCppRequest(prompt, seed, stops)
	var resp llamaCppResults
	if err := l.rt.post(ctx, "/completion", req, &resp); err != nil {
		return Sample{}, Choice{}, err
	}
	if len(resp) != 1 {
		return Sample{}, Choice{}, fmt.Errorf("model response from %s: %w: %d results for 1 prompt", l.cfg.Model, errMalformed, len(resp))
	}
	c := Choice{Text: resp[0].Content}
	if resp[0].StopType == "word" {
		c.StopReason = resp[0].StoppingWord
	}
	return sampleFromLlamaCpp(resp[0], stops), c, nil
}

// llamaCppBatch samples n completions of each prompt from llama-server's
// native /completion: n requests with distinct seeds, each carrying every
// prompt (one result per prompt).
func (l *LLM) llamaCppBatch(ctx context.Context, prompts []string, n int) ([][]Sample, error) {
	var p any = prompts
	if len(prompts) == 1 {
		p = prompts[0]
	}
	res := make([][]Sample, n)
	g, gctx := errgroup.WithContext(ctx)
	for j := range n {
		g.Go(func() error {
			req := l.llamaCppRequest(p, l.seedFor(gctx, prompts[0], j), l.stops)
			var resp llamaCppResults
			if err := l.rt.post(gctx, "/completion", req, &resp); err != nil {
				return err
			}
			if len(resp) != len(prompts) {
				return fmt.Errorf("model response from %s: %w: %d results for %d prompts", l.cfg.Model, errMalformed, len(resp), len(prompts))
			}
			for _, r := range resp {
				res[j] = append(res[j], sampleFromLlamaCpp(r, l.stops))
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := make([][]Sample, len(prompts))
	for j := range n {
		for i, s := range res[j] {
			out[i] = append(out[i], s)
		}
	}
	return out, nil
}

// fanOut makes n single-sample calls with distinct seeds. Failed calls are
// dropped while at least one succeeds; otherwise the first error returns.
func (l *LLM) fanOut(ctx context.Context, prompt string, n int, one func(context.Context, string, *int64) (Sample, error)) ([]Sample, error) {
	res := make([]Sample, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for j := range n {
		wg.Go(func() {
			res[j], errs[j] = one(ctx, prompt, l.seedFor(ctx, prompt, j))
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

// seedFor derives the seed of sample j of prompt: a hash of the seed base
// (cfg.Seed, or random per LLM), the theorem attempt in ctx and the
// prompt, plus j; 31 bits, which every runtime accepts.
func (l *LLM) seedFor(ctx context.Context, prompt string, j int) *int64 {
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(l.seedBase))
	binary.LittleEndian.PutUint64(b[8:], uint64(AttemptFrom(ctx)))
	h := fnv.New64a()
	h.Write(b[:])
	h.Write([]byte(prompt))
	v := int64((h.Sum64() + uint64(j)) & 0x7fffffff)
	return &v
}
