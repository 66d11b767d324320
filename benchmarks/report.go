package benchmarks

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// Report is what `llemma-prove report` renders: per system the solved rate
// with its 95% Wilson interval, its run config, cost, failure reasons and
// closing tactics, categories, pass@k, solved-vs-budget curves, the
// cross-system table, warnings about unfair comparisons, and every
// problem's detail.
type Report struct {
	Inputs   []string      `json:"inputs"`
	Systems  []SystemStats `json:"systems"`
	Warnings []string      `json:"warnings,omitempty"`
	Cross    *Cross        `json:"cross,omitempty"`
	Problems []ProblemRow  `json:"problems"`
	// MaxWallS and MaxExpansions are the plots' x ranges.
	MaxWallS      float64 `json:"max_wall_s"`
	MaxExpansions int     `json:"max_expansions"`

	results map[string][]Result // by system: the deduplicated lines
	groups  map[string]*sysGroup
	traces  *Traces
}

// SystemStats summarises one system. A problem counts as solved when any
// of its attempts proved it.
type SystemStats struct {
	System     string          `json:"system"`
	Backend    string          `json:"backend"`
	Proposer   string          `json:"proposer"`
	Problems   int             `json:"problems"`
	Solved     int             `json:"solved"`
	Rate       float64         `json:"rate"`
	Lo         float64         `json:"ci95_lo"`
	Hi         float64         `json:"ci95_hi"`
	Attempts   int             `json:"attempts"` // most attempts of a problem
	ByStatus   map[string]int  `json:"by_status"`
	Categories []CategoryStats `json:"categories"`
	PassAtK    []PassAtK       `json:"pass_at_k,omitempty"`
	// ByWall and ByExpansions are the solved problems' cost, ascending:
	// the solved-vs-budget curves.
	ByWall       []float64 `json:"solved_wall_s"`
	ByExpansions []int     `json:"solved_expansions"`
	// Config is the system's run config (nil when no input has a sidecar).
	Config *SystemConfig `json:"config,omitempty"`
	Cost   CostStats     `json:"cost"`
	// Failures counts the attempts without a proof by reason.
	Failures []Count `json:"failures"`
	// Closers counts the last tactic of each problem's proof; Tactics the
	// heads (first word) of every step of those proofs.
	Closers []Count `json:"closing_tactics"`
	Tactics []Count `json:"tactic_heads"`
}

// CategoryStats is solved/total in one problem source.
type CategoryStats struct {
	Category string  `json:"category"`
	Solved   int     `json:"solved"`
	Total    int     `json:"total"`
	Lo       float64 `json:"ci95_lo"`
	Hi       float64 `json:"ci95_hi"`
}

// PassAtK is the unbiased pass@k estimate (Chen et al. 2021).
type PassAtK struct {
	K     int     `json:"k"`
	Value float64 `json:"value"`
}

// Count is a name and how often it occurs.
type Count struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
}

// Cross compares systems problem by problem.
type Cross struct {
	Systems []string       `json:"systems"`
	Rows    []CrossRow     `json:"rows"` // problems some system proved
	OnlyBy  map[string]int `json:"only_by"`
	ByAll   int            `json:"by_all"`
	ByNone  int            `json:"by_none"`
}

// CrossRow says which systems proved one problem.
type CrossRow struct {
	Split  string `json:"split"`
	Name   string `json:"name"`
	Proved []bool `json:"proved"`
}

// ProblemRow is one problem and what every system did on it.
type ProblemRow struct {
	Split    string `json:"split"`
	Name     string `json:"name"`
	Category string `json:"category"`
	Cells    []Cell `json:"cells"` // one per system, in Systems order
}

// Cell is one system's best attempt at one problem.
type Cell struct {
	System     string    `json:"system"`
	Status     string    `json:"status"` // "" when the system did not run it
	Attempts   int       `json:"attempts"`
	Proved     int       `json:"proved_attempts"`
	Attempt    int       `json:"attempt"`
	WallS      float64   `json:"wall_s"`
	Expansions int       `json:"expansions"`
	Proof      []string  `json:"proof,omitempty"`
	FileText   string    `json:"file_text,omitempty"`
	Error      string    `json:"error,omitempty"`
	Tree       *TreeNode `json:"-"`
}

// TreeNode is a search-trace node as the HTML report draws it.
type TreeNode struct {
	ID       int
	State    string
	Cost     float64
	Expanded bool
	OnProof  bool
	Edges    []TreeEdge
}

// TreeEdge is one tactic tried on a node; Child is set for the edge that
// first reached a new state.
type TreeEdge struct {
	Tactic  string
	Score   float64
	Outcome string
	Detail  string
	MS      float64
	OnProof bool
	Child   *TreeNode
}

// ReportInput is one results file and its sidecar (nil when it has none).
type ReportInput struct {
	Path    string
	Results []Result
	Meta    *Meta
}

// SystemOf is a result's system before run configs are compared: backend
// and proposer, and the proof mode when it is not step-wise (so that
// step, whole-proof and sketch rows of one proposer stay apart).
func SystemOf(r Result) string {
	if m := ModeOf(r); m != prover.ModeStep {
		return r.Backend + "/" + r.Proposer + "/" + m
	}
	return r.Backend + "/" + r.Proposer
}

// Wilson is the 95% Wilson score interval of k successes in n trials.
func Wilson(k, n int) (lo, hi float64) {
	if n == 0 {
		return 0, 0
	}
	const z = 1.959963984540054
	p := float64(k) / float64(n)
	nf := float64(n)
	den := 1 + z*z/nf
	center := (p + z*z/(2*nf)) / den
	half := z * math.Sqrt(p*(1-p)/nf+z*z/(4*nf*nf)) / den
	return math.Max(0, center-half), math.Min(1, center+half)
}

// PassK is the unbiased estimate 1 - C(n-c, k)/C(n, k) for one problem
// with c correct of n attempts.
func PassK(n, c, k int) float64 {
	if n-c < k {
		return 1
	}
	v := 1.0
	for i := n - c + 1; i <= n; i++ {
		v *= 1 - float64(k)/float64(i)
	}
	return 1 - v
}

// BuildReport computes the report over inputs (several files, several
// systems). Results of one backend and proposer whose sidecars hold
// different verdict configs are different systems. traces, when set, is
// the --trace directory whose trees the HTML report draws.
func BuildReport(inputs []ReportInput, traces *Traces) (*Report, error) {
	b := newReportBuilder(inputs, traces)
	for _, pk := range b.problems {
		row, err := b.row(pk)
		if err != nil {
			return nil, err
		}
		b.rep.Problems = append(b.rep.Problems, row)
	}
	b.finish()
	if len(b.systems) > 1 {
		b.rep.Cross = crossOf(b.systems, b.rep.Problems)
	}
	if b.rep.Problems == nil {
		b.rep.Problems = []ProblemRow{}
	}
	b.rep.Warnings = append(b.rep.Warnings, compareSystems(b.rep.Systems, b.rep.Problems)...)
	return b.rep, nil
}

// problemKey names a problem across systems.
type problemKey struct{ split, name string }

// reportBuilder accumulates a Report: the results grouped by problem and
// system, and per system the counts the statistics are computed from.
type reportBuilder struct {
	rep         *Report
	systems     []string                    // sorted
	byProblem   map[problemKey][][]Result   // problem -> system -> attempts
	problems    []problemKey                // sorted by split, name
	stats       []SystemStats               // per system
	cats        []map[string]*CategoryStats // per system
	minAttempts []int                       // per system: the fewest attempts at a problem
	passSum     [][]float64                 // per system: sum over problems of pass@k, k = 1..
	proofs      [][][]string                // per system: the proof of each solved problem
}

func newReportBuilder(inputs []ReportInput, traces *Traces) *reportBuilder {
	b := &reportBuilder{rep: &Report{traces: traces}, byProblem: map[problemKey][][]Result{}}
	for _, in := range inputs {
		b.rep.Inputs = append(b.rep.Inputs, in.Path)
	}
	b.rep.groups, b.rep.results = groupSystems(inputs)
	for s := range b.rep.groups {
		b.systems = append(b.systems, s)
	}
	sort.Strings(b.systems)
	sysIdx := map[string]int{}
	for i, s := range b.systems {
		sysIdx[s] = i
	}
	for _, s := range b.systems {
		for _, r := range b.rep.results[s] {
			k := problemKey{r.Split, r.Name}
			if _, ok := b.byProblem[k]; !ok {
				b.byProblem[k] = make([][]Result, len(b.systems))
				b.problems = append(b.problems, k)
			}
			b.byProblem[k][sysIdx[s]] = append(b.byProblem[k][sysIdx[s]], r)
		}
	}
	sort.Slice(b.problems, func(i, j int) bool {
		if b.problems[i].split != b.problems[j].split {
			return b.problems[i].split < b.problems[j].split
		}
		return b.problems[i].name < b.problems[j].name
	})
	n := len(b.systems)
	b.stats, b.cats, b.minAttempts = make([]SystemStats, n), make([]map[string]*CategoryStats, n), make([]int, n)
	b.passSum, b.proofs = make([][]float64, n), make([][][]string, n)
	for i, s := range b.systems {
		g := b.rep.groups[s]
		b.stats[i] = SystemStats{System: s, Backend: g.backend, Proposer: g.proposer, ByStatus: map[string]int{}, Config: g.config()}
		b.cats[i] = map[string]*CategoryStats{}
	}
	return b
}

// row is one problem's line: a cell per system.
func (b *reportBuilder) row(pk problemKey) (ProblemRow, error) {
	row := ProblemRow{Split: pk.split, Name: pk.name, Category: Category(pk.name)}
	for i, atts := range b.byProblem[pk] {
		cell := Cell{System: b.systems[i]}
		if len(atts) > 0 {
			var err error
			if cell, err = b.cell(i, row.Category, atts); err != nil {
				return row, err
			}
		}
		row.Cells = append(row.Cells, cell)
	}
	return row, nil
}

// cell summarises system i's attempts at one problem (its best attempt,
// its search tree) and counts them into the system's statistics.
func (b *reportBuilder) cell(i int, category string, atts []Result) (Cell, error) {
	sort.Slice(atts, func(x, y int) bool { return atts[x].Attempt < atts[y].Attempt })
	st := &b.stats[i]
	best, proved := atts[0], 0
	bestWall, bestExp := math.Inf(1), math.MaxInt
	for _, a := range atts {
		st.ByStatus[a.Status]++
		st.Cost.add(a)
		b.rep.MaxWallS = math.Max(b.rep.MaxWallS, a.WallS)
		b.rep.MaxExpansions = max(b.rep.MaxExpansions, a.Expansions)
		if Better(a, best) {
			best = a
		}
		if a.Status == string(prover.StatusProved) {
			proved++
			bestWall = math.Min(bestWall, a.WallS)
			bestExp = min(bestExp, a.Expansions)
		} else {
			st.Failures = addCount(st.Failures, FailureReason(a))
		}
	}
	cell := Cell{System: b.systems[i], Status: best.Status, Attempts: len(atts), Proved: proved, Attempt: best.Attempt,
		WallS: best.WallS, Expansions: best.Expansions, Error: best.Error}
	if best.Status == string(prover.StatusProved) {
		cell.Proof, cell.FileText = best.Proof, best.FileText
		b.proofs[i] = append(b.proofs[i], best.Proof)
	}
	tf, err := b.rep.findTrace(b.systems[i], best)
	if err != nil {
		return cell, err
	}
	if tf != nil {
		cell.Tree = BuildTree(tf.Trace, tf.Proof)
	}
	st.Problems++
	st.Attempts = max(st.Attempts, len(atts))
	if b.minAttempts[i] == 0 || len(atts) < b.minAttempts[i] {
		b.minAttempts[i] = len(atts)
	}
	c := b.cats[i][category]
	if c == nil {
		c = &CategoryStats{Category: category}
		b.cats[i][category] = c
	}
	c.Total++
	if proved > 0 {
		st.Solved++
		c.Solved++
		st.ByWall = append(st.ByWall, bestWall)
		st.ByExpansions = append(st.ByExpansions, bestExp)
	}
	for k := 1; k <= len(atts); k++ {
		if len(b.passSum[i]) < k {
			b.passSum[i] = append(b.passSum[i], 0)
		}
		b.passSum[i][k-1] += PassK(len(atts), proved, k)
	}
	return cell, nil
}

// findTrace is the tree of r (of system sys) in the report's --trace
// directory, nil when there is none or it cannot be told apart from
// another run's.
func (rep *Report) findTrace(sys string, r Result) (*TraceFile, error) {
	if rep.traces == nil {
		return nil, nil
	}
	g := rep.groups[sys]
	legacyOK := true // a format-1 tree: only when no other system shares the backend
	for s, o := range rep.groups {
		if s != sys && o.backend == g.backend {
			legacyOK = false
		}
	}
	tf, err := rep.traces.Find(r, g.runIDs, legacyOK)
	if errors.Is(err, ErrAmbiguousTrace) {
		rep.warnOnce(fmt.Sprintf("%s: some trees in %s cannot be told apart (several runs of the system, no run id in the results' sidecar); they are not drawn", sys, rep.traces.Root))
		return nil, nil
	}
	return tf, err
}

func (rep *Report) warnOnce(w string) {
	for _, x := range rep.Warnings {
		if x == w {
			return
		}
	}
	rep.Warnings = append(rep.Warnings, w)
}

// finish computes each system's rates, intervals, categories, pass@k and
// tactic counts.
func (b *reportBuilder) finish() {
	for i := range b.stats {
		st := &b.stats[i]
		st.Rate = ratio(st.Solved, st.Problems)
		st.Lo, st.Hi = Wilson(st.Solved, st.Problems)
		for _, name := range append(append([]string{}, Categories...), "other") {
			if c := b.cats[i][name]; c != nil {
				c.Lo, c.Hi = Wilson(c.Solved, c.Total)
				st.Categories = append(st.Categories, *c)
			}
		}
		if st.Attempts > 1 {
			for k := 1; k <= b.minAttempts[i]; k++ {
				st.PassAtK = append(st.PassAtK, PassAtK{K: k, Value: b.passSum[i][k-1] / float64(st.Problems)})
			}
		}
		sort.Float64s(st.ByWall)
		sort.Ints(st.ByExpansions)
		if st.ByWall == nil {
			st.ByWall, st.ByExpansions = []float64{}, []int{}
		}
		st.Closers, st.Tactics = tacticCounts(b.proofs[i])
		st.Failures = sortCounts(st.Failures)
		st.Cost.finish()
	}
	b.rep.Systems = b.stats
}

// crossOf compares the systems problem by problem.
func crossOf(systems []string, rows []ProblemRow) *Cross {
	cr := &Cross{Systems: systems, OnlyBy: map[string]int{}}
	for _, row := range rows {
		proved := make([]bool, len(systems))
		n, only := 0, ""
		for i, c := range row.Cells {
			if c.Status == string(prover.StatusProved) {
				proved[i] = true
				n++
				only = systems[i]
			}
		}
		switch n {
		case 0:
			cr.ByNone++
			continue
		case len(systems):
			cr.ByAll++
		case 1:
			cr.OnlyBy[only]++
		}
		cr.Rows = append(cr.Rows, CrossRow{Split: row.Split, Name: row.Name, Proved: proved})
	}
	return cr
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// BuildTree turns a trace into a tree: each state under the edge that
// first reached it, the proof's path marked.
func BuildTree(tr *search.Trace, proof []string) *TreeNode {
	if tr == nil || len(tr.Nodes) == 0 {
		return nil
	}
	onProof := map[int]bool{}
	nodeOnProof := map[int]bool{0: len(proof) > 0}
	for _, j := range proofEdges(tr, proof) {
		onProof[j] = true
		if tr.Edges[j].To >= 0 {
			nodeOnProof[tr.Edges[j].To] = true
		}
	}
	from := map[int][]int{}
	for j, e := range tr.Edges {
		from[e.From] = append(from[e.From], j)
	}
	placed := map[int]bool{0: true}
	var build func(id int) *TreeNode
	build = func(id int) *TreeNode {
		n := tr.Nodes[id]
		t := &TreeNode{ID: id, State: stateText(n.Key), Cost: n.Cost, Expanded: n.Expanded, OnProof: nodeOnProof[id]}
		for _, j := range from[id] {
			e := tr.Edges[j]
			te := TreeEdge{Tactic: e.Tactic, Score: e.Score, Outcome: e.Outcome, Detail: e.Detail,
				MS: float64(e.Elapsed.Microseconds()) / 1000, OnProof: onProof[j]}
			if e.To >= 0 && e.To < len(tr.Nodes) && !placed[e.To] {
				placed[e.To] = true
				te.Child = build(e.To)
			}
			t.Edges = append(t.Edges, te)
		}
		return t
	}
	return build(0)
}
