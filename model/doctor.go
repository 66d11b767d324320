package model

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Probe lists the model names served at url: the OpenAI-style GET
// /v1/models ids, or, failing that, Ollama's GET /api/tags names. The
// error names the URL and what each attempt got.
func Probe(ctx context.Context, url string) ([]string, error) {
	ms, err := probe(ctx, http.DefaultClient, url, "")
	names := make([]string, 0, len(ms))
	for _, m := range ms {
		names = append(names, m.id)
	}
	return names, err
}

type servedModel struct {
	id          string
	maxModelLen int // vLLM's max_model_len (0: not reported)
}

func probe(ctx context.Context, hc *http.Client, url string, key Secret) ([]servedModel, error) {
	base := normalizeURL(url)
	name := displayURL(base)
	var models struct {
		Data []struct {
			ID          string `json:"id"`
			MaxModelLen int    `json:"max_model_len"`
		} `json:"data"`
	}
	errOpenAI := doJSON(ctx, hc, http.MethodGet, base+"/v1/models", name+"/v1/models", nil, &models, key)
	if errOpenAI == nil && models.Data != nil {
		out := make([]servedModel, 0, len(models.Data))
		for _, m := range models.Data {
			out = append(out, servedModel{id: m.ID, maxModelLen: m.MaxModelLen})
		}
		return out, nil
	}
	if ctx.Err() != nil || isUnreachable(errOpenAI) || isAuthError(errOpenAI) {
		return nil, probeError(name, errOpenAI)
	}
	var tags struct {
		Models []struct {
			Name  string `json:"name"`
			Model string `json:"model"`
		} `json:"models"`
	}
	errOllama := doJSON(ctx, hc, http.MethodGet, base+"/api/tags", name+"/api/tags", nil, &tags, key)
	if errOllama == nil && tags.Models != nil {
		out := make([]servedModel, 0, len(tags.Models))
		for _, m := range tags.Models {
			out = append(out, servedModel{id: cmpOr(m.Name, m.Model)})
		}
		return out, nil
	}
	if errOpenAI == nil {
		errOpenAI = fmt.Errorf("GET %s/v1/models: no data list", name)
	}
	if errOllama == nil {
		errOllama = fmt.Errorf("GET %s/api/tags: no models list", name)
	}
	return nil, probeError(name, errors.Join(errOpenAI, errOllama))
}

func probeError(base string, err error) error {
	switch {
	case isUnreachable(err):
		return fmt.Errorf("probing model runtime at %s: %w: %w", base, ErrUnavailable, err)
	case isAuthError(err):
		return fmt.Errorf("probing model runtime at %s: %w: %w", base, ErrUnauthorized, err)
	}
	return fmt.Errorf("probing model runtime at %s: %w", base, err)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// DoctorLLM builds the proposer from cfg and runs its Preflight.
func DoctorLLM(ctx context.Context, cfg LLMConfig) []prover.Check {
	l, err := NewLLM(cfg)
	if err != nil {
		return []prover.Check{{Name: "model config", Detail: err.Error(),
			Fix: "set model.name, model.api (openai|chat|ollama|llamacpp) and model.url"}}
	}
	return l.Preflight(ctx)
}

// Preflight checks every endpoint before a run: that it answers (with the
// API key, if any), that it serves the model (and, when it says, with a
// context window as large as configured), that a tiny request comes back
// with the number of samples asked for, and with per-token logprobs, since
// best-first search ranks candidates by them (a missing-logprobs check is
// Optional, a warning, unless RequireLogprobs). A failed check names the
// endpoint and says what to do. It does not start a runtime (Start does).
func (l *LLM) Preflight(ctx context.Context) []prover.Check {
	start := "vllm serve " + l.cfg.Model + " --port 8000"
	switch l.cfg.API {
	case APIOllama:
		start = "ollama serve"
	case APILlamaCpp:
		start = "llama-server -m MODEL.gguf --port 8080 --parallel 8"
	}
	var checks []prover.Check
	for i, u := range l.cfg.URLs {
		name := l.rt.eps[i].name
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		served, err := probe(pctx, l.rt.hc, u, l.cfg.APIKey)
		cancel()
		c := prover.Check{Name: "model endpoint " + name}
		if err != nil {
			c.Detail, c.Fix = err.Error(), "start the runtime: "+start+" (or set model.launch)"
			if errors.Is(err, ErrUnauthorized) {
				c.Fix = "set the runtime's API key: model.api-key-file, " + EnvAPIKey + " or " + EnvOpenAIAPIKey
			}
			checks = append(checks, c)
			continue
		}
		ids := make([]string, 0, len(served))
		for _, m := range served {
			ids = append(ids, m.id)
		}
		c.OK, c.Detail = true, "serves "+strings.Join(ids, ", ")
		checks = append(checks, c)
		k := slices.IndexFunc(served, func(m servedModel) bool { return m.id == l.cfg.Model })
		mc := prover.Check{Name: "model " + l.cfg.Model + " at " + name, OK: k >= 0, Detail: "served"}
		if k < 0 {
			mc.Detail = "not among the served models: " + strings.Join(ids, ", ")
			mc.Fix = "set model.name to one of them, or serve " + l.cfg.Model
			checks = append(checks, mc)
			continue
		}
		if ml := served[k].maxModelLen; ml > 0 {
			mc.Detail = fmt.Sprintf("served, context %d tokens", ml)
			if ml < l.cfg.ContextTokens {
				mc.OK = false
				mc.Detail = fmt.Sprintf("served with a %d-token context, but model.context is %d: long prompts would be refused", ml, l.cfg.ContextTokens)
				mc.Fix = fmt.Sprintf("set model.context to %d or less", ml)
			}
		}
		checks = append(checks, mc)
		checks = append(checks, l.preflightSample(ctx, u, name)...)
	}
	return checks
}

// preflightSample sends one short request for two samples to url: one
// check for the sampling itself, one for the logprobs.
func (l *LLM) preflightSample(ctx context.Context, url, name string) []prover.Check {
	c := prover.Check{Name: "model sampling at " + name}
	cfg := l.cfg
	one := 1.0
	cfg.URLs, cfg.Retries, cfg.MaxTokens, cfg.Launch, cfg.Beam, cfg.Greedy = []string{url}, -1, 8, "", false, false
	cfg.Temperature, cfg.Samples, cfg.RequireLogprobs, cfg.Log = &one, 2, false, nil
	cfg.Timeout = min(cfg.Timeout, time.Minute)
	probeLLM, err := NewLLM(cfg)
	if err != nil {
		c.Detail = err.Error()
		return []prover.Check{c}
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	prompt := "Tactic state:\n---\n⊢ True\n---\nNext tactic:\n---"
	if cfg.API == APIChat {
		prompt = "Give the next Lean 4 tactic for the goal ⊢ True."
	}
	res, err := probeLLM.sample(cctx, []string{prompt}, 2)
	var samples []Sample
	if err == nil {
		samples = res[0]
	}
	// Without logprobs the search still runs, in proposal order: a warning,
	// unless the configuration requires them.
	lp := prover.Check{Name: "model logprobs at " + name, Optional: !l.cfg.RequireLogprobs}
	switch {
	case err != nil:
		c.Detail, c.Fix = err.Error(), "check the runtime's log; the model name must match the served name"
		if errors.Is(err, ErrUnauthorized) {
			c.Fix = "set the runtime's API key: model.api-key-file, " + EnvAPIKey + " or " + EnvOpenAIAPIKey
		}
		return []prover.Check{c}
	case len(samples) < 2:
		c.Detail = fmt.Sprintf("asked for 2 samples, got %d", len(samples))
		c.Fix = "the server ignores n: use a runtime that honours it (vLLM, SGLang, llama-server --parallel N)"
	default:
		c.OK, c.Detail = true, fmt.Sprintf("2 samples (e.g. %q)", strings.TrimSpace(samples[0].Text))
	}
	if slices.ContainsFunc(samples, func(s Sample) bool { return s.HasLogprobs }) {
		lp.OK, lp.Detail = true, fmt.Sprintf("returned (mean logprob %.3f with %d alternative(s) asked per token)", samples[0].Mean(), probeLLM.topLP)
	} else {
		lp.Detail = fmt.Sprintf("no per-token logprobs returned (%s API, %d alternative(s) asked): every candidate would score the same and best-first search would try them in proposal order", cfg.API, probeLLM.topLP)
		lp.Fix = noLogprobsFix(cfg.API)
	}
	return []prover.Check{c, lp}
}
