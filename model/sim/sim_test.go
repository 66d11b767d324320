package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/model/sim"
	"github.com/llemma-prove/llemma-prove/prover"
)

func start(t testing.TB, cfg sim.Config) *sim.Running {
	t.Helper()
	r, err := sim.Start(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func post(t *testing.T, url, body string) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp, m
}

// The latency follows Base + PerRequest x batch, and requests beyond
// MaxBatch wait for a slot.
func TestLatencyModel(t *testing.T) {
	t.Parallel()
	cfg := sim.Config{Base: 40 * time.Millisecond, PerRequest: 10 * time.Millisecond, MaxBatch: 4}
	r := start(t, cfg)
	timed := func(k int) []time.Duration {
		var wg sync.WaitGroup
		out := make([]time.Duration, k)
		for i := range k {
			wg.Go(func() {
				t0 := time.Now()
				resp, _ := post(t, r.URL, `{"model":"sim","prompt":"p","n":2}`)
				if resp.StatusCode != 200 {
					t.Errorf("status %d", resp.StatusCode)
				}
				out[i] = time.Since(t0)
			})
		}
		wg.Wait()
		return out
	}
	alone := timed(1)[0]
	if want := cfg.Latency(1, 2); alone < want || alone > 3*want {
		t.Errorf("alone: %v, want about %v", alone, want)
	}
	// Eight at once with a batch of 4: two waves of 4, each 80 ms.
	lat := timed(8)
	slowest := lat[0]
	for _, d := range lat {
		slowest = max(slowest, d)
	}
	if want := 2 * cfg.Latency(4, 8); slowest < want*9/10 || slowest > 3*want {
		t.Errorf("8 requests, batch 4: slowest %v, want about %v", slowest, want)
	}
	st := r.Stats()
	if st.PeakBatch != 4 || st.Requests != 9 || st.Sequences != 18 || st.PeakQueue < 4 {
		t.Errorf("stats %+v", st)
	}
	if b := st.MeanBatch(); b < 1 || b > 4 {
		t.Errorf("mean batch %v", b)
	}
	if bt := cfg.BestRequestTime(2); bt != cfg.Latency(4, 8)/4 {
		t.Errorf("BestRequestTime = %v", bt)
	}
}

func TestQueueFull429(t *testing.T) {
	t.Parallel()
	r := start(t, sim.Config{Base: 200 * time.Millisecond, MaxBatch: 1, MaxQueue: 1, RetryAfter: 2 * time.Second})
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	retry := ""
	for range 3 {
		wg.Go(func() {
			resp, _ := post(t, r.URL, `{"model":"sim","prompt":"p"}`)
			mu.Lock()
			codes[resp.StatusCode]++
			if resp.StatusCode == 429 {
				retry = resp.Header.Get("Retry-After")
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[200] != 2 || codes[429] != 1 || retry != "2" {
		t.Errorf("codes %v, Retry-After %q: want 2 answers and one 429 after 2 s", codes, retry)
	}
}

// Through the real client: candidates with logprobs, best first; a seed
// reproduces them; greedy decoding is deterministic; chat works; the
// cache reports hits on the shared few-shot prefix.
func TestWithTheClient(t *testing.T) {
	t.Parallel()
	r := start(t, sim.Config{Base: 5 * time.Millisecond, Model: "EleutherAI/llemma_7b"})
	seed := int64(3)
	mk := func(api string, temp float64) *model.LLM {
		l, err := model.NewLLM(model.LLMConfig{URLs: []string{r.URL}, Model: "EleutherAI/llemma_7b", API: api, Samples: 16,
			Temperature: &temp, Seed: &seed})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	req := prover.ProposalRequest{State: prover.State{Text: "a b : ℕ\n⊢ a + b = b + a"}, N: 32}
	var m model.Meter
	ctx := model.WithMeter(context.Background(), &m)
	a, err := mk(model.APIOpenAI, 1).Propose(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := mk(model.APIOpenAI, 1).Propose(ctx, req)
	if len(a) < 2 || fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("seeded proposals differ or are too few:\n%v\n%v", a, b)
	}
	for i := 1; i < len(a); i++ {
		if a[i].Score > a[i-1].Score || a[i].Tokens == 0 {
			t.Fatalf("candidates not scored best first: %+v", a)
		}
	}
	other, _ := mk(model.APIOpenAI, 1).Propose(model.WithAttempt(ctx, 1), req)
	if fmt.Sprint(other) == fmt.Sprint(a) {
		t.Error("attempt 1 sampled exactly what attempt 0 did")
	}
	g, _ := mk(model.APIOpenAI, 0).Propose(ctx, req)
	if len(g) != 1 {
		t.Errorf("greedy gave %d candidates", len(g))
	}
	c, err := mk(model.APIChat, 1).Propose(ctx, req)
	if err != nil || len(c) == 0 || strings.Contains(c[0].Tactic, "```") {
		t.Errorf("chat candidates %v, %v", c, err)
	}
	if cost := m.Cost(); cost.CachedTokens == 0 || cost.CachedTokens > cost.PromptTokens || cost.Requests != 5 {
		t.Errorf("cost %+v: want cache hits on the repeated prompt", cost)
	}
}

// A runtime that gives no logprobs for logprobs 0 (as SGLang does) is
// caught by the pre-flight check; asking for 1 works.
func TestPreflightSeesMissingLogprobs(t *testing.T) {
	t.Parallel()
	r := start(t, sim.Config{Base: time.Millisecond, LogprobsMin: 1})
	for _, tc := range []struct {
		topLogprobs int
		ok          bool
	}{{-1, false}, {0, true}} {
		l, err := model.NewLLM(model.LLMConfig{URLs: []string{r.URL}, Model: "sim", TopLogprobs: tc.topLogprobs})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range l.Preflight(context.Background()) {
			if strings.HasPrefix(c.Name, "model logprobs") && c.OK != tc.ok {
				t.Errorf("TopLogprobs %d: logprobs check %+v", tc.topLogprobs, c)
			} else if !strings.HasPrefix(c.Name, "model logprobs") && !c.OK {
				t.Errorf("check %+v", c)
			}
		}
	}
}

func TestAPIKeyRequired(t *testing.T) {
	t.Parallel()
	r := start(t, sim.Config{Base: time.Millisecond, APIKey: "k-123456"})
	for _, key := range []model.Secret{"", "k-123456"} {
		l, err := model.NewLLM(model.LLMConfig{URLs: []string{r.URL}, Model: "sim", APIKey: key, Samples: 2})
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Propose(context.Background(), prover.ProposalRequest{State: prover.State{Text: "⊢ True"}})
		if (err == nil) != (key != "") {
			t.Errorf("key %q: err %v", key.Reveal(), err)
		}
	}
}
