package lean

import (
	"bufio"
	"context"
	"io"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/internal/proctest"
	"github.com/llemma-prove/llemma-prove/prover"
)

const benchTactic = `{"tactic":"intro x hx","proofState":0}` + "\n\n"

// rawClient talks to a double with a minimal client: prebuilt request
// bytes, read to the blank line, no decoding. Its round trip is the
// double's own latency.
type rawClient struct {
	p  *proc.Process
	br *bufio.Reader
}

func newRawClient(b *testing.B) *rawClient {
	b.Helper()
	argv, env := proctest.Argv("sim")
	p, err := proc.Start(b.Context(), proc.Spec{Name: "raw sim", Argv: argv, Env: env})
	if err != nil {
		b.Fatal(err)
	}
	c := &rawClient{p: p, br: bufio.NewReader(p.Stdout())}
	b.Cleanup(func() { p.Close() })
	c.rt(b, `{"cmd":"import Mathlib"}`+"\n\n")
	c.rt(b, `{"cmd":"theorem sim_two_step : ∀ x : ℝ, x = 2 → x + 1 = 3 := by sorry","env":0}`+"\n\n")
	return c
}

func (c *rawClient) rt(b *testing.B, req string) {
	if _, err := io.WriteString(c.p.Stdin(), req); err != nil {
		b.Fatal(err)
	}
	if _, err := ReadResponse(c.br, 1<<20); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkPoolTactic: one tactic request through the session, pool and
// wire client, against the double's own latency measured in the same
// process with a minimal client. The two are measured in alternating
// rounds (the machine is shared, load drifts) and compared by medians:
// double-us/op is the double alone, overhead-us/op the difference, ratio
// the quotient.
func BenchmarkPoolTactic(b *testing.B) {
	raw := newRawClient(b)
	bk, _ := newSimBackend(b, "", func(c *Config) {
		c.MaxRequests, c.RSSLimit = -1, -1
		c.Env = c.Env[:2] // the mode and GORACE only: the same double as the raw client's (no faults, no request log)
	})
	ctx := context.Background()
	s, err := bk.Open(ctx, simTheorem("sim_two_step"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	apply := func() {
		r, err := s.Apply(ctx, s.Root().ID, "intro x hx", time.Second)
		if err != nil || r.Status != prover.StepOpen {
			b.Fatalf("%+v %v", r, err)
		}
	}
	for range 50 {
		apply()
		raw.rt(b, benchTactic)
	}
	const round = 50
	var pool, base []time.Duration
	var poolCPU, baseCPU time.Duration
	n := 0
	for b.Loop() {
		if n%round == 0 {
			c0, t0 := cpuTime(), time.Now()
			for range round {
				raw.rt(b, benchTactic)
			}
			base = append(base, time.Since(t0)/round)
			baseCPU += cpuTime() - c0
			pool = append(pool, 0)
		}
		c0, t0 := cpuTime(), time.Now()
		apply()
		pool[len(pool)-1] += time.Since(t0)
		poolCPU += cpuTime() - c0
		n++
	}
	// The last round may be short.
	last := n - (len(pool)-1)*round
	for i := range pool {
		k := round
		if i == len(pool)-1 {
			k = last
		}
		pool[i] /= time.Duration(k)
	}
	mp, mb := median(pool), median(base)
	b.ReportMetric(float64(mb.Nanoseconds())/1e3, "double-us/op")
	b.ReportMetric(float64(mp.Nanoseconds())/1e3, "pool-us/op")
	b.ReportMetric(float64((mp-mb).Nanoseconds())/1e3, "overhead-us/op")
	b.ReportMetric(float64(mp)/float64(mb), "ratio")
	// CPU of this process per request (the double runs in another one):
	// steadier than wall time on a shared machine.
	b.ReportMetric(float64(poolCPU.Nanoseconds())/float64(n)/1e3, "pool-cpu-us/op")
	b.ReportMetric(float64(baseCPU.Nanoseconds())/float64(len(base)*round)/1e3, "raw-cpu-us/op")
}

// cpuTime is the user+system CPU time of this process.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkRestartReplay: the cost of losing the process under a depth-2
// state: a new process, header, theorem, two replayed tactics, the tactic.
func BenchmarkRestartReplay(b *testing.B) {
	bk, _ := newSimBackend(b, "", func(c *Config) { c.MaxRequests, c.RSSLimit = -1, -1 })
	ctx := context.Background()
	si, err := bk.Open(ctx, simTheorem("sim_two_step"))
	if err != nil {
		b.Fatal(err)
	}
	defer si.Close()
	s := si.(*session)
	r1, _ := s.Apply(ctx, s.Root().ID, "intro x hx", time.Second)
	r2, _ := s.Apply(ctx, r1.State.ID, "subst hx", time.Second)
	for b.Loop() {
		s.repl.kill(errRecycled) // lost, as at a tactic's deadline: not a failure
		r, err := s.Apply(ctx, r2.State.ID, "norm_num", time.Second)
		if err != nil || r.Status != prover.StepProved {
			b.Fatalf("%+v %v", r, err)
		}
	}
	b.ReportMetric(float64(bk.Stats().Restarts)/float64(b.N), "restarts/op")
}
