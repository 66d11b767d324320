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
		groups, err := groupChoices(resp.Choices, p, k)
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
