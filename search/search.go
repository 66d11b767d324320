// Package search is the best-first proof search of Llemma's formal2formal
// evaluation, with ReProver's tree hygiene. It does no I/O: it drives an Env
// that proposes candidate tactics for a state and applies one tactic to a
// state.
//
// The frontier is ordered by the cumulative cost of the path to a node,
// cost = sum over the path of -score, where a tactic's score is its mean
// token log-probability (Llemma parity). States with the same key (the
// canonical goal text) share one node, so the search graph is a DAG. A node
// whose children have all failed fails, and failure propagates to parents;
// a tactic that timed out is not a failure (it might have worked with more
// time, or on a less loaded machine), so a node whose tactics all failed
// or timed out, some timed out, is exhausted instead: nothing is left to
// try there, but nothing was refuted either, and that propagates the same
// way. The search stops at the first proof, when the root fails or is
// exhausted, or when a budget runs out. The proof returned is the shortest
// one in the graph.
//
// # Speculation
//
// An Env that is also a Prefetcher is asked for the candidates of the next
// Config.Speculate frontier nodes while the current node's are checked:
// after a node is popped, the search peeks (without popping) at the nodes
// that would be expanded next if the expansion added nothing, and calls
// Prefetch for those not yet asked for; a prefetched node that has left
// that window (the expansion added cheaper nodes, or it was expanded, or
// its path changed) is dropped with Drop. Which node is expanded next, and
// with which candidates, does not depend on speculation: only when the
// proposals are requested does, so a search with Speculate off and one with
// it on expand the same nodes in the same order and find the same proof,
// provided the Env's Candidates answer the same for the same state and
// path whether prefetched or not.
package search

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// StateID is the Env's handle on a state.
type StateID uint64

// State is what the search knows of a proof state.
type State struct {
	ID  StateID
	Key string // canonical goal text: equal keys are the same state
}

// StepStatus is the outcome of one tactic.
type StepStatus uint8

const (
	Failed StepStatus = iota // the tactic failed, timed out or was refused
	Open                     // the tactic produced a state with goals
	Proved                   // the tactic closed every goal
)

// Step is the Env's answer to Apply.
type Step struct {
	Status StepStatus
	State  State  // for Open
	Detail string // short reason for a failure, kept in the trace
	// Kind refines Failed: KindFailed, KindTimeout or KindRejected (""
	// means KindFailed). It is the edge's outcome in the trace, and a
	// KindTimeout step does not count as a failure (see the package
	// documentation).
	Kind string
}

// The kinds of a Failed step.
const (
	KindFailed   = "failed"   // the prover refuted the tactic
	KindTimeout  = "timeout"  // the tactic ran out of time: not a refutation
	KindRejected = "rejected" // the tactic policy refused it; nothing was run
)

// Candidate is one proposed tactic.
type Candidate struct {
	Tactic  string
	Score   float64       // mean token log-probability, <= 0
	Timeout time.Duration // per-candidate deadline override (0: the config's)
}

// Env is what the search runs on: a proposer and a checker for one theorem.
type Env interface {
	// Candidates proposes tactics for s, best first or in any order; the
	// search tries them by descending Score.
	Candidates(ctx context.Context, s State, path []string) ([]Candidate, error)
	// Apply runs tactic on s within timeout. A failing tactic is a Step
	// with Status Failed; an error stops the search.
	Apply(ctx context.Context, s State, tactic string, timeout time.Duration) (Step, error)
}

// Prefetcher is an optional extension of Env: an Env that can propose in
// the background. The search calls it from the goroutine that calls
// Candidates and Apply, never concurrently with them.
type Prefetcher interface {
	// Prefetch starts proposing for states (paths[i] is the path of
	// states[i], as Candidates would get it) and returns at once; a later
	// Candidates for one of them with the same path may use the result.
	// The work ends with ctx.
	Prefetch(ctx context.Context, states []State, paths [][]string)
	// Drop abandons the prefetch of s: the search will not use it (soon).
	//
	// At any time at most Config.Speculate prefetches are outstanding
	// besides the one of the node being expanded, each for a distinct
	// state, and each one ends in exactly one Drop or one Candidates for
	// its state and path.
	Drop(s State)
}

// DefaultSpeculate is Config.Speculate when zero.
const DefaultSpeculate = 1

// NoSpeculation turns speculation off (Config.Speculate).
const NoSpeculation = -1

// ErrBudget is the context cause a caller gives when the theorem's budget
// is spent in a unit the search does not see (checker CPU time, say): like
// a deadline, it ends the search with OutcomeTimeout.
var ErrBudget = errors.New("search: theorem budget spent")

// Config is the search budget.
type Config struct {
	Expansions    int           // nodes expanded at most (Llemma: 100)
	Samples       int           // candidates tried per expansion at most (Llemma: 32)
	TacticTimeout time.Duration // per tactic (10 s)
	// Speculate is how many frontier nodes beyond the one being expanded
	// have their candidates requested ahead, from an Env that is a
	// Prefetcher (see the package documentation): 0 means
	// DefaultSpeculate, a negative value (NoSpeculation) none. It changes
	// when proposals are requested, never what is expanded.
	Speculate int
	// LlemmaParity mimics Llemma's proofsearch.py for comparisons: states
	// are not merged (a tree, not a DAG), a new state is dropped only when
	// an equal state was already expanded, and failure is not propagated,
	// so the search never ends early with a failed root.
	LlemmaParity bool
	// Deadline for the whole theorem is the ctx's deadline.
}

// DefaultConfig is Llemma's evaluation budget.
func DefaultConfig() Config {
	return Config{Expansions: 100, Samples: 32, TacticTimeout: 10 * time.Second}
}

// Outcome says how a search ended.
type Outcome string

const (
	OutcomeProved     Outcome = "proved"
	OutcomeRootFailed Outcome = "root-failed" // every path from the root failed
	OutcomeExhausted  Outcome = "exhausted"   // nothing left to try: the frontier emptied, or every path failed or timed out
	OutcomeBudget     Outcome = "budget"      // the expansion budget ran out
	OutcomeTimeout    Outcome = "timeout"     // the theorem's wall time ran out
	OutcomeCanceled   Outcome = "canceled"    // the caller canceled the run
	OutcomeError      Outcome = "error"       // the Env failed
)

// Result is what Run returns.
type Result struct {
	Outcome      Outcome
	Proof        []string // the shortest proof found, for OutcomeProved
	Expansions   int
	TacticChecks int
	Err          error // for OutcomeError
	Trace        Trace
	// Speculation counts the nodes whose candidates were requested ahead
	// (Prefetch), those expanded afterwards with the same path (used), and
	// those dropped (their proposals wasted): Prefetched = Used + Dropped.
	Speculation Speculation
}

// Speculation counts a search's prefetches.
type Speculation struct {
	Prefetched int `json:"prefetched"`
	Used       int `json:"used"`
	Dropped    int `json:"dropped"`
}

// ErrNoRoot is returned by Run for a root with an empty key.
var ErrNoRoot = errors.New("search: root state has no key")

type status uint8

const (
	open status = iota
	proved
	failed    // every child failed: refuted
	exhausted // every child failed or is exhausted, and a tactic timed out: not refuted
)

type edge struct {
	tactic string
	to     int // node index; -1 for a step that proved the theorem
}

type node struct {
	state    State
	key      string
	cost     float64
	depth    int
	path     []string // tactics from the root along the cheapest known path
	status   status
	expanded bool
	pending  int  // children not yet known to be failed, once expanded
	timedOut bool // a tactic on this node timed out
	children []edge
	parents  []int
	heapIdx  int
	seq      int // creation order: ties in the frontier go to the older node
}

type searcher struct {
	env   Env
	cfg   Config
	nodes []*node
	byKey map[string]int
	// visited holds the keys of expanded states (Llemma parity).
	visited map[string]bool
	queue   frontier
	trace   *Trace
	now     func() time.Time
	start   time.Time
	// pf is the Env as a Prefetcher (nil: no speculation); spec maps each
	// node with a prefetch outstanding to the path it was requested with.
	pf   Prefetcher
	spec map[*node][]string
	sc   Speculation
}

// Run searches for a proof of root. The ctx's deadline is the theorem's
// wall-time budget.
func Run(ctx context.Context, env Env, root State, cfg Config) Result {
	return run(ctx, env, root, cfg, time.Now)
}

func run(ctx context.Context, env Env, root State, cfg Config, now func() time.Time) Result {
	def := DefaultConfig()
	if cfg.Expansions <= 0 {
		cfg.Expansions = def.Expansions
	}
	if cfg.Samples <= 0 {
		cfg.Samples = def.Samples
	}
	if cfg.TacticTimeout <= 0 {
		cfg.TacticTimeout = def.TacticTimeout
	}
	if cfg.Speculate == 0 {
		cfg.Speculate = DefaultSpeculate
	}
	s := &searcher{env: env, cfg: cfg, byKey: map[string]int{}, visited: map[string]bool{}, now: now, start: now()}
	if pf, ok := env.(Prefetcher); ok && cfg.Speculate > 0 {
		s.pf, s.spec = pf, map[*node][]string{}
	}
	s.trace = &Trace{}
	res := Result{Trace: *s.trace}
	if root.Key == "" {
		res.Outcome, res.Err = OutcomeError, ErrNoRoot
		return res
	}
	s.add(root, 0, nil, -1)
	res = s.loop(ctx)
	s.dropAll()
	res.Speculation = s.sc
	res.Trace = *s.trace
	res.Trace.Elapsed = now().Sub(s.start)
	return res
}

func (s *searcher) loop(ctx context.Context) Result {
	var res Result
	for {
		if o, done := s.stopped(ctx); done {
			res.Outcome = o
			break
		}
		if s.nodes[0].status == failed {
			res.Outcome = OutcomeRootFailed
			break
		}
		if s.nodes[0].status == exhausted {
			res.Outcome = OutcomeExhausted
			break
		}
		if res.Expansions >= s.cfg.Expansions {
			res.Outcome = OutcomeBudget
			break
		}
		if s.queue.Len() == 0 {
			res.Outcome = OutcomeExhausted
			break
		}
		n := heap.Pop(&s.queue).(*node)
		if n.status != open || n.expanded {
			continue
		}
		res.Expansions++
		s.speculate(ctx, n, res.Expansions < s.cfg.Expansions)
		found, checks, err := s.expand(ctx, n)
		res.TacticChecks += checks
		if err != nil {
			if o, done := s.stopped(ctx); done {
				res.Outcome = o
			} else {
				res.Outcome, res.Err = OutcomeError, err
			}
			break
		}
		if found {
			res.Outcome = OutcomeProved
			res.Proof = s.shortestProof()
			break
		}
	}
	return res
}

// stopped reports whether ctx ended, and as which outcome.
func (s *searcher) stopped(ctx context.Context) (Outcome, bool) {
	if ctx.Err() == nil {
		return "", false
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(context.Cause(ctx), ErrBudget) {
		return OutcomeTimeout, true
	}
	return OutcomeCanceled, true
}

// speculate is called with n just popped for expansion: n's own prefetch
// (if any) is used now, prefetches that left the window of the next
// Speculate nodes are dropped, and the window's new nodes are prefetched
// (when more expansions are allowed after n).
func (s *searcher) speculate(ctx context.Context, n *node, more bool) {
	if s.pf == nil {
		return
	}
	if p, ok := s.spec[n]; ok {
		delete(s.spec, n)
		if slices.Equal(p, n.path) {
			s.sc.Used++
		} else {
			s.drop(n)
		}
	}
	for m := range s.spec {
		if m.state.ID == n.state.ID {
			// Another node of n's state (Llemma parity keeps equal states
			// apart): the Env knows prefetches by state, and is about to be
			// asked for n's.
			delete(s.spec, m)
			s.drop(m)
		}
	}
	var window []*node
	if more {
		window = s.peek(s.cfg.Speculate)
	}
	in := make(map[*node]bool, len(window))
	for _, w := range window {
		in[w] = true
	}
	for m, p := range s.spec {
		if !in[m] || !slices.Equal(p, m.path) {
			delete(s.spec, m)
			s.drop(m)
		}
	}
	ids := map[StateID]bool{n.state.ID: true}
	for m := range s.spec {
		ids[m.state.ID] = true
	}
	var states []State
	var paths [][]string
	for _, w := range window {
		if _, ok := s.spec[w]; ok || ids[w.state.ID] {
			// Asked for already, or the same state is, for another node
			// (Llemma parity keeps equal states apart): the Env knows a
			// prefetch by its state.
			continue
		}
		ids[w.state.ID] = true
		s.spec[w] = w.path
		s.sc.Prefetched++
		states = append(states, w.state)
		paths = append(paths, w.path)
	}
	if len(states) > 0 {
		s.pf.Prefetch(ctx, states, paths)
	}
}

// drop counts a prefetch as wasted and tells the Env.
func (s *searcher) drop(n *node) {
	s.sc.Dropped++
	s.pf.Drop(n.state)
}

// dropAll drops every prefetch still outstanding (the search is over).
func (s *searcher) dropAll() {
	for m := range s.spec {
		delete(s.spec, m)
		s.drop(m)
	}
}

// peek returns the next k nodes the frontier would yield (open and not
// expanded), best first, without popping them: a best-first walk of the
// heap from its root, which visits O(k) entries besides stale ones.
func (s *searcher) peek(k int) []*node {
	if k <= 0 || len(s.queue) == 0 {
		return nil
	}
	var out []*node
	w := &heapWalk{f: s.queue, idx: []int{0}}
	for w.Len() > 0 && len(out) < k {
		i := heap.Pop(w).(int)
		if n := s.queue[i]; n.status == open && !n.expanded {
			out = append(out, n)
		}
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < len(s.queue) {
				heap.Push(w, c)
			}
		}
	}
	return out
}

// heapWalk is a heap of indices into a frontier, in the frontier's order.
type heapWalk struct {
	f   frontier
	idx []int
}

func (w *heapWalk) Len() int           { return len(w.idx) }
func (w *heapWalk) Less(i, j int) bool { return w.f.Less(w.idx[i], w.idx[j]) }
func (w *heapWalk) Swap(i, j int)      { w.idx[i], w.idx[j] = w.idx[j], w.idx[i] }
func (w *heapWalk) Push(x any)         { w.idx = append(w.idx, x.(int)) }
func (w *heapWalk) Pop() any {
	i := w.idx[len(w.idx)-1]
	w.idx = w.idx[:len(w.idx)-1]
	return i
}

// expand proposes candidates for n and applies them in descending score
// order until one proves the theorem. It reports whether a proof was found.
func (s *searcher) expand(ctx context.Context, n *node) (bool, int, error) {
	idx := n.seq
	t0 := s.now()
	cands, err := s.env.Candidates(ctx, n.state, n.path)
	if err != nil {
		return false, 0, fmt.Errorf("proposing tactics: %w", err)
	}
	cands = dedupe(cands)
	sortCandidates(cands)
	if len(cands) > s.cfg.Samples {
		cands = cands[:s.cfg.Samples]
	}
	n.expanded = true
	s.visited[n.key] = true
	tn := &s.trace.Nodes[idx]
	tn.Expanded = true
	tn.ExpandedAt = t0.Sub(s.start)
	tn.ProposeTime = s.now().Sub(t0)
	checks := 0
	for _, c := range cands {
		if ctx.Err() != nil {
			break
		}
		timeout := s.cfg.TacticTimeout
		if c.Timeout > 0 && c.Timeout < timeout {
			timeout = c.Timeout
		}
		ts := s.now()
		step, err := s.env.Apply(ctx, n.state, c.Tactic, timeout)
		checks++
		te := TraceEdge{From: idx, To: -1, Tactic: c.Tactic, Score: c.Score, Elapsed: s.now().Sub(ts)}
		if err != nil {
			te.Outcome = "error"
			te.Detail = err.Error()
			s.trace.Edges = append(s.trace.Edges, te)
			return false, checks, err
		}
		switch step.Status {
		case Proved:
			te.Outcome = "proved"
			s.trace.Edges = append(s.trace.Edges, te)
			n.children = append(n.children, edge{tactic: c.Tactic, to: -1})
			s.markProved(idx)
			return true, checks, nil
		case Open:
			if s.cfg.LlemmaParity && s.visited[step.State.Key] {
				te.Outcome = "visited"
				s.trace.Edges = append(s.trace.Edges, te)
				continue
			}
			child, isNew := s.add(step.State, n.cost-c.Score, append(append([]string(nil), n.path...), c.Tactic), idx)
			te.To = child
			te.Outcome = "open"
			if !isNew {
				te.Outcome = "merged"
			}
			if child == idx {
				te.Outcome = "no-progress"
				s.trace.Edges = append(s.trace.Edges, te)
				continue
			}
			n.children = append(n.children, edge{tactic: c.Tactic, to: child})
			s.nodes[child].parents = append(s.nodes[child].parents, idx)
		default:
			te.Outcome = step.Kind
			if te.Outcome == "" {
				te.Outcome = KindFailed
			}
			if te.Outcome == KindTimeout {
				n.timedOut = true
			}
			te.Detail = step.Detail
		}
		s.trace.Edges = append(s.trace.Edges, te)
	}
	if ctx.Err() != nil || s.cfg.LlemmaParity {
		// Cut short by the ctx: the failures seen may be the ctx's doing and
		// the untried candidates might have worked, so judge nothing. Llemma
		// never marks a node failed.
		return false, checks, nil
	}
	s.recompute(idx)
	return false, checks, nil
}

// add returns the node for st, creating it (and queueing it) when new. A
// known node reached more cheaply gets the cheaper path and priority.
func (s *searcher) add(st State, cost float64, path []string, parent int) (int, bool) {
	if i, ok := s.byKey[st.Key]; ok && !s.cfg.LlemmaParity {
		n := s.nodes[i]
		if cost < n.cost && !n.expanded && n.status == open && !onPath(s, parent, i) {
			n.cost, n.path, n.depth = cost, path, len(path)
			if n.heapIdx >= 0 {
				heap.Fix(&s.queue, n.heapIdx)
			}
			tn := &s.trace.Nodes[i]
			tn.Cost, tn.Parent, tn.Depth = cost, parent, len(path)
		}
		return i, false
	}
	i := len(s.nodes)
	n := &node{state: st, key: st.Key, cost: cost, depth: len(path), path: path, heapIdx: -1, seq: i}
	s.nodes = append(s.nodes, n)
	s.byKey[st.Key] = i
	s.trace.Nodes = append(s.trace.Nodes, TraceNode{ID: i, Key: st.Key, Depth: len(path), Cost: cost, Parent: parent, CreatedAt: s.now().Sub(s.start)})
	heap.Push(&s.queue, n)
	return i, true
}

// onPath reports whether node i is an ancestor of (or equal to) from along
// the recorded cheapest paths: such a node must keep its path.
func onPath(s *searcher, from, i int) bool {
	for from >= 0 {
		if from == i {
			return true
		}
		from = s.trace.Nodes[from].Parent
	}
	return false
}

// recompute sets node i's status from its children after expansion, and
// propagates a change to its parents: a node with no child left open
// fails when every child failed and no tactic on it timed out, and is
// exhausted otherwise.
func (s *searcher) recompute(i int) {
	work := []int{i}
	for len(work) > 0 {
		j := work[len(work)-1]
		work = work[:len(work)-1]
		n := s.nodes[j]
		if n.status != open || !n.expanded {
			continue
		}
		alive, unrefuted := false, n.timedOut
		for _, e := range n.children {
			if e.to < 0 {
				alive = true
				break
			}
			switch s.nodes[e.to].status {
			case failed:
			case exhausted:
				unrefuted = true
			default:
				alive = true
			}
			if alive {
				break
			}
		}
		if alive {
			continue
		}
		if unrefuted {
			n.status = exhausted
			s.trace.Nodes[j].Status = "exhausted"
		} else {
			n.status = failed
			s.trace.Nodes[j].Status = "failed"
		}
		work = append(work, n.parents...)
	}
}

func (s *searcher) markProved(i int) {
	work := []int{i}
	for len(work) > 0 {
		j := work[len(work)-1]
		work = work[:len(work)-1]
		n := s.nodes[j]
		if n.status == proved {
			continue
		}
		n.status = proved
		s.trace.Nodes[j].Status = "proved"
		work = append(work, n.parents...)
	}
}

// shortestProof follows, from the root, edges of least distance to a step
// that closed the proof (breadth-first over the known graph).
func (s *searcher) shortestProof() []string {
	// dist[i] = fewest tactics from node i to a proof, by relaxation.
	inf := math.MaxInt32
	dist := make([]int, len(s.nodes))
	next := make([]edge, len(s.nodes))
	for i := range dist {
		dist[i] = inf
	}
	for changed := true; changed; {
		changed = false
		for i, n := range s.nodes {
			for _, e := range n.children {
				d := inf
				if e.to < 0 {
					d = 1
				} else if dist[e.to] < inf {
					d = dist[e.to] + 1
				}
				if d < dist[i] {
					dist[i], next[i], changed = d, e, true
				}
			}
		}
	}
	var proof []string
	for i := 0; dist[i] < inf; {
		e := next[i]
		proof = append(proof, e.tactic)
		if e.to < 0 {
			return proof
		}
		i = e.to
	}
	return nil
}

// dedupe keeps the first copy of each tactic text, with the best score.
func dedupe(cands []Candidate) []Candidate {
	seen := make(map[string]int, len(cands))
	out := cands[:0:0]
	for _, c := range cands {
		if j, ok := seen[c.Tactic]; ok {
			if c.Score > out[j].Score {
				out[j].Score = c.Score
			}
			continue
		}
		seen[c.Tactic] = len(out)
		out = append(out, c)
	}
	return out
}

// sortCandidates orders by descending score, keeping the proposer's order
// among equals (stable insertion sort: candidate lists are short).
func sortCandidates(c []Candidate) {
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j].Score > c[j-1].Score; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
}

// frontier is a min-heap of open nodes on cost, ties to the shallower node,
// then to the older one.
type frontier []*node

func (f frontier) Len() int { return len(f) }
func (f frontier) Less(i, j int) bool {
	if f[i].cost != f[j].cost {
		return f[i].cost < f[j].cost
	}
	if f[i].depth != f[j].depth {
		return f[i].depth < f[j].depth
	}
	return f[i].seq < f[j].seq
}
func (f frontier) Swap(i, j int) {
	f[i], f[j] = f[j], f[i]
	f[i].heapIdx = i
	f[j].heapIdx = j
}
func (f *frontier) Push(x any) {
	n := x.(*node)
	n.heapIdx = len(*f)
	*f = append(*f, n)
}
func (f *frontier) Pop() any {
	old := *f
	n := old[len(old)-1]
	old[len(old)-1] = nil
	*f = old[:len(old)-1]
	n.heapIdx = -1
	return n
}
