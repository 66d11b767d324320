package benchmarks

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Result is one line of a results file: the verdict on one theorem.
type Result struct {
	Name         string   `json:"name"`
	Split        string   `json:"split"`
	Backend      string   `json:"backend"`
	Proposer     string   `json:"proposer"`
	Attempt      int      `json:"attempt"` // 0-based; several attempts give pass@k
	Status       string   `json:"status"`  // proved|failed|timeout|error|interrupted
	Proof        []string `json:"proof"`
	FileText     string   `json:"file_text"` // the complete file that was verified
	Axioms       []string `json:"axioms"`
	Expansions   int      `json:"expansions"`
	TacticChecks int      `json:"tactic_checks"`
	// WallS is the whole attempt; QueueS the wait for a checker slot;
	// SetupS process start and load; SearchS the search (what the theorem
	// budget counts); VerifyS the final check. Seconds.
	WallS   float64 `json:"wall_s"`
	QueueS  float64 `json:"queue_s"`
	SetupS  float64 `json:"setup_s"`
	SearchS float64 `json:"search_s"`
	VerifyS float64 `json:"verify_s"`
	Error   string  `json:"error"`
	// Cause names what made an error line an error (prover.Cause*
	// constants: model, model-unavailable, backend-crashed, load, ...).
	Cause     string `json:"cause,omitempty"`
	Category  string `json:"category"`
	SearchEnd string `json:"search_end,omitempty"`
	Rejected  int    `json:"rejected,omitempty"`
	// Statement is the theorem as stated, so that merge can tell two
	// copies of the benchmark apart.
	Statement string `json:"statement,omitempty"`
	// ModelCost is what the attempt's proposals cost at the model runtime
	// (LLM proposers; nil otherwise): the report's cost accounting.
	ModelCost *ModelCost `json:"model_cost,omitempty"`
	// Mode is the proof mode (prover.ModeStep, ModeWholeProof,
	// ModeSketch), part of the system's identity; empty in lines written
	// before modes existed, which are step-wise.
	Mode string `json:"mode,omitempty"`
	// Samples are the complete files the whole-proof and sketch modes had
	// judged, in order (first sample, repairs), with their cost.
	Samples []Sample `json:"samples,omitempty"`
}

// Sample is prover.SampleRecord as a result line carries it.
type Sample struct {
	Round    int     `json:"round"`
	Verified bool    `json:"verified"`
	Rejected string  `json:"rejected,omitempty"`
	Holes    int     `json:"holes,omitempty"`
	Closed   int     `json:"closed,omitempty"`
	ModelS   float64 `json:"model_s"`
	SearchS  float64 `json:"search_s,omitempty"`
	VerifyS  float64 `json:"verify_s"`
	Chars    int     `json:"chars"`
	Message  string  `json:"message,omitempty"`
}

// Samples converts a mode's sample records.
func Samples(recs []prover.SampleRecord) []Sample {
	var out []Sample
	for _, r := range recs {
		out = append(out, Sample{Round: r.Round, Verified: r.Verified, Rejected: r.Rejected, Holes: r.Holes, Closed: r.Closed,
			ModelS: seconds(r.Model), SearchS: seconds(r.Search), VerifyS: seconds(r.Verify), Chars: r.Chars, Message: clipMessage(r.Message, 500)})
	}
	return out
}

func clipMessage(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

// ModeOf is a line's proof mode (step for lines without one).
func ModeOf(r Result) string {
	if r.Mode == "" {
		return prover.ModeStep
	}
	return r.Mode
}

// ModelCost is model.Cost as a result line carries it: the same fields and
// JSON names, so that benchmarks.ModelCost(meter.Cost()) converts one.
type ModelCost struct {
	Proposals        int64         `json:"proposals"`
	Requests         int64         `json:"requests"`
	Retries          int64         `json:"retries"`
	Failures         int64         `json:"failures"`
	Throttled        int64         `json:"throttled"`
	PromptTokens     int64         `json:"prompt_tokens"`
	CompletionTokens int64         `json:"completion_tokens"`
	CachedTokens     int64         `json:"cached_tokens"`
	Samples          int64         `json:"samples"`
	NoLogprobs       int64         `json:"no_logprobs"`
	ModelTime        time.Duration `json:"model_ns"`
	QueueTime        time.Duration `json:"queue_ns"`
	ProposeTime      time.Duration `json:"propose_ns"`
}

// Final reports whether the line is a verdict on the theorem (proved,
// failed, timeout): --resume runs the others (error, interrupted) again.
func (r Result) Final() bool { return prover.Status(r.Status).Final() }

// seconds is d in seconds, to the millisecond.
func seconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}

// NewResult turns an agent's outcome into a result line.
func NewResult(thm prover.Theorem, proposer string, o prover.Outcome) Result {
	r := Result{
		Name: thm.Name, Split: thm.Split, Backend: thm.Backend, Proposer: proposer,
		Status: string(o.Status), Proof: o.Proof, FileText: o.FileText, Axioms: o.Axioms,
		Expansions: o.Expansions, TacticChecks: o.TacticChecks,
		WallS: seconds(o.Wall), QueueS: seconds(o.Queue), SetupS: seconds(o.Setup),
		SearchS: seconds(o.Search), VerifyS: seconds(o.Verify),
		Error: o.Message(), Cause: o.Cause(), Category: Category(thm.Name), SearchEnd: string(o.SearchEnd), Rejected: o.Rejected,
		Statement: thm.Statement,
	}
	if r.Proof == nil {
		r.Proof = []string{}
	}
	if r.Axioms == nil {
		r.Axioms = []string{}
	}
	if o.Status != prover.StatusProved {
		// Only verified proofs are reported as proofs; a proof the final
		// check refused is kept (as failed) for study.
		r.FileText = ""
		if !o.RejectedByFinalCheck() {
			r.Proof = []string{}
		}
	}
	return r
}

// Sink appends result lines to a file, each one flushed to disk (fsync)
// as it is written, so an interrupted run loses nothing it had finished.
type Sink struct {
	mu   sync.Mutex
	w    io.Writer
	sync func() error // nil when the writer cannot be synced
}

// NewSink writes result lines to w (stdout, or a non-regular --out).
func NewSink(w io.Writer) *Sink { return &Sink{w: w} }

// Write appends one JSON line, with one write call.
func (s *Sink) Write(r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("writing results: %w", err)
	}
	if s.sync != nil {
		if err := s.sync(); err != nil {
			return fmt.Errorf("syncing results: %w", err)
		}
	}
	return nil
}

// Summary counts verdicts, overall and per category.
type Summary struct {
	Total      int              `json:"total"`
	Solved     int              `json:"solved"`
	ByStatus   map[string]int   `json:"by_status"`
	ByCategory map[string]Tally `json:"by_category"`
	WallS      float64          `json:"wall_s"`
}

// Tally is solved/total for one category.
type Tally struct {
	Solved int `json:"solved"`
	Total  int `json:"total"`
}

// Summarize counts results.
func Summarize(results []Result, wall time.Duration) Summary {
	s := Summary{ByStatus: map[string]int{}, ByCategory: map[string]Tally{}, WallS: wall.Seconds()}
	for _, r := range results {
		s.Total++
		s.ByStatus[r.Status]++
		t := s.ByCategory[Category(r.Name)]
		t.Total++
		if r.Status == string(prover.StatusProved) {
			s.Solved++
			t.Solved++
		}
		s.ByCategory[Category(r.Name)] = t
	}
	return s
}

// WriteText prints the summary for people.
func (s Summary) WriteText(w io.Writer) {
	pct := 0.0
	if s.Total > 0 {
		pct = 100 * float64(s.Solved) / float64(s.Total)
	}
	fmt.Fprintf(w, "solved %d/%d (%.1f%%) in %s\n", s.Solved, s.Total, pct, time.Duration(s.WallS*float64(time.Second)).Round(time.Second))
	var statuses []string
	for k := range s.ByStatus {
		statuses = append(statuses, k)
	}
	sort.Strings(statuses)
	for _, k := range statuses {
		fmt.Fprintf(w, "  %-12s %d\n", k, s.ByStatus[k])
	}
	fmt.Fprintln(w, "by category:")
	for _, c := range append(append([]string{}, Categories...), "other") {
		t, ok := s.ByCategory[c]
		if !ok {
			continue
		}
		fmt.Fprintf(w, "  %-20s %3d/%d\n", c, t.Solved, t.Total)
	}
}
