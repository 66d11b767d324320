package lean

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/prover"
)

func holesOf(t *testing.T, src string) []leanHole {
	t.Helper()
	f, err := parseLeanHoles(src)
	if err != nil {
		t.Fatalf("parseLeanHoles(%q): %v", src, err)
	}
	for _, h := range f.holes {
		if src[h.Start:h.End] != "sorry" {
			t.Fatalf("hole %d slices %q, want sorry", h.Index, src[h.Start:h.End])
		}
	}
	return f.holes
}

// TestLeanHolesScan: sorries in comments and strings are not holes; each
// hole gets its declaration, statement and the position it is filled as.
func TestLeanHolesScan(t *testing.T) {
	t.Parallel()
	src := "import Mathlib\n" +
		"/- a sorry in /- a nested -/ comment sorry -/\n" +
		"-- sorry in a line comment\n" +
		"def s : String := \"sorry\"\n" +
		"def f : Nat := sorry\n" +
		"theorem foo (x : Nat) : x = x ∧ True := by\n" +
		"  constructor\n" +
		"  · sorry\n" +
		"  sorry -- the second goal\n" +
		"lemma bar : 1 = 1 := by sorry\n" +
		"example : 2 = 2 := by\n" +
		"  all_goals sorry\n" +
		"theorem baz : 3 = 3 := by\n" +
		"  exact sorry\n" +
		"theorem qux : 4 = 4 := by\n" +
		"  simp <;> sorry\n"
	hs := holesOf(t, src)
	want := []struct {
		thm, stmt string
		pos       int
	}{
		{"f", "def f : Nat", posTerm},
		{"foo", "theorem foo (x : Nat) : x = x ∧ True", posTacticInline},
		{"foo", "theorem foo (x : Nat) : x = x ∧ True", posTacticLine},
		{"bar", "lemma bar : 1 = 1", posTacticInline},
		{"example", "example : 2 = 2", posUnsupported},
		{"baz", "theorem baz : 3 = 3", posTerm},
		{"qux", "theorem qux : 4 = 4", posUnsupported},
	}
	if len(hs) != len(want) {
		t.Fatalf("got %d holes, want %d: %+v", len(hs), len(want), hs)
	}
	for i, w := range want {
		h := hs[i]
		if h.Theorem != w.thm || h.Statement != w.stmt || h.pos != w.pos || (w.pos == posUnsupported) != (h.Unsupported != "") {
			t.Errorf("hole %d = {%q %q pos %d unsupported %q}, want {%q %q pos %d}", i, h.Theorem, h.Statement, h.pos, h.Unsupported, w.thm, w.stmt, w.pos)
		}
	}
	if hs[0].Line != 5 || hs[0].Column != 16 {
		t.Errorf("hole 0 at %d:%d, want 5:16", hs[0].Line, hs[0].Column)
	}
	// An interpolated string could hide code: refused, not guessed.
	if _, err := (*Backend)(nil).Holes("def s := s!\"{sorry}\""); err == nil {
		t.Error("a string with { was accepted")
	}
	if _, err := (*Backend)(nil).Holes("/- unterminated sorry"); err == nil {
		t.Error("an unterminated comment was accepted")
	}
	// What the final check refuses would run in the REPL on the way to a
	// hole: the file has no holes to search.
	for _, bad := range []string{
		"import Mathlib\n#eval IO.println \"hi\"\ntheorem t : 1 = 1 := by sorry\n",
		"import Mathlib\nrun_cmd pure ()\ntheorem t : 1 = 1 := by sorry\n",
		"import Mathlib\ntheorem t : 1 = 1 := by sorry\ninitialize pure ()\n",
	} {
		if hs, err := (*Backend)(nil).Holes(bad); err == nil {
			t.Errorf("Holes(%q) = %+v, want the final check's refusal", bad, hs)
		}
	}
}

// TestLeanFillHoles: each position is filled in its own form, unfilled
// holes stay, an unsupported or moved hole is an error.
func TestLeanFillHoles(t *testing.T) {
	t.Parallel()
	src := "def f : Nat := sorry\n" +
		"theorem foo (x : Nat) : x = x ∧ True := by\n" +
		"  constructor\n" +
		"  · sorry\n" +
		"  sorry\n" +
		"  done\n" +
		"lemma bar : 1 = 1 := by sorry\n"
	b := (*Backend)(nil)
	holes, err := b.Holes(src)
	if err != nil || len(holes) != 4 {
		t.Fatalf("Holes = %v, %v", holes, err)
	}
	got, err := b.FillHoles(src, holes, map[int][]string{
		0: {"exact 3"},
		1: {"rfl"},
		2: {"simp", "have h : True := by\n  trivial", "exact h"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "def f : Nat := (by exact 3)\n" +
		"theorem foo (x : Nat) : x = x ∧ True := by\n" +
		"  constructor\n" +
		"  · (rfl)\n" +
		"  simp\n" +
		"  have h : True := by\n" +
		"    trivial\n" +
		"  exact h\n" +
		"  done\n" +
		"lemma bar : 1 = 1 := by sorry\n"
	if got != want {
		t.Errorf("FillHoles =\n%s\nwant\n%s", got, want)
	}
	if rest, err := b.Holes(got); err != nil || len(rest) != 1 || rest[0].Theorem != "bar" {
		t.Errorf("holes left after the fill = %v, %v; want bar's only", rest, err)
	}
	if _, err := b.FillHoles(src, holes, map[int][]string{0: {"have h : True := by\n  trivial"}}); err == nil {
		t.Error("a multi-line tactic was written into a term position")
	}
	moved := append([]prover.Hole(nil), holes...)
	moved[1].Start++
	if _, err := b.FillHoles(src, moved, map[int][]string{0: {"rfl"}}); err == nil {
		t.Error("a moved hole was filled")
	}
	us := "example : 2 = 2 := by\n  simp <;> sorry\n"
	uh, _ := b.Holes(us)
	if len(uh) != 1 || uh[0].Unsupported == "" {
		t.Fatalf("Holes(%q) = %v, want one unsupported", us, uh)
	}
	if _, err := b.FillHoles(us, uh, map[int][]string{0: {"rfl"}}); err == nil {
		t.Error("an unsupported hole was filled")
	}
}

// fixtureFile rebuilds a Lean file from a recorded transcript: the
// header command (request 0, imports) and the command on its env
// (request 1), so that OpenHole's requests are the recorded ones.
func fixtureFile(t *testing.T, base string, cmdIndex int) string {
	t.Helper()
	pairs, err := loadFixture(base)
	if err != nil {
		t.Fatal(err)
	}
	var hdr, cmd struct {
		Cmd string `json:"cmd"`
	}
	if err := json.Unmarshal([]byte(pairs[0].Request), &hdr); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(pairs[cmdIndex].Request), &cmd); err != nil {
		t.Fatal(err)
	}
	return hdr.Cmd + "\n" + cmd.Cmd
}

func replayBackend(t *testing.T, fixture string) (*Backend, string) {
	t.Helper()
	base := filepath.Join(sharedDir(t), "fixtures", "lean-repl", fixture)
	b, err := New(fakeConfig("replay", "LLEMMA_FAKE_LEAN_FIXTURE="+base))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, base
}

func onlyHole(t *testing.T, b *Backend, src string) prover.Hole {
	t.Helper()
	hs, err := b.Holes(src)
	if err != nil || len(hs) != 1 || hs[0].Unsupported != "" {
		t.Fatalf("Holes(%q) = %+v, %v; want one supported hole", src, hs, err)
	}
	return hs[0]
}

// TestLeanOpenHoleReplay: against the strict double replaying the real
// transcript Mathlib/H20231115, the hole's session is rooted at the
// proofState of the sorry at its position and tactics run on it.
func TestLeanOpenHoleReplay(t *testing.T) {
	b, base := replayBackend(t, "Mathlib/H20231115")
	src := fixtureFile(t, base, 1)
	h := onlyHole(t, b, src)
	sess, err := b.OpenHole(t.Context(), src, h)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if root := sess.Root(); root.Text != "x : Nat\n⊢ x + 1 > x" {
		t.Fatalf("root = %q", root.Text)
	}
	r, err := sess.Apply(t.Context(), sess.Root().ID, "induction' x with x hx", 0)
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != prover.StepOpen || len(r.State.Goals) != 2 || !strings.HasPrefix(r.State.Goals[0], "case zero") {
		t.Fatalf("step = %+v, want the two induction goals", r)
	}
}

// TestLeanOpenHoleReplayTwoFiles: Mathlib/exact, two files on one warm
// process: a tactic that closes the hole is proved (Completed), one that
// fails is a failed step.
func TestLeanOpenHoleReplayTwoFiles(t *testing.T) {
	b, base := replayBackend(t, "Mathlib/exact")
	for _, c := range []struct {
		cmd  int
		goal string
		want prover.StepStatus
	}{{1, "⊢ 0 < 1", prover.StepProved}, {3, "⊢ 3 = 7", prover.StepFailed}} {
		src := fixtureFile(t, base, c.cmd)
		h := onlyHole(t, b, src)
		sess, err := b.OpenHole(t.Context(), src, h)
		if err != nil {
			t.Fatal(err)
		}
		if sess.Root().Text != c.goal {
			t.Errorf("root = %q, want %q", sess.Root().Text, c.goal)
		}
		r, err := sess.Apply(t.Context(), sess.Root().ID, "exact?", 0)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != c.want {
			t.Errorf("%s: exact? gave %v (%s), want %v", c.goal, r.Status, r.Message, c.want)
		}
		sess.Close()
	}
	if st := b.Stats(); st.Starts != 1 {
		t.Errorf("starts = %d, want 1 (the second file reuses the warm process)", st.Starts)
	}
}

// TestLeanOpenHoleReplayTacticLine: Mathlib/line_breaks, a multi-line
// proof with comments whose sorry is a line of its own (line 13 of the
// command, column 2): it is found at the REPL's position and its goal is
// the root.
func TestLeanOpenHoleReplayTacticLine(t *testing.T) {
	b, base := replayBackend(t, "Mathlib/line_breaks")
	src := fixtureFile(t, base, 1)
	fh, _ := parseLeanHoles(src)
	h := onlyHole(t, b, src)
	if fh.holes[0].pos != posTacticLine || h.Theorem != "demo" {
		t.Fatalf("hole = %+v pos %d, want a tactic line of demo", h, fh.holes[0].pos)
	}
	sess, err := b.OpenHole(t.Context(), src, h)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if want := "P Q R : Prop\nh1 : P → Q\nh2 : Q → R\np : P\nq : Q\n⊢ Q"; sess.Root().Text != want {
		t.Fatalf("root = %q, want %q", sess.Root().Text, want)
	}
}

// TestLeanOpenHoleUnsupported: an unsupported hole (all_goals sorry, which
// Lean turns into two proof states at one position, fixture
// Mathlib/H20231115_2) is refused before any process starts.
func TestLeanOpenHoleUnsupported(t *testing.T) {
	b, base := replayBackend(t, "Mathlib/H20231115_2")
	src := fixtureFile(t, base, 1)
	hs, err := b.Holes(src)
	if err != nil || len(hs) != 1 || hs[0].Unsupported == "" {
		t.Fatalf("Holes = %+v, %v; want one unsupported hole", hs, err)
	}
	h := hs[0]
	h.Unsupported = ""
	if _, err := b.OpenHole(t.Context(), src, h); !errors.Is(err, prover.ErrLoad) {
		t.Fatalf("OpenHole = %v, want ErrLoad", err)
	}
	if st := b.Stats(); st.Starts != 0 {
		t.Errorf("starts = %d, want 0", st.Starts)
	}
}

// FuzzLeanHoles: the scanner never panics; every hole slices a literal
// sorry; a sorry added in a comment or a string is never a hole (the holes
// of the file are the same, shifted).
func FuzzLeanHoles(f *testing.F) {
	for _, s := range []string{
		"theorem t : 1 = 1 := by sorry",
		"import Mathlib\ndef f : Nat := sorry\n",
		"theorem foo : A ∧ B := by\n  constructor\n  · sorry\n  sorry\n",
		"/- /- sorry -/ -/ -- sorry\ndef s := \"sorry\"",
		"example : 2 = 2 := by\n  simp <;> sorry",
		"def r := r#\"sorry\"#\ntheorem x : True := sorry",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		fl, err := parseLeanHoles(src)
		if err != nil {
			return
		}
		for _, h := range fl.holes {
			if src[h.Start:h.End] != "sorry" {
				t.Fatalf("hole %d slices %q", h.Index, src[h.Start:h.End])
			}
		}
		const prefix = "/- sorry /- sorry -/ -/\n-- sorry\n"
		for _, src2 := range []string{prefix + src, src + "\n/- sorry -/\n-- sorry\n"} {
			shift := 0
			if strings.HasPrefix(src2, prefix) {
				shift = len(prefix)
			}
			f2, err := parseLeanHoles(src2)
			if err != nil {
				t.Fatalf("adding comments made %q fail: %v", src2, err)
			}
			if len(f2.holes) != len(fl.holes) {
				t.Fatalf("%q: %d holes, %q: %d", src, len(fl.holes), src2, len(f2.holes))
			}
			for i, h := range f2.holes {
				if h.Start != fl.holes[i].Start+shift || src2[h.Start:h.End] != "sorry" {
					t.Fatalf("hole %d moved: %d vs %d", i, h.Start, fl.holes[i].Start)
				}
			}
		}
	})
}
