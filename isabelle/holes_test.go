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

// holesBackend is a backend whose server is never started (Holes and
// FillHoles need only its policy).
func holesBackend(t testing.TB) *Backend {
	t.Helper()
	b, err := New(fakeConfig(t, "sim"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

const holesSrc = `theory Holes imports Main
begin

(* sorry in a comment (* nested sorry *) *)
text \<open>a sorry in a text block \<open>sorry\<close>\<close>
text ‹a UTF-8 cartouche›

lemma first: "A \<and> B"
  sorry

lemma second [simp]: "x = (x::nat)"
  apply (rule conjI)
  sorry

lemma "True" \<proof>

lemma structured: "A"
proof -
  have "B" sorry
  show ?thesis sorry
qed

definition f :: nat where "f = 0 (* sorry *)"

context begin
lemma inner: "A" sorry
end

end
`

func TestIsabelleHoles(t *testing.T) {
	t.Parallel()
	b := holesBackend(t)
	holes, err := b.Holes(holesSrc)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		kind, thm, stmt string
		line            int
		unsupported     string // a substring of Unsupported, "" for a supported hole
	}
	wants := []want{
		{HoleSorry, "first", `lemma first: "A \<and> B"`, 9, ""},
		{HoleSorry, "second", `lemma second [simp]: "x = (x::nat)"`, 13, ""},
		{HoleProof, "lemma_line_15", `lemma "True"`, 15, ""},
		{HoleSorry, "structured", `lemma structured: "A"`, 19, "structured proof"},
		{HoleSorry, "structured", `lemma structured: "A"`, 20, "structured proof"},
		{HoleSorry, "", "", 26, "local theory block"},
	}
	if len(holes) != len(wants) {
		t.Fatalf("Holes = %d holes %+v, want %d", len(holes), holes, len(wants))
	}
	for i, w := range wants {
		h := holes[i]
		if h.Index != i || h.Kind != w.kind || h.Line != w.line || holesSrc[h.Start:h.End] != w.kind {
			t.Errorf("hole %d = %+v (text %q), want kind %s at line %d", i, h, holesSrc[h.Start:h.End], w.kind, w.line)
		}
		if w.unsupported == "" {
			if h.Unsupported != "" || h.Theorem != w.thm || h.Statement != w.stmt {
				t.Errorf("hole %d: theorem %q statement %q unsupported %q, want %q %q supported", i, h.Theorem, h.Statement, h.Unsupported, w.thm, w.stmt)
			}
		} else if !strings.Contains(h.Unsupported, w.unsupported) {
			t.Errorf("hole %d: Unsupported = %q, want it to mention %q", i, h.Unsupported, w.unsupported)
		}
	}
	// the column is 1-based in code points
	if holes[0].Column != 3 {
		t.Errorf("hole 0 column = %d, want 3", holes[0].Column)
	}
	for _, bad := range []string{
		"theory T imports Main begin lemma x: \"A\" sorry (* open comment",
		"theory T imports Main begin {* sorry *} end",
		"theory T imports Main begin lemma \"A\" sorry \"open string",
		// the holes depend on whether ‹ › are delimiters: refused
		"theory T imports Main begin text ‹sorry› end",
		"theory T imports Main begin text \\<open> ‹ \\<close> sorry \\<close> end",
	} {
		if hs, err := b.Holes(bad); err == nil {
			t.Errorf("Holes(%q) = %+v, want an error", bad, hs)
		}
	}
	// a name with .sorry is not a hole; nor is a theory without goals'
	hs, err := b.Holes("theory T imports Main begin\nthm foo.sorry\nend\n")
	if err != nil || len(hs) != 0 {
		t.Errorf("Holes(foo.sorry) = %+v, %v, want none", hs, err)
	}
	hs, err = b.Holes("theory T imports Main begin\ndeclare [[x]] sorry\nend\n")
	if err != nil || len(hs) != 1 || !strings.Contains(hs[0].Unsupported, "outside a theorem") {
		t.Errorf("Holes(sorry outside a goal) = %+v, %v", hs, err)
	}
	hs, err = b.Holes("theory T imports Main begin\nlemma x: \"A\" apply (tactic \\<open>all_tac\\<close>) sorry\nend\n")
	if err != nil || len(hs) != 1 || !strings.Contains(hs[0].Unsupported, "policy") {
		t.Errorf("Holes(an ML step before the hole) = %+v, %v, want Unsupported by the policy", hs, err)
	}
}

func TestIsabelleFillHoles(t *testing.T) {
	t.Parallel()
	b := holesBackend(t)
	holes, err := b.Holes(holesSrc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.FillHoles(holesSrc, holes, map[int][]string{
		0: {"apply (rule conjI)", "by auto"},
		2: {"apply simp\n  apply auto"}, // a resolved sledgehammer step spans lines
	})
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Replace(holesSrc, "\"A \\<and> B\"\n  sorry", "\"A \\<and> B\"\n  apply (rule conjI)\n  apply auto\n  done", 1)
	want = strings.Replace(want, `lemma "True" \<proof>`, "lemma \"True\" apply simp\n  apply auto\n  done", 1)
	if got != want {
		t.Errorf("FillHoles =\n%s\nwant\n%s", got, want)
	}
	// the other holes are left as they are, and the result still has them
	left, err := b.Holes(got)
	if err != nil || len(left) != len(holes)-2 {
		t.Errorf("holes left after filling 2 = %d, %v, want %d", len(left), err, len(holes)-2)
	}
	bad := []struct {
		name  string
		fills map[int][]string
	}{
		{"unsupported hole", map[int][]string{3: {"apply simp"}}},
		{"no steps", map[int][]string{0: {}}},
		{"a step the policy refuses", map[int][]string{0: {"apply (tactic \\<open>all_tac\\<close>)"}}},
		{"sorry as a step", map[int][]string{0: {"sorry"}}},
		{"an unresolved sledgehammer", map[int][]string{0: {"sledgehammer"}}},
		{"blank steps", map[int][]string{0: {" \n "}}},
	}
	for _, tc := range bad {
		if out, err := b.FillHoles(holesSrc, holes, tc.fills); err == nil {
			t.Errorf("FillHoles(%s) = %q, want an error", tc.name, out)
		}
	}
	moved := append([]prover.Hole(nil), holes...)
	moved[1].Start++
	if _, err := b.FillHoles(holesSrc, moved, map[int][]string{0: {"apply simp"}}); err == nil {
		t.Error("FillHoles with a moved hole succeeded")
	}
	if _, err := b.FillHoles(holesSrc, holes[:2], map[int][]string{0: {"apply simp"}}); err == nil {
		t.Error("FillHoles with a wrong hole count succeeded")
	}
}

const openSrc = `theory Open imports Main
begin

lemma easy: "True"
  sorry

lemma conj: "A \<and> B"
  sorry

lemma later: "A \<and> B"
  apply (rule conjI)
  sorry

lemma already: "A"
  apply simp
  sorry

lemma stuck: "A \<and> B"
  apply blast
  sorry

end
`

// TestIsabelleOpenHole runs against the sim double: the recorded
// transcripts hold no step-wise session at a hole.
func TestIsabelleOpenHole(t *testing.T) {
	t.Parallel()
	b := simBackend(t, "sim")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	holes, err := b.Holes(openSrc)
	if err != nil || len(holes) != 5 {
		t.Fatalf("Holes = %+v, %v", holes, err)
	}
	// the earlier lemma's sorry stays in the loaded text
	s, err := b.OpenHole(ctx, openSrc, holes[1])
	if err != nil {
		t.Fatal(err)
	}
	root := s.Root()
	if len(root.Goals) != 1 || root.Goals[0] != conj {
		t.Fatalf("root of hole 2 = %+v, want %q", root, conj)
	}
	r, err := s.Apply(ctx, root.ID, "apply (rule conjI)", time.Second)
	if err != nil || r.Status != prover.StepOpen || len(r.State.Goals) != 2 {
		t.Fatalf("Apply(conjI) = %+v, %v", r, err)
	}
	if r, err := s.Apply(ctx, r.State.ID, "apply auto", time.Second); err != nil || r.Status != prover.StepProved {
		t.Errorf("Apply(auto) = %+v, %v", r, err)
	}
	s.Close()
	// the steps before the hole are replayed: the root is what they leave
	s, err = b.OpenHole(ctx, openSrc, holes[2])
	if err != nil {
		t.Fatal(err)
	}
	if g := s.Root().Goals; len(g) != 2 || g[0] != "A" || g[1] != "B" {
		t.Errorf("root of hole 3 = %q, want [A B]", g)
	}
	if r, err := s.Apply(ctx, s.Root().ID, "apply auto", time.Second); err != nil || r.Status != prover.StepProved {
		t.Errorf("Apply(auto) at hole 3 = %+v, %v", r, err)
	}
	s.Close()
	if _, err := b.OpenHole(ctx, openSrc, holes[3]); !errors.Is(err, prover.ErrHoleDone) {
		t.Errorf("OpenHole(closed by the steps before it) = %v, want ErrHoleDone", err)
	}
	if _, err := b.OpenHole(ctx, openSrc, holes[4]); !errors.Is(err, prover.ErrLoad) {
		t.Errorf("OpenHole(a failing step before it) = %v, want ErrLoad", err)
	}
	other, err := b.Holes(holesSrc)
	if err != nil || len(other) != 6 {
		t.Fatalf("Holes(holesSrc) = %+v, %v", other, err)
	}
	if _, err := b.OpenHole(ctx, holesSrc, other[3]); !errors.Is(err, prover.ErrLoad) {
		t.Errorf("OpenHole(unsupported) = %v, want ErrLoad", err)
	}
	if _, err := b.OpenHole(ctx, openSrc, other[5]); err == nil {
		t.Error("OpenHole with a hole of another file succeeded")
	}
}

// TestIsabelleFillEndToEnd: the HoleFiller closes the supported holes on
// the sim double and writes the steps in place.
func TestIsabelleFillEndToEnd(t *testing.T) {
	t.Parallel()
	b := simBackend(t, "sim")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := strings.Replace(openSrc, "lemma already", "lemma nope", 1)
	f := &prover.HoleFiller{
		Backend: b,
		Proposer: tableProposer{
			conj:   proofOfConj,
			"A":    {c("apply auto", -0.1)},
			"True": {c("apply simp", -0.1)},
		},
		Search: search.DefaultConfig(),
	}
	res, err := f.Fill(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	st := make([]prover.HoleStatus, len(res.Holes))
	for i, r := range res.Holes {
		st[i] = r.Status
	}
	want := []prover.HoleStatus{prover.HoleClosed, prover.HoleClosed, prover.HoleClosed, prover.HoleClosed, prover.HoleOpen}
	if len(st) != len(want) {
		t.Fatalf("statuses = %v, want %v", st, want)
	}
	for i := range want {
		if st[i] != want[i] {
			t.Errorf("hole %d: %s (%s %v), want %s", i, st[i], res.Holes[i].Note, res.Holes[i].Err, want[i])
		}
	}
	if !strings.Contains(res.FileText, "lemma easy: \"True\"\n  apply simp\n  done\n") ||
		!strings.Contains(res.FileText, "lemma conj: \"A \\<and> B\"\n  apply (rule conjI)\n  apply auto\n  done\n") ||
		!strings.Contains(res.FileText, "apply (rule conjI)\n  apply auto\n  done\n\nlemma nope") ||
		!strings.Contains(res.FileText, "lemma nope: \"A\"\n  apply simp\n  done\n") ||
		!strings.Contains(res.FileText, "apply blast\n  sorry") {
		t.Errorf("filled file:\n%s", res.FileText)
	}
}

// FuzzIsabelleHoles: Holes never panics; every hole's Start:End is its
// literal, outside any comment, string or cartouche; FillHoles of a
// supported hole replaces exactly that slice.
func FuzzIsabelleHoles(f *testing.F) {
	for _, s := range []string{holesSrc, openSrc, "theory T imports Main begin lemma x: \"(* sorry *)\" sorry end",
		"theory T imports Main begin text ‹sorry› lemma \"A\" \\<proof> end", "sorry", "(* sorry", "\\<open>sorry"} {
		f.Add(s)
	}
	b := holesBackend(f)
	f.Fuzz(func(t *testing.T, src string) {
		holes, err := b.Holes(src)
		if err != nil {
			return
		}
		toks, err := ScanIsabelle(src)
		if err != nil {
			t.Fatalf("Holes accepted what ScanIsabelle refuses: %v", err)
		}
		for _, h := range holes {
			if h.Start < 0 || h.End > len(src) || h.Start >= h.End || src[h.Start:h.End] != h.Kind {
				t.Fatalf("hole %+v does not slice its literal in %q", h, src)
			}
			inCode := false
			for _, tk := range toks {
				if tk.Pos == h.Start && (tk.Kind == TokWord || tk.Kind == TokSymbol) && tk.Text == h.Kind {
					inCode = true
				}
			}
			if !inCode {
				t.Fatalf("hole %+v is not a token of the code in %q", h, src)
			}
			if h.Unsupported != "" {
				continue
			}
			out, err := b.FillHoles(src, holes, map[int][]string{h.Index: {"apply simp"}})
			if err != nil {
				continue
			}
			if !strings.HasPrefix(out, src[:h.Start]) || !strings.HasSuffix(out, src[h.End:]) {
				t.Fatalf("FillHoles changed more than hole %d of %q: %q", h.Index, src, out)
			}
		}
	})
}

// TestIsabelleFilledFileVerifies: the filled text is what the final check
// (on the sim double) accepts against the file's own statement, and the
// file with its hole is refused.
func TestIsabelleFilledFileVerifies(t *testing.T) {
	t.Parallel()
	b := simBackend(t, "sim")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	src := "theory sim_fill imports Main\nbegin\n\ntheorem sim_fill:\n  \"A \\<and> B\"\n  apply (rule conjI)\n  sorry\n\nend\n"
	thm, err := ParseTheorem("sim_fill", src)
	if err != nil {
		t.Fatal(err)
	}
	f := &prover.HoleFiller{Backend: b, Proposer: tableProposer{"A": {c("by simp", -0.1)}, "B": {c("apply simp", -0.1)}}, Search: search.DefaultConfig()}
	res, err := f.Fill(ctx, src)
	if err != nil || !res.AllClosed() {
		t.Fatalf("Fill = %+v, %v", res, err)
	}
	want := strings.Replace(src, "  sorry\n", "  apply simp\n  apply simp\n  done\n", 1)
	if res.FileText != want {
		t.Errorf("filled =\n%s\nwant\n%s", res.FileText, want)
	}
	if v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: res.FileText}); err != nil || !v.Verified {
		t.Errorf("Verify(filled) = %+v, %v", v, err)
	}
	if v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: src}); err != nil || v.Verified {
		t.Errorf("Verify(with the hole) = %+v, %v; want not verified", v, err)
	}
}
