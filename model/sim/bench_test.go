package sim_test

import (
	"context"
	"flag"
	"fmt"
	"hash/fnv"
	"math"
	"os"
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

func (c *checker) apply(ctx context.Context, thm, state, tactic string) (search.Step, error) {
	var core int
	select {
	case core = <-c.cores:
	case <-ctx.Done():
		return search.Step{}, ctx.Err()
	}
	c.debt[core] += c.cost
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
	if ctx.Err() != nil {
		return search.Step{}, ctx.Err()
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
