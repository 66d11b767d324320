package lean

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llemma-prove/llemma-prove/internal/sandbox"
	"github.com/llemma-prove/llemma-prove/prover"
)

// The final check against the lake/lean double (toolchain_test.go).

var demoChallenge = prover.Theorem{
	Name: "llemma_demo", Backend: "lean", Header: minif2fHeader,
	Statement: "theorem llemma_demo (x : ℝ) (h₀ : x = 2) :\n  x + 1 = 3",
}

// demoType is the double's elaborated type of demoChallenge.
const demoType = "∀ (x : ℝ) (h₀ : x = 2), x + 1 = 3"

func newCheckBackend(t testing.TB, mod func(*Config)) (*Backend, *fakeTC) {
	t.Helper()
	cfg := fakeConfig("sim")
	cfg.CompileTimeout = 20 * time.Second
	tc := newFakeTC(t)
	tc.configure(&cfg)
	if mod != nil {
		mod(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tc.attach(b)
	t.Cleanup(func() { b.Close() })
	return b, tc
}

type checkCase struct {
	name      string // the attack or the style
	challenge *prover.Theorem
	solution  string
	native    bool     // AllowNativeDecide
	allow     []string // req.AllowAxioms
	verified  bool
	refused   bool
	msg       string   // substring of Message
	disallow  []string // subset of Disallowed
}

const demoProof = "theorem llemma_demo (x : ℝ) (h₀ : x = 2) :\n  x + 1 = 3 := by\n"

func adversarialCorpus() []checkCase {
	addZero := &prover.Theorem{Name: "add_zero_false", Header: "import Mathlib\n\n", Statement: "theorem add_zero_false : (1 : ℕ) + 0 = 0"}
	sqrtFour := &prover.Theorem{Name: "sqrt_four", Header: "import Mathlib\n\n", Statement: "theorem sqrt_four : Real.sqrt 4 = 2"}
	return []checkCase{
		{name: "sorry in a helper lemma",
			solution: minif2fHeader + "lemma helper (x : ℝ) (h : x = 2) : x + 1 = 3 := by sorry\n\n" + demoProof + "  exact helper x h₀\n",
			msg:      "uses sorry"},
		{name: "admit in the proof",
			solution: minif2fHeader + demoProof + "  admit\n",
			msg:      "uses sorry"},
		{name: "custom axiom named like a library one (Std.TrustMe)",
			solution: minif2fHeader + "axiom Std.TrustMe.propext : ∀ (x : ℝ), x = 2 → x + 1 = 3\n\n" +
				"theorem llemma_demo (x : ℝ) (h₀ : x = 2) :\n  x + 1 = 3 := Std.TrustMe.propext x h₀\n",
			msg: "disallowed axioms", disallow: []string{"Std.TrustMe.propext"}},
		{name: "custom axiom inside namespace Classical",
			solution: minif2fHeader + "namespace Classical\naxiom choice' : ∀ (x : ℝ), x = 2 → x + 1 = 3\nend Classical\n\n" +
				"theorem llemma_demo (x : ℝ) (h₀ : x = 2) :\n  x + 1 = 3 := Classical.choice' x h₀\n",
			disallow: []string{"Classical.choice'"}},
		{name: "custom axiom allowed by name is still the file's own",
			solution: minif2fHeader + "axiom trust_me : ∀ (x : ℝ), x = 2 → x + 1 = 3\n\n" +
				"theorem llemma_demo (x : ℝ) (h₀ : x = 2) :\n  x + 1 = 3 := trust_me x h₀\n",
			allow: []string{"trust_me"}, msg: "the file declares axioms: trust_me", disallow: []string{"trust_me"}},
		{name: "native_decide without the flag",
			solution: minif2fHeader + demoProof + "  subst h₀\n  native_decide\n",
			msg:      "native_decide", disallow: []string{"Lean.ofReduceBool", "Lean.trustCompiler"}},
		{name: "sorry even when listed as allowed",
			solution: minif2fHeader + "theorem llemma_demo (x : ℝ) (h₀ : x = 2) :\n  x + 1 = 3 := sorry\n",
			allow:    []string{"sorryAx"}, msg: "sorry"},
		{name: "local instance Add Nat := Nat.mul changes the statement", challenge: addZero,
			solution: "import Mathlib\n\nlocal instance : Add ℕ := ⟨Nat.mul⟩\n\ntheorem add_zero_false : (1 : ℕ) + 0 = 0 := by rfl\n",
			msg:      "type mismatch"},
		{name: "open Foo in makes another constant resolve", challenge: sqrtFour,
			solution: "import Mathlib\n\ndef Foo.Real.sqrt (_ : ℝ) : ℝ := 2\n\nopen Foo in\ntheorem sqrt_four : Real.sqrt 4 = 2 := rfl\n",
			msg:      "type mismatch"},
		{name: "theorem shadowed inside a namespace",
			solution: minif2fHeader + "namespace Foo\n\n" + demoProof + "  subst h₀\n  norm_num\n\nend Foo\n",
			msg:      "Unknown identifier `_root_.llemma_demo`"},
		{name: "theorem Foo.NAME instead of _root_.NAME",
			solution: minif2fHeader + strings.Replace(demoProof, "llemma_demo", "Foo.llemma_demo", 1) + "  subst h₀\n  norm_num\n",
			msg:      "Unknown identifier `_root_.llemma_demo`"},
		{name: "a different statement",
			solution: minif2fHeader + "theorem llemma_demo (x : ℝ) (h₀ : x = 2) :\n  x + 1 ≤ 3 := by\n  subst h₀\n  norm_num\n",
			msg:      "type mismatch"},
		{name: "the theorem under another name",
			solution: minif2fHeader + strings.Replace(demoProof, "llemma_demo", "llemma_demo'", 1) + "  subst h₀\n  norm_num\n",
			msg:      "Unknown identifier"},
		{name: "an import from outside the project",
			solution: "import Mathlib\nimport Evil.Payload\n\n" + demoProof + "  norm_num [h₀]\n",
			msg:      "unknown module prefix 'Evil'"},
		{name: "a proof that does not elaborate",
			solution: minif2fHeader + demoProof + "  exact nonexistent_lemma x h₀\n",
			msg:      "Unknown identifier `nonexistent_lemma`"},

		// Refused before compiling.
		{name: "global notation redefining +", refused: true, msg: "global `notation`",
			solution: "import Mathlib\n\nnotation:65 a \" + \" b => a * b\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "global infixl redefining +", refused: true, msg: "global `infixl`",
			solution: "import Mathlib\n\ninfixl:65 \" + \" => HMul.hMul\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "macro_rules hijacking type_of%", refused: true, msg: "`macro_rules`",
			solution: "import Mathlib\n\nmacro_rules | `(type_of% $x) => `(True)\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "local macro building a command", refused: true, msg: "`macro`",
			solution: "import Mathlib\n\nlocal macro \"go\" : command => `(#print \"x\")\ngo\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "#eval running a process", refused: true, msg: "`#eval`",
			solution: "import Mathlib\n\n#eval IO.Process.run { cmd := \"sh\", args := #[\"-c\", \"id\"] }\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "run_cmd adding a declaration", refused: true, msg: "`run_cmd`",
			solution: "import Mathlib\nopen Lean Elab Command in\nrun_cmd liftCoreM (pure ())\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "set_option debug.skipKernelTC true", refused: true, msg: "debug.skipKernelTC",
			solution: minif2fHeader + "set_option debug.skipKernelTC true\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "@[implemented_by] swapping compiled code", refused: true, msg: "implemented_by",
			solution: minif2fHeader + "def impl (_ : Unit) : Bool := true\n@[implemented_by impl] def spec (_ : Unit) : Bool := false\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "initialize hook run at import", refused: true, msg: "`initialize`",
			solution: minif2fHeader + "initialize pure ()\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "unsafe definition", refused: true, msg: "`unsafe`",
			solution: minif2fHeader + "unsafe def f : Nat := 1\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "command hidden after a /-/ comment trick", refused: true, msg: "`#eval`",
			solution: minif2fHeader + "/-/ -/ #eval 1 -- -/\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "code in a string interpolation", refused: true, msg: "interpolated",
			solution: minif2fHeader + "def s : String := s!\"{(by run_tac pure () : Nat)}\"\n\n" + demoProof + "  norm_num [h₀]\n"},
		{name: "export alias standing in for the name", refused: true, msg: "`export`",
			solution: minif2fHeader + "namespace Foo\n" + demoProof + "  norm_num [h₀]\nend Foo\nexport Foo (llemma_demo)\n"},
		{name: "open IO", refused: true, msg: "`IO`",
			solution: minif2fHeader + "open IO in\ndef f := println \"x\"\n\n" + demoProof + "  norm_num [h₀]\n"},
	}
}

func honestCorpus() []checkCase {
	return []checkCase{
		{name: "tactic block with bullets, helper lemma, comments",
			solution: minif2fHeader +
				"/-- A helper. Its doc mentions #eval and `run_cmd` in prose only. -/\n" +
				"lemma helper_add (x : ℝ) (h : x = 2) : x + 1 = 2 + 1 := by\n  rw [h]\n\n" +
				"-- the main theorem; \"sorry\" in a comment is not a sorry\n" +
				demoProof + "  have h₁ : x + 1 = 2 + 1 := helper_add x h₀\n  rw [h₁]\n  · norm_num\n"},
		{name: "term-mode proof",
			solution: minif2fHeader + "theorem llemma_demo (x : ℝ) (h₀ : x = 2) :\n  x + 1 = 3 := h₀ ▸ (by norm_num : (2 : ℝ) + 1 = 3)\n"},
		{name: "calc",
			solution: minif2fHeader + "theorem llemma_demo (x : ℝ) (h₀ : x = 2) :\n  x + 1 = 3 :=\n  calc x + 1 = 2 + 1 := by rw [h₀]\n    _ = 3 := by norm_num\n"},
		{name: "extra imports, helpers in a namespace, open ... in",
			solution: "import Mathlib\nimport Mathlib.Tactic\n\nopen BigOperators Real Nat Topology Rat\n\nnamespace Helpers\n\n" +
				"theorem two_add_one : (2 : ℝ) + 1 = 3 := by norm_num\n\nend Helpers\n\nopen Helpers in\n" +
				demoProof + "  subst h₀\n  exact two_add_one\n"},
		{name: "local notation, @[simp] helper, a string that names commands",
			solution: "import Mathlib\n\nlocal notation \"𝟚\" => (2 : ℝ)\n\n@[simp] lemma two_eq : 𝟚 = 2 := rfl\n\n" +
				"def banner : String := \"not a command: #eval run_cmd\"\n\n" +
				"/- outer /- inner #eval IO.println 1 -/ still a comment: run_cmd -/\n" +
				demoProof + "  norm_num [h₀]\n"},
		{name: "set_option in, no header opens",
			solution: "import Mathlib\n\nset_option maxHeartbeats 400000 in\n" + demoProof + "  subst h₀\n  norm_num\n"},
		{name: "native_decide with the flag", native: true,
			solution: minif2fHeader + demoProof + "  subst h₀\n  native_decide\n"},
	}
}

func runCheckCase(t *testing.T, c checkCase, verified bool) {
	t.Parallel()
	b, tc := newCheckBackend(t, func(cfg *Config) { cfg.AllowNativeDecide = c.native })
	chal := c.challenge
	if chal == nil {
		chal = &demoChallenge
	}
	v, err := b.Verify(context.Background(), prover.VerifyRequest{Name: chal.Name, Challenge: chal, Solution: c.solution, AllowAxioms: c.allow})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if v.Verified != verified || v.Refused != c.refused || !strings.Contains(v.Message, c.msg) {
		t.Fatalf("Verify = %+v; want verified %v refused %v message containing %q", v, verified, c.refused, c.msg)
	}
	for _, a := range c.disallow {
		if !slices.Contains(v.Disallowed, a) {
			t.Errorf("Disallowed = %q, want it to list %s", v.Disallowed, a)
		}
	}
	starts := tc.leanStarts(t)
	switch {
	case c.refused && len(starts) != 0:
		t.Errorf("a refused file started %d lean processes", len(starts))
	case !c.refused && len(starts) == 0:
		t.Errorf("no lean process ran")
	}
	if verified && (v.Type != demoType || v.Constant != chal.Name) {
		t.Errorf("verified %s with type %q, want %q", v.Constant, v.Type, demoType)
	}
}

// TestVerifyAdversarial: each known way to cheat a Lean checker fails,
// refused before compiling or rejected by the kernel-side checks.
func TestVerifyAdversarial(t *testing.T) {
	t.Parallel()
	cases := adversarialCorpus()
	if len(cases) < 10 {
		t.Fatalf("%d attacks, want at least 10", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c, false) })
	}
}

// TestVerifyHonest: proofs in the styles people write are verified.
func TestVerifyHonest(t *testing.T) {
	t.Parallel()
	for _, c := range honestCorpus() {
		t.Run(c.name, func(t *testing.T) { runCheckCase(t, c, true) })
	}
}

// TestVerifyLocalInstanceKeepsStatementText: the local-instance attack
// passes any comparison of source text, so only the compare step can
// catch it.
func TestVerifyLocalInstanceKeepsStatementText(t *testing.T) {
	t.Parallel()
	for _, c := range adversarialCorpus() {
		if c.challenge != nil && strings.HasPrefix(c.name, "local instance") {
			if !strings.Contains(c.solution, c.challenge.Header) || !strings.Contains(c.solution, c.challenge.Statement) {
				t.Fatalf("the attack does not restate the challenge verbatim")
			}
			return
		}
	}
	t.Fatal("no local-instance attack in the corpus")
}

// TestVerifyFreshProcesses: two consecutive checks share no process; each
// starts challenge, solution and compare in that order, each alone in
// its directory, and lake is asked once.
func TestVerifyFreshProcesses(t *testing.T) {
	t.Parallel()
	b, tc := newCheckBackend(t, nil)
	sol := honestCorpus()[0].solution
	for i := 0; i < 2; i++ {
		v, err := b.Verify(context.Background(), prover.VerifyRequest{Name: demoChallenge.Name, Challenge: &demoChallenge, Solution: sol})
		if err != nil || !v.Verified {
			t.Fatalf("check %d: %+v, %v", i, v, err)
		}
	}
	all := tc.starts(t)
	var lean []toolStart
	lakes := 0
	for _, s := range all {
		if s.Tool == "lake" {
			lakes++
		} else {
			lean = append(lean, s)
		}
	}
	if lakes != 1 || len(lean) != 6 {
		t.Fatalf("%d lake and %d lean starts, want 1 and 6: %+v", lakes, len(lean), all)
	}
	pids := map[int]bool{}
	jobs := map[string]bool{}
	for i, s := range lean {
		if pids[s.Pid] {
			t.Errorf("process %d ran twice", s.Pid)
		}
		pids[s.Pid] = true
		want := []string{"challenge/LlemmaChallenge.lean", "solution/LlemmaSolution.lean", "compare/LlemmaCompare.lean"}[i%3]
		file := s.Args[len(s.Args)-1]
		if !strings.HasSuffix(file, filepath.FromSlash(want)) {
			t.Fatalf("start %d compiled %s, want %s", i, file, want)
		}
		job := filepath.Dir(filepath.Dir(file))
		jobs[job] = true
		lp := filepath.SplitList(s.LeanPath)
		hasChal := slices.Contains(lp, filepath.Join(job, "challenge"))
		hasSol := slices.Contains(lp, filepath.Join(job, "solution"))
		if i%3 == 2 {
			if !hasChal || !hasSol {
				t.Errorf("the compare file's LEAN_PATH %q lacks a module directory", s.LeanPath)
			}
		} else if hasChal || hasSol {
			t.Errorf("start %d (%s) could see a module directory: LEAN_PATH %q", i, want, s.LeanPath)
		}
		if _, err := os.Stat(job); !os.IsNotExist(err) {
			t.Errorf("job directory %s left behind", job)
		}
	}
	if len(jobs) != 2 {
		t.Errorf("%d job directories for 2 checks", len(jobs))
	}
	if st := b.Stats(); st.Starts != 0 || st.Compiles != 6 {
		t.Errorf("Stats = %+v, want no REPL start and 6 compiles", st)
	}
}

// TestVerifyWithoutChallenge reports what was proved: full name, type,
// axioms.
func TestVerifyWithoutChallenge(t *testing.T) {
	t.Parallel()
	b, tc := newCheckBackend(t, nil)
	ctx := context.Background()
	v, err := b.Verify(ctx, prover.VerifyRequest{Name: "llemma_demo", Solution: honestCorpus()[2].solution})
	if err != nil || !v.Verified || v.Constant != "llemma_demo" || v.Type != demoType ||
		!slices.Equal(v.Axioms, []string{"Classical.choice", "Quot.sound", "propext"}) {
		t.Fatalf("Verify = %+v, %v", v, err)
	}
	if n := len(tc.leanStarts(t)); n != 2 {
		t.Errorf("%d lean processes, want 2 (solution, compare)", n)
	}
	v, err = b.Verify(ctx, prover.VerifyRequest{Name: "llemma_demo", Solution: minif2fHeader + demoProof + "  sorry\n"})
	if err != nil || v.Verified || !strings.Contains(v.Message, "sorry") {
		t.Fatalf("Verify(sorry) = %+v, %v", v, err)
	}
	v, err = b.Verify(ctx, prover.VerifyRequest{Name: "llemma_demo", Solution: minif2fHeader + "namespace N\n" + demoProof + "  norm_num [h₀]\nend N\n"})
	if err != nil || v.Verified || !strings.Contains(v.Message, "_root_.llemma_demo") {
		t.Fatalf("Verify(namespaced) = %+v, %v", v, err)
	}
}

// TestVerifyLongAxiomList: a list wrapped over lines is read whole, and
// AllowAxioms admits library axioms by full name.
func TestVerifyLongAxiomList(t *testing.T) {
	t.Parallel()
	b, tc := newCheckBackend(t, nil)
	var long []string
	for _, s := range []string{"alpha", "beta", "gamma", "delta", "epsilon"} {
		long = append(long, "FakeLib.Axioms.a_rather_long_axiom_named_"+s)
	}
	tc.addLibrary(t, "Mathlib.Fake.Axioms", fakeDecl{Name: "FakeLib.uses_many", Type: "?", Axioms: append(slices.Clone(DefaultAxioms), long...)})
	sol := "import Mathlib\nimport Mathlib.Fake.Axioms\n\n" + demoProof + "  exact FakeLib.uses_many x h₀\n"
	req := prover.VerifyRequest{Name: demoChallenge.Name, Challenge: &demoChallenge, Solution: sol}
	v, err := b.Verify(context.Background(), req)
	slices.Sort(long)
	if err != nil || v.Verified || !slices.Equal(slices.Sorted(slices.Values(v.Disallowed)), long) {
		t.Fatalf("Verify = %+v, %v; want the five library axioms disallowed", v, err)
	}
	req.AllowAxioms = long
	v, err = b.Verify(context.Background(), req)
	if err != nil || !v.Verified || len(v.Axioms) != 8 {
		t.Fatalf("Verify(allowed) = %+v, %v", v, err)
	}
}

// addLibrary adds a fake library module to the project's Mathlib.
func (f *fakeTC) addLibrary(t testing.TB, mod string, decls ...fakeDecl) {
	t.Helper()
	b, _ := json.Marshal(fakeOlean{Module: mod, Decls: decls})
	p := filepath.Join(f.project, ".lake", "packages", "mathlib", ".lake", "build", "lib", filepath.FromSlash(strings.ReplaceAll(mod, ".", "/"))+".olean")
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyTimeoutKillsLean: a solution that never finishes compiling is
// rejected at CompileTimeout and its process is gone.
func TestVerifyTimeoutKillsLean(t *testing.T) {
	t.Parallel()
	b, tc := newCheckBackend(t, func(c *Config) { c.CompileTimeout = 2 * time.Second })
	start := time.Now()
	v, err := b.Verify(context.Background(), prover.VerifyRequest{Name: demoChallenge.Name,
		Solution: minif2fHeader + "-- llemma-fake: hang\n" + demoProof + "  norm_num [h₀]\n"})
	if err != nil || v.Verified || !strings.Contains(v.Message, "timed out") {
		t.Fatalf("Verify = %+v, %v; want a timeout rejection", v, err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	starts := tc.leanStarts(t)
	if len(starts) != 1 {
		t.Fatalf("%d lean starts, want 1 (the hanging solution; no compare after it)", len(starts))
	}
	if alive(starts[0].Pid) {
		t.Errorf("the hanging lean %d survived its deadline", starts[0].Pid)
	}
}

// TestVerifyCrashAndCancel: a crashing compile is a rejection with its
// stderr; a cancelled ctx is an error; Close stops a running check.
func TestVerifyCrashAndCancel(t *testing.T) {
	t.Parallel()
	b, _ := newCheckBackend(t, nil)
	v, err := b.Verify(context.Background(), prover.VerifyRequest{Name: demoChallenge.Name, Challenge: &demoChallenge,
		Solution: minif2fHeader + "-- llemma-fake: crash\n" + demoProof + "  norm_num [h₀]\n"})
	if err != nil || v.Verified || !strings.Contains(v.Message, "Stack overflow") {
		t.Fatalf("Verify(crash) = %+v, %v", v, err)
	}
	hang := minif2fHeader + "-- llemma-fake: hang\n" + demoProof + "  norm_num [h₀]\n"
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if v, err := b.Verify(ctx, prover.VerifyRequest{Name: demoChallenge.Name, Solution: hang}); err == nil {
		t.Fatalf("Verify under an expired ctx = %+v, want an error", v)
	}
	// Close while the solution compiles: the double signals, through a
	// FIFO, that it is running, then hangs.
	var fifo string
	b2, _ := newCheckBackend(t, func(c *Config) {
		fifo = filepath.Join(filepath.Dir(strings.TrimPrefix(c.Env[len(c.Env)-1], "LLEMMA_FAKE_TOOL_LOG=")), "started")
		c.Env = append(c.Env, "LLEMMA_FAKE_HANG_FIFO="+fifo)
	})
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := b2.Verify(context.Background(), prover.VerifyRequest{Name: demoChallenge.Name, Solution: hang})
		done <- err
	}()
	started, err := os.ReadFile(fifo) // returns once the hanging lean wrote and closed it
	if err != nil || string(started) != "hanging" {
		t.Fatalf("reading the double's signal: %q, %v", started, err)
	}
	b2.Close()
	if err := <-done; !errors.Is(err, prover.ErrClosed) {
		t.Fatalf("Verify during Close: %v, want ErrClosed", err)
	}
}

// alive reports whether pid is a live, non-zombie process. A process sent
// SIGKILL a moment ago may still be on its way out (its pipes already
// closed, its /proc state not yet Z), so it is given up to 5 s to exit:
// the wait is on its pidfd, which becomes readable when it has
// terminated, and /proc only decides where pidfds are not supported.
func alive(pid int) bool {
	if fd, err := unix.PidfdOpen(pid, 0); err == nil {
		defer unix.Close(fd)
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 5000)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return err != nil || n == 0
		}
	} else if errors.Is(err, unix.ESRCH) {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", itoa(pid), "stat"))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// TestVerifyBadRequests: requests the verifier cannot run are errors.
func TestVerifyBadRequests(t *testing.T) {
	t.Parallel()
	b, tc := newCheckBackend(t, nil)
	ctx := context.Background()
	withDef := demoChallenge
	withDef.Header = minif2fHeader + "def f (x : ℝ) := x\n\n"
	wrongName := demoChallenge
	wrongName.Statement = strings.Replace(wrongName.Statement, "llemma_demo", "other", 1)
	badHeader := demoChallenge
	badHeader.Header = "import Mathlib\nimport Missing.Module\n\n"
	for name, req := range map[string]prover.VerifyRequest{
		"empty name":          {Name: "", Solution: "x"},
		"name with a space":   {Name: "a b", Solution: "x"},
		"header declarations": {Name: "llemma_demo", Challenge: &withDef, Solution: honestCorpus()[0].solution},
		"statement elsewhere": {Name: "llemma_demo", Challenge: &wrongName, Solution: honestCorpus()[0].solution},
	} {
		if v, err := b.Verify(ctx, req); err == nil {
			t.Errorf("%s: Verify = %+v, want an error", name, v)
		}
	}
	if n := len(tc.leanStarts(t)); n != 0 {
		t.Errorf("bad requests started %d lean processes", n)
	}
	if _, err := b.Verify(ctx, prover.VerifyRequest{Name: "llemma_demo", Challenge: &badHeader, Solution: honestCorpus()[0].solution}); !errors.Is(err, prover.ErrLoad) {
		t.Errorf("a challenge that does not compile: %v, want ErrLoad", err)
	}
	nolake, _ := newCheckBackend(t, func(c *Config) { c.Lake = filepath.Join(t.TempDir(), "no-lake") })
	if _, err := nolake.Verify(ctx, prover.VerifyRequest{Name: "llemma_demo", Solution: honestCorpus()[0].solution}); !errors.Is(err, prover.ErrUnavailable) {
		t.Errorf("missing lake: %v, want ErrUnavailable", err)
	}
}

// TestRunToolLimitsAndGroupKill: RLIMIT_AS holds from the program's
// first instruction, and at the deadline the whole group dies, a
// backgrounded grandchild holding stdout included.
func TestRunToolLimitsAndGroupKill(t *testing.T) {
	t.Parallel()
	res, err := runTool(context.Background(), toolRun{Name: "sh", Path: "/bin/sh", Args: []string{"-c", "ulimit -v"}, Timeout: time.Minute, MemoryLimit: 3 << 30})
	if err != nil || res.Exit != 0 || strings.TrimSpace(res.Stdout) != itoa(3<<20) {
		t.Fatalf("ulimit -v under a 3 GiB limit: %+v, %v; want %d (KiB)", res, err, 3<<20)
	}

	start := time.Now()
	res, err = runTool(context.Background(), toolRun{Name: "sh", Path: "/bin/sh", Args: []string{"-c", "sleep 30 & echo $!; wait"}, Timeout: 300 * time.Millisecond})
	if err != nil || !res.TimedOut {
		t.Fatalf("runTool = %+v, %v; want a timeout", res, err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("returned after %v: the grandchild kept the pipe open", d)
	}
	pid := strings.TrimSpace(res.Stdout)
	if pid == "" {
		t.Fatal("the shell printed no pid")
	}
	if alive(atoi(t, pid)) {
		t.Errorf("the backgrounded sleep %s survived", pid)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := runTool(ctx, toolRun{Name: "sh", Path: "/bin/sh", Args: []string{"-c", "true"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("runTool under a cancelled ctx: %v, want context.Canceled", err)
	}
}

// TestVerifySandboxed: the lean processes of a check run under Landlock
// (when the kernel has it) with the memory limit: the solution's compile
// cannot write or read outside its job directory, the project and the
// toolchain.
func TestVerifySandboxed(t *testing.T) {
	t.Parallel()
	if abi, detail := sandbox.Available(); abi < 1 {
		t.Skipf("needs Landlock; this kernel: %s", detail)
	}
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	if err := os.WriteFile(secret, []byte("s3cret"), 0o644); err != nil {
		t.Fatal(err)
	}
	leak := filepath.Join(outside, "leak")
	b, tc := newCheckBackend(t, func(c *Config) { c.MemoryLimit = 4 << 30 })
	for probe, path := range map[string]string{"write": leak, "read": secret} {
		sol := minif2fHeader + "-- llemma-fake: " + probe + " " + path + "\n" + demoProof + "  norm_num [h₀]\n"
		v, err := b.Verify(context.Background(), prover.VerifyRequest{Name: demoChallenge.Name, Challenge: &demoChallenge, Solution: sol})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(v.Message, "probe: "+probe+" denied") {
			t.Errorf("Verify(%s probe) = %+v; want it denied", probe, v)
		}
		if !strings.HasPrefix(v.Sandbox, "landlock ABI") {
			t.Errorf("Sandbox = %q, want landlock", v.Sandbox)
		}
	}
	if _, err := os.Stat(leak); err == nil {
		t.Errorf("the sandboxed compile wrote %s", leak)
	}
	for _, s := range tc.leanStarts(t) {
		if s.MemLimit != 4<<30 {
			t.Errorf("lean %d ran with RLIMIT_AS %d, want %d", s.Pid, s.MemLimit, 4<<30)
		}
	}
	// The same probes unconfined succeed: the test can tell.
	res, err := runTool(context.Background(), toolRun{Name: "cat", Path: "/bin/cat", Args: []string{secret}})
	if err != nil || res.Stdout != "s3cret" {
		t.Fatalf("reading the secret unconfined: %+v, %v", res, err)
	}
}

func atoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("not a number: %q", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}
