package isabelle

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseTheoremShapes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, src, header, stmt string
	}{
		{"p1", "theory p1 imports Main begin\ntheorem p1: \"A\"\n  sorry\n\nend\n",
			"theory p1 imports Main begin\n", "theorem p1: \"A\""},
		{"p2", "(* by proof *)\ntheory p2\n  imports Complex_Main \"HOL-Library.Sum_of_Squares\"\nbegin\n\ntheorem p2 :\n  \"(gcd 6432 132) + 11 = (23::nat)\" by eval\n\nend\n",
			"(* by proof *)\ntheory p2\n  imports Complex_Main \"HOL-Library.Sum_of_Squares\"\nbegin\n\n", "theorem p2 :\n  \"(gcd 6432 132) + 11 = (23::nat)\""},
		{"p3", "theory p3 imports Main begin\ntheorem p3:\n  fixes x :: nat\n  assumes h: \"x by 2 = proof\"\n  shows \"x = x\"\n  using h\n  by simp\nend",
			"theory p3 imports Main begin\n", "theorem p3:\n  fixes x :: nat\n  assumes h: \"x by 2 = proof\"\n  shows \"x = x\""},
	} {
		thm, err := ParseTheorem(c.name, c.src)
		if err != nil {
			t.Errorf("ParseTheorem(%s): %v", c.name, err)
			continue
		}
		if thm.Header != c.header || thm.Statement != c.stmt {
			t.Errorf("ParseTheorem(%s) = %q | %q, want %q | %q", c.name, thm.Header, thm.Statement, c.header, c.stmt)
		}
	}
	for _, bad := range []string{
		"theorem x: \"A\" sorry",
		"theory x imports Main begin\ntheorem x: \"A\" sorry\nlemma y: \"B\" sorry\nend",
		"theory x imports Main begin\ntheorem other: \"A\" sorry\nend",
		"theory x imports Main begin\ntheorem x: \"A sorry\nend",
	} {
		if _, err := ParseTheorem("x", bad); err == nil {
			t.Errorf("ParseTheorem(%q) accepted", bad)
		}
	}
}

func TestAssembleIsAcceptedFinalText(t *testing.T) {
	t.Parallel()
	thm, err := ParseTheorem("inv", "theory inv imports Main begin\ntheorem inv: \"A \\<and> B\"\n  sorry\nend\n")
	if err != nil {
		t.Fatal(err)
	}
	b := &Backend{resolved: map[string]string{}}
	for _, p := range [][]string{nil, {"apply (rule conjI)", "apply simp", "apply simp"}, {"using assms", "apply (auto simp: field_simps)"}} {
		file := b.Assemble(thm, p)
		if !strings.HasPrefix(file, thm.Header+thm.Statement) || !strings.HasSuffix(file, "  done\n\nend\n") {
			t.Fatalf("Assemble(%q) = %q", p, file)
		}
		for _, s := range p {
			if !strings.Contains(file, "\n  "+s+"\n") {
				t.Errorf("Assemble(%q) lacks step %q:\n%s", p, s, file)
			}
		}
		// what search assembles is what the final check accepts to check
		if r := RefuseSolution(file); r != nil {
			t.Errorf("RefuseSolution(Assemble(%q)) = %v", p, r)
		}
		renamed, imports, err := renameSolution(file)
		if err != nil || imports != "Main" || !strings.HasPrefix(renamed, "theory LlemmaSolution imports Main begin") {
			t.Errorf("renameSolution = %q, %q, %v", renamed, imports, err)
		}
	}
}

func TestBuildCheckLines(t *testing.T) {
	t.Parallel()
	thm, _ := ParseTheorem("bc", "(*\n c *)\ntheory bc imports\n  Main\nbegin\n\ntheorem bc:\n  \"A\"\n  sorry\nend\n")
	ct, err := buildCheck(thm, "Step_1", []string{"apply (rule conjI)", "apply simp"}, false)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(ct.text, "\n")
	if !strings.Contains(ct.text, "theory Step_1 imports") || strings.Contains(ct.text, "theory bc") {
		t.Errorf("not renamed: %q", ct.text)
	}
	if lines[ct.steps[0][0]-1] != "  apply (rule conjI)" || lines[ct.steps[1][0]-1] != "  apply simp" ||
		lines[ct.closing[0]-1] != "  print_state" || lines[ct.closing[0]] != "  done" || lines[ct.closing[1]-1] != "end" {
		t.Errorf("line ranges %v %v in\n%s", ct.steps, ct.closing, ct.text)
	}
	if ct.stmtLines != [2]int{1, 8} {
		t.Errorf("statement lines %v", ct.stmtLines)
	}
}

func TestParseGoals(t *testing.T) {
	t.Parallel()
	st, ok := ParseGoals("Failed to finish proof\\<^here>:\nusing this:\n  x > 0\ngoal (3 subgoals):\n 1. \\<And>x. P x\n      \\<Longrightarrow> Q x\n 2. B\nA total of 3 subgoals...")
	want := []string{"using this: x > 0", `\<And>x. P x \<Longrightarrow> Q x`, "B", "(3 subgoals in total)"}
	if !ok || !reflect.DeepEqual(st.Goals, want) {
		t.Errorf("ParseGoals = %q, %v; want %q", st.Goals, ok, want)
	}
	if !strings.HasPrefix(st.Text, "using this:") || strings.Contains(st.Text, "A total") {
		t.Errorf("Text = %q", st.Text)
	}
	if _, ok := ParseGoals("Failed to apply proof method"); ok {
		t.Error("no goal text accepted")
	}
}

func TestLoadMiniF2F(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(sharedDir(t), "data", "minif2f", "isabelle")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("miniF2F Isabelle data not found at %s", dir)
	}
	b := &Backend{resolved: map[string]string{}}
	for _, split := range []string{"valid", "test"} {
		thms, err := LoadMiniF2F(dir, split)
		if err != nil {
			t.Fatalf("LoadMiniF2F(%s): %v", split, err)
		}
		if len(thms) != 244 {
			t.Errorf("%s: %d theorems, want 244", split, len(thms))
		}
		withProof := 0
		for _, thm := range thms {
			src, _ := os.ReadFile(thm.Path)
			if !strings.HasPrefix(string(src), thm.Header+thm.Statement) {
				t.Errorf("%s: header+statement is not a prefix of the file", thm.Name)
			}
			if !strings.HasPrefix(thm.Statement, "theorem "+thm.Name) || thm.Split != split || thm.Backend != "isabelle" {
				t.Errorf("%s: statement %q", thm.Name, clip(thm.Statement, 60))
			}
			rest := strings.TrimSpace(string(src)[len(thm.Header)+len(thm.Statement):])
			if !strings.HasPrefix(rest, "sorry") {
				withProof++
			}
			toks, err := sigTokens(thm.Statement)
			if err != nil {
				t.Errorf("%s: %v", thm.Name, err)
			}
			for _, tk := range toks {
				if tk.Kind == isarWord && proofStart[tk.Text] {
					t.Errorf("%s: statement contains proof word %q", thm.Name, tk.Text)
				}
			}
			if imp, err := Imports(thm); err != nil || !strings.Contains(imp, "Complex_Main") && !strings.Contains(imp, "HOL-Analysis") {
				t.Errorf("%s: imports %q, %v", thm.Name, imp, err)
			}
			p := []string{"apply simp"}
			if r := RefuseSolution(b.Assemble(thm, p)); r != nil {
				t.Errorf("%s: RefuseSolution(Assemble) = %v", thm.Name, r)
			}
			// the benchmark's own proofs are honest files: none may be refused;
			// the open problems end in sorry and must be
			r := RefuseSolution(string(src))
			if open := strings.HasPrefix(rest, "sorry"); open != (r != nil) {
				t.Errorf("%s: RefuseSolution(file) = %v (file ends in sorry: %v)", thm.Name, r, open)
			}
			if _, err := buildCheck(thm, "Step_x", p, false); err != nil {
				t.Errorf("%s: %v", thm.Name, err)
			}
		}
		want := map[string]int{"valid": 76, "test": 71}[split]
		if withProof != want {
			t.Errorf("%s: %d files with a proof, want %d", split, withProof, want)
		}
	}
}
