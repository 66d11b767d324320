package prover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// errWholeBudget is the context cause of an attempt past its theorem
// budget (all its model calls and checks).
var errWholeBudget = errors.New("prover: theorem budget of the attempt spent")

// WholeProof proves a theorem from complete proofs a ProofWriter writes,
// as DeepSeek-Prover, Kimina-Prover and Goedel-Prover do: one sample per
// Prove (the runner's attempts are the k of pass@k), judged only by the
// backend's Verifier with the theorem as the challenge. After a rejection
// it asks for up to RepairRounds repairs, each given the failed attempt and
// the checker's first error (Goedel-Prover-V2's self-correction). Every
// judged file is a SampleRecord in the ctx's SampleLog.
type WholeProof struct {
	// Backend judges the files (Verify) and assembles them
	// (AssembleWhole, else Assemble); no session is opened.
	Backend Backend
	Writer  ProofWriter
	// RepairRounds is how many repairs follow a rejected sample (0: none).
	RepairRounds int
	// TheoremTimeout bounds one attempt, every round's model call and
	// check together (0: none); past it the attempt is a timeout.
	TheoremTimeout time.Duration
	// VerifyTimeout bounds each final check (default DefaultVerifyTimeout).
	VerifyTimeout time.Duration
	// AllowAxioms are accepted by the verifier beyond its allow-list.
	AllowAxioms []string
	// Slots, when set, is held during each final check (not while the
	// model writes).
	Slots   *Slots
	Log     *slog.Logger
	OnEvent func(msg string)
}

// Prove samples a proof of thm, repairs it up to RepairRounds times, and
// reports proved only when the verifier accepted a file.
func (w *WholeProof) Prove(ctx context.Context, thm Theorem) Outcome {
	start := time.Now()
	out := w.prove(ctx, thm)
	out.Wall = time.Since(start)
	if ctx.Err() != nil && out.Status != StatusProved {
		out.Status, out.Err = StatusInterrupted, context.Cause(ctx)
	}
	out.Error = out.Message()
	return out
}

func (w *WholeProof) prove(ctx context.Context, thm Theorem) Outcome {
	var out Outcome
	actx := ctx
	if w.TheoremTimeout > 0 {
		var cancel context.CancelFunc
		actx, cancel = context.WithTimeoutCause(ctx, w.TheoremTimeout, errWholeBudget)
		defer cancel()
	}
	prev, why := "", ""
	for round := 0; round <= w.RepairRounds; round++ {
		event(w.OnEvent, "writing a proof of %s (round %d)", thm.Name, round)
		t0 := time.Now()
		txt, err := w.Writer.WriteProof(actx, ProofRequest{Theorem: thm, Kind: KindProof, Round: round, Previous: prev, Error: why})
		rec := SampleRecord{Round: round, Model: time.Since(t0), Chars: len(txt.Text)}
		out.Search += rec.Model
		if err != nil {
			w.ended(ctx, actx, &out, round, StageError(ErrModel, "proof writer "+w.Writer.Name(), err))
			return out
		}
		file, err := assembleWhole(w.Backend, thm, txt.Text, WholeOptions{AllowAxioms: w.AllowAxioms})
		if err != nil {
			var rej *Rejection
			if !errors.As(err, &rej) {
				out.Status, out.Err = StatusError, StageError(ErrBackend, "assembling the proof of "+thm.Name, err)
				return out
			}
			rec.Rejected, rec.Message = rej.Rule, rej.Error()
			recordSample(ctx, rec)
			out.Proof, out.Note = []string{txt.Text}, "refused before the final check: "+rej.Error()
			prev, why = txt.Text, rej.Error()
			continue
		}
		v, d, err := judge(actx, w.Backend, w.Slots, w.VerifyTimeout, VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: file, AllowAxioms: w.AllowAxioms})
		rec.Verify, rec.Verified, rec.Message = d, v.Verified, FirstError(v.Message)
		out.Verify += d
		out.Proof, out.Verification, out.Axioms = []string{txt.Text}, &v, v.Axioms
		if err != nil {
			w.ended(ctx, actx, &out, round, err)
			return out
		}
		recordSample(ctx, rec)
		if v.Verified {
			out.Status, out.FileText, out.Note = StatusProved, file, fmt.Sprintf("verified in round %d", round)
			return out
		}
		w.log().Debug("whole proof rejected", "theorem", thm.Name, "round", round, "reason", rec.Message)
		out.Note = fmt.Sprintf("round %d failed the final check: %s", round, v.Message)
		prev, why = txt.Text, rec.Message
	}
	out.Status = StatusFailed
	if w.RepairRounds > 0 {
		out.Note = fmt.Sprintf("no verified proof after %d repair rounds; the last %s", w.RepairRounds, out.Note)
	}
	return out
}

// ended sets the outcome of an attempt stopped by err: the run stopped
// (interrupted), the attempt's budget spent (timeout), anything else an
// error.
func (w *WholeProof) ended(ctx, actx context.Context, out *Outcome, round int, err error) {
	switch {
	case ctx.Err() != nil:
		out.Status, out.Err = StatusInterrupted, context.Cause(ctx)
	case errors.Is(context.Cause(actx), errWholeBudget):
		out.Status, out.Err = StatusTimeout, nil
		out.Note = fmt.Sprintf("the budget of %s ran out in round %d", w.TheoremTimeout, round)
	default:
		out.Status, out.Err = StatusError, err
	}
}

func (w *WholeProof) log() *slog.Logger {
	if w.Log == nil {
		return slog.Default()
	}
	return w.Log
}

// judge runs one final check within the verify budget, holding a slot; an
// error is staged (ErrVerify, ErrVerifyTimeout) as the Agent stages it.
func judge(ctx context.Context, b Verifier, slots *Slots, timeout time.Duration, req VerifyRequest) (Verification, time.Duration, error) {
	if err := slots.acquire(ctx); err != nil {
		return Verification{}, 0, err
	}
	defer slots.release()
	budget := orDefault(timeout, DefaultVerifyTimeout)
	start := time.Now()
	vctx, cancel := context.WithTimeoutCause(ctx, budget, ErrVerifyTimeout)
	defer cancel()
	v, err := b.Verify(vctx, req)
	d := time.Since(start)
	switch {
	case err == nil:
		return v, d, nil
	case ctx.Err() == nil && errors.Is(context.Cause(vctx), ErrVerifyTimeout):
		return v, d, StageError(ErrVerifyTimeout, fmt.Sprintf("final check of %s: not done after %s (verify budget %s)",
			req.Name, d.Round(time.Millisecond), budget), err)
	}
	return v, d, StageError(ErrVerify, "final check of "+req.Name, err)
}

// FirstError cuts a verifier's message to its first error, for a repair
// prompt: from the first line that reports an error (with the location
// line before it) to the next error, at most 20 lines and 2000 bytes.
func FirstError(msg string) string {
	lines := strings.Split(strings.TrimSpace(msg), "\n")
	isErr := func(l string) bool {
		t := strings.ToLower(l)
		return strings.Contains(t, "error")
	}
	first := -1
	for i, l := range lines {
		if isErr(l) {
			first = i
			break
		}
	}
	if first < 0 {
		return clipBytes(strings.Join(lines[:min(len(lines), 20)], "\n"), 2000)
	}
	from := first
	if from > 0 && (strings.Contains(lines[from-1], "line ") || strings.HasPrefix(strings.TrimSpace(lines[from-1]), "File ")) {
		from--
	}
	end := len(lines)
	for j := first + 1; j < len(lines); j++ {
		if isErr(lines[j]) {
			end = j
			break
		}
	}
	end = min(end, from+20)
	return clipBytes(strings.Join(lines[from:end], "\n"), 2000)
}

func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}

func event(f func(string), format string, args ...any) {
	if f != nil {
		f(fmt.Sprintf(format, args...))
	}
}
