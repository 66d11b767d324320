package model

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/prover"
)

var (
	fuzzKNNOnce  sync.Once
	fuzzKNNModel *KNNModel
)

// FuzzKNNFeatures feeds arbitrary goal displays and tactics to the goal
// parser, the tokeniser, the features and the tactic abstraction: no
// panic; tokens are the text at their offsets; numerals never reach a
// feature as their value; features are sorted and unique; a template filled
// with its own names gives the tactic back; and every candidate of the
// proposer on the state passes the Coq policy.
func FuzzKNNFeatures(f *testing.F) {
	for _, goals := range knnStates {
		f.Add(strings.Join(goals, "\x00"), "destruct H0 as [x Hx].")
	}
	f.Add("x : R\nH : (x > 0)%R\n============================\nforall y : R, fun z => z + 12.5 = y", "intros y; assert (H1 : x > 0) by lra; nra.")
	f.Add("a := 3 : nat\nf : nat -> nat\n  -> nat\n============================\n\"str\" = \"\"", "set (b := a + 1) in *; exists a.")
	f.Add("(* ( [ { \xff\xfe h₁ : ∀ x, x ≤ 2\n=====", "rewrite <- h₁ in *; eqn:E.")
	f.Fuzz(func(t *testing.T, state, tactic string) {
		goals := strings.Split(state, "\x00")
		g := parseGoals(goals)
		for _, part := range []string{g.concl, state} {
			toks := tokenize(part)
			for _, tk := range toks {
				if tk.start < 0 || tk.start+len(tk.s) > len(part) || part[tk.start:tk.start+len(tk.s)] != tk.s || tk.s == "" {
					t.Fatalf("token %+v is not the text at its offset in %q", tk, part)
				}
			}
			for _, s := range symbols(toks, g.localNames()) {
				if s != "" && unicode.IsDigit(rune(s[0])) {
					t.Fatalf("numeral %q reached the features of %q", s, part)
				}
			}
		}
		feats := stateFeatures(g)
		for i := 1; i < len(feats); i++ {
			if feats[i] <= feats[i-1] {
				t.Fatalf("features not sorted and unique at %d", i)
			}
		}
		info := describeLocals(g)
		tm := abstractTactic(tactic, g, info)
		assign := make([]int, len(tm.slots))
		for si, s := range tm.slots {
			assign[si] = slices.IndexFunc(info.roles, func(r slotRole) bool { return r.name == s.name })
			if assign[si] < 0 {
				t.Fatalf("slot %q is not a local of the state", s.name)
			}
		}
		if got := fill(tm, assign, localInfo{roles: info.roles}); got != tactic {
			t.Fatalf("fill(abstract(%q)) = %q", tactic, got)
		}
		bind(tm, info)

		fuzzKNNOnce.Do(func() {
			b := NewKNNBuilder()
			src := b.AddSource(KNNSource{Kind: "test"})
			for _, p := range knnTraining {
				b.Add(src, knnStates[p.state], p.tactic, true, 0)
			}
			var buf strings.Builder
			_ = b.Write(&buf)
			fuzzKNNModel, _ = ReadKNN(strings.NewReader(buf.String()))
		})
		cands, err := (&KNN{Model: fuzzKNNModel}).Propose(context.Background(), prover.ProposalRequest{State: prover.State{Goals: goals}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cands {
			if _, err := (coq.Policy{}).Check(c.Tactic); err != nil || c.Score > 0 {
				t.Fatalf("candidate %+v on %q: %v", c, state, err)
			}
		}
	})
}
