package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// fakeVLLM answers /v1/completions like vLLM: for each prompt, the tactics
// that script returns for the state in it, prompt-major, with logprobs.
func fakeVLLM(t *testing.T, script func(state string) []string) (*httptest.Server, *atomic.Int64) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && r.URL.Path == "/v1/models" {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"object":"list","data":[{"id":"fake","object":"model"}]}`))
			return
		}
		if r.URL.Path != "/v1/completions" {
			http.NotFound(w, r)
			return
		}
		calls.Add(1)
		var req struct {
			Prompt any `json:"prompt"`
			N      int `json:"n"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		var prompts []string
		switch p := req.Prompt.(type) {
		case string:
			prompts = []string{p}
		case []any:
			for _, x := range p {
				prompts = append(prompts, x.(string))
			}
		}
		type lp struct {
			Tokens        []string  `json:"tokens"`
			TokenLogprobs []float64 `json:"token_logprobs"`
		}
		type choice struct {
			Index        int    `json:"index"`
			Text         string `json:"text"`
			Logprobs     lp     `json:"logprobs"`
			FinishReason string `json:"finish_reason"`
		}
		var choices []choice
		for i, p := range prompts {
			// The state is the last "Tactic state:" block of the prompt.
			state := p[strings.LastIndex(p, "Tactic state:"):]
			tactics := script(state)
			for j := 0; j < req.N; j++ {
				text := ""
				if j < len(tactics) {
					text = tactics[j]
				}
				choices = append(choices, choice{Index: i*req.N + j, Text: "\n" + text + "\n", FinishReason: "stop",
					Logprobs: lp{Tokens: []string{"\n", text, "\n"}, TokenLogprobs: []float64{-0.01, -0.1 * float64(j+1), -0.01}}})
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": "cmpl-1", "object": "text_completion", "model": "fake", "choices": choices})
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// minif2f --proposer llm against a local runtime proves exactly the theorems
// its correct candidates close; forbidden and wrong ones prove nothing.
func TestMiniF2FWithLLMProposer(t *testing.T) {
	needCoq(t)
	data := coqData(t)
	srv, calls := fakeVLLM(t, func(state string) []string {
		switch {
		case strings.Contains(state, "a ^ 2 + b ^ 2 = 369"): // mathd_algebra_141: a right one among cheats
			return []string{"Admitted.", "admit.", "lia.", "exact I.", "nra."}
		case strings.Contains(state, "x / 50 = 40"): // mathd_algebra_24: only cheats and wrong ones
			return []string{"Admitted.", "give_up.", "Axiom c : False.", "intros. Admitted.", "reflexivity.", "apply c."}
		}
		return []string{"auto."}
	})
	out := filepath.Join(t.TempDir(), "llm.jsonl")
	_, stderr, code := runCLI(t, "minif2f", "--backend", "coq", "--proposer", "llm", "--model-url", srv.URL, "--model", "fake",
		"--data", data, "--only", "mathd_algebra_141,mathd_algebra_24", "--out", out, "--samples", "8",
		"--expansions", "3", "--theorem-timeout", "60s", "--tactic-timeout", "5s", "--workers", "1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	f, _ := os.Open(out)
	defer f.Close()
	got := map[string]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r struct{ Name, Status, Proposer string }
		json.Unmarshal(sc.Bytes(), &r)
		got[r.Name] = r.Status
		if !strings.HasPrefix(r.Proposer, "llm") {
			t.Errorf("proposer recorded as %q", r.Proposer)
		}
	}
	if got["mathd_algebra_141"] != "proved" || got["mathd_algebra_24"] != "failed" {
		t.Fatalf("statuses %v; want 141 proved (nra) and 24 failed (only cheats)", got)
	}
	if calls.Load() == 0 {
		t.Fatal("the runtime was never called")
	}
}

// A dead runtime stops the run before the first theorem: one line naming
// the URL, exit 3, and no results file.
func TestLLMRuntimeDown(t *testing.T) {
	needCoq(t)
	data := coqData(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	out := filepath.Join(t.TempDir(), "down.jsonl")
	_, stderr, code := runCLI(t, "minif2f", "--backend", "coq", "--proposer", "llm", "--model-url", url, "--model", "fake",
		"--data", data, "--only", "mathd_algebra_141", "--out", out, "--theorem-timeout", "30s")
	if code != 3 || !strings.Contains(stderr, strings.TrimPrefix(url, "http://")) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
		t.Fatalf("exit %d, stderr %q; want exit 3 and one line naming %s", code, stderr, url)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a run that never started left %s behind (%v)", out, err)
	}
}
