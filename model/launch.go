package model

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/prover"
)

// LaunchConfig says how to start a model runtime and how to tell it is up.
type LaunchConfig struct {
	// Command is run by /bin/sh -c (exec'd, so the shell is not a middle
	// process), e.g. "vllm serve EleutherAI/llemma_7b --port 8000".
	Command string
	// HealthURL is the runtime's base URL; HealthPaths are polled in turn
	// with GET until one answers 200 (default /health, then /v1/models).
	HealthURL   string
	HealthPaths []string
	// PollInterval between health polls (default 1 s).
	PollInterval time.Duration
	// StopGrace bounds Close (default 10 s): half of it for the runtime to
	// exit after its stdin is closed, half after SIGTERM, then SIGKILL.
	StopGrace  time.Duration
	HTTPClient *http.Client
	// APIKey is sent with the health polls (vLLM --api-key guards /v1/models).
	APIKey Secret
	// Progress receives a line per poll while waiting.
	Progress func(msg string)
}

// Launcher is a runtime started as a supervised child process
// (internal/proc): its own process group, killed with the prover, output
// drained into a tail kept for errors.
type Launcher struct {
	p    *proc.Process
	last atomic.Value // string: the last line of output
}

// StartRuntime starts cfg.Command and waits until it answers a health poll,
// the process exits (a *proc.ExitError with its output tail), or ctx ends
// (the process is stopped). The process outlives ctx once started: Close
// stops it.
func StartRuntime(ctx context.Context, cfg LaunchConfig) (*Launcher, error) {
	if strings.TrimSpace(cfg.Command) == "" {
		return nil, errors.New("launching model runtime: empty command")
	}
	if len(cfg.HealthPaths) == 0 {
		cfg.HealthPaths = []string{"/health", "/v1/models"}
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = 10 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	base := normalizeURL(cfg.HealthURL)
	p, err := proc.Start(ctx, proc.Spec{
		Name:        "model runtime",
		Argv:        []string{"/bin/sh", "-c", "exec " + cfg.Command},
		MergeOutput: true,
		TailBytes:   8 << 10,
		Grace:       max(cfg.StopGrace/2, 50*time.Millisecond),
	})
	if err != nil {
		return nil, fmt.Errorf("launching model runtime %q: %w", cfg.Command, err)
	}
	l := &Launcher{p: p}
	l.last.Store("")
	go l.drain()

	start := time.Now()
	tick := time.NewTicker(cfg.PollInterval)
	defer tick.Stop()
	for {
		ok, why := healthy(ctx, hc, base, cfg.HealthPaths, cfg.PollInterval, cfg.APIKey)
		if ok {
			if cfg.Progress != nil {
				cfg.Progress(fmt.Sprintf("model runtime ready at %s after %s", displayURL(base), time.Since(start).Round(time.Millisecond)))
			}
			return l, nil
		}
		if cfg.Progress != nil {
			msg := fmt.Sprintf("waiting for model runtime at %s (%s): %s", displayURL(base), time.Since(start).Round(time.Second), why)
			if last := l.lastLine(); last != "" {
				msg += "; last output: " + last
			}
			cfg.Progress(msg)
		}
		select {
		case <-p.Done():
			return nil, fmt.Errorf("model runtime %q exited before %s was healthy: %w", cfg.Command, displayURL(base), p.Err(nil))
		case <-ctx.Done():
			cerr := l.Close()
			return nil, errors.Join(fmt.Errorf("waiting for model runtime at %s (%s; last: %s): %w",
				displayURL(base), time.Since(start).Round(time.Second), why, context.Cause(ctx)), cerr)
		case <-tick.C:
		}
	}
}

// drain reads the merged output (proc keeps its tail) so that the runtime
// never blocks on a full pipe, remembering the last line for progress.
func (l *Launcher) drain() {
	sc := bufio.NewScanner(l.p.Stdout())
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			if len(line) > 200 {
				line = line[:200]
			}
			l.last.Store(line)
		}
	}
	_, _ = io.Copy(io.Discard, l.p.Stdout()) // a line over 1 MiB stopped the scanner
}

func (l *Launcher) lastLine() string { return l.last.Load().(string) }

func healthy(ctx context.Context, hc *http.Client, base string, paths []string, timeout time.Duration, key Secret) (bool, string) {
	why := ""
	for _, p := range paths {
		pctx, cancel := context.WithTimeout(ctx, max(timeout, time.Second))
		req, err := http.NewRequestWithContext(pctx, http.MethodGet, base+p, nil)
		if err != nil {
			cancel()
			return false, err.Error()
		}
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key.Reveal())
		}
		resp, err := hc.Do(req)
		if err != nil {
			cancel()
			why = err.Error()
			continue
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		cancel()
		if resp.StatusCode == http.StatusOK {
			return true, ""
		}
		why = fmt.Sprintf("GET %s: HTTP %d", displayURL(base+p), resp.StatusCode)
	}
	return false, why
}

// Close stops the runtime (proc.Process.Close: stdin closed, then SIGTERM
// to its group, then SIGKILL, each after half of StopGrace). It is safe to
// call twice; the result is nil unless the runtime had died of itself.
func (l *Launcher) Close() error { return l.p.Close() }

// Done is closed when the runtime process has exited.
func (l *Launcher) Done() <-chan struct{} { return l.p.Done() }

// Err describes how the runtime died (a *proc.ExitError with the output
// tail); call it after Done.
func (l *Launcher) Err() error { return l.p.Err(nil) }

// Output returns the last bytes the runtime wrote to stdout and stderr.
func (l *Launcher) Output() string { return l.p.StderrTail() }

// supervisor keeps the LLM's launched runtime up: started on first use,
// restarted with proc.Backoff on the next use after it died, stopped by
// Close.
type supervisor struct {
	mu       sync.Mutex
	launcher *Launcher
	closed   bool
	backoff  proc.Backoff
	restarts atomic.Int64
}

// Start launches the runtime when cfg.Launch is set and waits until it is
// healthy; without Launch it does nothing. Propose calls it, so an explicit
// call only moves the wait (and its errors) up front. A failed start is
// tried again on the next call, after a backoff; so is a runtime that died.
func (l *LLM) Start(ctx context.Context) error {
	if l.cfg.Launch == "" {
		return nil
	}
	s := &l.sup
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("model runtime: %w", prover.ErrClosed)
	}
	if s.launcher != nil {
		select {
		case <-s.launcher.Done():
			l.log.Warn("model runtime died; restarting it", "command", l.cfg.Launch, "err", s.launcher.Err())
			s.launcher = nil
			s.backoff.Failure()
			s.restarts.Add(1)
		default:
			return nil
		}
	}
	if err := s.backoff.Wait(ctx); err != nil {
		return fmt.Errorf("waiting to restart the model runtime: %w", err)
	}
	lctx, cancel := context.WithTimeout(ctx, l.cfg.LaunchTimeout)
	defer cancel()
	paths := []string{"/health", "/v1/models"}
	if l.cfg.API == APIOllama {
		paths = []string{"/api/tags"}
	}
	ln, err := StartRuntime(lctx, LaunchConfig{
		Command: l.cfg.Launch, HealthURL: l.cfg.URLs[0], HealthPaths: paths,
		HTTPClient: l.rt.hc, Progress: l.cfg.OnProgress, APIKey: l.cfg.APIKey, StopGrace: l.cfg.stopGrace,
	})
	if err != nil {
		s.backoff.Failure()
		return err
	}
	s.backoff.Success()
	s.launcher = ln
	return nil
}

// Close stops a runtime that Start launched. It is safe to call twice.
func (l *LLM) Close() error {
	s := &l.sup
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.launcher == nil {
		return nil
	}
	return s.launcher.Close()
}
