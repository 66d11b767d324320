package coq

import (
	"strings"
	"testing"
)

// FuzzParseShow feeds arbitrary coqtop output to the goal and assumption
// decoders: no panic, and "proved" only for exactly "No more goals.".
func FuzzParseShow(f *testing.F) {
	for _, s := range []string{
		"1 goal (ID 8)\n  \n  a, b : R\n  h₁ : a * b = 180\n  ============================\n  a ^ 2 + b ^ 2 = 369\n\n",
		"2 goals (ID 5)\n  \n  n : nat\n  ============================\n  n = n\n\ngoal 2 (ID 6) is:\n n > 0 -> n >= 1\n\n",
		"No more goals.\n\n",
		"<infomsg>No more goals, but there are some goals you gave up:</infomsg>\n",
		"Axioms:\nClassicalDedekindReals.sig_forall_dec\n  : forall P : nat -> Prop,\ncheat : False\n",
		"Closed under the global context\n",
		"3 goals\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		g, proved, ok := parseShow(s)
		if proved && strings.TrimSpace(idRE.ReplaceAllString(s, "")) != "No more goals." {
			t.Fatalf("parseShow(%q) = proved", s)
		}
		if ok && !proved && (g.Count < 1 || len(g.Rest) != g.Count-1) {
			t.Fatalf("parseShow(%q) = %+v: inconsistent goal count", s, g)
		}
		parseShowN(s)
		parseAssumptions(s)
		declaredAssumptions(s)
		if m := promptRE.FindStringSubmatch(s); m != nil && len(m) != 5 {
			t.Fatalf("prompt match %q", m)
		}
	})
}
