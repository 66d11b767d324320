package proc_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
)

const ms = time.Millisecond

func TestBackoffSequenceAndCap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		b    proc.Backoff
		want []time.Duration
	}{
		{"zero value", proc.Backoff{Jitter: -1},
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 5 * time.Second, 5 * time.Second}},
		{"custom", proc.Backoff{Base: time.Second, Max: 3 * time.Second, Jitter: -1},
			[]time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}},
		{"base above max", proc.Backoff{Base: 10 * time.Second, Max: time.Second, Jitter: -1},
			[]time.Duration{10 * time.Second, 10 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.b
			for i, want := range tt.want {
				if got := b.Failure(); got != want {
					t.Errorf("Failure %d = %v, want %v", i+1, got, want)
				}
			}
			if b.Failures() != len(tt.want) {
				t.Errorf("Failures = %d", b.Failures())
			}
			b.Success()
			if got := b.Failure(); got != tt.want[0] || b.Failures() != 1 {
				t.Errorf("after Success: %v (%d failures), want %v", got, b.Failures(), tt.want[0])
			}
		})
	}
}

func TestBackoffNoOverflow(t *testing.T) {
	t.Parallel()
	b := proc.Backoff{Jitter: -1}
	for range 200 {
		if d := b.Failure(); d <= 0 || d > proc.DefaultBackoffMax {
			t.Fatalf("after %d failures: %v", b.Failures(), d)
		}
	}
}

func TestBackoffJitter(t *testing.T) {
	t.Parallel()
	var b proc.Backoff // default 20 % jitter
	b.SetRand(func() float64 { return 0 })
	if got := b.Failure(); got != 100*ms {
		t.Errorf("jitter 0: %v", got)
	}
	b.SetRand(func() float64 { return 0.5 })
	if got := b.Failure(); got != 180*ms { // 200 ms less 10 %
		t.Errorf("rand 0.5 on 200 ms: %v, want 180ms", got)
	}
	var real proc.Backoff
	real.Base, real.Max = time.Second, time.Second
	seen := map[time.Duration]bool{}
	for range 500 {
		d := real.Failure()
		if d < 800*ms || d > time.Second {
			t.Fatalf("jittered delay %v outside [800ms, 1s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Errorf("only %d distinct delays in 500: no jitter?", len(seen))
	}
}

func TestBackoffWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b proc.Backoff
		start := time.Now()
		if err := b.Wait(context.Background()); err != nil || time.Since(start) != 0 {
			t.Errorf("Wait without failures: %v after %v", err, time.Since(start))
		}
		d := b.Failure()
		if b.Remaining() != d {
			t.Errorf("Remaining = %v, want %v", b.Remaining(), d)
		}
		if err := b.Wait(context.Background()); err != nil || time.Since(start) != d {
			t.Errorf("Wait: %v after %v, want %v", err, time.Since(start), d)
		}
		// Time already spent counts.
		d = b.Failure()
		time.Sleep(d / 2)
		mid := time.Now()
		if err := b.Wait(context.Background()); err != nil || time.Since(mid) != d-d/2 {
			t.Errorf("Wait after half: waited %v, want %v", time.Since(mid), d-d/2)
		}
		b.Success()
		mid = time.Now()
		if err := b.Wait(context.Background()); err != nil || time.Since(mid) != 0 {
			t.Errorf("Wait after Success: waited %v", time.Since(mid))
		}
		// ctx ends the wait.
		b.Base, b.Max = time.Hour, time.Hour
		b.Failure()
		cause := errors.New("shutting down")
		ctx, cancel := context.WithCancelCause(context.Background())
		time.AfterFunc(time.Minute, func() { cancel(cause) })
		mid = time.Now()
		if err := b.Wait(ctx); !errors.Is(err, cause) || time.Since(mid) != time.Minute {
			t.Errorf("Wait(ctx) = %v after %v", err, time.Since(mid))
		}
		if err := b.Wait(ctx); !errors.Is(err, cause) {
			t.Errorf("Wait(done ctx) = %v", err)
		}
	})
}
