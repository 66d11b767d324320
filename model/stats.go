package model

import (
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Stats counts what the proposer did, for logs and reports.
type Stats struct {
	Proposals int64 // states proposed for
	Requests  int64 // HTTP attempts
	Retries   int64 // attempts after the first of a call
	Failures  int64 // attempts that failed
	Samples   int64 // completions received
	Truncated int64 // completions that hit max_tokens (kept, as Llemma did)
	// NoLogprobs counts completions without logprobs; they score NoLogprobsScore.
	NoLogprobs int64
	Empty      int64 // dropped: empty after cutting and stripping
	Duplicates int64 // dropped: same tactic as a better-scored one
	Rejected   int64 // dropped by the tactic policy
	// RejectedByRule splits Rejected by prover.Rejection rule.
	RejectedByRule map[string]int64
	Kept           int64 // candidates returned
	PromptsCut     int64 // states cut to fit the context window
	Restarts       int64 // launched runtime restarted after it died
	Queued         int64 // requests waiting for an in-flight slot now
	Cost           Cost  // what all proposals cost (LLM.Cost)
	Endpoints      []EndpointStats
}

type counters struct {
	proposals, samples, truncated, noLogprobs     atomic.Int64
	empty, duplicates, rejected, kept, promptsCut atomic.Int64

	mu     sync.Mutex
	byRule map[string]int64
}

func (c *counters) reject(rule string) {
	c.rejected.Add(1)
	c.mu.Lock()
	if c.byRule == nil {
		c.byRule = map[string]int64{}
	}
	c.byRule[rule]++
	c.mu.Unlock()
}

// NoLogprobsScore is the score of a completion from a runtime that returned
// no logprobs: every such tactic costs the same, which makes the search
// prefer short paths.
const NoLogprobsScore = -1.0

// noPolicy is used when LLMConfig.Policy is nil: it only refuses text that
// gives up a goal. Backends apply their own policy again before anything runs.
type noPolicy struct{}

func (noPolicy) Check(t string) (string, error) {
	if !utf8.ValidString(t) {
		return "", &prover.Rejection{Rule: "encoding", Detail: "not valid UTF-8"}
	}
	for _, w := range strings.FieldsFunc(t, func(r rune) bool {
		return !(r == '_' || r == '\'' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) {
		switch w {
		case "sorry", "admit", "Admitted", "oops":
			return "", &prover.Rejection{Rule: "gives-up", Detail: w}
		}
	}
	return t, nil
}

// clean turns samples into candidates: cut at the stop strings (again, for
// runtimes that ignore them), strip, drop empties, apply the policy, merge
// duplicates keeping the best score, sort best first, keep at most max
// (max <= 0: all).
func clean(samples []Sample, stops []string, policy prover.Policy, max int, st *counters) []prover.Candidate {
	if policy == nil {
		policy = noPolicy{}
	}
	index := map[string]int{}
	var out []prover.Candidate
	for _, s := range samples {
		st.samples.Add(1)
		if s.Finish == "length" {
			st.truncated.Add(1)
		}
		text := strings.TrimSpace(s.Text[:cutAtStop(s.Text, stops)])
		if text == "" {
			st.empty.Add(1)
			continue
		}
		t, err := policy.Check(text)
		if err != nil {
			rule := "other"
			var r *prover.Rejection
			if errors.As(err, &r) {
				rule = r.Rule
			}
			st.reject(rule)
			continue
		}
		c := prover.Candidate{Tactic: t, Score: s.Mean(), LogProb: s.LogProb, Tokens: s.Tokens}
		if !s.HasLogprobs {
			st.noLogprobs.Add(1)
			c.Score, c.LogProb, c.Tokens = NoLogprobsScore, 0, 0
		}
		if i, ok := index[t]; ok {
			st.duplicates.Add(1)
			if c.Score > out[i].Score {
				out[i] = c
			}
			continue
		}
		index[t] = len(out)
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if max > 0 && len(out) > max {
		out = out[:max]
	}
	st.kept.Add(int64(len(out)))
	return out
}
