package benchmarks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/prover"
)

// scriptBackend is an in-process backend whose behaviour on a theorem is
// named by the theorem's Header: "prove", "fail", "crash" (the process
// dies on the first tactic), "unavailable" (the tool is missing),
// "block" (the first tactic waits for its ctx, after telling entered).
type scriptBackend struct {
	entered chan string // receives the name of a theorem that blocks
}

func (b *scriptBackend) Name() string          { return "script" }
func (b *scriptBackend) Policy() prover.Policy { return coq.Policy{} }
func (b *scriptBackend) Close() error          { return nil }
func (b *scriptBackend) Assemble(thm prover.Theorem, proof []string) string {
	return thm.Statement + "\n" + strings.Join(proof, "\n")
}

func (b *scriptBackend) Verify(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	return prover.Verification{Verified: true}, nil
}

func (b *scriptBackend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	if thm.Header == "unavailable" {
		return nil, fmt.Errorf("starting tool: %w", prover.ErrUnavailable)
	}
	return &scriptSession{b: b, thm: thm}, nil
}

type scriptSession struct {
	b   *scriptBackend
	thm prover.Theorem
}

func (s *scriptSession) Root() prover.State { return prover.State{ID: 1, Goals: []string{"g"}} }
func (s *scriptSession) Close() error       { return nil }

func (s *scriptSession) Apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (prover.StepResult, error) {
	switch s.thm.Header {
	case "prove":
		return prover.StepResult{Status: prover.StepProved}, nil
	case "crash":
		return prover.StepResult{}, &prover.ExitError{Backend: "script", Err: errors.New("signal: killed"), StderrTail: "boom"}
	case "block":
		s.b.entered <- s.thm.Name
		<-ctx.Done()
		return prover.StepResult{}, ctx.Err()
	}
	return prover.StepResult{Status: prover.StepFailed, Message: "no"}, nil
}

type oneTactic struct{}

func (oneTactic) Name() string { return "one" }
func (oneTactic) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	return []prover.Candidate{{Tactic: "lia.", Score: -1}}, nil
}

// script makes theorems named by their behaviour: "prove:a" is theorem a
// that proves.
func script(specs ...string) []prover.Theorem {
	var out []prover.Theorem
	for _, s := range specs {
		how, name, _ := strings.Cut(s, ":")
		out = append(out, prover.Theorem{Name: name, Split: "test", Backend: "script", Header: how, Statement: "Theorem " + name + " : True."})
	}
	return out
}

func newScriptRunner(sink *Sink, conc, maxErrors int) (*Runner, *scriptBackend) {
	be := &scriptBackend{entered: make(chan string, 16)}
	agent := &prover.Agent{Backend: be, Proposer: oneTactic{}, TheoremTimeout: time.Minute, Slots: prover.NewSlots(conc)}
	return &Runner{Agent: agent, Proposer: "one", Concurrency: conc, Sink: sink, MaxErrors: maxErrors}, be
}

func statuses(rs []Result) map[string]string {
	m := map[string]string{}
	for _, r := range rs {
		m[r.Name] = r.Status + "/" + r.Cause
	}
	return m
}

// Each result line carries its verdict, a cause for errors, and timings
// that add up; every result reaches the sink as one whole line.
func TestRunnerResults(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	r, _ := newScriptRunner(NewSink(&buf), 2, 0)
	r.Attempts = 2
	r.Skip = func(k Key) bool { return k.Name == "b" && k.Attempt == 1 }
	rs, err := r.Run(context.Background(), script("prove:a", "fail:b", "crash:c", "unavailable:d"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 7 {
		t.Fatalf("%d results, want 7 (4 theorems x 2 attempts, one skipped)", len(rs))
	}
	want := map[string]string{"a": "proved/", "b": "failed/", "c": "error/backend-crashed", "d": "error/backend-unavailable"}
	for _, res := range rs {
		if got := res.Status + "/" + res.Cause; got != want[res.Name] {
			t.Errorf("%s#%d: %s, want %s (%s)", res.Name, res.Attempt, got, want[res.Name], res.Error)
		}
		if res.Name == "b" && res.Attempt == 1 {
			t.Errorf("skipped attempt was run")
		}
		if sum := res.QueueS + res.SetupS + res.SearchS + res.VerifyS; res.WallS+0.0015 < sum || res.QueueS < 0 {
			t.Errorf("%s: wall %.3f < queue+setup+search+verify %.3f", res.Name, res.WallS, sum)
		}
		if res.Status == "error" && res.Error == "" {
			t.Errorf("%s: error line without a message", res.Name)
		}
		if res.Final() != (res.Status != "error") {
			t.Errorf("%s: Final() = %v for %s", res.Name, res.Final(), res.Status)
		}
	}
	back, _, err := parseResults("sink", buf.Bytes())
	if err != nil || len(back) != len(rs) {
		t.Fatalf("sink holds %d lines (%v), want %d", len(back), err, len(rs))
	}
}

// The circuit breaker stops the run after K errors in a row with one
// cause; a verdict in between, or another cause, resets the count.
func TestRunnerBreaker(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		thms  []string
		trip  bool
		cause string
		ran   int
	}{
		{"three crashes", []string{"prove:a", "crash:b", "crash:c", "crash:d", "prove:e", "prove:f"}, true, prover.CauseBackendCrashed, 4},
		{"a verdict resets", []string{"crash:a", "crash:b", "fail:c", "crash:d", "crash:e", "prove:f"}, false, "", 6},
		{"causes differ", []string{"crash:a", "unavailable:b", "crash:c", "unavailable:d", "crash:e"}, false, "", 5},
		{"unavailable", []string{"unavailable:a", "unavailable:b", "unavailable:c", "prove:d"}, true, prover.CauseBackendUnavailable, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			r, _ := newScriptRunner(NewSink(&buf), 1, 3)
			rs, err := r.Run(context.Background(), script(c.thms...))
			var be *BreakerError
			if errors.As(err, &be) != c.trip {
				t.Fatalf("err %v, want a breaker trip: %v", err, c.trip)
			}
			if c.trip && (be.Cause != c.cause || be.Count != 3 || !strings.Contains(be.Error(), "3 theorems in a row ended in error ("+c.cause+")")) {
				t.Errorf("breaker %+v: %v", be, be)
			}
			if len(rs) != c.ran {
				t.Errorf("%d theorems ran, want %d: %v", len(rs), c.ran, statuses(rs))
			}
		})
	}
}

// Stopping a run records the theorems in flight as interrupted, keeps what
// had finished, and starts nothing more.
func TestRunnerInterrupt(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "r.jsonl")
	rf, err := OpenRunFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close(false)
	r, be := newScriptRunner(rf.Sink(), 2, 0)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		// Both slots hold a blocked theorem: prove:a has finished.
		<-be.entered
		<-be.entered
		cancel()
	}()
	rs, err := r.Run(ctx, script("prove:a", "block:b", "block:c", "prove:d", "prove:e"))
	if err != nil {
		t.Fatal(err)
	}
	got := statuses(rs)
	want := map[string]string{"a": "proved/", "b": "interrupted/", "c": "interrupted/"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("results %v, want %v", got, want)
	}
	lines, info, err := ReadResults(out)
	if err != nil || info.TornBytes != 0 || len(lines) != 3 {
		t.Fatalf("file: %d lines, %+v, %v; want the 3 results whole", len(lines), info, err)
	}
	for _, l := range lines {
		if l.Status == "interrupted" && !strings.Contains(l.Error, "canceled") {
			t.Errorf("interrupted line says %q", l.Error)
		}
	}
}

// Concurrent writers never interleave within a line.
func TestSinkWholeLines(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := NewSink(&buf)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Write(Result{Name: fmt.Sprintf("t%d", i), Status: "failed", Error: strings.Repeat("x", 5000)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	rs, info, err := parseResults("buf", buf.Bytes())
	if err != nil || len(rs) != 50 || info.TornBytes != 0 {
		t.Fatalf("%d results, %+v, %v", len(rs), info, err)
	}
	if err := NewSink(fullWriter{}).Write(Result{Name: "a", Status: "proved"}); err == nil || !strings.Contains(err.Error(), "writing results") {
		t.Errorf("a full disk: %v", err)
	}
}

type fullWriter struct{}

func (fullWriter) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }

// A results file is locked for its run: a second run fails at once; the
// sidecar is 0600 and only exists beside a regular file.
func TestRunFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out := filepath.Join(dir, "r.jsonl")
	rf, err := OpenRunFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !rf.Regular() {
		t.Fatal("a new file is not regular")
	}
	if _, err := OpenRunFile(out); !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), out) {
		t.Fatalf("second open: %v, want ErrLocked naming the file", err)
	}
	m := NewMeta(map[string]string{"backend": "coq"})
	if err := rf.WriteMeta(m); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(MetaPath(out))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sidecar %v, %v; want mode 0600", fi, err)
	}
	if got, err := rf.ReadMeta(); err != nil || got == nil || got.RunID != m.RunID {
		t.Fatalf("ReadMeta = %+v, %v", got, err)
	}
	if err := rf.Sink().Write(Result{Name: "a", Status: "proved"}); err != nil {
		t.Fatal(err)
	}
	rf.Close(true) // not empty: kept
	rf2, err := OpenRunFile(out)
	if err != nil {
		t.Fatalf("after Close the lock is free: %v", err)
	}
	if rs, _, err := rf2.ReadResults(); err != nil || len(rs) != 1 {
		t.Errorf("ReadResults = %d, %v", len(rs), err)
	}
	rf2.Close(true)

	// A run that created a file and wrote nothing leaves nothing behind.
	empty := filepath.Join(dir, "empty.jsonl")
	rf3, err := OpenRunFile(empty)
	if err != nil {
		t.Fatal(err)
	}
	rf3.Close(true)
	if _, err := os.Stat(empty); !os.IsNotExist(err) {
		t.Errorf("empty file left behind: %v", err)
	}

	// A device gets no lock and no sidecar.
	dev, err := OpenRunFile(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close(true)
	if dev.Regular() {
		t.Fatal("/dev/null is regular?")
	}
	if err := dev.WriteMeta(m); !errors.Is(err, ErrNotRegular) {
		t.Errorf("WriteMeta beside /dev/null: %v", err)
	}
	if err := WriteMeta(os.DevNull, m); !errors.Is(err, ErrNotRegular) {
		t.Errorf("WriteMeta(/dev/null): %v", err)
	}
	if got, err := dev.ReadMeta(); got != nil || err != nil {
		t.Errorf("ReadMeta beside /dev/null = %v, %v", got, err)
	}
	if err := dev.Sink().Write(Result{Name: "a", Status: "proved"}); err != nil {
		t.Errorf("writing to /dev/null: %v", err)
	}
	if _, err := os.Stat(os.DevNull + ".meta.json"); !os.IsNotExist(err) {
		t.Errorf("a sidecar beside /dev/null: %v", err)
	}
}
