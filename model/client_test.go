package model

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/llemma-prove/llemma-prove/prover"
)

// The recorded and constructed answers in testdata/shapes (see its README).
var (
	vllmBody     = mustShape("vllm_completions.json")
	vllmNullBody = mustShape("vllm_completions_echo.json")
	sglangBody   = mustShape("sglang_completions.json")
	llamacppBody = mustShape("llamacpp_v1_completions.json")
	ollamaBody   = mustShape("ollama_generate.json")
)

func approx(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestRequestSendsEveryField(t *testing.T) {
	t.Parallel()
	srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 200, synthCompletion(body))
	})
	zero, topP, minP, topK := 0.0, 0.9, 0.05, 0
	for _, tc := range []struct {
		name   string
		cfg    func(*LLMConfig)
		want   map[string]any
		absent []string
		stop   []string
	}{
		{"default", func(c *LLMConfig) {},
			map[string]any{"temperature": 1.0, "n": 4.0, "logprobs": 1.0, "max_tokens": 256.0, "top_p": 1.0, "stream": false},
			[]string{"top_k", "min_p", "use_beam_search", "best_of"}, []string{"---"}},
		{"temperature 0 is greedy", func(c *LLMConfig) { c.Temperature = &zero },
			map[string]any{"temperature": 0.0, "n": 1.0}, []string{"use_beam_search"}, []string{"---"}},
		{"greedy flag", func(c *LLMConfig) { c.Greedy = true },
			map[string]any{"temperature": 0.0, "n": 1.0}, nil, []string{"---"}},
		{"beam", func(c *LLMConfig) { c.Beam = true },
			map[string]any{"temperature": 0.0, "n": 4.0, "use_beam_search": true}, nil, []string{"---"}},
		{"every knob", func(c *LLMConfig) {
			c.TopP, c.TopK, c.MinP, c.MaxTokens, c.ContextTokens = topP, &topK, &minP, 64, 2048
			c.Stop, c.TopLogprobs = []string{"\n\n", "---"}, -1
			c.Extra = map[string]any{"cache_salt": "s1", "n": 99}
		}, map[string]any{"top_p": 0.9, "top_k": 0.0, "min_p": 0.05, "max_tokens": 64.0, "logprobs": 0.0,
			"cache_salt": "s1", "n": 4.0}, nil, []string{"\n\n", "---"}},
	} {
		cfg := testConfig(srv.URL + "/v1/")
		tc.cfg(&cfg)
		l := mustLLM(t, cfg)
		if _, err := l.Propose(context.Background(), leanReq("⊢ True")); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		bodies := rec.all()
		got := bodies[len(bodies)-1]
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%s: %s = %v, want %v", tc.name, k, got[k], v)
			}
		}
		for _, k := range tc.absent {
			if _, ok := got[k]; ok {
				t.Errorf("%s: %s sent: %v", tc.name, k, got[k])
			}
		}
		stop, _ := got["stop"].([]any)
		if fmt.Sprint(stop) != fmt.Sprint(tc.stop) {
			t.Errorf("%s: stop = %v, want %v", tc.name, got["stop"], tc.stop)
		}
		if s, ok := got["seed"].(float64); !ok || s < 0 || s >= 1<<31 {
			t.Errorf("%s: seed = %v, want a 31-bit seed on every request", tc.name, got["seed"])
		}
	}
}

func TestMarshalSendsZeros(t *testing.T) {
	t.Parallel()
	zero, zi := 0.0, 0
	b, err := json.Marshal(CompletionRequest{Model: "m", Prompt: "p", N: &zi, Temperature: &zero, Logprobs: &zi, MaxTokens: &zi, TopP: &zero})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"temperature":0`, `"logprobs":0`, `"n":0`, `"max_tokens":0`, `"stop":[]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}

func TestRuntimeShapes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		want       []prover.Candidate // best first
	}{
		{"vllm", vllmBody, []prover.Candidate{
			{Tactic: "rnF onlyk only", LogProb: -15.31, Tokens: 6}, // mean -2.55
			{Tactic: "SZvk", LogProb: -14.81, Tokens: 5},           // mean -2.96
		}},
		{"vllm-null", vllmNullBody, []prover.Candidate{{Tactic: "The step", LogProb: -8.818763732910156, Tokens: 1}}},
		{"sglang", sglangBody, []prover.Candidate{
			{Tactic: "norm_num", LogProb: -1.0, Tokens: 4},
			{Tactic: "simp", LogProb: -1.2, Tokens: 3},
		}},
		{"llamacpp", llamacppBody, []prover.Candidate{{Tactic: "linarith", LogProb: -1.0, Tokens: 4}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
				writeJSON(w, 200, tc.body)
			})
			l := mustLLM(t, testConfig(srv.URL))
			got, err := l.Propose(context.Background(), leanReq("⊢ True"))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d candidates %+v, want %d", len(got), got, len(tc.want))
			}
			for i, w := range tc.want {
				g := got[i]
				if g.Tactic != w.Tactic || g.Tokens != w.Tokens || math.Abs(g.LogProb-w.LogProb) > 0.01 ||
					!approx(g.Score, g.LogProb/float64(g.Tokens)) {
					t.Errorf("candidate %d = %+v, want %+v with Score = LogProb/Tokens", i, g, w)
				}
			}
		})
	}
}

func TestPromptMajorOrdering(t *testing.T) {
	t.Parallel()
	srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		// Shuffle the choices: the index field must decide.
		var resp map[string]any
		_ = json.Unmarshal([]byte(synthCompletion(body)), &resp)
		cs := resp["choices"].([]any)
		rand.Shuffle(len(cs), func(i, j int) { cs[i], cs[j] = cs[j], cs[i] })
		out, _ := json.Marshal(resp)
		writeJSON(w, 200, string(out))
	})
	cfg := testConfig(srv.URL)
	cfg.Samples, cfg.BatchPrompts = 3, 4
	l := mustLLM(t, cfg)
	var reqs []prover.ProposalRequest
	for i := range 6 {
		reqs = append(reqs, leanReq(fmt.Sprintf("x : ℕ\n⊢ x = %d", i)))
	}
	res, err := l.ProposeBatch(context.Background(), reqs)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(rec.all()); n != 2 {
		t.Errorf("%d requests for 6 prompts in batches of 4, want 2", n)
	}
	for i, cands := range res {
		if len(cands) != 3 {
			t.Fatalf("prompt %d: %d candidates, want 3", i, len(cands))
		}
		// Prompt i lands in request i/4 at position i%4.
		for j, c := range cands {
			want := fmt.Sprintf("tac_p%d_s%d", i%4, j)
			if c.Tactic != want {
				t.Errorf("prompt %d candidate %d = %q, want %q", i, j, c.Tactic, want)
			}
		}
	}
}

func TestGroupChoicesMissingIndex(t *testing.T) {
	t.Parallel()
	cs := []Choice{{Text: "a"}, {Text: "b"}, {Text: "c"}, {Text: "d"}}
	g, err := groupChoices(cs, choiceIndex, 2, 2)
	if err != nil || g[0][1].Text != "b" || g[1][0].Text != "c" {
		t.Fatalf("groupChoices by position = %v, %v", g, err)
	}
	// n ignored by the server: one choice per prompt.
	g, err = groupChoices(cs[:2], choiceIndex, 2, 8)
	if err != nil || len(g[0]) != 1 || g[1][0].Text != "b" {
		t.Fatalf("groupChoices with n ignored = %v, %v", g, err)
	}
	if _, err := groupChoices(cs[:3], choiceIndex, 2, 2); err == nil {
		t.Fatal("3 choices for 2 prompts accepted")
	}
}

func TestBeamCutsAtStopClientSide(t *testing.T) {
	t.Parallel()
	// vLLM beam search ignores stop: the text runs past "---" and the
	// logprobs cover tokens after the cut.
	body := `{"choices":[{"index":0,"text":"\nring\n---\nTactic state","logprobs":{"tokens":["\n","ring","\n","---","\n","Tactic"],"token_logprobs":[-0.5,-0.5,-0.5,-9,-9,-9],"text_offset":[0,1,5,6,9,10]},"finish_reason":"length"}]}`
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, b map[string]any) { writeJSON(w, 200, body) })
	cfg := testConfig(srv.URL)
	cfg.Beam = true
	got, err := mustLLM(t, cfg).Propose(context.Background(), leanReq("⊢ True"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Tactic != "ring" || got[0].Tokens != 3 || !approx(got[0].LogProb, -1.5) {
		t.Fatalf("got %+v, want ring with 3 tokens, logprob -1.5", got)
	}
}

func TestOllamaAdapter(t *testing.T) {
	t.Parallel()
	srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if r.URL.Path != "/api/generate" {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, 200, ollamaBody)
	})
	seed := int64(3)
	cfg := testConfig(srv.URL)
	cfg.API, cfg.Seed = "ollama", &seed
	got, err := mustLLM(t, cfg).Propose(context.Background(), leanReq("n : ℕ\n⊢ n + 0 = n"))
	if err != nil {
		t.Fatal(err)
	}
	// Four identical answers merge into one candidate.
	if len(got) != 1 || got[0].Tactic != "Sf linarith9c rw" || got[0].Tokens != 2 ||
		!approx(got[0].LogProb, -2.149312973022461-4.470671653747559) {
		t.Fatalf("got %+v", got)
	}
	bodies := rec.all()
	if len(bodies) != 4 {
		t.Fatalf("%d requests, want n=4", len(bodies))
	}
	seeds := map[float64]bool{}
	for _, b := range bodies {
		if b["raw"] != true || b["stream"] != false || b["logprobs"] != true {
			t.Errorf("body %v: want raw, no stream, logprobs", b)
		}
		if _, ok := b["n"]; ok {
			t.Errorf("n sent to ollama: %v", b)
		}
		opts := b["options"].(map[string]any)
		if opts["temperature"] != 1.0 || opts["num_predict"] != 256.0 {
			t.Errorf("options %v", opts)
		}
		seeds[opts["seed"].(float64)] = true
	}
	if len(seeds) != 4 {
		t.Errorf("seeds %v, want 4 distinct", seeds)
	}
}

func TestLlamaCppRefusesN(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	refused := 0
	srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if body["n"] != 1.0 {
			mu.Lock()
			refused++
			mu.Unlock()
			writeJSON(w, 500, mustShape("llamacpp_n_error.json"))
			return
		}
		writeJSON(w, 200, llamacppBody)
	})
	l := mustLLM(t, testConfig(srv.URL))
	for range 2 {
		got, err := l.Propose(context.Background(), leanReq("⊢ True"))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Tactic != "linarith" {
			t.Fatalf("got %+v", got)
		}
	}
	if refused != 1 {
		t.Errorf("n>1 sent %d times; want 1, then n fanned out", refused)
	}
	if n := len(rec.all()); n != 1+2*4 {
		t.Errorf("%d requests, want 9", n)
	}
	if s := l.Stats(); s.Duplicates != 6 || s.Kept != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestOllamaV1RefusesListPrompt(t *testing.T) {
	t.Parallel()
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if _, ok := body["prompt"].([]any); ok {
			writeJSON(w, 400, mustShape("ollama_v1_list_prompt_error.json"))
			return
		}
		// n silently ignored, logprobs silently absent.
		writeJSON(w, 200, mustShape("ollama_v1_completions.json"))
	})
	l := mustLLM(t, testConfig(srv.URL))
	res, err := l.ProposeBatch(context.Background(), []prover.ProposalRequest{leanReq("⊢ a"), leanReq("⊢ b")})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if len(r) != 1 || r[0].Score != NoLogprobsScore {
			t.Errorf("prompt %d: %+v", i, r)
		}
	}
	if s := l.Stats(); s.NoLogprobs != 2 || s.Truncated != 2 {
		t.Errorf("stats %+v", s)
	}
}

func TestProbe(t *testing.T) {
	t.Parallel()
	vllm, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		if r.URL.Path == "/v1/models" {
			writeJSON(w, 200, `{"object":"list","data":[{"id":"EleutherAI/llemma_7b","object":"model","owned_by":"vllm","max_model_len":4096}]}`)
			return
		}
		http.NotFound(w, r)
	})
	ollama, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) {
		if r.URL.Path == "/api/tags" {
			writeJSON(w, 200, `{"models":[{"name":"tiny-llama:latest","model":"tiny-llama:latest","size":1}]}`)
			return
		}
		writeJSON(w, 404, `404 page not found`)
	})
	ctx := context.Background()
	if got, err := Probe(ctx, vllm.URL); err != nil || len(got) != 1 || got[0] != "EleutherAI/llemma_7b" {
		t.Errorf("Probe(vllm) = %v, %v", got, err)
	}
	if got, err := Probe(ctx, ollama.URL+"/"); err != nil || len(got) != 1 || got[0] != "tiny-llama:latest" {
		t.Errorf("Probe(ollama) = %v, %v", got, err)
	}
	dead := deadURL(t)
	_, err := Probe(ctx, dead)
	if err == nil || !strings.Contains(err.Error(), dead) || !isUnreachable(err) {
		t.Errorf("Probe(dead) = %v; want an error naming %s", err, dead)
	}
}

func TestDoctorLLM(t *testing.T) {
	t.Parallel()
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		switch r.URL.Path {
		case "/v1/models":
			writeJSON(w, 200, `{"object":"list","data":[{"id":"m"}]}`)
		case "/v1/completions":
			writeJSON(w, 200, synthCompletion(body))
		default:
			http.NotFound(w, r)
		}
	})
	dead := deadURL(t)
	checks := DoctorLLM(context.Background(), testConfig(srv.URL, dead))
	var ok, bad int
	for _, c := range checks {
		if c.OK {
			ok++
		} else {
			bad++
			if c.Fix == "" || !strings.Contains(c.Detail, dead) {
				t.Errorf("failed check without fix or URL: %+v", c)
			}
		}
	}
	if ok != 4 || bad != 1 {
		t.Errorf("checks %+v: want 4 ok (endpoint, model, sampling, logprobs) and 1 failed", checks)
	}
	checks = DoctorLLM(context.Background(), LLMConfig{})
	if len(checks) != 1 || checks[0].OK {
		t.Errorf("DoctorLLM(empty config) = %+v", checks)
	}
}
