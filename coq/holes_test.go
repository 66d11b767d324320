package coq

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// threeAdmitsFile has three admit holes in two proofs (and the Admitted
// the first leaves). The main proof uses a definition and a helper lemma
// of the file, so its holes are searched with them loaded (the helper
// Admitted in their sessions).
const threeAdmitsFile = `Require Import Arith Lia.

Definition double_free (a b : nat) : nat := 0.

Lemma double (n : nat) : n + n = 2 * n.
Proof.
  admit.
Admitted.

Theorem main_thm (a b : nat) (h : a = b + 1) : double_free a b = 0 -> a + a = 2 * a /\ a > b.
Proof.
  intros _.
  split.
  - rewrite double. admit.
  - assert (hb : b < a) by admit.
    admit.
Qed.
`

func TestFindHoles(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		src   string
		kinds []string // with "!" prefix for unsupported
		lines []int
	}{
		{"three admits", threeAdmitsFile, []string{HoleAdmit, HoleAdmitted, HoleAdmit, HoleAssertByAdmit, HoleAdmit}, []int{7, 8, 14, 15, 16}},
		{"admitted only", "Theorem t : 1 = 1.\nProof.\n  intros.\nAdmitted.\n", []string{HoleAdmitted}, []int{4}},
		{"compound admit is unsupported", "Goal True /\\ True.\nsplit; admit.\nAdmitted.\n", []string{"!" + HoleAdmit, HoleAdmitted}, []int{2, 3}},
		{"commented admit is no hole", "Theorem t : True.\nProof. (* admit. *) exact I. Qed.\n", nil, nil},
		{"string admit is no hole", "Theorem t : True.\nProof. idtac \"admit.\". exact I. Qed.\n", nil, nil},
		{"admit outside a proof is not searched", "Definition admit := 1.\n", nil, nil},
		{"bullets and braces", "Goal True /\\ True.\nsplit.\n{ admit. }\n+ admit.\nQed.\n", []string{HoleAdmit, HoleAdmit}, []int{3, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			hs, err := FindHoles(c.src)
			if err != nil {
				t.Fatalf("FindHoles: %v", err)
			}
			var kinds []string
			var lines []int
			for i, h := range hs {
				k := h.Kind
				if h.Unsupported != "" {
					k = "!" + k
				}
				kinds, lines = append(kinds, k), append(lines, h.Line)
				if h.Index != i || h.Start < 0 || h.End > len(c.src) || h.Start >= h.End {
					t.Errorf("hole %d: bad span or index %+v", i, h)
				}
				if txt := c.src[h.Start:h.End]; !strings.Contains(txt, "admit") && !strings.Contains(txt, "Admitted") {
					t.Errorf("hole %d spans %q", i, txt)
				}
			}
			if strings.Join(kinds, ",") != strings.Join(c.kinds, ",") {
				t.Errorf("kinds = %v, want %v", kinds, c.kinds)
			}
			if fmt.Sprint(lines) != fmt.Sprint(c.lines) && len(c.lines) > 0 {
				t.Errorf("lines = %v, want %v", lines, c.lines)
			}
		})
	}
	for _, bad := range []string{"Goal True. (* open", "Goal True. exact I"} {
		if _, err := FindHoles(bad); err == nil {
			t.Errorf("FindHoles(%q) parsed", bad)
		}
	}
}

// listProposer proposes the same tactics on every state.
type listProposer []string

func (listProposer) Name() string { return "list" }

func (p listProposer) Propose(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
	var out []prover.Candidate
	for i, t := range p {
		out = append(out, prover.Candidate{Tactic: t, Score: -float64(i)})
	}
	return out, nil
}

// TestFillThreeAdmits closes the three admits (and the Admitted they leave)
// of a real file on real coqtop; the filled file passes the final check
// (what `llemma-prove check` runs), each hole was searched in its own
// context, and a fill that is wrong is refused by the same check.
func TestFillThreeAdmits(t *testing.T) {
	needCoq(t)
	t.Parallel()
	b := New(Config{Workers: 2})
	t.Cleanup(func() { b.Close() })
	ctx := context.Background()
	var mu sync.Mutex
	var streamed []prover.HoleResult
	f := prover.HoleFiller{
		Backend:     b,
		Proposer:    listProposer{"lia.", "reflexivity.", "auto."},
		Search:      search.Config{Samples: 3, Expansions: 10},
		HoleTimeout: time.Minute,
		Concurrency: 2,
		OnHole: func(r prover.HoleResult) {
			mu.Lock()
			streamed = append(streamed, r)
			mu.Unlock()
		},
	}
	res, err := f.Fill(ctx, threeAdmitsFile)
	if err != nil {
		t.Fatalf("Fill: %v", err)
	}
	if len(streamed) != len(res.Holes) {
		t.Errorf("streamed %d results, want %d", len(streamed), len(res.Holes))
	}
	for _, h := range res.Holes {
		t.Logf("hole %d %s line %d: %s %v %s", h.Hole.Index, h.Hole.Kind, h.Hole.Line, h.Status, h.Proof, h.Note)
		if h.Status != prover.HoleClosed {
			t.Errorf("hole %d (%s, line %d) %s: %s %v", h.Hole.Index, h.Hole.Kind, h.Hole.Line, h.Status, h.Note, h.Err)
		}
	}
	if !res.AllClosed() {
		t.Fatalf("not all closed:\n%s", res.FileText)
	}
	if left, _ := FindHoles(res.FileText); len(left) != 0 {
		t.Errorf("the filled file still has holes %+v:\n%s", left, res.FileText)
	}
	v := judge(t, b, "main_thm", nil, res.FileText)
	if !v.Verified {
		t.Fatalf("filled file not verified: %s\n%s", v.Message, res.FileText)
	}
	// Against the original statement as the challenge too.
	thm := parse(t, "main_thm", threeAdmitsFile)
	if v := judge(t, b, "main_thm", &thm, res.FileText); !v.Verified {
		t.Errorf("filled file not verified against its statement: %s", v.Message)
	}

	// A wrong fill (a claimed tactic that does not close its goal) is
	// written as asked, and the check refuses the file.
	holes, _ := FindHoles(threeAdmitsFile)
	fills := map[int][]string{}
	for _, h := range res.Holes {
		fills[h.Hole.Index] = h.Proof
	}
	fills[4] = []string{"reflexivity."} // a > b is not reflexivity
	bad, err := b.FillHoles(threeAdmitsFile, holes, fills)
	if err != nil {
		t.Fatal(err)
	}
	if v := judge(t, b, "main_thm", nil, bad); v.Verified {
		t.Errorf("a wrongly filled file was verified:\n%s", bad)
	}
	// A partial fill keeps Admitted: never verified.
	delete(fills, 0)
	part, err := b.FillHoles(threeAdmitsFile, holes, fills)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(part, "Admitted.") {
		t.Errorf("partial fill lost the Admitted of the open proof:\n%s", part)
	}
	if v := judge(t, b, "main_thm", nil, part); v.Verified {
		t.Errorf("a partly filled file was verified:\n%s", part)
	}
}

// A hole whose goal the proposer cannot close stays open and the file is
// left with it; the unsupported compound admit is reported, not searched.
func TestFillLeavesOpenHoles(t *testing.T) {
	needCoq(t)
	t.Parallel()
	b := New(Config{Workers: 1})
	t.Cleanup(func() { b.Close() })
	src := "Require Import Lia.\nTheorem t (n : nat) : n + 0 = n /\\ False \\/ n = n.\nProof.\n  right.\n  admit.\nQed.\n" +
		"Theorem u : True /\\ True.\nProof.\n  split; admit.\nAdmitted.\n"
	f := prover.HoleFiller{Backend: b, Proposer: listProposer{"lia."}, Search: search.Config{Samples: 1, Expansions: 3}}
	res, err := f.Fill(context.Background(), src)
	if err != nil {
		t.Fatal(err)
	}
	got := map[prover.HoleStatus]int{}
	for _, h := range res.Holes {
		got[h.Status]++
	}
	// t's admit closes (lia proves n = n); u's compound admit is
	// unsupported, and the Admitted after it has no goal left (closed by
	// no tactic) but must stay Admitted while the compound admit is there.
	if got[prover.HoleClosed] != 2 || got[prover.HoleUnsupported] != 1 || res.AllClosed() {
		t.Errorf("statuses %v (%+v)", got, res.Holes)
	}
	if !strings.Contains(res.FileText, "split; admit.\nAdmitted.") {
		t.Errorf("the unsupported hole was rewritten:\n%s", res.FileText)
	}
}

// FuzzHoles runs the hole parser on untrusted text (an editor's file, a
// model's sketch): it never panics; holes come in order, inside the file,
// without overlap, each on a sentence that names a give-up; filling none
// returns the file as it is; filling every supported hole gives a file
// that still parses and holds each fill.
func FuzzHoles(f *testing.F) {
	for _, s := range []string{
		threeAdmitsFile,
		"Goal True /\\ True.\nsplit; admit.\nAdmitted.\n",
		"Goal True /\\ True.\nsplit.\n{ admit. }\n+ admit.\nQed.\n",
		"Theorem t : True.\nProof. (* admit. *) idtac \"admit.\". exact I. Qed.\n",
		"Lemma l : 1 = 1.\nProof.\n  assert (h : 2 = 2) by admit.\n  all: admit.\nDefined.\n",
		"Definition d : nat.\nProof. admit. Admitted.\nFixpoint f (n : nat) : nat := 0.\n",
		"Goal True. admit. (* open",
		"Theorem t : True.\n- - admit.\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		holes, err := FindHoles(src)
		if err != nil {
			return
		}
		last := 0
		fills := map[int][]string{}
		for i, h := range holes {
			if h.Index != i || h.Start < last || h.End <= h.Start || h.End > len(src) {
				t.Fatalf("FindHoles(%q): hole %d has span [%d,%d) after %d", src, i, h.Start, h.End, last)
			}
			last = h.End
			if txt := src[h.Start:h.End]; !strings.Contains(txt, "admit") && !strings.Contains(txt, "Admitted") && !strings.Contains(txt, "give_up") {
				t.Fatalf("FindHoles(%q): hole %d is %q", src, i, txt)
			}
			if h.Unsupported == "" {
				fills[i] = []string{"exact I."}
			}
		}
		b := (*Backend)(nil)
		same, err := b.FillHoles(src, holes, nil)
		if err != nil || same != src {
			t.Fatalf("FillHoles(%q) with no fills = %q, %v", src, same, err)
		}
		if len(fills) == 0 {
			return
		}
		out, err := b.FillHoles(src, holes, fills)
		if err != nil {
			t.Fatalf("FillHoles(%q): %v", src, err)
		}
		if _, err := FindHoles(out); err != nil {
			t.Fatalf("FillHoles(%q) = %q, which does not parse: %v", src, out, err)
		}
		if n := strings.Count(out, "exact I."); n < len(fills) {
			t.Fatalf("FillHoles(%q) = %q holds %d fills of %d", src, out, n, len(fills))
		}
	})
}
