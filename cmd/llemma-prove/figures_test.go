package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/prover"
)

// TestFigureModes measures issue 16's figures on Coq valid (run it under
// the heavy lock; it is skipped unless FIGURES_FROM names a step-wise
// results file of the valid split):
//
//	flock /tmp/llemma-heavy.lock env FIGURES_FROM=/path/valid.jsonl FIGURES_OUT=/tmp/fig \
//	  go test -count=1 -run TestFigureModes -v -timeout 60m ./cmd/llemma-prove
//
// It takes 10 theorems the step-wise search proved whose nra/lia steps are
// all in the closing tactic (most tactics first, then by name), and
//
//   - repair: a stand-in model returns each proof with its last tactic
//     broken (exact I.); asked for a repair, it replaces the tactic on the
//     line the checker's first error names (mapped through the file the
//     mode assembled) by the original one, and returns its attempt
//     unchanged when the error names no line of it. minif2f --mode
//     whole-proof --repair-rounds 1 counts what the repair round recovers.
//   - sketch: each proof with its nra/lia step replaced by admit. is a
//     sketch (--sketch-from); minif2f --mode sketch counts the holes the
//     portfolio closes, the verified sketches and the time per hole.
func TestFigureModes(t *testing.T) {
	from := os.Getenv("FIGURES_FROM")
	if from == "" {
		t.Skip("set FIGURES_FROM to a step-wise results file of Coq valid (see the doc comment)")
	}
	needCoq(t)
	data := coqData(t)
	outDir := os.Getenv("FIGURES_OUT")
	if outDir == "" {
		outDir = t.TempDir()
	}
	rf, err := benchmarks.OpenRunFile(from)
	if err != nil {
		t.Fatal(err)
	}
	all, _, err := rf.ReadResults()
	rf.Close(false)
	if err != nil {
		t.Fatal(err)
	}
	arith := regexp.MustCompile(`\b(nra|lia)\b`)
	var picked []benchmarks.Result
	for _, r := range benchmarks.Dedup(all, benchmarks.Result.Key) {
		if r.Status != "proved" || r.Split != "valid" || len(r.Proof) == 0 || !arith.MatchString(r.Proof[len(r.Proof)-1]) {
			continue
		}
		ok := true
		for _, tac := range r.Proof[:len(r.Proof)-1] {
			ok = ok && !arith.MatchString(tac)
		}
		if ok {
			picked = append(picked, r)
		}
	}
	sort.Slice(picked, func(i, j int) bool {
		if len(picked[i].Proof) != len(picked[j].Proof) {
			return len(picked[i].Proof) > len(picked[j].Proof)
		}
		return picked[i].Name < picked[j].Name
	})
	if len(picked) < 10 {
		t.Fatalf("only %d usable proofs in %s", len(picked), from)
	}
	picked = picked[:10]
	names := make([]string, len(picked))
	proofs := map[string][]string{}
	thms := map[string]prover.Theorem{}
	for i, r := range picked {
		names[i] = r.Name
		proofs[r.Name] = r.Proof
		src, err := os.ReadFile(filepath.Join(data, "valid", r.Name+".v"))
		if err != nil {
			t.Fatal(err)
		}
		if thms[r.Name], err = coq.ParseTheorem(r.Name, string(src)); err != nil {
			t.Fatal(err)
		}
	}
	only := strings.Join(names, ",")
	t.Logf("theorems: %s", only)
	b := coq.New(coq.Config{})
	defer b.Close()

	// Repair.
	broken := func(name string) []string {
		p := append([]string(nil), proofs[name]...)
		p[len(p)-1] = "exact I."
		return p
	}
	nameRE := regexp.MustCompile(`Theorem (\w+)`)
	lineRE := regexp.MustCompile(`line (\d+)`)
	var (
		logMu     sync.Mutex
		repairLog []string
	)
	note := func(format string, args ...any) {
		logMu.Lock()
		repairLog = append(repairLog, fmt.Sprintf(format, args...))
		logMu.Unlock()
	}
	srv, _ := fakeWriter(t, func(p string) string {
		m := nameRE.FindStringSubmatch(p)
		if m == nil {
			return "  idtac.\n"
		}
		name := m[1]
		attempt := broken(name)
		if !strings.Contains(p, "This attempt failed") {
			return strings.Join(attempt, "\n") + "\n"
		}
		errText := p[strings.Index(p, "The checker's error:"):]
		lm := lineRE.FindStringSubmatch(errText)
		file, err := b.AssembleWhole(thms[name], strings.Join(attempt, "\n"), prover.WholeOptions{})
		if lm == nil || err != nil {
			note("%s: the error names no line", name)
			return strings.Join(attempt, "\n") + "\n"
		}
		n, _ := strconv.Atoi(lm[1])
		lines := strings.Split(file, "\n")
		if n < 1 || n > len(lines) {
			note("%s: line %d is outside the file", name, n)
			return strings.Join(attempt, "\n") + "\n"
		}
		bad := strings.TrimSpace(lines[n-1])
		for i, tac := range attempt {
			if strings.TrimSpace(tac) == bad {
				attempt[i] = proofs[name][i]
				note("%s: line %d is tactic %d (%s): replaced", name, n, i+1, bad)
				return strings.Join(attempt, "\n") + "\n"
			}
		}
		note("%s: line %d (%q) is none of the attempt's tactics", name, n, bad)
		return strings.Join(attempt, "\n") + "\n"
	})
	wholeOut := filepath.Join(outDir, "whole-proof.jsonl")
	os.Remove(wholeOut)
	os.Remove(benchmarks.MetaPath(wholeOut))
	_, stderr, code := runCLI(t, "minif2f", "--backend", "coq", "--proposer", "llm", "--model-url", srv.URL, "--model", "fake",
		"--data", data, "--split", "valid", "--only", only, "--out", wholeOut, "--mode", "whole-proof", "--repair-rounds", "1", "--workers", "2")
	if code != 0 {
		t.Fatalf("whole-proof: exit %d\n%s", code, stderr)
	}
	wrs := lines(t, wholeOut)
	first, recovered := 0, 0
	var verifyS []float64
	for _, r := range wrs {
		for _, s := range r.Samples {
			verifyS = append(verifyS, s.VerifyS)
		}
		if len(r.Samples) > 0 && r.Samples[0].Verified {
			first++
		}
		if r.Status == "proved" && len(r.Samples) == 2 && r.Samples[1].Verified {
			recovered++
		}
	}
	recheck(t, data, wrs)
	for _, l := range repairLog {
		t.Logf("repair: %s", l)
	}
	t.Logf("FIGURE repair: %d theorems, broken proofs verified in round 0: %d, recovered by the repair round: %d/%d; final checks %d, mean %.2fs",
		len(wrs), first, recovered, len(wrs), len(verifyS), mean(verifyS))

	// Sketch.
	var sb strings.Builder
	holes := 0
	for _, n := range names {
		p := append([]string(nil), proofs[n]...)
		for i, tac := range p {
			if arith.MatchString(tac) {
				p[i] = "admit."
				holes++
			}
		}
		line, _ := json.Marshal(map[string]string{"name": n, "sketch": strings.Join(p, "\n")})
		sb.Write(line)
		sb.WriteString("\n")
	}
	sketchFile := filepath.Join(outDir, "sketches.jsonl")
	if err := os.WriteFile(sketchFile, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	sketchOut := filepath.Join(outDir, "sketch.jsonl")
	os.Remove(sketchOut)
	os.Remove(benchmarks.MetaPath(sketchOut))
	_, stderr, code = runCLI(t, "minif2f", "--backend", "coq", "--data", data, "--split", "valid", "--only", only,
		"--out", sketchOut, "--mode", "sketch", "--sketch-from", sketchFile, "--workers", "2")
	if code != 0 {
		t.Fatalf("sketch: exit %d\n%s", code, stderr)
	}
	srs := lines(t, sketchOut)
	closed, proved, total := 0, 0, 0
	var perHole []float64
	for _, r := range srs {
		for _, s := range r.Samples {
			total += s.Holes
			closed += s.Closed
			if s.Holes > 0 {
				perHole = append(perHole, s.SearchS/float64(s.Holes))
			}
		}
		if r.Status == "proved" {
			proved++
		}
		t.Logf("sketch %s: %s (%s)", r.Name, r.Status, r.Error)
	}
	recheck(t, data, srs)
	sort.Float64s(perHole)
	t.Logf("FIGURE sketch: %d sketches, %d holes (%d written), closed %d, sketches verified %d/%d; time per hole mean %.2fs, median %.2fs, max %.2fs",
		len(srs), total, holes, closed, proved, len(srs), mean(perHole), perHole[len(perHole)/2], perHole[len(perHole)-1])
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
