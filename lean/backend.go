package lean

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

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
	return c
}

// Backend is the Lean 4 backend: a warm pool of REPL processes for the
// search (started lazily), and final checks that each start fresh lean
// processes and never touch the pool.
type Backend struct {
	cfg    Config
	gen    atomic.Uint64
	search *pool
	policy Policy
	closed atomic.Bool

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
	b := &Backend{cfg: c, policy: Policy{AllowNativeDecide: c.AllowNativeDecide}}
	b.search = newPool(&b.cfg, "search", c.Workers, &b.gen)
	b.life, b.stop = context.WithCancel(context.Background())
	b.verifySem = make(chan struct{}, c.VerifyWorkers)
	return b, nil
}

// Config returns the resolved configuration.
func (b *Backend) Config() Config { return b.cfg }

// Name is "lean".
func (b *Backend) Name() string { return "lean" }

// Policy is the Lean tactic policy.
func (b *Backend) Policy() prover.Policy { return b.policy }

// Stats counts process starts.
type Stats struct {
	// Starts and Restarts count REPL processes of the search pool.
	Starts, Restarts int64
	// Compiles counts the lean processes final checks started (three per
	// check with a challenge, two without).
	Compiles int64
}

// Stats reports how many processes were started and restarted.
func (b *Backend) Stats() Stats {
	return Stats{
		Starts:   b.search.starts.Load(),
		Restarts: b.search.restarts.Load(),
		Compiles: b.compiles.Load(),
	}
}

// Close stops every process: sessions still open fail their next
// request, running final checks are killed and return ErrClosed.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	b.stop()
	b.search.close()
	return nil
}

// Open loads thm on a warm process: the statement is sent as
// `<statement> := by sorry` on the header's env, and its single sorry is
// the root proof state.
func (b *Backend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	if b.closed.Load() {
		return nil, prover.ErrClosed
	}
	if thm.Statement == "" {
		return nil, fmt.Errorf("%w: %s has no statement", prover.ErrLoad, thm.Name)
	}
	if err := b.search.acquire(ctx); err != nil {
		return nil, fmt.Errorf("waiting for a lean process: %w", err)
	}
	s := &session{b: b, pool: b.search, thm: thm, states: map[prover.StateID]*stateRec{}}
	pr, err := b.search.take(ctx, thm.Header)
	if err != nil {
		b.search.unlease()
		return nil, fmt.Errorf("opening %s: %w", thm.Name, err)
	}
	s.proc = pr
	ps, goal, err := s.loadRoot(ctx)
	if err != nil {
		b.search.release(pr)
		b.search.unlease()
		return nil, fmt.Errorf("opening %s: %w", thm.Name, err)
	}
	rootGoals := []string{goal}
	s.states[0] = &stateRec{goals: rootGoals, gen: pr.gen, ps: ps}
	s.root = prover.State{ID: 0, Goals: rootGoals, Text: goal}
	s.next = 1
	return s, nil
}
