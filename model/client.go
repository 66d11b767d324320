package model

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The request types below use pointer fields without omitempty for every
// sampling field that must reach the server even when zero (greedy
// temperature, logprobs 0): a server default never replaces them. See
// model-runtime.md §6 for the go-openai trap this avoids. Optional knobs
// (top_k, min_p) are omitted when nil, so a runtime's own default applies.

// CompletionRequest is the body of POST /v1/completions (vLLM, SGLang,
// llama.cpp).
type CompletionRequest struct {
	Model       string   `json:"model"`
	Prompt      any      `json:"prompt"` // a string or []string
	N           *int     `json:"n"`
	Temperature *float64 `json:"temperature"`
	TopP        *float64 `json:"top_p"`
	TopK        *int     `json:"top_k,omitempty"`
	MinP        *float64 `json:"min_p,omitempty"`
	MaxTokens   *int     `json:"max_tokens"`
	Stop        []string `json:"stop"`
	Logprobs    *int     `json:"logprobs"`
	Seed        *int64   `json:"seed,omitempty"`
	// UseBeamSearch is vLLM's API-level beam search (n is the beam width).
	UseBeamSearch *bool `json:"use_beam_search,omitempty"`
	Stream        bool  `json:"stream"`
	// Extra holds server-specific fields (cache_salt, ...). A key that
	// names a typed field above is ignored.
	Extra map[string]any `json:"-"`
}

// MarshalJSON writes the typed fields, then the Extra fields.
func (r CompletionRequest) MarshalJSON() ([]byte, error) {
	type plain CompletionRequest
	p := plain(r)
	if p.Stop == nil {
		p.Stop = []string{}
	}
	return marshalWithExtra(p, r.Extra)
}

// marshalWithExtra encodes v, then adds the extra fields v does not have.
func marshalWithExtra(v any, extra map[string]any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(extra) == 0 {
		return b, err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range extra {
		if _, ok := m[k]; ok {
			continue
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encoding extra field %q: %w", k, err)
		}
		m[k] = raw
	}
	return json.Marshal(m)
}

// CompletionResponse is the answer of /v1/completions. Choices are
// prompt-major: choice i belongs to prompt i/n.
type CompletionResponse struct {
	ID      string   `json:"id"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   *Usage   `json:"usage,omitempty"`
}

func (r *CompletionResponse) usage() (int, int, int) { return r.Usage.counts() }

// Choice is one sampled completion.
type Choice struct {
	Index        *int      `json:"index"`
	Text         string    `json:"text"`
	Logprobs     *Logprobs `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
	// StopReason is vLLM's matched stop string or token id; null means EOS.
	StopReason any `json:"stop_reason"`
}

// Logprobs is the OpenAI legacy logprobs object. Entries of TokenLogprobs
// can be null.
type Logprobs struct {
	Tokens        []string   `json:"tokens"`
	TokenLogprobs []*float64 `json:"token_logprobs"`
	TextOffset    []int      `json:"text_offset"`
}

// Usage is the token accounting of one response, summed over its choices.
type Usage struct {
	PromptTokens        int                  `json:"prompt_tokens"`
	CompletionTokens    int                  `json:"completion_tokens"`
	TotalTokens         int                  `json:"total_tokens"`
	PromptTokensDetails *PromptTokensDetails `json:"prompt_tokens_details,omitempty"`
}

// PromptTokensDetails says how much of the prompt came from the prefix
// cache (vLLM with --enable-prompt-tokens-details, llama.cpp, SGLang).
type PromptTokensDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

func (u *Usage) counts() (prompt, completion, cached int) {
	if u == nil {
		return 0, 0, 0
	}
	if u.PromptTokensDetails != nil {
		cached = u.PromptTokensDetails.CachedTokens
	}
	return u.PromptTokens, u.CompletionTokens, cached
}

// ChatMessage is one message of a chat conversation.
type ChatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatRequest is the body of POST /v1/chat/completions: the server applies
// the model's chat template to Messages.
type ChatRequest struct {
	Model         string         `json:"model"`
	Messages      []ChatMessage  `json:"messages"`
	N             *int           `json:"n"`
	Temperature   *float64       `json:"temperature"`
	TopP          *float64       `json:"top_p"`
	TopK          *int           `json:"top_k,omitempty"`
	MinP          *float64       `json:"min_p,omitempty"`
	MaxTokens     *int           `json:"max_tokens"`
	Stop          []string       `json:"stop"`
	Logprobs      bool           `json:"logprobs"`
	TopLogprobs   *int           `json:"top_logprobs,omitempty"`
	Seed          *int64         `json:"seed,omitempty"`
	UseBeamSearch *bool          `json:"use_beam_search,omitempty"`
	Stream        bool           `json:"stream"`
	Extra         map[string]any `json:"-"`
}

// MarshalJSON writes the typed fields, then the Extra fields.
func (r ChatRequest) MarshalJSON() ([]byte, error) {
	type plain ChatRequest
	p := plain(r)
	if p.Stop == nil {
		p.Stop = []string{}
	}
	return marshalWithExtra(p, r.Extra)
}

// ChatResponse is the answer of /v1/chat/completions.
type ChatResponse struct {
	ID      string       `json:"id"`
	Model   string       `json:"model"`
	Choices []ChatChoice `json:"choices"`
	Usage   *Usage       `json:"usage,omitempty"`
}

func (r *ChatResponse) usage() (int, int, int) { return r.Usage.counts() }

// ChatChoice is one sampled answer.
type ChatChoice struct {
	Index   *int `json:"index"`
	Message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
		// ReasoningContent is the thinking of a reasoning model when the
		// server splits it off (vLLM --reasoning-parser, llama.cpp).
		ReasoningContent string `json:"reasoning_content"`
	} `json:"message"`
	Logprobs *struct {
		Content []struct {
			Token   string   `json:"token"`
			Logprob *float64 `json:"logprob"`
		} `json:"content"`
	} `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

// APIError is a non-2xx answer from a model runtime.
type APIError struct {
	Method     string
	URL        string // without a password
	Status     int
	Message    string        // the error message found in the body, if any
	Body       string        // the raw body (at most 4 KiB), any API key in it redacted
	RetryAfter time.Duration // from a Retry-After header (429, 503)
}

func (e *APIError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = strings.TrimSpace(e.Body)
		if len(msg) > 200 {
			msg = msg[:200] + "..."
		}
	}
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("%s %s: HTTP %d: %s", e.Method, e.URL, e.Status, msg)
}

// errMalformed marks a 2xx body that is not the JSON expected.
var errMalformed = errors.New("malformed response")

// maxBody bounds a response body (a 32x256-token answer with logprobs is
// well under 1 MiB).
const maxBody = 64 << 20

// doJSON sends one request (method GET when body is nil) to url and
// decodes a 2xx answer into out. display names the URL in errors (no
// password). A non-empty key goes out as a bearer token and is redacted
// from every error. It does not retry.
func doJSON(ctx context.Context, hc *http.Client, method, url, display string, body []byte, out any, key Secret) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return fmt.Errorf("building request for %s: %w", display, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key.Reveal())
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err // *url.Error names the method and URL, without a password
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%s %s: reading body: %w", method, display, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newAPIError(method, display, resp, data, key)
	}
	if err := json.Unmarshal(data, out); err != nil {
		snippet := string(data)
		if len(snippet) > 120 {
			snippet = snippet[:120] + "..."
		}
		return fmt.Errorf("%s %s: %w: %v (body starts %q)", method, display, errMalformed, err, key.redact(snippet))
	}
	return nil
}

func newAPIError(method, url string, resp *http.Response, data []byte, key Secret) *APIError {
	e := &APIError{Method: method, URL: url, Status: resp.StatusCode, Message: key.redact(errorMessage(data))}
	if len(data) > 4096 {
		data = data[:4096]
	}
	e.Body = key.redact(string(data))
	e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return e
}

// errorMessage finds the message in an error body, leniently: OpenAI style
// {"error":{"message":...}}, old vLLM {"message":...}, Ollama {"error":"..."}.
func errorMessage(data []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  any             `json:"detail"`
	}
	if json.Unmarshal(data, &v) != nil {
		return ""
	}
	if len(v.Error) > 0 {
		var s string
		if json.Unmarshal(v.Error, &s) == nil {
			return s
		}
		var o struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(v.Error, &o) == nil && o.Message != "" {
			return o.Message
		}
	}
	if v.Message != "" {
		return v.Message
	}
	if s, ok := v.Detail.(string); ok {
		return s
	}
	return ""
}

func parseRetryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(h, 64); err == nil {
		if secs <= 0 || math.IsNaN(secs) {
			return 0
		}
		return time.Duration(math.Min(secs, 3600) * float64(time.Second))
	}
	if t, err := http.ParseTime(h); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, time.Hour)
		}
	}
	return 0
}

// Sample is one completion reduced to what scoring needs.
type Sample struct {
	// Text is the completion cut at the first stop string, not yet stripped.
	Text string
	// LogProb sums the token log-probabilities counted; Tokens counts them.
	LogProb float64
	Tokens  int
	// HasLogprobs is false when the runtime sent none (then LogProb and
	// Tokens are zero).
	HasLogprobs bool
	// Finish is "stop", "length" or "" (unknown).
	Finish string
}

// Mean is Llemma's per-tactic score: LogProb / max(Tokens, 1).
func (s Sample) Mean() float64 {
	if s.Tokens <= 1 {
		return s.LogProb
	}
	return s.LogProb / float64(s.Tokens)
}

// cutAtStop returns the index of the first stop string in text, or len(text).
func cutAtStop(text string, stops []string) int {
	cut := len(text)
	for _, s := range stops {
		if s == "" {
			continue
		}
		if i := strings.Index(text[:cut], s); i >= 0 {
			cut = i
		}
	}
	return cut
}

// sampleFromChoice extracts text and scores from one choice. The text is
// cut at the stop string client-side (vLLM beam search ignores stop); then
// only tokens starting before the cut are scored, when offsets allow.
// Null and non-finite logprobs are skipped.
func sampleFromChoice(c Choice, stops []string) Sample {
	text := c.Text
	cut := cutAtStop(text, stops)
	s := Sample{Text: text[:cut]}
	if c.FinishReason != nil {
		s.Finish = *c.FinishReason
	}
	if cut < len(text) {
		s.Finish = "stop"
	}
	lp := c.Logprobs
	if lp == nil {
		return s
	}
	limit := -1 // in code points, as vLLM counts text_offset
	if cut < len(text) && len(lp.TextOffset) == len(lp.TokenLogprobs) {
		limit = utf8.RuneCountInString(text[:cut])
	}
	for i, v := range lp.TokenLogprobs {
		if limit >= 0 && lp.TextOffset[i] >= limit {
			break
		}
		if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
			continue
		}
		s.LogProb += *v
		s.Tokens++
	}
	s.HasLogprobs = s.Tokens > 0
	return s
}

// sampleFromChat extracts the answer of a chat choice: its content, cut at
// the stop strings, with every content token scored (the answer is short;
// a code block is picked out later by the prompt format's extractor).
func sampleFromChat(c ChatChoice, stops []string) Sample {
	ch := Choice{Text: c.Message.Content, FinishReason: c.FinishReason}
	if c.Logprobs != nil && len(c.Logprobs.Content) > 0 {
		lp := &Logprobs{TokenLogprobs: make([]*float64, len(c.Logprobs.Content))}
		for i, t := range c.Logprobs.Content {
			lp.TokenLogprobs[i] = t.Logprob
		}
		ch.Logprobs = lp
	}
	return sampleFromChoice(ch, stops)
}

// groupChoices maps prompt-major choices back to their prompts: choice
// index i belongs to prompt i/n. When the server returned a different number
// of choices than prompts*n (n ignored, as Ollama's /v1 and old llama.cpp
// do) but a multiple of the prompt count, the per-prompt count is inferred.
// The index field is used when it is a permutation of 0..len-1, else the
// position in the array.
func groupChoices[C any](choices []C, index func(C) *int, prompts, n int) ([][]C, error) {
	if prompts <= 0 {
		return nil, nil
	}
	out := make([][]C, prompts)
	if len(choices) == 0 {
		return out, nil
	}
	useIndex := true
	seen := make([]bool, len(choices))
	for _, c := range choices {
		ix := index(c)
		if ix == nil || *ix < 0 || *ix >= len(choices) || seen[*ix] {
			useIndex = false
			break
		}
		seen[*ix] = true
	}
	per := n
	if per <= 0 || len(choices) != prompts*per {
		if len(choices)%prompts != 0 {
			return nil, fmt.Errorf("%w: %d choices for %d prompts with n=%d", errMalformed, len(choices), prompts, n)
		}
		per = len(choices) / prompts
	}
	for pos, c := range choices {
		i := pos
		if useIndex {
			i = *index(c)
		}
		out[i/per] = append(out[i/per], c)
	}
	return out, nil
}

func choiceIndex(c Choice) *int         { return c.Index }
func chatChoiceIndex(c ChatChoice) *int { return c.Index }

// OllamaGenerateRequest is the body of Ollama's POST /api/generate.
type OllamaGenerateRequest struct {
	Model    string        `json:"model"`
	Prompt   string        `json:"prompt"`
	Raw      bool          `json:"raw"`
	Stream   bool          `json:"stream"`
	Logprobs bool          `json:"logprobs"`
	Options  OllamaOptions `json:"options"`
}

// OllamaOptions are the sampling options of /api/generate.
type OllamaOptions struct {
	Temperature *float64 `json:"temperature"`
	TopP        *float64 `json:"top_p"`
	TopK        *int     `json:"top_k,omitempty"`
	MinP        *float64 `json:"min_p,omitempty"`
	Seed        *int64   `json:"seed,omitempty"`
	NumPredict  *int     `json:"num_predict"`
	NumCtx      *int     `json:"num_ctx,omitempty"`
	Stop        []string `json:"stop"`
}

// OllamaGenerateResponse is the non-streaming answer of /api/generate.
type OllamaGenerateResponse struct {
	Model           string `json:"model"`
	Response        string `json:"response"`
	Done            bool   `json:"done"`
	DoneReason      string `json:"done_reason"`
	PromptEvalCount int    `json:"prompt_eval_count"`
	EvalCount       int    `json:"eval_count"`
	Logprobs        []struct {
		Token   string   `json:"token"`
		Logprob *float64 `json:"logprob"`
	} `json:"logprobs"`
}

// Ollama reports no cache hits; prompt_eval_count counts the tokens it
// evaluated, which excludes a reused prefix.
func (r *OllamaGenerateResponse) usage() (int, int, int) { return r.PromptEvalCount, r.EvalCount, 0 }

func sampleFromOllama(r *OllamaGenerateResponse, stops []string) Sample {
	c := Choice{Text: r.Response}
	if r.DoneReason != "" {
		fr := r.DoneReason
		c.FinishReason = &fr
	}
	if len(r.Logprobs) > 0 {
		lp := &Logprobs{TokenLogprobs: make([]*float64, len(r.Logprobs))}
		for i, t := range r.Logprobs {
			lp.TokenLogprobs[i] = t.Logprob
		}
		c.Logprobs = lp
	}
	return sampleFromChoice(c, stops)
}

// LlamaCppRequest is the body of llama-server's native POST /completion.
// Every sampler is sent, since llama.cpp's defaults (temperature 0.8,
// top_k 40, top_p 0.95, min_p 0.05) differ from vLLM's.
type LlamaCppRequest struct {
	Prompt      any            `json:"prompt"` // a string, or []string for one result per prompt
	NPredict    *int           `json:"n_predict"`
	Temperature *float64       `json:"temperature"`
	TopP        *float64       `json:"top_p"`
	TopK        *int           `json:"top_k"`
	MinP        *float64       `json:"min_p"`
	Stop        []string       `json:"stop"`
	Seed        *int64         `json:"seed"`
	NProbs      *int           `json:"n_probs"`
	CachePrompt bool           `json:"cache_prompt"`
	Stream      bool           `json:"stream"`
	Extra       map[string]any `json:"-"`
}

// MarshalJSON writes the typed fields, then the Extra fields.
func (r LlamaCppRequest) MarshalJSON() ([]byte, error) {
	type plain LlamaCppRequest
	p := plain(r)
	if p.Stop == nil {
		p.Stop = []string{}
	}
	return marshalWithExtra(p, r.Extra)
}

// LlamaCppResponse is one result of llama-server's /completion.
type LlamaCppResponse struct {
	Content         string `json:"content"`
	StopType        string `json:"stop_type"` // none, eos, limit, word
	StoppingWord    string `json:"stopping_word"`
	TokensCached    int    `json:"tokens_cached"`
	TokensEvaluated int    `json:"tokens_evaluated"`
	TokensPredicted int    `json:"tokens_predicted"`
	// The per-token probabilities come as "completion_probabilities" in
	// current builds and "probs" in some; each entry has the sampled token's
	// logprob.
	CompletionProbabilities []LlamaCppProb `json:"completion_probabilities"`
	Probs                   []LlamaCppProb `json:"probs"`
}

// LlamaCppProb is one generated token with its log-probability.
type LlamaCppProb struct {
	ID      int      `json:"id"`
	Token   string   `json:"token"`
	Logprob *float64 `json:"logprob"`
}

// llamaCppResults decodes /completion's answer: one object for one prompt,
// an array of them for several.
type llamaCppResults []LlamaCppResponse

func (r *llamaCppResults) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '[' {
		var many []LlamaCppResponse
		if err := json.Unmarshal(b, &many); err != nil {
			return err
		}
		*r = many
		return nil
	}
	var one LlamaCppResponse
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	*r = llamaCppResults{one}
	return nil
}

// tokens_evaluated counts the whole prompt, tokens_cached the part reused.
func (r *llamaCppResults) usage() (p, c, k int) {
	for _, x := range *r {
		p += x.TokensEvaluated
		c += x.TokensPredicted
		k += min(x.TokensCached, x.TokensEvaluated)
	}
	return p, c, k
}

func sampleFromLlamaCpp(r LlamaCppResponse, stops []string) Sample {
	c := Choice{Text: r.Content}
	var fr string
	switch r.StopType {
	case "eos", "word":
		fr = "stop"
	case "limit":
		fr = "length"
	}
	if fr != "" {
		c.FinishReason = &fr
	}
	probs := r.CompletionProbabilities
	if len(probs) == 0 {
		probs = r.Probs
	}
	if len(probs) > 0 {
		lp := &Logprobs{TokenLogprobs: make([]*float64, len(probs))}
		for i, p := range probs {
			lp.TokenLogprobs[i] = p.Logprob
		}
		c.Logprobs = lp
	}
	return sampleFromChoice(c, stops)
}
