package lean

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Requests, one type per shape the REPL accepts, in its dispatch order.
// Optional fields are pointers or omitempty so that what is sent is exactly
// what was meant: the REPL ignores unknown keys and tries the shapes in
// order, so a stray key can turn one kind of request into another.

// TacticRequest runs one tactic on a proof state (ProofStep).
type TacticRequest struct {
	Tactic     string `json:"tactic"`
	ProofState int    `json:"proofState"`
}

// PickleEnvRequest stores an environment in a file (PickleEnvironment).
type PickleEnvRequest struct {
	PickleTo string `json:"pickleTo"`
	Env      int    `json:"env"`
}

// UnpickleEnvRequest loads a pickled environment (UnpickleEnvironment).
type UnpickleEnvRequest struct {
	UnpickleEnvFrom string `json:"unpickleEnvFrom"`
}

// PickleProofStateRequest stores a proof state in a file (PickleProofState).
type PickleProofStateRequest struct {
	PickleTo   string `json:"pickleTo"`
	ProofState int    `json:"proofState"`
}

// UnpickleProofStateRequest loads a pickled proof state, in Env's context
// when given (UnpickleProofState).
type UnpickleProofStateRequest struct {
	UnpickleProofStateFrom string `json:"unpickleProofStateFrom"`
	Env                    *int   `json:"env,omitempty"`
}

// CommandRequest elaborates Lean commands (Command). Without Env the text
// starts a fresh environment and may begin with imports; with Env it
// continues that environment and must not import.
type CommandRequest struct {
	Cmd        string `json:"cmd"`
	Env        *int   `json:"env,omitempty"`
	AllTactics bool   `json:"allTactics,omitempty"`
	RootGoals  bool   `json:"rootGoals,omitempty"`
	InfoTree   string `json:"infotree,omitempty"`
}

// FileRequest elaborates a file, read relative to the REPL's working
// directory (File).
type FileRequest struct {
	Path       string `json:"path"`
	Env        *int   `json:"env,omitempty"`
	AllTactics bool   `json:"allTactics,omitempty"`
	RootGoals  bool   `json:"rootGoals,omitempty"`
	InfoTree   string `json:"infotree,omitempty"`
}

// Env returns a pointer to id, for the optional env fields.
func Env(id int) *int { return &id }

// Pos is a source position: line 1-based, column 0-based in code points.
// Tactic-mode messages are at line 0, column 0.
type Pos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// Message is one Lean message.
type Message struct {
	Severity string `json:"severity"` // info, warning or error
	Pos      Pos    `json:"pos"`
	EndPos   *Pos   `json:"endPos"` // null or absent when Lean has none
	Data     string `json:"data"`
}

// Severity values.
const (
	SeverityInfo    = "info"
	SeverityWarning = "warning"
	SeverityError   = "error"
)

// Sorry is a `sorry` turned into a proof state.
type Sorry struct {
	ProofState int    `json:"proofState"`
	Pos        *Pos   `json:"pos,omitempty"` // absent in tactic responses
	Goal       string `json:"goal"`
	EndPos     *Pos   `json:"endPos,omitempty"`
}

// TacticInfo is one tactic reported under allTactics.
type TacticInfo struct {
	UsedConstants []string `json:"usedConstants"`
	Tactic        string   `json:"tactic"`
	ProofState    int      `json:"proofState"` // the state before the tactic
	Pos           Pos      `json:"pos"`
	Goals         string   `json:"goals"` // all goals in one string, or "no goals"
	EndPos        Pos      `json:"endPos"`
}

// CommandResponse answers a Command, File or environment (un)pickling
// request. Messages, Sorries and Tactics are omitted by the REPL when empty.
type CommandResponse struct {
	Sorries  []Sorry         `json:"sorries,omitempty"`
	Messages []Message       `json:"messages,omitempty"`
	InfoTree json.RawMessage `json:"infotree,omitempty"`
	Env      int             `json:"env"`
	Tactics  []TacticInfo    `json:"tactics,omitempty"`
}

// ProofStepResponse answers a tactic or proof-state (un)pickling request.
type ProofStepResponse struct {
	Traces      []string  `json:"traces,omitempty"`
	Sorries     []Sorry   `json:"sorries,omitempty"`
	ProofStatus string    `json:"proofStatus"`
	ProofState  int       `json:"proofState"`
	Messages    []Message `json:"messages,omitempty"`
	Goals       []string  `json:"goals"`
}

// ErrorResponse is the REPL's request-level failure: nothing was allocated.
type ErrorResponse struct {
	Message string `json:"message"`
}

// proofStatus values.
const (
	StatusCompleted       = "Completed"
	StatusOpenGoals       = "Incomplete: open goals remain"
	StatusContainsSorry   = "Incomplete: contains sorry"
	StatusContainsMVars   = "Incomplete: contains metavariable(s)"
	StatusGoalNotAssigned = "Error: Goal not assigned"
	StatusMoreThanOneGoal = "Not verified: more than one initial goal"
)

// The exact top-level error messages of the REPL.
const (
	MsgUnknownEnv             = "Unknown environment."
	MsgUnknownProofState      = "Unknown proof state."
	MsgUnknownProofStatePickl = "Unknown proof State." // sic: pickling says "State"
	MsgLeanErrorPrefix        = "Lean error:\n"
	MsgUnknownTactic          = "Lean error:\n<input>:1:1: unknown tactic"
)

// The warning Lean gives a declaration that uses sorry.
const msgDeclUsesSorry = "declaration uses `sorry`"

// Kind says which response shape came back.
type Kind uint8

const (
	KindError     Kind = iota + 1 // {"message": ...}
	KindCommand                   // CommandResponse
	KindProofStep                 // ProofStepResponse
)

func (k Kind) String() string {
	switch k {
	case KindError:
		return "error"
	case KindCommand:
		return "command"
	case KindProofStep:
		return "proof-step"
	}
	return "unknown"
}

// Response is one decoded REPL response: exactly one of Error, Command or
// ProofStep is set, as Kind says.
type Response struct {
	Kind      Kind
	Error     *ErrorResponse
	Command   *CommandResponse
	ProofStep *ProofStepResponse
}

// ErrBadResponse: the REPL's output is not a response it can give.
var ErrBadResponse = errors.New("lean: malformed repl response")

// DecodeResponse decodes one response (without its blank-line terminator).
// The shape is told by its keys: only errors carry a top-level "message",
// only proof-step responses carry "proofStatus" (with "goals" and
// "proofState"), command responses carry "env".
func DecodeResponse(b []byte) (Response, error) {
	// One pass into the union of all shapes; presence decides the kind.
	// Unknown keys are ignored (a newer REPL may add some); the tests check
	// by round trip that every key of the fixtures is kept.
	var w struct {
		Message     *string         `json:"message"`
		ProofStatus *string         `json:"proofStatus"`
		ProofState  *int            `json:"proofState"`
		Goals       *[]string       `json:"goals"`
		Env         *int            `json:"env"`
		Messages    []Message       `json:"messages"`
		Sorries     []Sorry         `json:"sorries"`
		Traces      []string        `json:"traces"`
		Tactics     []TacticInfo    `json:"tactics"`
		InfoTree    json.RawMessage `json:"infotree"`
	}
	if len(bytes.TrimSpace(b)) == 0 || bytes.TrimSpace(b)[0] != '{' {
		return Response{}, fmt.Errorf("%w: not a JSON object: %q", ErrBadResponse, head(b, 40))
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return Response{}, fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	switch {
	case w.Message != nil:
		return Response{Kind: KindError, Error: &ErrorResponse{Message: *w.Message}}, nil
	case w.ProofStatus != nil:
		if w.Goals == nil || w.ProofState == nil {
			return Response{}, fmt.Errorf("%w: proof-step response without goals or proofState", ErrBadResponse)
		}
		return Response{Kind: KindProofStep, ProofStep: &ProofStepResponse{
			Traces: w.Traces, Sorries: w.Sorries, ProofStatus: *w.ProofStatus,
			ProofState: *w.ProofState, Messages: w.Messages, Goals: *w.Goals,
		}}, nil
	case w.Env != nil:
		return Response{Kind: KindCommand, Command: &CommandResponse{
			Sorries: w.Sorries, Messages: w.Messages, InfoTree: w.InfoTree, Env: *w.Env, Tactics: w.Tactics,
		}}, nil
	}
	return Response{}, fmt.Errorf("%w: no message, proofStatus or env key", ErrBadResponse)
}

// EncodeRequest appends the wire form of req to dst: the JSON object on one
// line (every newline inside a string escaped, HTML characters and non-ASCII
// left raw) followed by one blank line.
func EncodeRequest(dst *bytes.Buffer, req any) error {
	enc := json.NewEncoder(dst)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(req); err != nil { // writes the object and one '\n'
		return fmt.Errorf("encoding request: %w", err)
	}
	dst.WriteByte('\n')
	return nil
}

// ErrResponseTooLarge: a response exceeded the reader's bound.
var ErrResponseTooLarge = errors.New("lean: repl response too large")

// ReadResponse reads one response: lines up to a line that is exactly "\n".
// It returns the response without the terminating blank line. At most max
// bytes are read (ErrResponseTooLarge beyond). EOF before the blank line
// returns io.ErrUnexpectedEOF if something was read, io.EOF otherwise.
func ReadResponse(r *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	for {
		line, err := r.ReadSlice('\n')
		if len(buf)+len(line) > max {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrResponseTooLarge, max)
		}
		if err == nil && len(line) == 1 {
			if len(buf) == 0 {
				continue // stray blank line between responses: tolerated
			}
			return buf, nil
		}
		buf = append(buf, line...)
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			if len(buf) == 0 {
				return nil, io.EOF
			}
			return buf, io.ErrUnexpectedEOF
		default:
			return buf, err
		}
	}
}

// StepVerdict classifies a proof-step response by the strict rule.
type StepVerdict uint8

const (
	StepVerdictFailed StepVerdict = iota // drop the branch
	StepVerdictOpen                      // a new state with goals
	StepVerdictProved                    // the proof is complete
)

// Classify applies the step rule to a tactic response: ok means no
// top-level message and no error-severity message; proved means ok, no
// goals and proofStatus "Completed". No goals with any other status (the
// goals-[]-with-error trap, a recovered sorry, a kernel failure) is a
// failure. A state still containing sorry or an error is a failure too. The
// string is the reason for a failure.
func Classify(r Response) (StepVerdict, string) {
	switch r.Kind {
	case KindError:
		return StepVerdictFailed, r.Error.Message
	case KindProofStep:
	default:
		return StepVerdictFailed, "unexpected " + r.Kind.String() + " response to a tactic"
	}
	p := r.ProofStep
	if m := firstError(p.Messages); m != "" {
		return StepVerdictFailed, m
	}
	if len(p.Goals) == 0 {
		if p.ProofStatus == StatusCompleted {
			return StepVerdictProved, ""
		}
		return StepVerdictFailed, "no goals left but proofStatus is " + quote(p.ProofStatus)
	}
	if strings.Contains(p.ProofStatus, "sorry") || strings.HasPrefix(p.ProofStatus, "Error") {
		return StepVerdictFailed, "goals left with proofStatus " + quote(p.ProofStatus)
	}
	return StepVerdictOpen, ""
}

func firstError(ms []Message) string {
	for _, m := range ms {
		if m.Severity == SeverityError {
			if m.Data == "" {
				return "error"
			}
			return m.Data
		}
	}
	return ""
}

func quote(s string) string { return fmt.Sprintf("%q", s) }

// head is the first n bytes of b, for messages.
func head(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
