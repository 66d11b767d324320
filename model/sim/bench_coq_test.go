package sim_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/model/sim"
	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// BenchmarkSchedulerCoq: the agent path with real coqtop checks, on the
// issue's stand-in runtime in real time (0.25 s + 4 ms x requests in
// flight, batch 64), sampling Coq closers; -coq.theorems miniF2F valid
// theorems (mathd_algebra_*, the first in name order).
var (
	coqTheorems  = flag.Int("coq.theorems", 20, "BenchmarkSchedulerCoq: miniF2F valid theorems")
	coqWorkers   = flag.Int("coq.workers", 2, "BenchmarkSchedulerCoq: busy coqtops at most (--workers)")
	coqExpand    = flag.Int("coq.expansions", 4, "BenchmarkSchedulerCoq: expansions per theorem")
	coqProcesses = flag.Int("coq.processes", 0, "BenchmarkSchedulerCoq: coqtops alive at most (0: -coq.workers)")
	coqConcs     = flag.String("coq.conc", "1,4,16", "BenchmarkSchedulerCoq: concurrencies")
)

// coqVocab is what the simulated model samples for Coq.
var coqVocab = []string{"intros; lia.", "intros; nia.", "intros; lra.", "intros; nra.", "reflexivity.", "intros; field.",
	"intros; vm_compute; reflexivity.", "intros; simpl; lia.", "intros.", "intros; subst; nra.", "intros; ring.", "split."}

func coqData(tb testing.TB) []prover.Theorem {
	if _, err := exec.LookPath("coqtop"); err != nil {
		tb.Skip("skipping: coqtop not installed")
	}
	var dir string
	for _, d := range []string{"../../data/minif2f/coq/valid", "../../../shared/data/minif2f/coq/valid"} {
		if _, err := os.Stat(d); err == nil {
			dir = d
			break
		}
	}
	if dir == "" {
		tb.Skip("skipping: no miniF2F Coq data (make data)")
	}
	names, _ := filepath.Glob(filepath.Join(dir, "mathd_algebra_*.v"))
	slices.Sort(names)
	var out []prover.Theorem
	for _, p := range names {
		if len(out) == *coqTheorems {
			break
		}
		src, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(p), ".v")
		thm, err := coq.ParseTheorem(name, string(src))
		if err != nil || strings.Contains(thm.Header, "Coquelicot") {
			continue
		}
		out = append(out, thm)
	}
	return out
}

// unparked hides a session's Parker (the sequential loop's sessions hold
// their coqtop throughout).
type unparked struct{ prover.Session }

type unparkedBackend struct{ *coq.Backend }

func (b unparkedBackend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	s, err := b.Backend.Open(ctx, thm)
	if err != nil {
		return nil, err
	}
	return unparked{s}, nil
}

type coqFigures struct {
	theorems, proved      int
	wall                  time.Duration
	expansions, requests  int64
	cpu                   time.Duration // tactic CPU (CPUMeter)
	checkerCPU            time.Duration // all coqtop CPU: loads, replays included
	allCPU                time.Duration // every child process: coqtops, coqc, coqchk
	model                 sim.Stats
	modelBound, cpuBound  time.Duration
	peak                  int64
	parks, taken, reloads int
	verdicts              map[string]prover.Status
	ideal                 time.Duration
}

func (f coqFigures) perMinute() float64  { return float64(f.theorems) / f.wall.Minutes() }
func (f coqFigures) efficiency() float64 { return f.ideal.Seconds() / f.wall.Seconds() }

// runCoq proves thms at concurrency conc; sequential is the Llemma loop:
// no speculation, no parking, one theorem at a time.
func runCoq(tb testing.TB, thms []prover.Theorem, conc int, sequential bool) coqFigures {
	cfg := sim.Config{Base: 250 * time.Millisecond, PerRequest: 4 * time.Millisecond, MaxBatch: 64, Model: "llemma-sim", Vocab: coqVocab}
	r, err := sim.Start(cfg, "")
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	seed := int64(1)
	llm, err := model.NewLLM(model.LLMConfig{URLs: []string{r.URL}, Model: "llemma-sim", Samples: 16, Seed: &seed, Backend: "coq", Timeout: time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	b := coq.New(coq.Config{Workers: *coqWorkers, Processes: *coqProcesses})
	cpu0 := childCPU()
	var backend prover.Backend = b
	scfg := search.Config{Expansions: *coqExpand, Samples: 16, TacticTimeout: time.Second, LlemmaParity: true}
	if sequential {
		backend = unparkedBackend{b}
		scfg.Speculate = search.NoSpeculation
	}
	a := &prover.Agent{Backend: backend, Proposer: llm, Search: scfg, TheoremTimeout: 5 * time.Minute, Slots: prover.NewSlots(*coqWorkers)}
	f := coqFigures{theorems: len(thms), verdicts: map[string]prover.Status{}}
	var mu sync.Mutex
	r.ResetStats()
	start := time.Now()
	g := new(errgroup.Group)
	g.SetLimit(conc)
	for _, thm := range thms {
		g.Go(func() error {
			o := a.Prove(context.Background(), thm)
			mu.Lock()
			defer mu.Unlock()
			if o.Status == prover.StatusProved {
				f.proved++
			}
			if o.Status == prover.StatusError {
				tb.Errorf("%s: %v", thm.Name, o.Err)
			}
			f.verdicts[thm.Name] = o.Status
			f.expansions += int64(o.Expansions)
			f.cpu += o.CheckerCPU
			f.parks += o.Parks
			return nil
		})
	}
	_ = g.Wait()
	f.wall, f.model = time.Since(start), r.Stats()
	st := b.Stats()
	b.Close() // reaps the coqtops, for childCPU
	f.allCPU = childCPU() - cpu0
	f.taken, f.reloads, f.checkerCPU = st.Taken, st.Reloads, st.CheckerCPU
	f.requests = llm.Cost().Requests
	f.peak = llm.Stats().Endpoints[0].PeakInFlight
	f.modelBound = time.Duration(f.expansions) * cfg.BestRequestTime(16)
	f.cpuBound = f.allCPU / time.Duration(*coqWorkers)
	f.ideal = max(f.modelBound, f.cpuBound)
	return f
}

// childCPU is the CPU time of the reaped child processes so far: coqtops,
// coqc and coqchk.
func childCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// withIdealCPU sets f's CPU bound to cpu (the sequential loop's: the
// checker work these theorems need, one start, one load each, their
// tactics and final checks; what a concurrent run spends beyond it is
// overhead, not work).
func (f *coqFigures) withIdealCPU(cpu time.Duration) {
	f.cpuBound = cpu / time.Duration(*coqWorkers)
	f.ideal = max(f.modelBound, f.cpuBound)
}

// BenchmarkSchedulerCoq prints, per concurrency, efficiency (ideal wall /
// wall; ideal = max(expansions x the model's time per request at its best
// batch, the sequential loop's checker CPU / workers: every child
// process's, final checks included)), model occupancy, thm/min and x-seq
// against the sequential Llemma loop run first in the same process, and
// fails when a verdict differs from the sequential loop's.
//
// Run it with (heavy: real coqtops):
//
//	flock /tmp/llemma-heavy.lock go test -run '^$' -bench SchedulerCoq -benchtime 1x -timeout 30m ./model/sim
func BenchmarkSchedulerCoq(b *testing.B) {
	thms := coqData(b)
	base := runCoq(b, thms, 1, true)
	b.Logf("sequential Llemma loop: %d theorems (%d proved) in %v: %.1f thm/min, efficiency %.2f, occupancy %.2f; %d expansions, %d requests; tactic CPU %v, all coqtop CPU %v, all checker CPU %v",
		base.theorems, base.proved, base.wall.Round(time.Millisecond), base.perMinute(), base.efficiency(), base.model.Occupancy(),
		base.expansions, base.requests, base.cpu.Round(time.Millisecond), base.checkerCPU.Round(time.Millisecond), base.allCPU.Round(time.Millisecond))
	for _, cs := range strings.Split(*coqConcs, ",") {
		var conc int
		fmt.Sscan(cs, &conc)
		b.Run(fmt.Sprintf("conc=%d", conc), func(b *testing.B) {
			var f coqFigures
			for b.Loop() {
				f = runCoq(b, thms, conc, false)
			}
			f.withIdealCPU(base.allCPU)
			for name, v := range base.verdicts {
				if f.verdicts[name] != v {
					b.Errorf("%s: sequential %s, conc=%d %s", name, v, conc, f.verdicts[name])
				}
			}
			b.ReportMetric(f.efficiency(), "efficiency")
			b.ReportMetric(f.model.Occupancy(), "occupancy")
			b.ReportMetric(f.perMinute(), "thm/min")
			b.ReportMetric(f.perMinute()/base.perMinute(), "x-seq")
			b.ReportMetric(float64(f.peak), "peak-inflight")
			b.Logf("conc=%d: %d theorems (%d proved) in %v; %d expansions, %d requests; %d parks, %d coqtops taken, %d reloads; tactic CPU %v, all coqtop CPU %v, all checker CPU %v; ideal %v (model-bound %v, cpu-bound %v)",
				conc, f.theorems, f.proved, f.wall.Round(time.Millisecond), f.expansions, f.requests, f.parks, f.taken, f.reloads,
				f.cpu.Round(time.Millisecond), f.checkerCPU.Round(time.Millisecond), f.allCPU.Round(time.Millisecond), f.ideal.Round(time.Millisecond),
				f.modelBound.Round(time.Millisecond), f.cpuBound.Round(time.Millisecond))
		})
	}
}
