package lean

import (
	"context"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// textWriter is a prover.ProofWriter that answers every request with one
// fixed text (a model's untrusted whole proof or sketch).
type textWriter string

func (w textWriter) Name() string { return "fixed" }

func (w textWriter) WriteProof(context.Context, prover.ProofRequest) (prover.ProofText, error) {
	return prover.ProofText{Text: string(w)}, nil
}

// TestLeanWholeProofModes: prover.WholeProof against the real Lean
// Verifier on the lake/lean double: only the right proof is proved; a
// wrong proof and each cheat (sorry, admit, native_decide without the
// flag) never are; a proved Outcome's file passes the verifier again.
func TestLeanWholeProofModes(t *testing.T) {
	t.Parallel()
	b, _ := newCheckBackend(t, nil)
	thm := demoChallenge
	cases := []struct {
		name, text string
		proved     bool
	}{
		{"right", "subst h₀\nnorm_num", true},
		{"right, the whole theorem", demoProof + "  subst h₀\n  norm_num", true},
		{"right, the whole file", minif2fHeader + demoProof + "  subst h₀\n  norm_num", true},
		{"right, by after the statement", "by\n  subst h₀\n  norm_num", true},
		{"right, := by after the statement", ":= by\n  subst h₀\n  norm_num", true},
		{"the whole theorem, wrong", demoProof + "  exact nonexistent_lemma", false},
		{"the whole theorem, another statement", "theorem llemma_demo (x : ℝ) (h₀ : x = 2) :\n  x + 1 ≤ 3 := by\n  subst h₀\n  norm_num", false},
		{"a helper lemma by sorry", "lemma helper : (2 : ℝ) + 1 = 3 := by sorry\n\n" + demoProof + "  subst h₀\n  exact helper", false},
		{"wrong", "exact nonexistent_lemma", false},
		{"sorry", "sorry", false},
		{"admit", "subst h₀\nadmit", false},
		{"native_decide", "subst h₀\nnative_decide", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			w := &prover.WholeProof{Backend: b, Writer: textWriter(c.text)}
			out := w.Prove(ctx, thm)
			if got := out.Status == prover.StatusProved; got != c.proved {
				t.Fatalf("WholeProof(%q) = %s (%s), want proved %v", c.text, out.Status, out.Note, c.proved)
			}
			if !c.proved {
				if out.Status != prover.StatusFailed || out.FileText != "" {
					t.Errorf("WholeProof(%q) = %s with file %q, want failed and no file", c.text, out.Status, out.FileText)
				}
				return
			}
			v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: out.FileText})
			if err != nil || !v.Verified {
				t.Errorf("re-verifying the proved file = %+v, %v\n%s", v, err, out.FileText)
			}
		})
	}
}

// TestLeanSketchModes: prover.Sketch on the REPL simulator and the
// lake/lean double: a sketch's sorry (alone, or after steps of the sketch)
// is a hole whose goal is what the steps leave; when the proposer closes
// it the theorem is proved and its file passes the verifier again; when
// it cannot, or the sketch's own step fails, it is not.
func TestLeanSketchModes(t *testing.T) {
	t.Parallel()
	b, _ := newCheckBackend(t, nil)
	thm := simTheorem("sim_two_step")
	closing := listProposer{"subst hx", "norm_num", "intro x hx"}
	for _, tc := range []struct {
		name, sketch string
		proposer     prover.Proposer
		proved       bool
		holes        int
	}{
		{"sorry, closing", "sorry", closing, true, 1},
		{"after a step, closing", "intro x hx\nsorry", closing, true, 1},
		{"after a step, nothing", "intro x hx\nsorry", listProposer{"linarith"}, false, 1},
		{"a failing step before the hole", "omega\nsorry", closing, false, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			sketch := tc.sketch
			s := &prover.Sketch{
				Backend:  b,
				Sketches: func(prover.Theorem) (string, bool) { return sketch, true },
				Filler:   prover.HoleFiller{Proposer: tc.proposer, Search: search.Config{Expansions: 8, Samples: 8, TacticTimeout: 400 * time.Millisecond}},
			}
			var log prover.SampleLog
			out := s.Prove(prover.WithSampleLog(ctx, &log), thm)
			if got := out.Status == prover.StatusProved; got != tc.proved {
				t.Fatalf("Sketch(%q) = %s (%s; %v), want proved %v", sketch, out.Status, out.Note, out.Err, tc.proved)
			}
			recs := log.Records()
			if len(recs) != 1 || recs[0].Holes != tc.holes || (recs[0].Closed == tc.holes) != tc.proved {
				t.Fatalf("sample records = %+v, want one with %d holes, all closed %v", recs, tc.holes, tc.proved)
			}
			if !tc.proved {
				return
			}
			v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: out.FileText})
			if err != nil || !v.Verified {
				t.Errorf("re-verifying the proved file = %+v, %v\n%s", v, err, out.FileText)
			}
		})
	}
}
