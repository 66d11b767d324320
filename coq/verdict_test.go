package coq

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// closersProposer proposes the same closers on every state, as the
// reference's GPU-free baseline did (coqtop.md §6), plus, for the theorems
// in loops, a tactic that never ends.
type closersProposer struct {
	closers []prover.Candidate
	loops   map[string]bool
}

func (p closersProposer) Name() string { return "closers" }

func (p closersProposer) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	c := p.closers
	if p.loops[req.Theorem.Name] {
		c = append(c[:len(c):len(c)], prover.Candidate{Tactic: "let rec f x := f x in f 0.", Score: -0.05, Timeout: 300 * time.Millisecond})
	}
	return c, ctx.Err()
}

// verdictProposer: closers of the baseline, each with a 1 s budget; on
// these theorems some succeed or fail after a few hundred milliseconds of
// CPU (imo_1961_p1's nra, mathd_algebra_151's vm_compute), which on a
// machine loaded 8x (16 coqtops on 2 cores) is seconds of wall time. The
// costs are far from the budgets, so that verdicts do not hang on noise.
var verdictProposer = closersProposer{
	closers: []prover.Candidate{
		{Tactic: "intros; lia.", Score: -0.1, Timeout: time.Second},
		{Tactic: "intros; nia.", Score: -0.2, Timeout: time.Second},
		{Tactic: "intros; lra.", Score: -0.3, Timeout: time.Second},
		{Tactic: "intros; nra.", Score: -0.4, Timeout: time.Second},
		{Tactic: "reflexivity.", Score: -0.45, Timeout: time.Second},
		{Tactic: "intros; field.", Score: -0.5, Timeout: time.Second},
		{Tactic: "intros; vm_compute; reflexivity.", Score: -0.7, Timeout: time.Second},
		{Tactic: "intros; simpl; lia.", Score: -0.8, Timeout: time.Second},
		{Tactic: "intros.", Score: -0.9, Timeout: time.Second},
	},
	loops: map[string]bool{"mathd_numbertheory_303": true, "amc12a_2017_p7": true},
}

// verdictTheorems are quick miniF2F valid theorems: three proofs, two
// searches whose every tactic fails, two where a tactic runs out of its
// budget at every node (exhausted, not failed), one proof found after the
// loop.
var verdictTheorems = []string{
	"imo_1961_p1", "amc12b_2020_p5", "mathd_numbertheory_149",
	"mathd_algebra_151", "amc12a_2016_p2",
	"mathd_numbertheory_303", "amc12a_2017_p7",
	"mathd_algebra_185",
}

// minif2fDir is the Coq miniF2F directory: the project's data/ (make data)
// or the workspace's shared copy.
func minif2fDir(t *testing.T) string {
	t.Helper()
	for _, d := range []string{filepath.Join("..", "data", "minif2f", "coq"), filepath.Join("..", "..", "shared", "data", "minif2f", "coq")} {
		if _, err := os.Stat(filepath.Join(d, "valid")); err == nil {
			return d
		}
	}
	t.Skip("skipping: no miniF2F Coq data (make data)")
	return ""
}

type verdict struct {
	Status prover.Status
	End    search.Outcome
}

// proveAll runs the agent on every theorem, conc at a time, on a backend
// with workers coqtops, and returns the verdicts by name.
func proveAll(t *testing.T, thms []prover.Theorem, conc, workers int) (map[string]verdict, time.Duration) {
	t.Helper()
	b := New(Config{Workers: workers})
	defer b.Close()
	a := &prover.Agent{
		Backend:        b,
		Proposer:       verdictProposer,
		Search:         search.Config{Expansions: 3, Samples: 16, TacticTimeout: time.Second},
		TheoremTimeout: 5 * time.Minute, // never the limit here: verdicts come from the search
	}
	start := time.Now()
	out := make(map[string]verdict, len(thms))
	var mu sync.Mutex
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	for _, thm := range thms {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			o := a.Prove(context.Background(), thm)
			mu.Lock()
			defer mu.Unlock()
			v := verdict{o.Status, o.SearchEnd}
			if prev, ok := out[thm.Name]; ok && prev != v {
				t.Errorf("%s: two runs in one batch disagree: %v and %v", thm.Name, prev, v)
			}
			out[thm.Name] = v
		})
	}
	wg.Wait()
	st := b.Stats()
	t.Logf("concurrency %d, %d coqtops: %v; %d started, %d interrupted, %d killed, %d restarts, %v of checker CPU",
		conc, workers, time.Since(start).Round(time.Millisecond), st.Started, st.Interrupted, st.Killed, st.Restarts, st.CheckerCPU.Round(time.Millisecond))
	return out, time.Since(start)
}

// The same theorems give the same verdicts alone and with 16 searches on
// 16 coqtops (8 per core on this 2-core machine, each check ~8x slower in
// wall time): tactic budgets are CPU time, and a tactic timeout is not a
// failure.
func TestVerdictsIndependentOfLoad(t *testing.T) {
	needCoq(t)
	dir := minif2fDir(t)
	var thms []prover.Theorem
	for _, name := range verdictTheorems {
		src, err := os.ReadFile(filepath.Join(dir, "valid", name+".v"))
		if err != nil {
			t.Fatal(err)
		}
		thm, err := ParseTheorem(name, string(src))
		if err != nil {
			t.Fatal(err)
		}
		thms = append(thms, thm)
	}
	alone, _ := proveAll(t, thms, 1, 1)
	// Each theorem twice, so that 16 searches run at once.
	loaded, _ := proveAll(t, append(append([]prover.Theorem(nil), thms...), thms...), 16, 16)
	var lines []string
	for _, thm := range thms {
		a, l := alone[thm.Name], loaded[thm.Name]
		lines = append(lines, fmt.Sprintf("%-24s alone %-8s %-12s loaded %-8s %s", thm.Name, a.Status, a.End, l.Status, l.End))
		if a != l {
			t.Errorf("%s: alone %v, under load %v", thm.Name, a, l)
		}
	}
	t.Logf("verdicts:\n%s", strings.Join(lines, "\n"))
}
