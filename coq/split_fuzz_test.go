package coq

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The verifier scans a file sentence by sentence before coqc sees it. If
// the splitter cut a file differently from Coq, a command could hide inside
// what the scanner takes for another sentence: so the splitter is fuzzed
// against coqc itself, comparing where each sentence ends (coqc -time
// prints every sentence's byte range).

var coqTimeRE = regexp.MustCompile(`(?m)^Chars (\d+) - (\d+) \[`)

// coqSentenceEnds runs coqc -time on src and returns each sentence's end
// offset, or ok false when coqc rejected the file.
func coqSentenceEnds(t *testing.T, src string) (ends []int, ok bool) {
	t.Helper()
	dir := t.TempDir()
	f := filepath.Join(dir, "S.v")
	if err := os.WriteFile(f, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(context.Background(), "coqc", "-q", "-time", "S.v")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, false
	}
	for _, m := range coqTimeRE.FindAllStringSubmatch(string(out), -1) {
		e, _ := strconv.Atoi(m[2])
		ends = append(ends, e)
	}
	return ends, true
}

// fragments are pieces of valid Coq that stress the lexer: periods inside
// strings, comments and qualified names, nested comments, doubled quotes,
// bullets and braces, non-ASCII text, all kinds of white space.
var fragments = []string{
	"Check nat.",
	"Check Coq.Init.Nat.add.",
	`Comments "a. b" x.`,
	`Comments "(* not a comment . *)".`,
	`Comments "he said ""stop."" twice".`,
	"(* a comment. with periods. *)",
	"(* nested (* comment . *) still. *)",
	`(* a "string. in" a comment *)`,
	"(* é ∀ x, x. *)",
	"Definition d := 1.",
	"Check (1 + 1).",
	"Check (fun x : nat => x).",
	"Goal True /\\ True. split. - exact I. - { exact I. } Qed.",
	"Goal True. + exact I. Qed.",
	"Goal True. * exact I. Qed.",
	"Goal True. exact I.\tQed.",
	"Lemma l : 0 = 0. Proof. reflexivity. Qed.",
	"Check 0.(* touching *)",
	"Check 0.\r\n",
}

var blanks = []string{" ", "\n", "\t", "\n\n", " (* c *) ", "\r\n"}

func genFile(r *rand.Rand) string {
	var sb strings.Builder
	n := 1 + r.IntN(8)
	for i := 0; i < n; i++ {
		sb.WriteString(fragments[r.IntN(len(fragments))])
		sb.WriteString(blanks[r.IntN(len(blanks))])
	}
	return sb.String()
}

// checkSplitAgainstCoq compares the splitter's sentence ends with coqc's.
func checkSplitAgainstCoq(t *testing.T, src string) {
	t.Helper()
	want, ok := coqSentenceEnds(t, src)
	if !ok {
		return // not a file Coq accepts: nothing to compare
	}
	spans, _, err := SplitSpans(src)
	if err != nil {
		t.Fatalf("coqc accepts %q but the splitter says %v", src, err)
	}
	var got []int
	for _, sp := range spans {
		got = append(got, sp[1])
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("sentence ends differ for %q:\n splitter %v\n coqc     %v", src, got, want)
	}
}

func TestSplitterAgreesWithCoqc(t *testing.T) {
	needCoq(t)
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 40; i++ {
		checkSplitAgainstCoq(t, genFile(r))
	}
}

// FuzzSplitAgainstCoqc: `go test -fuzz FuzzSplitAgainstCoqc ./coq` runs
// coqc on every input; plain test runs replay the seeds.
func FuzzSplitAgainstCoqc(f *testing.F) {
	for _, s := range fragments {
		f.Add(s)
	}
	f.Add("Check nat. Redirect \"x\" Print nat.")
	f.Fuzz(func(t *testing.T, src string) {
		if testing.Short() {
			t.Skip("runs coqc")
		}
		if _, err := exec.LookPath("coqc"); err != nil {
			t.Skip("coqc not installed")
		}
		checkSplitAgainstCoq(t, src)
	})
}
