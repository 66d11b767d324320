package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/llemma-prove/llemma-prove/config"
)

// ErrParityConflict is wrapped by LlemmaParity's refusal of a setting that
// contradicts Llemma's decoding (the CLI reports it as a usage error).
var ErrParityConflict = errors.New("model: setting contradicts --llemma-parity")

// Llemma's evaluation decoding (proofsearch.py, scripts/eval_llemma7b.sh).
const (
	LlemmaBeams     = 32
	LlemmaMaxTokens = 256
	LlemmaContext   = 4096
)

// LlemmaParity returns cfg with the decoding of Llemma's evaluation:
// 32-beam search at temperature 0 over vLLM's completions API, at most 256
// new tokens, stop "---", top_p 1 and no other truncation, and (for Lean)
// Llemma's own prompt, byte for byte. explicit says whether the user set a
// configuration key (flag, environment or file: "model.temperature",
// "search.samples", ...); a key set to a value that contradicts Llemma's is
// refused with an error wrapping ErrParityConflict that names every such
// key, rather than silently overridden. A nil explicit counts every
// non-zero field of cfg as set.
func LlemmaParity(cfg LLMConfig, explicit func(key string) bool) (LLMConfig, error) {
	set := explicit
	if set == nil {
		set = func(string) bool { return true }
	}
	prompt := PromptLlemmaOriginal
	if cfg.Backend != "" && cfg.Backend != "lean" {
		prompt = PromptLlemma // Llemma's prompt is Lean's; other backends keep the format with their own examples
	}
	var bad []string
	conflict := func(key string, isSet, contradicts bool, got any, want string) {
		if isSet && contradicts {
			bad = append(bad, fmt.Sprintf("%s=%v (Llemma: %s)", key, got, want))
		}
	}
	conflict("model.api", set("model.api") && cfg.API != "", cfg.API != APIOpenAI, cfg.API, APIOpenAI+", beam search needs vLLM's completions")
	conflict("model.temperature", set("model.temperature") && cfg.Temperature != nil, cfg.Temperature != nil && *cfg.Temperature != 0,
		deref(cfg.Temperature), "0")
	conflict("greedy", cfg.Greedy, true, cfg.Greedy, "beam search, not greedy")
	conflict("model.beam", explicit != nil && set("model.beam"), !cfg.Beam, cfg.Beam, "true")
	conflict("search.samples", set("search.samples") && cfg.Samples != 0, cfg.Samples != LlemmaBeams, cfg.Samples, fmt.Sprint(LlemmaBeams))
	conflict("model.max-tokens", set("model.max-tokens") && cfg.MaxTokens != 0, cfg.MaxTokens != LlemmaMaxTokens, cfg.MaxTokens, fmt.Sprint(LlemmaMaxTokens))
	conflict("model.stop", set("model.stop") && cfg.Stop != nil, !slices.Equal(cfg.Stop, []string{"---"}), cfg.Stop, `["---"]`)
	conflict("model.top-p", set("model.top-p") && cfg.TopP != 0, cfg.TopP != 1, cfg.TopP, "1")
	conflict("model.top-k", set("model.top-k") && cfg.TopK != nil, true, deref(cfg.TopK), "unset")
	conflict("model.min-p", set("model.min-p") && cfg.MinP != nil, true, deref(cfg.MinP), "unset")
	conflict("model.prompt", set("model.prompt") && cfg.PromptFormat != "", cfg.PromptFormat != prompt, cfg.PromptFormat, prompt)
	if len(bad) > 0 {
		return cfg, fmt.Errorf("%w: --llemma-parity sets Llemma's decoding (%d-beam search at temperature 0, %d new tokens, stop ---, prompt %s); drop these settings or drop --llemma-parity: %s",
			ErrParityConflict, LlemmaBeams, LlemmaMaxTokens, prompt, strings.Join(bad, ", "))
	}
	zero := 0.0
	cfg.API, cfg.Beam, cfg.Greedy, cfg.Temperature = APIOpenAI, true, false, &zero
	cfg.Samples, cfg.MaxTokens, cfg.Stop, cfg.TopP, cfg.TopK, cfg.MinP = LlemmaBeams, LlemmaMaxTokens, []string{"---"}, 1, nil, nil
	cfg.PromptFormat = prompt
	if cfg.ContextTokens == 0 {
		cfg.ContextTokens = LlemmaContext
	}
	return cfg, nil
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// reservedExtra are the request fields the proposer sets itself: an extra
// field of that name would be ignored, so ParseExtra refuses it and names
// the setting to use instead.
var reservedExtra = map[string]string{
	"model": "model.name", "prompt": "model.prompt", "messages": "model.prompt", "n": "search.samples",
	"temperature": "model.temperature", "top_p": "model.top-p", "top_k": "model.top-k", "min_p": "model.min-p",
	"max_tokens": "model.max-tokens", "n_predict": "model.max-tokens", "stop": "model.stop",
	"logprobs": "model.logprobs", "top_logprobs": "model.logprobs", "n_probs": "model.logprobs",
	"seed": "model.seed", "use_beam_search": "model.beam", "stream": "(never streamed)",
	"options": "the model.* settings", "raw": "(always raw)", "cache_prompt": "(always on)",
}

// ParseExtra parses model.extra, a JSON object of fields added to every
// request body (e.g. {"cache_salt": "run-1", "include_stop_str_in_output": false}).
func ParseExtra(s string) (map[string]any, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("model.extra: want a JSON object of request fields: %w", err)
	}
	var bad []string
	for k := range m {
		if use, ok := reservedExtra[k]; ok {
			bad = append(bad, fmt.Sprintf("%q (set %s)", k, use))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return nil, fmt.Errorf("model.extra: these fields are set by the proposer itself: %s", strings.Join(bad, ", "))
	}
	return m, nil
}

// LLMConfigFrom builds the proposer's configuration from the typed model
// section. backend is the resolved backend and samples the search budget's
// candidates per expansion; the caller sets Policy, OnProgress and Log.
// The API key is resolved by NewLLM (model.api-key-file, model.api-key,
// then the environment).
func LLMConfigFrom(m config.Model, backend string, samples int) (LLMConfig, error) {
	cfg := LLMConfig{
		URLs: m.URLs, Model: m.Name, API: m.API, APIKey: Secret(m.APIKey), APIKeyFile: m.APIKeyFile,
		Samples: samples, Beam: m.Beam, TopP: m.TopP, MaxTokens: m.MaxTokens, ContextTokens: m.Context,
		TopLogprobs: m.Logprobs, RequireLogprobs: m.RequireLogprobs, Timeout: m.Timeout, Retries: m.Retries,
		Limits:       LimitConfig{Initial: m.InFlight, Max: m.MaxInFlight},
		BatchPrompts: m.BatchPrompts, PromptFormat: m.Prompt, System: m.System, Backend: backend, Launch: m.Launch,
	}
	if len(m.Stop) > 0 {
		cfg.Stop = append([]string(nil), m.Stop...)
	}
	t := m.Temperature
	cfg.Temperature = &t
	if m.Seed >= 0 {
		s := m.Seed
		cfg.Seed = &s
	}
	if m.TopK != 0 {
		k := m.TopK
		cfg.TopK = &k
	}
	if m.MinP != 0 {
		p := m.MinP
		cfg.MinP = &p
	}
	extra, err := ParseExtra(m.Extra)
	if err != nil {
		return LLMConfig{}, err
	}
	cfg.Extra = extra
	return cfg, nil
}
