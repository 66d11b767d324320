package benchmarks

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
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
	WallS        float64  `json:"wall_s"`
	Error        string   `json:"error"`
	Category     string   `json:"category"`
	SearchEnd    string   `json:"search_end,omitempty"`
	Rejected     int      `json:"rejected,omitempty"`
	// Statement is the theorem as stated, so that merge can tell two
	// copies of the benchmark apart.
	Statement string `json:"statement,omitempty"`
}

// Final reports whether the status is a verdict (anything but interrupted):
// --resume skips theorems that have one.
func (r Result) Final() bool {
	return r.Status != "" && r.Status != string(prover.StatusInterrupted)
}

// NewResult turns an agent's outcome into a result line.
func NewResult(thm prover.Theorem, proposer string, o prover.Outcome) Result {
	r := Result{
		Name: thm.Name, Split: thm.Split, Backend: thm.Backend, Proposer: proposer,
		Status: string(o.Status), Proof: o.Proof, FileText: o.FileText, Axioms: o.Axioms,
		Expansions: o.Expansions, TacticChecks: o.TacticChecks,
		WallS: float64(o.Wall.Round(time.Millisecond)) / float64(time.Second),
		Error: o.Error, Category: Category(thm.Name), SearchEnd: string(o.SearchEnd), Rejected: o.Rejected,
		Statement: thm.Statement,
	}
	if r.Proof == nil {
		r.Proof = []string{}
	}
	if r.Axioms == nil {
		r.Axioms = []string{}
	}
	if o.Status != prover.StatusProved {
		// Only verified proofs are reported as proofs.
		r.FileText = ""
		if o.Status != prover.StatusFailed || !strings.Contains(o.Error, "final check") {
			r.Proof = []string{}
		}
	}
	return r
}

// Sink appends result lines to a file, each one flushed to disk (fsync)
// as it is written, so an interrupted run loses nothing it had finished.
type Sink struct {
	mu sync.Mutex
	f  *os.File
	w  io.Writer
}

// OpenSink opens path for appending (creating it), or writes to w when path
// is empty.
func OpenSink(path string, w io.Writer) (*Sink, error) {
	if path == "" {
		return &Sink{w: w}, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("--out %s: %w", path, err)
	}
	return &Sink{f: f, w: f}, nil
}

// Write appends one JSON line.
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
	if s.f != nil {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("syncing results: %w", err)
		}
	}
	return nil
}

// Close closes the file.
func (s *Sink) Close() error {
	if s.f != nil {
		return s.f.Close()
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
