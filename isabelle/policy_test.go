package isabelle

import (
	"errors"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/prover"
)

func TestPolicyAccepts(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{"apply simp", "apply simp"},
		{"  apply (auto simp: field_simps)  ", "apply (auto simp: field_simps)"},
		{"apply (rule conjI)[1]", "apply (rule conjI)[1]"},
		{"apply simp+", "apply simp+"},
		{"by simp", "apply simp"},
		{"by (metis assms(1) le_less)", "apply (metis assms(1) le_less)"},
		{"by (simp add: power2_eq_square) (auto)", "apply ((simp add: power2_eq_square), (auto))"},
		{"by simp arith", "apply (simp, arith)"},
		{"using assms", "using assms"},
		{"unfolding power2_eq_square", "unfolding power2_eq_square"},
		{"apply (rule exI[where x=\"1::nat\"])", "apply (rule exI[where x=\"1::nat\"])"},
		{"apply (smt (verit, best) mult_cancel_left2)", "apply (smt (verit, best) mult_cancel_left2)"},
		{"apply (induct n arbitrary: m)", "apply (induct n arbitrary: m)"},
		{"apply (cases \"x = \\<open>y\\<close>\")", "apply (cases \"x = \\<open>y\\<close>\")"},
		{"sledgehammer", "sledgehammer"},
		{"sledgehammer [timeout = 5]", "sledgehammer"},
		{"defer", "defer"},
		{"prefer 2", "prefer 2"},
		{"apply (simp add: x.simps)", "apply (simp add: x.simps)"},
	} {
		got, err := Policy{}.Check(c.in)
		if err != nil || got != c.want {
			t.Errorf("Check(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestPolicyRejects(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, rule string }{
		{"", "empty"},
		{"sorry", "cheating"},
		{"apply simp sorry", "cheating"},
		{"apply (simp) \n sorry", "cheating"},
		{"oops", "cheating"},
		{"\\<proof>", "cheating"},
		{"apply simp \\<proof>", "cheating"},
		{"⟨proof⟩", "cheating"},
		{"{ apply simp }", "isar-structure"},
		{"apply simp -- \"x\"", "comment"},
		{"SORRY", "cheating"},
		{"apply (simp add: \"sorry\")", "cheating"},
		{"axiomatization where x: False", "cheating"},
		{"declare [[quick_and_dirty]]", "cheating"},
		{"using [[simp_trace]]", "ml-or-config"},
		{"ML \\<open>1\\<close>", "ml-or-config"},
		{"ML_val \\<open>1\\<close>", "ml-or-config"},
		{"ML_file \"x.ML\"", "ml-or-config"},
		{"setup \\<open>I\\<close>", "ml-or-config"},
		{"local_setup \\<open>I\\<close>", "ml-or-config"},
		{"method_setup m = \\<open>x\\<close>", "ml-or-config"},
		{"declare foo[simp]", "ml-or-config"},
		{"apply (tactic \\<open>all_tac\\<close>)", "ml-or-config"},
		{"apply (raw_tactic \\<open>all_tac\\<close>)", "ml-or-config"},
		{"apply (smt_oracle)", "cheating"},
		{"lemma x: True by simp", "theory-command"},
		{"theorem x: True by simp", "theory-command"},
		{"definition f where \"f = 1\"", "theory-command"},
		{"end", "theory-command"},
		{"apply simp end", "theory-command"},
		{"done", "closing"},
		{"qed", "closing"},
		{"apply simp done", "closing"},
		{"by auto done", "closing"},
		{"apply simp .", "closing"},
		{"have \"x\" by simp", "isar-structure"},
		{"proof -", "isar-structure"},
		{"show ?thesis by simp", "isar-structure"},
		{"nitpick", "diagnostic"},
		{"quickcheck", "diagnostic"},
		{"print_state", "diagnostic"},
		{"apply simp apply auto", "multiple-commands"},
		{"apply simp (* hidden *)", "comment"},
		{"apply (simp", "incomplete"},
		{"by 00000)0^^^^^0(", "incomplete"},
		{"apply simp) (", "incomplete"},
		{"by*(a * o si,p:ww)", "method-syntax"},
		{"apply \"x\"", "method-syntax"},
		{"apply \"x", "incomplete"},
		{"apply simp auto", "multiple-methods"},
		{"sledgehammer z3 cvc5", "sledgehammer"},
		{"simp", "not-a-step"},
		{"apply simp\x00", "encoding"},
		{strings.Repeat("apply simp ", 300), "too-long"},
	} {
		got, err := Policy{}.Check(c.in)
		var r *prover.Rejection
		if !errors.As(err, &r) {
			t.Errorf("Check(%q) = %q, %v; want rejection %s", c.in, got, err, c.rule)
			continue
		}
		if r.Rule != c.rule {
			t.Errorf("Check(%q) rule %q (%s), want %q", c.in, r.Rule, r.Detail, c.rule)
		}
	}
}

func TestScanIsarRoundTrip(t *testing.T) {
	t.Parallel()
	for _, src := range []string{
		"theory X imports Main begin (* a (* nested *) c *) \"str \\\" q\" `alt` \\<open>c \\<open>n\\<close>\\<close> ‹u›\nlemma x.y: \"A\" {* verb *} by simp .. . end",
		"",
	} {
		toks, err := scanIsar(src)
		if err != nil {
			t.Fatalf("scanIsar: %v", err)
		}
		var sb strings.Builder
		for _, tk := range toks {
			if src[tk.Pos:tk.Pos+len(tk.Text)] != tk.Text {
				t.Errorf("token %q at %d does not match the source", tk.Text, tk.Pos)
			}
			sb.WriteString(tk.Text)
		}
		if sb.String() != src {
			t.Errorf("tokens do not concatenate to the source")
		}
	}
	for _, bad := range []string{"(* open", "\"open", "\\<open> x", "{* x"} {
		if _, err := scanIsar(bad); !errors.Is(err, errIsarIncomplete) {
			t.Errorf("scanIsar(%q) = %v", bad, err)
		}
	}
}

func FuzzPolicy(f *testing.F) {
	for _, s := range []string{"apply simp", "by (auto simp: x)", "sorry", "apply (rule conjI)[1]", "\\<open>", "(* x", "by simp arith"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks, err := scanIsar(s)
		if err == nil {
			var sb strings.Builder
			for _, tk := range toks {
				sb.WriteString(tk.Text)
			}
			if sb.String() != s {
				t.Fatalf("scanIsar does not round-trip %q", s)
			}
		}
		got, err := Policy{}.Check(s)
		if err != nil {
			return
		}
		// a normalized step is stable and never cheats
		again, err := Policy{}.Check(got)
		if err != nil || again != got {
			t.Fatalf("Check(Check(%q)) = %q, %v; want %q", s, again, err, got)
		}
		if strings.Contains(strings.ToLower(got), "sorry") || strings.Contains(got, "oops") {
			t.Fatalf("accepted %q", got)
		}
	})
}
