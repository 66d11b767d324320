package coq

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// needCoq skips tests that run the real coqtop/coqc when they are missing.
func needCoq(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipping: runs the real coqtop (-short)")
	}
	for _, tool := range []string{"coqtop", "coqc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("skipping: %s not installed (apt-get install -y coq libcoq-coquelicot; make test installs it)", tool)
		}
	}
}

const algebra141 = `Require Import Reals.
Open Scope R_scope.

Theorem mathd_algebra_141
  (a b : R)
  (h₁ : a * b = 180)
  (h₂ : 2 * (a + b) = 54) :
  a^2 + b^2 = 369.
Proof.
Admitted.`

func parse(t *testing.T, name, src string) prover.Theorem {
	t.Helper()
	thm, err := ParseTheorem(name, src)
	if err != nil {
		t.Fatalf("ParseTheorem(%s): %v", name, err)
	}
	return thm
}

func TestSessionStepsAndVerify(t *testing.T) {
	needCoq(t)
	t.Parallel()
	ctx := context.Background()
	b := New(Config{Workers: 1})
	defer b.Close()
	thm := parse(t, "mathd_algebra_141", algebra141)
	s, err := b.Open(ctx, thm)
	if err != nil {
		t.Fatal(err)
	}
	root := s.Root()
	if len(root.Goals) != 1 || !strings.Contains(root.Goals[0], "a ^ 2 + b ^ 2 = 369") || strings.Contains(root.Text, "(ID") {
		t.Fatalf("root = %#v", root)
	}
	r, err := s.Apply(ctx, root.ID, "lia.", 5*time.Second)
	if err != nil || r.Status != prover.StepFailed || !strings.Contains(r.Message, "Error") {
		t.Fatalf("lia: %+v, %v; want failed with the error", r, err)
	}
	r, err = s.Apply(ctx, root.ID, "assert (H : a + b = 27) by lra.", 5*time.Second)
	if err != nil || r.Status != prover.StepOpen || !strings.Contains(r.State.Goals[0], "H : a + b = 27") {
		t.Fatalf("assert: %+v, %v", r, err)
	}
	child := r.State.ID
	// Branch back to the root (BackTo), then on to the child (replay).
	r, err = s.Apply(ctx, root.ID, "intros.", 5*time.Second)
	if err != nil || r.Status != prover.StepOpen {
		t.Fatalf("intros: %+v, %v", r, err)
	}
	r, err = s.Apply(ctx, child, "nra.", 5*time.Second)
	if err != nil || r.Status != prover.StepProved {
		t.Fatalf("nra on child: %+v, %v", r, err)
	}
	s.Close()

	file := b.Assemble(thm, []string{"assert (H : a + b = 27) by lra.", "nra."})
	if !strings.Contains(file, thm.Statement+"\nProof.\n") || !strings.HasSuffix(file, "Qed.\n") {
		t.Fatalf("Assemble:\n%s", file)
	}
	v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: file})
	if err != nil || !v.Verified {
		t.Fatalf("Verify: %+v, %v", v, err)
	}
	for _, a := range v.Axioms {
		if !strings.HasPrefix(a, "Coq.Reals.ClassicalDedekindReals.") && !strings.HasPrefix(a, "Coq.Logic.FunctionalExtensionality.") {
			t.Errorf("unexpected axiom %q", a)
		}
	}
	if len(v.Axioms) == 0 {
		t.Errorf("a proof over R should depend on the Reals axioms, got none")
	}
}

// psatz (and nra, when it needs the SOS solver) writes csdp's problem file
// into TMPDIR: the sandboxed final check must let it, or every such proof
// found in search is refused.
func TestVerifyPsatzInSandbox(t *testing.T) {
	needCoq(t)
	t.Parallel()
	b := New(Config{Workers: 1})
	defer b.Close()
	thm := parse(t, "mathd_algebra_410", `Require Import Reals.
Open Scope R_scope.
Theorem mathd_algebra_410 :
  forall x y : R,
    y = x^2 - 6 * x + 13 -> 4 <= y.
Proof.
Admitted.`)
	file := b.Assemble(thm, []string{"intros; psatz R 3."})
	v, err := b.Verify(context.Background(), prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: file})
	if err != nil || !v.Verified {
		t.Fatalf("Verify(psatz proof) = %+v, %v; want verified", v, err)
	}
}

func TestVerifyRejectsCheats(t *testing.T) {
	needCoq(t)
	t.Parallel()
	ctx := context.Background()
	b := New(Config{Workers: 1})
	defer b.Close()
	thm := parse(t, "mathd_algebra_141", algebra141)
	base := Prelude + "\n" + thm.Header
	cases := map[string]string{
		"axiom":     base + "Axiom cheat : False.\n" + thm.Statement + "\nProof.\n  exact (False_ind _ cheat).\nQed.\n",
		"admitted":  base + thm.Statement + "\nProof.\nAdmitted.\n",
		"admit":     base + thm.Statement + "\nProof.\n  admit.\nQed.\n",
		"wrong":     base + thm.Statement + "\nProof.\n  lra.\nQed.\n",
		"open-comm": base + thm.Statement + "\nProof.\n  nra.\nQed.\n(* Closed under the global context",
		"no-thm":    Prelude + "\nTheorem other : True.\nProof.\n  exact I.\nQed.\n",
	}
	for name, file := range cases {
		v, err := b.Verify(ctx, prover.VerifyRequest{Name: thm.Name, Challenge: &thm, Solution: file})
		if err != nil {
			t.Errorf("%s: Verify error %v", name, err)
			continue
		}
		if v.Verified {
			t.Errorf("%s: verified a cheating file:\n%s", name, file)
		}
	}
}

// A looping tactic is stopped at its CPU budget by SIGINT, and the process
// is kept; a stopped coqtop is killed at the theorem's deadline, and the
// search goes on on a new process that replayed the path.
func TestLoopInterruptedAndStoppedCoqtopReplaced(t *testing.T) {
	needCoq(t)
	t.Parallel()
	ctx := context.Background()
	b := New(Config{Workers: 1, Grace: 500 * time.Millisecond})
	defer b.Close()
	thm := parse(t, "mathd_algebra_141", algebra141)
	sess, err := b.Open(ctx, thm)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	s := sess.(*session)
	r, err := s.Apply(ctx, 0, "assert (H : a + b = 27) by lra.", time.Second)
	if err != nil || r.Status != prover.StepOpen {
		t.Fatalf("assert: %+v %v", r, err)
	}
	deep := r.State.ID
	start := time.Now()
	r, err = s.Apply(ctx, deep, "let rec f x := f x in f 0.", time.Second)
	if err != nil || r.Status != prover.StepTimeout || !strings.Contains(r.Message, "of CPU") {
		t.Fatalf("loop: %+v %v; want a timeout on the CPU budget", r, err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Fatalf("the looping tactic took %v to be stopped", d)
	}
	if st := s.Stats(); st.Interrupted != 1 || st.Killed != 0 || st.Restarts != 0 {
		t.Fatalf("stats after the loop: %+v (%s); want it interrupted, the process kept", st, r.Message)
	}
	// Stop the process, as a debugger or the OOM killer's freeze would.
	stop(t, s.c.p.Pid())
	tctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	start = time.Now()
	if _, err := s.Apply(tctx, deep, "nra.", 5*time.Second); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Apply on a stopped coqtop: %v; want the theorem's deadline", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("a stopped coqtop cost %v with a 1s budget", d)
	}
	// The search goes on: the state is rebuilt by replay on a new process.
	r, err = s.Apply(ctx, deep, "nra.", 5*time.Second)
	if err != nil || r.Status != prover.StepProved {
		t.Fatalf("after the kill: %+v %v", r, err)
	}
	if st := s.Stats(); st.Killed != 1 || st.Restarts != 1 || st.Starts != 2 {
		t.Errorf("stats = %+v, want a kill, a restart, two processes", st)
	}
}

func TestCrashedCoqtopIsReplaced(t *testing.T) {
	needCoq(t)
	t.Parallel()
	ctx := context.Background()
	b := New(Config{Workers: 1})
	defer b.Close()
	thm := parse(t, "mathd_algebra_141", algebra141)
	sess, err := b.Open(ctx, thm)
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	s := sess.(*session)
	r, err := s.Apply(ctx, 0, "assert (H : a + b = 27) by lra.", 5*time.Second)
	if err != nil || r.Status != prover.StepOpen {
		t.Fatalf("assert: %+v %v", r, err)
	}
	// Crash it from outside, as the OOM killer would.
	if err := syscall.Kill(-s.c.p.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-s.c.p.Done()
	r, err = s.Apply(ctx, r.State.ID, "nra.", 5*time.Second)
	// The crash is seen on this request; the theorem continues on the next.
	if err != nil {
		t.Fatalf("apply after crash: %v", err)
	}
	if r.Status != prover.StepProved {
		r, err = s.Apply(ctx, 1, "nra.", 5*time.Second)
		if err != nil || r.Status != prover.StepProved {
			t.Fatalf("second apply after crash: %+v %v", r, err)
		}
	}
	if st := s.Stats(); st.Crashes != 1 || st.Restarts != 1 {
		t.Errorf("stats = %+v, want one crash and one restart", st)
	}
}

func TestMissingCoqtopIsOneClearError(t *testing.T) {
	t.Parallel()
	b := New(Config{Coqtop: []string{"/nonexistent/coqtop"}})
	defer b.Close()
	thm := parse(t, "mathd_algebra_141", algebra141)
	_, err := b.Open(context.Background(), thm)
	if err == nil || !strings.Contains(err.Error(), "apt-get install") {
		t.Fatalf("Open with no coqtop: %v; want an install hint", err)
	}
}

func TestParseAllMiniF2F(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("..", "..", "shared", "data", "minif2f", "coq")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("skipping: %s absent (it lives beside the project as ../shared)", dir)
	}
	n := 0
	for _, split := range []string{"test", "valid"} {
		files, _ := filepath.Glob(filepath.Join(dir, split, "*.v"))
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimSuffix(filepath.Base(f), ".v")
			thm, err := ParseTheorem(name, string(src))
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			if !strings.Contains(thm.Statement, name) || !strings.HasSuffix(thm.Statement, ".") {
				t.Errorf("%s: statement %q", f, thm.Statement)
			}
			n++
		}
	}
	if n != 488 {
		t.Errorf("parsed %d files, want 488", n)
	}
	src, _ := os.ReadFile(filepath.Join(dir, "valid", "imo_1966_p5.v"))
	thm, err := ParseTheorem("imo_1966_p5", string(src))
	if err != nil || strings.Contains(thm.Statement, "imo_1966_p5'") || strings.Contains(thm.Header, "Theorem") {
		t.Errorf("imo_1966_p5: %q %v", thm.Statement, err)
	}
}

func TestParseShowAndAssumptions(t *testing.T) {
	t.Parallel()
	g, proved, ok := parseShow("2 goals (ID 5)\n  \n  n : nat\n  ============================\n  n = n\n\ngoal 2 (ID 6) is:\n n > 0 -> n >= 1\n\n")
	if !ok || proved || g.Count != 2 || g.First != "n : nat\n============================\nn = n" || g.Rest[0] != "n > 0 -> n >= 1" {
		t.Fatalf("parseShow = %#v %v %v", g, proved, ok)
	}
	for _, s := range []string{
		"<infomsg>No more goals, but there are some goals you gave up:</infomsg>\n",
		"<infomsg>\nThis subproof is complete, but there are some unfocused goals.\nFocus next goal with bullet -.\n</infomsg>\n",
		"No more goals",
		"",
	} {
		if _, proved, ok := parseShow(s); proved || ok {
			t.Errorf("parseShow(%q) = proved %v ok %v; want neither", s, proved, ok)
		}
	}
	out := "Axioms:\nClassicalDedekindReals.sig_forall_dec\n  : forall P : nat -> Prop,\n    (forall n : nat, {P n} + {~ P n}) ->\n    {n : nat | ~ P n} + {forall n : nat, P n}\ncheat : False\n"
	ax, found, unknown := parseAssumptions(out)
	if !found || len(ax) != 2 || ax[1] != "cheat" || len(unknown) != 0 {
		t.Fatalf("parseAssumptions = %q %v %q", ax, found, unknown)
	}
	if ax, found, _ := parseAssumptions("Closed under the global context\n"); !found || len(ax) != 0 {
		t.Fatalf("closed: %q %v", ax, found)
	}
	if _, found, _ := parseAssumptions("Error: nope"); found {
		t.Fatal("found assumptions in an error")
	}
}

// BenchmarkTimeoutCost measures what a tactic past its budget costs the
// search: stopped by SIGINT (the process kept), or killed (a new process,
// the prelude and the theorem loaded again, the path replayed), as the
// next tactic on a node two tactics deep sees it.
func BenchmarkTimeoutCost(b *testing.B) {
	if testing.Short() {
		b.Skip("skipping: runs the real coqtop (-short)")
	}
	if _, err := exec.LookPath("coqtop"); err != nil {
		b.Skip("skipping: coqtop not installed")
	}
	thm, err := ParseTheorem("mathd_algebra_141", algebra141)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	be := New(Config{Workers: 1})
	defer be.Close()
	sess, err := be.Open(ctx, thm)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	s := sess.(*session)
	r, err := s.Apply(ctx, 0, "intros.", time.Second)
	if err != nil || r.Status != prover.StepOpen {
		b.Fatalf("intros: %+v %v", r, err)
	}
	r, err = s.Apply(ctx, r.State.ID, "assert (H : a + b = 27) by lra.", time.Second)
	if err != nil || r.Status != prover.StepOpen {
		b.Fatalf("assert: %+v %v", r, err)
	}
	deep := r.State.ID
	const budget = 100 * time.Millisecond
	b.Run("interrupt", func(b *testing.B) {
		for b.Loop() {
			r, err := s.Apply(ctx, deep, "let rec f x := f x in f 0.", budget)
			if err != nil || r.Status != prover.StepTimeout {
				b.Fatalf("loop: %+v %v", r, err)
			}
			if r, err := s.Apply(ctx, deep, "lra.", time.Second); err != nil || r.Status == prover.StepTimeout {
				b.Fatalf("next tactic: %+v %v", r, err)
			}
		}
		b.ReportMetric(float64(s.Stats().Restarts), "restarts")
	})
	b.Run("kill", func(b *testing.B) {
		for b.Loop() {
			r, err := s.Apply(ctx, deep, "let rec f x := f x in f 0.", budget)
			if err != nil || r.Status != prover.StepTimeout {
				b.Fatalf("loop: %+v %v", r, err)
			}
			s.c.kill() // as if it had ignored SIGINT
			s.detach()
			if r, err := s.Apply(ctx, deep, "lra.", time.Second); err != nil || r.Status == prover.StepTimeout {
				b.Fatalf("next tactic: %+v %v", r, err)
			}
		}
	})
}
