// Package bridge serves llemma-prove to editors: JSON-RPC 2.0 with LSP
// framing (sourcegraph/jsonrpc2) over stdio or TCP, and the HTTP schemas of
// llmstep (POST /) and Lean Copilot's ExternalGenerator (POST /generate),
// so that existing Lean-side tactics can use it unchanged.
//
// Every transport shares one Server: one proposer per backend name, one
// backend (process pool) per name, one concurrency limit. Nothing a
// proposer says is trusted: candidates pass the backend's tactic policy
// and the suggestion hygiene (no empty text, sorry, admit, or mention of
// the theorem's own name) before anyone sees them, and proofs count only
// after the backend's independent final check.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/llemma-prove/llemma-prove/config"
	"github.com/llemma-prove/llemma-prove/prover"
)

// Budget is the search budget of llemma/prove.
type Budget struct {
	Expansions     int
	Samples        int
	TheoremTimeout time.Duration
	TacticTimeout  time.Duration
}

// Defaults of a Server's zero fields.
const (
	DefaultMaxConcurrent  = 4
	DefaultMaxBody        = 1 << 20
	DefaultRequestTimeout = 60 * time.Second
	DefaultSuggestions    = 8
	DefaultMaxTheorem     = 10 * time.Minute
)

// DefaultBudget is used for llemma/prove when Server.Budget leaves a field
// zero: the GPU-free proposers' budget (config.Budgets, written once).
var DefaultBudget = Budget{
	Expansions: config.Budgets.GPUFree.Expansions, Samples: config.Budgets.GPUFree.Samples,
	TheoremTimeout: config.Budgets.GPUFree.TheoremTimeout, TacticTimeout: config.Budgets.GPUFree.TacticTimeout,
}

// Server holds what every connection shares. Set the fields, then serve;
// the fields must not change once serving started.
type Server struct {
	// Backends builds the backend of a name (coq, lean, isabelle). It is
	// called at most once per name that succeeds; the server closes what
	// it returned in Close. An error wrapping prover.ErrUnavailable
	// becomes CodeUnavailable with the error's text (say what to install).
	Backends func(name string) (prover.Backend, error)
	// Proposer builds the proposer for a backend name, once per name.
	Proposer func(backend string) (prover.Proposer, error)
	// Policy is the tactic policy of a backend name, for suggestions made
	// before (or without) its backend runs. Nil: the registered driver's
	// policy under config.Defaults().
	Policy func(backend string) (prover.Policy, error)
	// Names are the backend names a request may give (nil: the registered
	// drivers', prover.Drivers).
	Names []string
	// DefaultBackend is used when a request names none (always for HTTP).
	DefaultBackend string
	// Budget is the default budget of llemma/prove; zero fields take DefaultBudget's.
	Budget Budget
	// MaxTheoremTimeout caps a request's theorem_timeout_s (default 10 min).
	MaxTheoremTimeout time.Duration
	// SetupTimeout and VerifyTimeout bound the open and the final check of
	// llemma/prove (0: the agent's defaults).
	SetupTimeout, VerifyTimeout time.Duration
	// Slots, when set, bound the proofs holding a checker process at once
	// (the wait is not charged to a proof's budgets).
	Slots *prover.Slots
	// MaxConcurrent bounds the suggest, prove and check requests running
	// at once over every transport; one more is refused as busy (default 4).
	MaxConcurrent int
	// MaxBody bounds an HTTP body or a JSON-RPC message in bytes (default 1 MiB).
	MaxBody int64
	// RequestTimeout bounds a suggest or check request, and every HTTP
	// request (default 60 s). llemma/prove is bounded by its budget.
	RequestTimeout time.Duration
	// Suggestions is how many suggestions a request gets when it does not
	// say (default 8).
	Suggestions int
	// Token, when set, is required: HTTP requests other than GET /health
	// carry `Authorization: Bearer TOKEN`, and a TCP JSON-RPC connection
	// sends it in initialize before anything else. Stdio is never asked.
	Token   string
	Version string
	Log     *slog.Logger

	once      sync.Once
	slots     chan struct{}
	mu        sync.Mutex
	backends  map[string]prover.Backend
	proposers map[string]prover.Proposer
	closed    bool
}

func (s *Server) init() {
	s.once.Do(func() {
		if s.MaxConcurrent <= 0 {
			s.MaxConcurrent = DefaultMaxConcurrent
		}
		if s.MaxBody <= 0 {
			s.MaxBody = DefaultMaxBody
		}
		if s.RequestTimeout <= 0 {
			s.RequestTimeout = DefaultRequestTimeout
		}
		if s.Suggestions <= 0 {
			s.Suggestions = DefaultSuggestions
		}
		if s.MaxTheoremTimeout <= 0 {
			s.MaxTheoremTimeout = DefaultMaxTheorem
		}
		b := &s.Budget
		if b.Expansions <= 0 {
			b.Expansions = DefaultBudget.Expansions
		}
		if b.Samples <= 0 {
			b.Samples = DefaultBudget.Samples
		}
		if b.TheoremTimeout <= 0 {
			b.TheoremTimeout = DefaultBudget.TheoremTimeout
		}
		if b.TacticTimeout <= 0 {
			b.TacticTimeout = DefaultBudget.TacticTimeout
		}
		if s.Version == "" {
			s.Version = "devel"
		}
		if s.Log == nil {
			s.Log = slog.New(slog.DiscardHandler)
		}
		if s.Names == nil {
			for _, d := range prover.Drivers() {
				s.Names = append(s.Names, d.Name)
			}
		}
		s.slots = make(chan struct{}, s.MaxConcurrent)
		s.backends = map[string]prover.Backend{}
		s.proposers = map[string]prover.Proposer{}
	})
}

// Close stops every backend the server started (their processes die).
// Requests still running fail with prover.ErrClosed.
func (s *Server) Close() error {
	s.init()
	s.mu.Lock()
	bs := s.backends
	s.backends, s.closed = map[string]prover.Backend{}, true
	s.mu.Unlock()
	var errs []error
	for name, b := range bs {
		if err := b.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing backend %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// acquire takes a concurrency slot without waiting.
func (s *Server) acquire() (release func(), err error) {
	select {
	case s.slots <- struct{}{}:
		return func() { <-s.slots }, nil
	default:
		return nil, errBusy(s.MaxConcurrent)
	}
}

// backendName resolves a request's backend field.
func (s *Server) backendName(field, name string) (string, error) {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "" {
		name = s.DefaultBackend
	}
	if name == "" {
		return "", invalidParams("%s is required (one of %s)", field, strings.Join(s.Names, ", "))
	}
	for _, k := range s.Names {
		if k == name {
			return name, nil
		}
	}
	return "", invalidParams("%s %q: use one of %s", field, name, strings.Join(s.Names, ", "))
}

// backend returns the shared backend of name, building it on first use.
func (s *Server) backend(name string) (prover.Backend, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, prover.ErrClosed
	}
	if b, ok := s.backends[name]; ok {
		return b, nil
	}
	if s.Backends == nil {
		return nil, fmt.Errorf("%w: this server has no %s backend", prover.ErrUnavailable, name)
	}
	b, err := s.Backends(name)
	if err != nil {
		return nil, err
	}
	s.backends[name] = b
	return b, nil
}

// proposer returns the shared proposer for a backend name.
func (s *Server) proposer(name string) (prover.Proposer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.proposers[name]; ok {
		return p, nil
	}
	if s.Proposer == nil {
		return nil, fmt.Errorf("this server has no proposer")
	}
	p, err := s.Proposer(name)
	if err != nil {
		return nil, fmt.Errorf("building the proposer for %s: %w", name, err)
	}
	s.proposers[name] = p
	return p, nil
}

// policy is the tactic policy for a backend name: the live backend's when
// it is already running, else Server.Policy's (by default the registered
// driver's), so that suggestions without checking work where the prover
// is not installed.
func (s *Server) policy(name string) (prover.Policy, error) {
	s.mu.Lock()
	b, ok := s.backends[name]
	s.mu.Unlock()
	if ok {
		return b.Policy(), nil
	}
	if s.Policy != nil {
		return s.Policy(name)
	}
	if d, err := prover.Lookup(name); err == nil {
		return d.Policy(config.Defaults()), nil
	}
	b, err := s.backend(name)
	if err != nil {
		return nil, err
	}
	return b.Policy(), nil
}

// IsLoopback reports whether a listen address (host:port) binds loopback
// only. An empty host (all interfaces) is not loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// CheckListen enforces the remote rule: a non-loopback address needs
// allowRemote and a token.
func CheckListen(flag, addr string, allowRemote bool, token string) error {
	if IsLoopback(addr) {
		return nil
	}
	if !allowRemote {
		return fmt.Errorf("%s %s is not a loopback address: bind 127.0.0.1:PORT, or pass --allow-remote with --token-file", flag, addr)
	}
	if token == "" {
		return fmt.Errorf("%s %s with --allow-remote needs a token: pass --token-file FILE", flag, addr)
	}
	return nil
}

// withTimeout derives a request ctx bounded by d, whose cause on expiry is
// errRequestTimeout.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, d, errRequestTimeout)
}
