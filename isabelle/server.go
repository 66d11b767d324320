package isabelle

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

var serverLine = regexp.MustCompile(`^server "([^"]*)" = (127\.0\.0\.1:\d+) \(password "([^"]*)"\)$`)

// ServerInfo is what `isabelle server` prints on its first line.
type ServerInfo struct {
	Name, Address, Password string
}

// ParseServerLine parses `server "NAME" = 127.0.0.1:PORT (password "PW")`.
func ParseServerLine(line string) (ServerInfo, bool) {
	m := serverLine.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
	if m == nil {
		return ServerInfo{}, false
	}
	return ServerInfo{Name: m[1], Address: m[2], Password: m[3]}, true
}

// serverProc is an `isabelle server` child in its own process group.
type serverProc struct {
	cmd     *exec.Cmd
	info    ServerInfo
	done    chan struct{} // closed when the process has exited
	waitErr error
	tail    *tailBuffer
	once    sync.Once
}

// tailBuffer keeps the last bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	t.mu.Unlock()
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// terminateGrace is how long Kill waits after SIGTERM before SIGKILL.
var terminateGrace = 3 * time.Second

// startServer runs argv (e.g. isabelle server -n NAME) and waits, within
// ctx, for its server line. The process lives until kill.
func startServer(ctx context.Context, argv, env []string) (*serverProc, error) {
	if len(argv) == 0 {
		return nil, fmt.Errorf("%w: no server command configured", prover.ErrUnavailable)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("%w: %s not found on PATH (install Isabelle and put its bin/ on PATH, or set isabelle.server)", prover.ErrUnavailable, argv[0])
	}
	cmd := exec.Command(path, argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	tail := &tailBuffer{max: 4096}
	cmd.Stderr = tail
	lines := make(chan string, 1)
	cmd.Stdout = &lineWatcher{found: lines, rest: tail}
	cmd.WaitDelay = terminateGrace
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: starting %s: %v", prover.ErrUnavailable, argv[0], err)
	}
	p := &serverProc{cmd: cmd, done: make(chan struct{}), tail: tail}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	select {
	case line := <-lines:
		p.info, _ = ParseServerLine(line)
		return p, nil
	case <-p.done:
		// Wait returns after stdout is drained: the line may be there, as
		// when `isabelle server -n NAME` found a running server and exited
		select {
		case line := <-lines:
			p.info, _ = ParseServerLine(line)
			return p, nil
		default:
		}
		return nil, &prover.ExitError{Backend: "isabelle", Err: fmt.Errorf("server exited before printing its address: %v", p.waitErr), StderrTail: tail.String()}
	case <-ctx.Done():
		p.kill()
		return nil, &prover.ExitError{Backend: "isabelle", Err: fmt.Errorf("no server line within the start timeout: %w", context.Cause(ctx)), StderrTail: tail.String()}
	}
}

// lineWatcher receives the server's stdout: the first server line goes to
// found, everything else to rest.
type lineWatcher struct {
	found chan string
	rest  io.Writer
	buf   []byte
	done  bool
}

func (w *lineWatcher) Write(p []byte) (int, error) {
	if w.done {
		_, _ = w.rest.Write(p)
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			if len(w.buf) > 4096 {
				_, _ = w.rest.Write(w.buf)
				w.buf = nil
			}
			return len(p), nil
		}
		line := string(w.buf[:i+1])
		w.buf = w.buf[i+1:]
		if _, ok := ParseServerLine(line); ok {
			w.done = true
			w.found <- line
			_, _ = w.rest.Write(w.buf)
			w.buf = nil
			return len(p), nil
		}
		_, _ = w.rest.Write([]byte(line))
	}
}

// alive reports whether the process still runs. `isabelle server -n NAME`
// exits at once, with status 0, when it finds a running server of that
// name; that server stays usable, so only an exit before the line is fatal.
func (p *serverProc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill stops the process group: SIGTERM, a grace period, SIGKILL.
func (p *serverProc) kill() {
	p.once.Do(func() {
		pid := p.cmd.Process.Pid
		_ = syscall.Kill(-pid, syscall.SIGTERM)
		t := time.NewTimer(terminateGrace)
		defer t.Stop()
		select {
		case <-p.done:
		case <-t.C:
			_ = syscall.Kill(-pid, syscall.SIGKILL)
			<-p.done
		}
		// grandchildren that outlived the leader
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	})
}

func (p *serverProc) exitError(reason error) error {
	err := reason
	if !p.alive() && p.waitErr != nil {
		err = errors.Join(reason, p.waitErr)
	}
	return &prover.ExitError{Backend: "isabelle", Err: err, StderrTail: p.tail.String()}
}

var _ io.Writer = (*tailBuffer)(nil)

// groupRSS sums the resident memory of the processes in process group
// pgid, from /proc (Linux); ok is false where /proc is not available.
func groupRSS(pgid int) (bytes int64, ok bool) {
	dirs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	page := int64(os.Getpagesize())
	for _, d := range dirs {
		name := d.Name()
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + name + "/stat")
		if err != nil {
			continue
		}
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		// f[0] is field 3 (state): pgrp is field 5, rss (pages) field 24
		if len(f) < 22 || f[2] != strconv.Itoa(pgid) {
			continue
		}
		if rss, err := strconv.ParseInt(f[21], 10, 64); err == nil {
			bytes += rss * page
		}
	}
	return bytes, true
}
