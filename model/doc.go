// Package model is where candidate tactics come from: a hand-written
// client for OpenAI-compatible /v1/completions runtimes (vLLM, SGLang,
// llama.cpp) and Ollama's /api/generate, Llemma's few-shot prompts, the
// candidate hygiene (stop-string cut, strip, dedupe, tactic policy), a
// launcher for a local runtime, and the GPU-free portfolio. *LLM implements
// prover.Proposer; its output is untrusted and is checked by the backend's
// Policy and, finally, its Verifier.
package model
