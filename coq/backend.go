// Package coq is the Coq backend: coqtop driven sentence by sentence for
// search (coqtop.md), warm processes with the prelude loaded, the Coq
// tactic policy (Policy), and the final check, challenge vs solution with
// coqc and coqchk.
//
// Every coqtop is an internal/proc process. A tactic's timeout is a budget
// of coqtop CPU time, not wall time (Coq's own Timeout is wall clock, so a
// loaded machine would turn slow tactics into timeouts): past it coqtop gets
// SIGINT, which stops the sentence and keeps the process; one that does not
// stop is killed, and the session restarts and replays its path. Waits are
// bounded by the caller's ctx (the theorem's budget): a stopped or hung
// coqtop costs the budget plus Config.Grace. A backend whose coqtop cannot
// start or keeps dying declares itself broken (prover.ErrBackendBroken).
package coq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/prover"
)

// Prelude is sent (and written into every verified file) before the
// theorem's own header, so that lia/nia/lra/nra/psatz/field/ring exist
// whatever the file imports; the file's imports come after and take
// precedence. ZifyNat and ZifyN teach lia about nat and N division and
// modulo (mathd_numbertheory's congruences); they add tactic instances only.
const Prelude = "From Coq Require Import Arith ZArith Lia Lra Psatz Field Ring ZifyNat ZifyN."

// IntervalPrelude loads the interval tactic (Debian's libcoq-interval);
// it is sent when Config.Interval is set and written into a verified file
// only when its proof uses the tactic.
const IntervalPrelude = "From Interval Require Import Tactic."

// HammerPrelude loads CoqHammer's ATP-free tactics (Debian's
// libcoq-hammer: sauto, qauto, hauto, sfirstorder, hecrush...). It is sent
// to every coqtop when the library is installed (no external prover runs:
// these are Ltac and an OCaml plugin) and written into a verified file only
// when its proof uses one of HammerTactics. It brings the axiom
// Coq.Logic.Eqdep.Eq_rect_eq.eq_rect_eq into the environment (through
// Program.Equality), which DefaultAllowedAxioms accepts.
const HammerPrelude = "From Hammer Require Import Tactics."

// HammerTactics are the tactics of HammerPrelude a proof may name.
var HammerTactics = []string{"sauto", "qauto", "hauto", "sfirstorder", "hecrush", "scrush", "srun", "strivial", "sblast", "ssimpl", "sintuition", "sdone"}

// Config configures the Coq backend. Zero fields take the defaults.
type Config struct {
	Coqtop []string // command for one coqtop (default coqtop -quiet -emacs)
	Coqc   string   // default coqc
	Coqchk string   // default coqchk
	// Workers is the number of busy checker processes at most: coqtop
	// sessions and coqc runs together (default: the CPUs this process may
	// use, proc.CPUs).
	Workers int
	// Processes is the number of coqtop processes alive at most, busy or
	// parked (default, and at least, Workers): more than Workers lets
	// sessions parked while waiting for the model keep their process, so
	// that resuming costs no reload and replay, at the price of the
	// memory of idle coqtops. Busy ones are Workers at most either way.
	Processes int
	// MemoryLimit is each process's address-space limit in bytes (default
	// 4 GiB; negative: none).
	MemoryLimit int64
	// MaxUses recycles a warm process after this many theorems (default 20).
	MaxUses int
	// RSSLimit recycles a warm process above this resident size (default 1.5 GiB).
	RSSLimit int64
	// StartTimeout bounds starting one coqtop, to its first prompt and
	// through the prelude (default 20 s; an earlier ctx deadline wins).
	StartTimeout time.Duration
	// LoadTimeout bounds loading one theorem (its header, statement and
	// Proof.) when the ctx has no earlier deadline (default 2 min).
	LoadTimeout time.Duration
	// Grace is how long a sentence stopped by SIGINT (its CPU budget
	// spent, or the theorem's ctx ended) may take to answer before its
	// process is killed (default 1 s).
	Grace time.Duration
	// WallFactor sets each tactic's wall backstop, WallFactor times its
	// timeout (default 20): the timeout itself is a budget of coqtop CPU
	// time, which load does not stretch; the wall backstop only catches a
	// process that does not run at all.
	WallFactor float64
	// MaxStartFailures declares the backend broken after this many coqtop
	// starts failed in a row, and after this many sessions in a row saw
	// coqtop die more than MaxCrashes times (default 3).
	MaxStartFailures int
	// MaxCrashes is how many times coqtop may die on its own (not killed
	// at a deadline) within one session before the session gives up with
	// prover.ErrBackendBroken (default 3).
	MaxCrashes int
	// VerifyTimeout bounds one coqc run (default 120 s).
	VerifyTimeout time.Duration
	// AllowedAxioms replaces DefaultAllowedAxioms (full paths) when set.
	AllowedAxioms []string
	// Interval loads libcoq-interval's tactic in every process.
	Interval bool
	// WorkDir holds the verifier's job directories (default os.TempDir()).
	WorkDir string
	Env     []string // extra environment for the children
	Log     *slog.Logger
}

func (c *Config) defaults() {
	if len(c.Coqtop) == 0 {
		c.Coqtop = []string{"coqtop", "-quiet", "-emacs"}
	}
	if c.Coqc == "" {
		c.Coqc = "coqc"
	}
	if c.Coqchk == "" {
		c.Coqchk = "coqchk"
	}
	if c.Workers <= 0 {
		c.Workers = proc.CPUs()
	}
	c.Processes = max(c.Processes, c.Workers)
	if c.MemoryLimit == 0 {
		c.MemoryLimit = 4 << 30
	}
	if c.MaxUses <= 0 {
		c.MaxUses = 20
	}
	if c.RSSLimit <= 0 {
		c.RSSLimit = 1536 << 20
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 20 * time.Second
	}
	if c.LoadTimeout <= 0 {
		c.LoadTimeout = 2 * time.Minute
	}
	if c.Grace <= 0 {
		c.Grace = defaultGrace
	}
	if c.WallFactor < 1 {
		c.WallFactor = 20
	}
	if c.MaxStartFailures <= 0 {
		c.MaxStartFailures = 3
	}
	if c.MaxCrashes <= 0 {
		c.MaxCrashes = 3
	}
	if c.VerifyTimeout <= 0 {
		c.VerifyTimeout = 120 * time.Second
	}
	if len(c.AllowedAxioms) == 0 {
		c.AllowedAxioms = DefaultAllowedAxioms
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
}

// Backend runs Coq proof sessions on a pool of warm coqtop processes.
//
// One limiter, slots (Workers), bounds the busy checker processes: a
// session holds a slot from Open to Close, a final check (coqc, coqchk)
// for its run. The warm coqtops live in a proc.Pool of Processes (at
// least Workers): busy sessions hold slots, parked ones (park.go) only
// their process, which another session takes when the pool is full; the pool
// starts them lazily with the prelude loaded, paces starts after failures
// with the project's one backoff policy, and recycles them after MaxUses
// theorems or above RSSLimit.
type Backend struct {
	cfg   Config
	slots *semaphore.Weighted
	pool  *proc.Pool[*coqtop]

	mu            sync.Mutex
	stats         Stats
	startFailures int   // consecutive failed starts
	crashLoops    int   // consecutive sessions that gave up after MaxCrashes deaths
	broken        error // set once: every later Open fails with it
	// parked are the parked sessions that still hold their process, the
	// least recently parked first (park.go); leaseMu (one token) makes
	// leases choose between the pool and them one at a time.
	parked  []*session
	leaseMu chan struct{}

	// Compiled challenges, by statement, for the backend's lifetime.
	chalMu   sync.Mutex
	chalDirs map[string]*chalEntry
	chalRoot string

	libOnce sync.Once
	coqLib  string // coqc -where: read by the sandboxed checkers

	hammerOnce sync.Once
	hammer     bool // CoqHammer's tactics are installed
}

// Stats counts the backend's process events and their cost, for the
// runner's cost accounting (SessionStats has them per theorem).
type Stats struct {
	Sessions      int // theorems opened
	Started       int // coqtop processes started (first prompt and prelude reached)
	StartFailures int // starts that failed (not counting a cancelled caller)
	Restarts      int // processes replaced within a session after a kill or a death
	Interrupted   int // sentences stopped by SIGINT at their CPU budget or the ctx's end; the process was kept
	Killed        int // processes killed: a sentence that could not be interrupted, a wall backstop, a misbehaving process
	Crashes       int // processes that died on their own or misbehaved (garbage, flood)
	Recycled      int // closed after MaxUses theorems or above RSSLimit
	// StartTime is the wall time from exec to the first prompt, and
	// PreludeTime from there through the settings and the prelude, summed
	// over the starts.
	StartTime, PreludeTime time.Duration
	// LoadTime is the wall time spent loading theorems (header, statement,
	// Proof.), reloads after restarts included.
	LoadTime time.Duration
	// CheckerCPU is the coqtop CPU time spent on sessions' sentences.
	CheckerCPU time.Duration
	// Parks counts sessions parked while waiting for the model; Taken the
	// processes lent by a parked session to another; Reloads the resumes
	// that then loaded their theorem on another process.
	Parks, Taken, Reloads int
	Broken                bool // the backend was declared broken (see Config.MaxStartFailures)
}

var _ prover.Backend = (*Backend)(nil)

// poolKey is the one key of the warm pool: every process has the same
// prelude.
const poolKey = "prelude"

// New returns a backend; processes start lazily.
func New(cfg Config) *Backend {
	cfg.defaults()
	b := &Backend{cfg: cfg, slots: semaphore.NewWeighted(int64(cfg.Workers)), leaseMu: make(chan struct{}, 1)}
	b.pool = proc.NewPool(proc.PoolConfig[*coqtop]{
		Size:    cfg.Processes,
		MaxUses: cfg.MaxUses,
		MaxRSS:  cfg.RSSLimit,
		Start:   b.startWarm,
		Close:   (*coqtop).close,
		Healthy: (*coqtop).healthy,
		RSS:     func(c *coqtop) int64 { return c.p.RSS() },
	})
	return b
}

func (b *Backend) Name() string { return "coq" }

// Policy is the Coq tactic policy.
func (b *Backend) Policy() prover.Policy { return Policy{} }

// Stats returns a snapshot of the process counters.
func (b *Backend) Stats() Stats {
	b.mu.Lock()
	s := b.stats
	s.Broken = b.broken != nil
	b.mu.Unlock()
	s.Recycled = b.pool.Stats().Recycled
	return s
}

// Close stops the idle processes and waits a moment for sessions still
// open to give theirs back (a process given back later is stopped then).
func (b *Backend) Close() error {
	st := b.Stats()
	b.cfg.Log.Info("coq backend closing", "sessions", st.Sessions, "started", st.Started, "start_failures", st.StartFailures,
		"restarts", st.Restarts, "interrupted", st.Interrupted, "killed", st.Killed, "crashes", st.Crashes, "recycled", st.Recycled,
		"start_time", st.StartTime, "prelude_time", st.PreludeTime, "load_time", st.LoadTime, "checker_cpu", st.CheckerCPU, "broken", st.Broken)
	ctx, cancel := context.WithTimeout(context.Background(), 2*b.cfg.Grace)
	err := b.pool.Close(ctx)
	cancel()
	b.chalMu.Lock()
	root := b.chalRoot
	b.chalRoot, b.chalDirs = "", nil
	b.chalMu.Unlock()
	if root != "" {
		err = errors.Join(err, os.RemoveAll(root))
	}
	return err
}

// brokenErr is the error every Open returns once the backend is broken.
func (b *Backend) brokenErr() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.broken
}

// declareBroken records the first reason the backend is broken.
func (b *Backend) declareBroken(err error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.broken == nil {
		b.broken = err
		b.cfg.Log.Error("coq backend broken: no further theorem will be tried", "err", err)
	}
	return b.broken
}

// lease takes a warm process from the pool (starting one if need be), or,
// when the pool has none free, the process of a parked session (park.go).
func (b *Backend) lease(ctx context.Context) (*coqtop, error) {
	if err := b.brokenErr(); err != nil {
		return nil, err
	}
	select {
	case b.leaseMu <- struct{}{}:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { <-b.leaseMu }()
	if c := b.takeParked(); c != nil {
		// Through the pool, so that the lease counts towards MaxUses and
		// an unhealthy process is replaced: the pool hands the same
		// process back (the most recently used idle one) or a new one.
		b.pool.Put(c, c.healthy())
	}
	c, err := b.pool.Get(ctx, poolKey)
	if errors.Is(err, proc.ErrClosed) {
		return nil, fmt.Errorf("%w: %w", prover.ErrClosed, err)
	}
	return c, err
}

// errStartTimeout is the cause when a start outlives Config.StartTimeout.
var errStartTimeout = errors.New("coq: start timeout")

// startWarm is the pool's Start: a coqtop with the settings and the
// prelude loaded, within StartTimeout (and ctx). Consecutive failures
// past MaxStartFailures declare the backend broken.
func (b *Backend) startWarm(ctx context.Context, _ string) (*coqtop, error) {
	if err := b.brokenErr(); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeoutCause(ctx, b.cfg.StartTimeout, fmt.Errorf("%w of %v", errStartTimeout, b.cfg.StartTimeout))
	defer cancel()
	t0 := time.Now()
	c, _, err := startCoqtop(sctx, b.cfg.Coqtop, b.cfg.MemoryLimit, b.cfg.Env)
	t1 := time.Now()
	if err == nil {
		c.grace = b.cfg.Grace
		sentences := []string{"Set Silent.", "Set Printing Width 1000.", Prelude}
		if b.cfg.Interval {
			sentences = append(sentences, IntervalPrelude)
		}
		if b.hammerInstalled() {
			sentences = append(sentences, HammerPrelude)
		}
		for _, s := range sentences {
			var r reply
			r, err = c.exchange(sctx, s, limits{what: strconv.Quote(s)})
			if err == nil && hasError(r.Text) {
				err = fmt.Errorf("coqtop rejected %q: %s", s, strings.TrimSpace(r.Text))
			}
			if err != nil {
				err = fmt.Errorf("loading the prelude (%v in): %w", time.Since(t1).Round(time.Millisecond), err)
				c.kill()
				break
			}
			c.base = r.State
		}
	}
	if err != nil && ctx.Err() != nil {
		// The caller gave up (its budget ran out), not the backend.
		return nil, fmt.Errorf("starting coqtop: %w", err)
	}
	b.mu.Lock()
	if err == nil {
		b.startFailures = 0
		b.stats.Started++
		b.stats.StartTime += t1.Sub(t0)
		b.stats.PreludeTime += time.Since(t1)
		b.mu.Unlock()
		c.startTime = time.Since(t0)
		return c, nil
	}
	b.stats.StartFailures++
	b.startFailures++
	n := b.startFailures
	b.mu.Unlock()
	err = fmt.Errorf("starting coqtop (failure %d in a row): %w", n, err)
	if n >= b.cfg.MaxStartFailures {
		return nil, b.declareBroken(fmt.Errorf("%w: %d coqtop starts failed in a row; the last: %w", prover.ErrBackendBroken, n, err))
	}
	return nil, err
}

// hasError reports whether a sentence's response carries an error. The
// authoritative signal is the state id; this is the backup of coqtop.md §3.5.
func hasError(text string) bool {
	return strings.HasPrefix(text, "Error:") || strings.Contains(text, "\nError:") || strings.Contains(text, "\nError ")
}

// errText is the error part of a failed sentence's response.
func errText(text string) string {
	if i := strings.Index(text, "Error:"); i >= 0 {
		return strings.TrimSpace(text[i:])
	}
	return strings.TrimSpace(text)
}

var errReplay = errors.New("replaying the path did not reproduce the state")
