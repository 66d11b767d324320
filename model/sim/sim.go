// Package sim is a GPU-like model runtime simulator: a small
// OpenAI-compatible HTTP server (POST /v1/completions and
// /v1/chat/completions, GET /health, /v1/models, /sim/stats) with
// continuous batching, a latency that grows with the batch, a maximum
// batch, an optional queue limit answered by 429s, seeded sampling from a
// fixed tactic vocabulary, and per-token logprobs. It stands in for vLLM
// when measuring how well the prover keeps a model busy (see
// BenchmarkScheduler) and in tests that need a runtime.
//
// # Latency model
//
// Requests run in one batch of at most MaxBatch requests; the others wait
// in a FIFO queue and join the batch as soon as a slot frees, as a
// continuous-batching engine admits new sequences at every step. While k
// requests holding S sequences (prompts x n) run, each progresses at the
// rate 1/(Base + PerRequest*k + PerSequence*S) of its work, so a request
// that runs in a constant batch of k takes Base + PerRequest*k +
// PerSequence*S: with the defaults, 0.25 s + 4 ms x requests in flight.
// Throughput grows with the batch up to MaxBatch, which is therefore the
// runtime's best batch (BestRequestTime).
package sim

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config describes the simulated runtime. Zero fields take the defaults
// noted.
type Config struct {
	Base        time.Duration // latency of a request alone (default 250 ms)
	PerRequest  time.Duration // added per request in the batch (default 4 ms)
	PerSequence time.Duration // added per sequence (prompt x n) in the batch (default 0)
	MaxBatch    int           // requests running at once (default 64)
	// MaxQueue, when positive, is the longest queue: a request arriving
	// when it is full is answered 429 (with Retry-After when set).
	MaxQueue   int
	RetryAfter time.Duration
	// Reject429 is the probability that a request is answered 429 anyway
	// (a hosted endpoint's rate limit), drawn from Seed.
	Reject429 float64
	Model     string // the served model name (default "sim")
	// MaxModelLen is reported by /v1/models (default 4096).
	MaxModelLen int
	// Vocab is what the model samples, with Zipf(ZipfS) probabilities in
	// an order permuted per prompt (default: 40 common Lean tactics, s=1.1).
	Vocab []string
	ZipfS float64
	// NoLogprobs answers without logprobs, as SGLang and llama.cpp do for
	// logprobs: 0. LogprobsMin is the least logprobs value that gets them
	// (default 0; 1 imitates SGLang).
	NoLogprobs  bool
	LogprobsMin int
	APIKey      string // when set, requests need "Authorization: Bearer <key>"
	Seed        uint64 // mixes into every sample's RNG
}

func (c Config) withDefaults() Config {
	if c.Base <= 0 {
		c.Base = 250 * time.Millisecond
	}
	if c.PerRequest < 0 {
		c.PerRequest = 0
	} else if c.PerRequest == 0 {
		c.PerRequest = 4 * time.Millisecond
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 64
	}
	if c.Model == "" {
		c.Model = "sim"
	}
	if c.MaxModelLen <= 0 {
		c.MaxModelLen = 4096
	}
	if len(c.Vocab) == 0 {
		c.Vocab = DefaultVocab
	}
	if c.ZipfS <= 0 {
		c.ZipfS = 1.1
	}
	return c
}

// Latency is the time a request takes in a batch of k requests holding
// seqs sequences in all, under the latency model.
func (c Config) Latency(k, seqs int) time.Duration {
	c = c.withDefaults()
	return c.Base + time.Duration(k)*c.PerRequest + time.Duration(seqs)*c.PerSequence
}

// BestRequestTime is the model time per request at the runtime's best
// batch (MaxBatch requests of seqsPerRequest sequences each): the least
// wall time n requests can take is n x BestRequestTime.
func (c Config) BestRequestTime(seqsPerRequest int) time.Duration {
	c = c.withDefaults()
	return c.Latency(c.MaxBatch, c.MaxBatch*seqsPerRequest) / time.Duration(c.MaxBatch)
}

// DefaultVocab is the tactics the simulated model samples by default.
var DefaultVocab = []string{
	"norm_num", "linarith", "simp", "ring", "nlinarith [sq_nonneg (a - b)]", "omega", "field_simp", "ring_nf",
	"positivity", "decide", "simp_all", "norm_num [h₀]", "linarith [h₀, h₁]", "rfl", "exact h₀", "intro x",
	"constructor", "rw [h₀]", "subst h₀", "induction n with n ih", "cases h₀", "aesop", "tauto", "push_cast",
	"nlinarith", "simp [h₀] at h₁", "apply le_of_lt", "exact?", "gcongr", "norm_num at h₀", "interval_cases x",
	"rcases h₀ with ⟨x, hx⟩", "use 1", "exact Nat.succ_pos _", "apply mul_pos", "unfold f", "bound", "zify",
	"qify", "contradiction",
}

// Stats is what the simulated runtime did.
type Stats struct {
	Requests  int64 // answered 200
	Sequences int64 // prompts x n of those
	Rejected  int64 // answered 429
	Abandoned int64 // the client left before the answer
	// Busy is the time with at least one request running; BatchTime is
	// the integral of the batch size over time (request-seconds).
	Busy, BatchTime time.Duration
	PeakBatch       int
	PeakQueue       int
	Elapsed         time.Duration // since New (or ResetStats)
}

// Occupancy is the fraction of the elapsed time the model was busy.
func (s Stats) Occupancy() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Busy) / float64(s.Elapsed)
}

// MeanBatch is the average number of requests running while busy.
func (s Stats) MeanBatch() float64 {
	if s.Busy <= 0 {
		return 0
	}
	return float64(s.BatchTime) / float64(s.Busy)
}

type job struct {
	seqs int
	work float64 // remaining, in units of one whole request
	done chan struct{}
	gone bool // finished or abandoned
}

// Server is the simulated runtime; it is an http.Handler.
type Server struct {
	cfg Config
	mux *http.ServeMux

	mu       sync.Mutex
	running  []*job
	queue    []*job
	last     time.Time // of the last progress update
	timer    *time.Timer
	stats    Stats
	start    time.Time
	rng      *rand.Rand
	prefixes []string // recent prompts, for the simulated prefix cache
}

// New returns a simulated runtime; serve it with ServeHTTP, or use Start.
func New(cfg Config) *Server {
	s := &Server{cfg: cfg.withDefaults(), mux: http.NewServeMux(), start: time.Now()}
	s.rng = rand.New(rand.NewPCG(s.cfg.Seed, 0x5eed))
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("POST /v1/completions", s.completions)
	s.mux.HandleFunc("POST /v1/chat/completions", s.chat)
	s.mux.HandleFunc("GET /sim/stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Stats())
	})
	return s
}

// Config is the server's configuration with the defaults filled in.
func (s *Server) Config() Config { return s.cfg }

// ServeHTTP serves the runtime's API.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.APIKey != "" && r.Header.Get("Authorization") != "Bearer "+s.cfg.APIKey {
		writeJSON(w, http.StatusUnauthorized, apiError("invalid API key", "authentication_error"))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// Stats returns the counters so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(time.Now())
	st := s.stats
	st.Elapsed = time.Since(s.start)
	return st
}

// ResetStats zeroes the counters and restarts the clock (between runs).
func (s *Server) ResetStats() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.advance(time.Now())
	s.stats = Stats{}
	s.start = time.Now()
}

// rate is the work per second of each running request, s.mu held.
func (s *Server) rate() float64 {
	seqs := 0
	for _, j := range s.running {
		seqs += j.seqs
	}
	lat := s.cfg.Base + time.Duration(len(s.running))*s.cfg.PerRequest + time.Duration(seqs)*s.cfg.PerSequence
	return 1 / lat.Seconds()
}

// advance brings the running requests' progress to now, finishes those
// done, admits queued ones and re-arms the timer for the next completion.
// s.mu held.
func (s *Server) advance(now time.Time) {
	if !s.last.IsZero() && len(s.running) > 0 {
		dt := now.Sub(s.last)
		if dt > 0 {
			s.stats.Busy += dt
			s.stats.BatchTime += dt * time.Duration(len(s.running))
			r := s.rate()
			for _, j := range s.running {
				j.work -= dt.Seconds() * r
			}
		}
	}
	s.last = now
	kept := s.running[:0]
	for _, j := range s.running {
		if j.work <= 1e-6 { // within a microsecond of its end
			j.gone = true
			close(j.done)
			continue
		}
		kept = append(kept, j)
	}
	clear(s.running[len(kept):])
	s.running = kept
	for len(s.running) < s.cfg.MaxBatch && len(s.queue) > 0 {
		j := s.queue[0]
		s.queue = s.queue[1:]
		s.running = append(s.running, j)
	}
	s.stats.PeakBatch = max(s.stats.PeakBatch, len(s.running))
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if len(s.running) > 0 {
		least := math.Inf(1)
		for _, j := range s.running {
			least = min(least, j.work)
		}
		d := time.Duration(least / s.rate() * float64(time.Second))
		s.timer = time.AfterFunc(max(d, 0), func() {
			s.mu.Lock()
			s.advance(time.Now())
			s.mu.Unlock()
		})
	}
}

var errRejected = errors.New("sim: queue full")

// run puts a request of seqs sequences through the engine and returns when
// it is done or ctx ends.
func (s *Server) run(ctx context.Context, seqs int) error {
	j := &job{seqs: seqs, work: 1, done: make(chan struct{})}
	s.mu.Lock()
	s.advance(time.Now())
	if (s.cfg.MaxQueue > 0 && len(s.running) >= s.cfg.MaxBatch && len(s.queue) >= s.cfg.MaxQueue) ||
		(s.cfg.Reject429 > 0 && s.rng.Float64() < s.cfg.Reject429) {
		s.stats.Rejected++
		s.mu.Unlock()
		return errRejected
	}
	s.queue = append(s.queue, j)
	s.stats.PeakQueue = max(s.stats.PeakQueue, len(s.queue))
	s.advance(time.Now())
	s.mu.Unlock()
	select {
	case <-j.done:
		s.mu.Lock()
		s.stats.Requests++
		s.stats.Sequences += int64(seqs)
		s.mu.Unlock()
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if j.gone { // finished as the client left
			s.stats.Requests++
			s.stats.Sequences += int64(seqs)
			return nil
		}
		s.advance(time.Now())
		s.running = remove(s.running, j)
		s.queue = remove(s.queue, j)
		j.gone = true
		s.stats.Abandoned++
		s.advance(time.Now())
		return ctx.Err()
	}
}

func remove(js []*job, j *job) []*job {
	for i, x := range js {
		if x == j {
			return append(js[:i], js[i+1:]...)
		}
	}
	return js
}

// request is the union of the completion and chat request fields used.
type request struct {
	Model         string                           `json:"model"`
	Prompt        json.RawMessage                  `json:"prompt"`
	Messages      []struct{ Role, Content string } `json:"messages"`
	N             *int                             `json:"n"`
	Temperature   *float64                         `json:"temperature"`
	MaxTokens     *int                             `json:"max_tokens"`
	Logprobs      json.RawMessage                  `json:"logprobs"` // an int (completions) or a bool (chat)
	TopLogprobs   *int                             `json:"top_logprobs"`
	Seed          *int64                           `json:"seed"`
	UseBeamSearch bool                             `json:"use_beam_search"`
}

func (s *Server) parse(w http.ResponseWriter, r *http.Request) (*request, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError(err.Error(), "invalid_request_error"))
		return nil, false
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError(err.Error(), "invalid_request_error"))
		return nil, false
	}
	if req.Model != s.cfg.Model {
		writeJSON(w, http.StatusNotFound, apiError(fmt.Sprintf("The model `%s` does not exist.", req.Model), "NotFoundError"))
		return nil, false
	}
	if req.N == nil {
		one := 1
		req.N = &one
	}
	if *req.N < 1 || *req.N > 1024 {
		writeJSON(w, http.StatusBadRequest, apiError("n must be in 1..1024", "invalid_request_error"))
		return nil, false
	}
	return &req, true
}

// wait runs the request through the engine, answering the failure itself.
func (s *Server) wait(w http.ResponseWriter, r *http.Request, seqs int) bool {
	if err := s.run(r.Context(), seqs); err != nil {
		if errors.Is(err, errRejected) {
			if s.cfg.RetryAfter > 0 {
				w.Header().Set("Retry-After", strconv.FormatFloat(s.cfg.RetryAfter.Seconds(), 'f', -1, 64))
			}
			writeJSON(w, http.StatusTooManyRequests, apiError("the engine's queue is full", "rate_limit_error"))
		}
		return false
	}
	return true
}

type sample struct {
	text    string
	tokens  []string
	logprob []float64
}

// draw samples completion j of prompt: a tactic from the vocabulary, in an
// order permuted by the prompt, with Zipf probabilities; its logprob is
// split over its pseudo-tokens. Greedy (temperature 0, or beam search)
// takes the most likely tactics in order.
func (s *Server) draw(prompt string, seed int64, j int, greedy bool) sample {
	h := sha256.Sum256([]byte(prompt))
	perm := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[:8]), 1)).Perm(len(s.cfg.Vocab))
	weights := make([]float64, len(perm))
	total := 0.0
	for i := range weights {
		weights[i] = 1 / math.Pow(float64(i+1), s.cfg.ZipfS)
		total += weights[i]
	}
	rank := j % len(perm)
	if !greedy {
		rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(h[8:16])^uint64(seed)^s.cfg.Seed, uint64(j)))
		u, acc := rng.Float64()*total, 0.0
		for rank = 0; rank < len(weights)-1; rank++ {
			if acc += weights[rank]; u < acc {
				break
			}
		}
	}
	tactic := s.cfg.Vocab[perm[rank]]
	lp := math.Log(weights[rank] / total)
	words := strings.SplitAfter(tactic, " ")
	toks := append(append([]string{"\n"}, words...), "\n")
	per := lp / float64(len(toks))
	out := sample{text: "\n" + tactic + "\n", tokens: toks}
	for range toks {
		out.logprob = append(out.logprob, per)
	}
	return out
}

func (s *Server) wantLogprobs(raw json.RawMessage) bool {
	if s.cfg.NoLogprobs || len(raw) == 0 || string(raw) == "null" || string(raw) == "false" {
		return false
	}
	if string(raw) == "true" {
		return true
	}
	n, err := strconv.Atoi(string(raw))
	return err == nil && n >= s.cfg.LogprobsMin
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	req, ok := s.parse(w, r)
	if !ok {
		return
	}
	var prompts []string
	var one string
	if json.Unmarshal(req.Prompt, &one) == nil {
		prompts = []string{one}
	} else if err := json.Unmarshal(req.Prompt, &prompts); err != nil || len(prompts) == 0 {
		writeJSON(w, http.StatusBadRequest, apiError("prompt must be a string or a list of strings", "invalid_request_error"))
		return
	}
	n := *req.N
	if !s.wait(w, r, len(prompts)*n) {
		return
	}
	greedy := req.UseBeamSearch || (req.Temperature != nil && *req.Temperature == 0)
	seed := int64(0)
	if req.Seed != nil {
		seed = *req.Seed
	}
	withLP := s.wantLogprobs(req.Logprobs)
	type lp struct {
		Tokens        []string  `json:"tokens"`
		TokenLogprobs []float64 `json:"token_logprobs"`
		TextOffset    []int     `json:"text_offset"`
		TopLogprobs   []any     `json:"top_logprobs"`
	}
	type choice struct {
		Index        int    `json:"index"`
		Text         string `json:"text"`
		Logprobs     *lp    `json:"logprobs"`
		FinishReason string `json:"finish_reason"`
		StopReason   string `json:"stop_reason"`
	}
	var choices []choice
	completion := 0
	for i, p := range prompts {
		for j := range n {
			smp := s.draw(p, seed, j, greedy)
			completion += len(smp.tokens)
			c := choice{Index: i*n + j, Text: smp.text, FinishReason: "stop", StopReason: "---"}
			if withLP {
				l := &lp{Tokens: smp.tokens, TokenLogprobs: smp.logprob}
				off := 0
				for _, t := range smp.tokens {
					l.TextOffset = append(l.TextOffset, off)
					l.TopLogprobs = append(l.TopLogprobs, nil)
					off += len([]rune(t))
				}
				c.Logprobs = l
			}
			choices = append(choices, c)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": "cmpl-sim", "object": "text_completion", "created": time.Now().Unix(), "model": s.cfg.Model,
		"choices": choices, "usage": s.usage(prompts, completion),
	})
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	req, ok := s.parse(w, r)
	if !ok {
		return
	}
	var b strings.Builder
	for _, m := range req.Messages {
		b.WriteString("<|" + m.Role + "|>" + m.Content)
	}
	prompt := b.String() + "<|assistant|>"
	n := *req.N
	if !s.wait(w, r, n) {
		return
	}
	greedy := req.UseBeamSearch || (req.Temperature != nil && *req.Temperature == 0)
	seed := int64(0)
	if req.Seed != nil {
		seed = *req.Seed
	}
	withLP := s.wantLogprobs(req.Logprobs)
	type tok struct {
		Token       string  `json:"token"`
		Logprob     float64 `json:"logprob"`
		TopLogprobs []any   `json:"top_logprobs"`
	}
	type choice struct {
		Index   int `json:"index"`
		Message struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"message"`
		Logprobs *struct {
			Content []tok `json:"content"`
		} `json:"logprobs"`
		FinishReason string `json:"finish_reason"`
	}
	var choices []choice
	completion := 0
	for j := range n {
		smp := s.draw(prompt, seed, j, greedy)
		c := choice{Index: j, FinishReason: "stop"}
		c.Message.Role = "assistant"
		c.Message.Content = "```lean" + smp.text + "```"
		completion += len(smp.tokens) + 2
		if withLP {
			c.Logprobs = &struct {
				Content []tok `json:"content"`
			}{}
			toks := append(append([]string{"```lean"}, smp.tokens...), "```")
			lps := append(append([]float64{-0.001}, smp.logprob...), -0.001)
			for k, t := range toks {
				c.Logprobs.Content = append(c.Logprobs.Content, tok{Token: t, Logprob: lps[k], TopLogprobs: []any{}})
			}
		}
		choices = append(choices, c)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": "chatcmpl-sim", "object": "chat.completion", "created": time.Now().Unix(), "model": s.cfg.Model,
		"choices": choices, "usage": s.usage([]string{prompt}, completion),
	})
}

// usage counts about three bytes per token, and as cached the longest
// prefix shared with a recent prompt (the prefix cache).
func (s *Server) usage(prompts []string, completion int) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	promptTok, cached := 0, 0
	for _, p := range prompts {
		promptTok += (len(p) + 2) / 3
		best := 0
		for _, q := range s.prefixes {
			best = max(best, commonPrefix(p, q))
		}
		cached += best / 3
		s.prefixes = append(s.prefixes, p)
		if len(s.prefixes) > 64 {
			s.prefixes = s.prefixes[1:]
		}
	}
	return map[string]any{"prompt_tokens": promptTok, "completion_tokens": completion,
		"total_tokens": promptTok + completion, "prompt_tokens_details": map[string]int{"cached_tokens": cached}}
}

func commonPrefix(a, b string) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []map[string]any{
		{"id": s.cfg.Model, "object": "model", "owned_by": "sim", "max_model_len": s.cfg.MaxModelLen}}})
}

func apiError(msg, typ string) map[string]any {
	return map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Running is a simulated runtime listening on a loopback port.
type Running struct {
	*Server
	URL string
	srv *http.Server
	ln  net.Listener
}

// Start serves a simulated runtime on addr ("" or "127.0.0.1:0": a free
// loopback port). Close stops it.
func Start(cfg Config, addr string) (*Running, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sim: listening on %s: %w", addr, err)
	}
	s := New(cfg)
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	return &Running{Server: s, URL: "http://" + ln.Addr().String(), srv: hs, ln: ln}, nil
}

// Close stops the server, abandoning the requests in flight.
func (r *Running) Close() error { return r.srv.Close() }
