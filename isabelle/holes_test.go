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
		{HoleSorry, "structured", `have "B"`, 19, ""},
		{HoleSorry, "structured", `show ?thesis`, 20, ""},
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
	// a name with .sorry is not a hole (and the final check refuses the
	// word anyway)
	if hs, _ := b.Holes("theory T imports Main begin\nthm foo.sorry\nend\n"); len(hs) != 0 {
		t.Errorf("Holes(foo.sorry) = %+v, want none", hs)
	}
	// what the final check refuses never reaches the server: the file
	// has no holes to search
	for _, bad := range []string{
		"theory T imports Main begin\nML \\<open>File.write\\<close>\nlemma x: \"A\" sorry\nend\n",
		"theory T imports Main begin\nlemma x: \"A\" apply (tactic \\<open>all_tac\\<close>) sorry\nend\n",
		"theory T imports Main begin\naxiomatization where ax: \"False\"\nlemma x: \"A\" sorry\nend\n",
		"theory T imports Main begin\nlemma y: \"B\" oops\nlemma x: \"A\" sorry\nend\n",
		"theory T imports \"/etc/passwd\" begin\nlemma x: \"A\" sorry\nend\n",
	} {
		if hs, err := b.Holes(bad); err == nil {
			t.Errorf("Holes(%q) = %+v, want the final check's refusal", bad, hs)
		}
	}
	hs, err := b.Holes("theory T imports Main begin\ndeclare [[x]] sorry\nend\n")
	if err != nil || len(hs) != 1 || !strings.Contains(hs[0].Unsupported, "outside a theorem") {
		t.Errorf("Holes(sorry outside a goal) = %+v, %v", hs, err)
	}
	hs, err = b.Holes("theory T imports Main begin\nlemma x: \"A\" apply (rule foo [of \"x\"]) apply (metis) sorry\nend\n")
	if err != nil || len(hs) != 1 || hs[0].Unsupported != "" {
		t.Errorf("Holes(after apply steps with arguments) = %+v, %v, want one supported hole", hs, err)
	}
}

const structuredSrc = `theory S imports Main
begin

lemma dsp: "A \<and> B"
proof -
  (* a comment in the proof *)
  have h1: "A" sorry
  then have "B"
    using h1
    apply (rule foo)
    sorry
  obtain x where "P x" sorry
  have "C" by simp sorry
  show ?thesis
    sorry
qed

lemma nested: "A \<and> B"
proof (rule conjI)
  sorry
next
  show "B" proof - show ?thesis sorry qed
qed

end
`

// TestIsabelleStructuredHoles: the holes of a structured proof that are the
// proofs of local goals are supported, with the statement the proposer sees,
// the steps before them and the theorem text their session checks; the
// others say why not.
func TestIsabelleStructuredHoles(t *testing.T) {
	t.Parallel()
	b := holesBackend(t)
	hs, err := parseIsabelleHoles(b, structuredSrc)
	if err != nil {
		t.Fatal(err)
	}
	wants := []struct {
		line        int
		stmt        string
		prefix      []string
		thmEnds     string
		unsupported string
	}{
		{7, `have h1: "A"`, nil, `have h1: "A"`, ""},
		{11, `have "B"`, []string{"using h1", "apply (rule foo)"}, "then have \"B\"", ""},
		{12, "", nil, "", "obtain"},
		{13, "", nil, "", "follows `by`"},
		{15, `show ?thesis`, nil, "show ?thesis", ""},
		{20, "", nil, "", "follows `proof`"},
		{22, `show ?thesis`, nil, "proof - show ?thesis", ""},
	}
	if len(hs) != len(wants) {
		t.Fatalf("Holes = %d, want %d: %+v", len(hs), len(wants), hs)
	}
	for i, w := range wants {
		h := hs[i]
		if h.Line != w.line {
			t.Errorf("hole %d at line %d, want %d", i, h.Line, w.line)
		}
		if w.unsupported != "" {
			if !strings.Contains(h.Unsupported, w.unsupported) || h.local {
				t.Errorf("hole %d: Unsupported = %q (local %v), want it to mention %q", i, h.Unsupported, h.local, w.unsupported)
			}
			continue
		}
		if h.Unsupported != "" || !h.local || h.Statement != w.stmt || strings.Join(h.prefix, "|") != strings.Join(w.prefix, "|") {
			t.Errorf("hole %d = unsupported %q local %v statement %q prefix %q, want %q %q", i, h.Unsupported, h.local, h.Statement, h.prefix, w.stmt, w.prefix)
		}
		if !strings.HasPrefix(h.thm.Statement, "lemma ") || !strings.HasSuffix(h.thm.Statement, w.thmEnds) || h.thm.Header != structuredSrc[:strings.Index(structuredSrc, h.thm.Statement)] {
			t.Errorf("hole %d: session theorem %q / %q", i, h.thm.Header, h.thm.Statement)
		}
	}
	// filled like an apply-script hole: the steps and the local goal's done
	out, err := b.FillHoles(structuredSrc, hs2(hs), map[int][]string{0: {"apply simp"}, 4: {"apply (rule conjI)", "apply auto"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "have h1: \"A\" apply simp\n    done\n") || !strings.Contains(out, "show ?thesis\n    apply (rule conjI)\n    apply auto\n    done\nqed") {
		t.Errorf("filled:\n%s", out)
	}
}

func hs2(hs []isaHole) []prover.Hole {
	out := make([]prover.Hole, len(hs))
	for i, h := range hs {
		out[i] = h.Hole
	}
	return out
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
		{"unsupported hole", map[int][]string{5: {"apply simp"}}},
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
	for _, s := range []string{holesSrc, openSrc, structuredSrc, dspSrc, "theory T imports Main begin lemma x: \"(* sorry *)\" sorry end",
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

const dspSrc = `theory sim_dsp imports Main
begin

theorem sim_dsp: "A \<and> B"
proof -
  (* the sketch's steps *)
  have h1: "A" sorry
  then have "B"
    sorry
  show ?thesis
    sorry
qed

end
`

// TestIsabelleStructuredOpenHole runs a Draft-Sketch-Prove shaped file on
// the sim double: each local goal is the root of its hole's session; a
// step that closes it is a proof, one that does not is not; a show whose
// statement refines no pending goal is never closed.
func TestIsabelleStructuredOpenHole(t *testing.T) {
	t.Parallel()
	b := simBackend(t, "sim")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	holes, err := b.Holes(dspSrc)
	if err != nil || len(holes) != 3 {
		t.Fatalf("Holes = %+v, %v", holes, err)
	}
	for i, want := range []string{"A", "B", conj} {
		s, err := b.OpenHole(ctx, dspSrc, holes[i])
		if err != nil {
			t.Fatalf("OpenHole(%d): %v", i, err)
		}
		if g := s.Root().Goals; len(g) != 1 || g[0] != want {
			t.Errorf("root of hole %d = %q, want [%q]", i, g, want)
		}
		s.Close()
	}
	s, err := b.OpenHole(ctx, dspSrc, holes[2])
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r, err := s.Apply(ctx, s.Root().ID, "apply simp", time.Second); err != nil || r.Status != prover.StepFailed {
		t.Errorf("Apply(simp) at the show = %+v, %v, want failed", r, err)
	}
	r, err := s.Apply(ctx, s.Root().ID, "apply (rule conjI)", time.Second)
	if err != nil || r.Status != prover.StepOpen || len(r.State.Goals) != 2 {
		t.Fatalf("Apply(conjI) = %+v, %v", r, err)
	}
	if r, err := s.Apply(ctx, r.State.ID, "apply simp", time.Second); err != nil || r.Status != prover.StepOpen || len(r.State.Goals) != 1 {
		t.Errorf("Apply(simp) after conjI = %+v, %v, want the second goal open", r, err)
	}
	if r, err := s.Apply(ctx, r.State.ID, "apply auto", time.Second); err != nil || r.Status != prover.StepProved {
		t.Errorf("Apply(auto) after conjI = %+v, %v, want proved", r, err)
	}
	// a show that refines nothing: its goal closes, the check does not
	wrong := strings.Replace(dspSrc, "show ?thesis", `show "C"`, 1)
	wh, err := b.Holes(wrong)
	if err != nil || len(wh) != 3 {
		t.Fatalf("Holes(wrong show) = %+v, %v", wh, err)
	}
	ws, err := b.OpenHole(ctx, wrong, wh[2])
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	if r, err := ws.Apply(ctx, ws.Root().ID, "apply metis", time.Second); err != nil || r.Status == prover.StepProved {
		t.Errorf("Apply(metis) at show \"C\" = %+v, %v, want not proved", r, err)
	}
}

// TestIsabelleStructuredFillVerifies: fill closes every hole of the
// Draft-Sketch-Prove shaped file, and the filled file (not the one with
// holes) passes the final check against the file's own statement.
func TestIsabelleStructuredFillVerifies(t *testing.T) {
	t.Parallel()
	b := simBackend(t, "sim")
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	thm, err := ParseTheorem("sim_dsp", dspSrc)
	if err != nil {
		t.Fatal(err)
	}
	f := &prover.HoleFiller{Backend: b, Proposer: tableProposer{
		"A": {c("apply simp", -0.1)}, "B": {c("apply simp", -0.1)}, conj: proofOfConj,
	}, Search: search.DefaultConfig()}
	res, err := f.Fill(ctx, dspSrc)
	if err != nil || !res.AllClosed() {
		t.Fatalf("Fill = %+v, %v", res, err)
	}
	for _, want := range []string{
		"have h1: \"A\" apply simp\n    done\n",
		"then have \"B\"\n    apply simp\n    done\n",
		"show ?thesis\n    apply (rule conjI)\n    apply simp\n    apply simp\n    done\nqed",
	} {
		if !strings.Contains(res.FileText, want) {
			t.Errorf("filled file lacks %q:\n%s", want, res.FileText)
		}
	}
	if v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: res.FileText}); err != nil || !v.Verified {
		t.Errorf("Verify(filled) = %+v, %v\n%s", v, err, res.FileText)
	}
	if v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: dspSrc}); err != nil || v.Verified {
		t.Errorf("Verify(with the holes) = %+v, %v; want not verified", v, err)
	}
}
