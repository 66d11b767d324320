package benchmarks

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Runner proves a list of theorems, several at a time, and appends each
// result to a Sink as soon as it is known.
type Runner struct {
	Agent *prover.Agent
	// Prover, when set, proves the theorems instead of Agent (the
	// whole-proof and sketch modes); Mode is recorded on every line.
	Prover      prover.Prover
	Mode        string
	Proposer    string // name recorded in the results
	Concurrency int    // theorems in flight (default 1)
	Sink        *Sink
	Progress    io.Writer // stderr; nil for none
	Log         *slog.Logger
	// Attempts is the number of attempts per theorem (default 1), recorded
	// as attempt 0..Attempts-1: several give pass@k.
	Attempts int
	// Skip, when set, reports attempts that already have a verdict
	// (--resume): they are not run again.
	Skip func(Key) bool
	// Traces, when set, receives each attempt's search tree (--trace).
	Traces *TraceWriter
	// MaxErrors is the circuit breaker: the run stops when this many
	// attempts in a row (in completion order) end in error with the same
	// cause (0: never). A verdict resets the count.
	MaxErrors int
	// JobContext, when set, derives the ctx of one job (e.g. to tell the
	// proposer which attempt it serves: model.WithAttempt).
	JobContext func(ctx context.Context, job Job) context.Context
	// Annotate, when set, completes a job's result line before it is
	// written, under the job's ctx (e.g. with the model cost metered there).
	Annotate func(ctx context.Context, job Job, res *Result)
}

// BreakerError is what Run returns when the circuit breaker stopped the
// run: the same infrastructure cause failed Count theorems in a row.
type BreakerError struct {
	Cause string // a prover.Cause* name
	Count int
	Last  Result // the last of them
}

func (e *BreakerError) Error() string {
	return fmt.Sprintf("stopped the run: %d theorems in a row ended in error (%s); the last, %s: %s",
		e.Count, e.Cause, e.Last.Name, e.Last.Error)
}

// breaker counts consecutive errors of one cause.
type breaker struct {
	max   int
	cause string
	n     int
}

// note records a result and returns the error to stop the run with, once.
func (b *breaker) note(r Result) *BreakerError {
	switch {
	case b.max <= 0 || r.Status == string(prover.StatusInterrupted):
		return nil
	case r.Status != string(prover.StatusError):
		b.cause, b.n = "", 0
		return nil
	case r.Cause != b.cause:
		b.cause, b.n = r.Cause, 0
	}
	b.n++
	if b.n == b.max {
		return &BreakerError{Cause: r.Cause, Count: b.n, Last: r}
	}
	return nil
}

// Job is one attempt at one theorem.
type Job struct {
	Theorem prover.Theorem
	Attempt int
}

// Jobs lists the attempts to run: every theorem times Attempts, minus
// those Skip reports done.
func (r *Runner) Jobs(thms []prover.Theorem) []Job {
	k := max(r.Attempts, 1)
	var jobs []Job
	for _, t := range thms {
		for a := range k {
			if r.Skip != nil && r.Skip(Key{Name: t.Name, Split: t.Split, Backend: t.Backend, Attempt: a}) {
				continue
			}
			jobs = append(jobs, Job{Theorem: t, Attempt: a})
		}
	}
	return jobs
}

// Run proves thms and returns every result, in completion order. A
// cancelled ctx stops launching work; theorems in flight are recorded as
// interrupted (never as failed), and Run returns once they are written.
// When the circuit breaker trips, Run stops the same way and returns a
// *BreakerError; a result that cannot be written stops the run too.
func (r *Runner) Run(ctx context.Context, thms []prover.Theorem) ([]Result, error) {
	n := r.Concurrency
	if n <= 0 {
		n = 1
	}
	jobs := r.Jobs(thms)
	prog := newProgress(r.Progress, len(jobs))
	rctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var (
		mu      sync.Mutex
		results []Result
		brk     = breaker{max: r.MaxErrors}
		tripped *BreakerError
	)
	g := new(errgroup.Group)
	g.SetLimit(n)
	for _, job := range jobs {
		if rctx.Err() != nil {
			break
		}
		g.Go(func() error {
			if rctx.Err() != nil {
				return nil
			}
			res, out := r.prove(rctx, job)
			if r.Traces != nil && res.Status != string(prover.StatusInterrupted) {
				if err := r.Traces.Write(res, out.Trace); err != nil {
					stop(err)
					return err
				}
			}
			if err := r.Sink.Write(res); err != nil {
				stop(err)
				return err
			}
			mu.Lock()
			results = append(results, res)
			if b := brk.note(res); b != nil && tripped == nil {
				tripped = b
				stop(b)
			}
			mu.Unlock()
			prog.done(res.Status == string(prover.StatusProved))
			return nil
		})
	}
	err := g.Wait()
	prog.finish()
	if err == nil && tripped != nil {
		err = tripped
	}
	return results, err
}

// prove runs one job and logs how it ended.
func (r *Runner) prove(ctx context.Context, job Job) (Result, prover.Outcome) {
	thm := job.Theorem
	if r.JobContext != nil {
		ctx = r.JobContext(ctx, job)
	}
	var p prover.Prover = r.Agent
	if r.Prover != nil {
		p = r.Prover
	}
	samples := &prover.SampleLog{}
	out := p.Prove(prover.WithSampleLog(ctx, samples), thm)
	res := NewResult(thm, r.Proposer, out)
	res.Attempt = job.Attempt
	if r.Mode != "" && r.Mode != prover.ModeStep {
		res.Mode = r.Mode
	}
	res.Samples = Samples(samples.Records())
	if r.Annotate != nil {
		r.Annotate(ctx, job, &res)
	}
	if r.Log != nil {
		if res.Status == string(prover.StatusError) {
			// Loud: an infrastructure fault is never a quiet line in a file.
			r.Log.Warn("theorem ended in error", "name", thm.Name, "cause", res.Cause, "err", res.Error)
		}
		r.Log.Debug("theorem done", "name", thm.Name, "status", res.Status, "wall_s", res.WallS,
			"queue_s", res.QueueS, "setup_s", res.SetupS, "search_s", res.SearchS, "verify_s", res.VerifyS)
	}
	return res, out
}

// progress prints done/total, solved, elapsed and ETA on stderr: one
// updating line on a terminal, a plain line every few seconds otherwise.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	total    int
	n        int
	solved   int
	start    time.Time
	lastLine time.Time
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total, start: time.Now()}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) done(solved bool) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n++
	if solved {
		p.solved++
	}
	now := time.Now()
	if !p.tty && p.n != p.total && now.Sub(p.lastLine) < 10*time.Second {
		return
	}
	p.lastLine = now
	elapsed := now.Sub(p.start)
	eta, rate := "?", 0.0
	if p.n > 0 {
		eta = (time.Duration(float64(elapsed) / float64(p.n) * float64(p.total-p.n))).Round(time.Second).String()
	}
	if elapsed > 0 {
		rate = float64(p.n) / elapsed.Minutes()
	}
	line := fmt.Sprintf("[%d/%d] solved %d, %.1f theorems/min, elapsed %s, ETA %s", p.n, p.total, p.solved, rate, elapsed.Round(time.Second), eta)
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(p.w, line)
	}
}

func (p *progress) finish() {
	if p.w != nil && p.tty && p.n > 0 {
		fmt.Fprintln(p.w)
	}
}
