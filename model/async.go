package model

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// BatchProposer proposes for several states in one call: *LLM sends them
// in as few requests as its batching allows.
type BatchProposer interface {
	prover.Proposer
	ProposeBatch(ctx context.Context, reqs []prover.ProposalRequest) ([][]prover.Candidate, error)
}

var _ BatchProposer = (*LLM)(nil)

// ErrAbandoned is the cause of a Pending proposal that was cancelled before
// it finished (a speculation that was not needed).
var ErrAbandoned = errors.New("model: proposal abandoned")

// Pending is a proposal running in the background, from Submit. It lets a
// search ask for the next frontier node's candidates while it checks the
// current node's, and drop the request when the frontier changed.
type Pending struct {
	reqs   []prover.ProposalRequest
	done   chan struct{}
	cancel context.CancelCauseFunc
	meter  Meter
	start  time.Time

	mu    sync.Mutex
	cands [][]prover.Candidate
	err   error
	end   time.Time
}

// Submit starts proposing for reqs in the background and returns at once.
// The work runs under a ctx derived from ctx (its meters and attempt
// apply, so the cost counts towards the theorem) and ends with it. A
// BatchProposer gets all of reqs in one ProposeBatch; another proposer
// gets one Propose per request, concurrently.
func Submit(ctx context.Context, p prover.Proposer, reqs ...prover.ProposalRequest) *Pending {
	pd := &Pending{reqs: reqs, done: make(chan struct{}), start: time.Now()}
	wctx, cancel := context.WithCancelCause(ctx)
	pd.cancel = cancel
	wctx = WithMeter(wctx, &pd.meter)
	go func() {
		defer close(pd.done)
		defer cancel(nil)
		cands, err := proposeAll(wctx, p, reqs)
		if err != nil && context.Cause(wctx) != nil && errors.Is(context.Cause(wctx), ErrAbandoned) {
			err = fmt.Errorf("%w: %w", ErrAbandoned, err)
		}
		pd.mu.Lock()
		pd.cands, pd.err, pd.end = cands, err, time.Now()
		pd.mu.Unlock()
	}()
	return pd
}

func proposeAll(ctx context.Context, p prover.Proposer, reqs []prover.ProposalRequest) ([][]prover.Candidate, error) {
	if bp, ok := p.(BatchProposer); ok {
		return bp.ProposeBatch(ctx, reqs)
	}
	out := make([][]prover.Candidate, len(reqs))
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { out[i], errs[i] = p.Propose(ctx, r) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Requests are the states this proposal is for, in the order of the result.
func (p *Pending) Requests() []prover.ProposalRequest { return p.reqs }

// Done is closed when the proposal has finished (or failed, or was
// abandoned and its requests have returned).
func (p *Pending) Done() <-chan struct{} { return p.done }

// Wait waits for the proposal and returns its candidates, per request. A
// ctx that ends first returns its cause and leaves the proposal running
// (Cancel stops it).
func (p *Pending) Wait(ctx context.Context) ([][]prover.Candidate, error) {
	select {
	case <-p.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a proposal: %w", context.Cause(ctx))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cands, p.err
}

// Cancel abandons the proposal: its requests in flight are cancelled (the
// runtime stops generating for them) and Wait returns an error wrapping
// ErrAbandoned, unless it had already finished. What it cost so far stays
// counted (Cost, and the meters of Submit's ctx).
func (p *Pending) Cancel() { p.cancel(ErrAbandoned) }

// Cost is what the proposal has cost so far.
func (p *Pending) Cost() Cost { return p.meter.Cost() }

// Elapsed is the wall time from Submit to the end (or to now, while it
// runs).
func (p *Pending) Elapsed() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.end.IsZero() {
		return time.Since(p.start)
	}
	return p.end.Sub(p.start)
}
