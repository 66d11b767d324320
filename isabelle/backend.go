// Package isabelle is the Isabelle backend of llemma-prove: a client of the
// Isabelle server's TCP protocol (framing, synchronous commands,
// asynchronous tasks), supervision of an `isabelle server` process, warm
// shared sessions, step-wise checking by prefix re-check, the final
// verification (challenge vs solution in a fresh session, with an oracle
// and axiom audit in ML: verify.go, VERIFY.md) and the miniF2F loader.
//
// Isabelle has no proof-state handles over the server, so a state is the
// list of steps from the statement. Each check is a fresh theory with a
// unique name: the original header (renamed) and statement, the steps, and
// a closing the client alone writes (print_state, done, end). The
// remaining subgoals are parsed from the closing's failure message.
package isabelle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Config configures a Backend. Zero fields are defaulted by New.
type Config struct {
	// Server is the command that starts a server and prints its
	// `server "NAME" = 127.0.0.1:PORT (password "PW")` line
	// (default ["isabelle", "server"]). Ignored when Address is set.
	Server []string
	// Env is added to the server process's environment.
	Env []string
	// Address and Password reuse a running server (host:port).
	Address, Password string
	// Session is the session started for theorems (default "HOL"); it should
	// contain the theorems' imports (see the reference's MiniF2F_Base).
	Session string
	// SessionFor, when set, picks the session from a theorem's imports.
	SessionFor func(imports string) string
	// Dirs and Options are passed to session_start (dirs, options).
	Dirs, Options []string
	// StepTimeout bounds one ordinary step check (default 10 s) when the
	// caller gives none; SledgehammerTimeout bounds a sledgehammer call
	// (default 30 s).
	StepTimeout, SledgehammerTimeout time.Duration
	// StartTimeout bounds starting the server and connecting (default 1 min);
	// SessionTimeout bounds session_start (default 10 min).
	StartTimeout, SessionTimeout time.Duration
	// VerifyTimeout bounds a final check when ctx has no deadline (default 5 min).
	VerifyTimeout time.Duration
	// CancelGrace is how long a canceled task may take to end before the
	// server counts as unresponsive and is restarted (default 5 s).
	CancelGrace time.Duration
	// Workers bounds concurrent use_theories tasks (default 2).
	Workers int
	// WorkDir is where theory files are written; the server must be able to
	// read it (default: a new temporary directory, removed by Close).
	WorkDir string
	// MaxRSS, when positive, restarts a server this backend started once
	// its process group's resident memory exceeds it (checked at most every
	// 10 s, between checks).
	MaxRSS int64
	// MinBackoff and MaxBackoff bound the wait before a restart (100 ms, 5 s).
	MinBackoff, MaxBackoff time.Duration
	Log                    *slog.Logger
}

func (c *Config) defaults() {
	if len(c.Server) == 0 {
		c.Server = []string{"isabelle", "server"}
	}
	if c.Session == "" {
		c.Session = "HOL"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.StepTimeout, 10*time.Second)
	def(&c.SledgehammerTimeout, 30*time.Second)
	def(&c.StartTimeout, time.Minute)
	def(&c.SessionTimeout, 10*time.Minute)
	def(&c.VerifyTimeout, 5*time.Minute)
	def(&c.CancelGrace, 5*time.Second)
	def(&c.MinBackoff, 100*time.Millisecond)
	def(&c.MaxBackoff, 5*time.Second)
	if c.Workers <= 0 {
		c.Workers = 2
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Backend owns one Isabelle server (started or reused), one connection and
// the warm sessions on it.
type Backend struct {
	cfg     Config
	policy  Policy
	sem     chan struct{}
	workDir string
	ownDir  bool
	seq     atomic.Uint64
	nonce   string // keeps theory names unique across backends on one server

	mu         sync.Mutex
	closed     bool
	conn       *Client
	proc       *serverProc
	incarn     uint64 // server incarnation: sessions live as long as it
	sessions   map[string]*sessionSlot
	connecting chan struct{}
	failures   int // consecutive failed connects or restarts, for backoff
	restarts   int
	resolved   map[string]string // sledgehammer resolutions, see resolve
	info       map[string]any
	rssChecked time.Time
}

// rssInterval is how often MaxRSS is checked.
var rssInterval = 10 * time.Second

// overMemory reports whether the owned server's process group uses more
// than MaxRSS; it looks at most every rssInterval.
func (b *Backend) overMemory() (int64, bool) {
	b.mu.Lock()
	proc := b.proc
	due := b.cfg.MaxRSS > 0 && proc != nil && time.Since(b.rssChecked) >= rssInterval
	if due {
		b.rssChecked = time.Now()
	}
	b.mu.Unlock()
	if !due || !proc.alive() {
		return 0, false
	}
	rss, ok := groupRSS(proc.cmd.Process.Pid)
	return rss, ok && rss > b.cfg.MaxRSS
}

type sessionSlot struct {
	ready  chan struct{}
	id     string
	err    error
	incarn uint64
}

var _ prover.Backend = (*Backend)(nil)

// New returns a Backend; nothing is started until first use.
func New(cfg Config) (*Backend, error) {
	cfg.defaults()
	b := &Backend{cfg: cfg, sem: make(chan struct{}, cfg.Workers), sessions: map[string]*sessionSlot{}, resolved: map[string]string{}}
	var r [4]byte
	_, _ = rand.Read(r[:])
	b.nonce = hex.EncodeToString(r[:])
	if cfg.WorkDir == "" {
		d, err := os.MkdirTemp("", "llemma-isabelle-")
		if err != nil {
			return nil, fmt.Errorf("creating isabelle work dir: %w", err)
		}
		b.workDir, b.ownDir = d, true
	} else {
		d, err := filepath.Abs(cfg.WorkDir)
		if err != nil {
			return nil, err
		}
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("creating isabelle work dir: %w", err)
		}
		b.workDir = d
	}
	return b, nil
}

// Name is "isabelle".
func (b *Backend) Name() string { return "isabelle" }

// Policy is the Isabelle tactic policy.
func (b *Backend) Policy() prover.Policy { return b.policy }

// Restarts counts server restarts and reconnections after failures.
func (b *Backend) Restarts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.restarts
}

// Close stops the sessions and the server this backend started.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	conn, proc := b.conn, b.proc
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
	b.conn, b.proc = nil, nil
	b.mu.Unlock()
	if conn != nil && conn.Err() == nil {
		ctx, cancel := context.WithTimeout(context.Background(), b.cfg.CancelGrace)
		for _, id := range ids {
			_, _ = conn.Run(ctx, "session_stop", map[string]string{"session_id": id}, nil)
		}
		if proc != nil && proc.alive() {
			// only a server this backend started (a server found running
			// by `isabelle server -n NAME` belongs to someone else)
			_ = conn.Shutdown(ctx)
		}
		cancel()
		conn.Close()
	}
	if proc != nil {
		proc.kill()
	}
	if b.ownDir {
		_ = os.RemoveAll(b.workDir)
	}
	return nil
}

// ensure returns a live connection, connecting or (re)starting the server
// when needed, with capped backoff after failures.
func (b *Backend) ensure(ctx context.Context) (*Client, uint64, error) {
	for {
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			return nil, 0, prover.ErrClosed
		}
		if b.conn != nil && b.conn.Err() == nil {
			c, inc := b.conn, b.incarn
			b.mu.Unlock()
			if rss, over := b.overMemory(); over {
				b.restart(c, fmt.Sprintf("server uses %d MB, over the %d MB limit", rss>>20, b.cfg.MaxRSS>>20))
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
		failures := b.failures
		hadConn := b.conn != nil
		b.mu.Unlock()

		err := b.backoff(ctx, failures)
		var c *Client
		if err == nil {
			c, err = b.connect(ctx)
		}
		b.mu.Lock()
		b.connecting = nil
		close(ch)
		if err != nil {
			b.failures++
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

func (b *Backend) backoff(ctx context.Context, failures int) error {
	if failures == 0 {
		return nil
	}
	d := time.Duration(float64(b.cfg.MinBackoff) * math.Pow(2, float64(failures-1)))
	if d > b.cfg.MaxBackoff || d <= 0 {
		d = b.cfg.MaxBackoff
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// connect dials the configured server, or the running child, or starts a
// new child. Called by the one goroutine holding b.connecting.
func (b *Backend) connect(ctx context.Context) (*Client, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.StartTimeout)
	defer cancel()
	if b.cfg.Address != "" {
		c, info, err := Dial(ctx, b.cfg.Address, b.cfg.Password, DialOptions{})
		if err != nil {
			return nil, fmt.Errorf("%w: %v", prover.ErrUnavailable, err)
		}
		b.setInfo(info)
		return c, nil
	}
	b.mu.Lock()
	proc := b.proc
	b.mu.Unlock()
	if proc != nil {
		// the same server may still be there: reconnect, keeping sessions
		if c, info, err := Dial(ctx, proc.info.Address, proc.info.Password, DialOptions{}); err == nil {
			b.setInfo(info)
			return c, nil
		}
		b.dropProc(proc)
	}
	p, err := startServer(ctx, b.cfg.Server, b.cfg.Env)
	if err != nil {
		return nil, err
	}
	c, info, err := Dial(ctx, p.info.Address, p.info.Password, DialOptions{})
	if err != nil {
		p.kill()
		return nil, p.exitError(err)
	}
	b.mu.Lock()
	b.proc = p
	b.incarn++
	b.sessions = map[string]*sessionSlot{}
	b.mu.Unlock()
	b.setInfo(info)
	return c, nil
}

func (b *Backend) setInfo(info map[string]any) {
	b.mu.Lock()
	b.info = info
	b.mu.Unlock()
}

func (b *Backend) dropProc(p *serverProc) {
	b.mu.Lock()
	if b.proc == p {
		b.proc = nil
		b.incarn++
		b.sessions = map[string]*sessionSlot{}
	}
	b.mu.Unlock()
	p.kill()
}

// restart is called when the server stopped answering on conn: the
// connection is dropped and a server this backend owns is killed (its
// process group), so the next ensure starts a new one.
func (b *Backend) restart(conn *Client, reason string) {
	b.cfg.Log.Warn("isabelle server unresponsive; restarting", "reason", reason)
	b.mu.Lock()
	if b.conn != conn {
		b.mu.Unlock()
		return // someone already replaced it
	}
	b.conn = nil
	b.restarts++
	b.failures++
	proc := b.proc
	b.mu.Unlock()
	conn.Close()
	if proc != nil {
		b.dropProc(proc)
	} else {
		b.mu.Lock()
		b.incarn++
		b.sessions = map[string]*sessionSlot{}
		b.mu.Unlock()
	}
}

func (b *Backend) healthy() {
	b.mu.Lock()
	b.failures = 0
	b.mu.Unlock()
}

// sessionID returns the warm session named name on the current server,
// starting it once (callers wait for the one start).
func (b *Backend) sessionID(ctx context.Context, c *Client, inc uint64, name string) (string, error) {
	b.mu.Lock()
	s := b.sessions[name]
	if s == nil || s.incarn != inc {
		s = &sessionSlot{ready: make(chan struct{}), incarn: inc}
		b.sessions[name] = s
		b.mu.Unlock()
		s.id, s.err = b.startSession(ctx, c, name, nil)
		if s.err != nil {
			b.mu.Lock()
			if b.sessions[name] == s {
				delete(b.sessions, name)
			}
			b.mu.Unlock()
		}
		close(s.ready)
		return s.id, s.err
	}
	b.mu.Unlock()
	select {
	case <-s.ready:
		return s.id, s.err
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
}

// startSession starts session name with the configured dirs and options,
// then extra (which win: later options override earlier ones).
func (b *Backend) startSession(ctx context.Context, c *Client, name string, extra []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, b.cfg.SessionTimeout)
	defer cancel()
	arg := map[string]any{"session": name}
	if len(b.cfg.Dirs) > 0 {
		arg["dirs"] = b.cfg.Dirs
	}
	if opts := append(append([]string(nil), b.cfg.Options...), extra...); len(opts) > 0 {
		arg["options"] = opts
	}
	t, err := c.Start(ctx, "session_start", arg, nil)
	if err != nil {
		return "", fmt.Errorf("starting session %s: %w", name, err)
	}
	raw, err := t.Wait(ctx)
	if err != nil {
		if ctx.Err() != nil {
			cctx, cc := context.WithTimeout(context.Background(), b.cfg.CancelGrace)
			_ = c.Cancel(cctx, t.ID)
			cc()
		}
		return "", fmt.Errorf("starting session %s: %w", name, err)
	}
	var v struct {
		SessionID string `json:"session_id"`
	}
	if err := json.Unmarshal(raw, &v); err != nil || v.SessionID == "" {
		return "", fmt.Errorf("starting session %s: no session_id in %q", name, clip(string(raw), 200))
	}
	return v.SessionID, nil
}

func (b *Backend) forgetSession(name, id string) {
	b.mu.Lock()
	if s := b.sessions[name]; s != nil && s.id == id {
		delete(b.sessions, name)
	}
	b.mu.Unlock()
}

// uniqueName returns a fresh theory name with the given prefix.
func (b *Backend) uniqueName(prefix string) string {
	return fmt.Sprintf("%s_%s_%d", prefix, b.nonce, b.seq.Add(1))
}

// Result types of use_theories.

type isaPos struct {
	Line int    `json:"line"`
	File string `json:"file"`
}

type isaMessage struct {
	Kind    string  `json:"kind"`
	Message string  `json:"message"`
	Pos     *isaPos `json:"pos"`
}

type nodeStatus struct {
	OK           bool `json:"ok"`
	Total        int  `json:"total"`
	Unprocessed  int  `json:"unprocessed"`
	Running      int  `json:"running"`
	Warned       int  `json:"warned"`
	Failed       int  `json:"failed"`
	Finished     int  `json:"finished"`
	Canceled     bool `json:"canceled"`
	Consolidated bool `json:"consolidated"`
}

type useNode struct {
	NodeName   string       `json:"node_name"`
	TheoryName string       `json:"theory_name"`
	Status     nodeStatus   `json:"status"`
	Messages   []isaMessage `json:"messages"`
}

type useResult struct {
	OK     bool         `json:"ok"`
	Errors []isaMessage `json:"errors"`
	Nodes  []useNode    `json:"nodes"`
}

// node returns the result node of theory name.
func (r *useResult) node(name string) *useNode {
	for i := range r.Nodes {
		n := &r.Nodes[i]
		if n.TheoryName == name || strings.HasSuffix(n.TheoryName, "."+name) ||
			filepath.Base(n.NodeName) == name+".thy" {
			return n
		}
	}
	return nil
}

// errTimeout: the check ran past its deadline and was canceled.
var errTimeout = errors.New("isabelle: check timed out")

// errConnLost: the connection died during the check.
var errConnLost = errors.New("isabelle: connection lost during the check")

// useTheory writes text as name.thy and checks it with use_theories in the
// session sessName within timeout. The theory is purged and the file
// removed afterwards. A dead or unresponsive server is restarted; the
// check is then reported as errConnLost or errTimeout.
func (b *Backend) useTheory(ctx context.Context, sessName, name, text string, timeout time.Duration, sessionID func(context.Context, *Client, uint64) (string, error)) (*useResult, error) {
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-b.sem }()

	path := filepath.Join(b.workDir, name+".thy")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(path)

	for attempt := 0; ; attempt++ {
		c, inc, err := b.ensure(ctx)
		if err != nil {
			return nil, err
		}
		if sessionID == nil {
			sessionID = func(ctx context.Context, c *Client, inc uint64) (string, error) {
				return b.sessionID(ctx, c, inc, sessName)
			}
		}
		sid, err := sessionID(ctx, c, inc)
		if err != nil {
			if errors.Is(err, prover.ErrProcessDied) && attempt == 0 {
				continue
			}
			return nil, err
		}
		res, err := b.runUse(ctx, c, sid, b.workDir, name, timeout, true, nil)
		var tf *TaskFailed
		if errors.As(err, &tf) && strings.HasPrefix(tf.Message, "No session") && attempt == 0 {
			b.forgetSession(sessName, sid)
			continue
		}
		return res, err
	}
}

// runUse runs use_theories for theory name of dir in session sid within
// timeout; purge drops the theory afterwards; onNote (may be nil) gets the
// task's NOTEs on the reader goroutine.
func (b *Backend) runUse(ctx context.Context, c *Client, sid, dir, name string, timeout time.Duration, purge bool, onNote func(Message)) (*useResult, error) {
	const checkDelay = 0.5
	limit := int(timeout.Seconds()/checkDelay) + 2
	arg := map[string]any{
		"session_id":  sid,
		"theories":    []string{name},
		"master_dir":  dir,
		"check_delay": checkDelay,
		"check_limit": limit,
	}
	startCtx, cancelStart := context.WithTimeout(ctx, timeout+b.cfg.CancelGrace)
	t, err := c.Start(startCtx, "use_theories", arg, onNote)
	cancelStart()
	if err != nil {
		if errors.Is(err, prover.ErrProcessDied) {
			return nil, fmt.Errorf("%w: %v", errConnLost, err)
		}
		if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			b.restart(c, "no reply to use_theories")
			return nil, errTimeout
		}
		return nil, err
	}
	tctx, cancel := context.WithTimeoutCause(ctx, timeout, prover.ErrTacticTimeout)
	raw, err := t.Wait(tctx)
	cancel()
	doPurge := func() {
		if purge {
			b.purge(c, sid, dir, name)
		}
	}
	if err == nil {
		doPurge()
		b.healthy()
		var r useResult
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("decoding use_theories result: %w", err)
		}
		return &r, nil
	}
	if errors.Is(err, prover.ErrProcessDied) {
		return nil, fmt.Errorf("%w: %v", errConnLost, err)
	}
	var tf *TaskFailed
	if errors.As(err, &tf) {
		doPurge()
		b.healthy()
		return nil, err
	}
	// deadline or caller gone: cancel the task, and restart a server that
	// does not even end a canceled task
	gctx, gcancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.CancelGrace)
	defer gcancel()
	if cerr := c.Cancel(gctx, t.ID); cerr == nil {
		_, cerr = t.Wait(gctx)
		if errors.As(cerr, &tf) {
			cerr = nil
		}
		if cerr != nil && !errors.Is(cerr, prover.ErrProcessDied) {
			b.restart(c, "canceled task did not end: "+cerr.Error())
		} else if cerr == nil {
			doPurge()
		}
	} else if !errors.Is(cerr, prover.ErrProcessDied) {
		b.restart(c, "no reply to cancel: "+cerr.Error())
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	return nil, errTimeout
}

// purge drops theory name from the session so memory stays bounded.
func (b *Backend) purge(c *Client, sid, dir, name string) {
	if c.Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.cfg.CancelGrace)
	defer cancel()
	_, err := c.Call(ctx, "purge_theories", map[string]any{
		"session_id": sid, "theories": []string{name}, "master_dir": dir,
	})
	if err != nil {
		b.cfg.Log.Debug("purge_theories failed", "theory", name, "err", err)
	}
}

// sessionFor picks the session for thm.
func (b *Backend) sessionFor(thm prover.Theorem) string {
	if b.cfg.SessionFor != nil {
		imp, _ := Imports(thm)
		if s := b.cfg.SessionFor(imp); s != "" {
			return s
		}
	}
	return b.cfg.Session
}

// resolve replaces the sledgehammer steps of a search path by the tactic
// each one was resolved into during search.
func (b *Backend) resolve(thm prover.Theorem, proof []string) []string {
	out := make([]string, len(proof))
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, s := range proof {
		out[i] = s
		if s == "sledgehammer" {
			if r, ok := b.resolved[resolveKey(thm, proof[:i])]; ok {
				out[i] = r
			}
		}
	}
	return out
}

func resolveKey(thm prover.Theorem, prefix []string) string {
	return thm.Name + "\x00" + thm.Statement + "\x00" + strings.Join(prefix, "\x00")
}

func (b *Backend) recordResolution(thm prover.Theorem, prefix []string, tactic string) {
	b.mu.Lock()
	b.resolved[resolveKey(thm, prefix)] = tactic
	b.mu.Unlock()
}
