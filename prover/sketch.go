package prover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// ErrNoSketch: no sketch could be had for a theorem (none given in
// --sketch-from, and no model to write one). It is a model failure.
var ErrNoSketch = errors.New("prover: no sketch for the theorem")

// Sketch proves a theorem the Draft-Sketch-Prove way: a formal sketch with
// holes (written by the Writer from the informal statement and proof, or
// given by Sketches), each hole closed by the step-wise search of Filler
// (the GPU-free proposers, as Sledgehammer closes DSP's holes), the filled
// file judged by the Verifier with the theorem as the challenge. A sketch
// counts only when every hole was closed and the whole file passes the
// final check. The judged file is a SampleRecord in the ctx's SampleLog.
type Sketch struct {
	// Backend must be a HoleBackend; Filler.Backend defaults to it.
	Backend Backend
	// Writer writes the sketch; Sketches, when set, gives it instead
	// (ok false: none for this theorem, then the Writer, if any).
	Writer   ProofWriter
	Sketches func(thm Theorem) (string, bool)
	// Informal gives a theorem's informal statement and proof.
	Informal func(thm Theorem) (Informal, bool)
	// Filler closes the holes (its Proposer, Search, HoleTimeout, ...).
	Filler        HoleFiller
	VerifyTimeout time.Duration
	AllowAxioms   []string
	// Slots, when set, is held during the final check (Filler.Slots
	// during each hole's search).
	Slots   *Slots
	Log     *slog.Logger
	OnEvent func(msg string)
}

// Prove gets a sketch of thm, fills its holes and verifies the result.
func (s *Sketch) Prove(ctx context.Context, thm Theorem) Outcome {
	start := time.Now()
	out := s.prove(ctx, thm)
	out.Wall = time.Since(start)
	if ctx.Err() != nil && out.Status != StatusProved {
		out.Status, out.Err = StatusInterrupted, context.Cause(ctx)
	}
	out.Error = out.Message()
	return out
}

func (s *Sketch) prove(ctx context.Context, thm Theorem) Outcome {
	var out Outcome
	rec := SampleRecord{}
	text, ok := "", false
	if s.Sketches != nil {
		text, ok = s.Sketches(thm)
	}
	if !ok {
		if s.Writer == nil {
			out.Status, out.Err = StatusError, StageError(ErrModel, thm.Name, ErrNoSketch)
			return out
		}
		req := ProofRequest{Theorem: thm, Kind: KindSketch}
		if s.Informal != nil {
			if inf, ok := s.Informal(thm); ok {
				req.Informal = &inf
			}
		}
		event(s.OnEvent, "writing a sketch of %s", thm.Name)
		t0 := time.Now()
		txt, err := s.Writer.WriteProof(ctx, req)
		rec.Model = time.Since(t0)
		if err != nil {
			out.Status, out.Err = StatusError, StageError(ErrModel, "sketch writer "+s.Writer.Name(), err)
			return out
		}
		text = txt.Text
	}
	rec.Chars = len(text)
	out.Proof = []string{text}
	file, err := assembleWhole(s.Backend, thm, text, WholeOptions{Holes: true, AllowAxioms: s.AllowAxioms})
	if err != nil {
		var rej *Rejection
		if !errors.As(err, &rej) {
			out.Status, out.Err = StatusError, StageError(ErrBackend, "assembling the sketch of "+thm.Name, err)
			return out
		}
		rec.Rejected, rec.Message = rej.Rule, rej.Error()
		recordSample(ctx, rec)
		out.Status, out.Note = StatusFailed, "sketch refused: "+rej.Error()
		return out
	}
	f := s.Filler
	if f.Backend == nil {
		f.Backend = s.Backend
	}
	event(s.OnEvent, "filling the holes of the sketch of %s", thm.Name)
	t1 := time.Now()
	fill, err := f.Fill(ctx, file)
	out.Search = time.Since(t1)
	rec.Search = out.Search
	if err != nil {
		if ctx.Err() != nil {
			out.Status, out.Err = StatusInterrupted, context.Cause(ctx)
			return out
		}
		// A sketch that does not parse is the model's failure to write one.
		rec.Message = err.Error()
		recordSample(ctx, rec)
		out.Status, out.Note = StatusFailed, "the sketch does not parse: "+err.Error()
		return out
	}
	rec.Holes, rec.Closed = len(fill.Holes), fill.Closed
	var open []string
	for _, h := range fill.Holes {
		out.Expansions += h.Expansions
		out.TacticChecks += h.TacticChecks
		out.Setup += h.Setup
		switch h.Status {
		case HoleClosed:
		case HoleError:
			if errors.Is(h.Err, ErrModel) || errors.Is(h.Err, ErrBackend) {
				out.Status, out.Err = StatusError, h.Err
				recordSample(ctx, rec)
				return out
			}
			open = append(open, fmt.Sprintf("hole %d (line %d): %v", h.Hole.Index+1, h.Hole.Line, h.Err))
		default:
			open = append(open, fmt.Sprintf("hole %d (line %d) %s", h.Hole.Index+1, h.Hole.Line, h.Status))
		}
	}
	if len(open) > 0 {
		rec.Message = strings.Join(open, "; ")
		recordSample(ctx, rec)
		out.Status = StatusFailed
		out.Note = fmt.Sprintf("%d of %d holes closed: %s", fill.Closed, len(fill.Holes), rec.Message)
		return out
	}
	event(s.OnEvent, "verifying the filled sketch of %s (%d holes)", thm.Name, len(fill.Holes))
	v, d, err := judge(ctx, s.Backend, s.Slots, s.VerifyTimeout, VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: fill.FileText, AllowAxioms: s.AllowAxioms})
	out.Verify, out.Verification, out.Axioms = d, &v, v.Axioms
	rec.Verify, rec.Verified, rec.Message = d, v.Verified, FirstError(v.Message)
	if err != nil {
		out.Status, out.Err = StatusError, err
		return out
	}
	recordSample(ctx, rec)
	if !v.Verified {
		out.Status = StatusFailed
		out.Note = fmt.Sprintf("all %d holes closed, failed final check: %s", len(fill.Holes), v.Message)
		return out
	}
	out.Status, out.FileText = StatusProved, fill.FileText
	out.Note = fmt.Sprintf("sketch with %d holes, all closed", len(fill.Holes))
	return out
}
