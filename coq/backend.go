// Package coq is the Coq backend: coqtop driven sentence by sentence for
// search (coqtop.md), warm processes with the prelude loaded, and the final
// check with coqc plus Print Assumptions.
package coq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

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

// Config configures the Coq backend. Zero fields take the defaults.
type Config struct {
	Coqtop []string // command for one coqtop (default coqtop -quiet -emacs)
	Coqc   string   // default coqc
	Coqchk string   // default coqchk
	// Workers is the number of checker processes at most (default 2).
	Workers int
	// MemoryLimit is each process's address-space limit in bytes (default 4 GiB).
	MemoryLimit int64
	// MaxUses recycles a warm process after this many theorems (default 20).
	MaxUses int
	// RSSLimit recycles a warm process above this resident size (default 1.5 GiB).
	RSSLimit int64
	// Grace is added to a tactic's Coq Timeout for the wall deadline that
	// kills the process (default 1 s + a quarter of the timeout).
	Grace time.Duration
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
		c.Workers = 2
	}
	if c.MemoryLimit == 0 {
		c.MemoryLimit = 4 << 30
	}
	if c.MaxUses <= 0 {
		c.MaxUses = 20
	}
	if c.RSSLimit <= 0 {
		c.RSSLimit = 1536 << 20
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
type Backend struct {
	cfg   Config
	slots *semaphore.Weighted

	mu       sync.Mutex
	idle     []*proc
	closed   bool
	failures int       // consecutive start failures, for backoff
	notUntil time.Time // no start attempt before this
	stats    Stats

	// Compiled challenges, by statement, for the backend's lifetime.
	chalMu   sync.Mutex
	chalDirs map[string]*chalEntry
	chalRoot string

	libOnce sync.Once
	coqLib  string // coqc -where: read by the sandboxed checkers
}

// Stats counts the backend's process events.
type Stats struct {
	Started, Restarts, Killed, Recycled int
}

var _ prover.Backend = (*Backend)(nil)

// New returns a backend; processes start lazily.
func New(cfg Config) *Backend {
	cfg.defaults()
	return &Backend{cfg: cfg, slots: semaphore.NewWeighted(int64(cfg.Workers))}
}

func (b *Backend) Name() string { return "coq" }

// Policy is the Coq tactic policy.
func (b *Backend) Policy() prover.Policy { return prover.CoqPolicy{} }

// Stats returns a snapshot of the process counters.
func (b *Backend) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.stats
}

// Close kills every idle process; sessions still open kill theirs on Close.
func (b *Backend) Close() error {
	b.mu.Lock()
	idle := b.idle
	b.idle, b.closed = nil, true
	b.mu.Unlock()
	for _, p := range idle {
		p.kill()
	}
	b.chalMu.Lock()
	root := b.chalRoot
	b.chalRoot, b.chalDirs = "", nil
	b.chalMu.Unlock()
	if root != "" {
		return os.RemoveAll(root)
	}
	return nil
}

// acquire takes a worker slot, then an idle warm process or a new one.
func (b *Backend) acquire(ctx context.Context) (*proc, error) {
	if err := b.slots.Acquire(ctx, 1); err != nil {
		return nil, err
	}
	p, err := b.take(ctx)
	if err != nil {
		b.slots.Release(1)
		return nil, err
	}
	return p, nil
}

func (b *Backend) take(ctx context.Context) (*proc, error) {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil, prover.ErrClosed
	}
	if n := len(b.idle); n > 0 {
		p := b.idle[n-1]
		b.idle = b.idle[:n-1]
		b.mu.Unlock()
		return p, nil
	}
	wait := time.Until(b.notUntil)
	b.mu.Unlock()
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	return b.start(ctx)
}

// start launches a coqtop and loads the settings and the prelude.
func (b *Backend) start(ctx context.Context) (*proc, error) {
	p, _, err := startProc(ctx, b.cfg.Coqtop, b.cfg.MemoryLimit, b.cfg.Env)
	if err == nil {
		sentences := []string{"Set Silent.", "Set Printing Width 1000.", Prelude}
		if b.cfg.Interval {
			sentences = append(sentences, IntervalPrelude)
		}
		for _, s := range sentences {
			var r reply
			r, err = p.send(ctx, s, 60*time.Second)
			if err == nil && hasError(r.Text) {
				err = fmt.Errorf("coqtop rejected %q: %s", s, strings.TrimSpace(r.Text))
			}
			if err != nil {
				p.kill()
				break
			}
			p.base = r.State
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.failures++
		backoff := time.Duration(math.Min(float64(5*time.Second), float64(100*time.Millisecond)*math.Pow(2, float64(b.failures-1))))
		b.notUntil = time.Now().Add(backoff)
		return nil, fmt.Errorf("starting coqtop: %w", err)
	}
	b.failures = 0
	b.stats.Started++
	return p, nil
}

// release returns a healthy process to the idle list, or kills it.
func (b *Backend) release(p *proc) {
	defer b.slots.Release(1)
	if p == nil {
		return
	}
	recycle := p.dead || p.uses >= b.cfg.MaxUses || p.rss() > b.cfg.RSSLimit
	b.mu.Lock()
	if !recycle && !b.closed {
		b.idle = append(b.idle, p)
		b.mu.Unlock()
		return
	}
	if !p.dead {
		b.stats.Recycled++
	}
	b.mu.Unlock()
	p.kill()
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
