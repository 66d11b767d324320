package lean

import (
	"context"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
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
