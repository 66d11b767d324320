package isabelle

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// BenchmarkStepCheck measures one step-wise check (theory file written,
// use_theories, result decoded and classified, purge) against the in-process
// double. The double times its own handling of every request; that is the
// baseline, and the rest of the wall time is the client's overhead.
func BenchmarkStepCheck(b *testing.B) {
	b.Run("workdir=tmp", func(b *testing.B) { benchStepCheck(b, b.TempDir()) })
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		b.Run("workdir=shm", func(b *testing.B) {
			d, err := os.MkdirTemp("/dev/shm", "llemma-bench-")
			if err != nil {
				b.Skip(err)
			}
			defer os.RemoveAll(d)
			benchStepCheck(b, d)
		})
	}
}

func benchStepCheck(b *testing.B, workDir string) {
	fs := startInProcess(b, "sim")
	be, err := New(Config{Address: fs.addr(), Password: fs.password, WorkDir: workDir, Workers: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	ctx := context.Background()
	s, err := be.Open(ctx, simTheorem(b, "bench_step", conj))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	root := s.Root()
	fs.serviceNanos.Store(0)
	n := 0
	start := time.Now()
	for b.Loop() {
		r, err := s.Apply(ctx, root.ID, "apply (rule conjI)", 5*time.Second)
		if err != nil || r.Status != prover.StepOpen {
			b.Fatalf("Apply = %+v, %v", r, err)
		}
		n++
	}
	wall := time.Since(start).Nanoseconds()
	server := fs.serviceNanos.Load()
	b.ReportMetric(float64(server)/float64(n), "double-ns/check")
	b.ReportMetric(float64(wall-server)/float64(n), "overhead-ns/check")
}

// BenchmarkEcho measures the bare round trip of a 10 kB multi-line message
// through the client and the double's framing.
func BenchmarkEcho(b *testing.B) {
	fs := startInProcess(b, "sim")
	ctx := context.Background()
	c, _, err := Dial(ctx, fs.addr(), fs.password, DialOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	arg := strings.Repeat("line of text\n", 800)
	fs.serviceNanos.Store(0)
	n := 0
	start := time.Now()
	for b.Loop() {
		if _, err := c.Call(ctx, "echo", arg); err != nil {
			b.Fatal(err)
		}
		n++
	}
	wall := time.Since(start).Nanoseconds()
	server := fs.serviceNanos.Load()
	b.ReportMetric(float64(server)/float64(n), "double-ns/op")
	b.ReportMetric(float64(wall-server)/float64(n), "overhead-ns/op")
}
