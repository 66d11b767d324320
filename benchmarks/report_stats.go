package benchmarks

import (
	"sort"
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
)

// CostStats is what a system's attempts cost: the time of each stage,
// summed over attempts, the tactic checks, and the model's requests,
// tokens and time when the result lines carry them (model_cost).
type CostStats struct {
	Attempts     int     `json:"attempts"`
	WallS        float64 `json:"wall_s"`
	QueueS       float64 `json:"queue_s"`
	SetupS       float64 `json:"setup_s"`
	SearchS      float64 `json:"search_s"`
	VerifyS      float64 `json:"verify_s"`
	Expansions   int     `json:"expansions"`
	TacticChecks int     `json:"tactic_checks"`
	// ChecksPerS is tactic checks per second of search.
	ChecksPerS float64         `json:"checks_per_search_s"`
	Model      *ModelCostStats `json:"model,omitempty"`
}

// ModelCostStats sums the model_cost of the attempts that carry one.
type ModelCostStats struct {
	Attempts         int   `json:"attempts"`
	Proposals        int64 `json:"proposals"`
	Requests         int64 `json:"requests"`
	Retries          int64 `json:"retries"`
	Failures         int64 `json:"failures"`
	Throttled        int64 `json:"throttled"`
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	CachedTokens     int64 `json:"cached_tokens"`
	Samples          int64 `json:"samples"`
	// ModelS is request-seconds at the runtime (concurrent requests add
	// up); ProposeS what the searches waited for proposals; CheckerS the
	// rest of their search time, spent in the checker (an estimate: a
	// proposal made in the background while tactics run overlaps it).
	ModelS            float64 `json:"model_s"`
	ProposeS          float64 `json:"propose_s"`
	CheckerS          float64 `json:"checker_s"`
	ChecksPerCheckerS float64 `json:"checks_per_checker_s"`
	CacheHitRate      float64 `json:"cache_hit_rate"`
	searchChecks      int
}

// add counts one attempt.
func (c *CostStats) add(r Result) {
	c.Attempts++
	c.WallS += r.WallS
	c.QueueS += r.QueueS
	c.SetupS += r.SetupS
	c.SearchS += r.SearchS
	c.VerifyS += r.VerifyS
	c.Expansions += r.Expansions
	c.TacticChecks += r.TacticChecks
	mc := r.ModelCost
	if mc == nil {
		return
	}
	if c.Model == nil {
		c.Model = &ModelCostStats{}
	}
	m := c.Model
	m.Attempts++
	m.Proposals += mc.Proposals
	m.Requests += mc.Requests
	m.Retries += mc.Retries
	m.Failures += mc.Failures
	m.Throttled += mc.Throttled
	m.PromptTokens += mc.PromptTokens
	m.CompletionTokens += mc.CompletionTokens
	m.CachedTokens += mc.CachedTokens
	m.Samples += mc.Samples
	m.ModelS += mc.ModelTime.Seconds()
	propose := mc.ProposeTime.Seconds()
	m.ProposeS += propose
	m.CheckerS += max(0, r.SearchS-propose)
	m.searchChecks += r.TacticChecks
}

// finish computes the rates.
func (c *CostStats) finish() {
	c.WallS, c.QueueS, c.SetupS = round3(c.WallS), round3(c.QueueS), round3(c.SetupS)
	c.SearchS, c.VerifyS = round3(c.SearchS), round3(c.VerifyS)
	if c.SearchS > 0 {
		c.ChecksPerS = round3(float64(c.TacticChecks) / c.SearchS)
	}
	if m := c.Model; m != nil {
		m.ModelS, m.ProposeS, m.CheckerS = round3(m.ModelS), round3(m.ProposeS), round3(m.CheckerS)
		if m.CheckerS > 0 {
			m.ChecksPerCheckerS = round3(float64(m.searchChecks) / m.CheckerS)
		}
		if m.PromptTokens > 0 {
			m.CacheHitRate = round3(float64(m.CachedTokens) / float64(m.PromptTokens))
		}
	}
}

// round3 rounds to the millisecond (sums of float seconds print cleanly).
func round3(v float64) float64 {
	const m = 1000
	if v < 0 {
		return -round3(-v)
	}
	return float64(int64(v*m+0.5)) / m
}

// FailureReason is why an attempt has no proof, for the histogram: its
// status with the cause of an error or how the search ended.
func FailureReason(r Result) string {
	switch r.Status {
	case string(prover.StatusFailed):
		switch {
		case len(r.Proof) > 0:
			return "failed: proof refused by the final check"
		case r.SearchEnd != "":
			return "failed: " + r.SearchEnd
		}
		return "failed"
	case string(prover.StatusError):
		if r.Cause != "" {
			return "error: " + r.Cause
		}
		return "error"
	}
	return r.Status
}

// addCount adds one to name in counts.
func addCount(counts []Count, name string) []Count {
	for i := range counts {
		if counts[i].Name == name {
			counts[i].Count++
			return counts
		}
	}
	return append(counts, Count{Name: name, Count: 1})
}

// sortCounts orders by count, descending, then name; never nil.
func sortCounts(counts []Count) []Count {
	if counts == nil {
		return []Count{}
	}
	sort.SliceStable(counts, func(i, j int) bool {
		if counts[i].Count != counts[j].Count {
			return counts[i].Count > counts[j].Count
		}
		return counts[i].Name < counts[j].Name
	})
	return counts
}

// TacticHead is a tactic's first word: "nlinarith [sq_nonneg x]" and
// "nlinarith." are both nlinarith.
func TacticHead(tactic string) string {
	f := strings.FieldsFunc(strings.TrimSpace(tactic), func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '[' || r == '(' || r == ';' || r == ','
	})
	if len(f) == 0 {
		return ""
	}
	return strings.TrimRight(f[0], ".")
}

// tacticCounts counts the last tactic of each proof and the heads of all
// their steps.
func tacticCounts(proofs [][]string) (closers, heads []Count) {
	for _, p := range proofs {
		if len(p) == 0 {
			continue
		}
		closers = addCount(closers, strings.TrimSpace(p[len(p)-1]))
		for _, t := range p {
			heads = addCount(heads, TacticHead(t))
		}
	}
	return sortCounts(closers), sortCounts(heads)
}
