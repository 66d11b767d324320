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
	rep := &Report{Inputs: inputs}
	sysIdx := map[string]int{}
	var systems []string
	for _, r := range results {
		s := SystemOf(r)
		if _, ok := sysIdx[s]; !ok {
			sysIdx[s] = len(systems)
			systems = append(systems, s)
		}
	}
	sort.Strings(systems)
	for i, s := range systems {
		sysIdx[s] = i
	}
	type pkey struct{ split, name string }
	byProblem := map[pkey][][]Result{} // problem -> system -> attempts
	var problems []pkey
	for _, r := range results {
		k := pkey{r.Split, r.Name}
		if _, ok := byProblem[k]; !ok {
			byProblem[k] = make([][]Result, len(systems))
			problems = append(problems, k)
		}
		i := sysIdx[SystemOf(r)]
		byProblem[k][i] = append(byProblem[k][i], r)
	}
	sort.Slice(problems, func(i, j int) bool {
		if problems[i].split != problems[j].split {
			return problems[i].split < problems[j].split
		}
		return problems[i].name < problems[j].name
	})
	stats := make([]SystemStats, len(systems))
	cats := make([]map[string]*CategoryStats, len(systems))
	for i, s := range systems {
		b, p, _ := strings.Cut(s, "/")
		stats[i] = SystemStats{System: s, Backend: b, Proposer: p, ByStatus: map[string]int{}}
		cats[i] = map[string]*CategoryStats{}
	}
	minAttempts := make([]int, len(systems))
	passSum := make([][]float64, len(systems))
	for _, pk := range problems {
		row := ProblemRow{Split: pk.split, Name: pk.name, Category: Category(pk.name)}
		for i, atts := range byProblem[pk] {
			cell := Cell{System: systems[i]}
			if len(atts) == 0 {
				row.Cells = append(row.Cells, cell)
				continue
			}
			sort.Slice(atts, func(a, b int) bool { return atts[a].Attempt < atts[b].Attempt })
			best := atts[0]
			proved := 0
			bestWall, bestExp := math.Inf(1), math.MaxInt
			for _, a := range atts {
				st := &stats[i]
				st.ByStatus[a.Status]++
				rep.MaxWallS = math.Max(rep.MaxWallS, a.WallS)
				rep.MaxExpansions = max(rep.MaxExpansions, a.Expansions)
				if Better(a, best) {
					best = a
				}
				if a.Status == string(prover.StatusProved) {
					proved++
					bestWall = math.Min(bestWall, a.WallS)
					bestExp = min(bestExp, a.Expansions)
				}
			}
			cell.Status, cell.Attempts, cell.Proved, cell.Attempt = best.Status, len(atts), proved, best.Attempt
			cell.WallS, cell.Expansions, cell.Error = best.WallS, best.Expansions, best.Error
			if best.Status == string(prover.StatusProved) {
				cell.Proof, cell.FileText = best.Proof, best.FileText
			}
			if traceDir != "" {
				tf, err := ReadTrace(traceDir, best.Key())
				if err != nil {
					return nil, err
				}
				if tf != nil {
					cell.Tree = BuildTree(tf.Trace, tf.Proof)
				}
			}
			row.Cells = append(row.Cells, cell)
			st := &stats[i]
			st.Problems++
			st.Attempts = max(st.Attempts, len(atts))
			if minAttempts[i] == 0 || len(atts) < minAttempts[i] {
				minAttempts[i] = len(atts)
			}
			c := cats[i][row.Category]
			if c == nil {
				c = &CategoryStats{Category: row.Category}
				cats[i][row.Category] = c
			}
			c.Total++
			if proved > 0 {
				st.Solved++
				c.Solved++
				st.ByWall = append(st.ByWall, bestWall)
				st.ByExpansions = append(st.ByExpansions, bestExp)
			}
			if passSum[i] == nil {
				passSum[i] = make([]float64, 0)
			}
			for k := 1; k <= len(atts); k++ {
				if len(passSum[i]) < k {
					passSum[i] = append(passSum[i], 0)
				}
				passSum[i][k-1] += PassK(len(atts), proved, k)
			}
		}
		rep.Problems = append(rep.Problems, row)
	}
	for i := range stats {
		st := &stats[i]
		st.Rate = ratio(st.Solved, st.Problems)
		st.Lo, st.Hi = Wilson(st.Solved, st.Problems)
		for _, name := range append(append([]string{}, Categories...), "other") {
			if c := cats[i][name]; c != nil {
				c.Lo, c.Hi = Wilson(c.Solved, c.Total)
				st.Categories = append(st.Categories, *c)
			}
		}
		if st.Attempts > 1 {
			for k := 1; k <= minAttempts[i]; k++ {
				st.PassAtK = append(st.PassAtK, PassAtK{K: k, Value: passSum[i][k-1] / float64(st.Problems)})
			}
		}
		sort.Float64s(st.ByWall)
		sort.Ints(st.ByExpansions)
		if st.ByWall == nil {
			st.ByWall, st.ByExpansions = []float64{}, []int{}
		}
	}
	rep.Systems = stats
	if len(systems) > 1 {
		cr := &Cross{Systems: systems, OnlyBy: map[string]int{}}
		for _, row := range rep.Problems {
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
		rep.Cross = cr
	}
	if rep.Problems == nil {
		rep.Problems = []ProblemRow{}
	}
	return rep, nil
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
