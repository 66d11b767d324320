package benchmarks

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// Report is what `llemma-prove report` renders: per system (backend +
// proposer) the solved rate with its 95% Wilson interval, categories,
// pass@k, solved-vs-budget curves, the cross-system table and every
// problem's detail.
type Report struct {
	Inputs   []string      `json:"inputs"`
	Systems  []SystemStats `json:"systems"`
	Cross    *Cross        `json:"cross,omitempty"`
	Problems []ProblemRow  `json:"problems"`
	// MaxWallS and MaxExpansions are the plots' x ranges.
	MaxWallS      float64 `json:"max_wall_s"`
	MaxExpansions int     `json:"max_expansions"`
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

// SystemOf names a result's system.
func SystemOf(r Result) string { return r.Backend + "/" + r.Proposer }

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

// BuildReport computes the report over results (several files, several
// systems). traceDir, when set, is a --trace directory whose trees the
// HTML report draws.
func BuildReport(inputs []string, results []Result, traceDir string) (*Report, error) {
	results = Dedup(results, func(r Result) [5]string {
		return [5]string{r.Backend, r.Proposer, r.Split, r.Name, fmt.Sprint(r.Attempt)}
	})
	b := newReportBuilder(inputs, results)
	for _, pk := range b.problems {
		row, err := b.row(pk, traceDir)
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
}

func newReportBuilder(inputs []string, results []Result) *reportBuilder {
	b := &reportBuilder{rep: &Report{Inputs: inputs}, byProblem: map[problemKey][][]Result{}}
	sysIdx := map[string]int{}
	for _, r := range results {
		if s := SystemOf(r); !contains(b.systems, s) {
			b.systems = append(b.systems, s)
		}
	}
	sort.Strings(b.systems)
	for i, s := range b.systems {
		sysIdx[s] = i
	}
	for _, r := range results {
		k := problemKey{r.Split, r.Name}
		if _, ok := b.byProblem[k]; !ok {
			b.byProblem[k] = make([][]Result, len(b.systems))
			b.problems = append(b.problems, k)
		}
		i := sysIdx[SystemOf(r)]
		b.byProblem[k][i] = append(b.byProblem[k][i], r)
	}
	sort.Slice(b.problems, func(i, j int) bool {
		if b.problems[i].split != b.problems[j].split {
			return b.problems[i].split < b.problems[j].split
		}
		return b.problems[i].name < b.problems[j].name
	})
	n := len(b.systems)
	b.stats, b.cats, b.minAttempts, b.passSum = make([]SystemStats, n), make([]map[string]*CategoryStats, n), make([]int, n), make([][]float64, n)
	for i, s := range b.systems {
		be, p, _ := strings.Cut(s, "/")
		b.stats[i] = SystemStats{System: s, Backend: be, Proposer: p, ByStatus: map[string]int{}}
		b.cats[i] = map[string]*CategoryStats{}
	}
	return b
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// row is one problem's line: a cell per system.
func (b *reportBuilder) row(pk problemKey, traceDir string) (ProblemRow, error) {
	row := ProblemRow{Split: pk.split, Name: pk.name, Category: Category(pk.name)}
	for i, atts := range b.byProblem[pk] {
		cell := Cell{System: b.systems[i]}
		if len(atts) > 0 {
			var err error
			if cell, err = b.cell(i, row.Category, atts, traceDir); err != nil {
				return row, err
			}
		}
		row.Cells = append(row.Cells, cell)
	}
	return row, nil
}

// cell summarises system i's attempts at one problem (its best attempt,
// its search tree) and counts them into the system's statistics.
func (b *reportBuilder) cell(i int, category string, atts []Result, traceDir string) (Cell, error) {
	sort.Slice(atts, func(x, y int) bool { return atts[x].Attempt < atts[y].Attempt })
	st := &b.stats[i]
	best, proved := atts[0], 0
	bestWall, bestExp := math.Inf(1), math.MaxInt
	for _, a := range atts {
		st.ByStatus[a.Status]++
		b.rep.MaxWallS = math.Max(b.rep.MaxWallS, a.WallS)
		b.rep.MaxExpansions = max(b.rep.MaxExpansions, a.Expansions)
		if Better(a, best) {
			best = a
		}
		if a.Status == string(prover.StatusProved) {
			proved++
			bestWall = math.Min(bestWall, a.WallS)
			bestExp = min(bestExp, a.Expansions)
		}
	}
	cell := Cell{System: b.systems[i], Status: best.Status, Attempts: len(atts), Proved: proved, Attempt: best.Attempt,
		WallS: best.WallS, Expansions: best.Expansions, Error: best.Error}
	if best.Status == string(prover.StatusProved) {
		cell.Proof, cell.FileText = best.Proof, best.FileText
	}
	if traceDir != "" {
		tf, err := ReadTrace(traceDir, best.Key())
		if err != nil {
			return cell, err
		}
		if tf != nil {
			cell.Tree = BuildTree(tf.Trace, tf.Proof)
		}
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

// finish computes each system's rates, intervals, categories and pass@k.
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

// proofEdges returns the indices in tr.Edges of the proof's steps.
func proofEdges(tr *search.Trace, proof []string) []int {
	var out []int
	cur := 0
	for i, tac := range proof {
		next := -2
		for j, e := range tr.Edges {
			if e.From != cur || e.Tactic != tac {
				continue
			}
			if i == len(proof)-1 && e.Outcome == "proved" {
				out = append(out, j)
				return out
			}
			if e.To >= 0 && (e.Outcome == "open" || e.Outcome == "merged") {
				out = append(out, j)
				next = e.To
				break
			}
		}
		if next < 0 {
			return out
		}
		cur = next
	}
	return out
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

// WriteText prints the report for people.
func (rep *Report) WriteText(w io.Writer) {
	for _, s := range rep.Systems {
		fmt.Fprintf(w, "%s: solved %d/%d = %.1f%% (95%% CI %.1f-%.1f%%)\n", s.System, s.Solved, s.Problems, 100*s.Rate, 100*s.Lo, 100*s.Hi)
		fmt.Fprintf(w, "  attempts: %s\n", statusLine(s.ByStatus))
		for _, c := range s.Categories {
			fmt.Fprintf(w, "  %-20s %3d/%-3d (95%% CI %.1f-%.1f%%)\n", c.Category, c.Solved, c.Total, 100*c.Lo, 100*c.Hi)
		}
		for _, p := range s.PassAtK {
			fmt.Fprintf(w, "  pass@%d %.1f%%\n", p.K, 100*p.Value)
		}
	}
	if c := rep.Cross; c != nil {
		fmt.Fprintf(w, "cross-system: proved by all %d, by none %d\n", c.ByAll, c.ByNone)
		for _, s := range c.Systems {
			fmt.Fprintf(w, "  only %s: %d\n", s, c.OnlyBy[s])
		}
	}
}

func statusLine(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteMarkdown writes the report as Markdown.
func (rep *Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# miniF2F report\n\nInputs: %s\n\n## Summary\n\n", strings.Join(mdCode(rep.Inputs), ", "))
	fmt.Fprintln(w, "| system | solved | rate | 95% CI | attempts |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, s := range rep.Systems {
		fmt.Fprintf(w, "| %s | %d/%d | %.1f%% | %.1f-%.1f%% | %s |\n", s.System, s.Solved, s.Problems, 100*s.Rate, 100*s.Lo, 100*s.Hi, statusLine(s.ByStatus))
	}
	fmt.Fprintln(w, "\n## By category")
	for _, s := range rep.Systems {
		fmt.Fprintf(w, "\n### %s\n\n| category | solved | 95%% CI |\n|---|---|---|\n", s.System)
		for _, c := range s.Categories {
			fmt.Fprintf(w, "| %s | %d/%d | %.1f-%.1f%% |\n", c.Category, c.Solved, c.Total, 100*c.Lo, 100*c.Hi)
		}
		if len(s.PassAtK) > 0 {
			fmt.Fprintln(w, "\n| k | pass@k |\n|---|---|")
			for _, p := range s.PassAtK {
				fmt.Fprintf(w, "| %d | %.1f%% |\n", p.K, 100*p.Value)
			}
		}
	}
	if c := rep.Cross; c != nil {
		fmt.Fprintf(w, "\n## Cross-system\n\nProved by all: %d; by none: %d.", c.ByAll, c.ByNone)
		for _, s := range c.Systems {
			fmt.Fprintf(w, " Only %s: %d.", s, c.OnlyBy[s])
		}
		fmt.Fprintf(w, "\n\n| problem | %s |\n|---%s|\n", strings.Join(c.Systems, " | "), strings.Repeat("|---", len(c.Systems)))
		for _, r := range c.Rows {
			marks := make([]string, len(r.Proved))
			for i, p := range r.Proved {
				marks[i] = map[bool]string{true: "proved", false: "-"}[p]
			}
			fmt.Fprintf(w, "| %s/%s | %s |\n", r.Split, r.Name, strings.Join(marks, " | "))
		}
	}
	fmt.Fprintln(w, "\n## Problems")
	var sys []string
	for _, s := range rep.Systems {
		sys = append(sys, s.System)
	}
	fmt.Fprintf(w, "\n| problem | category | %s |\n|---|---%s|\n", strings.Join(sys, " | "), strings.Repeat("|---", len(sys)))
	for _, p := range rep.Problems {
		cells := make([]string, len(p.Cells))
		for i, c := range p.Cells {
			cells[i] = "n/a"
			if c.Status != "" {
				cells[i] = fmt.Sprintf("%s (%.1fs, %d exp.)", c.Status, c.WallS, c.Expansions)
			}
		}
		fmt.Fprintf(w, "| %s/%s | %s | %s |\n", p.Split, p.Name, p.Category, strings.Join(cells, " | "))
	}
	fmt.Fprintln(w, "\n## Verified proofs")
	for _, p := range rep.Problems {
		for _, c := range p.Cells {
			if c.FileText == "" {
				continue
			}
			fmt.Fprintf(w, "\n### %s/%s (%s)\n\n```\n%s\n```\n", p.Split, p.Name, c.System, strings.TrimRight(c.FileText, "\n"))
		}
	}
}

func mdCode(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "`" + s + "`"
	}
	return out
}
