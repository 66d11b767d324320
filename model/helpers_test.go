package model

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// recorder keeps the decoded bodies of the requests a fake server saw.
type recorder struct {
	mu     sync.Mutex
	bodies []map[string]any
	paths  []string
}

func (r *recorder) add(path string, body []byte) map[string]any {
	m := map[string]any{}
	_ = json.Unmarshal(body, &m)
	r.mu.Lock()
	r.bodies = append(r.bodies, m)
	r.paths = append(r.paths, path)
	r.mu.Unlock()
	return m
}

func (r *recorder) all() []map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.bodies...)
}

// fakeServer serves h on a loopback httptest server, recording bodies.
func fakeServer(t testing.TB, h func(w http.ResponseWriter, r *http.Request, body map[string]any)) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		body := rec.add(r.URL.Path, data)
		h(w, r, body)
	}))
	t.Cleanup(srv.Close)
	return srv, rec
}

// writeJSON answers with a fixed body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// synthCompletion builds a vLLM-style answer for body: choice i*n+j has text
// "\ntac_p<i>_s<j>\n" and token logprobs [-0.5, -(j+1)/10].
func synthCompletion(body map[string]any) string {
	prompts := 1
	if l, ok := body["prompt"].([]any); ok {
		prompts = len(l)
	}
	n := 1
	if v, ok := body["n"].(float64); ok {
		n = int(v)
	}
	type lp struct {
		Tokens        []string   `json:"tokens"`
		TokenLogprobs []*float64 `json:"token_logprobs"`
		TextOffset    []int      `json:"text_offset"`
	}
	type choice struct {
		Index        int     `json:"index"`
		Text         string  `json:"text"`
		Logprobs     lp      `json:"logprobs"`
		FinishReason string  `json:"finish_reason"`
		StopReason   *string `json:"stop_reason"`
	}
	var cs []choice
	stop := "---"
	for i := 0; i < prompts; i++ {
		for j := 0; j < n; j++ {
			a, b := -0.5, -float64(j+1)/10
			cs = append(cs, choice{Index: i*n + j, Text: fmt.Sprintf("\ntac_p%d_s%d\n", i, j),
				Logprobs:     lp{Tokens: []string{"\n", "tac"}, TokenLogprobs: []*float64{&a, &b}, TextOffset: []int{0, 1}},
				FinishReason: "stop", StopReason: &stop})
		}
	}
	out, _ := json.Marshal(map[string]any{"id": "cmpl-x", "object": "text_completion", "model": "m", "choices": cs,
		"usage": map[string]int{"prompt_tokens": 10, "completion_tokens": 2 * len(cs), "total_tokens": 10 + 2*len(cs)}})
	return string(out)
}

// mustShape reads a runtime answer from testdata/shapes.
func mustShape(name string) string {
	b, err := os.ReadFile(filepath.Join("testdata", "shapes", name))
	if err != nil {
		panic(err)
	}
	return strings.TrimSpace(string(b))
}

// deadURL is a loopback address nothing listens on.
func deadURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func testConfig(urls ...string) LLMConfig {
	return LLMConfig{URLs: urls, Model: "m", Samples: 4, Timeout: 5 * time.Second, Backoff: time.Millisecond, Retries: 2}
}

func leanReq(state string) prover.ProposalRequest {
	return prover.ProposalRequest{Theorem: prover.Theorem{Name: "t"}, State: prover.State{Text: state}, N: 32}
}

func mustLLM(t testing.TB, cfg LLMConfig) *LLM {
	t.Helper()
	l, err := NewLLM(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}
