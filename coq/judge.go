package coq

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// The final verdict on a Coq file is challenge vs solution
// (verification.md §2.3):
//
//  1. the challenge, the expected statement (header + statement +
//     Admitted.), is compiled alone by the harness as LlemmaChallenge.Problem
//     in a directory of its own: nothing the solution says can change how
//     it elaborates;
//  2. the solution, the user's whole file, is compiled as its own module
//     LlemmaSolution.Solution by a fresh coqc, sandboxed, in a fresh job
//     directory;
//  3. coqchk -o -norec re-checks the solution module with Coq's
//     independent checker and lists, by full path, every axiom it declares
//     and every guard, positivity or universe bypass;
//  4. a harness-written file Requires both modules without importing
//     their notations and defines llemma_check, typed by the challenge's
//     statement, as the solution's top-level constant: Coq's kernel then
//     decides that the statements agree (up to conversion), and Print
//     Assumptions llemma_check names the axioms the proof really uses.
//
// Helper lemmas, extra imports, comments, bullets and Proof using are all
// fine; a different statement, a shadowed name or a changed notation fails
// at step 4; an axiom of the file's own (Admitted included) fails at step
// 3 whatever it is named and however it prints.

const (
	challengeLib = "LlemmaChallenge" // logical root of the trusted challenge
	solutionLib  = "LlemmaSolution"  // logical root of the untrusted solution
	solutionMod  = solutionLib + ".Solution"
	challengeMod = challengeLib + ".Problem"

	markAssumptions = "@@llemma:assumptions@@"
	markEnd         = "@@llemma:end@@"
	markType        = "@@llemma:type@@"
)

// DefaultAllowedAxioms are, by full path, the standard library's axioms of
// classical real analysis that a miniF2F proof may use: the real numbers'
// construction, excluded middle, extensionality and proof irrelevance (all
// consistent with Coq's logic together).
var DefaultAllowedAxioms = []string{
	"Coq.Reals.ClassicalDedekindReals.sig_not_dec",
	"Coq.Reals.ClassicalDedekindReals.sig_forall_dec",
	"Coq.Logic.FunctionalExtensionality.functional_extensionality_dep",
	"Coq.Logic.Classical_Prop.classic",
	"Coq.Logic.PropExtensionality.propositional_extensionality",
	"Coq.Logic.ProofIrrelevance.proof_irrelevance",
	"Coq.Logic.Eqdep.Eq_rect_eq.eq_rect_eq",
	"Coq.Logic.ClassicalEpsilon.constructive_indefinite_description",
	"Coq.Logic.IndefiniteDescription.constructive_indefinite_description",
}

var identRE = regexp.MustCompile(`^[\p{L}_][\p{L}\p{N}_']*$`)

// Verify judges req.Solution: challenge vs solution, coqchk, axioms by
// full path. See the comment at the top of this file.
func (b *Backend) Verify(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	start := time.Now()
	v, err := b.judge(ctx, req)
	v.Elapsed = time.Since(start)
	return v, err
}

func reject(format string, args ...any) (prover.Verification, error) {
	return prover.Verification{Message: fmt.Sprintf(format, args...)}, nil
}

func (b *Backend) judge(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	if !identRE.MatchString(req.Name) {
		return reject("%q is not a Coq identifier", req.Name)
	}
	if _, err := ScanFile(req.Solution); err != nil {
		return prover.Verification{Refused: true, Message: err.Error()}, nil
	}
	var assumptions []string
	if c := req.Challenge; c != nil {
		if _, err := ScanFile(challengeText(*c)); err != nil {
			return prover.Verification{Refused: true, Message: "the statement to check against: " + err.Error()}, nil
		}
		assumptions = orderedAssumptions(c.Header)
	}
	if err := b.slots.Acquire(ctx, 1); err != nil {
		return prover.Verification{}, err
	}
	defer b.slots.Release(1)

	job, err := os.MkdirTemp(b.cfg.WorkDir, "llemma-verify-")
	if err != nil {
		return prover.Verification{}, fmt.Errorf("creating the job directory: %w", err)
	}
	defer os.RemoveAll(job)
	v := prover.Verification{Sandbox: b.sandboxStatus()}

	// 1 and 2: the challenge and the solution, each compiled alone.
	chalDir, msg, err := b.compileAlone(ctx, job, req)
	if err != nil || msg != "" {
		v.Message = msg
		return v, err
	}

	// 3 and 4, in parallel when a second checker slot is free: the kernel's list of the solution's
	// axioms and bypasses by full path, and the comparison with the axioms
	// the constant uses.
	cmpDir := filepath.Join(job, "Cmp")
	if err := os.Mkdir(cmpDir, 0o755); err != nil {
		return v, err
	}
	compare := compareFile(req.Name, req.Challenge != nil, assumptions, displayImports(req.Solution))
	if err := os.WriteFile(filepath.Join(cmpDir, "Compare.v"), []byte(compare), 0o644); err != nil {
		return v, err
	}
	argv := []string{b.cfg.Coqc, "-q", "-Q", "Sol", solutionLib}
	var ro []string
	if chalDir != "" {
		argv = append(argv, "-Q", chalDir, challengeLib)
		ro = append(ro, chalDir)
	}
	var (
		chkOut, out       string
		chkFailed, failed bool
		chkErr, err2      error
	)
	b.both(
		func() {
			chkOut, chkFailed, chkErr = b.tool(ctx, job, []string{b.cfg.Coqchk, "-o", "-norec", solutionMod, "-Q", "Sol", solutionLib}, []string{job})
		},
		func() {
			out, failed, err2 = b.tool(ctx, job, append(argv, "Cmp/Compare.v"), []string{job}, ro...)
		})
	if chkErr != nil {
		return v, chkErr
	}
	if err2 != nil {
		return v, err2
	}
	sum, perr := parseCheckSummary(chkOut)
	if chkFailed || perr != nil {
		v.Message = "coqchk rejected the compiled file: " + clip(lastLines(chkOut, 8), 800)
		if perr != nil && !chkFailed {
			v.Message = "coqchk: " + perr.Error()
		}
		return v, nil
	}
	if failed {
		v.Message = compareFailure(out, req.Name, assumptions)
		return v, nil
	}
	v.Constant = solutionMod + "." + req.Name
	assumText, typeText, ok := splitMarks(out)
	if !ok {
		v.Message = "the comparison printed no verdict"
		return v, nil
	}
	v.Type = typeOf(typeText)
	used, odd := parsePrintAssumptions(assumText)

	return b.decide(v, req, assumptions, sum, used, odd), nil
}

// compileAlone compiles the challenge (when there is one; cached) and the
// solution, each alone, in parallel when a second checker slot is free. It
// returns the challenge's directory, or the message of a rejection.
func (b *Backend) compileAlone(ctx context.Context, job string, req prover.VerifyRequest) (chalDir, msg string, err error) {
	solDir := filepath.Join(job, "Sol")
	if err := os.Mkdir(solDir, 0o755); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(solDir, "Solution.v"), []byte(req.Solution), 0o644); err != nil {
		return "", "", err
	}
	var (
		chalMsg   string
		chalErr   error
		solOut    string
		solFailed bool
		solErr    error
	)
	b.both(
		func() {
			if req.Challenge != nil {
				chalDir, chalMsg, chalErr = b.challenge(ctx, *req.Challenge)
			}
		},
		func() {
			solOut, solFailed, solErr = b.tool(ctx, job, []string{b.cfg.Coqc, "-q", "-Q", "Sol", solutionLib, "Sol/Solution.v"}, []string{job})
		})
	switch {
	case chalErr != nil:
		return "", "", chalErr
	case chalMsg != "":
		return "", chalMsg, nil
	case solErr != nil:
		return "", "", solErr
	case solFailed:
		return "", "coqc rejected the file: " + coqcError(solOut), nil
	}
	return chalDir, "", nil
}

// decide is the verdict on a solution that compiled, passed coqchk and
// the comparison: it declares no axiom but the problem's own assumptions,
// bypasses nothing, and uses only allowed axioms (resolved to the full
// paths of the kernel's list).
func (b *Backend) decide(v prover.Verification, req prover.VerifyRequest, assumptions []string, sum checkSummary, used, odd []string) prover.Verification {
	paired := map[string]bool{}
	for _, a := range assumptions {
		paired[solutionMod+"."+a] = true
	}
	allowed := map[string]bool{}
	for _, a := range b.cfg.AllowedAxioms {
		allowed[a] = true
	}
	for _, a := range req.AllowAxioms {
		allowed[a] = true
		if !strings.HasPrefix(a, solutionLib+".") {
			allowed[solutionMod+"."+a] = true
		}
	}
	var declared []string
	for _, a := range sum.axioms {
		if strings.HasPrefix(a, solutionLib+".") && !paired[a] && !allowed[a] {
			declared = append(declared, a)
		}
	}
	var disallowed []string
	for _, name := range used {
		full := resolveAxiom(name, sum.axioms)
		if len(full) == 0 {
			disallowed = append(disallowed, name+" (not in the kernel's axiom list)")
			continue
		}
		for _, f := range full {
			v.Axioms = append(v.Axioms, f)
			if !allowed[f] && !paired[f] {
				disallowed = append(disallowed, f)
			}
		}
	}
	v.Axioms = uniqSorted(v.Axioms)
	var bypass []string
	for _, sec := range sum.bypasses() {
		bypass = append(bypass, sec)
	}
	bypass = append(bypass, odd...)
	switch {
	case len(bypass) > 0:
		v.Disallowed = uniqSorted(append(disallowed, declared...))
		v.Message = "the file bypasses the kernel's checks: " + strings.Join(bypass, "; ")
	case len(declared) > 0:
		v.Disallowed = uniqSorted(append(disallowed, declared...))
		v.Message = "the file declares axioms of its own (an Admitted lemma is one): " + strings.Join(uniqSorted(declared), ", ")
		if req.Challenge == nil {
			v.Message += " (accept one with --allow-axiom NAME)"
		}
	case len(disallowed) > 0:
		v.Disallowed = uniqSorted(disallowed)
		v.Message = "uses axioms outside the allow-list: " + strings.Join(v.Disallowed, ", ")
	case !sum.predicative:
		v.Message = "coqchk reports an impredicative Set"
	default:
		v.Verified = true
	}
	return v
}

// challengeText is the trusted challenge file: the statement, unproved.
func challengeText(thm prover.Theorem) string {
	stmt := strings.TrimSpace(thm.Statement)
	if !strings.HasSuffix(stmt, ".") {
		stmt += "."
	}
	header := thm.Header
	if header != "" && !strings.HasSuffix(header, "\n") {
		header += "\n"
	}
	return header + stmt + "\nAdmitted.\n"
}

// challenge compiles (once per backend and statement) the challenge alone
// and returns its directory, or the reason it does not compile.
func (b *Backend) challenge(ctx context.Context, thm prover.Theorem) (dir, msg string, err error) {
	text := challengeText(thm)
	sum := sha256.Sum256([]byte(text))
	key := hex.EncodeToString(sum[:12])
	b.chalMu.Lock()
	if b.chalDirs == nil {
		b.chalDirs = map[string]*chalEntry{}
	}
	e := b.chalDirs[key]
	if e == nil {
		e = &chalEntry{}
		b.chalDirs[key] = e
	}
	b.chalMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.dir != "" || e.msg != "" {
		return e.dir, e.msg, nil
	}
	root, err := b.cacheRoot()
	if err != nil {
		return "", "", err
	}
	d := filepath.Join(root, key)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(filepath.Join(d, "Problem.v"), []byte(text), 0o644); err != nil {
		return "", "", err
	}
	out, failed, err := b.tool(ctx, d, []string{b.cfg.Coqc, "-q", "-Q", ".", challengeLib, "Problem.v"}, []string{d})
	if err != nil {
		return "", "", err
	}
	if failed {
		e.msg = fmt.Sprintf("the statement of %s does not compile on its own (give the header it needs): %s", thm.Name, clip(lastLines(out, 6), 600))
		return "", e.msg, nil
	}
	e.dir = d
	return d, "", nil
}

type chalEntry struct {
	mu       sync.Mutex
	dir, msg string
}

// cacheRoot is the backend's directory of compiled challenges, removed by
// Close.
func (b *Backend) cacheRoot() (string, error) {
	b.chalMu.Lock()
	defer b.chalMu.Unlock()
	if b.chalRoot == "" {
		d, err := os.MkdirTemp(b.cfg.WorkDir, "llemma-challenges-")
		if err != nil {
			return "", fmt.Errorf("creating the challenge cache: %w", err)
		}
		b.chalRoot = d
	}
	return b.chalRoot, nil
}

// orderedAssumptions lists, in order, the names a challenge header declares
// as axioms or parameters: the problem's own assumptions, which the
// solution must declare with the same names and types.
func orderedAssumptions(header string) []string {
	var names []string
	seen := map[string]bool{}
	sentences, _, _ := SplitSentences(header)
	for _, s := range sentences {
		m := assumptionDeclRE.FindStringSubmatch(s)
		if m == nil {
			continue
		}
		for _, n := range strings.Fields(strings.NewReplacer("(", " ", ")", " ").Replace(m[1])) {
			if identRE.MatchString(n) && !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
	}
	return names
}

// substituted is an Ltac expression that types a definition by the type of
// challenge constant c with the challenge's assumptions replaced by the
// solution's (in declaration order).
func substituted(c string, assumptions []string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "ltac:(let t := type of %s.%s in ", challengeMod, c)
	for _, a := range assumptions {
		// Only assumptions that occur are abstracted: abstracting a proof
		// (f_spec) that does not occur would leave a binder typed by the
		// challenge's f.
		fmt.Fprintf(&sb, "let t := lazymatch t with context [%[1]s.%[2]s] => let t := eval pattern %[1]s.%[2]s in t in lazymatch t with ?llemma_fn _ => eval cbv beta in (llemma_fn %[3]s.%[2]s) end | _ => t end in ",
			challengeMod, a, solutionMod)
	}
	sb.WriteString("exact t)")
	return sb.String()
}

// compareFile is the trusted third file. It imports no notation of either
// module while it decides; the display imports (standard library only)
// come after the verdict's output, for a readable type.
func compareFile(name string, withChallenge bool, assumptions, display []string) string {
	var sb strings.Builder
	sb.WriteString("Set Printing Width 1000.\n")
	if withChallenge {
		fmt.Fprintf(&sb, "Require %s.\n", challengeMod)
	}
	fmt.Fprintf(&sb, "Require %s.\n", solutionMod)
	target := solutionMod + "." + name
	if withChallenge {
		for i, a := range assumptions {
			fmt.Fprintf(&sb, "Definition llemma_assumption_%d : %s := %s.%s.\n", i, substituted(a, assumptions[:i]), solutionMod, a)
		}
		fmt.Fprintf(&sb, "Definition llemma_check : %s := %s.\n", substituted(name, assumptions), target)
		target = "llemma_check"
	}
	fmt.Fprintf(&sb, "Goal True. idtac %q. Abort.\n", markAssumptions)
	fmt.Fprintf(&sb, "Print Assumptions %s.\n", target)
	fmt.Fprintf(&sb, "Goal True. idtac %q. Abort.\n", markEnd)
	for _, lib := range display {
		fmt.Fprintf(&sb, "Require Import %s.\n", lib)
	}
	fmt.Fprintf(&sb, "Goal True. idtac %q. Abort.\n", markType)
	fmt.Fprintf(&sb, "Check %s.%s.\n", solutionMod, name)
	return sb.String()
}

// displayImports picks the standard-library modules whose notations make
// the printed type readable: those the solution names (they are Required
// after the verdict's output, so they cannot change it).
func displayImports(solution string) []string {
	var out []string
	for _, lib := range []struct{ word, module string }{
		{"Reals", "Coq.Reals.Reals"}, {"ZArith", "Coq.ZArith.ZArith"}, {"Arith", "Coq.Arith.Arith"}, {"QArith", "Coq.QArith.QArith"},
	} {
		if strings.Contains(solution, lib.word) {
			out = append(out, lib.module)
		}
	}
	return out
}

// both runs f and g, at once when a second checker slot is free (the one
// the verdict holds covers one of them), else one after the other.
func (b *Backend) both(f, g func()) {
	if !b.slots.TryAcquire(1) {
		f()
		g()
		return
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer b.slots.Release(1)
		f()
	}()
	g()
	<-done
}

// compareFailure explains a failed comparison.
func compareFailure(out, name string, assumptions []string) string {
	notFound := func(c string) bool {
		return strings.Contains(out, "reference "+solutionMod+"."+c+" was not found")
	}
	switch {
	case notFound(name):
		return fmt.Sprintf("the file has no top-level %s (a theorem inside a Module or Section, or under another name, does not count)", name)
	case strings.Contains(out, `The term "Solution.`+name+`" has type`) || strings.Contains(out, `The term "`+solutionMod+"."+name+`" has type`):
		return fmt.Sprintf("the file's %s does not have the statement it is checked against: %s", name, clip(squash(lastLines(out, 30)), 600))
	}
	for _, a := range assumptions {
		if notFound(a) {
			return fmt.Sprintf("the file does not declare the problem's assumption %s at top level", a)
		}
	}
	for _, a := range assumptions {
		if strings.Contains(out, `The term "Solution.`+a+`" has type`) {
			return fmt.Sprintf("the file declares the problem's assumption %s with another type: %s", a, clip(squash(lastLines(out, 30)), 600))
		}
	}
	return "comparing the file with the statement failed: " + clip(lastLines(out, 8), 800)
}

// splitMarks cuts the comparison's output at the harness's markers. The
// markers cannot be forged: Coq identifiers cannot contain '@'.
func splitMarks(out string) (assumptions, typ string, ok bool) {
	i := strings.Index(out, markAssumptions)
	e := strings.Index(out, markEnd)
	j := strings.Index(out, markType)
	if i < 0 || e < i || j < e {
		return "", "", false
	}
	return out[i+len(markAssumptions) : e], out[j+len(markType):], true
}

// typeOf reads `Check C.` output: "C\n     : TYPE".
func typeOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "\n"); i >= 0 {
		s = strings.TrimSpace(s[i+1:])
	}
	s = strings.TrimPrefix(s, ": ")
	return strings.Join(strings.Fields(s), " ")
}

// parsePrintAssumptions reads the output of Print Assumptions: the axiom
// names (column 0 under "Axioms:", types indented), and every other
// column-0 line (flag lines such as "loop is assumed to be guarded.",
// other sections) as odd: never allowed.
func parsePrintAssumptions(s string) (names, odd []string) {
	lines := strings.Split(strings.ReplaceAll(s, "\r", ""), "\n")
	inAxioms := false
	for _, l := range lines {
		if strings.TrimSpace(l) == "" || l[0] == ' ' || l[0] == '\t' {
			continue
		}
		switch {
		case l == "Closed under the global context":
			inAxioms = false
		case l == "Axioms:":
			inAxioms = true
		case inAxioms && !strings.HasSuffix(strings.TrimSpace(l), ":") && !strings.Contains(l, " is ") && !strings.Contains(l, " relies "):
			name := l
			if k := strings.Index(l, " :"); k >= 0 {
				name = l[:k]
			}
			names = append(names, strings.TrimSpace(name))
		default:
			inAxioms = false
			odd = append(odd, strings.TrimSpace(l))
		}
	}
	return names, odd
}

// resolveAxiom maps a name as Print Assumptions prints it (the shortest
// unambiguous suffix) to the kernel's full paths that end with it.
func resolveAxiom(name string, full []string) []string {
	var out []string
	for _, f := range full {
		if f == name || strings.HasSuffix(f, "."+name) {
			out = append(out, f)
		}
	}
	return out
}

// checkSummary is coqchk -o's CONTEXT SUMMARY.
type checkSummary struct {
	predicative bool
	axioms      []string            // full paths
	sections    map[string][]string // the bypass sections and their entries
	libraries   []string            // the "Ordered list" of loaded libraries
}

func (s checkSummary) bypasses() []string {
	var out []string
	var keys []string
	for k := range s.sections {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if len(s.sections[k]) > 0 {
			out = append(out, k+" "+strings.Join(s.sections[k], ", "))
		}
	}
	return out
}

var errNoSummary = errors.New("no CONTEXT SUMMARY in the output")

// parseCheckSummary reads coqchk -o output. It insists on the success line
// and on every section it knows; an unknown section is a bypass.
func parseCheckSummary(out string) (checkSummary, error) {
	s := checkSummary{sections: map[string][]string{}}
	if lib := strings.Index(out, "Ordered list:"); lib >= 0 {
		for _, l := range strings.Split(out[lib+len("Ordered list:"):], "\n")[1:] {
			if !strings.HasPrefix(l, "  ") || strings.TrimSpace(l) == "" {
				break
			}
			s.libraries = append(s.libraries, strings.TrimSpace(l))
		}
	}
	i := strings.Index(out, "CONTEXT SUMMARY")
	if i < 0 {
		return s, errNoSummary
	}
	if !strings.Contains(out[:i], "Modules were successfully checked") && !strings.Contains(out, "Modules were successfully checked") {
		return s, errors.New("coqchk did not report the modules checked")
	}
	var cur *[]string
	curName := ""
	for _, l := range strings.Split(out[i:], "\n") {
		t := strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(t, "* Theory:"):
			s.predicative = strings.Contains(t, "Set is predicative")
			cur = nil
		case strings.HasPrefix(t, "* "):
			head, rest, _ := strings.Cut(strings.TrimPrefix(t, "* "), ":")
			curName = head
			if head == "Axioms" {
				cur = &s.axioms
			} else {
				list := s.sections[head]
				s.sections[head] = list
				cur = nil
			}
			rest = strings.TrimSpace(rest)
			if rest != "" && rest != "<none>" {
				s.sections[head] = append(s.sections[head], rest)
			}
		case t == "" || strings.HasPrefix(t, "=") || t == "CONTEXT SUMMARY":
		case strings.HasPrefix(l, "    "):
			if cur != nil {
				*cur = append(*cur, t)
			} else if curName != "" {
				s.sections[curName] = append(s.sections[curName], t)
			}
		}
	}
	return s, nil
}

func uniqSorted(ss []string) []string {
	sort.Strings(ss)
	return slices.Compact(ss)
}

// coqcLocRE is the location line coqc prints before an error.
var coqcLocRE = regexp.MustCompile(`(?m)^File "[^"\n]*", line \d+, characters \d+-\d+:$`)

// coqcError is coqc's complaint for a message: the location line of the
// last error (which a long goal context would push out of the tail) and
// the last lines, where the error itself is.
func coqcError(out string) string {
	tail := lastLines(out, 8)
	locs := coqcLocRE.FindAllString(out, -1)
	if len(locs) > 0 && !strings.Contains(tail, locs[len(locs)-1]) {
		loc := locs[len(locs)-1]
		return loc + "\n" + clip(tail, 800-len(loc))
	}
	return clip(tail, 800)
}
