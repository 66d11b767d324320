package model

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/prover"
)

var proofThm = prover.Theorem{Name: "mathd_algebra_10", Header: "Require Import Reals.\nOpen Scope R_scope.\n\n",
	Statement: "Theorem mathd_algebra_10 : abs ((120 / 100 * 30) - 130 / 100 * 20) = 10."}

// The whole-proof, repair and sketch prompts, completion and chat, are
// goldens (go test ./model -run ProofPrompt -update).
func TestProofPromptGolden(t *testing.T) {
	t.Parallel()
	inf := &prover.Informal{Statement: "Compute $|1.2 \\cdot 30 - 1.3 \\cdot 20|$. (* not a comment end *)", Proof: "It is $|36 - 26| = 10$."}
	reqs := map[string]prover.ProofRequest{
		"proof":  {Theorem: proofThm, Kind: prover.KindProof},
		"repair": {Theorem: proofThm, Kind: prover.KindProof, Round: 1, Previous: "Proof.\n  lra.", Error: "File \"x.v\", line 5:\nError: lra failed"},
		"sketch": {Theorem: proofThm, Kind: prover.KindSketch, Informal: inf},
	}
	for name, req := range reqs {
		for _, chat := range []bool{false, true} {
			style := "completion"
			if chat {
				style = "chat"
			}
			got, stops := ProofPrompt("coq", chat, req)
			if chat != (stops == nil) {
				t.Errorf("%s %s: stops %q", name, style, stops)
			}
			golden := filepath.Join("testdata", "proofprompt_coq_"+name+"_"+style+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./model -run ProofPrompt -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s %s prompt:\n%s\nwant:\n%s", name, style, got, want)
			}
			if !strings.Contains(got, proofThm.Statement) {
				t.Errorf("%s %s: no statement", name, style)
			}
			if name == "sketch" && (!strings.Contains(got, "10$.") || !strings.Contains(got, "admit")) {
				t.Errorf("sketch %s: no informal proof or hole syntax:\n%s", style, got)
			}
			if name == "repair" && (!strings.Contains(got, "lra failed") || !strings.Contains(got, "lra.")) {
				t.Errorf("repair %s: no error or attempt:\n%s", style, got)
			}
			if !chat && strings.Count(got, "*)") != strings.Count(got, "(*") {
				t.Errorf("%s: informal text closed a comment early:\n%s", name, got)
			}
		}
	}
}

// WriteProof on the stand-in runtime: the completion request carries the
// proof prompt, the configured max tokens and the proof stops; the text is
// cut there; a chat answer is the code block of the reply.
func TestWriteProof(t *testing.T) {
	t.Parallel()
	srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if r.URL.Path == "/v1/chat/completions" {
			writeJSON(w, 200, `{"choices":[{"index":0,"message":{"role":"assistant","content":"Here:\n`+"```coq\\n  lra.\\n```"+`"},"finish_reason":"stop"}]}`)
			return
		}
		writeJSON(w, 200, `{"choices":[{"index":0,"text":"  lra.\nQed.\nTheorem next : True.","finish_reason":"length"}]}`)
	})
	cfg := testConfig(srv.URL)
	cfg.Backend, cfg.MaxTokens = "coq", 1024
	l := mustLLM(t, cfg)
	m := &Meter{}
	txt, err := l.WriteProof(WithMeter(context.Background(), m), prover.ProofRequest{Theorem: proofThm, Kind: prover.KindProof})
	if err != nil {
		t.Fatal(err)
	}
	if txt.Text != "  lra.\nQed." || txt.Truncated {
		t.Errorf("text %q truncated %v", txt.Text, txt.Truncated)
	}
	body := rec.all()[0]
	if p, _ := body["prompt"].(string); !strings.HasSuffix(p, "Proof.\n") || body["max_tokens"].(float64) != 1024 {
		t.Errorf("request %v", body)
	}
	if m.Cost().Proposals != 1 {
		t.Errorf("cost not metered: %+v", m.Cost())
	}

	cfg.API = APIChat
	lc := mustLLM(t, cfg)
	txt, err = lc.WriteProof(context.Background(), prover.ProofRequest{Theorem: proofThm, Kind: prover.KindSketch})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(txt.Text) != "lra." {
		t.Errorf("chat text %q", txt.Text)
	}
}

// WriteProof over Ollama's /api/generate and llama-server's /completion:
// the proof prompt with the proof stops (not the tactic stops), the max
// tokens, a seed; llama.cpp's stopping word is put back when the proof
// syntax keeps it (Qed.), Ollama's cannot be (it is not reported).
func TestWriteProofNativeAPIs(t *testing.T) {
	t.Parallel()
	srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		switch r.URL.Path {
		case "/api/generate":
			writeJSON(w, 200, `{"model":"m","response":"  lra.\n","done":true,"done_reason":"stop"}`)
		case "/completion":
			writeJSON(w, 200, `{"content":"  nra.\n","stop_type":"word","stopping_word":"Qed.","tokens_predicted":3}`)
		default:
			http.NotFound(w, r)
		}
	})
	for _, tc := range []struct {
		api, path, want string
		stops           string
	}{
		{APIOllama, "/api/generate", "  lra.\n", "options"},
		{APILlamaCpp, "/completion", "  nra.\nQed.", ""},
	} {
		cfg := testConfig(srv.URL)
		cfg.API, cfg.Backend, cfg.MaxTokens = tc.api, "coq", 777
		l := mustLLM(t, cfg)
		n := len(rec.all())
		txt, err := l.WriteProof(context.Background(), prover.ProofRequest{Theorem: proofThm, Kind: prover.KindProof})
		if err != nil {
			t.Fatalf("%s: %v", tc.api, err)
		}
		if txt.Text != tc.want {
			t.Errorf("%s: text %q, want %q", tc.api, txt.Text, tc.want)
		}
		reqs := rec.all()
		if len(reqs) != n+1 {
			t.Fatalf("%s: %d requests, want 1", tc.api, len(reqs)-n)
		}
		body := reqs[n]
		if tc.stops == "options" {
			body, _ = body["options"].(map[string]any)
		}
		stops, _ := body["stop"].([]any)
		hasQed := false
		for _, s := range stops {
			hasQed = hasQed || s == "Qed."
		}
		if !hasQed {
			t.Errorf("%s: stops %v, want the proof stops (Qed.)", tc.api, body["stop"])
		}
		if tc.api == APIOllama && body["num_predict"] != 777.0 || tc.api == APILlamaCpp && body["n_predict"] != 777.0 {
			t.Errorf("%s: request %v lacks the max tokens", tc.api, body)
		}
	}
}
