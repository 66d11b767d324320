package isabelle

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/prover"
)

// Supervision of the one server: start (confined), connect, reconnect,
// restart after failures with proc.Backoff, declare the backend broken
// after Config.MaxFailures failures in a row, stop.

// Close stops the sessions and the server this backend started: session_stop
// and shutdown (each within CancelGrace), then the process group
// (proc.Process.Close: CancelGrace for it to exit, SIGTERM, CancelGrace,
// SIGKILL). It is safe to call twice.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	conn, srv := b.conn, b.srv
	var ids []string
	for _, s := range b.sessions {
		select {
		case <-s.ready:
			if s.err == nil {
				ids = append(ids, s.id)
			}
		default:
		}
	}
	b.conn, b.srv = nil, nil
	b.mu.Unlock()
	if conn != nil && conn.Err() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.CancelGrace)
		for _, id := range ids {
			_, _ = conn.Run(ctx, "session_stop", map[string]string{"session_id": id}, nil)
		}
		if srv != nil && !srv.p.Exited() {
			// only a server this backend started (a server handed over by
			// `isabelle server -n NAME` belongs to someone else)
			_ = conn.Shutdown(ctx)
		}
		cancel()
		conn.Close()
	}
	if srv != nil {
		if err := srv.p.Close(); err != nil {
			b.cfg.Log.Debug("isabelle server exit", "err", err)
		}
	}
	_ = os.RemoveAll(filepath.Join(b.workDir, serverTmp))
	if b.ownDir {
		_ = os.RemoveAll(b.workDir)
	}
	return nil
}

// ensure returns a live connection, connecting or (re)starting the server
// when needed, after the backoff of the failures before; once the backend
// is broken it returns that error at once.
func (b *Backend) ensure(ctx context.Context) (*Client, uint64, error) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, 0, prover.ErrClosed
		}
		if b.broken != nil {
			err := b.broken
			b.mu.Unlock()
			return nil, 0, err
		}
		if b.conn != nil && b.conn.Err() == nil {
			c, inc := b.conn, b.incarn
			b.mu.Unlock()
			if rss, over := b.overMemory(); over {
				b.restart(c, fmt.Errorf("the server uses %d MB, over the %d MB limit", rss>>20, b.cfg.MaxRSS>>20), false)
				continue
			}
			return c, inc, nil
		}
		if ch := b.connecting; ch != nil {
			b.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return nil, 0, context.Cause(ctx)
			}
		}
		ch := make(chan struct{})
		b.connecting = ch
		var lost error // the connection died under us
		if b.conn != nil {
			lost = b.conn.Err()
			b.conn = nil
		}
		hadConn := lost != nil
		wait := b.backoff.Remaining()
		b.mu.Unlock()

		err := b.waitBackoff(ctx, wait)
		var c *Client
		if err == nil {
			c, err = b.connect(ctx, lost)
		}
		b.mu.Lock()
		b.connecting = nil
		close(ch)
		if err != nil {
			b.mu.Unlock()
			return nil, 0, err
		}
		if b.closed {
			b.mu.Unlock()
			c.Close()
			return nil, 0, prover.ErrClosed
		}
		if hadConn {
			b.restarts++
		}
		b.conn = c
		inc := b.incarn
		b.mu.Unlock()
		return c, inc, nil
	}
}

// waitBackoff waits d, the backoff left after the last failure, within ctx.
func (b *Backend) waitBackoff(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	start := time.Now()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting %v before restarting the isabelle server: stopped after %v: %w",
			d.Round(time.Millisecond), time.Since(start).Round(time.Millisecond), context.Cause(ctx))
	}
}

// connect dials the configured server, or the running child, or starts a
// new child. lost is why the previous connection died (nil: none did).
// Called by the one goroutine holding b.connecting. Failures that are not
// the caller's (its ctx ended) count towards MaxFailures.
func (b *Backend) connect(ctx context.Context, lost error) (*Client, error) {
	if b.cfg.Address != "" {
		if lost != nil {
			if err := b.failed(ctx, fmt.Errorf("connection to the isabelle server at %s lost: %w", b.cfg.Address, lost)); errors.Is(err, prover.ErrBackendBroken) {
				return nil, err
			}
		}
		c, info, err := b.dial(ctx, b.cfg.Address, b.cfg.Password)
		if err != nil {
			return nil, b.failed(ctx, fmt.Errorf("%w: %w", prover.ErrUnavailable, err))
		}
		b.setInfo(info)
		return c, nil
	}
	b.mu.Lock()
	srv := b.srv
	b.mu.Unlock()
	if srv != nil {
		// The same server may still be there (or, handed over by
		// `isabelle server -n NAME`, live outside our process): reconnect,
		// keeping its sessions.
		c, info, err := b.dial(ctx, srv.info.Address, srv.info.Password)
		if err == nil {
			if lost != nil {
				if err := b.failed(ctx, fmt.Errorf("connection to the isabelle server lost (the server still answers): %w", lost)); errors.Is(err, prover.ErrBackendBroken) {
					c.Close()
					return nil, err
				}
			}
			b.setInfo(info)
			return c, nil
		}
		if ctx.Err() != nil {
			// the caller ran out of time, not necessarily the server:
			// keep it for the next attempt
			return nil, err
		}
		why := err
		if lost != nil {
			why = fmt.Errorf("%w; reconnecting: %w", lost, err)
		}
		death := b.dropServer(srv, fmt.Errorf("isabelle server unreachable: %w", why))
		if err := b.failed(ctx, death); errors.Is(err, prover.ErrBackendBroken) || ctx.Err() != nil {
			return nil, err
		}
	}
	s, err := b.startServer(ctx)
	if err != nil {
		return nil, b.failed(ctx, err)
	}
	c, info, err := b.dial(ctx, s.info.Address, s.info.Password)
	if err != nil {
		return nil, b.failed(ctx, s.stop(fmt.Errorf("connecting to the new server: %w", err)))
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		c.Close()
		_ = s.stop(prover.ErrClosed)
		return nil, prover.ErrClosed
	}
	b.srv = s
	b.incarn++
	b.sessions = map[string]*sessionSlot{}
	b.mu.Unlock()
	b.setInfo(info)
	return c, nil
}

// dial connects within ConnectTimeout (or the caller's deadline).
func (b *Backend) dial(ctx context.Context, addr, password string) (*Client, map[string]any, error) {
	dctx, cancel, bd := within(ctx, "connecting to the isabelle server at "+addr, b.cfg.ConnectTimeout, nil)
	defer cancel()
	c, info, err := Dial(dctx, addr, password, DialOptions{})
	if err != nil && (dctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded)) {
		return nil, nil, fmt.Errorf("%w (%v)", bd.ended(ctx, dctx), err)
	}
	return c, info, err
}

// startServer starts a server process, confined unless Config.Unconfined,
// and waits for its server line within StartTimeout (or the caller's
// deadline).
func (b *Backend) startServer(ctx context.Context) (*server, error) {
	sctx, cancel, bd := within(ctx, "isabelle server start (its server line)", b.cfg.StartTimeout, nil)
	defer cancel()
	spec := proc.Spec{
		Name:        "isabelle server",
		Argv:        b.cfg.Server,
		Env:         b.cfg.Env,
		Grace:       b.cfg.CancelGrace,
		InstallHint: "install Isabelle and put its bin/ on PATH, or set isabelle.server to the server command",
	}
	if !b.cfg.Unconfined {
		pol, env, in, err := serverPolicy(sctx, &b.cfg, b.workDir)
		if err != nil {
			if sctx.Err() != nil {
				return nil, bd.ended(ctx, sctx)
			}
			if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%w: %w (%s)", prover.ErrUnavailable, err, spec.InstallHint)
			}
			return nil, fmt.Errorf("confining the isabelle server: %w", err)
		}
		spec.Sandbox = pol
		spec.Env = append(append([]string(nil), b.cfg.Env...), env...)
		b.cfg.Log.Debug("isabelle server sandbox", "home", in.Home, "home_user", in.HomeUser, "paths_from", in.Source)
	}
	b.mu.Lock()
	b.starts++
	b.mu.Unlock()
	return startServer(ctx, sctx, bd, spec)
}

func (b *Backend) setInfo(info map[string]any) {
	b.mu.Lock()
	b.info = info
	b.mu.Unlock()
}

// dropServer forgets s (and the sessions on it) and stops its process
// group; it returns the death as the prover's typed error.
func (b *Backend) dropServer(s *server, reason error) error {
	b.mu.Lock()
	if b.srv == s {
		b.srv = nil
		b.incarn++
		b.sessions = map[string]*sessionSlot{}
	}
	b.mu.Unlock()
	if s.p.Exited() {
		_ = s.p.Close()
		return s.died(reason)
	}
	return s.stop(reason)
}

// restart is called when the server stopped answering on conn (or, with
// failure false, uses too much memory): the connection is dropped and a
// server this backend owns is killed with its process group, so the next
// ensure starts a new one.
func (b *Backend) restart(conn *Client, reason error, failure bool) {
	b.cfg.Log.Warn("isabelle server restarted", "reason", reason)
	b.mu.Lock()
	if b.conn != conn {
		b.mu.Unlock()
		return // someone already replaced it
	}
	b.conn = nil
	b.restarts++
	srv := b.srv
	if srv == nil {
		b.incarn++
		b.sessions = map[string]*sessionSlot{}
	}
	b.mu.Unlock()
	conn.Close()
	err := reason
	if srv != nil {
		err = b.dropServer(srv, reason)
	}
	if failure {
		b.failed(context.Background(), err)
	}
}

// answer records a task the server answered: the backoff resets, and
// after HealthyTasks answers the failures before are forgiven.
func (b *Backend) answer() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.backoff.Success()
	b.answered++
	if b.answered >= b.cfg.HealthyTasks {
		b.failures = 0
	}
}

// failed records a server failure (unless the caller's ctx ended: then
// the caller gave up, not the server) and returns err, or, at
// MaxFailures failures in a row, the error that makes the backend broken.
func (b *Backend) failed(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken != nil {
		return b.broken
	}
	b.failures++
	b.answered = 0
	wait := b.backoff.Failure()
	n := b.failures
	if n >= b.cfg.MaxFailures {
		b.broken = fmt.Errorf("%w: the isabelle server failed %d times in a row (each failed to start, or died or stopped answering within %d tasks); the last: %w",
			prover.ErrBackendBroken, n, b.cfg.HealthyTasks, err)
		b.cfg.Log.Error("isabelle backend broken: no further theorem will be tried", "err", b.broken)
		return b.broken
	}
	b.cfg.Log.Warn("isabelle server failure", "failures", n, "max", b.cfg.MaxFailures, "next_attempt_in", wait, "err", err)
	return err
}

// brokenErr is the error every call returns once the backend is broken.
func (b *Backend) brokenErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.broken
}

// rssInterval is how often MaxRSS is checked.
var rssInterval = 10 * time.Second

// overMemory reports whether the owned server's process tree uses more
// than MaxRSS; it looks at most every rssInterval.
func (b *Backend) overMemory() (int64, bool) {
	b.mu.Lock()
	srv := b.srv
	due := b.cfg.MaxRSS > 0 && srv != nil && time.Since(b.rssChecked) >= rssInterval
	if due {
		b.rssChecked = time.Now()
	}
	b.mu.Unlock()
	if !due {
		return 0, false
	}
	rss := srv.p.RSS()
	return rss, rss > b.cfg.MaxRSS
}

// sandboxNote says what confines the server that checks, for
// Verification.Sandbox and doctor.
func (b *Backend) sandboxNote() string {
	if b.cfg.Address != "" {
		return fmt.Sprintf("none: the isabelle server at %s was started outside llemma-prove (isabelle.address); it is not ours to confine (see isabelle/VERIFY.md)", b.cfg.Address)
	}
	b.mu.Lock()
	srv := b.srv
	b.mu.Unlock()
	switch {
	case srv == nil:
		return "none: no isabelle server running"
	case srv.p.Exited():
		return "none: `" + strings.Join(b.cfg.Server, " ") + "` handed over a server already running under its name; llemma-prove did not start it and does not confine it (see isabelle/VERIFY.md)"
	case b.cfg.Unconfined:
		return "none: the isabelle server started by llemma-prove runs unconfined (Config.Unconfined)"
	case !strings.HasPrefix(srv.sandbox, "landlock"):
		// best effort on a kernel without Landlock: say so as is
		return srv.sandbox + "; the isabelle server started by llemma-prove runs unconfined (see isabelle/VERIFY.md)"
	}
	return srv.sandbox + ": the isabelle server started by llemma-prove and its sessions may write only ISABELLE_HOME_USER and the work directory; network not restricted (see isabelle/VERIFY.md)"
}
