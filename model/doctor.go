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
	return probe(ctx, http.DefaultClient, url)
}

func probe(ctx context.Context, hc *http.Client, url string) ([]string, error) {
	base := normalizeURL(url)
	var models struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	errOpenAI := doJSON(ctx, hc, http.MethodGet, base+"/v1/models", nil, &models)
	if errOpenAI == nil && models.Data != nil {
		names := make([]string, 0, len(models.Data))
		for _, m := range models.Data {
			names = append(names, m.ID)
		}
		return names, nil
	}
	if ctx.Err() != nil || isUnreachable(errOpenAI) {
		return nil, probeError(base, errOpenAI)
	}
	var tags struct {
		Models []struct {
			Name  string `json:"name"`
			Model string `json:"model"`
		} `json:"models"`
	}
	errOllama := doJSON(ctx, hc, http.MethodGet, base+"/api/tags", nil, &tags)
	if errOllama == nil && tags.Models != nil {
		names := make([]string, 0, len(tags.Models))
		for _, m := range tags.Models {
			names = append(names, cmpOr(m.Name, m.Model))
		}
		return names, nil
	}
	if errOpenAI == nil {
		errOpenAI = fmt.Errorf("GET %s/v1/models: no data list", base)
	}
	if errOllama == nil {
		errOllama = fmt.Errorf("GET %s/api/tags: no models list", base)
	}
	return nil, probeError(base, errors.Join(errOpenAI, errOllama))
}

func probeError(base string, err error) error {
	if isUnreachable(err) {
		return fmt.Errorf("probing model runtime at %s: %w: %w", base, ErrUnavailable, err)
	}
	return fmt.Errorf("probing model runtime at %s: %w", base, err)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// DoctorLLM checks every configured endpoint: that it answers, that it
// serves cfg.Model, and that a tiny completion comes back with the number
// of samples asked for and with logprobs (the scores depend on them).
func DoctorLLM(ctx context.Context, cfg LLMConfig) []prover.Check {
	l, err := NewLLM(cfg)
	if err != nil {
		return []prover.Check{{Name: "model config", Detail: err.Error(),
			Fix: "set model.name, model.api (openai|ollama) and model.urls"}}
	}
	start := "vllm serve " + l.cfg.Model + " --port 8000"
	if l.cfg.API == "ollama" {
		start = "ollama serve"
	}
	var checks []prover.Check
	for _, u := range l.cfg.URLs {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		names, err := probe(pctx, l.rt.hc, u)
		cancel()
		c := prover.Check{Name: "model endpoint " + u}
		if err != nil {
			c.Detail, c.Fix = err.Error(), "start the runtime: "+start+" (or set model.launch)"
			checks = append(checks, c)
			continue
		}
		c.OK, c.Detail = true, "serves "+strings.Join(names, ", ")
		checks = append(checks, c)
		served := prover.Check{Name: "model " + l.cfg.Model + " at " + u, OK: slices.Contains(names, l.cfg.Model)}
		if served.OK {
			served.Detail = "served"
		} else {
			served.Detail = "not among the served models: " + strings.Join(names, ", ")
			served.Fix = "set model.name to one of them, or serve " + l.cfg.Model
			checks = append(checks, served)
			continue
		}
		checks = append(checks, served)
		checks = append(checks, doctorSample(ctx, l.cfg, u))
	}
	return checks
}

// doctorSample sends one short request for two samples to url.
func doctorSample(ctx context.Context, cfg LLMConfig, url string) prover.Check {
	c := prover.Check{Name: "model sampling at " + url}
	cfg.URLs, cfg.Retries, cfg.MaxTokens, cfg.Launch, cfg.Beam = []string{url}, -1, 8, "", false
	cfg.Timeout = min(cfg.Timeout, time.Minute)
	one, err := NewLLM(cfg)
	if err != nil {
		c.Detail = err.Error()
		return c
	}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	prompt := "Tactic state:\n---\n⊢ True\n---\nNext tactic:\n---"
	var samples []Sample
	if one.cfg.API == "ollama" {
		samples, err = one.fanOut(cctx, prompt, 2, one.ollamaOne)
	} else {
		var res [][]Sample
		res, err = one.completeBatch(cctx, []string{prompt}, 2)
		if err == nil {
			samples = res[0]
		}
	}
	switch {
	case err != nil:
		c.Detail, c.Fix = err.Error(), "check the runtime's log; the model name must match the served name"
	case len(samples) < 2:
		c.Detail = fmt.Sprintf("asked for 2 samples, got %d", len(samples))
		c.Fix = "the server ignores n: use a runtime that honours it (vLLM, SGLang, llama-server --parallel N)"
	case !slices.ContainsFunc(samples, func(s Sample) bool { return s.HasLogprobs }):
		c.Detail = "no logprobs returned: candidates cannot be scored"
		c.Fix = "use vLLM/SGLang /v1/completions, or Ollama >= 0.12.11 with model.api=ollama"
	default:
		c.OK, c.Detail = true, fmt.Sprintf("2 samples with logprobs (e.g. %q, mean logprob %.3f)", strings.TrimSpace(samples[0].Text), samples[0].Mean())
	}
	return c
}
