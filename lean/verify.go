package lean

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/sandbox"
	"github.com/llemma-prove/llemma-prove/prover"
)

// The final check (see VERIFY.md): challenge vs solution, each compiled by
// a fresh lean process in a job directory of its own, then a third,
// harness-written file that imports both and makes the kernel decide.
//
//	<job>/challenge/LlemmaChallenge.lean  header, then the statement with
//	                                      `sorry` inside namespace LlemmaChallenge
//	<job>/solution/LlemmaSolution.lean    the user's file, byte for byte
//	<job>/compare/LlemmaCompare.lean      imports both; llemma_same proves
//	                                      the two types equal by rfl, llemma_check
//	                                      is the challenge statement proved by
//	                                      the solution's _root_.NAME; #check and
//	                                      #print axioms between marker lines
//
// Each runs as `lean [-o DIR/M.olean] DIR/M.lean` with DIR as working
// directory (Lean names the module from the path under it) and LEAN_PATH
// set to the project's (from `lake env`) plus, for the compare file only,
// the two directories; through internal/proc.Run, under a Landlock policy
// that lets it write only DIR (see policy). The REPL pools are never used.

const (
	challengeModule = "LlemmaChallenge"
	solutionModule  = "LlemmaSolution"
	compareModule   = "LlemmaCompare"
)

const indent = "  "

// Assemble returns the complete file proving thm with proof: the header
// and statement byte for byte, then " := by" and one tactic per line,
// indented two spaces; continuation lines of a multi-line tactic keep their
// relative indentation, shifted by the same two spaces.
func (b *Backend) Assemble(thm prover.Theorem, proof []string) string {
	var sb strings.Builder
	sb.WriteString(thm.Header)
	sb.WriteString(thm.Statement)
	sb.WriteString(" := by\n")
	for _, t := range proof {
		for _, line := range strings.Split(t, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			sb.WriteString(indent)
			sb.WriteString(strings.TrimRight(line, " \t\r"))
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// Verify judges req.Solution, a whole Lean file, against the constant
// req.Name it must declare at the top level.
//
// The file is first scanned (ScanLean): anything that would run its own
// code at compile or import time, escape the kernel, reach the system or
// declare global syntax is refused before any process starts. Then, each
// in a fresh, sandboxed lean process: the challenge (req.Challenge's header and
// statement, proof `sorry`, inside namespace LlemmaChallenge) is compiled
// alone; the solution is compiled as module LlemmaSolution; and a
// harness-written compare file imports both and has the kernel check that
// _root_.NAME's type is the challenge's (up to definitional equality) and
// list, by full name, the axioms the proof depends on. Without a
// challenge the compare file reports the constant's type and axioms.
//
// Verified needs: no error and no sorry in the solution, the types equal,
// the top-level constant really named NAME, every axiom allowed (sorryAx
// never; Lean.ofReduceBool and Lean.trustCompiler only with
// AllowNativeDecide; others when in AllowedAxioms or req.AllowAxioms),
// and no axiom declared by the file itself.
func (b *Backend) Verify(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	start := time.Now()
	v, err := b.verify(ctx, req)
	v.Elapsed = time.Since(start)
	if v.Constant == "" {
		v.Constant = req.Name
	}
	return v, err
}

func (b *Backend) verify(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	var v prover.Verification
	if b.closed.Load() {
		return v, prover.ErrClosed
	}
	if !validLeanName(req.Name) {
		return v, fmt.Errorf("verifying: %q is not a plain Lean declaration name", req.Name)
	}
	scan := ScanLean(req.Solution)
	if len(scan.Refusals) > 0 {
		v.Refused = true
		v.Message = refusalMessage(scan.Refusals)
		v.Sandbox = "none: nothing was run"
		return v, nil
	}
	if req.Challenge != nil {
		if err := checkChallenge(*req.Challenge, req.Name); err != nil {
			return v, err
		}
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(b.life, func() { cancel(prover.ErrClosed) })
	defer stop()
	select {
	case b.verifySem <- struct{}{}:
	case <-ctx.Done():
		return v, fmt.Errorf("waiting for a final-check slot: %w", context.Cause(ctx))
	}
	defer func() { <-b.verifySem }()

	tc, err := b.toolchain(ctx)
	if err != nil {
		return v, err
	}
	if err := os.MkdirAll(b.cfg.WorkDir, 0o755); err != nil {
		return v, fmt.Errorf("creating the verification work directory: %w", err)
	}
	job, err := os.MkdirTemp(b.cfg.WorkDir, "llemma-lean-check-")
	if err != nil {
		return v, fmt.Errorf("creating a job directory: %w", err)
	}
	defer os.RemoveAll(job)
	j := &checkJob{b: b, tc: tc, dir: job}

	// 1. The challenge, alone: nothing of the solution exists yet.
	if req.Challenge != nil {
		out, err := j.compile(ctx, "challenge", challengeModule, challengeSource(*req.Challenge), true, nil, nil)
		if err != nil {
			return v, err
		}
		if msg := out.failure(); msg != "" {
			return v, fmt.Errorf("%w: the challenge %s does not compile on its own: %s", prover.ErrLoad, req.Name, msg)
		}
	}

	// 2. The solution, as its own module, in a fresh process.
	out, err := j.compile(ctx, "solution", solutionModule, req.Solution, true, nil, nil)
	if err != nil {
		return v, err
	}
	v.Sandbox = out.res.Sandbox
	if msg := out.failure(); msg != "" {
		v.Message = msg
		return v, nil
	}
	if m, ok := out.sorryWarning(); ok {
		v.Message = fmt.Sprintf("the file uses sorry (line %d: %s)", m.Line, m.Text)
		return v, nil
	}

	// 3. The compare file: harness-written, imports both, no notation of
	// the solution's is active in it (global syntax was refused above).
	nonce := newNonce()
	marks := []string{nonce + " check", nonce + " axioms", nonce + " end"}
	var deps []string
	if req.Challenge != nil {
		deps = append(deps, filepath.Join(job, "challenge"))
	}
	deps = append(deps, filepath.Join(job, "solution"))
	cmp, err := j.compile(ctx, "compare", compareModule, compareSource(req.Name, req.Challenge != nil, marks), false, deps, marks)
	if err != nil {
		return v, err
	}
	if msg := cmp.failure(); msg != "" {
		if req.Challenge != nil {
			v.Message = "the solution's " + req.Name + " does not prove the challenge: " + msg
		} else {
			v.Message = "checking " + req.Name + ": " + msg
		}
		return v, nil
	}
	sections := cmp.sections(marks)
	printed, typ, err := parseCheck(sections[marks[0]])
	if err != nil {
		v.Message = fmt.Sprintf("cannot read the type of %s: %v", req.Name, err)
		return v, nil
	}
	if printed != req.Name && printed != "_root_."+req.Name {
		v.Message = fmt.Sprintf("_root_.%s resolves to %s: the theorem must be declared at the top level as %s", req.Name, printed, req.Name)
		return v, nil
	}
	v.Type = typ
	audited := "llemma_check"
	if req.Challenge == nil {
		audited = req.Name
	}
	axioms, err := parseAxiomAudit(sections[marks[1]], audited)
	if err != nil {
		v.Message = fmt.Sprintf("cannot read the axiom audit: %v", err)
		return v, nil
	}
	v.Axioms = axioms
	return b.judgeAxioms(v, axioms, scan.Axioms, req.AllowAxioms), nil
}

// judgeAxioms applies the allow-list and the file's own axioms.
func (b *Backend) judgeAxioms(v prover.Verification, axioms, own, extra []string) prover.Verification {
	var sorry, native bool
	for _, a := range axioms {
		ok := false
		switch a {
		case "sorryAx":
			sorry = true
		case "Lean.ofReduceBool", "Lean.trustCompiler":
			ok = b.cfg.AllowNativeDecide
			native = native || !ok
		default:
			ok = slices.Contains(b.cfg.AllowedAxioms, a) || slices.Contains(extra, a)
		}
		if !ok {
			v.Disallowed = append(v.Disallowed, a)
		}
	}
	for _, a := range own {
		if !slices.Contains(v.Disallowed, a) {
			v.Disallowed = append(v.Disallowed, a)
		}
	}
	var why []string
	switch {
	case sorry:
		why = append(why, "the proof uses sorry")
	case native:
		why = append(why, "native_decide (Lean.ofReduceBool, Lean.trustCompiler) is not allowed")
	}
	if len(own) > 0 {
		why = append(why, "the file declares axioms: "+strings.Join(own, ", "))
	}
	if len(v.Disallowed) > 0 {
		why = append(why, "disallowed axioms: "+strings.Join(v.Disallowed, ", "))
		v.Message = strings.Join(why, "; ")
		return v
	}
	v.Verified = true
	return v
}

func refusalMessage(rs []Refusal) string {
	const shown = 3
	var parts []string
	for i, r := range rs {
		if i == shown {
			parts = append(parts, fmt.Sprintf("and %d more", len(rs)-shown))
			break
		}
		parts = append(parts, r.String())
	}
	return "refused before compiling: " + strings.Join(parts, "; ")
}

// validLeanName: dotted components of Lean identifier characters, no «»
// quoting, no _root_ (the verifier adds it).
func validLeanName(name string) bool {
	if name == "" || len(name) > 256 {
		return false
	}
	for _, c := range strings.Split(name, ".") {
		if c == "" || c == "_root_" {
			return false
		}
		for i, r := range c {
			if (i == 0 && !isIdFirst(r)) || (i > 0 && !isIdRest(r)) {
				return false
			}
		}
	}
	return true
}

// declNameRE finds the declared name at the start of a statement.
var declNameRE = regexp.MustCompile(`^\s*(?:theorem|lemma)\s+(\S+)`)

// checkChallenge refuses a challenge that the verifier cannot compile
// faithfully: another name, code the scanner refuses, or header
// declarations (both modules would declare them at the top level).
func checkChallenge(thm prover.Theorem, name string) error {
	m := declNameRE.FindStringSubmatch(thm.Statement)
	if m == nil || m[1] != name {
		return fmt.Errorf("%w: the challenge statement does not declare theorem %s", prover.ErrLoad, name)
	}
	if rs := ScanLean(thm.Header + thm.Statement).Refusals; len(rs) > 0 {
		return fmt.Errorf("%w: the challenge itself is refused: %s", prover.ErrLoad, rs[0])
	}
	if d := declaresConstants(thm.Header); len(d) > 0 {
		return fmt.Errorf("%w: the challenge header declares constants (%s); the Lean verifier compares statements whose header only imports, opens and sets options",
			prover.ErrLoad, strings.Join(d, ", "))
	}
	return nil
}

// challengeSource is the trusted challenge module: the header (imports
// first), then the statement proved by sorry inside LlemmaChallenge, so
// that both it and the solution's top-level constant can be imported by
// one file.
func challengeSource(thm prover.Theorem) string {
	h := thm.Header
	if h != "" && !strings.HasSuffix(h, "\n") {
		h += "\n"
	}
	return h + "\nnamespace " + challengeModule + "\n\n" + thm.Statement + " := by\n  sorry\n\nend " + challengeModule + "\n"
}

// compareSource is the trusted compare file. llemma_same makes the kernel
// decide that the two statements are definitionally equal; llemma_check
// then proves the challenge's statement with the solution's constant
// through Eq.mpr, so no coercion can stand in for an equal type; #check
// shows which constant _root_.NAME is and its type; #print axioms lists
// what the proof rests on.
func compareSource(name string, challenge bool, marks []string) string {
	var sb strings.Builder
	if challenge {
		sb.WriteString("import " + challengeModule + "\n")
	}
	sb.WriteString("import " + solutionModule + "\n\nset_option pp.fullNames true\n\n")
	audited := "_root_." + name
	if challenge {
		fmt.Fprintf(&sb, "theorem llemma_same : type_of%% @%s.%s = type_of%% @_root_.%s := rfl\n\n", challengeModule, name, name)
		fmt.Fprintf(&sb, "theorem llemma_check : type_of%% @%s.%s := Eq.mpr llemma_same @_root_.%s\n\n", challengeModule, name, name)
		audited = "llemma_check"
	}
	fmt.Fprintf(&sb, "#print %q\n#check (@_root_.%s)\n#print %q\n#print axioms %s\n#print %q\n", marks[0], name, marks[1], audited, marks[2])
	return sb.String()
}

func newNonce() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "llemma-" + hex.EncodeToString(b)
}

// checkJob is one final check's job directory and toolchain.
type checkJob struct {
	b   *Backend
	tc  toolchain
	dir string
}

// leanOutput is one lean run and its parsed messages.
type leanOutput struct {
	path  string // the .lean file, as lean names it in messages
	olean string // expected product, "" when none
	res   toolResult
	msgs  []cliMessage
	lines []string
	limit time.Duration
}

// compile writes src as <job>/<sub>/<module>.lean and runs lean on it in
// that directory, with -o <module>.olean when emit is set. deps are olean
// directories searched before the project's.
func (j *checkJob) compile(ctx context.Context, sub, module, src string, emit bool, deps, marks []string) (leanOutput, error) {
	dir := filepath.Join(j.dir, sub)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return leanOutput{}, fmt.Errorf("creating %s: %w", dir, err)
	}
	file := filepath.Join(dir, module+".lean")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		return leanOutput{}, fmt.Errorf("writing %s: %w", file, err)
	}
	out := leanOutput{path: file, limit: j.b.cfg.CompileTimeout}
	var args []string
	if emit {
		out.olean = filepath.Join(dir, module+".olean")
		args = append(args, "-o", out.olean)
	}
	args = append(args, file)
	leanPath := append(slices.Clone(deps), j.tc.leanPath...)
	env := []string{"LEAN_PATH=" + strings.Join(leanPath, string(os.PathListSeparator))}
	if j.tc.sysroot != "" {
		env = append(env, "LEAN_SYSROOT="+j.tc.sysroot)
	}
	if j.tc.ldPath != "" {
		env = append(env, "LD_LIBRARY_PATH="+j.tc.ldPath)
	}
	env = append(env, j.b.cfg.Env...)
	j.b.compiles.Add(1)
	res, err := runTool(ctx, toolRun{
		Name:        "lean (" + sub + ")",
		Path:        j.tc.lean,
		Args:        args,
		Dir:         dir,
		Env:         env,
		Timeout:     j.b.cfg.CompileTimeout,
		MemoryLimit: j.b.cfg.MemoryLimit,
		Sandbox:     j.policy(dir, leanPath),
	})
	if err != nil {
		return leanOutput{}, fmt.Errorf("running lean on the %s: %w", sub, err)
	}
	out.res = res
	out.msgs, out.lines = parseCLI(res.Stdout, file, marks)
	return out, nil
}

// policy confines one lean run: it reads the system, the toolchain (the
// lean binary's own directory too, when it is a symlink), the project, its
// LEAN_PATH and Config.Readable; it writes only dir, its own directory in
// the job; no network.
func (j *checkJob) policy(dir string, leanPath []string) *sandbox.Policy {
	ro := append(sandbox.SystemReadOnly(), j.tc.sysroot, filepath.Dir(j.tc.lean))
	for _, p := range []string{j.tc.lean, j.tc.sysroot} {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			ro = append(ro, filepath.Dir(r), r)
		}
	}
	if j.b.cfg.Project != "" {
		ro = append(ro, j.b.cfg.Project)
	}
	ro = append(append(ro, leanPath...), j.b.cfg.Readable...)
	rw := append([]string{dir}, j.b.testWritable...)
	return &sandbox.Policy{ReadOnly: ro, ReadWrite: rw, NoNetwork: true, Required: j.b.cfg.RequireSandbox}
}

// failure says why a run failed ("" when it did not): a timeout, an
// error message, a nonzero exit, a missing olean.
func (o leanOutput) failure() string {
	switch {
	case o.res.TimedOut:
		return fmt.Sprintf("lean timed out after %v and was killed", o.limit)
	case o.res.Overflow:
		return "lean printed more than 8 MiB and was killed"
	}
	for _, m := range o.msgs {
		if m.Severity == "error" {
			return fmt.Sprintf("lean error at line %d: %s", m.Line, m.Text)
		}
	}
	if o.res.Exit != 0 {
		msg := fmt.Sprintf("lean exited with status %d", o.res.Exit)
		if o.res.StderrTail != "" {
			msg += ": " + o.res.StderrTail
		}
		return msg
	}
	if o.olean != "" {
		if _, err := os.Stat(o.olean); err != nil {
			return "lean reported success but wrote no " + filepath.Base(o.olean)
		}
	}
	return ""
}

// sorryWarning finds Lean's "declaration uses `sorry`" warning (quoted
// 'sorry' by older toolchains).
func (o leanOutput) sorryWarning() (cliMessage, bool) {
	for _, m := range o.msgs {
		if m.Severity == "warning" && strings.Contains(m.Text, "declaration uses") && strings.Contains(m.Text, "sorry") {
			return m, true
		}
	}
	return cliMessage{}, false
}

// sections returns the text printed between each marker line and the
// next (messages with a position excluded).
func (o leanOutput) sections(marks []string) map[string]string {
	out := map[string]string{}
	cur := ""
	var sb strings.Builder
	flush := func() {
		if cur != "" {
			out[cur] = strings.TrimSpace(sb.String())
		}
		sb.Reset()
	}
	for _, l := range o.lines {
		if slices.Contains(marks, l) {
			flush()
			cur = l
			continue
		}
		if cur != "" {
			sb.WriteString(l)
			sb.WriteByte('\n')
		}
	}
	flush()
	return out
}

// cliMessage is one positioned message of the lean command line:
// "FILE:LINE:COL: error: TEXT" (warning likewise; newer toolchains add
// "-ENDLINE:ENDCOL" and an error name, "error(lean.unknownIdentifier):").
// Information messages (#check, #print) carry no position: Lean prints
// their text alone (src/Lean/Message.lean, SerialMessage.toString).
type cliMessage struct {
	Severity string // "error" or "warning"
	Line     int
	Col      int
	Text     string
}

var cliMsgRE = regexp.MustCompile(`^(\d+):(\d+)(?:-\d+:\d+)?: (error|warning)(?:\([^)]*\))?:(?: (.*))?$`)

// parseCLI splits lean's stdout into positioned messages for file (each
// with its continuation lines, up to the next message or marker line) and
// the other lines (information messages and markers).
func parseCLI(stdout, file string, marks []string) ([]cliMessage, []string) {
	var msgs []cliMessage
	var plain []string
	cur := -1
	for _, line := range strings.Split(strings.TrimRight(stdout, "\n"), "\n") {
		if rest, ok := strings.CutPrefix(line, file+":"); ok {
			if m := cliMsgRE.FindStringSubmatch(rest); m != nil {
				ln, _ := strconv.Atoi(m[1])
				col, _ := strconv.Atoi(m[2])
				msgs = append(msgs, cliMessage{Severity: m[3], Line: ln, Col: col, Text: m[4]})
				cur = len(msgs) - 1
				continue
			}
		}
		if slices.Contains(marks, line) {
			cur = -1
		}
		if cur >= 0 {
			if len(msgs[cur].Text) < 4<<10 {
				msgs[cur].Text += "\n" + line
			}
			continue
		}
		plain = append(plain, line)
	}
	for i := range msgs {
		msgs[i].Text = strings.TrimSpace(msgs[i].Text)
	}
	return msgs, plain
}

// parseCheck reads `#check (@_root_.NAME)`'s output "[@]NAME : TYPE".
func parseCheck(text string) (name, typ string, err error) {
	head, typ, ok := strings.Cut(strings.TrimSpace(text), " : ")
	if !ok || head == "" {
		return "", "", fmt.Errorf("unexpected #check output %q", head)
	}
	return strings.TrimPrefix(head, "@"), strings.TrimSpace(typ), nil
}

// parseAxiomAudit reads `#print axioms NAME`: "'NAME' depends on axioms:
// [a, b, c]" (the list may wrap over lines) or "'NAME' does not depend on
// any axioms". Anything else is an error: the audit fails closed.
func parseAxiomAudit(text, name string) ([]string, error) {
	t := strings.TrimSpace(text)
	if t == "'"+name+"' does not depend on any axioms" {
		return []string{}, nil
	}
	rest, ok := strings.CutPrefix(t, "'"+name+"' depends on axioms:")
	if !ok {
		return nil, fmt.Errorf("#print axioms %s printed %q", name, head([]byte(t), 200))
	}
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "[") || !strings.HasSuffix(rest, "]") || strings.Count(rest, "[") != 1 || strings.Count(rest, "]") != 1 {
		return nil, fmt.Errorf("cannot read the axiom list %q", head([]byte(rest), 200))
	}
	var out []string
	for _, a := range strings.Split(rest[1:len(rest)-1], ",") {
		a = strings.TrimSpace(a)
		if a == "" || strings.ContainsAny(a, " \t\n") {
			return nil, fmt.Errorf("cannot read the axiom list %q", head([]byte(rest), 200))
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, errors.New("an empty axiom list")
	}
	return out, nil
}
