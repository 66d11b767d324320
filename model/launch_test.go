package model

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain re-executes the test binary as a fake model runtime when
// LLEMMA_FAKE_RUNTIME is set.
func TestMain(m *testing.M) {
	if mode := os.Getenv("LLEMMA_FAKE_RUNTIME"); mode != "" {
		os.Exit(fakeRuntime(mode, os.Getenv("LLEMMA_FAKE_ADDR")))
	}
	// The client reads these when no key is configured; the tests say what
	// key they mean.
	os.Unsetenv(EnvAPIKey)
	os.Unsetenv(EnvOpenAIAPIKey)
	os.Exit(m.Run())
}

func fakeRuntime(mode, addr string) int {
	switch mode {
	case "die":
		fmt.Fprintln(os.Stderr, "torch.OutOfMemoryError: CUDA out of memory")
		return 3
	case "serve", "stubborn", "crash-after-one":
		if mode == "stubborn" {
			signal.Ignore(syscall.SIGTERM)
		}
		fmt.Println("INFO loading weights")
		time.Sleep(200 * time.Millisecond) // a slow model load
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("INFO ready")
		_ = http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body) // unread bytes would make the exit below reset the connection
			if r.URL.Path == "/health" {
				w.WriteHeader(200)
				return
			}
			const answer = `{"choices":[{"index":0,"text":"\nsimp\n","logprobs":{"token_logprobs":[-0.5],"tokens":["simp"]},"finish_reason":"stop"}]}`
			w.Header().Set("Content-Length", fmt.Sprint(len(answer))) // complete before the exit below
			writeJSON(w, 200, answer)
			if mode == "crash-after-one" {
				w.(http.Flusher).Flush()
				fmt.Fprintln(os.Stderr, "RuntimeError: CUDA error: an illegal memory access was encountered")
				os.Exit(7)
			}
		}))
		return 0
	}
	return 2
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func fakeCommand(t *testing.T, mode, addr string) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("env LLEMMA_FAKE_RUNTIME=%s LLEMMA_FAKE_ADDR=%s '%s' -test.run=^$", mode, addr, exe)
}

func TestLaunchServeAndStop(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	var mu sync.Mutex
	var progress []string
	cfg := testConfig("http://" + addr)
	cfg.Launch, cfg.stopGrace = fakeCommand(t, "serve", addr), 200*time.Millisecond
	cfg.OnProgress = func(m string) { mu.Lock(); progress = append(progress, m); mu.Unlock() }
	l := mustLLM(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := l.Propose(ctx, leanReq("⊢ True")) // starts the runtime
	if err != nil || len(got) != 1 || got[0].Tactic != "simp" {
		t.Fatalf("Propose through a launched runtime = %v, %v", got, err)
	}
	mu.Lock()
	if len(progress) == 0 || !strings.Contains(progress[len(progress)-1], "ready") {
		t.Errorf("progress %q", progress)
	}
	mu.Unlock()
	ln := l.sup.launcher
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ln.Done():
	default:
		t.Fatal("runtime still running after Close")
	}
	if err := l.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, err := l.Propose(ctx, leanReq("⊢ True")); err == nil {
		t.Error("Propose after Close worked")
	}
}

func TestLaunchDies(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := StartRuntime(ctx, LaunchConfig{Command: fakeCommand(t, "die", addr), HealthURL: "http://" + addr,
		PollInterval: 20 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "CUDA out of memory") || !strings.Contains(err.Error(), addr) {
		t.Fatalf("err = %v; want the exit with its output tail and the URL", err)
	}
}

func TestLaunchStubbornGetsKilled(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ln, err := StartRuntime(ctx, LaunchConfig{Command: fakeCommand(t, "stubborn", addr), HealthURL: "http://" + addr,
		PollInterval: 20 * time.Millisecond, StopGrace: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	ln.Close()
	<-ln.Done()
	if el := time.Since(start); el < 150*time.Millisecond || el > 5*time.Second {
		t.Errorf("stop took %v; want SIGKILL after the 200 ms grace", el)
	}
	if !strings.Contains(ln.Output(), "INFO ready") {
		t.Errorf("output tail %q", ln.Output())
	}
}

func TestLaunchCanceledWhileWaiting(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	// The health path never answers 200: the wait ends with ctx.
	_, err := StartRuntime(ctx, LaunchConfig{Command: fakeCommand(t, "serve", addr), HealthURL: "http://" + addr,
		HealthPaths: []string{"/never"}, PollInterval: 20 * time.Millisecond, StopGrace: time.Second})
	if err == nil || !strings.Contains(err.Error(), "waiting for model runtime") {
		t.Fatalf("err = %v", err)
	}
}

// A launched runtime that dies is restarted on the next proposal, with
// the cause logged and counted.
func TestLaunchRestartsDeadRuntime(t *testing.T) {
	t.Parallel()
	addr := freeAddr(t)
	cfg := testConfig("http://" + addr)
	cfg.Launch = fakeCommand(t, "crash-after-one", addr)
	var logs strings.Builder
	var mu sync.Mutex
	cfg.Log = slog.New(slog.NewTextHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	l := mustLLM(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 2 {
		if got, err := l.Propose(ctx, leanReq("⊢ True")); err != nil || len(got) != 1 {
			t.Fatalf("proposal %d: %v, %v", i, got, err)
		}
		l.sup.mu.Lock()
		ln := l.sup.launcher
		l.sup.mu.Unlock()
		<-ln.Done() // it exits after answering once
	}
	if r := l.Stats().Restarts; r != 1 {
		t.Errorf("restarts %d, want 1", r)
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), "illegal memory access") {
		t.Errorf("the death was not logged with its output tail: %s", logs.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
