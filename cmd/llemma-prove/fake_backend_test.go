package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/llemma-prove/llemma-prove/config"
	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/prover"
)

// When LLEMMA_TEST_CLI is set, the test binary is the CLI (helper-process
// pattern): tests run it with os.Args and signal it like the real binary.
// LLEMMA_TEST_FAKE_DELAY (a duration) selects the fake backend below;
// LLEMMA_TEST_FAKE_REJECT lists theorems whose proofs its verifier refuses;
// LLEMMA_TEST_FAKE_CRASH makes its process die at every tactic.
func runAsCLI() {
	if d := os.Getenv("LLEMMA_TEST_FAKE_DELAY"); d != "" {
		delay, err := time.ParseDuration(d)
		if err != nil {
			panic(err)
		}
		useFakeBackend(&fakeBackend{delay: delay, reject: names(os.Getenv("LLEMMA_TEST_FAKE_REJECT")),
			crash: os.Getenv("LLEMMA_TEST_FAKE_CRASH") != ""})
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(exitCode(ctx, err, os.Stderr))
}

// useFakeBackend makes every driver build b, with a doctor that finds
// everything (the fake needs no tool). It returns the reset.
func useFakeBackend(b *fakeBackend) (reset func()) {
	testDriver = func(d prover.Driver) prover.Driver {
		d.New = func(config.Config, int, *slog.Logger) (prover.Backend, error) { return b, nil }
		d.Doctor = func(context.Context, config.Config) []prover.Check {
			return []prover.Check{{Name: "fake backend", OK: true, Detail: "in-process"}}
		}
		return d
	}
	return func() { testDriver = nil }
}

func names(list string) map[string]bool {
	m := map[string]bool{}
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			m[n] = true
		}
	}
	return m
}

// fakeBackend is a deterministic in-process prover: whether a tactic
// proves, opens a new state or fails depends only on the theorem, the
// state and the tactic, so a run's verdicts do not depend on timing. Each
// tactic costs delay (ctx-aware). Its verifier refuses the proofs of the
// theorems in reject.
type fakeBackend struct {
	delay  time.Duration
	reject map[string]bool
	crash  bool
	mu     sync.Mutex
	open   int
}

func hash(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

func (b *fakeBackend) Name() string          { return "coq" }
func (b *fakeBackend) Policy() prover.Policy { return coq.Policy{} }
func (b *fakeBackend) Close() error          { return nil }
func (b *fakeBackend) Assemble(thm prover.Theorem, proof []string) string {
	return thm.Header + thm.Statement + "\nProof.\n" + strings.Join(proof, "\n") + "\nQed.\n"
}

// Verify accepts exactly the files Assemble makes for the challenge, and
// rejects anything else, so a test can see a rejection reach the results.
func (b *fakeBackend) Verify(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	if err := ctx.Err(); err != nil {
		return prover.Verification{}, err
	}
	if req.Challenge == nil || !strings.HasPrefix(req.Solution, req.Challenge.Header+req.Challenge.Statement+"\nProof.\n") {
		return prover.Verification{Message: "fake: the file does not state " + req.Name + " as the challenge does"}, nil
	}
	if b.reject[req.Name] {
		return prover.Verification{Message: "fake: rejected " + req.Name}, nil
	}
	return prover.Verification{Verified: true, Constant: "Fake." + req.Name}, nil
}

func (b *fakeBackend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	return &fakeSession{b: b, thm: thm, depth: map[prover.StateID]int{1: 0}, next: 2}, nil
}

type fakeSession struct {
	b     *fakeBackend
	thm   prover.Theorem
	depth map[prover.StateID]int
	next  prover.StateID
}

func (s *fakeSession) Root() prover.State {
	return prover.State{ID: 1, Goals: []string{"x : nat\n============================\nx + 0 = x"}, Text: "x + 0 = x"}
}

func (s *fakeSession) Apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (prover.StepResult, error) {
	t := time.NewTimer(s.b.delay)
	select {
	case <-t.C:
	case <-ctx.Done():
		t.Stop()
		return prover.StepResult{Status: prover.StepTimeout}, nil
	}
	if s.b.crash {
		return prover.StepResult{}, &prover.ExitError{Backend: "fake", Err: fmt.Errorf("signal: segmentation fault"), StderrTail: "fake: crashed"}
	}
	d := s.depth[from]
	h := hash(fmt.Sprintf("%s|%d|%d|%s", s.thm.Name, from, d, tactic)) % 16
	switch {
	case h == 0 && hash(s.thm.Name)%3 != 0:
		return prover.StepResult{Status: prover.StepProved}, nil
	case h <= 2 && d < 3:
		id := s.next
		s.next++
		s.depth[id] = d + 1
		g := fmt.Sprintf("x : nat\n============================\nx + %d = x + %d", id, h)
		return prover.StepResult{Status: prover.StepOpen, State: prover.State{ID: id, Goals: []string{g}, Text: g}}, nil
	}
	return prover.StepResult{Status: prover.StepFailed, Message: "Error: fake failure"}, nil
}

func (s *fakeSession) Close() error { return nil }
