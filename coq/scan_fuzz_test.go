package coq

import (
	"errors"
	"testing"
)

// escapes are sentences the scanner must refuse wherever they stand.
var escapes = []string{
	`Redirect "/tmp/llemma-escape" Print nat.`,
	`Time Redirect "x" Print nat.`,
	`Cd "/".`,
	`Load "/etc/passwd".`,
	`Declare ML Module "coq-core.plugins.ltac".`,
	`Add LoadPath "/" as Root.`,
	`Extraction "out.ml" nat.`,
	`Unset Guard Checking.`,
	`#[bypass_check(guard)] Fixpoint f (n : nat) : nat := f n.`,
	`Eval native_compute in 1.`,
}

// No file the scanner accepts can hide a sentence that follows it: when
// ScanFile accepts src (it parses to its end, no comment or string left
// open), src followed by any escape is refused. This is what keeps a
// prefix of untrusted text from swallowing, or disguising, the escape.
func FuzzScanFile(f *testing.F) {
	for _, s := range []string{
		"Theorem t : True. Proof. exact I. Qed.",
		"(* a comment *) Require Import Arith.",
		`Notation "'x'" := 1. (* "(*" *)`,
		"Goal True. - exact I. Qed.",
		`Definition s := "Redirect". Check s.`,
		"(* (* nested *) *)",
		"Check 1.\n(* open",
		`Check "open`,
		"Check 1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		_, err := ScanFile(src)
		var r *Refused
		if err != nil && !errors.As(err, &r) {
			t.Fatalf("ScanFile(%q): %v is not a *Refused", src, err)
		}
		if err != nil {
			return
		}
		for _, e := range escapes {
			if _, err := ScanFile(src + "\n" + e + "\n"); err == nil {
				t.Fatalf("ScanFile accepted %q followed by %q", src, e)
			}
		}
	})
}
