package sim_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/model/sim"
	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

func TestMain(m *testing.M) {
	// The client reads these when no key is configured; the tests say
	// what key they mean.
	os.Unsetenv(model.EnvAPIKey)
	os.Unsetenv(model.EnvOpenAIAPIKey)
	os.Exit(m.Run())
}

// The workload of BenchmarkScheduler. The defaults are the issue's
// stand-in (0.25 s + 4 ms x requests in flight, batch 64) scaled down 10x
// in time, so that a run takes seconds; -args -sim.* changes them.
var (
	simBase      = flag.Duration("sim.base", 25*time.Millisecond, "simulated model: latency of a request alone")
	simPerReq    = flag.Duration("sim.per-request", 400*time.Microsecond, "simulated model: latency per request in the batch")
	simMaxBatch  = flag.Int("sim.max-batch", 64, "simulated model: best (and largest) batch")
	simCheck     = flag.Duration("sim.check", 2*time.Millisecond, "fake checker: CPU time of one tactic check")
	simCores     = flag.Int("sim.cores", 2, "fake checker: cores")
	simSamples   = flag.Int("sim.samples", 16, "samples per expansion")
	simExpand    = flag.Int("sim.expansions", 6, "expansions per theorem")
	simTheorems  = flag.Int("sim.theorems", 16, "theorems per run at least")
	simWaves     = flag.Int("sim.waves", 2, "theorems per run: at least waves x concurrency")
	simProofRate = flag.Float64("sim.p-proof", 0.02, "probability that a (state, tactic) check closes the goal")
	simOpenRate  = flag.Float64("sim.p-open", 0.35, "probability that a check leaves a new state")
	simInflight  = flag.Int("sim.inflight", 0, "client: in-flight limit per endpoint at the start (0: the default)")
	simMaxInfl   = flag.Int("sim.max-inflight", 0, "client: ceiling of the adaptive limit (0: the default; = -sim.inflight: fixed)")
)

// checker is a fake proof checker: each check holds one of a fixed number
// of virtual cores for a fixed CPU time, and its outcome is a hash of
// (theorem, state, tactic), the same at every concurrency. The CPU time is
// simulated, not burnt, so the benchmark does not compete with the client
// for the machine: a core sleeps off its accumulated time in whole
// milliseconds, and a timer's overshoot is credited to the next checks, so
// that the time the cores are held tracks checks x cost even for costs
// below a timer's resolution.
type checker struct {
	cores  chan int // free core numbers
	debt   []time.Duration
	cost   time.Duration
	checks atomic.Int64
}

func newChecker(cores int, cost time.Duration) *checker {
	c := &checker{cores: make(chan int, cores), debt: make([]time.Duration, cores), cost: cost}
	for i := range cores {
		c.cores <- i
	}
	return c
}

// hold holds a core for d of CPU time.
func (c *checker) hold(ctx context.Context, d time.Duration) (struct{}, error) {
	var core int
	select {
	case core = <-c.cores:
	case <-ctx.Done():
		return struct{}{}, ctx.Err()
	}
	c.debt[core] += d
	if c.debt[core] >= time.Millisecond {
		t0 := time.Now()
		t := time.NewTimer(c.debt[core])
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		c.debt[core] -= time.Since(t0)
	}
	c.cores <- core
	return struct{}{}, ctx.Err()
}

func (c *checker) apply(ctx context.Context, thm, state, tactic string) (search.Step, error) {
	if _, err := c.hold(ctx, c.cost); err != nil {
		return search.Step{}, err
	}
	c.checks.Add(1)
	h := fnv.New64a()
	fmt.Fprintf(h, "%s\x00%s\x00%s", thm, state, tactic)
	u := float64(h.Sum64()>>11) / (1 << 53)
	switch {
	case u < *simProofRate:
		return search.Step{Status: search.Proved}, nil
	case u < *simProofRate+*simOpenRate:
		key := state + "\n" + tactic
		return search.Step{Status: search.Open, State: search.State{Key: key}}, nil
	}
	return search.Step{Status: search.Failed, Kind: "failed"}, nil
}

// env is one theorem's search.Env, as prover.Agent builds it: the
// proposal for a node, then every candidate checked, one after another.
type env struct {
	thm string
	llm *model.LLM
	chk *checker
	n   int
}

func (e *env) Candidates(ctx context.Context, s search.State, path []string) ([]search.Candidate, error) {
	cs, err := e.llm.Propose(ctx, prover.ProposalRequest{Theorem: prover.Theorem{Name: e.thm}, State: prover.State{Text: s.Key}, Path: path, N: e.n})
	if err != nil {
		return nil, err
	}
	out := make([]search.Candidate, len(cs))
	for i, c := range cs {
		out[i] = search.Candidate{Tactic: c.Tactic, Score: c.Score}
	}
	return out, nil
}

func (e *env) Apply(ctx context.Context, s search.State, tactic string, _ time.Duration) (search.Step, error) {
	return e.chk.apply(ctx, e.thm, s.Key, tactic)
}

// runFigures is one run of the workload at concurrency conc.
type runFigures struct {
	theorems, proved int
	wall             time.Duration
	requests         int64
	checks           int64
	model            sim.Stats
	modelBound       time.Duration // requests x the model's time per request at its best batch
	cpuBound         time.Duration // checker CPU / cores
	ideal            time.Duration
	peakInFlight     int64
}

func (f runFigures) perMinute() float64  { return float64(f.theorems) / f.wall.Minutes() }
func (f runFigures) efficiency() float64 { return f.ideal.Seconds() / f.wall.Seconds() }

// modelUtil is the fraction of the model's capacity (at its best batch)
// that the run used.
func (f runFigures) modelUtil() float64 { return f.modelBound.Seconds() / f.wall.Seconds() }

func runWorkload(tb testing.TB, conc int) runFigures {
	cfg := sim.Config{Base: *simBase, PerRequest: *simPerReq, MaxBatch: *simMaxBatch, Model: "llemma-sim"}
	r, err := sim.Start(cfg, "")
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	seed := int64(1)
	llm, err := model.NewLLM(model.LLMConfig{URLs: []string{r.URL}, Model: "llemma-sim", Samples: *simSamples, Seed: &seed,
		Timeout: time.Minute, Limits: model.LimitConfig{Initial: *simInflight, Max: *simMaxInfl}})
	if err != nil {
		tb.Fatal(err)
	}
	chk := newChecker(*simCores, *simCheck)
	n := max(*simTheorems, *simWaves*conc)
	scfg := search.Config{Expansions: *simExpand, Samples: *simSamples, TacticTimeout: time.Minute, LlemmaParity: true}
	var proved atomic.Int64
	r.ResetStats()
	start := time.Now()
	g := new(errgroup.Group)
	g.SetLimit(conc)
	var mu sync.Mutex
	var firstErr error
	for i := range n {
		g.Go(func() error {
			thm := fmt.Sprintf("thm_%03d", i)
			e := &env{thm: thm, llm: llm, chk: chk, n: *simSamples}
			res := search.Run(context.Background(), e, search.State{ID: 1, Key: thm + " : ⊢ goal"}, scfg)
			if res.Outcome == search.OutcomeProved {
				proved.Add(1)
			}
			if res.Err != nil {
				mu.Lock()
				firstErr = res.Err
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	f := runFigures{theorems: n, proved: int(proved.Load()), wall: time.Since(start), model: r.Stats()}
	if firstErr != nil {
		tb.Fatal(firstErr)
	}
	f.requests, f.checks = llm.Cost().Requests, chk.checks.Load()
	f.modelBound = time.Duration(f.requests) * cfg.BestRequestTime(*simSamples)
	f.cpuBound = time.Duration(f.checks) * *simCheck / time.Duration(*simCores)
	f.ideal = max(f.modelBound, f.cpuBound)
	f.peakInFlight = llm.Stats().Endpoints[0].PeakInFlight
	return f
}

// BenchmarkScheduler measures how well the prover keeps a GPU-like runtime
// and the checker's cores busy: best-first search (Llemma parity) over
// many theorems at once against the simulator, with a fake checker of
// fixed CPU cost. Each sub-benchmark is one run of at least -sim.theorems
// theorems and reports
//
//	efficiency  ideal wall / actual wall, ideal = max(model requests x the
//	            model's time per request at its best batch, checker CPU /
//	            cores)
//	occupancy   the fraction of the wall the simulated model was busy
//	mean-batch  requests running while it was busy
//	model-util  model requests x time per request at the best batch / wall:
//	            the share of the model's capacity used
//	thm/min     theorems per minute
//	x-seq       thm/min over the sequential Llemma loop (concurrency 1),
//	            measured first in the same process
//
// Run it with: go test -run '^$' -bench Scheduler -benchtime 1x ./model/sim
func BenchmarkScheduler(b *testing.B) {
	base := runWorkload(b, 1)
	b.Logf("sequential Llemma loop: %d theorems in %v: %.1f thm/min, efficiency %.2f, model occupancy %.2f",
		base.theorems, base.wall.Round(time.Millisecond), base.perMinute(), base.efficiency(), base.model.Occupancy())
	for _, conc := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			var f runFigures
			for b.Loop() {
				f = runWorkload(b, conc)
			}
			b.ReportMetric(f.efficiency(), "efficiency")
			b.ReportMetric(f.model.Occupancy(), "occupancy")
			b.ReportMetric(f.model.MeanBatch(), "mean-batch")
			b.ReportMetric(f.perMinute(), "thm/min")
			b.ReportMetric(f.perMinute()/base.perMinute(), "x-seq")
			b.ReportMetric(f.modelUtil(), "model-util")
			b.ReportMetric(float64(f.peakInFlight), "peak-inflight")
			b.Logf("conc=%d: %d theorems (%d proved) in %v; %d model requests, %d checks; ideal %v (model-bound %v, cpu-bound %v)",
				conc, f.theorems, f.proved, f.wall.Round(time.Millisecond), f.requests, f.checks, f.ideal.Round(time.Millisecond),
				f.modelBound.Round(time.Millisecond), f.cpuBound.Round(time.Millisecond))
		})
	}
}

// TestWorkloadIsDeterministic: the same theorems cost the same model
// requests and checks at every concurrency, so runs compare.
func TestWorkloadIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the workload twice")
	}
	a, b := runWorkload(t, 1), runWorkload(t, 8)
	if a.theorems != b.theorems || a.requests != b.requests || a.checks != b.checks || a.proved != b.proved {
		t.Fatalf("concurrency changed the work: %+v vs %+v", a, b)
	}
	if e := a.efficiency(); e <= 0 || e > 1.05 || math.IsNaN(e) {
		t.Errorf("efficiency %v outside (0, 1]", e)
	}
}

// The agent path of BenchmarkScheduler: prover.Agent (speculation, parking,
// the run's checker slots) over a fake backend whose sessions check on the
// fake checker's cores and behave like coq's sessions where it costs: a
// session holds one of Workers processes from open to close, except while
// parked (prover.Parker), when another session may take it; a session
// whose process was taken reloads (-sim.reload of CPU) and, like any
// session moving to a state off its process's current path, replays the
// tactics in between (their check cost each). Tactics are metered
// (prover.CPUMeter): reloads and replays are not charged to the theorem.
var (
	simReload = flag.Duration("sim.reload", 6*time.Millisecond, "fake backend: CPU time of loading a theorem on a process")
	simPark   = flag.Bool("sim.park", true, "agent path: sessions park while waiting for the model")
	simSpec   = flag.Int("sim.speculate", 0, "agent path: search.Config.Speculate (0: the default, -1: none)")
	simProcs  = flag.Int("sim.procs", 0, "fake backend: processes alive at most, busy or parked (0: -sim.cores); the busy ones are -sim.cores at most")
	// A replay re-runs a tactic that succeeded; on real coqtop those cost
	// about half a mean check (failing decision procedures are the dear
	// ones): see model/GPU-ESTIMATE.md. 1 is the conservative model.
	simReplay = flag.Float64("sim.replay", 1, "fake backend: CPU time of replaying one tactic, as a fraction of -sim.check")
)

type fakeProc struct {
	owner  *fakeSession
	parked bool
}

// fakeBackend is a prover.Backend over the fake checker.
type fakeBackend struct {
	chk   *checker
	mu    sync.Mutex
	procs []*fakeProc
	order []*fakeProc // parked processes, least recently parked first
	// counters
	parks, taken, reloads, replays atomic.Int64
}

func newFakeBackend(chk *checker, workers int) *fakeBackend {
	b := &fakeBackend{chk: chk}
	for range workers {
		b.procs = append(b.procs, &fakeProc{})
	}
	return b
}

func (b *fakeBackend) Name() string                             { return "fake" }
func (b *fakeBackend) Policy() prover.Policy                    { return acceptAll{} }
func (b *fakeBackend) Close() error                             { return nil }
func (b *fakeBackend) Assemble(prover.Theorem, []string) string { return "" }
func (b *fakeBackend) Verify(context.Context, prover.VerifyRequest) (prover.Verification, error) {
	return prover.Verification{Verified: true}, nil
}

type acceptAll struct{}

func (acceptAll) Check(t string) (string, error) { return t, nil }

// acquire gives s a process: a free one, else the least recently parked
// one (taken from its session). With the agent's slots no larger than the
// processes, there is always one.
func (b *fakeBackend) acquire(s *fakeSession) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.procs {
		if p.owner == nil {
			p.owner, s.proc = s, p
			return nil
		}
	}
	if len(b.order) == 0 {
		return errors.New("fake backend: no process free or parked: more sessions check than there are processes")
	}
	p := b.order[0]
	b.order = b.order[1:]
	p.owner.proc, p.owner.tip = nil, nil
	p.owner, p.parked, s.proc = s, false, p
	b.taken.Add(1)
	return nil
}

func (b *fakeBackend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	s := &fakeSession{b: b, thm: thm.Name, keys: map[prover.StateID]string{0: thm.Name + " : ⊢ goal"}, parent: map[prover.StateID]prover.StateID{}}
	if err := b.acquire(s); err != nil {
		return nil, err
	}
	if _, err := b.chk.hold(ctx, *simReload); err != nil {
		return nil, err
	}
	s.tip = []prover.StateID{0}
	return s, nil
}

// fakeSession is one theorem on a fake process.
type fakeSession struct {
	b      *fakeBackend
	thm    string
	proc   *fakeProc // nil: taken while parked
	keys   map[prover.StateID]string
	parent map[prover.StateID]prover.StateID
	tip    []prover.StateID // the path loaded on the process
	next   prover.StateID
	cpu    time.Duration
	parked bool
}

func (s *fakeSession) Root() prover.State {
	return prover.State{ID: 0, Goals: []string{s.keys[0]}, Text: s.keys[0]}
}

func (s *fakeSession) path(id prover.StateID) []prover.StateID {
	var p []prover.StateID
	for ; id != 0; id = s.parent[id] {
		p = append(p, id)
	}
	p = append(p, 0)
	slices.Reverse(p)
	return p
}

func (s *fakeSession) Apply(ctx context.Context, from prover.StateID, tactic string, _ time.Duration) (prover.StepResult, error) {
	if s.proc == nil {
		if err := s.b.acquire(s); err != nil {
			return prover.StepResult{}, err
		}
		s.b.reloads.Add(1)
		if _, err := s.b.chk.hold(ctx, *simReload); err != nil {
			return prover.StepResult{}, err
		}
		s.tip = []prover.StateID{0}
	}
	path := s.path(from)
	common := 0
	for common < len(s.tip) && common < len(path) && s.tip[common] == path[common] {
		common++
	}
	if n := len(path) - common; n > 0 {
		s.b.replays.Add(int64(n))
		if _, err := s.b.chk.hold(ctx, time.Duration(float64(time.Duration(n)**simCheck)**simReplay)); err != nil {
			return prover.StepResult{}, err
		}
	}
	s.tip = path
	st, err := s.b.chk.apply(ctx, s.thm, s.keys[from], tactic)
	if err != nil {
		return prover.StepResult{}, err
	}
	s.cpu += *simCheck
	switch st.Status {
	case search.Proved:
		return prover.StepResult{Status: prover.StepProved}, nil
	case search.Open:
		s.next++
		id := s.next
		s.keys[id], s.parent[id] = st.State.Key, from
		s.tip = append(s.tip, id)
		return prover.StepResult{Status: prover.StepOpen, State: prover.State{ID: id, Goals: []string{st.State.Key}, Text: st.State.Key}}, nil
	}
	return prover.StepResult{Status: prover.StepFailed, Message: "failed"}, nil
}

func (s *fakeSession) Close() error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if p := s.proc; p != nil {
		if p.parked {
			s.b.order = slices.DeleteFunc(s.b.order, func(q *fakeProc) bool { return q == p })
		}
		p.owner, p.parked, s.proc = nil, false, nil
	}
	return nil
}

func (s *fakeSession) TacticCPU() time.Duration { return s.cpu }

func (s *fakeSession) Park() {
	s.b.parks.Add(1)
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if s.proc != nil {
		s.proc.parked = true
		s.b.order = append(s.b.order, s.proc)
	}
}

func (s *fakeSession) Resume(context.Context) error {
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	if p := s.proc; p != nil && p.parked {
		p.parked = false
		s.b.order = slices.DeleteFunc(s.b.order, func(q *fakeProc) bool { return q == p })
	}
	return nil
}

// noParkSession hides Park and Resume (-sim.park=false).
type noParkSession struct{ prover.Session }

type noParkBackend struct{ *fakeBackend }

func (b noParkBackend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	s, err := b.fakeBackend.Open(ctx, thm)
	if err != nil {
		return nil, err
	}
	return noParkSession{s}, nil
}

// agentFigures are runFigures plus what the agent path adds.
type agentFigures struct {
	runFigures
	parks, taken, reloads, replays int64
	speculative, dropped           int
}

// runAgentWorkload runs the workload through prover.Agent at concurrency
// conc with the run's checker slots (-sim.cores, as the CLI's --workers).
func runAgentWorkload(tb testing.TB, conc int) agentFigures {
	cfg := sim.Config{Base: *simBase, PerRequest: *simPerReq, MaxBatch: *simMaxBatch, Model: "llemma-sim"}
	r, err := sim.Start(cfg, "")
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	seed := int64(1)
	llm, err := model.NewLLM(model.LLMConfig{URLs: []string{r.URL}, Model: "llemma-sim", Samples: *simSamples, Seed: &seed,
		Timeout: time.Minute, Limits: model.LimitConfig{Initial: *simInflight, Max: *simMaxInfl}})
	if err != nil {
		tb.Fatal(err)
	}
	chk := newChecker(*simCores, *simCheck)
	procs := *simProcs
	if procs <= 0 {
		procs = *simCores
	}
	fb := newFakeBackend(chk, procs)
	var backend prover.Backend = fb
	if !*simPark {
		backend = noParkBackend{fb}
	}
	a := &prover.Agent{
		Backend:  backend,
		Proposer: llm,
		Search:   search.Config{Expansions: *simExpand, Samples: *simSamples, TacticTimeout: time.Minute, LlemmaParity: true, Speculate: *simSpec},
		Slots:    prover.NewSlots(*simCores),
	}
	n := max(*simTheorems, *simWaves*conc)
	var mu sync.Mutex
	var f agentFigures
	var firstErr error
	var expansions, checks int64
	r.ResetStats()
	start := time.Now()
	g := new(errgroup.Group)
	g.SetLimit(conc)
	for i := range n {
		g.Go(func() error {
			thm := prover.Theorem{Name: fmt.Sprintf("thm_%03d", i)}
			o := a.Prove(context.Background(), thm)
			mu.Lock()
			defer mu.Unlock()
			if o.Status == prover.StatusProved {
				f.proved++
			}
			if o.Status == prover.StatusError && firstErr == nil {
				firstErr = o.Err
			}
			expansions += int64(o.Expansions)
			checks += int64(o.TacticChecks)
			f.speculative += o.Speculation.Prefetched
			f.dropped += o.SpeculationCancelled
			return nil
		})
	}
	_ = g.Wait()
	f.theorems, f.wall, f.model = n, time.Since(start), r.Stats()
	if firstErr != nil {
		tb.Fatal(firstErr)
	}
	f.requests, f.checks = llm.Cost().Requests, chk.checks.Load()
	// The ideal counts the work the search needs: one request per
	// expansion; one load per theorem and one check per tactic, the
	// checker CPU the theorems cannot do without (as BenchmarkSchedulerCoq
	// counts the sequential loop's coqtop CPU); speculation that was
	// dropped, reloads and replays are overhead.
	f.modelBound = time.Duration(expansions) * cfg.BestRequestTime(*simSamples)
	f.cpuBound = (time.Duration(checks)**simCheck + time.Duration(n)**simReload) / time.Duration(*simCores)
	f.ideal = max(f.modelBound, f.cpuBound)
	f.peakInFlight = llm.Stats().Endpoints[0].PeakInFlight
	f.parks, f.taken, f.reloads, f.replays = fb.parks.Load(), fb.taken.Load(), fb.reloads.Load(), fb.replays.Load()
	return f
}

// BenchmarkSchedulerAgent is BenchmarkScheduler on the agent path
// (prover.Agent with speculation and parking, -sim.cores checker slots),
// against the sequential Llemma loop (search alone, no speculation,
// concurrency 1, no theorem loads) measured first in the same process.
// Efficiency is the ideal wall over the wall, the ideal being the larger
// of the model's time at its best batch and the checker CPU the theorems
// need (a load each, a check per tactic) over the cores.
//
// Run it with: go test -run '^$' -bench SchedulerAgent -benchtime 1x ./model/sim
func BenchmarkSchedulerAgent(b *testing.B) {
	base := runWorkload(b, 1)
	b.Logf("sequential Llemma loop: %d theorems in %v: %.1f thm/min, efficiency %.2f, model occupancy %.2f",
		base.theorems, base.wall.Round(time.Millisecond), base.perMinute(), base.efficiency(), base.model.Occupancy())
	for _, conc := range []int{1, 4, 16, 64} {
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			var f agentFigures
			for b.Loop() {
				f = runAgentWorkload(b, conc)
			}
			b.ReportMetric(f.efficiency(), "efficiency")
			b.ReportMetric(f.model.Occupancy(), "occupancy")
			b.ReportMetric(f.model.MeanBatch(), "mean-batch")
			b.ReportMetric(f.perMinute(), "thm/min")
			b.ReportMetric(f.perMinute()/base.perMinute(), "x-seq")
			b.ReportMetric(f.modelUtil(), "model-util")
			b.ReportMetric(float64(f.peakInFlight), "peak-inflight")
			b.Logf("conc=%d: %d theorems (%d proved) in %v; %d model requests (%d speculative, %d dropped running), %d checks; %d parks, %d processes taken, %d reloads, %d tactics replayed; ideal %v (model-bound %v, cpu-bound %v)",
				conc, f.theorems, f.proved, f.wall.Round(time.Millisecond), f.requests, f.speculative, f.dropped, f.checks,
				f.parks, f.taken, f.reloads, f.replays, f.ideal.Round(time.Millisecond), f.modelBound.Round(time.Millisecond), f.cpuBound.Round(time.Millisecond))
		})
	}
}
