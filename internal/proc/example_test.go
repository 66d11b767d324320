package proc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
)

// A final check: a fresh process, run to completion under a wall deadline.
func ExampleRun() {
	spec := proc.Spec{
		Name:        "echo",
		Argv:        []string{"echo", "Theorem checked."},
		InstallHint: "install it with: apt-get install -y coreutils",
	}
	res, err := proc.Run(context.Background(), spec, time.Minute)
	var exit *proc.ExitError
	switch {
	case errors.Is(err, proc.ErrTimeout):
		fmt.Println("too slow")
	case errors.As(err, &exit):
		fmt.Println("rejected:", exit.Code, exit.StderrTail)
	case err != nil:
		fmt.Println("machinery failed:", err)
	default:
		fmt.Print(string(res.Stdout))
	}
	// Output: Theorem checked.
}

// A session: a long-lived process, one request at a time under Do, which
// kills the process if the answer does not come in time.
func ExampleProcess_Do() {
	p, err := proc.Start(context.Background(), proc.Spec{Name: "cat", Argv: []string{"cat"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer p.Close()
	br := bufio.NewReader(p.Stdout())
	var reply string
	err = p.Do(context.Background(), 10*time.Second, func() error {
		if _, err := fmt.Fprintln(p.Stdin(), "intros n."); err != nil {
			return err
		}
		line, err := br.ReadString('\n')
		reply = strings.TrimSpace(line)
		return err
	})
	if err != nil {
		// The process is dead or poisoned: report p.Err(err), never reuse it.
		fmt.Println(p.Err(err))
		return
	}
	fmt.Println(reply)
	// Output: intros n.
}

// A warm pool keyed by the header the process was loaded with.
func ExamplePool() {
	pool := proc.NewPool(proc.PoolConfig[*proc.Process]{
		Size:    2,
		MaxUses: 100,
		Start: func(ctx context.Context, header string) (*proc.Process, error) {
			p, err := proc.Start(ctx, proc.Spec{Name: "cat", Argv: []string{"cat"}})
			if err != nil {
				return nil, err
			}
			// A real backend sends the header here and waits for its reply.
			return p, nil
		},
		Close:   (*proc.Process).Close,
		Healthy: func(p *proc.Process) bool { return !p.Exited() },
		RSS:     (*proc.Process).RSS,
	})
	defer pool.Close(context.Background())

	for range 3 {
		p, err := pool.Get(context.Background(), "Require Import Arith.")
		if err != nil {
			fmt.Println(err)
			return
		}
		// ... a theorem session on p; on any failure Put(p, false) ...
		pool.Put(p, true)
	}
	s := pool.Stats()
	fmt.Println("started", s.Started, "idle", s.Idle)
	// Output: started 1 idle 1
}
