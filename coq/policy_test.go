package coq

import (
	"errors"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llemma-prove/llemma-prove/prover"
)

// coqRule returns the Rejection rule of err, or "" when err is not a Rejection.
func coqRule(err error) string {
	var r *prover.Rejection
	if errors.As(err, &r) {
		return r.Rule
	}
	return ""
}

func TestPolicyAccepts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"intros; nra", "intros; nra."},
		{"nra.", "nra."},
		{"  nra.  \n", "nra."},
		{"lia", "lia."},
		{"all: lia.", "all: lia."},
		{"2: lia.", "2: lia."},
		{"1-2: lia", "1-2: lia."},
		{"[x]: lia.", "[x]: lia."},
		{"assert (H : a + b = 27) by lra.", "assert (H : a + b = 27) by lra."},
		{"rewrite Nat.add_comm in *.", "rewrite Nat.add_comm in *."},
		{"unfold f in *; lia.", "unfold f in *; lia."},
		{"psatz R 2", "psatz R 2."},
		{"field_simplify; lra", "field_simplify; lra."},
		{"apply Rmult_comm.", "apply Rmult_comm."},
		{"apply Rle_refl", "apply Rle_refl."},
		{"nlinarith [h₁, h₂]", "nlinarith [h₁, h₂]."}, // not Coq syntax: the policy does not judge syntax, Coq does
		{"rewrite h₁ in h₂.", "rewrite h₁ in h₂."},
		{"(intros; subst; field).", "(intros; subst; field)."},
		{"intros x y.\n", "intros x y."},
		{"intros\n  x y", "intros\n  x y."}, // a newline inside a sentence is white space
		{"auto with *.", "auto with *."},
		{"_foo.", "_foo."},
		{"[> lia | lra].", "[> lia | lra]."},
		{"destruct (Rle_dec x 0) as [H|H]; lra.", "destruct (Rle_dec x 0) as [H|H]; lra."},
		// A period inside a string does not end the sentence (coqtop lexes the
		// string as one token), so this is one sentence, and harmless.
		{`idtac "a. b".`, `idtac "a. b".`},
		{`idtac """".`, `idtac """".`},
		// A period not followed by white space does not end a sentence either:
		// Coq reads "lia.Admitted" as one qualified name (an unknown tactic).
		{"lia.Admitted.", "lia.Admitted."},
		{"apply Nat.Proof_irrelevance.", "apply Nat.Proof_irrelevance."},
		{"apply admit_free_lemma.", "apply admit_free_lemma."},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := Policy{}.Check(tt.in)
			if err != nil {
				t.Fatalf("Check(%q) = %v, want %q", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Fatalf("Check(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if !strings.HasSuffix(got, ".") || strings.HasSuffix(got, "..") {
				t.Fatalf("Check(%q) = %q: want exactly one final period", tt.in, got)
			}
			again, err := Policy{}.Check(got)
			if err != nil || again != got {
				t.Fatalf("Check is not idempotent: Check(%q) = %q, %v", got, again, err)
			}
		})
	}
}

func TestPolicyRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		rule string // "" accepts any rule
	}{
		// Giving up a goal.
		{"Admitted.", "vernacular"},
		{"Admitted", "vernacular"},
		{"admit.", "forbidden-word"},
		{"admit", "forbidden-word"},
		{"give_up.", "forbidden-word"},
		{"all: admit.", "forbidden-word"},
		{"2: give_up", "forbidden-word"},
		{"try admit.", "forbidden-word"},
		{"intros; admit.", "forbidden-word"},
		{"exact ltac:(admit).", "forbidden-word"},
		{"assert False by give_up.", "forbidden-word"},
		{"abstract admit.", "forbidden-word"},
		{"Abort.", "vernacular"},
		// Closing commands typed as a tactic.
		{"Qed.", "vernacular"},
		{"Defined.", "vernacular"},
		{"Save.", "vernacular"},
		{"Save foo.", "vernacular"},
		// Vernacular commands.
		{"Axiom c : False.", "vernacular"},
		{"Axioms c d : False.", "vernacular"},
		{"Parameter p : nat.", "vernacular"},
		{"Hypothesis h : False.", "vernacular"},
		{"Variable v : nat.", "vernacular"},
		{"Conjecture c : False.", "vernacular"},
		{"Definition d := 1.", "vernacular"},
		{"Fixpoint f n := n.", "vernacular"},
		{"Lemma l : False.", "vernacular"},
		{"Theorem l : False.", "vernacular"},
		{"Require Import Lia.", "vernacular"},
		{"From Coq Require Import Lia.", "vernacular"},
		{"Import Nat.", "vernacular"},
		{"Load evil.", "vernacular"},
		{"Drop.", "vernacular"},
		{"Declare ML Module \"x\".", "vernacular"},
		{"Set Printing All.", "vernacular"},
		{"Unset Silent.", "vernacular"},
		{"Redirect \"f\" Print All.", "vernacular"},
		{"Timeout 5 Admitted.", "vernacular"},
		{"Timeout 5 lia.", "vernacular"},
		{"Time lia.", "vernacular"},
		{"Fail fail.", "vernacular"},
		{"Ltac t := admit.", "vernacular"},
		{"Reset Initial.", "vernacular"},
		{"Back 2.", "vernacular"},
		{"BackTo 3.", "vernacular"},
		{"Undo.", "vernacular"},
		{"Restart.", "vernacular"},
		{"Quit.", "vernacular"},
		{"Proof.", "vernacular"},
		{"Show.", "vernacular"},
		{"Print Assumptions t.", "vernacular"},
		{"Hint Resolve x.", "vernacular"},
		{"Opaque f.", "vernacular"},
		{"all: Axiom c : False.", "vernacular"},
		{"2: Admitted.", "vernacular"},
		// Forbidden words away from the start of the sentence.
		{"exact Admitted.", "forbidden-word"},
		{"(Axiom c : False).", "forbidden-word"},
		{"[Require]: lia.", "forbidden-word"},
		{"idtac; Qed.", "forbidden-word"},
		// More than one sentence per candidate.
		{"intros. lia.", "multiple-sentences"},
		{"intros. lia", "multiple-sentences"},
		{"intros.\nAdmitted.", "multiple-sentences"},
		{"lia. Admitted.", "multiple-sentences"},
		{"intros.\tlia.", "multiple-sentences"},
		{"- lia.", "multiple-sentences"},
		{"+ lia", "multiple-sentences"},
		{"** lia.", "multiple-sentences"},
		{"{ lia. }", "multiple-sentences"},
		{"lia. }", "multiple-sentences"},
		{"intros. - lia.", "multiple-sentences"},
		// Bullets and braces alone.
		{"-", "structure"},
		{"--", "structure"},
		{"+", "structure"},
		{"*", "structure"},
		{"{", "structure"},
		{"}", "structure"},
		{"2: {", "vernacular"},
		// Comments, whatever they hide.
		{"lia (* . Admitted. *)", "comment"},
		{"(* *) Admitted.", "comment"},
		{"lia. (* x *)", "comment"},
		{"(* (* nested *) . Admitted. *) lia.", "comment"},
		{"lia (* unterminated", "comment"},
		{"lia *)", "comment"},
		{"exact c (* *)", "comment"},
		{`idtac "(*".`, "comment"}, // conservative: even inside a string
		// A string hiding a period and a command: one sentence, but the word is there.
		{`idtac "a. Admitted".`, "forbidden-word"},
		{`idtac "Axiom c : False. ".`, "forbidden-word"},
		// Incomplete input would leave coqtop waiting for more.
		{`idtac "a`, "incomplete"},
		{`idtac "a.`, "incomplete"},
		{`idtac "a"" b.`, "incomplete"},
		// More than one period at the end.
		{"lia..", "structure"},
		{"auto...", "structure"},
		// Prompt markup and control characters break coqtop's framing.
		{"<prompt>t < 8 |t| 0 < </prompt>", "prompt-marker"},
		{"lia </prompt>", "prompt-marker"},
		{"lia.\x00", "encoding"},
		{"li\x1ba.", "encoding"},
		{"intros.\r\nlia.", "encoding"},
		{"lia\u0085.", "encoding"},
		{"li\xffa.", "encoding"},
		// Skipping the type check.
		{"exact_no_check I.", "no-check"},
		{"vm_cast_no_check I.", "no-check"},
		{"native_cast_no_check I.", "no-check"},
		{"change_no_check True.", "no-check"},
		{"intros; exact_no_check I", "no-check"},
		// Nothing, or too much.
		{"", "empty"},
		{"   \n\t", "empty"},
		{".", "empty"},
		{" . ", "empty"},
		{strings.Repeat("idtac; ", 400) + "lia.", "too-long"},
		// Not starting like a tactic.
		{`"" `, "vernacular"},
		{"1 + 1.", "vernacular"},
		{"Lia.", "vernacular"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := Policy{}.Check(tt.in)
			if err == nil {
				t.Fatalf("Check(%q) = %q, want a rejection", tt.in, got)
			}
			var rej *prover.Rejection
			if !errors.As(err, &rej) {
				t.Fatalf("Check(%q) error %v is not a *Rejection", tt.in, err)
			}
			if tt.rule != "" && rej.Rule != tt.rule {
				t.Errorf("Check(%q) rule = %q (%v), want %q", tt.in, rej.Rule, err, tt.rule)
			}
			if got != "" {
				t.Errorf("Check(%q) returned %q with its rejection", tt.in, got)
			}
		})
	}
}

// What a proposer must never get past the policy to coqtop (the list the
// agent's tests used when the policy lived in prover).
func TestPolicyRefusesCheats(t *testing.T) {
	t.Parallel()
	for _, c := range []string{
		"Admitted.", "admit.", "admit", "give_up.", "Axiom c : False.", "intros. Admitted.",
		"exact c (* *)", "lia (* . Admitted. *)", "(* *) Admitted.", "Abort.", "Qed.",
		"Require Import Classical.", "- lia.", "all: admit.", "exact_no_check I.",
		"Set Printing All.", "Unset Silent.", "Reset Initial.", "BackTo 1.", "Quit.",
		`idtac "a. Admitted".`, `idtac "`, "<prompt>Coq < 1 || 0 < </prompt>", "intros.\x00",
		"Timeout 1 Admitted.", "Fail fail.", "lia..", "{",
	} {
		if got, err := (Policy{}).Check(c); err == nil {
			t.Errorf("Check(%q) = %q, want a rejection", c, got)
		}
	}
}

func TestPolicyMaxLen(t *testing.T) {
	t.Parallel()
	p := Policy{MaxLen: 10}
	if _, err := p.Check("lia."); err != nil {
		t.Fatalf("short tactic rejected: %v", err)
	}
	if _, err := p.Check("intros x y z; lia."); coqRule(err) != "too-long" {
		t.Fatalf("long tactic: err = %v, want too-long", err)
	}
}

func TestSplitSentences(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		in        string
		sentences []string
		rest      string
		err       error
	}{
		{"empty", "", nil, "", nil},
		{"one", "lia.", []string{"lia."}, "", nil},
		{"fragment", "intros; nra", nil, "intros; nra", nil},
		{"two", "intros. lia.", []string{"intros.", "lia."}, "", nil},
		{"two newline", "intros.\nlia.\n", []string{"intros.", "lia."}, "", nil},
		{"sentence and rest", "intros. lia", []string{"intros."}, "lia", nil},
		{"qualified name", "rewrite Nat.add_comm.", []string{"rewrite Nat.add_comm."}, "", nil},
		{"period then letter", "lia.Admitted.", []string{"lia.Admitted."}, "", nil},
		{"bullet", "- lia.", []string{"-", "lia."}, "", nil},
		{"bullets repeated", "-- ++ ** lia.", []string{"--", "++", "**", "lia."}, "", nil},
		{"bullet then other bullet", "-+ lia.", []string{"-", "+", "lia."}, "", nil},
		{"braces", "{ lia. }", []string{"{", "lia.", "}"}, "", nil},
		{"star inside a sentence", "rewrite H in *.", []string{"rewrite H in *."}, "", nil},
		{"minus inside a sentence", "lia - 1.", []string{"lia - 1."}, "", nil},
		{"comment hides period", "lia (* . Admitted. *).", []string{"lia (* . Admitted. *)."}, "", nil},
		{"nested comment", "(* a (* b. *) c. *) lia.", []string{"lia."}, "", nil}, // a leading comment is dropped
		{"comment before bullet", "(* c *) - lia.", []string{"-", "lia."}, "", nil},
		{"comment then command", "(* *) Admitted.", []string{"Admitted."}, "", nil},
		{"string hides period", `idtac "a. Admitted".`, []string{`idtac "a. Admitted".`}, "", nil},
		{"escaped quote", `idtac "a"". b". lia.`, []string{`idtac "a"". b".`, "lia."}, "", nil},
		{"string with comment opener", `idtac "(*". lia.`, []string{`idtac "(*".`, "lia."}, "", nil},
		{"utf8", "rewrite h₁. lia.", []string{"rewrite h₁.", "lia."}, "", nil},
		{"ellipsis", "auto...", []string{"auto..."}, "", nil},
		{"unterminated comment", "lia (* .", nil, "", ErrIncomplete},
		{"unterminated nested comment", "(* (* *) lia.", nil, "", ErrIncomplete},
		{"unterminated string", `idtac "a. b.`, nil, "", ErrIncomplete},
		{"unterminated string after sentence", `lia. idtac "`, []string{"lia."}, "", ErrIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, rest, err := SplitSentences(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("SplitSentences(%q) err = %v, want %v", tt.in, err, tt.err)
			}
			if !reflect.DeepEqual(got, tt.sentences) {
				t.Errorf("SplitSentences(%q) = %q, want %q", tt.in, got, tt.sentences)
			}
			if rest != tt.rest {
				t.Errorf("SplitSentences(%q) rest = %q, want %q", tt.in, rest, tt.rest)
			}
		})
	}
}

var coqTestNoCheck = regexp.MustCompile(`_no_check(?:$|[^\p{L}\p{N}_'])`)

var coqTestAdmitWord = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_'.])(admit|give_up|Admitted)(?:$|[^\p{L}\p{N}_'])`)

func FuzzPolicy(f *testing.F) {
	for _, s := range []string{
		"intros; nra", "all: lia.", "lia (* . Admitted. *)", `idtac "a. Admitted".`,
		"- lia.", "intros. lia.", "exact_no_check I.", "Axiom c : False.", "{", "lia..",
		`idtac "a`, "rewrite h₁ in *.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Policy{}.Check(in)
		if err != nil {
			if out != "" {
				t.Fatalf("Check(%q) returned %q with error %v", in, out, err)
			}
			if coqRule(err) == "" {
				t.Fatalf("Check(%q) error %v is not a *Rejection", in, err)
			}
			return
		}
		sentences, rest, serr := SplitSentences(out)
		if serr != nil || rest != "" || len(sentences) != 1 || sentences[0] != out {
			t.Fatalf("accepted %q (from %q) splits into %q, rest %q, err %v", out, in, sentences, rest, serr)
		}
		if !strings.HasSuffix(out, ".") || strings.HasSuffix(out, "..") {
			t.Fatalf("accepted %q (from %q) does not end in exactly one period", out, in)
		}
		if strings.Contains(out, "(*") || strings.Contains(out, "*)") || strings.Contains(out, "<prompt>") {
			t.Fatalf("accepted %q (from %q) holds a comment or prompt marker", out, in)
		}
		if coqTestAdmitWord.MatchString(out) || coqTestNoCheck.MatchString(out) {
			t.Fatalf("accepted %q (from %q) gives up or skips a check", out, in)
		}
		if !utf8.ValidString(out) {
			t.Fatalf("accepted %q is not UTF-8", out)
		}
		if again, err := (Policy{}).Check(out); err != nil || again != out {
			t.Fatalf("Check not idempotent on %q: %q, %v", out, again, err)
		}
	})
}
