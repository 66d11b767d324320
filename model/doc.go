// Package model is where candidate tactics come from: a hand-written
// client for the model runtimes (OpenAI-compatible /v1/completions and
// /v1/chat/completions on vLLM, SGLang and llama.cpp; Ollama's
// /api/generate; llama-server's native /completion), Llemma's prompts
// (llemma-original is proofsearch.py's byte for byte), the candidate
// hygiene (stop-string cut, strip, dedupe, tactic policy), per-endpoint
// in-flight limits that adapt to latency and 429s, cost accounting per
// request (Cost, Meter), a launcher for a local runtime on internal/proc,
// and the GPU-free portfolio. *LLM implements prover.Proposer; its output
// is untrusted and is checked by the backend's Policy and, finally, its
// Verifier. Package model/sim is a GPU-like runtime simulator to measure
// the scheduling against.
package model
