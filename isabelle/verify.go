package isabelle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// The final check is challenge vs solution (see VERIFY.md):
//
//  1. the challenge (header + statement + sorry) is loaded alone, as
//     theory LlemmaChallenge, by its own use_theories;
//  2. the solution, refused first if RefuseSolution says so, is loaded as
//     theory LlemmaSolution (its header renamed);
//  3. LlemmaCompare, written here, imports both and reports in one writeln
//     line, built in ML: whether the theory-level fact LlemmaSolution.NAME
//     exists, whether its proposition is the challenge's (aconv, up to
//     renaming of schematic variables), its oracles (Thm_Deps.all_oracles),
//     the solution theory's new non-definitional axioms, and its hypotheses.
//
// All three run in a session started for this check alone (quick_and_dirty
// off) and stopped afterwards, in a fresh job directory.

const (
	chalTheory = "LlemmaChallenge"
	solTheory  = "LlemmaSolution"
	cmpTheory  = "LlemmaCompare"

	// SkipProofOracle is the oracle behind sorry and quick_and_dirty
	// (Pure/skip_proof.ML); it is never allowed, whatever AllowAxioms says.
	SkipProofOracle = "Pure.skip_proof"
	// EvalOracle is the code generator's evaluation oracle (by eval, the
	// approximation method). It is rejected unless AllowAxioms names it.
	EvalOracle = "Code_Generator.holds_by_evaluation"
)

// finalOptions are added to session_start for a final check, after the
// configured options so they win.
var finalOptions = []string{"quick_and_dirty=false", "skip_proofs=false"}

var identRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_']*$`)

// verdict is the JSON the compare theory's ML prints.
type verdict struct {
	Name             string   `json:"name"`
	Found            bool     `json:"found"`
	StatementMatches *bool    `json:"statement_matches"`
	Prop             string   `json:"prop"`
	Oracles          []string `json:"oracles"`
	Axioms           []string `json:"axioms"`
	Hyps             int      `json:"hyps"`
	Tpairs           int      `json:"tpairs"`
	Shyps            int      `json:"shyps"`
}

// Verify judges req.Solution: refusal by token scan, then challenge vs
// solution in a fresh session, the verdict read from the compare theory's
// ML. Without a Challenge it reports what the file proves (the theorem's
// full name, its proposition, its oracles and axioms) and verifies it
// only when none is disallowed.
func (b *Backend) Verify(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	return b.verify(ctx, req, true)
}

// verify is Verify; scan false skips the token scan (tests of the
// defence behind it only).
func (b *Backend) verify(ctx context.Context, req prover.VerifyRequest, scan bool) (prover.Verification, error) {
	start := time.Now()
	v := prover.Verification{Sandbox: b.sandboxNote()}
	done := func(msg string) (prover.Verification, error) {
		v.Message = msg
		v.Elapsed = time.Since(start)
		return v, nil
	}
	fail := func(err error) (prover.Verification, error) {
		v.Elapsed = time.Since(start)
		return v, err
	}
	if !identRE.MatchString(req.Name) {
		return done(fmt.Sprintf("theorem name %q is not a plain Isabelle name", req.Name))
	}
	if scan {
		if r := RefuseSolution(req.Solution); r != nil {
			v.Refused = true
			return done("refused before checking: " + r.Error())
		}
	}
	solText, solImports, err := renameSolution(req.Solution)
	if err != nil {
		v.Refused = true
		return done("refused before checking: " + err.Error())
	}
	var chalText, chalName string
	sessName := b.cfg.Session
	if b.cfg.SessionFor != nil {
		if s := b.cfg.SessionFor(solImports); s != "" {
			sessName = s
		}
	}
	if c := req.Challenge; c != nil {
		chalName = c.Name
		if chalName == "" {
			chalName = req.Name
		}
		if !identRE.MatchString(chalName) {
			return fail(fmt.Errorf("%w: challenge name %q is not a plain Isabelle name", prover.ErrLoad, chalName))
		}
		if msg := challengeMatchesFile(*c); msg != "" {
			return done(msg)
		}
		h, err := renameTheory(c.Header, chalTheory)
		if err != nil {
			return fail(fmt.Errorf("%w: challenge %s: %v", prover.ErrLoad, chalName, err))
		}
		chalText = h + c.Statement + "\n  sorry\n\nend\n"
		sessName = b.sessionFor(*c)
	}
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	prefix := "llemma-verdict-" + hex.EncodeToString(nonce) + ": "
	cmpText := compareTheory(prefix, req.Name, chalName)

	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.VerifyTimeout)
		defer cancel()
	}
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return fail(context.Cause(ctx))
	}
	defer func() { <-b.sem }()

	dir, err := os.MkdirTemp(b.workDir, "verify-")
	if err != nil {
		return fail(fmt.Errorf("creating the job dir: %w", err))
	}
	defer os.RemoveAll(dir)
	files := map[string]string{solTheory: solText, cmpTheory: cmpText}
	if chalText != "" {
		files[chalTheory] = chalText
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name+".thy"), []byte(text), 0o644); err != nil {
			return fail(fmt.Errorf("writing %s.thy: %w", name, err))
		}
	}

	c, _, err := b.ensure(ctx)
	if err != nil {
		return fail(fmt.Errorf("final check of %s: %w", req.Name, err))
	}
	v.Sandbox = b.sandboxNote() // the server that checks: what confines it
	// a session for this check alone: nothing a search did survives in it
	sid, err := b.startSession(ctx, c, sessName, finalOptions)
	if err != nil {
		return fail(fmt.Errorf("final check of %s: %w", req.Name, err))
	}
	defer func() {
		if c.Err() == nil {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.CancelGrace)
			_, _ = c.Run(sctx, "session_stop", map[string]string{"session_id": sid}, nil)
			cancel()
		}
	}()
	use := func(name string) (*useResult, []Message, error) {
		dl, _ := ctx.Deadline()
		budget := time.Until(dl) - b.cfg.CancelGrace
		if budget <= 0 {
			return nil, nil, fmt.Errorf("%w: %v left of the final check's budget, not more than the %v cancel grace", errTimeout, time.Until(dl).Round(time.Millisecond), b.cfg.CancelGrace)
		}
		var mu sync.Mutex
		var notes []Message
		res, err := b.runUse(ctx, c, sid, dir, name, budget, false, func(m Message) {
			mu.Lock()
			notes = append(notes, m)
			mu.Unlock()
		})
		mu.Lock()
		defer mu.Unlock()
		return res, append([]Message(nil), notes...), err
	}
	timedOut := func(err error) bool { return errors.Is(err, errTimeout) }

	if chalText != "" {
		res, _, err := use(chalTheory)
		if timedOut(err) {
			return done("final check timed out loading the challenge: " + err.Error())
		}
		if err != nil {
			return fail(fmt.Errorf("final check of %s: loading the challenge: %w", req.Name, err))
		}
		if msg := nodeProblem(res, chalTheory); msg != "" {
			return fail(fmt.Errorf("%w: challenge %s does not load: %s", prover.ErrLoad, chalName, msg))
		}
	}
	res, _, err := use(solTheory)
	var tf *TaskFailed
	switch {
	case timedOut(err):
		return done("final check timed out loading the solution: " + err.Error())
	case errors.As(err, &tf) && ctx.Err() == nil:
		return done("the solution does not load: " + tf.Message)
	case err != nil:
		return fail(fmt.Errorf("final check of %s: loading the solution: %w", req.Name, err))
	}
	if msg := nodeProblem(res, solTheory); msg != "" {
		return done("the solution does not check: " + msg)
	}
	res, notes, err := use(cmpTheory)
	if timedOut(err) {
		return done("final check timed out comparing: " + err.Error())
	}
	if err != nil {
		return fail(fmt.Errorf("final check of %s: comparing: %w", req.Name, err))
	}
	if msg := nodeProblem(res, cmpTheory); msg != "" {
		return done("the comparison failed: " + msg)
	}
	vd, err := readVerdict(res, notes, prefix)
	if err != nil {
		return done(err.Error())
	}
	judge(&v, vd, req, chalText != "")
	v.Elapsed = time.Since(start)
	return v, nil
}

// judge fills v from the verdict.
func judge(v *prover.Verification, vd verdict, req prover.VerifyRequest, withChallenge bool) {
	want := solTheory + "." + req.Name
	if vd.Name != want {
		v.Message = fmt.Sprintf("verdict is about %q, not %q", vd.Name, want)
		return
	}
	if !vd.Found {
		v.Message = fmt.Sprintf("the solution has no theory-level theorem %s (a theorem inside a locale, context or bundle block has another name)", want)
		return
	}
	v.Constant, v.Type = want, vd.Prop
	allowed := map[string]bool{}
	for _, a := range req.AllowAxioms {
		allowed[a] = true
	}
	seen := map[string]bool{}
	for _, a := range append(append([]string(nil), vd.Oracles...), vd.Axioms...) {
		if seen[a] {
			continue
		}
		seen[a] = true
		v.Axioms = append(v.Axioms, a)
		if a == SkipProofOracle || !allowed[a] {
			v.Disallowed = append(v.Disallowed, a)
		}
	}
	sort.Strings(v.Axioms)
	sort.Strings(v.Disallowed)
	var why []string
	if withChallenge && (vd.StatementMatches == nil || !*vd.StatementMatches) {
		why = append(why, "llemma: statement differs from the challenge's")
	}
	if len(v.Disallowed) > 0 {
		why = append(why, "depends on disallowed oracles or axioms: "+strings.Join(v.Disallowed, ", "))
	}
	if vd.Hyps != 0 || vd.Tpairs != 0 || vd.Shyps != 0 {
		why = append(why, fmt.Sprintf("the theorem is conditional (%d hypotheses, %d flex-flex pairs, %d sort hypotheses)", vd.Hyps, vd.Tpairs, vd.Shyps))
	}
	if len(why) > 0 {
		v.Message = strings.Join(why, "; ")
		return
	}
	v.Verified = true
	if !withChallenge {
		v.Message = "no challenge given: this is what the file proves"
	}
}

// nodeProblem says what is wrong with theory name's result, or "".
func nodeProblem(res *useResult, name string) string {
	var errs []string
	for _, m := range allMessages(res, name) {
		if m.Kind == "error" {
			line := ""
			if m.Pos != nil {
				line = fmt.Sprintf("line %d: ", m.Pos.Line)
			}
			errs = append(errs, line+m.Message)
		}
	}
	n := res.node(name)
	switch {
	case !res.OK || len(res.Errors) > 0 || len(errs) > 0:
		return "errors: " + clip(strings.Join(errs, "\n"), 1000)
	case n == nil:
		return "no result node for theory " + name
	case !n.Status.Consolidated || n.Status.Failed != 0 || !n.Status.OK || n.Status.Canceled:
		return fmt.Sprintf("theory %s not consolidated cleanly (consolidated=%v failed=%d ok=%v canceled=%v)", name, n.Status.Consolidated, n.Status.Failed, n.Status.OK, n.Status.Canceled)
	}
	return ""
}

// readVerdict finds the one verdict line of the compare theory, in its
// node's messages or the task's writeln NOTEs.
func readVerdict(res *useResult, notes []Message, prefix string) (verdict, error) {
	var texts []string
	add := func(kind, msg string) {
		if kind != "writeln" || !strings.HasPrefix(msg, prefix) {
			return
		}
		t := strings.TrimPrefix(msg, prefix)
		for _, s := range texts {
			if s == t {
				return
			}
		}
		texts = append(texts, t)
	}
	if n := res.node(cmpTheory); n != nil {
		for _, m := range n.Messages {
			add(m.Kind, m.Message)
		}
	}
	for _, nm := range notes {
		var m isaMessage
		if nm.Decode(&m) == nil {
			add(m.Kind, m.Message)
		}
	}
	if len(texts) != 1 {
		return verdict{}, fmt.Errorf("the comparison printed %d verdicts, want exactly 1", len(texts))
	}
	var vd verdict
	dec := json.NewDecoder(strings.NewReader(texts[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&vd); err != nil {
		return verdict{}, fmt.Errorf("cannot read the comparison's verdict: %v", err)
	}
	if dec.More() {
		return verdict{}, errors.New("cannot read the comparison's verdict: trailing data")
	}
	return vd, nil
}

// challengeMatchesFile re-reads the benchmark file a challenge came from,
// when there is one, and reports a challenge that was altered after loading.
func challengeMatchesFile(c prover.Theorem) string {
	if c.Path == "" {
		return ""
	}
	src, err := os.ReadFile(c.Path)
	if err != nil {
		return ""
	}
	orig, err := ParseTheorem(c.Name, string(src))
	if err != nil {
		return fmt.Sprintf("benchmark file %s: %v", c.Path, err)
	}
	if orig.Header != c.Header || orig.Statement != c.Statement {
		return "the challenge differs from its benchmark file " + c.Path
	}
	return ""
}

// renameSolution renames the solution's theory to LlemmaSolution and
// returns its imports. The header was validated by RefuseSolution.
func renameSolution(src string) (string, string, error) {
	toks, err := ScanIsabelle(src)
	if err != nil {
		return "", "", err
	}
	var sig []Token
	for _, t := range toks {
		if t.Kind != TokSpace && t.Kind != TokComment {
			sig = append(sig, t)
		}
	}
	for i, t := range sig {
		if t.Kind != TokWord || t.Text != "theory" {
			continue
		}
		if i+2 >= len(sig) || sig[i+1].Kind != TokWord || sig[i+2].Text != "imports" {
			break
		}
		name := sig[i+1]
		var imports string
		for j := i + 3; j < len(sig); j++ {
			if sig[j].Kind == TokWord && sig[j].Text == "begin" {
				imports = strings.TrimSpace(src[sig[i+2].Pos+len("imports") : sig[j].Pos])
				break
			}
		}
		return src[:name.Pos] + solTheory + src[name.Pos+len(name.Text):], imports, nil
	}
	return "", "", fmt.Errorf("%w: no `theory NAME imports ... begin` header", ErrParse)
}

// compareTheory is the harness-written theory that judges the solution.
// The ML was written against these Isabelle sources (seL4/isabelle and
// the Isabelle implementation manual, 2021-2025 era):
//   - Pure/thm_deps.ML: Thm_Deps.all_oracles : thm list -> Proofterm.oracle
//     list, transitive over the derivation; an oracle is
//     (name * position) * prop option (Pure/proofterm.ML, type oracle);
//     sorry is Pure.skip_proof (Pure/skip_proof.ML);
//   - Pure/global_theory.ML: intern_fact, defined_fact, get_thm;
//   - Pure/theory.ML: parents_of, all_axioms_of, defs_of;
//   - Pure/defs.ML: Defs.dest_constdefs [] defs lists (constant, axiom)
//     for the definitional axioms (used so by AFP Independence_CH,
//     Roadmap.thy), so definitions are not counted as axioms;
//   - Pure/thm.ML: hyps_of, tpairs_of, strip_shyps, extra_shyps (the
//     implementation manual documents extra_shyps : thm -> sort list);
//   - Pure/term.ML: add_tvars, add_vars, subst_TVars, subst_Vars, aconv.
//
// Any ML that does not compile on the server's Isabelle is an error in
// this theory, so the check fails closed.
func compareTheory(prefix, name, chalName string) string {
	imports := solTheory
	if chalName != "" {
		imports = chalTheory + " " + solTheory
	}
	var chal string
	if chalName != "" {
		chal = fmt.Sprintf(`
        val chal_name = %s;
        val chal_thy =
          (case filter (defines chal_name) parents of
            [t] => t
          | _ => error "llemma: the challenge theorem is missing");
        val chal = Global_Theory.get_thm thy chal_name;
        val matches = canon (Thm.prop_of chal) aconv canon prop;
        val print_ctxt = Proof_Context.init_global chal_thy;
        val match_field = ["\"statement_matches\":" ^ jbool matches];`, mlString(chalTheory+"."+chalName))
	} else {
		chal = `
        val print_ctxt = Proof_Context.init_global (List.last (Theory.parents_of sol_thy));
        val match_field = [];`
	}
	return fmt.Sprintf(`theory %s
  imports %s
begin

ML \<open>
val _ =
  let
    val thy = @{theory};
    val prefix = %s;
    val sol_name = %s;
    fun esc s = String.translate (fn c =>
      if c = #"\"" then "\\\"" else if c = #"\\" then "\\\\"
      else if Char.ord c < 32 orelse Char.ord c = 127
      then "\\u" ^ StringCvt.padLeft #"0" 4 (Int.fmt StringCvt.HEX (Char.ord c))
      else String.str c) s;
    fun jstr s = "\"" ^ esc s ^ "\"";
    fun jlist xs = "[" ^ space_implode "," (map jstr xs) ^ "]";
    fun jbool b = if b then "true" else "false";
    fun jint i = string_of_int i;
    fun report fields = writeln (prefix ^ "{" ^ space_implode "," fields ^ "}");
    (*schematic variables renamed by first occurrence: equal up to renaming compares equal*)
    fun canon t =
      let
        val tvs = rev (Term.add_tvars t []);
        val t1 = Term.subst_TVars (map_index (fn (i, (xi, S)) =>
          (xi, TVar (("'t" ^ string_of_int i, 0), S))) tvs) t;
        val vs = rev (Term.add_vars t1 []);
      in Term.subst_Vars (map_index (fn (i, (xi, T)) => (xi, Var (("v" ^ string_of_int i, 0), T))) vs) t1 end;
    fun defines fact t = Global_Theory.defined_fact t fact;
    val parents = Theory.parents_of thy;
    val sol_thys = filter (defines sol_name) parents;
    val found = length sol_thys = 1 andalso Global_Theory.intern_fact thy sol_name = sol_name;
  in
    if not found then report ["\"name\":" ^ jstr sol_name, "\"found\":false"]
    else
      let
        val sol_thy = hd sol_thys;
        val sol = Global_Theory.get_thm thy sol_name;
        val prop = Thm.prop_of sol;%s
        val printed =
          YXML.content_of (Syntax.string_of_term print_ctxt prop)
            handle ERROR _ => YXML.content_of (Syntax.string_of_term (Proof_Context.init_global sol_thy) prop);
        val oracles = distinct (op =) (map (fn ((n, _), _) => n) (Thm_Deps.all_oracles [sol]));
        val inherited = fold Symtab.update (maps Theory.all_axioms_of (Theory.parents_of sol_thy)) Symtab.empty;
        val defs = fold (fn (_, d) => Symtab.update (d, ())) (Defs.dest_constdefs [] (Theory.defs_of sol_thy)) Symtab.empty;
        val axioms = Theory.all_axioms_of sol_thy
          |> filter_out (fn (n, t) => (case Symtab.lookup inherited n of SOME t' => t aconv t' | NONE => false))
          |> filter_out (fn (n, _) => Symtab.defined defs n)
          |> map #1 |> distinct (op =);
      in
        report (["\"name\":" ^ jstr sol_name, "\"found\":true"] @ match_field @
          ["\"prop\":" ^ jstr printed, "\"oracles\":" ^ jlist oracles, "\"axioms\":" ^ jlist axioms,
           "\"hyps\":" ^ jint (length (Thm.hyps_of sol)),
           "\"tpairs\":" ^ jint (length (Thm.tpairs_of sol)),
           "\"shyps\":" ^ jint (length (Thm.extra_shyps (Thm.strip_shyps sol)))])
      end
  end;
\<close>

end
`, cmpTheory, imports, mlString(prefix), mlString(solTheory+"."+name), chal)
}

// mlString quotes s as an ML string literal; s is a harness-made name or
// prefix (letters, digits, _, ', ., :, -, space), so only \ and " need care.
func mlString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
