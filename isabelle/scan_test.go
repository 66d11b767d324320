package isabelle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const honestHeader = "theory T imports Main\nbegin\n"

func TestRefuseSolutionTokenises(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body string
		refused    bool
		word       string // the token named in the refusal
	}{
		{"ML at top level", "ML \\<open>x\\<close>", true, "ML"},
		{"ML in a comment", "(* ML \\<open>x\\<close> *)", false, ""},
		{"ML after a nested comment closes", "(* (* inner *) still comment *) ML \\<open>x\\<close>", true, "ML"},
		{"ML inside a nested comment", "(* (* inner *) ML *)", false, ""},
		{"sorry in a string", "lemma x: \"sorry = sorry\" by simp", false, ""},
		{"sorry after an escaped quote", "lemma x: \"a\\\"b\" sorry", true, "sorry"},
		{"oops in a cartouche", "text \\<open>oops \\<open>nested\\<close> setup\\<close>", false, ""},
		{"setup after a nested cartouche", "text \\<open>\\<open>x\\<close>\\<close> setup \\<open>I\\<close>", true, "setup"},
		{"sorry in a formal comment", "lemma x: \"True\" \\<comment> \\<open>no sorry\\<close> by simp", false, ""},
		{"number glued to ML", "lemma x: \"True\" by simp 1.ML \\<open>x\\<close>", true, "ML"},
		{"dotted name ending in ML", "lemma x: \"True\" by (simp add: foo.ML)", true, "ML"},
		{"non-ASCII letter glued to ML", "éML \\<open>x\\<close>", true, "ML"},
		{"subscript glued to ML", "x\\<^sub>ML \\<open>x\\<close>", true, "ML"},
		{"ML in a UTF-8 cartouche (not decoded)", "text ‹ML is not run here›", true, "ML"},
		{"ML hidden behind a UTF-8 delimiter", "text ‹\\<close> ML \\<open>x\\<close> \\<open>›", true, "ML"},
		{"old verbatim", "text {* ML *}", true, ""},
		{"open comment", "(* no end", true, ""},
		{"open string", "lemma x: \"True", true, ""},
		{"open cartouche", "text \\<open>no end", true, ""},
		{"malformed symbol", "lemma x: \"\\<forall x\" by simp", true, ""},
		{"control character", "lemma x: \"True\"\x01 by simp", true, ""},
		{"antiquotation in a string", "lemma x: \"@{term x}\" by simp", true, ""},
		{"ML control symbol", "text \\<open>\\<^ML>\\<open>x\\<close>\\<close>", true, ""},
		{"subscripts in terms", "lemma x: \"x\\<^sub>1 = x\\<^sub>1\" by simp", false, ""},
		{"proof symbol", "lemma x: \"True\" \\<proof>", true, "\\<proof>"},
		{"unicode proof", "lemma x: \"True\" ⟨proof⟩", true, "⟨"},
		{"method_setup", "method_setup m = \\<open>x\\<close>", true, "method_setup"},
		{"any _setup", "foo_setup \\<open>x\\<close>", true, "foo_setup"},
		{"setup_lifting is a proof tool", "setup_lifting type_definition_t", false, ""},
		{"sledgehammer starts provers", "lemma x: \"True\"\n  sledgehammer\n  by simp", true, "sledgehammer"},
		{"export_code writes files", "export_code f in SML file \"/tmp/x\"", true, "export_code"},
		{"locale fact named axioms", "lemma x: \"True\" using foo.axioms by simp", false, ""},
	} {
		r := RefuseSolution(honestHeader + tc.body + "\nend\n")
		if (r != nil) != tc.refused {
			t.Errorf("%s: RefuseSolution = %v, want refused=%v", tc.name, r, tc.refused)
			continue
		}
		if r != nil && tc.word != "" && r.Token != tc.word {
			t.Errorf("%s: refusal names %q, want %q (%v)", tc.name, r.Token, tc.word, r)
		}
		if r != nil && r.Token != "" && (r.Line < 3 || !strings.Contains(r.Source, r.Token)) {
			t.Errorf("%s: refusal line %d %q does not point at the body", tc.name, r.Line, r.Source)
		}
	}
}

func TestRefuseSolutionHeader(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src     string
		refused bool
	}{
		{"theory T imports Main begin\nend\n", false},
		{"(* c *)\ntheory T\n  imports Complex_Main \"HOL-Library.Code_Target_Numeral\" HOL.HOL\nbegin\nend\n", false},
		{"section \\<open>x\\<close>\ntheory T imports Main begin\nend\n", false},
		{"theory T imports \"~~/src/HOL/Main\" begin\nend\n", true},
		{"theory T imports \"../Other\" begin\nend\n", true},
		{"theory T imports Main keywords \"foo\" :: thy_decl begin\nend\n", true},
		{"theory T imports Main LlemmaSolution begin\nend\n", true},
		{"theory T imports Draft.LlemmaCompare begin\nend\n", true},
		{"theory T imports Main begin\nend\ntheory U imports Main begin\nend\n", true},
		{"lemma x: \"True\" by simp\ntheory T imports Main begin\nend\n", true},
		{"theory T begin\nend\n", true},
		{"theory T imports Main\nend\n", true},
	} {
		if r := RefuseSolution(tc.src); (r != nil) != tc.refused {
			t.Errorf("RefuseSolution(%q) = %v, want refused=%v", tc.src, r, tc.refused)
		}
	}
}

func TestScanIsabelleRoundTrip(t *testing.T) {
	t.Parallel()
	src := "(* a (* b *) c *)\ntheory T imports Main\nbegin\nlemma x: \"a \\\" b\" \\<open>c \\<open>d\\<close>\\<close> ‹e› `f` x\\<^sub>1 é\nend\n"
	toks, err := ScanIsabelle(src)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	kinds := map[TokenKind]int{}
	for _, tk := range toks {
		sb.WriteString(tk.Text)
		kinds[tk.Kind]++
	}
	if sb.String() != src {
		t.Errorf("tokens do not concatenate to the source")
	}
	if kinds[TokComment] != 1 || kinds[TokString] != 2 || kinds[TokCartouche] != 2 || kinds[TokSymbol] != 1 {
		t.Errorf("token kinds %v", kinds)
	}
	if last := toks[len(toks)-2]; last.Text != "end" || last.Line != 5 {
		t.Errorf("last word %+v, want end on line 5", last)
	}
}

// FuzzScanIsabelle checks the scanner that stands between untrusted text
// and the server: no panics; tokens give back the text; words are what
// the refusal rules assume; and any text that passes is closed, so a
// refused word appended after it is always seen.
func FuzzScanIsabelle(f *testing.F) {
	for _, s := range []string{
		honestHeader + "lemma x: \"True\" by simp\nend\n",
		honestHeader + "(* (* *) *) text \\<open>\\<open>\\<close>\\<close> ‹›\nend\n",
		honestHeader + "lemma x: \"a\\\"b\" sorry\nend\n",
		honestHeader + "1.ML \\<open>x\\<close>\nend\n",
		honestHeader + "text {* ML *}\nend\n",
		"\"unclosed", "(* unclosed", "\\<open>", "\\<", "‹", "⟨proof⟩",
	} {
		f.Add(s)
	}
	if dir := filepath.Join("..", "..", "shared", "data", "minif2f", "isabelle", "valid"); dirExists(dir) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.thy"))
		for i, p := range files {
			if i%40 == 0 {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(string(b))
				}
			}
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		for _, uni := range []bool{true, false} {
			toks, err := scanIsabelle(src, uni)
			if err != nil {
				continue
			}
			var sb strings.Builder
			for i, tk := range toks {
				sb.WriteString(tk.Text)
				if tk.Text == "" || i > 0 && tk.Pos != toks[i-1].Pos+len(toks[i-1].Text) {
					t.Fatalf("token %d %+v: empty or not contiguous", i, tk)
				}
				if tk.Kind == TokWord {
					for j := 0; j < len(tk.Text); j++ {
						if !isWordByte(tk.Text[j]) {
							t.Fatalf("word %q has byte %q", tk.Text, tk.Text[j])
						}
					}
				}
			}
			if sb.String() != src {
				t.Fatalf("tokens do not give back the source")
			}
		}
		r1, r2 := RefuseSolution(src), RefuseSolution(src)
		if (r1 == nil) != (r2 == nil) {
			t.Fatalf("RefuseSolution is not deterministic")
		}
		if r1 == nil {
			for _, w := range []string{"sorry", "ML", "oops"} {
				if RefuseSolution(src+"\n"+w+"\n") == nil {
					t.Fatalf("accepted text %q followed by %s was accepted", src, w)
				}
			}
		}
	})
}

func dirExists(d string) bool {
	st, err := os.Stat(d)
	return err == nil && st.IsDir()
}
