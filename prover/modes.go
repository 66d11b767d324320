package prover

import (
	"context"
	"sync"
	"time"
)

// The proof modes: how a system turns a theorem into a file for the final
// verifier. The mode is part of a system's identity in results and reports.
const (
	// ModeStep is best-first search one tactic at a time (the Agent).
	ModeStep = "step"
	// ModeWholeProof samples complete proofs, each judged only by the
	// final verifier, with optional repair rounds (WholeProof).
	ModeWholeProof = "whole-proof"
	// ModeSketch is Draft-Sketch-Prove: a formal sketch with holes, each
	// hole closed by the step-wise search, the whole file judged by the
	// final verifier (Sketch).
	ModeSketch = "sketch"
)

// Modes lists the proof modes.
var Modes = []string{ModeStep, ModeWholeProof, ModeSketch}

// Prover proves one theorem and reports an Outcome whose proved status was
// given by the backend's Verifier. The step-wise Agent, WholeProof and
// Sketch are Provers.
type Prover interface {
	Prove(ctx context.Context, thm Theorem) Outcome
}

var (
	_ Prover = (*Agent)(nil)
	_ Prover = (*WholeProof)(nil)
	_ Prover = (*Sketch)(nil)
)

// SampleRecord is one complete file a mode had judged by the verifier (a
// whole proof, a repair of one, a filled sketch): what it cost and what the
// verifier said. A result line keeps them in order.
type SampleRecord struct {
	// Round is 0 for a first sample, r for the r-th repair of it.
	Round    int
	Verified bool
	// Rejected names the whole-proof policy's rule when the text was
	// refused before the verifier ran (then Verify is zero).
	Rejected string
	// Holes and Closed count a sketch's holes and those the search closed.
	Holes, Closed int
	// Model is the wall time of the model call; Search the hole searches'
	// (sketch); Verify the final check's.
	Model, Search, Verify time.Duration
	// Message is the verifier's (or the policy's) first complaint.
	Message string
	// Chars is the length of the model's text.
	Chars int
}

// SampleLog collects the SampleRecords of one theorem attempt. It is safe
// for concurrent use; the zero value is ready.
type SampleLog struct {
	mu   sync.Mutex
	recs []SampleRecord
}

// Records returns what has been recorded, in order.
func (l *SampleLog) Records() []SampleRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]SampleRecord(nil), l.recs...)
}

func (l *SampleLog) add(r SampleRecord) {
	l.mu.Lock()
	l.recs = append(l.recs, r)
	l.mu.Unlock()
}

type sampleLogKey struct{}

// WithSampleLog returns a ctx under which the modes record each judged
// sample in l (the runner puts them on the attempt's result line).
func WithSampleLog(ctx context.Context, l *SampleLog) context.Context {
	return context.WithValue(ctx, sampleLogKey{}, l)
}

// recordSample adds r to the ctx's SampleLog, if it has one.
func recordSample(ctx context.Context, r SampleRecord) {
	if l, ok := ctx.Value(sampleLogKey{}).(*SampleLog); ok {
		l.add(r)
	}
}

// Informal is a problem's human-written statement and proof (the
// Draft-Sketch-Prove data).
type Informal struct {
	Statement string
	Proof     string
}

// Kinds of ProofRequest.
const (
	KindProof  = "proof"  // a complete proof
	KindSketch = "sketch" // a formal sketch with holes
)

// ProofRequest asks a ProofWriter for one complete proof or sketch.
type ProofRequest struct {
	Theorem Theorem
	Kind    string // KindProof or KindSketch
	// Informal is the problem's informal statement and proof (sketches).
	Informal *Informal
	// Round is 0 for a first attempt. A repair (Round > 0) carries the
	// failed attempt (the model's text) and the checker's first error.
	Round    int
	Previous string
	Error    string
}

// ProofText is a ProofWriter's answer: untrusted text.
type ProofText struct {
	Text string
	// Truncated is set when the model stopped at its token limit.
	Truncated bool
}

// ProofWriter writes complete proofs and sketches (a language model). Its
// output is untrusted: only the Verifier's verdict on the assembled file
// counts.
type ProofWriter interface {
	Name() string
	WriteProof(ctx context.Context, req ProofRequest) (ProofText, error)
}

// WholeAssembler is implemented by backends that turn a model's complete
// proof (or sketch) into the file to verify: the proof after the
// theorem's statement, or a whole file that declares the theorem itself.
// A text the verifier would reject anyway (an escape hatch it refuses, a
// give-up such as Coq's Admitted or Lean's sorry when no extra axiom is
// allowed) may be refused here with a *Rejection, so that no checker runs
// for it; nothing else is refused: whole proofs are not held to the
// one-tactic policy of the step-wise search.
type WholeAssembler interface {
	AssembleWhole(thm Theorem, text string, opts WholeOptions) (string, error)
}

// WholeOptions tell AssembleWhole what the file is for.
type WholeOptions struct {
	// Holes keeps the backend's holes (a sketch): they are not refused.
	Holes bool
	// AllowAxioms are the axioms the verifier will accept beyond its
	// allow-list: with any, nothing is refused for declaring an axiom.
	AllowAxioms []string
}

// assembleWhole is b's AssembleWhole, or its Assemble of the text as one
// step when it has none.
func assembleWhole(b Verifier, thm Theorem, text string, opts WholeOptions) (string, error) {
	if wa, ok := b.(WholeAssembler); ok {
		return wa.AssembleWhole(thm, text, opts)
	}
	t, err := TrimTactic(text, 1<<20)
	if err != nil {
		return "", err
	}
	return b.Assemble(thm, []string{t}), nil
}
