package bridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// decodeParams reads a params object strictly: unknown fields and wrong
// types are CodeInvalidParams naming the field.
func decodeParams(raw *json.RawMessage, v any) *jsonrpc2.Error {
	if raw == nil || bytes.Equal(bytes.TrimSpace(*raw), []byte("null")) {
		return invalidParams("params: an object is required")
	}
	dec := json.NewDecoder(bytes.NewReader(*raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return paramsError(err)
	}
	return nil
}

func paramsError(err error) *jsonrpc2.Error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field == "" {
			return invalidParams("params: an object is required, got %s", te.Value)
		}
		return invalidParams("params.%s: got %s, want %s", te.Field, te.Value, jsonType(te.Type.Kind().String()))
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return invalidParams("params: unknown field %s", strings.TrimPrefix(msg, "json: unknown field "))
	}
	return invalidParams("params: %v", err)
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int64", "uint64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "ptr", "struct", "map":
		return "an object"
	case "slice":
		return "an array"
	}
	return kind
}

// checkText rejects text that cannot be a prover's input.
func checkText(field, s string) *jsonrpc2.Error {
	if strings.ContainsRune(s, 0) {
		return invalidParams("%s: contains a NUL byte", field)
	}
	return nil
}

// Suggest answers llemma/suggest.
func (s *Server) Suggest(ctx context.Context, p SuggestParams) (SuggestResult, error) {
	s.init()
	name, err := s.backendName("params.backend", p.Backend)
	if err != nil {
		return SuggestResult{}, err
	}
	if p.N < 0 || p.N > 256 {
		return SuggestResult{}, invalidParams("params.n: %d is out of range (1..256)", p.N)
	}
	for _, f := range []struct{ name, v string }{{"params.state", p.State}, {"params.prefix", p.Prefix}, {"params.context", p.Context}} {
		if e := checkText(f.name, f.v); e != nil {
			return SuggestResult{}, e
		}
	}
	q := suggestQuery{backend: name, state: p.State, prefix: p.Prefix, n: p.N, name: lastTheoremName(p.Context)}
	if p.Theorem != nil {
		thm, err := theoremOf(name, "params.theorem", p.Theorem.Header, p.Theorem.Statement)
		if err != nil {
			return SuggestResult{}, err
		}
		q.thm, q.name = &thm, thm.Name
	} else if strings.TrimSpace(p.State) == "" {
		return SuggestResult{}, invalidParams("params.state is required (or give params.theorem)")
	}
	sugs, err := s.suggest(ctx, q)
	if err != nil {
		return SuggestResult{}, err
	}
	res := SuggestResult{Suggestions: make([]Suggestion, 0, len(sugs))}
	for _, sg := range sugs {
		res.Suggestions = append(res.Suggestions, Suggestion{Tactic: sg.tactic, Score: sg.score, Checked: sg.checked})
	}
	return res, nil
}

// theoremOf builds the theorem of a header and a statement.
func theoremOf(backend, field, header, statement string) (prover.Theorem, error) {
	if strings.TrimSpace(statement) == "" {
		return prover.Theorem{}, invalidParams("%s.statement is required", field)
	}
	for _, f := range []struct{ name, v string }{{field + ".header", header}, {field + ".statement", statement}} {
		if e := checkText(f.name, f.v); e != nil {
			return prover.Theorem{}, e
		}
	}
	name := theoremName(statement)
	if name == "" {
		return prover.Theorem{}, invalidParams("%s.statement: no theorem name found (it should start with Theorem NAME, Lemma NAME or theorem NAME)", field)
	}
	if header != "" && !strings.HasSuffix(header, "\n") {
		header += "\n"
	}
	return prover.Theorem{Name: name, Backend: backend, Header: header, Statement: strings.TrimSpace(statement)}, nil
}

// Progress reports one line of a running proof; percentage is nil when
// unknown.
type Progress func(message string, percentage *int)

// Prove answers llemma/prove.
func (s *Server) Prove(ctx context.Context, p ProveParams, progress Progress) (ProveResult, error) {
	s.init()
	name, err := s.backendName("params.backend", p.Backend)
	if err != nil {
		return ProveResult{}, err
	}
	thm, err := theoremOf(name, "params", p.Header, p.Statement)
	if err != nil {
		return ProveResult{}, err
	}
	budget, err := s.budget(p.Budget)
	if err != nil {
		return ProveResult{}, err
	}
	b, err := s.backend(name)
	if err != nil {
		return ProveResult{}, err
	}
	prop, err := s.proposer(name)
	if err != nil {
		return ProveResult{}, err
	}
	agent := &prover.Agent{
		Backend:        b,
		Proposer:       prop,
		Search:         search.Config{Expansions: budget.Expansions, Samples: budget.Samples, TacticTimeout: budget.TacticTimeout},
		TheoremTimeout: budget.TheoremTimeout,
		SetupTimeout:   s.SetupTimeout,
		VerifyTimeout:  s.VerifyTimeout,
		Slots:          s.Slots,
		Log:            s.Log,
	}
	if progress != nil {
		agent.OnEvent = func(msg string) { progress(msg, nil) }
	}
	out := agent.Prove(ctx, thm)
	if out.Status != prover.StatusProved && errors.Is(context.Cause(ctx), errRequestCancelled) {
		return ProveResult{}, rpcErr(CodeCancelled, "request cancelled")
	}
	if progress != nil {
		hundred := 100
		progress(string(out.Status), &hundred)
	}
	res := ProveResult{Status: string(out.Status), Proof: out.Proof, Axioms: out.Axioms, Error: out.Message(), Cause: out.Cause()}
	if out.Status == prover.StatusProved {
		res.FileText = out.FileText
	} else {
		res.Proof = nil
	}
	if res.Proof == nil {
		res.Proof = []string{}
	}
	if res.Axioms == nil {
		res.Axioms = []string{}
	}
	if out.Status == prover.StatusError && errors.Is(out.Err, prover.ErrUnavailable) {
		return res, rpcErr(CodeUnavailable, "%s", out.Message())
	}
	return res, nil
}

// budget merges a request's budget over the server's, within the caps.
func (s *Server) budget(p *BudgetParams) (Budget, error) {
	b := s.Budget
	if p == nil {
		return b, nil
	}
	seconds := func(field string, v float64) (time.Duration, error) {
		if math.IsNaN(v) || v < 0 || v > 1e6 {
			return 0, invalidParams("params.budget.%s: %v is out of range", field, v)
		}
		return time.Duration(v * float64(time.Second)), nil
	}
	switch {
	case p.Expansions < 0 || p.Expansions > 100000:
		return b, invalidParams("params.budget.expansions: %d is out of range (1..100000)", p.Expansions)
	case p.Samples < 0 || p.Samples > 1024:
		return b, invalidParams("params.budget.samples: %d is out of range (1..1024)", p.Samples)
	}
	if p.Expansions > 0 {
		b.Expansions = p.Expansions
	}
	if p.Samples > 0 {
		b.Samples = p.Samples
	}
	tt, err := seconds("theorem_timeout_s", p.TheoremTimeoutS)
	if err != nil {
		return b, err
	}
	if tt > s.MaxTheoremTimeout {
		return b, invalidParams("params.budget.theorem_timeout_s: %v exceeds this server's limit of %v s", p.TheoremTimeoutS, s.MaxTheoremTimeout.Seconds())
	}
	if tt > 0 {
		b.TheoremTimeout = tt
	}
	tac, err := seconds("tactic_timeout_s", p.TacticTimeoutS)
	if err != nil {
		return b, err
	}
	if tac > 0 {
		b.TacticTimeout = min(tac, b.TheoremTimeout)
	}
	return b, nil
}

// Check answers llemma/check through the backend's one verifier. With a
// statement, the challenge is params.header + params.statement compiled
// alone (never the file's own header: a file cannot change how the
// statement it is judged against elaborates); without one, the file's last
// theorem is judged and the answer says what it proves.
func (s *Server) Check(ctx context.Context, p CheckParams) (CheckResult, error) {
	s.init()
	name, err := s.backendName("params.backend", p.Backend)
	if err != nil {
		return CheckResult{}, err
	}
	if strings.TrimSpace(p.FileText) == "" {
		return CheckResult{}, invalidParams("params.file_text is required")
	}
	if e := checkText("params.file_text", p.FileText); e != nil {
		return CheckResult{}, e
	}
	b, err := s.backend(name)
	if err != nil {
		return CheckResult{}, err
	}
	req := prover.VerifyRequest{Solution: p.FileText}
	if strings.TrimSpace(p.Statement) == "" {
		if p.Header != nil {
			return CheckResult{}, invalidParams("params.header needs params.statement")
		}
		if req.Name = lastTheoremName(p.FileText); req.Name == "" {
			return CheckResult{}, invalidParams("params.file_text: no theorem found; give params.statement")
		}
	} else {
		header := ""
		if p.Header != nil {
			header = *p.Header
		}
		thm, err := theoremOf(name, "params", header, p.Statement)
		if err != nil {
			return CheckResult{}, err
		}
		req.Name, req.Challenge = thm.Name, &thm
	}
	v, err := b.Verify(ctx, req)
	if err != nil {
		return CheckResult{}, err
	}
	res := CheckResult{Verified: v.Verified, Axioms: v.Axioms, Constant: v.Constant, Type: v.Type}
	if res.Axioms == nil {
		res.Axioms = []string{}
	}
	if !v.Verified {
		res.Error = v.Message
		if res.Error == "" {
			res.Error = fmt.Sprintf("%s not verified", req.Name)
		}
	}
	return res, nil
}
