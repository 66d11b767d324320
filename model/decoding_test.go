package model

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llemma-prove/llemma-prove/config"
	"github.com/llemma-prove/llemma-prove/prover"
)

// The anchors' figures for Llemma's proofsearch.py prompt (anchors.md §1.2).
const (
	anchorTemplateSHA = "98d756b0d69ed172cafc18c98237cd71fd6c15e2a0e063d1d0ddd0414b55f1b0"
	anchorPrefixSHA   = "6b8cf06b954d67e1b34fc2d9244f0839416fc26e15074ae6e3fa4c8454c20397"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestLlemmaOriginalPromptIsByteForByte(t *testing.T) {
	t.Parallel()
	tmpl := LlemmaOriginalTemplate
	if got := sha(tmpl); got != anchorTemplateSHA || LlemmaOriginalSHA256 != anchorTemplateSHA {
		t.Fatalf("template SHA-256 %s, want %s", got, anchorTemplateSHA)
	}
	if len(tmpl) != 728 || utf8.RuneCountInString(tmpl) != 670 {
		t.Errorf("template is %d bytes / %d code points, want 728 / 670", len(tmpl), utf8.RuneCountInString(tmpl))
	}
	pre, suf, _ := strings.Cut(tmpl, "%s")
	if len(pre) != 705 || sha(pre) != anchorPrefixSHA || suf != "\n---\nNext tactic:\n---" {
		t.Errorf("prefix %d bytes sha %s, suffix %q", len(pre), sha(pre), suf)
	}
	// The rendered prompt is Python's template % state, for a state with
	// characters a formatter might touch (%, braces, unicode).
	l := mustLLM(t, LLMConfig{Model: "m", PromptFormat: PromptLlemmaOriginal})
	state := "x : ℝ\nh₀ : 100% = {x | x > 0}\n⊢ x ^ 2 ≥ 0"
	got, err := l.Prompt(leanReq(state))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(tmpl, "%s", state, 1); got != want {
		t.Errorf("prompt differs from the template with the state substituted:\n%q", got)
	}
	if _, err := NewLLM(LLMConfig{Model: "m", PromptFormat: PromptLlemmaOriginal, Backend: "coq"}); err == nil {
		t.Error("llemma-original accepted for coq")
	}
}

func TestGoalProofstepFormats(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ format, want string }{
		{PromptGoalProofstep, "[GOAL]\n" + leanState + "\n[PROOFSTEP]\n"},
		{PromptGoalProofstepInline, "[GOAL]" + leanState + "[PROOFSTEP]"},
	} {
		got, err := mustLLM(t, LLMConfig{Model: "m", PromptFormat: tc.format}).Prompt(leanReq(leanState))
		if err != nil || got != tc.want {
			t.Errorf("%s prompt = %q, %v; want %q", tc.format, got, err, tc.want)
		}
	}
}

func TestExtractAnswer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"```lean4\nnlinarith [sq_nonneg a]\n```", "nlinarith [sq_nonneg a]\n"},
		{"The next step:\n```lean\nsimp\nring\n```\nThen done.", "simp\nring\n"},
		{"<think>\nmaybe ```x```\n</think>\n```lean\nlinarith\n```", "linarith\n"},
		{"<think>\nstill thinking", ""},
		{"```lean\nnorm_num", "norm_num"}, // cut by max_tokens inside the block
		{"```omega```", "omega"},
		{"```lean", ""},
		{"exact h", "exact h"},
	} {
		if got := extractAnswer(tc.in); got != tc.want {
			t.Errorf("extractAnswer(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// seedsOf proposes req under ctx and returns the seeds the server saw.
func seedsOf(t *testing.T, l *LLM, rec *recorder, ctx context.Context, req prover.ProposalRequest) []float64 {
	t.Helper()
	before := len(rec.all())
	if _, err := l.Propose(ctx, req); err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, b := range rec.all()[before:] {
		if s, ok := b["seed"].(float64); ok {
			out = append(out, s)
		} else if o, ok := b["options"].(map[string]any); ok {
			out = append(out, o["seed"].(float64))
		}
	}
	return out
}

func TestSeedsDistinctPerAttempt(t *testing.T) {
	t.Parallel()
	srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if r.URL.Path == "/api/generate" {
			writeJSON(w, 200, ollamaBody)
			return
		}
		writeJSON(w, 200, synthCompletion(body))
	})
	bg := context.Background()
	req := leanReq("x : ℕ\n⊢ x + 0 = x")
	for _, seeded := range []bool{false, true} {
		cfg := testConfig(srv.URL)
		if seeded {
			s := int64(42)
			cfg.Seed = &s
		}
		l := mustLLM(t, cfg)
		a0 := seedsOf(t, l, rec, WithAttempt(bg, 0), req)
		a0again := seedsOf(t, l, rec, bg, req)
		a1 := seedsOf(t, l, rec, WithAttempt(bg, 1), req)
		if len(a0) != 1 || len(a1) != 1 {
			t.Fatalf("seeds %v %v: want one request each", a0, a1)
		}
		if a0[0] == a1[0] {
			t.Errorf("seeded=%v: attempts 0 and 1 sent the same seed %v: pass@2 would be pass@1", seeded, a0[0])
		}
		if a0again[0] != a0[0] {
			t.Errorf("seeded=%v: the same attempt sent seeds %v and %v", seeded, a0[0], a0again[0])
		}
		other := seedsOf(t, l, rec, bg, leanReq("⊢ True"))
		if other[0] == a0[0] {
			t.Errorf("seeded=%v: two prompts share the seed %v", seeded, other[0])
		}
	}
	// A configured seed reproduces across proposers; fanned-out samples
	// (Ollama: one per request) each get their own.
	s := int64(7)
	cfg := testConfig(srv.URL)
	cfg.Seed = &s
	x := seedsOf(t, mustLLM(t, cfg), rec, bg, req)
	y := seedsOf(t, mustLLM(t, cfg), rec, bg, req)
	if x[0] != y[0] {
		t.Errorf("Seed 7 gave %v then %v", x, y)
	}
	cfg.API = APIOllama
	fan := seedsOf(t, mustLLM(t, cfg), rec, bg, req)
	seen := map[float64]bool{}
	for _, v := range fan {
		seen[v] = true
	}
	if len(fan) != 4 || len(seen) != 4 {
		t.Errorf("ollama fan-out seeds %v: want 4 distinct", fan)
	}
}

func TestAPIKey(t *testing.T) {
	t.Parallel()
	const key = "sk-test-0123456789abcdef"
	var auth []string
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		auth = append(auth, r.Header.Get("Authorization"))
		if r.Header.Get("Authorization") != "Bearer "+key {
			// A server that echoes what it got, key included.
			writeJSON(w, 401, fmt.Sprintf(`{"error":{"message":"invalid token %q","type":"auth"}}`, r.Header.Get("Authorization")))
			return
		}
		writeJSON(w, 200, synthCompletion(body))
	})
	dir := t.TempDir()
	file := filepath.Join(dir, "key")
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(srv.URL)
	cfg.APIKeyFile = file
	var logs bytes.Buffer
	cfg.Log = slog.New(slog.NewTextHandler(&logs, nil))
	l := mustLLM(t, cfg)
	if _, err := l.Propose(context.Background(), leanReq("⊢ True")); err != nil {
		t.Fatalf("with the key from a file: %v", err)
	}
	if auth[len(auth)-1] != "Bearer "+key {
		t.Errorf("Authorization = %q", auth[len(auth)-1])
	}

	// A wrong key: one attempt (401 is not retried), ErrUnauthorized, a
	// hint, and the key nowhere in the error even though the body echoes it.
	bad := testConfig(srv.URL)
	bad.APIKey = Secret("sk-wrong-key-000000000")
	n := len(auth)
	_, err := mustLLM(t, bad).Propose(context.Background(), leanReq("⊢ True"))
	if !errors.Is(err, ErrUnauthorized) || len(auth) != n+1 {
		t.Fatalf("err = %v after %d attempts; want ErrUnauthorized after 1", err, len(auth)-n)
	}
	var ae *APIError
	if !errors.As(err, &ae) || strings.Contains(err.Error(), "sk-wrong-key") || strings.Contains(ae.Body, "sk-wrong-key") ||
		!strings.Contains(err.Error(), redacted) || !strings.Contains(err.Error(), "api-key-file") {
		t.Errorf("err = %q (body %q): want the key redacted and a hint", err, ae.Body)
	}
	// No key at all: the hint says how to give one.
	_, err = mustLLM(t, testConfig(srv.URL)).Propose(context.Background(), leanReq("⊢ True"))
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), EnvAPIKey) {
		t.Errorf("err = %v; want ErrUnauthorized naming %s", err, EnvAPIKey)
	}

	// The config, stats and logs never show it.
	for _, s := range []string{fmt.Sprintf("%v %+v %#v %s", l.cfg, l.cfg, l.cfg, l.cfg.APIKey), logs.String()} {
		if strings.Contains(s, key) {
			t.Errorf("key leaked: %s", s)
		}
	}
	b, _ := json.Marshal(struct {
		K Secret
		S Stats
	}{l.cfg.APIKey, l.Stats()})
	if strings.Contains(string(b), key) {
		t.Errorf("key in JSON: %s", b)
	}
	slog.New(slog.NewJSONHandler(&logs, nil)).Info("cfg", "key", l.cfg.APIKey)
	if strings.Contains(logs.String(), key) {
		t.Errorf("key in slog output: %s", logs.String())
	}
}

func TestResolveAPIKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file, empty, open := filepath.Join(dir, "k"), filepath.Join(dir, "e"), filepath.Join(dir, "o")
	os.WriteFile(file, []byte("  from-file  \nsecond line\n"), 0o600)
	os.WriteFile(empty, []byte("\n"), 0o600)
	os.WriteFile(open, []byte("world-readable"), 0o644)
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		key  Secret
		file string
		env  map[string]string
		want Secret
		src  string
		err  bool
	}{
		{"", file, map[string]string{EnvAPIKey: "e1"}, "from-file", "file " + file, false},
		{"flag", "", map[string]string{EnvAPIKey: "e1"}, "flag", "model.api-key", false},
		{"", "", map[string]string{EnvAPIKey: "e1", EnvOpenAIAPIKey: "e2"}, "e1", "env " + EnvAPIKey, false},
		{"", "", map[string]string{EnvOpenAIAPIKey: "e2"}, "e2", "env " + EnvOpenAIAPIKey, false},
		{"", "", nil, "", "", false},
		{"", empty, nil, "", "", true},
		{"", filepath.Join(dir, "missing"), nil, "", "", true},
		{"", open, nil, "world-readable", "file " + open, false},
	} {
		env = tc.env
		got, src, err := ResolveAPIKey(tc.key, tc.file, getenv)
		if got != tc.want || src != tc.src || (err != nil) != tc.err || (err != nil && !errors.Is(err, ErrAPIKey)) {
			t.Errorf("ResolveAPIKey(%q, %q, %v) = %q, %q, %v", tc.key.Reveal(), tc.file, tc.env, got.Reveal(), src, err)
		}
	}
}

func TestLlemmaParity(t *testing.T) {
	t.Parallel()
	one := 1.0
	// The CLI's defaults (temperature 1, prompt llemma) are not the user's
	// doing: parity overrides them.
	explicit := func(keys ...string) func(string) bool {
		return func(k string) bool {
			for _, x := range keys {
				if x == k {
					return true
				}
			}
			return false
		}
	}
	base := LLMConfig{Model: "m", API: APIOpenAI, Temperature: &one, PromptFormat: PromptLlemma, Samples: 32}
	got, err := LlemmaParity(base, explicit())
	if err != nil {
		t.Fatal(err)
	}
	if !got.Beam || *got.Temperature != 0 || got.Samples != 32 || got.MaxTokens != 256 || got.PromptFormat != PromptLlemmaOriginal ||
		fmt.Sprint(got.Stop) != "[---]" || got.TopP != 1 {
		t.Fatalf("parity config %+v", got)
	}
	l := mustLLM(t, got)
	if l.temp != 0 || l.n != 32 {
		t.Errorf("parity decodes at T=%v with n=%d", l.temp, l.n)
	}
	// Explicit contradictions are refused, each one named.
	k := 40
	bad := base
	bad.TopK, bad.Samples = &k, 8
	_, err = LlemmaParity(bad, explicit("model.temperature", "model.top-k", "search.samples"))
	if !errors.Is(err, ErrParityConflict) {
		t.Fatalf("err = %v", err)
	}
	for _, want := range []string{"model.temperature=1", "model.top-k=40", "search.samples=8"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	// An explicit setting that agrees is fine; other backends keep their
	// own examples.
	zero := 0.0
	ok := base
	ok.Temperature, ok.Backend = &zero, "coq"
	if got, err := LlemmaParity(ok, explicit("model.temperature")); err != nil || got.PromptFormat != PromptLlemma {
		t.Errorf("agreeing settings: %+v, %v", got, err)
	}
	chat := base
	chat.API = APIChat
	if _, err := LlemmaParity(chat, explicit("model.api")); !errors.Is(err, ErrParityConflict) {
		t.Errorf("parity accepted the chat API: %v", err)
	}
}

func TestParseExtraAndConfig(t *testing.T) {
	t.Parallel()
	if m, err := ParseExtra(`{"cache_salt":"a","include_stop_str_in_output":false}`); err != nil || m["cache_salt"] != "a" {
		t.Errorf("ParseExtra = %v, %v", m, err)
	}
	for _, bad := range []string{`{"temperature":0}`, `[1]`, `{"n":2,"seed":1}`} {
		if _, err := ParseExtra(bad); err == nil {
			t.Errorf("ParseExtra(%s) accepted", bad)
		}
	}
	m := config.Defaults().Model
	m.Name, m.Temperature, m.TopK, m.MinP, m.Stop, m.Extra = "m", 0, 20, 0.1, []string{"\n"}, `{"cache_salt":"s"}`
	m.InFlight, m.MaxInFlight, m.Logprobs, m.Retries = 4, 16, -1, -1
	cfg, err := LLMConfigFrom(m, "lean", 16)
	if err != nil {
		t.Fatal(err)
	}
	if *cfg.Temperature != 0 || *cfg.TopK != 20 || *cfg.MinP != 0.1 || cfg.Samples != 16 || cfg.Seed != nil ||
		cfg.Limits.Initial != 4 || cfg.Limits.Max != 16 || cfg.Extra["cache_salt"] != "s" || cfg.TopLogprobs != -1 {
		t.Errorf("LLMConfigFrom = %+v", cfg)
	}
	l := mustLLM(t, cfg)
	if l.temp != 0 || l.n != 1 || l.topLP != 0 || l.rt.retries != 0 {
		t.Errorf("temperature 0 from the config: T=%v n=%d logprobs=%d retries=%d", l.temp, l.n, l.topLP, l.rt.retries)
	}
}
