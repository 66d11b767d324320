package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// Method names of hole filling.
const (
	// MethodFill is llemma/fill: close every hole (admit, Admitted,
	// sorry) of a file with the step-wise search.
	MethodFill = "llemma/fill"
	// MethodHole is the notification sent as each hole of a llemma/fill
	// request is done (closed or not), before the request's answer.
	MethodHole = "llemma/hole"
)

// FillParams are llemma/fill's params.
type FillParams struct {
	Backend  string `json:"backend"`
	FileText string `json:"file_text"`
	// Name is the theorem the filled file is judged on (default: its
	// last), against its statement in FileText.
	Name   string        `json:"name,omitempty"`
	Budget *BudgetParams `json:"budget,omitempty"`
	// Token is echoed in every llemma/hole notification of the request
	// (default: a fresh id).
	Token any `json:"token,omitempty"`
}

// HoleInfo is one hole and what the search did with it.
type HoleInfo struct {
	Index   int      `json:"index"` // 0-based, in file order
	Kind    string   `json:"kind"`
	Theorem string   `json:"theorem"`
	Line    int      `json:"line"`
	Column  int      `json:"column"`
	Status  string   `json:"status"` // closed, open, timeout, unsupported, error, interrupted
	Proof   []string `json:"proof"`
	Note    string   `json:"note,omitempty"`
	Seconds float64  `json:"seconds"`
}

// HoleParams are a llemma/hole notification's params.
type HoleParams struct {
	Token any      `json:"token"`
	Hole  HoleInfo `json:"hole"`
}

// FillResult answers llemma/fill. FileText is the file with every closed
// hole filled (the others left as they are). Verified is the final
// verifier's verdict on it, judged only when every hole closed: the
// search's "closed" is never a verdict.
type FillResult struct {
	FileText string     `json:"file_text"`
	Holes    []HoleInfo `json:"holes"`
	Closed   int        `json:"closed"`
	Verified bool       `json:"verified"`
	Axioms   []string   `json:"axioms"`
	Error    string     `json:"error,omitempty"`
}

func holeInfo(r prover.HoleResult) HoleInfo {
	h := HoleInfo{Index: r.Hole.Index, Kind: r.Hole.Kind, Theorem: r.Hole.Theorem, Line: r.Hole.Line, Column: r.Hole.Column,
		Status: string(r.Status), Proof: r.Proof, Note: r.Note, Seconds: (r.Setup + r.Search).Seconds()}
	if r.Err != nil {
		h.Note = r.Err.Error()
	}
	if h.Proof == nil {
		h.Proof = []string{}
	}
	return h
}

// Fill answers llemma/fill: every hole of p.FileText is searched in its
// own context (the file before it loaded); onHole, when set, receives each
// as it is done; the filled file is judged by the final verifier against
// the statement of p.Name (or the last theorem) as FileText states it.
func (s *Server) Fill(ctx context.Context, p FillParams, onHole func(HoleInfo)) (FillResult, error) {
	s.init()
	name, err := s.backendName("params.backend", p.Backend)
	if err != nil {
		return FillResult{}, err
	}
	if strings.TrimSpace(p.FileText) == "" {
		return FillResult{}, invalidParams("params.file_text is required")
	}
	if e := checkText("params.file_text", p.FileText); e != nil {
		return FillResult{}, e
	}
	budget, err := s.budget(p.Budget)
	if err != nil {
		return FillResult{}, err
	}
	b, err := s.backend(name)
	if err != nil {
		return FillResult{}, err
	}
	hb, ok := b.(prover.HoleBackend)
	if !ok {
		return FillResult{}, invalidParams("params.backend: %s cannot fill holes yet", name)
	}
	if _, err := hb.Holes(p.FileText); err != nil {
		return FillResult{}, invalidParams("params.file_text: %v", err)
	}
	thmName := p.Name
	if thmName == "" {
		thmName = lastTheoremName(p.FileText)
	}
	if thmName == "" {
		return FillResult{}, invalidParams("params.file_text: no theorem found; give params.name")
	}
	prop, err := s.proposer(name)
	if err != nil {
		return FillResult{}, err
	}
	f := prover.HoleFiller{
		Backend: b, Proposer: prop,
		Search:      search.Config{Expansions: budget.Expansions, Samples: budget.Samples, TacticTimeout: budget.TacticTimeout},
		HoleTimeout: budget.TheoremTimeout, SetupTimeout: s.SetupTimeout, Slots: s.Slots, Log: s.Log,
	}
	if onHole != nil {
		f.OnHole = func(r prover.HoleResult) { onHole(holeInfo(r)) }
	}
	fill, err := f.Fill(ctx, p.FileText)
	if errors.Is(context.Cause(ctx), errRequestCancelled) {
		return FillResult{}, rpcErr(CodeCancelled, "request cancelled")
	}
	if err != nil {
		return FillResult{}, err
	}
	res := FillResult{FileText: fill.FileText, Closed: fill.Closed, Axioms: []string{}, Holes: make([]HoleInfo, 0, len(fill.Holes))}
	for _, h := range fill.Holes {
		res.Holes = append(res.Holes, holeInfo(h))
		if h.Status == prover.HoleError && errors.Is(h.Err, prover.ErrUnavailable) {
			return res, rpcErr(CodeUnavailable, "%v", h.Err)
		}
	}
	if len(fill.Holes) > 0 && !fill.AllClosed() {
		res.Error = fmt.Sprintf("%d of %d holes closed", fill.Closed, len(fill.Holes))
		return res, nil
	}
	req := prover.VerifyRequest{Name: thmName, Solution: fill.FileText}
	if d, err := prover.Lookup(name); err == nil && d.ParseTheorem != nil {
		if thm, err := d.ParseTheorem(thmName, p.FileText); err == nil {
			req.Challenge = &thm
		}
	}
	vctx, cancel := withTimeout(ctx, orDuration(s.VerifyTimeout, 2*time.Minute))
	defer cancel()
	v, err := b.Verify(vctx, req)
	if err != nil {
		return res, err
	}
	res.Verified = v.Verified
	if v.Axioms != nil {
		res.Axioms = v.Axioms
	}
	if !v.Verified {
		res.Error = "every hole closed, but the filled file is not verified: " + v.Message
	}
	return res, nil
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
