package isabelle

import (
	"context"
	"errors"
	"strings"
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
		{"right, an apply script left open", "apply (rule conjI)\napply simp\napply simp", true},
		{"right, an apply script with its done", "apply (rule conjI)\n  apply simp\n apply simp\ndone", true},
		{"right, the whole theorem", "theorem sim_whole: \"A \\<and> B\"\napply (rule conjI)\napply simp\napply simp\ndone\n\nend", true},
		{"right, after a lemma of its own", "lemma helper: \"A\"\napply simp\ndone\n\ntheorem sim_whole: \"A \\<and> B\"\napply (rule conjI)\napply simp\napply simp\ndone", true},
		{"the statement changed", "theorem sim_whole: \"A\"\napply simp\ndone", false},
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
// proved. The hole is a sorry, a sledgehammer call (the Draft-Sketch-Prove
// placeholder) or a sorry after steps of the sketch's own.
func TestIsabelleSketchModes(t *testing.T) {
	t.Parallel()
	b := simBackend(t, "sim")
	thm := simTheorem(t, "sim_sketch", conj)
	closing := tableProposer{conj: proofOfConj, "A": {c("apply simp", -0.1)}, "B": {c("apply simp", -0.1)}}
	// the Draft-Sketch-Prove shape: a structured proof whose local goals
	// are holes (sledgehammer calls or sorry)
	dsp := "proof -\n  have h: \"A\" sledgehammer\n  then have \"B\"\n    sorry\n  show ?thesis\n    sorry\nqed"
	for _, tc := range []struct {
		name, sketch string
		proposer     prover.Proposer
		proved       bool
		holes        int
	}{
		{"sorry, closing", "sorry", closing, true, 1},
		{"sorry, nothing", "sorry", tableProposer{}, false, 1},
		{"sledgehammer, closing", "sledgehammer", closing, true, 1},
		{"after a step, closing", "apply (rule conjI)\nsorry", closing, true, 1},
		{"after a step, nothing", "apply (rule conjI)\nsorry", tableProposer{}, false, 1},
		{"structured, closing", dsp, closing, true, 3},
		{"structured, one hole left", dsp, tableProposer{conj: proofOfConj, "A": {c("apply simp", -0.1)}}, false, 3},
		// a hole only sledgehammer closes (the sim's C), as the portfolio proposes it
		{"structured, closed by sledgehammer", strings.Replace(dsp, `have h: \"A\"`, `have h: \"C\"`, 1),
			tableProposer{"C": {c("sledgehammer", -0.1)}, conj: proofOfConj, "A": {c("apply simp", -0.1)}, "B": {c("apply simp", -0.1)}}, true, 3},
	} {
		sketch := tc.sketch
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

// TestIsabelleAssembleWhole: what AssembleWhole makes of a model's text,
// without a server: the proof's styles, a whole theorem or theory, the
// closing an open apply script lacks, sketches' holes, and the refusals
// the final check would make anyway.
func TestIsabelleAssembleWhole(t *testing.T) {
	t.Parallel()
	b := holesBackend(t)
	thm := simTheorem(t, "sim_asm", conj)
	stmt := thm.Header + thm.Statement + "\n"
	cases := []struct {
		name, text string
		holes      bool
		want       string // the file, or "" when refused
		rule       string // the rejection's rule
	}{
		{name: "by", text: "by auto", want: stmt + "  by auto\n\nend\n"},
		{name: "apply left open", text: "apply (rule conjI)\napply simp", want: stmt + "  apply (rule conjI)\n  apply simp\n  done\n\nend\n"},
		{name: "apply with done", text: "apply simp\ndone", want: stmt + "  apply simp\n  done\n\nend\n"},
		{name: "using then by", text: "using assms by (simp add: foo)", want: stmt + "  using assms by (simp add: foo)\n\nend\n"},
		{name: "done in parentheses is no closing", text: "apply (simp add: done)", want: stmt + "  apply (simp add: done)\n  done\n\nend\n"},
		{name: "structured", text: "proof -\n  show ?thesis by simp\nqed", want: stmt + "  proof -\n    show ?thesis by simp\n  qed\n\nend\n"},
		{name: "ended by a dot", text: "proof -\n  show ?thesis using x .\nqed", want: stmt + "  proof -\n    show ?thesis using x .\n  qed\n\nend\n"},
		{name: "the theory's end dropped", text: "by simp\n\nend", want: stmt + "  by simp\n\nend\n"},
		{name: "a context's end kept", text: "proof -\n  show ?thesis by simp\nqed\ncontext begin\nend", want: stmt + "  proof -\n    show ?thesis by simp\n  qed\n  context begin\n  end\n\nend\n"},
		{name: "the theorem itself", text: "theorem sim_asm: \"A\"\n  by simp\nend", want: thm.Header + "theorem sim_asm: \"A\"\n  by simp\n\nend\n"},
		{name: "a whole theory", text: "theory X imports Main\nbegin\ntheorem sim_asm: \"A\" by simp\nend", want: "theory X imports Main\nbegin\ntheorem sim_asm: \"A\" by simp\nend\n"},
		{name: "sorry", text: "sorry", rule: "gives-up"},
		{name: "oops", text: "apply simp\noops", rule: "gives-up"},
		{name: "proof symbol", text: "\\<proof>", rule: "gives-up"},
		{name: "sledgehammer outside a sketch", text: "sledgehammer", rule: "refused"},
		{name: "ML", text: "ML \\<open>error \"x\"\\<close>\nby simp", rule: "refused"},
		{name: "axiomatization", text: "by simp\naxiomatization where c: \"False\"", rule: "refused"},
		{name: "empty", text: "  \n", rule: "empty"},
		{name: "an open comment", text: "by simp (* ", rule: "unparsable"},
		{name: "sketch: sorry kept", text: "sorry", holes: true, want: stmt + "  sorry\n\nend\n"},
		{name: "sketch: sledgehammer is a hole", text: "proof -\n  have \"A\" sledgehammer\n  then show ?thesis sledgehammer\nqed", holes: true,
			want: stmt + "  proof -\n    have \"A\" sorry\n    then show ?thesis sorry\n  qed\n\nend\n"},
		{name: "sketch: sledgehammer in a string is no hole", text: "using \"sledgehammer\" sorry", holes: true, want: stmt + "  using \"sledgehammer\" sorry\n\nend\n"},
		{name: "sketch: oops refused", text: "oops", holes: true, rule: "refused"},
		{name: "sketch: ML refused", text: "sorry\nML_val \\<open>1\\<close>", holes: true, rule: "refused"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := b.AssembleWhole(thm, tc.text, prover.WholeOptions{Holes: tc.holes})
			if tc.rule != "" {
				var rej *prover.Rejection
				if !errors.As(err, &rej) || rej.Rule != tc.rule {
					t.Fatalf("AssembleWhole(%q) = %q, %v; want a %q rejection", tc.text, got, err, tc.rule)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("AssembleWhole(%q) = %v\n%s\nwant\n%s", tc.text, err, got, tc.want)
			}
		})
	}
}
