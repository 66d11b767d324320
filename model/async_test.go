package model

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Submit runs a batched proposal in the background: one request for two
// states, its cost in the Pending and in the theorem's meter.
func TestSubmitBatch(t *testing.T) {
	t.Parallel()
	srv, rec := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 200, synthCompletion(body))
	})
	l := mustLLM(t, testConfig(srv.URL))
	var theorem Meter
	ctx := WithMeter(context.Background(), &theorem)
	p := Submit(ctx, l, leanReq("⊢ a"), leanReq("⊢ b"))
	got, err := p.Wait(context.Background())
	if err != nil || len(got) != 2 || len(got[0]) != 4 || len(got[1]) != 4 {
		t.Fatalf("Wait = %v, %v", got, err)
	}
	if n := len(rec.all()); n != 1 {
		t.Errorf("%d requests for 2 states, want 1 (a list prompt)", n)
	}
	if c := p.Cost(); c.Proposals != 2 || c.Requests != 1 || theorem.Cost() != c {
		t.Errorf("pending cost %+v, theorem %+v", c, theorem.Cost())
	}
	if len(p.Requests()) != 2 || p.Elapsed() <= 0 {
		t.Errorf("requests %d, elapsed %v", len(p.Requests()), p.Elapsed())
	}
}

// Cancel abandons a speculation: the request in flight is cancelled at the
// server, Wait says ErrAbandoned, and the attempt still counts.
func TestSubmitCancel(t *testing.T) {
	t.Parallel()
	arrived := make(chan struct{})
	var cancelled atomic.Bool
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		close(arrived)
		<-r.Context().Done()
		cancelled.Store(true)
	})
	l := mustLLM(t, testConfig(srv.URL))
	var theorem Meter
	p := Submit(WithMeter(context.Background(), &theorem), l, leanReq("⊢ a"))
	<-arrived
	p.Cancel()
	_, err := p.Wait(context.Background())
	if !errors.Is(err, ErrAbandoned) {
		t.Fatalf("Wait after Cancel = %v, want ErrAbandoned", err)
	}
	<-p.Done()
	if c := theorem.Cost(); c.Requests != 1 || c.Proposals != 1 {
		t.Errorf("theorem cost %+v: the abandoned attempt must count", c)
	}
	// The handler saw the disconnect (the client closed the connection).
	waitFor(t, cancelled.Load)
}

// A proposer without ProposeBatch gets one Propose per state, concurrently.
func TestSubmitPlainProposer(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	p := Submit(context.Background(), proposerFunc(func(ctx context.Context, r prover.ProposalRequest) ([]prover.Candidate, error) {
		calls.Add(1)
		return []prover.Candidate{{Tactic: r.State.Text}}, nil
	}), leanReq("a"), leanReq("b"), leanReq("c"))
	got, err := p.Wait(context.Background())
	if err != nil || len(got) != 3 || got[2][0].Tactic != "c" || calls.Load() != 3 {
		t.Fatalf("Wait = %v, %v after %d calls", got, err, calls.Load())
	}
	// A Wait whose ctx ends first returns, leaving the proposal alone.
	block := make(chan struct{})
	slow := Submit(context.Background(), proposerFunc(func(ctx context.Context, r prover.ProposalRequest) ([]prover.Candidate, error) {
		<-block
		return nil, nil
	}), leanReq("a"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := slow.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a done ctx = %v", err)
	}
	close(block)
	if _, err := slow.Wait(context.Background()); err != nil {
		t.Errorf("the proposal did not go on: %v", err)
	}
}

type proposerFunc func(context.Context, prover.ProposalRequest) ([]prover.Candidate, error)

func (f proposerFunc) Name() string { return "func" }
func (f proposerFunc) Propose(ctx context.Context, r prover.ProposalRequest) ([]prover.Candidate, error) {
	return f(ctx, r)
}
