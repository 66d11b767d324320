package isabelle

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// verifyBackend is a backend on an in-process sim server, so tests can
// look at what the server saw.
func verifyBackend(t *testing.T) (*Backend, *fakeServer) {
	t.Helper()
	fs := startInProcess(t, "sim")
	b, err := New(Config{Address: fs.addr(), Password: fs.password, WorkDir: t.TempDir(), CancelGrace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, fs
}

func ctx30(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// challenge is the trusted statement used by most cases.
func challenge(t *testing.T, stmt string) prover.Theorem {
	t.Helper()
	thm, err := ParseTheorem("goal", "(* benchmark *)\ntheory goal imports Main\nbegin\n\n"+stmt+"\n  sorry\n\nend\n")
	if err != nil {
		t.Fatal(err)
	}
	return thm
}

const conjStmt = "theorem goal:\n  \"A \\<and> B\""

func sol(body string) string {
	return "theory Whatever imports Main\nbegin\n\n" + body + "\n\nend\n"
}

func TestVerifyRejectsCheats(t *testing.T) {
	t.Parallel()
	b, _ := verifyBackend(t)
	chal := challenge(t, conjStmt)
	proof := "  apply (rule conjI)\n  apply simp\n  apply simp\n  done"
	cases := []struct {
		attack     string
		file       string
		refused    bool   // stopped by the token scan
		msgHas     string // the message names the reason
		disallowed string // the verdict names this oracle or axiom
	}{
		{attack: "sorry in a helper lemma", refused: true, msgHas: "sorry",
			file: sol("lemma helper: \"A \\<and> B\" sorry\n\ntheorem goal:\n  \"A \\<and> B\"\n  by (rule helper)")},
		{attack: "oops abandons the theorem", refused: true, msgHas: "oops",
			file: sol(conjStmt + "\n  oops")},
		{attack: "axiomatization of the goal", refused: true, msgHas: "axiomatization",
			file: sol("axiomatization where ax: \"A \\<and> B\"\n\n" + conjStmt + "\n  by (rule ax)")},
		{attack: "axiomatization of False", refused: true, msgHas: "adds axioms",
			file: sol("axiomatization where ax: \"False\"\n\n" + conjStmt + "\n" + proof)},
		{attack: "oracle declared and used via ML", refused: true, msgHas: "runs ML",
			file: sol("oracle cheat = \\<open>fn ct => ct\\<close>\n\nML \\<open>val th = cheat @{cprop \"A \\<and> B\"}\\<close>\n\n" + conjStmt + "\n" + proof)},
		{attack: "declare [[quick_and_dirty=true]]", refused: true, msgHas: "quick_and_dirty",
			file: sol("declare [[quick_and_dirty=true]]\n\n" + conjStmt + "\n" + proof)},
		{attack: "ML block writing a file", refused: true, msgHas: "runs ML",
			file: sol("ML \\<open>File.write (Path.explode \"/tmp/pwned\") \"x\"\\<close>\n\n" + conjStmt + "\n" + proof)},
		{attack: "setup changing the theory", refused: true, msgHas: "setup",
			file: sol("setup \\<open>I\\<close>\n\n" + conjStmt + "\n" + proof)},
		{attack: "ML_file loading code", refused: true, msgHas: "ML_file",
			file: sol("ML_file \"evil.ML\"\n\n" + conjStmt + "\n" + proof)},
		{attack: "ML hidden in old verbatim", refused: true, msgHas: "verbatim",
			file: sol("text {* ML \\<open>x\\<close> *}\n\n" + conjStmt + "\n" + proof)},
		{attack: "ML antiquotation in a text block", refused: true, msgHas: "antiquotation",
			file: sol("text \\<open>@{ML \\<open>File.write\\<close>}\\<close>\n\n" + conjStmt + "\n" + proof)},
		{attack: "\\<proof> is sorry", refused: true, msgHas: "sorry",
			file: sol(conjStmt + "\n  \\<proof>")},
		{attack: "tactic method runs ML", refused: true, msgHas: "tactic",
			file: sol(conjStmt + "\n  apply (tactic \\<open>all_tac\\<close>)\n  done")},
		{attack: "import of the challenge theory", refused: true, msgHas: "checker's theories",
			file: "theory X imports Main LlemmaChallenge\nbegin\n\n" + conjStmt + "\n  by (rule LlemmaChallenge.goal)\n\nend\n"},
		{attack: "import of a theory file by path", refused: true, msgHas: "not files",
			file: "theory X imports Main \"/tmp/Evil\"\nbegin\n\n" + conjStmt + "\n" + proof + "\n\nend\n"},
		{attack: "statement changed by an abbreviation", msgHas: "statement differs",
			file: sol("abbreviation \"B \\<equiv> True\"\n\n" + conjStmt + "\n" + proof)},
		{attack: "statement changed by a notation", msgHas: "statement differs",
			file: sol("notation True (\"B\")\n\n" + conjStmt + "\n" + proof)},
		{attack: "theorem inside a named context", msgHas: "no theory-level theorem",
			file: sol("context foo\nbegin\n\n" + conjStmt + "\n" + proof + "\n\nend")},
		{attack: "theorem inside a locale", msgHas: "no theory-level theorem",
			file: sol("locale loc\nbegin\n\n" + conjStmt + "\n" + proof + "\n\nend")},
		{attack: "theorem stated in a locale by (in loc)", msgHas: "no theory-level theorem",
			file: sol("locale loc\n\nlemma (in loc) goal:\n  \"A \\<and> B\"\n" + proof)},
		{attack: "the right name with a weaker statement", msgHas: "statement differs",
			file: sol("theorem goal:\n  \"A\"\n  apply simp\n  done")},
		{attack: "lemma NAME: True plus the real one under another name", msgHas: "statement differs",
			file: sol("lemma goal: \"True\" by simp\n\ntheorem other:\n  \"A \\<and> B\"\n" + proof)},
		{attack: "by eval (code generator oracle)", msgHas: "disallowed", disallowed: EvalOracle,
			file: sol(conjStmt + "\n  by eval")},
		{attack: "a helper proved by eval carries the oracle", msgHas: "disallowed", disallowed: EvalOracle,
			file: sol("lemma helper: \"A \\<and> B\" by eval\n\n" + conjStmt + "\n  by (rule helper)")},
		{attack: "proof that does not check", msgHas: "does not check",
			file: sol(conjStmt + "\n  apply (rule conjI)\n  apply simp\n  done")},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.attack, " ", "_"), func(t *testing.T) {
			t.Parallel()
			v, err := b.Verify(ctx30(t), prover.VerifyRequest{Name: "goal", Challenge: &chal, Solution: tc.file})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if v.Verified || v.Refused != tc.refused || !strings.Contains(v.Message, tc.msgHas) {
				t.Fatalf("attack %q: Verified=%v Refused=%v Message=%q; want refused=%v, message with %q", tc.attack, v.Verified, v.Refused, v.Message, tc.refused, tc.msgHas)
			}
			if tc.refused && !strings.Contains(v.Message, "line ") {
				t.Errorf("a refusal must name the line: %q", v.Message)
			}
			if tc.disallowed != "" && !slices.Contains(v.Disallowed, tc.disallowed) {
				t.Errorf("Disallowed = %v, want %s", v.Disallowed, tc.disallowed)
			}
		})
	}
}

// The defence behind the token scan: with the scan switched off, the
// compare theory's verdict (oracles, axioms, theorem name) still rejects.
func TestVerifyDefenceBehindScan(t *testing.T) {
	t.Parallel()
	b, _ := verifyBackend(t)
	chal := challenge(t, conjStmt)
	for _, tc := range []struct {
		attack, file, disallowed, msgHas string
	}{
		{attack: "sorry in a helper lemma", disallowed: SkipProofOracle, msgHas: "disallowed",
			file: sol("lemma helper: \"A \\<and> B\" sorry\n\ntheorem goal:\n  \"A \\<and> B\"\n  by (rule helper)")},
		{attack: "sorry as the proof", disallowed: SkipProofOracle, msgHas: "disallowed",
			file: sol(conjStmt + "\n  sorry")},
		{attack: "axiomatization of the goal", disallowed: "LlemmaSolution.ax", msgHas: "disallowed",
			file: sol("axiomatization where ax: \"A \\<and> B\"\n\n" + conjStmt + "\n  by (rule ax)")},
		{attack: "oops abandons the theorem", msgHas: "no theory-level theorem",
			file: sol(conjStmt + "\n  oops")},
	} {
		v, err := b.verify(ctx30(t), prover.VerifyRequest{Name: "goal", Challenge: &chal, Solution: tc.file, AllowAxioms: []string{SkipProofOracle}}, false)
		if err != nil || v.Verified || v.Refused || !strings.Contains(v.Message, tc.msgHas) {
			t.Errorf("%s without the scan: %+v, %v", tc.attack, v, err)
			continue
		}
		if tc.disallowed != "" && !slices.Contains(v.Disallowed, tc.disallowed) {
			t.Errorf("%s: Disallowed = %v, want %s (skip_proof is never allowed)", tc.attack, v.Disallowed, tc.disallowed)
		}
	}
}

func TestVerifyAcceptsHonestFiles(t *testing.T) {
	t.Parallel()
	b, _ := verifyBackend(t)
	chal := challenge(t, conjStmt)
	assmChal := challenge(t, "theorem goal:\n  assumes h: \"C\"\n  shows \"A\"")
	cases := []struct {
		name string
		chal prover.Theorem
		file string
	}{
		{"apply script as search assembles it", chal, b.Assemble(chal, []string{"apply (rule conjI)", "apply simp", "apply auto"})},
		{"extra HOL-Library imports", chal, "theory Mine imports Complex_Main \"HOL-Library.Code_Target_Numeral\" \"HOL-Number_Theory.Number_Theory\"\nbegin\n\n" +
			conjStmt + "\n  apply (rule conjI)\n  apply simp\n  apply simp\n  done\n\nend\n"},
		{"helper lemma used by simp add", chal, sol("lemma helper: \"A\" by simp\n\n" + conjStmt + "\n  apply (rule conjI)\n  apply (simp add: helper)\n  apply (auto simp: helper)\n  done")},
		{"helper lemma used by rule", chal, sol("lemma helper: \"A \\<and> B\"\n  apply (rule conjI)\n  apply simp\n  apply simp\n  done\n\n" + conjStmt + "\n  by (rule helper)")},
		{"Isar proof ... qed", chal, sol(conjStmt + "\nproof (rule conjI)\n  show \"A\" by simp\nnext\n  show \"B\" by (simp add: foo)\nqed")},
		{"using assms", assmChal, sol("theorem goal:\n  assumes h: \"C\"\n  shows \"A\"\n  using assms by simp")},
		{"keywords only inside comments, strings and cartouches", chal, sol("(* sorry; ML \\<open>x\\<close>; axiomatization (* nested oops *) *)\n" +
			"text \\<open>We do not use sorry, ML or setup here.\\<close>\n" +
			"lemma helper: \"A\" \\<comment> \\<open>not sorry\\<close> by simp\n\n" + conjStmt + "\n  apply (rule conjI)\n  apply simp\n  apply simp\n  done")},
		{"a different theory name", chal, strings.Replace(b.Assemble(chal, []string{"apply (rule conjI)", "apply simp", "apply simp"}), "theory goal", "theory Some_Other_Name", 1)},
	}
	for _, tc := range cases {
		t.Run(strings.ReplaceAll(tc.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			v, err := b.Verify(ctx30(t), prover.VerifyRequest{Name: "goal", Challenge: &tc.chal, Solution: tc.file})
			if err != nil || !v.Verified {
				t.Fatalf("Verify(%s) = %+v, %v\n%s", tc.name, v, err, tc.file)
			}
			if v.Constant != "LlemmaSolution.goal" || v.Type == "" || len(v.Axioms) != 0 || len(v.Disallowed) != 0 || v.Sandbox == "" || v.Refused {
				t.Errorf("Verify(%s) = %+v", tc.name, v)
			}
		})
	}
}

func TestVerifyEvalOnlyWhenAllowed(t *testing.T) {
	t.Parallel()
	b, _ := verifyBackend(t)
	chal := challenge(t, conjStmt)
	file := sol(conjStmt + "\n  by eval")
	v, err := b.Verify(ctx30(t), prover.VerifyRequest{Name: "goal", Challenge: &chal, Solution: file, AllowAxioms: []string{EvalOracle}})
	if err != nil || !v.Verified || !slices.Equal(v.Axioms, []string{EvalOracle}) || len(v.Disallowed) != 0 {
		t.Errorf("Verify(by eval, eval allowed) = %+v, %v", v, err)
	}
	v, err = b.Verify(ctx30(t), prover.VerifyRequest{Name: "goal", Challenge: &chal, Solution: file})
	if err != nil || v.Verified || !slices.Equal(v.Disallowed, []string{EvalOracle}) {
		t.Errorf("Verify(by eval) = %+v, %v", v, err)
	}
}

func TestVerifyWithoutChallenge(t *testing.T) {
	t.Parallel()
	b, _ := verifyBackend(t)
	v, err := b.Verify(ctx30(t), prover.VerifyRequest{Name: "goal", Solution: sol(conjStmt + "\n  apply (rule conjI)\n  apply simp\n  apply simp\n  done")})
	if err != nil || !v.Verified || v.Constant != "LlemmaSolution.goal" || v.Type != `A \<and> B` || len(v.Axioms) != 0 || !strings.Contains(v.Message, "no challenge") {
		t.Errorf("Verify(no challenge) = %+v, %v", v, err)
	}
	// without a challenge any statement is what it is, but oracles still count
	v, err = b.Verify(ctx30(t), prover.VerifyRequest{Name: "goal", Solution: sol("theorem goal: \"False\" by eval")})
	if err != nil || v.Verified || v.Type != "False" || !slices.Equal(v.Disallowed, []string{EvalOracle}) {
		t.Errorf("Verify(no challenge, eval) = %+v, %v", v, err)
	}
	v, err = b.Verify(ctx30(t), prover.VerifyRequest{Name: "missing", Solution: sol("theorem goal: \"True\" by simp")})
	if err != nil || v.Verified || !strings.Contains(v.Message, "LlemmaSolution.missing") {
		t.Errorf("Verify(no such theorem) = %+v, %v", v, err)
	}
	v, err = b.Verify(ctx30(t), prover.VerifyRequest{Name: `goal"; error "x`, Solution: sol("theorem goal: \"True\" by simp")})
	if err != nil || v.Verified || !strings.Contains(v.Message, "not a plain Isabelle name") {
		t.Errorf("Verify(name with quotes) = %+v, %v", v, err)
	}
}

// A final check runs in a session of its own, started with
// quick_and_dirty off and stopped afterwards; never in one a search used.
func TestVerifyUsesAFreshSession(t *testing.T) {
	t.Parallel()
	b, fs := verifyBackend(t)
	ctx := ctx30(t)
	chal := challenge(t, conjStmt)
	s, err := b.Open(ctx, chal)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Apply(ctx, s.Root().ID, "apply (rule conjI)", 5*time.Second)
	if err != nil || r.Status != prover.StepOpen {
		t.Fatalf("Apply = %+v, %v", r, err)
	}
	file := b.Assemble(chal, []string{"apply (rule conjI)", "apply simp", "apply simp"})
	for i := 0; i < 2; i++ {
		if v, err := b.Verify(ctx, prover.VerifyRequest{Name: "goal", Challenge: &chal, Solution: file}); err != nil || !v.Verified {
			t.Fatalf("Verify = %+v, %v", v, err)
		}
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var final, search []string
	for sid, thys := range fs.sessionThys {
		hasStep, hasFinal := false, false
		for _, th := range thys {
			hasStep = hasStep || strings.HasPrefix(th, "Step")
			hasFinal = hasFinal || strings.HasPrefix(th, "Llemma")
		}
		if hasFinal {
			final = append(final, sid)
			if hasStep {
				t.Errorf("session %s served both search steps and a final check: %v", sid, thys)
			}
			if want := []string{chalTheory, solTheory, cmpTheory}; !slices.Equal(thys, want) {
				t.Errorf("final-check session %s checked %v, want %v (the challenge alone first)", sid, thys, want)
			}
			if !slices.Contains(fs.sessionOpts[sid], "quick_and_dirty=false") {
				t.Errorf("final-check session %s started with options %v", sid, fs.sessionOpts[sid])
			}
			if !fs.sessionStopped[sid] {
				t.Errorf("final-check session %s was not stopped", sid)
			}
		}
		if hasStep {
			search = append(search, sid)
		}
	}
	if len(final) != 2 || len(search) != 1 {
		t.Errorf("%d final-check sessions, %d search sessions; want 2 and 1", len(final), len(search))
	}
	if files, _ := os.ReadDir(b.workDir); len(files) != 0 {
		t.Errorf("%d files left in the work dir", len(files))
	}
}

// The verdict parser on the recorded reply format: the real use_theories
// FINISHED of the fixture, with its one writeln message replaced by a
// verdict line (the replacement is the assumed part).
func TestReadVerdictOnRecordedFormat(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(fixtureDir(t), "use_theories"))
	if err != nil {
		t.Fatal(err)
	}
	var finished string
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, "FINISHED ") {
			finished = strings.TrimPrefix(line, "FINISHED ")
		}
	}
	const prefix = "llemma-verdict-00ff: "
	vline := prefix + `{"name":"LlemmaSolution.goal","found":true,"statement_matches":true,"prop":"\\<forall>x. \\<exists>y. x = y","oracles":[],"axioms":[],"hyps":0,"tpairs":0,"shyps":0}`
	q, _ := json.Marshal(vline)
	finished = strings.Replace(finished, `"theorem \\<forall>x. \\<exists>y. x = y"`, string(q), 1)
	finished = strings.ReplaceAll(finished, "Example", cmpTheory)
	var res useResult
	if err := json.Unmarshal([]byte(finished), &res); err != nil {
		t.Fatal(err)
	}
	if msg := nodeProblem(&res, cmpTheory); msg != "" {
		t.Fatalf("nodeProblem = %q", msg)
	}
	vd, err := readVerdict(&res, nil, prefix)
	if err != nil || !vd.Found || vd.Prop != `\<forall>x. \<exists>y. x = y` || vd.StatementMatches == nil || !*vd.StatementMatches {
		t.Fatalf("readVerdict = %+v, %v", vd, err)
	}
	// a verdict without the check's nonce, a second differing verdict,
	// unknown fields: all refused
	if _, err := readVerdict(&res, nil, "llemma-verdict-other: "); err == nil {
		t.Error("a verdict with another nonce was read")
	}
	note := Message{Name: "NOTE", Arg: `{"kind":"writeln","message":` + string(mustJSON(prefix+`{"name":"LlemmaSolution.goal","found":false}`)) + `,"task":"t"}`}
	if _, err := readVerdict(&res, []Message{note}, prefix); err == nil {
		t.Error("two different verdicts were accepted")
	}
	same := Message{Name: "NOTE", Arg: `{"kind":"writeln","message":` + string(q) + `,"task":"t"}`}
	if _, err := readVerdict(&res, []Message{same}, prefix); err != nil {
		t.Errorf("the same verdict as NOTE and node message: %v", err)
	}
	res.Nodes[0].Messages[0].Message = prefix + `{"name":"LlemmaSolution.goal","found":true,"verified":true}`
	if _, err := readVerdict(&res, nil, prefix); err == nil {
		t.Error("a verdict with an unknown field was accepted")
	}
}

func mustJSON(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

func TestJudge(t *testing.T) {
	t.Parallel()
	yes, no := true, false
	clean := verdict{Name: "LlemmaSolution.goal", Found: true, StatementMatches: &yes, Prop: "P"}
	req := prover.VerifyRequest{Name: "goal"}
	for _, tc := range []struct {
		name  string
		edit  func(*verdict)
		allow []string
		want  bool
		has   string
	}{
		{"clean", func(*verdict) {}, nil, true, ""},
		{"statement differs", func(v *verdict) { v.StatementMatches = &no }, nil, false, "statement differs"},
		{"statement not compared", func(v *verdict) { v.StatementMatches = nil }, nil, false, "statement differs"},
		{"sort hypothesis (empty class)", func(v *verdict) { v.Shyps = 1 }, nil, false, "sort hypotheses"},
		{"hypothesis", func(v *verdict) { v.Hyps = 1 }, nil, false, "conditional"},
		{"flex-flex pair", func(v *verdict) { v.Tpairs = 1 }, nil, false, "conditional"},
		{"verdict about another fact", func(v *verdict) { v.Name = "LlemmaSolution.other" }, nil, false, "not"},
		{"skip_proof even when listed", func(v *verdict) { v.Oracles = []string{SkipProofOracle} }, []string{SkipProofOracle}, false, SkipProofOracle},
		{"user oracle", func(v *verdict) { v.Oracles = []string{"LlemmaSolution.cheat"} }, nil, false, "LlemmaSolution.cheat"},
		{"allowed axiom", func(v *verdict) { v.Axioms = []string{"LlemmaSolution.type_definition_t"} }, []string{"LlemmaSolution.type_definition_t"}, true, ""},
	} {
		vd := clean
		tc.edit(&vd)
		var v prover.Verification
		r := req
		r.AllowAxioms = tc.allow
		judge(&v, vd, r, true)
		if v.Verified != tc.want || !strings.Contains(v.Message, tc.has) {
			t.Errorf("%s: Verified=%v Message=%q", tc.name, v.Verified, v.Message)
		}
	}
}

// The compare theory: what its ML asks, and that the names are plain.
func TestCompareTheory(t *testing.T) {
	t.Parallel()
	text := compareTheory("llemma-verdict-ab: ", "goal", "goal")
	for _, want := range []string{
		"imports LlemmaChallenge LlemmaSolution", `val sol_name = "LlemmaSolution.goal";`, `val chal_name = "LlemmaChallenge.goal";`,
		"Thm_Deps.all_oracles [sol]", "canon (Thm.prop_of chal) aconv canon prop", "Global_Theory.intern_fact thy sol_name = sol_name",
		"Defs.dest_constdefs [] (Theory.defs_of sol_thy)", "Thm.extra_shyps", "Thm.tpairs_of", "Proof_Context.init_global chal_thy",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("compare theory lacks %q:\n%s", want, text)
		}
	}
	if noChal := compareTheory("p: ", "goal", ""); strings.Contains(noChal, chalTheory) || !strings.Contains(noChal, "imports LlemmaSolution\n") {
		t.Errorf("compare theory without challenge:\n%s", noChal)
	}
	toks, err := ScanIsabelle(text)
	if err != nil || len(toks) == 0 {
		t.Errorf("the compare theory does not tokenise: %v", err)
	}
}

func TestVerifyChallengeAlteredAfterLoading(t *testing.T) {
	t.Parallel()
	b, _ := verifyBackend(t)
	chal := challenge(t, conjStmt)
	path := filepath.Join(t.TempDir(), "goal.thy")
	if err := os.WriteFile(path, []byte(chal.Header+"theorem goal:\n  \"A\"\n  sorry\n\nend\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	chal.Path = path
	file := b.Assemble(chal, []string{"apply (rule conjI)", "apply simp", "apply simp"})
	if v, err := b.Verify(ctx30(t), prover.VerifyRequest{Name: "goal", Challenge: &chal, Solution: file}); err != nil || v.Verified || !strings.Contains(v.Message, "benchmark file") {
		t.Errorf("Verify(tampered challenge) = %+v, %v", v, err)
	}
	if !bytes.Contains([]byte(file), []byte("done")) {
		t.Fatal("Assemble lost its closing")
	}
}
