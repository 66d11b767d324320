package coq

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llemma-prove/llemma-prove/internal/sandbox"
	"github.com/llemma-prove/llemma-prove/prover"
)

// A small problem over nat: cheap to compile, so the corpus stays fast.
const natProblem = `Require Import Arith.

Theorem add_zero_r (n : nat) : n + 0 = n.
Proof.
Admitted.
`

// judge runs the real verifier on file against thm (nil: no challenge).
func judge(t *testing.T, b *Backend, name string, thm *prover.Theorem, file string, allow ...string) prover.Verification {
	t.Helper()
	v, err := b.Verify(context.Background(), prover.VerifyRequest{Name: name, Challenge: thm, Solution: file, AllowAxioms: allow})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return v
}

// TestJudgeRejectsCheats is the adversarial corpus: each file proves its
// theorem only by cheating, or reaches outside its sandbox; none may be
// verified, whatever the cheat is named or however it prints.
func TestJudgeRejectsCheats(t *testing.T) {
	needCoq(t)
	t.Parallel()
	b := New(Config{Workers: 2})
	t.Cleanup(func() { b.Close() })
	nat := parse(t, "add_zero_r", natProblem)
	real := parse(t, "mathd_algebra_141", algebra141)
	stmt := nat.Statement
	hdr := nat.Header // Require Import Arith. (for Nat.add_0_r)
	outside := filepath.Join(t.TempDir(), "written-by-the-file")
	cases := []struct {
		attack string
		thm    *prover.Theorem
		file   string
		want   string // in the message
	}{
		{"a plain axiom of False", &nat,
			"Axiom cheat : False.\n" + stmt + "\nProof. destruct cheat. Qed.\n", "declares axioms"},
		{"an axiom disguised by a notation that prints False as 'Closed under the global context'", &nat,
			"Notation \"'Closed' 'under' 'the' 'global' 'context'\" := False.\nAxiom cheat : Closed under the global context.\n" + stmt + "\nProof. destruct cheat. Qed.\n", "declares axioms"},
		{"an axiom named like an allowed stdlib one, in a module of that name", &nat,
			"Module Classical_Prop. Axiom classic : False. End Classical_Prop.\n" + stmt + "\nProof. destruct Classical_Prop.classic. Qed.\n", "declares axioms"},
		{"an axiom named like the Reals' own, under ClassicalDedekindReals", &nat,
			"Module ClassicalDedekindReals. Axiom sig_forall_dec : False. End ClassicalDedekindReals.\n" + stmt + "\nProof. destruct ClassicalDedekindReals.sig_forall_dec. Qed.\n", "declares axioms"},
		{"the theorem Admitted", &nat, stmt + "\nProof.\nAdmitted.\n", "declares axioms"},
		{"an Admitted helper lemma", &nat,
			"Lemma helper : forall n, n + 0 = n.\nAdmitted.\n" + stmt + "\nProof. apply helper. Qed.\n", "declares axioms"},
		{"Admitted at top level, a proved shadow in a module, imported", &nat,
			stmt + "\nProof.\nAdmitted.\nModule Shadow.\nTheorem add_zero_r : True.\nProof. exact I. Qed.\nEnd Shadow.\nImport Shadow.\n", "declares axioms"},
		{"admit then Qed", &nat, stmt + "\nProof. admit. Qed.\n", "coqc rejected"},
		{"a wrong proof", &nat, stmt + "\nProof. reflexivity. Qed.\n", "coqc rejected"},
		{"a weaker statement under the right name", &nat,
			"Require Import Arith.\nTheorem add_zero_r (n : nat) : n + 0 >= 0.\nProof. apply Nat.le_0_l. Qed.\n", "does not have the statement"},
		{"a different theorem only", &nat, "Theorem other : True.\nProof. exact I. Qed.\n", "no top-level add_zero_r"},
		{"the theorem only inside a module", &nat,
			hdr + "Module M.\n" + stmt + "\nProof. apply Nat.add_0_r. Qed.\nEnd M.\n", "no top-level add_zero_r"},
		{"the statement generalised by a section hypothesis", &nat,
			"Section S.\nHypothesis H : forall n, n + 0 = n.\n" + stmt + "\nProof. apply H. Qed.\nEnd S.\n", "does not have the statement"},
		{"a local notation that makes + mean something else in the file", &real,
			"Require Import Reals.\nOpen Scope R_scope.\nLocal Notation \"x + y\" := (IZR 369) : R_scope.\n" + real.Statement + "\nProof. intros. reflexivity. Qed.\n", "does not have the statement"},
		{"a looping fixpoint under Unset Guard Checking", &nat,
			"Unset Guard Checking.\nFixpoint loop (n : nat) : False := loop n.\nSet Guard Checking.\n" + stmt + "\nProof. destruct (loop 0). Qed.\n", "switches off"},
		{"a looping fixpoint under #[bypass_check(guard)]", &nat,
			"#[bypass_check(guard)] Fixpoint loop (n : nat) : False := loop n.\n" + stmt + "\nProof. destruct (loop 0). Qed.\n", "bypass_check"},
		{"a non-positive inductive", &nat,
			hdr + "Unset Positivity Checking.\nInductive bad := C : (bad -> False) -> bad.\n" + stmt + "\nProof. apply Nat.add_0_r. Qed.\n", "switches off"},
		{"type in type", &nat,
			hdr + "Unset Universe Checking.\n" + stmt + "\nProof. apply Nat.add_0_r. Qed.\n", "switches off"},
		{"Redirect writes a file on the host", &nat,
			hdr + "Redirect \"" + outside + "\" Print nat.\n" + stmt + "\nProof. apply Nat.add_0_r. Qed.\n", "Redirect"},
		{"Redirect behind a control prefix and a comment", &nat,
			hdr + "Time (* harmless *) Redirect \"" + outside + "\" Print nat.\n" + stmt + "\nProof. apply Nat.add_0_r. Qed.\n", "Redirect"},
		{"Extraction to an absolute path", &nat,
			hdr + "Require Extraction.\nExtraction \"" + outside + ".ml\" nat.\n" + stmt + "\nProof. apply Nat.add_0_r. Qed.\n", "extraction"},
		{"Cd out of the job directory", &nat, hdr + "Cd \"/tmp\".\n" + stmt + "\nProof. apply Nat.add_0_r. Qed.\n", "Cd"},
		{"Load of another file", &nat, hdr + "Load \"/etc/hostname\".\n" + stmt + "\nProof. apply Nat.add_0_r. Qed.\n", "Load"},
		{"Declare ML Module loads native code", &nat, hdr + "Declare ML Module \"coq-core.plugins.ltac\".\n" + stmt + "\nProof. apply Nat.add_0_r. Qed.\n", "OCaml"},
		{"Add LoadPath to reach other compiled files", &nat, hdr + "Add LoadPath \"/tmp\" as Evil.\n" + stmt + "\nProof. apply Nat.add_0_r. Qed.\n", "load path"},
		{"an open comment swallowing the rest", &nat, stmt + "\nProof. apply Nat.add_0_r. Qed.\n(* Closed under the global context", "inside a comment"},
		{"native_compute", &nat, hdr + stmt + "\nProof. native_compute. apply Nat.add_0_r. Qed.\n", "native_compute"},
		{"no statement given: a file that proves False from its own axiom", nil,
			"Axiom cheat : False.\nTheorem add_zero_r : False.\nProof. exact cheat. Qed.\n", "declares axioms"},
	}
	for _, tc := range cases {
		t.Run(tc.attack, func(t *testing.T) {
			t.Parallel()
			name := "add_zero_r"
			if tc.thm != nil {
				name = tc.thm.Name
			}
			v := judge(t, b, name, tc.thm, tc.file)
			if v.Verified {
				t.Fatalf("verified a cheating file (%s):\n%s", tc.attack, tc.file)
			}
			if !strings.Contains(strings.ToLower(v.Message), strings.ToLower(tc.want)) {
				t.Errorf("message %q, want it to mention %q", v.Message, tc.want)
			}
		})
	}
	t.Run("nothing was written outside the job directory", func(t *testing.T) {
		t.Parallel()
		for _, p := range []string{outside, outside + ".out", outside + ".ml"} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("%s exists: a checked file wrote outside its sandbox", p)
			}
		}
	})
}

// TestJudgeAcceptsHonestFiles: files written the ways people write them,
// accepted by plain coqc, are verified against the benchmark statement.
func TestJudgeAcceptsHonestFiles(t *testing.T) {
	needCoq(t)
	t.Parallel()
	b := New(Config{Workers: 2})
	t.Cleanup(func() { b.Close() })
	nat := parse(t, "add_zero_r", natProblem)
	real := parse(t, "mathd_algebra_141", algebra141)
	cases := []struct {
		style string
		thm   *prover.Theorem
		file  string
	}{
		{"the search's own assembled file", &real, b.Assemble(real, []string{"nra."})},
		{"extra imports with From", &real, "From Coq Require Import Lia Lra Psatz.\n" + real.Header + real.Statement + "\nProof.\n  nra.\nQed.\n"},
		{"Require Import Reals Psatz.", &real, "Require Import Reals Psatz.\nOpen Scope R_scope.\n" + real.Statement + "\nProof. nra. Qed.\n"},
		{"a helper lemma first", &real, "From Coq Require Import Lra Psatz.\n" + real.Header + "Lemma sq (x : R) : x ^ 2 = x * x.\nProof. ring. Qed.\n" + real.Statement + "\nProof.\n  rewrite !sq. nra.\nQed.\n"},
		{"comments, bullets, braces, Proof using, Defined", &nat,
			"(* A proof. *)\nRequire Import Arith.\nLemma add_zero_r (n : nat) : n + 0 = n.\nProof using.\n  induction n as [|n IH].\n  - reflexivity.\n  - { simpl. (* step *) rewrite IH. reflexivity. }\nDefined.\n"},
		{"a term-mode proof", &nat, "Require Import Arith.\nDefinition add_zero_r (n : nat) : n + 0 = n := Nat.add_0_r n.\n"},
		{"classical logic (allowed axiom)", &nat,
			"Require Import Arith Classical.\nTheorem add_zero_r (n : nat) : n + 0 = n.\nProof. destruct (classic (n = n)); apply Nat.add_0_r. Qed.\n"},
	}
	for _, tc := range cases {
		t.Run(tc.style, func(t *testing.T) {
			t.Parallel()
			v := judge(t, b, tc.thm.Name, tc.thm, tc.file)
			if !v.Verified {
				t.Fatalf("rejected an honest file (%s): %s\n%s", tc.style, v.Message, tc.file)
			}
			if v.Constant != solutionMod+"."+tc.thm.Name {
				t.Errorf("constant %q", v.Constant)
			}
			for _, a := range v.Axioms {
				if !strings.HasPrefix(a, "Coq.") {
					t.Errorf("axiom %q is not a full stdlib path", a)
				}
			}
		})
	}
}

// TestJudgeProblemAssumptions: a benchmark whose header declares
// parameters and axioms (as amc12a_2016_p3 does) is proved under the
// file's own copies of them, with the same names and types.
func TestJudgeProblemAssumptions(t *testing.T) {
	needCoq(t)
	t.Parallel()
	b := New(Config{Workers: 2})
	t.Cleanup(func() { b.Close() })
	src := "Parameter f : nat -> nat.\nAxiom f_spec : forall n, f n = n + 1.\n\nTheorem f_two : f 2 = 3.\nProof.\nAdmitted.\n"
	thm := parse(t, "f_two", src)
	good := thm.Header + thm.Statement + "\nProof. apply f_spec. Qed.\n"
	if v := judge(t, b, "f_two", &thm, good); !v.Verified {
		t.Fatalf("rejected a proof from the problem's own assumptions: %s", v.Message)
	} else if strings.Join(v.Axioms, ",") != solutionMod+".f_spec" {
		t.Errorf("axioms %q, want the problem's f_spec", v.Axioms)
	}
	stronger := "Parameter f : nat -> nat.\nAxiom f_spec : forall n, f n = 3.\n\n" + thm.Statement + "\nProof. apply f_spec. Qed.\n"
	if v := judge(t, b, "f_two", &thm, stronger); v.Verified {
		t.Fatalf("verified a proof from a changed assumption")
	}
	extra := thm.Header + "Axiom more : False.\n" + thm.Statement + "\nProof. destruct more. Qed.\n"
	if v := judge(t, b, "f_two", &thm, extra); v.Verified {
		t.Fatalf("verified a proof from an extra axiom")
	}
}

// TestJudgeWithoutStatement says exactly what a file proves.
func TestJudgeWithoutStatement(t *testing.T) {
	needCoq(t)
	t.Parallel()
	b := New(Config{Workers: 1})
	t.Cleanup(func() { b.Close() })
	file := "Require Import Arith.\nTheorem add_zero_r (n : nat) : n + 0 = n.\nProof. apply Nat.add_0_r. Qed.\n"
	v := judge(t, b, "add_zero_r", nil, file)
	if !v.Verified || v.Constant != "LlemmaSolution.Solution.add_zero_r" || !strings.Contains(v.Type, "n + 0 = n") || len(v.Axioms) != 0 {
		t.Fatalf("verification %+v", v)
	}
	own := "Axiom my_ax : 1 = 1.\nTheorem t : 1 = 1.\nProof. exact my_ax. Qed.\n"
	if v := judge(t, b, "t", nil, own); v.Verified {
		t.Fatalf("verified a file that uses its own axiom without --allow-axiom")
	}
	if v := judge(t, b, "t", nil, own, "my_ax"); !v.Verified || strings.Join(v.Axioms, ",") != "LlemmaSolution.Solution.my_ax" {
		t.Fatalf("with the axiom allowed: %+v", v)
	}
}

// TestCheckerIsSandboxed: even a file that got past the scanner cannot
// write outside its job directory, because coqc itself runs confined.
func TestCheckerIsSandboxed(t *testing.T) {
	needCoq(t)
	if abi, detail := sandbox.Available(); abi == 0 {
		t.Skipf("skipping: %s", detail)
	}
	t.Parallel()
	b := New(Config{Workers: 1})
	t.Cleanup(func() { b.Close() })
	job, outside := t.TempDir(), filepath.Join(t.TempDir(), "escaped")
	src := "Redirect \"" + outside + "\" Print nat.\nDefinition inside := 1.\n"
	if err := os.WriteFile(filepath.Join(job, "F.v"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out, failed, err := b.tool(context.Background(), job, []string{"coqc", "-q", "F.v"}, []string{job})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(outside + ".out"); err == nil {
		t.Fatalf("the sandboxed coqc wrote %s.out", outside)
	}
	if !failed {
		t.Errorf("coqc succeeded writing outside its sandbox: %s", out)
	}
	// Inside the job directory it works.
	if err := os.WriteFile(filepath.Join(job, "G.v"), []byte("Definition inside := 1.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, failed, err := b.tool(context.Background(), job, []string{"coqc", "-q", "G.v"}, []string{job}); err != nil || failed {
		t.Fatalf("coqc in its job directory: %v %v %s", failed, err, out)
	}
	if _, err := os.Stat(filepath.Join(job, "G.vo")); err != nil {
		t.Errorf("no G.vo: %v", err)
	}
}
