// Package isabelle is the Isabelle backend of llemma-prove: a client of the
// Isabelle server's TCP protocol (framing, synchronous commands,
// asynchronous tasks), supervision of an `isabelle server` process on
// internal/proc (confined by internal/sandbox when this backend starts it),
// warm shared sessions, step-wise checking by prefix re-check, the tactic
// policy (policy.go), the final verification (challenge vs solution in a
// fresh session, with an oracle and axiom audit in ML: verify.go,
// VERIFY.md) and the miniF2F loader.
//
// Isabelle has no proof-state handles over the server, so a state is the
// list of steps from the statement. Each check is a fresh theory with a
// unique name: the original header (renamed) and statement, the steps, and
// a closing the client alone writes (print_state, done, end). The
// remaining subgoals are parsed from the closing's failure message.
//
// Every wait is bounded: by the Config's budgets (StartTimeout,
// ConnectTimeout, SessionTimeout, the step's timeout, CancelGrace) and by
// the caller's deadline when it comes first; a wait that outlives its
// bound is a *BudgetError with the real durations. A server that keeps
// failing (Config.MaxFailures) makes the backend broken: every later call
// fails at once with prover.ErrBackendBroken and the last failure.
package isabelle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
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
	// Address and Password reuse a running server (host:port). Such a
	// server is not started, stopped or confined by this backend.
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
	// StartTimeout bounds starting the server: the process, and the wait
	// for its server line (default 1 min). ConnectTimeout bounds one
	// connection: the dial, the password and the greeting (default 30 s).
	// SessionTimeout bounds a session_start (default 10 min). Each is cut
	// short by the caller's deadline when that comes first.
	StartTimeout, ConnectTimeout, SessionTimeout time.Duration
	// VerifyTimeout bounds a final check when ctx has no deadline (default 5 min).
	VerifyTimeout time.Duration
	// CancelGrace is how long a canceled task may take to end before the
	// server counts as unresponsive and is restarted (default 5 s); it also
	// bounds session_stop, purge_theories and shutdown, and each step of
	// stopping the server process (after shutdown, then after SIGTERM,
	// before SIGKILL).
	CancelGrace time.Duration
	// MaxFailures declares the backend broken (prover.ErrBackendBroken)
	// after this many server failures in a row (default 3): a start that
	// fails (the process exits, prints no server line within StartTimeout,
	// cannot be connected to), or a server that dies, drops its connection
	// or stops answering before it has answered HealthyTasks tasks since the
	// last failure (default 5).
	MaxFailures, HealthyTasks int
	// Workers bounds concurrent use_theories tasks (default 2).
	Workers int
	// WorkDir is where theory files are written; the server must be able to
	// read it (default: a new temporary directory, removed by Close).
	WorkDir string
	// MaxRSS, when positive, restarts a server this backend started once
	// its process tree's resident memory exceeds it (checked at most every
	// 10 s, between checks). Such a restart is not a failure.
	MaxRSS int64
	// MinBackoff and MaxBackoff bound the wait before a restart after a
	// failure (100 ms, 5 s; proc.Backoff with its jitter).
	MinBackoff, MaxBackoff time.Duration
	// Unconfined starts the server without the Landlock sandbox
	// (serverPolicy); Readable and Writable add paths it may read, or read
	// and write (Writable paths must exist).
	Unconfined         bool
	Readable, Writable []string
	Log                *slog.Logger
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
	def(&c.ConnectTimeout, 30*time.Second)
	def(&c.SessionTimeout, 10*time.Minute)
	def(&c.VerifyTimeout, 5*time.Minute)
	def(&c.CancelGrace, 5*time.Second)
	def(&c.MinBackoff, proc.DefaultBackoffBase)
	def(&c.MaxBackoff, proc.DefaultBackoffMax)
	if c.MaxFailures <= 0 {
		c.MaxFailures = 3
	}
	if c.HealthyTasks <= 0 {
		c.HealthyTasks = 5
	}
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
	srv        *server // the server this backend started (nil: none yet, or Address)
	incarn     uint64  // server incarnation: sessions live as long as it
	sessions   map[string]*sessionSlot
	connecting chan struct{}
	backoff    proc.Backoff
	failures   int   // server failures in a row (Config.MaxFailures)
	answered   int   // tasks answered since the last failure
	broken     error // set once: every later call fails with it
	restarts   int
	starts     int               // server processes started
	resolved   map[string]string // sledgehammer resolutions, see resolve
	info       map[string]any
	rssChecked time.Time
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
	b.backoff = proc.Backoff{Base: cfg.MinBackoff, Max: cfg.MaxBackoff}
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
// then extra (which win: later options override earlier ones), within
// SessionTimeout (or the caller's deadline). A session_start past its
// bound is canceled (within CancelGrace).
func (b *Backend) startSession(ctx context.Context, c *Client, name string, extra []string) (string, error) {
	sctx, cancel, bd := within(ctx, "session_start "+name, b.cfg.SessionTimeout, nil)
	defer cancel()
	arg := map[string]any{"session": name}
	if len(b.cfg.Dirs) > 0 {
		arg["dirs"] = b.cfg.Dirs
	}
	if opts := append(append([]string(nil), b.cfg.Options...), extra...); len(opts) > 0 {
		arg["options"] = opts
	}
	t, err := c.Start(sctx, "session_start", arg, nil)
	if err != nil {
		if sctx.Err() != nil {
			err = bd.ended(ctx, sctx)
		}
		return "", fmt.Errorf("starting session %s: %w", name, err)
	}
	raw, err := t.Wait(sctx)
	if err != nil {
		if sctx.Err() != nil {
			err = bd.ended(ctx, sctx)
			gctx, gc := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.CancelGrace)
			_ = c.Cancel(gctx, t.ID)
			gc()
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

// errTimeout: the check ran past its budget and was canceled. The error
// also carries the *BudgetError with the durations.
var errTimeout = errors.New("isabelle: check timed out")

// errConnLost: the connection died during the check.
var errConnLost = errors.New("isabelle: connection lost during the check")

// useTheory writes text as name.thy and checks it with use_theories in the
// session sessName within timeout. The theory is purged and the file
// removed afterwards. A dead or unresponsive server is restarted; the
// check is then reported as errConnLost or errTimeout.
func (b *Backend) useTheory(ctx context.Context, sessName, name, text string, timeout time.Duration, sessionID func(context.Context, *Client, uint64) (string, error)) (*useResult, error) {
	queued := time.Now()
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a free isabelle task slot: stopped after %v: %w", time.Since(queued).Round(time.Millisecond), context.Cause(ctx))
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
// timeout (cut short by ctx's deadline); purge drops the theory
// afterwards; onNote (may be nil) gets the task's NOTEs on the reader
// goroutine. A task past its bound is canceled; a server that does not
// end it within CancelGrace is restarted.
func (b *Backend) runUse(ctx context.Context, c *Client, sid, dir, name string, timeout time.Duration, purge bool, onNote func(Message)) (*useResult, error) {
	const checkDelay = 0.5
	tctx, cancel, bd := within(ctx, "use_theories "+name, timeout, prover.ErrTacticTimeout)
	defer cancel()
	// the server gives up by itself a little after the bound
	limit := int(bd.budget.Seconds()/checkDelay) + 2
	arg := map[string]any{
		"session_id":  sid,
		"theories":    []string{name},
		"master_dir":  dir,
		"check_delay": checkDelay,
		"check_limit": limit,
	}
	startCtx, cancelStart := context.WithTimeout(ctx, bd.budget+b.cfg.CancelGrace)
	t, err := c.Start(startCtx, "use_theories", arg, onNote)
	startExpired := startCtx.Err() != nil
	cancelStart()
	if err != nil {
		if errors.Is(err, prover.ErrProcessDied) {
			return nil, fmt.Errorf("%w: %w", errConnLost, err)
		}
		if ctx.Err() == nil && startExpired {
			be := &BudgetError{Wait: "use_theories " + name + " (the server's OK)", Budget: bd.budget + b.cfg.CancelGrace, Elapsed: time.Since(bd.start), Err: context.DeadlineExceeded}
			b.restart(c, be, true)
			return nil, fmt.Errorf("%w: %w", errTimeout, be)
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("use_theories %s: stopped after %v: %w", name, time.Since(bd.start).Round(time.Millisecond), context.Cause(ctx))
		}
		return nil, err
	}
	raw, err := t.Wait(tctx)
	doPurge := func() {
		if purge {
			b.purge(c, sid, dir, name)
		}
	}
	if err == nil {
		doPurge()
		b.answer()
		var r useResult
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, fmt.Errorf("decoding use_theories result: %w", err)
		}
		return &r, nil
	}
	if errors.Is(err, prover.ErrProcessDied) {
		return nil, fmt.Errorf("%w: %w", errConnLost, err)
	}
	var tf *TaskFailed
	if errors.As(err, &tf) {
		doPurge()
		b.answer()
		return nil, err
	}
	// past the bound, or the caller gone: cancel the task, and restart a
	// server that does not even end a canceled task
	ended := bd.ended(ctx, tctx)
	gctx, gcancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.CancelGrace)
	defer gcancel()
	if cerr := c.Cancel(gctx, t.ID); cerr == nil {
		_, cerr = t.Wait(gctx)
		if errors.As(cerr, &tf) {
			cerr = nil
		}
		if cerr != nil && !errors.Is(cerr, prover.ErrProcessDied) {
			b.restart(c, fmt.Errorf("the canceled task %s did not end within %v (cancel grace): %w", name, b.cfg.CancelGrace, cerr), true)
		} else if cerr == nil {
			doPurge()
		}
	} else if !errors.Is(cerr, prover.ErrProcessDied) {
		b.restart(c, fmt.Errorf("no reply to cancel within %v (cancel grace): %w", b.cfg.CancelGrace, cerr), true)
	}
	if ctx.Err() != nil {
		return nil, ended
	}
	return nil, fmt.Errorf("%w: %w", errTimeout, ended)
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
