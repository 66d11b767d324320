package proc

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	t.Parallel()
	tests := []struct {
		stat string
		want time.Duration
	}{
		// utime 250 ticks, stime 50 ticks.
		{"4242 (coqtop) R 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 123 1000 10 18446744073709551615", 3 * time.Second},
		// cutime 7, cstime 3: a solver it ran and waited for.
		{"4242 (coqtop) S 1 4242 4242 0 -1 4194304 100 0 0 0 250 50 7 3 20 0 1 0 123 1000 10", 3100 * time.Millisecond},
		// A name with spaces and parentheses: fields count after the last ')'.
		{"7 (a) b) (c) S 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 1 1", 70 * time.Millisecond},
		{"7 (x) S 1", 0},
		{"no parenthesis", 0},
		{"7 (x) S 1 7 7 0 -1 0 0 0 0 0 -3 4 0 0", 0},
		{"7 (x) S 1 7 7 0 -1 0 0 0 0 0 3 4 0 -1", 0},
		{"7 (x) S 1 7 7 0 -1 0 0 0 0 0 3 4", 0},
	}
	for _, tt := range tests {
		if got := parseStatCPU([]byte(tt.stat)); got != tt.want {
			t.Errorf("parseStatCPU(%q) = %v, want %v", tt.stat, got, tt.want)
		}
	}
}

// The CPU of a child the process ran and waited for (a solver a tactic
// called) stays in CPUTime after the child is gone.
func TestCPUTimeCountsWaitedChildren(t *testing.T) {
	t.Parallel()
	p, err := Start(context.Background(), Spec{Argv: []string{"sh", "-c",
		"(i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done); echo done; exec sleep 60"}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	line, err := bufio.NewReader(p.Stdout()).ReadString('\n')
	if err != nil || line != "done\n" {
		t.Fatalf("read %q, %v", line, err)
	}
	// The busy subshell has exited and been waited for: only sh (now
	// sleep) is alive, and it has used next to no CPU of its own.
	if c := p.CPUTime(); c < 100*time.Millisecond {
		t.Errorf("CPUTime = %v after a child that computed for a few hundred ms, want its time counted", c)
	}
}

// A busy process accumulates CPU time, a sleeping one does not; Signal
// reaches a live process and refuses a dead one.
func TestCPUTimeAndSignal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	busy, err := Start(ctx, Spec{Argv: []string{"sh", "-c", "trap 'exit 7' INT; while :; do :; done"}})
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	idle, err := Start(ctx, Spec{Argv: []string{"sleep", "60"}})
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	deadline := time.Now().Add(30 * time.Second)
	for busy.CPUTime() < 200*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("the busy loop used %v of CPU in 30 s", busy.CPUTime())
		}
		select {
		case <-busy.Done():
			t.Fatal("the busy loop exited")
		case <-time.After(20 * time.Millisecond): // polling a counter, not ordering events
		}
	}
	if c := idle.CPUTime(); c > 100*time.Millisecond {
		t.Errorf("sleep used %v of CPU", c)
	}

	if err := busy.Signal(syscall.SIGINT); err != nil {
		t.Fatalf("Signal(SIGINT) = %v", err)
	}
	<-busy.Done()
	_, _ = io.Copy(io.Discard, busy.Stdout())
	var ee *ExitError
	if err := busy.Err(nil); !errors.As(err, &ee) || ee.Code != 7 {
		t.Fatalf("after SIGINT: %v, want exit status 7 from the trap", err)
	}
	if err := busy.Signal(syscall.SIGINT); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("Signal on an exited process = %v, want os.ErrProcessDone", err)
	}
	if c := busy.CPUTime(); c != 0 {
		t.Errorf("CPUTime of an exited process = %v, want 0", c)
	}
}
