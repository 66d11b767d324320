package prover

import (
	"context"
	"errors"
)

// Sentinels of the verdict taxonomy besides those of backend.go. The agent
// wraps every error it reports with the stage that failed, so that
// CauseOf can name a cause without reading message text.
var (
	// ErrModel: the proposer (a model runtime, a k-NN model file) could
	// not give candidates. A model runtime that cannot be reached also
	// wraps ErrUnavailable.
	ErrModel = errors.New("prover: proposer failed")
	// ErrBackend: a backend call (open, apply) failed in a way no more
	// specific sentinel names.
	ErrBackend = errors.New("prover: backend failed")
	// ErrSetupTimeout is the context cause of an open (process start and
	// load of the header and statement) past the setup budget.
	ErrSetupTimeout = errors.New("prover: setup budget exceeded")
	// ErrVerify: the final check could not run or finish (not a rejection:
	// a rejected file is a Verification with Verified false).
	ErrVerify = errors.New("prover: final check could not run")
	// ErrVerifyTimeout is the context cause of a final check past the
	// verify budget.
	ErrVerifyTimeout = errors.New("prover: verify budget exceeded")
)

// Causes are the stable names of what made an outcome an error, as result
// lines and the circuit breaker record them. They never change meaning;
// new ones may be added.
const (
	CauseModelUnavailable   = "model-unavailable"   // the model runtime could not be reached
	CauseModel              = "model"               // the proposer failed or never answered
	CauseBackendUnavailable = "backend-unavailable" // the proof assistant is not installed or not reachable
	CauseBackendBroken      = "backend-broken"      // the backend declared itself broken (ErrBackendBroken: a crash loop)
	CauseBackendCrashed     = "backend-crashed"     // a proof-assistant process died
	CauseSetupTimeout       = "setup-timeout"       // starting a process and loading the theorem outlived the setup budget
	CauseLoad               = "load"                // the header or statement did not load
	CauseVerify             = "verify"              // the final check could not run or finish
	CauseBackend            = "backend"             // another backend failure
	CauseInternal           = "internal"            // anything else
)

// CauseOf names the cause of err (see the Cause constants); "" for nil.
// Specific sentinels win over the stage that wrapped them: an unreachable
// model is model-unavailable, a coqc missing at the final check is
// backend-unavailable.
func CauseOf(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrModel) && errors.Is(err, ErrUnavailable):
		return CauseModelUnavailable
	case errors.Is(err, ErrModel):
		return CauseModel
	case errors.Is(err, ErrUnavailable):
		return CauseBackendUnavailable
	case errors.Is(err, ErrBackendBroken):
		return CauseBackendBroken
	case errors.Is(err, ErrSetupTimeout):
		return CauseSetupTimeout
	case errors.Is(err, ErrLoad):
		return CauseLoad
	case errors.Is(err, ErrProcessDied):
		return CauseBackendCrashed
	case errors.Is(err, ErrVerify), errors.Is(err, ErrVerifyTimeout):
		return CauseVerify
	case errors.Is(err, ErrBackend), errors.Is(err, ErrTacticTimeout), errors.Is(err, ErrClosed):
		return CauseBackend
	}
	return CauseInternal
}

// stageError marks err with the stage that failed (one of the sentinels
// above) without adding the sentinel's text to the message.
type stageError struct {
	stage error
	msg   string
	err   error
}

func (e *stageError) Error() string {
	if e.err == nil {
		return e.msg
	}
	return e.msg + ": " + e.err.Error()
}

func (e *stageError) Unwrap() []error {
	if e.err == nil {
		return []error{e.stage}
	}
	return []error{e.stage, e.err}
}

// StageError returns an error reading "msg: err" that wraps both stage
// (e.g. ErrModel) and err, for errors.Is and CauseOf.
func StageError(stage error, msg string, err error) error {
	return &stageError{stage: stage, msg: msg, err: err}
}

// Slots bound the theorems that hold a checker process at once (from open
// to the end of the final check): a run never has more busy checker
// processes than slots, whatever its concurrency, and the wait for a slot
// is the outcome's Queue time, not charged to any budget.
type Slots struct{ ch chan struct{} }

// NewSlots returns n slots (at least 1).
func NewSlots(n int) *Slots { return &Slots{ch: make(chan struct{}, max(n, 1))} }

// acquire waits for a slot; nil slots never wait.
func (s *Slots) acquire(ctx context.Context) error {
	if s == nil {
		return nil
	}
	select {
	case s.ch <- struct{}{}:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (s *Slots) release() {
	if s != nil {
		<-s.ch
	}
}
