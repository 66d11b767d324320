package model

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
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
	// StopGrace is the wait between SIGTERM and SIGKILL on Close (default 15 s).
	StopGrace  time.Duration
	HTTPClient *http.Client
	// Progress receives a line per poll while waiting.
	Progress func(msg string)
}

// Launcher is a runtime started as a child process in its own process group.
type Launcher struct {
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has exited
	waitErr error
	out     *tailBuffer
	grace   time.Duration

	closeOnce sync.Once
	closeErr  error
}

// StartRuntime starts cfg.Command and waits until it answers a health poll,
// the process exits (an error with its output tail), or ctx ends (the
// process is stopped). The process outlives ctx once started: Close stops it.
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
		cfg.StopGrace = 15 * time.Second
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	base := normalizeURL(cfg.HealthURL)

	// Not CommandContext: the runtime lives until Close, not until ctx ends.
	cmd := exec.Command("/bin/sh", "-c", "exec "+cfg.Command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &tailBuffer{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second // an orphan holding the pipes cannot block Wait
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("launching model runtime %q: %w", cfg.Command, err)
	}
	l := &Launcher{cmd: cmd, done: make(chan struct{}), out: out, grace: cfg.StopGrace}
	go func() {
		l.waitErr = cmd.Wait()
		close(l.done)
	}()

	start := time.Now()
	tick := time.NewTicker(cfg.PollInterval)
	defer tick.Stop()
	for {
		ok, why := healthy(ctx, hc, base, cfg.HealthPaths, cfg.PollInterval)
		if ok {
			if cfg.Progress != nil {
				cfg.Progress(fmt.Sprintf("model runtime ready at %s after %s", base, time.Since(start).Round(time.Millisecond)))
			}
			return l, nil
		}
		if cfg.Progress != nil {
			msg := fmt.Sprintf("waiting for model runtime at %s (%s): %s", base, time.Since(start).Round(time.Second), why)
			if last := out.lastLine(); last != "" {
				msg += "; last output: " + last
			}
			cfg.Progress(msg)
		}
		select {
		case <-l.done:
			return nil, fmt.Errorf("model runtime %q exited before %s was healthy: %v; output tail: %s",
				cfg.Command, base, l.waitErr, out.String())
		case <-ctx.Done():
			cerr := l.Close()
			return nil, errors.Join(fmt.Errorf("waiting for model runtime at %s (%s; last: %s): %w",
				base, time.Since(start).Round(time.Second), why, context.Cause(ctx)), cerr)
		case <-tick.C:
		}
	}
}

func healthy(ctx context.Context, hc *http.Client, base string, paths []string, timeout time.Duration) (bool, string) {
	why := ""
	for _, p := range paths {
		pctx, cancel := context.WithTimeout(ctx, max(timeout, time.Second))
		req, err := http.NewRequestWithContext(pctx, http.MethodGet, base+p, nil)
		if err != nil {
			cancel()
			return false, err.Error()
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
		why = fmt.Sprintf("GET %s: HTTP %d", base+p, resp.StatusCode)
	}
	return false, why
}

// Close stops the runtime: SIGTERM to its process group, then SIGKILL
// after the grace period. It is safe to call twice.
func (l *Launcher) Close() error {
	l.closeOnce.Do(func() {
		pid := l.cmd.Process.Pid
		select {
		case <-l.done:
		default:
			_ = syscall.Kill(-pid, syscall.SIGTERM)
			t := time.NewTimer(l.grace)
			defer t.Stop()
			select {
			case <-l.done:
			case <-t.C:
				_ = syscall.Kill(-pid, syscall.SIGKILL)
				<-l.done
			}
		}
		// Stray members of the group (workers that ignored SIGTERM).
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	})
	return l.closeErr
}

// Done is closed when the runtime process has exited.
func (l *Launcher) Done() <-chan struct{} { return l.done }

// Output returns the last bytes the runtime wrote to stdout and stderr.
func (l *Launcher) Output() string { return l.out.String() }

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

func (t *tailBuffer) lastLine() string {
	s := t.String()
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}
