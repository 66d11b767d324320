package bridge

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/prover"
)

// proposerFunc is a Proposer from a func.
type proposerFunc func(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error)

func (f proposerFunc) Name() string { return "fake" }
func (f proposerFunc) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	return f(ctx, req)
}

// fixed proposes the same candidates whatever the state.
func fixed(tactics ...string) proposerFunc {
	return func(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
		var out []prover.Candidate
		for i, t := range tactics {
			out = append(out, prover.Candidate{Tactic: t, Score: -0.1 * float64(i+1)})
		}
		if req.N > 0 && len(out) > req.N {
			out = out[:req.N]
		}
		return out, nil
	}
}

// fakeBackend is a Coq-policy backend whose sessions know a table of
// tactics: "lra." proves, "intros." opens one goal, anything else fails.
type fakeBackend struct {
	mu       sync.Mutex
	opened   []prover.Theorem
	verified []string // files given to Verify
	closed   int
	openErr  error
	verify   func(thm prover.Theorem, file string) prover.Verification
}

func (b *fakeBackend) Name() string          { return "coq" }
func (b *fakeBackend) Policy() prover.Policy { return coq.Policy{} }
func (b *fakeBackend) Close() error {
	b.mu.Lock()
	b.closed++
	b.mu.Unlock()
	return nil
}

func (b *fakeBackend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	if b.openErr != nil {
		return nil, b.openErr
	}
	b.mu.Lock()
	b.opened = append(b.opened, thm)
	b.mu.Unlock()
	return &fakeSession{}, nil
}

func (b *fakeBackend) Assemble(thm prover.Theorem, proof []string) string {
	return thm.Header + thm.Statement + "\nProof.\n  " + strings.Join(proof, "\n  ") + "\nQed.\n"
}

func (b *fakeBackend) Verify(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	thm, file := prover.Theorem{Name: req.Name}, req.Solution
	if req.Challenge != nil {
		thm = *req.Challenge
		// The fake's comparison of statements: the file must hold the
		// challenge's statement and header (a real backend compiles the
		// challenge alone and compares the elaborated types).
		if !strings.Contains(file, thm.Statement+"\n") || !strings.Contains(file, thm.Header) {
			return prover.Verification{Message: "the file does not state " + thm.Name + " as the challenge does"}, nil
		}
	}
	b.mu.Lock()
	b.verified = append(b.verified, file)
	b.mu.Unlock()
	if b.verify != nil {
		return b.verify(thm, file), nil
	}
	if strings.Contains(file, "lra.") {
		return prover.Verification{Verified: true, Axioms: []string{"ClassicalDedekindReals.sig_not_dec"}}, nil
	}
	return prover.Verification{Message: "coqc rejected the file"}, nil
}

type fakeSession struct{ next prover.StateID }

func (s *fakeSession) Root() prover.State {
	return prover.State{ID: 0, Goals: []string{"x : R\n============================\nx = x"}, Text: "x = x"}
}

func (s *fakeSession) Apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (prover.StepResult, error) {
	switch tactic {
	case "lra.":
		return prover.StepResult{Status: prover.StepProved}, nil
	case "intros.":
		s.next++
		return prover.StepResult{Status: prover.StepOpen, State: prover.State{ID: s.next, Goals: []string{"g1"}, Text: "g1"}}, nil
	}
	return prover.StepResult{Status: prover.StepFailed, Message: "Error: no progress"}, nil
}

func (s *fakeSession) Close() error { return nil }

// newServer is a Server over one fake backend and a proposer.
func newServer(b prover.Backend, p prover.Proposer) *Server {
	return &Server{
		Backends: func(name string) (prover.Backend, error) {
			if name != "coq" {
				return nil, fmt.Errorf("%w: %s is not installed; install it with `apt-get install %s`", prover.ErrUnavailable, name, name)
			}
			return b, nil
		},
		Proposer:       func(string) (prover.Proposer, error) { return p, nil },
		DefaultBackend: "coq",
		Budget:         Budget{Expansions: 4, Samples: 8, TheoremTimeout: 10 * time.Second, TacticTimeout: time.Second},
		RequestTimeout: 10 * time.Second,
		Version:        "test",
	}
}

// client is a JSON-RPC client conn on a net.Pipe to s, collecting
// notifications.
type client struct {
	*jsonrpc2.Conn
	notes chan *jsonrpc2.Request
	done  chan struct{} // closed when ServeConn returned
}

type noteHandler chan *jsonrpc2.Request

func (h noteHandler) Handle(ctx context.Context, c *jsonrpc2.Conn, r *jsonrpc2.Request) {
	select {
	case h <- r:
	default:
	}
}

func dial(t testing.TB, s *Server) *client {
	t.Helper()
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	c := &client{notes: make(chan *jsonrpc2.Request, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		s.ServeConn(ctx, a, true)
	}()
	c.Conn = jsonrpc2.NewConn(ctx, jsonrpc2.NewBufferedStream(b, jsonrpc2.VSCodeObjectCodec{}), noteHandler(c.notes))
	t.Cleanup(func() {
		c.Close()
		cancel()
		<-c.done
	})
	return c
}

// call makes one call and returns the raw result or the error.
func (c *client) call(t testing.TB, method string, params any) (json.RawMessage, *jsonrpc2.Error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var raw json.RawMessage
	err := c.Call(ctx, method, params, &raw)
	if err == nil {
		return raw, nil
	}
	var re *jsonrpc2.Error
	if errors.As(err, &re) {
		return nil, re
	}
	t.Fatalf("%s: %v", method, err)
	return nil, nil
}

func wantCode(t testing.TB, method string, err *jsonrpc2.Error, code int64, contains string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want code %d", method, code)
	}
	if err.Code != code || !strings.Contains(err.Message, contains) {
		t.Fatalf("%s: error %d %q, want %d containing %q", method, err.Code, err.Message, code, contains)
	}
}

// rawConn writes frames by hand and reads the server's frames.
type rawConn struct {
	w    net.Conn
	r    *bufio.Reader
	done chan struct{}
}

func dialRaw(t testing.TB, s *Server) *rawConn {
	t.Helper()
	a, b := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	rc := &rawConn{w: b, r: bufio.NewReader(b), done: make(chan struct{})}
	go func() {
		defer close(rc.done)
		s.ServeConn(ctx, a, true)
	}()
	t.Cleanup(func() {
		b.Close()
		cancel()
		<-rc.done
	})
	return rc
}

func (rc *rawConn) send(t testing.TB, body string) {
	t.Helper()
	rc.write(t, fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body))
}

func (rc *rawConn) write(t testing.TB, s string) {
	t.Helper()
	rc.w.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(rc.w, s); err != nil {
		t.Fatalf("writing: %v", err)
	}
}

// recv reads one frame's body.
func (rc *rawConn) recv(t testing.TB) (string, error) {
	t.Helper()
	rc.w.SetReadDeadline(time.Now().Add(10 * time.Second))
	n := -1
	for {
		line, err := rc.r.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		fmt.Sscanf(line, "Content-Length: %d", &n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(rc.r, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

func (rc *rawConn) mustRecv(t testing.TB) string {
	t.Helper()
	s, err := rc.recv(t)
	if err != nil {
		t.Fatalf("reading a frame: %v", err)
	}
	return s
}
