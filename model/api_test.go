package model

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

func TestChatAPI(t *testing.T) {
	t.Parallel()
	srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, 200, mustShape("vllm_chat.json"))
	})
	cfg := testConfig(srv.URL)
	cfg.API, cfg.Samples, cfg.System = APIChat, 2, "You are a Lean 4 prover."
	l := mustLLM(t, cfg)
	var m Meter
	got, err := l.Propose(WithMeter(context.Background(), &m), leanReq("a b : ℝ\n⊢ 2 * a * b ≤ a ^ 2 + b ^ 2"))
	if err != nil {
		t.Fatal(err)
	}
	// Code blocks extracted; scored by the mean over the answer's tokens.
	if len(got) != 2 || got[0].Tactic != "nlinarith [sq_nonneg (a - b)]" || got[1].Tactic != "linarith" ||
		got[0].Tokens != 5 || math.Abs(got[0].LogProb-(-1.0)) > 1e-9 {
		t.Fatalf("candidates %+v", got)
	}
	body := rec.all()[0]
	msgs, _ := body["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["role"] != "system" ||
		!strings.Contains(msgs[1].(map[string]any)["content"].(string), "```lean\na b : ℝ\n⊢ 2 * a * b") {
		t.Errorf("messages %v", body["messages"])
	}
	if body["logprobs"] != true || body["top_logprobs"] != 1.0 || body["n"] != 2.0 || body["temperature"] != 1.0 {
		t.Errorf("chat body %v", body)
	}
	if _, ok := body["prompt"]; ok {
		t.Error("a chat request carries a raw prompt")
	}
	if c := m.Cost(); c.PromptTokens != 120 || c.CachedTokens != 96 || c.CompletionTokens != 30 || c.Samples != 2 {
		t.Errorf("cost %+v", c)
	}
}

func TestChatReasoningAnswer(t *testing.T) {
	t.Parallel()
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 200, mustShape("chat_reasoning.json"))
	})
	cfg := testConfig(srv.URL)
	cfg.API, cfg.Samples = APIChat, 2
	l := mustLLM(t, cfg)
	got, err := l.Propose(context.Background(), leanReq("⊢ True"))
	if err != nil {
		t.Fatal(err)
	}
	// The answer cut while thinking has no tactic; the other is the block
	// after </think>. No logprobs: the NoLogprobs score.
	if len(got) != 1 || got[0].Tactic != "linarith [h₀]" || got[0].Score != NoLogprobsScore {
		t.Fatalf("candidates %+v", got)
	}
	if s := l.Stats(); s.Empty != 1 || s.NoLogprobs != 1 {
		t.Errorf("stats %+v", s)
	}
}

func TestLlamaCppNative(t *testing.T) {
	t.Parallel()
	srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if r.URL.Path != "/completion" {
			http.NotFound(w, r)
			return
		}
		if _, many := body["prompt"].([]any); many {
			writeJSON(w, 200, mustShape("llamacpp_completion_batch.json"))
			return
		}
		writeJSON(w, 200, mustShape("llamacpp_completion.json"))
	})
	cfg := testConfig(srv.URL)
	cfg.API, cfg.Samples = APILlamaCpp, 3
	l := mustLLM(t, cfg)
	var m Meter
	got, err := l.Propose(WithMeter(context.Background(), &m), leanReq(leanState))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Tactic != "norm_num [h₀]" || got[0].Tokens != 5 || math.Abs(got[0].LogProb+1.0) > 1e-9 {
		t.Fatalf("candidates %+v", got)
	}
	bodies := rec.all()
	seeds := map[float64]bool{}
	for _, b := range bodies {
		seeds[b["seed"].(float64)] = true
		if b["top_k"] != 0.0 || b["min_p"] != 0.0 || b["top_p"] != 1.0 || b["temperature"] != 1.0 ||
			b["n_predict"] != 256.0 || b["n_probs"] != 1.0 || b["cache_prompt"] != true || b["stream"] != false {
			t.Errorf("llama.cpp body %v: want every sampler sent", b)
		}
	}
	if len(bodies) != 3 || len(seeds) != 3 {
		t.Errorf("%d requests with %d seeds, want n=3 requests with distinct seeds", len(bodies), len(seeds))
	}
	if c := m.Cost(); c.Requests != 3 || c.PromptTokens != 3*310 || c.CachedTokens != 3*300 || c.CompletionTokens != 15 {
		t.Errorf("cost %+v", c)
	}

	// Several states: one request per sample, carrying every prompt; the
	// results array is in prompt order; a limit ending is length.
	res, err := l.ProposeBatch(context.Background(), []prover.ProposalRequest{leanReq("⊢ a"), leanReq("⊢ b")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || len(res[0]) != 1 || res[0][0].Tactic != "simp" || len(res[1]) != 1 || !strings.HasPrefix(res[1][0].Tactic, "ring_nf") {
		t.Fatalf("batch %+v", res)
	}
	if s := l.Stats(); s.Truncated != 3 {
		t.Errorf("truncated %d, want the 3 limit endings", s.Truncated)
	}
}

func TestMissingLogprobs(t *testing.T) {
	t.Parallel()
	// SGLang/llama.cpp-like: a completion without logprobs.
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		switch r.URL.Path {
		case "/v1/models":
			writeJSON(w, 200, `{"object":"list","data":[{"id":"m","max_model_len":2048}]}`)
		default:
			writeJSON(w, 200, `{"choices":[{"index":0,"text":"\nsimp\n","logprobs":null,"finish_reason":"stop"},{"index":1,"text":"\nring\n","finish_reason":"stop"}]}`)
		}
	})
	var logs bytes.Buffer
	cfg := testConfig(srv.URL)
	cfg.Samples, cfg.ContextTokens, cfg.Log = 2, 2048, slog.New(slog.NewTextHandler(&logs, nil))
	l := mustLLM(t, cfg)
	checks := l.Preflight(context.Background())
	var lp *prover.Check
	for i := range checks {
		if strings.HasPrefix(checks[i].Name, "model logprobs") {
			lp = &checks[i]
		} else if !checks[i].OK {
			t.Errorf("check %+v failed", checks[i])
		}
	}
	if lp == nil || lp.OK || !lp.Optional || !strings.Contains(lp.Detail, "proposal order") || !strings.Contains(lp.Fix, "model.logprobs") {
		t.Fatalf("logprobs check %+v", lp)
	}
	for range 2 {
		if _, err := l.Propose(context.Background(), leanReq("⊢ True")); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(logs.String(), "without logprobs"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, logs.String())
	}
	if c := l.Cost(); c.NoLogprobs != 4 || c.Samples != 4 {
		t.Errorf("cost %+v", c)
	}
	cfg.RequireLogprobs = true
	strict := mustLLM(t, cfg)
	if _, err := strict.Propose(context.Background(), leanReq("⊢ True")); !errors.Is(err, ErrNoLogprobs) {
		t.Errorf("RequireLogprobs: err = %v", err)
	}
	for _, c := range strict.Preflight(context.Background()) {
		if strings.HasPrefix(c.Name, "model logprobs") && (c.OK || c.Optional) {
			t.Errorf("with RequireLogprobs the logprobs check must fail the pre-flight: %+v", c)
		}
	}
	// A context window larger than the server's is a failed check.
	cfg.ContextTokens = 4096
	for _, c := range mustLLM(t, cfg).Preflight(context.Background()) {
		if strings.HasPrefix(c.Name, "model m at") && (c.OK || !strings.Contains(c.Fix, "2048")) {
			t.Errorf("context check %+v", c)
		}
	}
}

func TestCostAccounting(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		<-release
		writeJSON(w, 200, mustShape("sglang_completions.json"))
	})
	cfg := testConfig(srv.URL)
	cfg.Limits = LimitConfig{Initial: 1, Max: 1}
	l := mustLLM(t, cfg)
	var theorem, spec, other Meter
	ctx := WithMeter(context.Background(), &theorem)
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := l.Propose(ctx, leanReq("⊢ a")); err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() {
		if _, err := l.Propose(WithMeter(ctx, &spec), leanReq("⊢ b")); err != nil {
			t.Error(err)
		}
	})
	wg.Go(func() {
		if _, err := l.Propose(WithMeter(context.Background(), &other), leanReq("⊢ c")); err != nil {
			t.Error(err)
		}
	})
	// With one slot, two of the three wait in the queue while the first
	// is held: let the requests through one at a time once they queued.
	waitFor(t, func() bool { s := l.Stats(); return s.Endpoints[0].InFlight == 1 && s.Queued == 2 })
	for range 3 {
		release <- struct{}{}
	}
	wg.Wait()
	th, sp, ot, tot := theorem.Cost(), spec.Cost(), other.Cost(), l.Cost()
	if th.Proposals != 2 || sp.Proposals != 1 || ot.Proposals != 1 || tot.Proposals != 3 {
		t.Errorf("proposals theorem %d spec %d other %d total %d", th.Proposals, sp.Proposals, ot.Proposals, tot.Proposals)
	}
	if tot.Requests != 3 || tot.PromptTokens != 900 || tot.CachedTokens != 840 || tot.CompletionTokens != 21 || tot.Samples != 6 {
		t.Errorf("total %+v", tot)
	}
	if th.PromptTokens != 600 || sp.PromptTokens != 300 || th.CachedTokens != 560 {
		t.Errorf("theorem %+v spec %+v", th, sp)
	}
	if tot.QueueTime <= 0 || tot.ModelTime <= 0 || tot.ProposeTime < tot.ModelTime || math.Abs(tot.CacheHitRate()-840.0/900) > 1e-9 {
		t.Errorf("times: queue %v model %v propose %v, hit rate %v", tot.QueueTime, tot.ModelTime, tot.ProposeTime, tot.CacheHitRate())
	}
	if s := l.Stats(); s.Cost != tot || s.Requests != 3 {
		t.Errorf("Stats().Cost %+v", s.Cost)
	}
}

// waitFor polls cond (an observable state change, not an ordering).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(time.Millisecond)
	}
}
