package isabelle

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

// TestIsabelleWholeProofModes: prover.WholeProof against the real
// Isabelle Verifier on the sim server: only the right proof is proved; a
// wrong proof and each cheat (sorry, oops, an axiomatization) never are;
// a proved Outcome's file passes the verifier again.
func TestIsabelleWholeProofModes(t *testing.T) {
	t.Parallel()
	b := simBackend(t, "sim")
	thm := simTheorem(t, "sim_whole", conj)
	cases := []struct {
		name, text string
		proved     bool
	}{
		{"right", "apply (rule conjI)\napply simp\napply simp", true},
		{"wrong", "apply blast", false},
		{"sorry", "sorry", false},
		{"sorry after a step", "apply (rule conjI)\nsorry", false},
		{"oops", "oops", false},
		{"axiomatization", "done\naxiomatization where cheat: \"False\"\nlemma x: \"A \\<and> B\" using cheat by blast", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			w := &prover.WholeProof{Backend: b, Writer: textWriter(c.text)}
			out := w.Prove(ctx, thm)
			if got := out.Status == prover.StatusProved; got != c.proved {
				t.Fatalf("WholeProof(%q) = %s (%s; %v), want proved %v", c.text, out.Status, out.Note, out.Err, c.proved)
			}
			if !c.proved {
				if out.Status != prover.StatusFailed || out.FileText != "" {
					t.Errorf("WholeProof(%q) = %s (%v) with file %q, want failed and no file", c.text, out.Status, out.Err, out.FileText)
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

// TestIsabelleSketchModes: prover.Sketch on the sim server: a sketch
// whose hole the proposer closes is proved (and its file passes the
// verifier again); with a proposer that offers nothing the theorem is not
// proved. Assemble appends done to every text, and a hole followed by
// done is unsupported, so the sketch ends its hole with a lemma of its own
// (a hole followed by a goal command is supported): see the report of
// issue 16.
func TestIsabelleSketchModes(t *testing.T) {
	t.Parallel()
	b := simBackend(t, "sim")
	thm := simTheorem(t, "sim_sketch", conj)
	const sketch = "sorry\n\nlemma sketch_tail: \"True\"\napply simp"
	closing := tableProposer{conj: proofOfConj, "A": {c("apply simp", -0.1)}, "B": {c("apply simp", -0.1)}}
	for _, tc := range []struct {
		name     string
		proposer prover.Proposer
		proved   bool
	}{{"closing", closing, true}, {"nothing", tableProposer{}, false}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			s := &prover.Sketch{
				Backend:  b,
				Sketches: func(prover.Theorem) (string, bool) { return sketch, true },
				Filler:   prover.HoleFiller{Proposer: tc.proposer, Search: search.DefaultConfig()},
			}
			var log prover.SampleLog
			out := s.Prove(prover.WithSampleLog(ctx, &log), thm)
			if got := out.Status == prover.StatusProved; got != tc.proved {
				t.Fatalf("Sketch = %s (%s; %v), want proved %v", out.Status, out.Note, out.Err, tc.proved)
			}
			// the hole is supported and searched in both cases
			recs := log.Records()
			if len(recs) != 1 || recs[0].Holes != 1 || (recs[0].Closed == 1) != tc.proved {
				t.Fatalf("sample records = %+v, want one with 1 hole, closed %v", recs, tc.proved)
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
