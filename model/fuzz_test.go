package model

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/llemma-prove/llemma-prove/prover"
)

// FuzzDecodeCandidates feeds arbitrary bytes through the response decoder,
// the prompt-major grouping and the candidate hygiene: no panics, and every
// candidate is stripped, non-empty, free of the stop string, unique, and
// sorted best first.
func FuzzDecodeCandidates(f *testing.F) {
	for _, s := range []string{vllmBody, vllmNullBody, sglangBody, llamacppBody, ollamaBody,
		`{"choices":[{"index":3,"text":"a"},{"index":3,"text":"b"}]}`, `{"choices":null}`,
		`{"choices":[{"index":0,"text":"\n---x","logprobs":{"token_logprobs":[null,-1e308,-1e308],"text_offset":[0,99,-5]}}]}`,
		"{\"choices\":[{\"index\":0,\"text\":\"\\ufffd\\u00e2\\u008a\"}]}"} {
		f.Add([]byte(s), uint8(2), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, prompts, n uint8) {
		var resp CompletionResponse
		if json.Unmarshal(data, &resp) != nil {
			var o OllamaGenerateResponse
			if json.Unmarshal(data, &o) == nil {
				s := sampleFromOllama(&o, []string{"---"})
				checkCandidates(t, clean([]Sample{s}, []string{"---"}, nil, 0, &counters{}))
			}
			return
		}
		p, k := int(prompts%5)+1, int(n%5)
		groups, err := groupChoices(resp.Choices, choiceIndex, p, k)
		if err != nil {
			return
		}
		if len(groups) != p {
			t.Fatalf("%d groups for %d prompts", len(groups), p)
		}
		total := 0
		for _, g := range groups {
			total += len(g)
			var ss []Sample
			for _, c := range g {
				s := sampleFromChoice(c, []string{"---"})
				if strings.Contains(s.Text, "---") {
					t.Fatalf("sample %q not cut at the stop string", s.Text)
				}
				ss = append(ss, s)
			}
			checkCandidates(t, clean(ss, []string{"---"}, nil, 0, &counters{}))
		}
		if total != len(resp.Choices) {
			t.Fatalf("grouped %d of %d choices", total, len(resp.Choices))
		}
	})
}

func checkCandidates(t *testing.T, cs []prover.Candidate) {
	seen := map[string]bool{}
	for i, c := range cs {
		if c.Tactic == "" || strings.TrimFunc(c.Tactic, unicode.IsSpace) != c.Tactic || strings.Contains(c.Tactic, "---") {
			t.Fatalf("bad candidate %q", c.Tactic)
		}
		if seen[c.Tactic] {
			t.Fatalf("duplicate %q", c.Tactic)
		}
		seen[c.Tactic] = true
		if i > 0 && cs[i-1].Score < c.Score {
			t.Fatalf("not sorted: %v before %v", cs[i-1].Score, c.Score)
		}
	}
}

// FuzzDecodeChat feeds arbitrary bytes through the chat answer decoder and
// the code-block extraction: no panics; candidates obey the hygiene.
func FuzzDecodeChat(f *testing.F) {
	for _, s := range []string{mustShape("vllm_chat.json"), mustShape("chat_reasoning.json"),
		`{"choices":[{"index":0,"message":{"content":"` + "```" + `lean\n---\n` + "```" + `"},"logprobs":{"content":[{"logprob":null}]}}]}`} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, data []byte, n uint8) {
		var resp ChatResponse
		if json.Unmarshal(data, &resp) != nil {
			return
		}
		groups, err := groupChoices(resp.Choices, chatChoiceIndex, 1, int(n%5))
		if err != nil {
			return
		}
		var ss []Sample
		for _, c := range groups[0] {
			s := sampleFromChat(c, []string{"---"})
			s.Text = extractAnswer(s.Text)
			if s.Tokens < 0 || (s.HasLogprobs && s.Tokens == 0) {
				t.Fatalf("sample %+v", s)
			}
			ss = append(ss, s)
		}
		checkCandidates(t, clean(ss, []string{"---"}, nil, 0, &counters{}))
	})
}

// FuzzDecodeLlamaCpp feeds arbitrary bytes through the decoder of
// llama-server's native /completion (an object or an array of them).
func FuzzDecodeLlamaCpp(f *testing.F) {
	for _, s := range []string{mustShape("llamacpp_completion.json"), mustShape("llamacpp_completion_batch.json"),
		`[]`, `{"content":"a---b","stop_type":"limit","probs":[{"logprob":1e309}]}`, `[{"tokens_cached":-5,"tokens_evaluated":3}]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var rs llamaCppResults
		if json.Unmarshal(data, &rs) != nil {
			return
		}
		if p, _, k := rs.usage(); k > p && p >= 0 {
			t.Fatalf("cached %d > prompt %d", k, p)
		}
		var ss []Sample
		for _, r := range rs {
			s := sampleFromLlamaCpp(r, []string{"---"})
			if strings.Contains(s.Text, "---") {
				t.Fatalf("sample %q not cut at the stop string", s.Text)
			}
			ss = append(ss, s)
		}
		checkCandidates(t, clean(ss, []string{"---"}, nil, 0, &counters{}))
	})
}

// FuzzExtractAnswer: the extracted tactic is always a substring of the
// answer, and never contains a code fence.
func FuzzExtractAnswer(f *testing.F) {
	for _, s := range []string{"```lean4\nsimp\n```", "<think>x</think>```a```", "``", "<think>", "```\n```\n```"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := extractAnswer(s)
		if !strings.Contains(s, got) {
			t.Fatalf("extractAnswer(%q) = %q: not a part of the answer", s, got)
		}
		if strings.Contains(got, "```") {
			t.Fatalf("extractAnswer(%q) = %q keeps a fence", s, got)
		}
	})
}
