package lean

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/prover"
)

// Config configures the Lean backend. Zero fields are defaulted by New.
type Config struct {
	// Repl is the command that runs the REPL in Project (default
	// ["lake", "env", "repl"]; scripts/setup-lean.sh prints the absolute
	// repl path to use).
	Repl []string
	// Project is the working directory: the root of the Lake project whose
	// libraries the theorems import (the miniF2F project).
	Project string
	// MemoryLimit is RLIMIT_AS for each process in bytes (default 12 GiB;
	// `import Mathlib` needs about 9). Negative: no limit.
	MemoryLimit int64
	// MaxRequests recycles a process after that many requests, warm-up
	// excluded (default 1000). Negative: never.
	MaxRequests int
	// RSSLimit recycles a process whose resident set exceeds it, in bytes
	// (default 8 GiB). Negative: never.
	RSSLimit int64
	// Workers is the number of search processes (default 1).
	Workers int
	// VerifyWorkers is the number of final checks run at once (default
	// 1). A final check never uses a REPL: it starts fresh lean processes
	// (see Verify).
	VerifyWorkers int
	// Lake is the lake command asked, once, for the project's toolchain
	// and LEAN_PATH (`lake env printenv` in Project; default "lake").
	Lake string
	// CompileTimeout bounds each lean process of a final check: the
	// challenge, the solution and the compare file (default 10 min).
	CompileTimeout time.Duration
	// WorkDir holds the final checks' job directories, each removed when
	// its check ends (default: the system temporary directory).
	WorkDir string
	// Readable lists paths the sandboxed lean processes may read besides
	// the system, the toolchain, the project and its LEAN_PATH (e.g. a
	// toolchain reached through a symlink farm).
	Readable []string
	// RequireSandbox makes a final check fail with an error when the
	// kernel cannot confine lean (no Landlock); by default the check runs
	// unconfined and Verification.Sandbox says so.
	RequireSandbox bool
	// RequestTimeout bounds every REPL request that has no deadline of its
	// own: loading a theorem, replaying a tactic (default 2 min).
	RequestTimeout time.Duration
	// StartTimeout bounds starting a process and loading its header
	// (default 10 min: a cold Mathlib import is slow).
	StartTimeout time.Duration
	// AllowNativeDecide lets native_decide through the tactic policy and
	// Lean.ofReduceBool and Lean.trustCompiler through the axiom audit.
	AllowNativeDecide bool
	// AllowedAxioms replaces the axiom allow-list (default propext,
	// Classical.choice, Quot.sound), by full name. sorryAx is never
	// accepted, and the native_decide axioms only by AllowNativeDecide.
	AllowedAxioms []string
	// Env is added to the environment of every process the backend
	// starts (KEY=value).
	Env []string
	// MaxFailures declares the backend broken (prover.ErrBackendBroken)
	// after this many REPL failures in a row (default 3): starts that
	// failed, processes that died or misbehaved under a request (see
	// pool.go for what counts).
	MaxFailures int
	// HealthyTactics is how many tactics the REPL must answer after a
	// failure for the failures before it to be forgiven (default 3).
	HealthyTactics int
	// Log receives REPL failures (warn) and the broken backend (error)
	// (default slog.Default()).
	Log *slog.Logger

	// Tests only: Close's grace periods (default proc.DefaultGrace), the
	// pacing of restarts and failed starts, the response size bound.
	grace       time.Duration
	backoff     proc.Backoff
	maxResponse int
}

// DefaultAxioms are the axioms a verified proof may depend on by default.
var DefaultAxioms = []string{"propext", "Classical.choice", "Quot.sound"}

func (c Config) withDefaults() Config {
	if len(c.Repl) == 0 {
		c.Repl = []string{"lake", "env", "repl"}
	}
	c.Repl = slices.Clone(c.Repl)
	if c.MemoryLimit == 0 {
		c.MemoryLimit = 12 << 30
	}
	if c.MaxRequests == 0 {
		c.MaxRequests = 1000
	}
	if c.RSSLimit == 0 {
		c.RSSLimit = 8 << 30
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.VerifyWorkers <= 0 {
		c.VerifyWorkers = 1
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 2 * time.Minute
	}
	if c.StartTimeout <= 0 {
		c.StartTimeout = 10 * time.Minute
	}
	if c.Lake == "" {
		c.Lake = "lake"
	}
	if c.CompileTimeout <= 0 {
		c.CompileTimeout = 10 * time.Minute
	}
	if c.WorkDir == "" {
		c.WorkDir = os.TempDir()
	}
	if c.AllowedAxioms == nil {
		c.AllowedAxioms = slices.Clone(DefaultAxioms)
	} else {
		c.AllowedAxioms = slices.Clone(c.AllowedAxioms)
	}
	c.Env = slices.Clone(c.Env)
	if c.MaxFailures <= 0 {
		c.MaxFailures = 3
	}
	if c.HealthyTactics <= 0 {
		c.HealthyTactics = 3
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c
}

// Backend is the Lean 4 backend: a warm pool of REPL processes for the
// search (started lazily, see pool.go), and final checks that each start
// fresh lean processes and never touch the pool.
type Backend struct {
	cfg    Config
	policy Policy
	closed atomic.Bool

	pool     *proc.Pool[*repl]
	sessions chan struct{} // one per open session: at most Workers
	gen      atomic.Uint64 // process generations
	starts   atomic.Int64  // REPL processes started (header loaded)
	restarts atomic.Int64  // processes a session took to replace its own

	mu            sync.Mutex
	live          map[*repl]struct{} // every REPL process not yet closed
	spawning      sync.WaitGroup     // process starts between the closed check and live
	failures      int                // failures in a row (Config.MaxFailures)
	failuresTotal int64
	answered      int          // tactics answered since the last failure
	backoff       proc.Backoff // paces starts after a failure
	broken        error        // set once: every later Open and Apply fails with it

	life      context.Context // cancelled by Close: running checks stop
	stop      context.CancelFunc
	verifySem chan struct{}
	compiles  atomic.Int64 // lean processes started by final checks

	tcMu sync.Mutex
	tc   *toolchain // what `lake env` said, once it answered

	testWritable []string // tests only: where the lean double may log
}

var _ prover.Backend = (*Backend)(nil)

// New returns a Backend for cfg with zero fields defaulted. It starts no
// process.
func New(cfg Config) (*Backend, error) {
	c := cfg.withDefaults()
	if c.Project != "" {
		// Checked late by the process start too; a clear message here.
		if fi, err := statDir(c.Project); err != nil || !fi {
			return nil, fmt.Errorf("lean project %q is not a directory (set the project to the miniF2F Lake project): %w", c.Project, prover.ErrUnavailable)
		}
	}
	b := &Backend{
		cfg:       c,
		policy:    Policy{AllowNativeDecide: c.AllowNativeDecide},
		sessions:  make(chan struct{}, c.Workers),
		live:      map[*repl]struct{}{},
		backoff:   c.backoff,
		verifySem: make(chan struct{}, c.VerifyWorkers),
	}
	b.pool = b.newPool()
	b.life, b.stop = context.WithCancel(context.Background())
	return b, nil
}

// Config returns the resolved configuration.
func (b *Backend) Config() Config { return b.cfg }

// Name is "lean".
func (b *Backend) Name() string { return "lean" }

// Policy is the Lean tactic policy.
func (b *Backend) Policy() prover.Policy { return b.policy }

// Stats counts process starts and failures.
type Stats struct {
	// Starts counts REPL processes started with their header loaded;
	// Restarts the processes sessions took to replace their own (after
	// a kill, a death or a recycle).
	Starts, Restarts int64
	// Failures counts REPL failures (see pool.go); Broken says whether
	// they made the backend broken.
	Failures int64
	Broken   bool
	// Compiles counts the lean processes final checks started (three per
	// check with a challenge, two without).
	Compiles int64
}

// Stats reports how many processes were started, restarted and failed.
func (b *Backend) Stats() Stats {
	b.mu.Lock()
	failures, broken := b.failuresTotal, b.broken != nil
	b.mu.Unlock()
	return Stats{
		Starts:   b.starts.Load(),
		Restarts: b.restarts.Load(),
		Failures: failures,
		Broken:   broken,
		Compiles: b.compiles.Load(),
	}
}

// Close stops every process and returns once none is left: idle ones
// gracefully, busy ones by SIGKILL to their group (sessions still open
// fail their next request), running final checks are killed and return
// ErrClosed. It returns nil; calling it again does nothing.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed.Swap(true) {
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	b.stop()
	// The pool is closed without waiting for the leases (an open session
	// may never give its process back): idle processes close now.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_ = b.pool.Close(done)
	b.spawning.Wait()
	b.mu.Lock()
	left := make([]*repl, 0, len(b.live))
	for r := range b.live {
		left = append(left, r)
	}
	b.mu.Unlock()
	for _, r := range left {
		r.p.Kill(prover.ErrClosed)
	}
	for _, r := range left {
		<-r.p.Done()
	}
	return nil
}

// Open loads thm on a warm process: the statement is sent as
// `<statement> := by sorry` on the header's env, and its single sorry is
// the root proof state. Every wait (for a free process, a start, the
// header, the statement) ends by ctx's deadline.
func (b *Backend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	if b.closed.Load() {
		return nil, prover.ErrClosed
	}
	if err := b.brokenErr(); err != nil {
		return nil, err
	}
	if thm.Statement == "" {
		return nil, fmt.Errorf("%w: %s has no statement", prover.ErrLoad, thm.Name)
	}
	start := time.Now()
	select {
	case b.sessions <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a lean process: gave up after %v: %w", time.Since(start).Round(time.Millisecond), context.Cause(ctx))
	case <-b.life.Done():
		return nil, prover.ErrClosed
	}
	s := &session{b: b, thm: thm, states: map[prover.StateID]*stateRec{}}
	r, err := b.get(ctx, thm.Header)
	if err != nil {
		<-b.sessions
		return nil, fmt.Errorf("opening %s: %w", thm.Name, err)
	}
	s.repl = r
	ps, goal, err := s.loadRoot(ctx)
	if err != nil {
		s.release()
		<-b.sessions
		return nil, fmt.Errorf("opening %s: %w", thm.Name, b.noteFailure(ctx, err))
	}
	rootGoals := []string{goal}
	s.states[0] = &stateRec{goals: rootGoals, gen: r.gen, ps: ps}
	s.root = prover.State{ID: 0, Goals: rootGoals, Text: goal}
	s.next = 1
	return s, nil
}
