package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/pflag"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/prover"
)

func init() {
	register(&command{
		name:  "check",
		args:  "FILE",
		short: "verify a complete proof file (fresh process, axiom audit); exit 0 only when verified",
		flags: func(fs *pflag.FlagSet) {
			backendFlags(fs)
			fs.String("statement-of", "", "require the file to prove exactly this benchmark theorem's statement")
			fs.String("data", "", "miniF2F directory for --statement-of")
		},
		run: runCheck,
	})
}

var coqDeclRE = regexp.MustCompile(`(?m)^\s*(?:Theorem|Lemma|Example|Corollary|Proposition|Fact|Remark)\s+([\p{L}_][\p{L}\p{N}_']*)`)

func backendForFile(path string) string {
	switch filepath.Ext(path) {
	case ".lean":
		return "lean"
	case ".thy":
		return "isabelle"
	}
	return "coq"
}

func runCheck(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return usagef("check takes one FILE")
	}
	path := args[0]
	src, err := os.ReadFile(path)
	if err != nil {
		return usagef("check: cannot read %s: %v", path, err)
	}
	name := backendForFile(path)
	if a.fs.Changed("backend") {
		if name, err = a.chooseBackend(); err != nil {
			return err
		}
	}
	backend, err := a.newBackend(name)
	if err != nil {
		return err
	}
	defer backend.Close()
	text := string(src)
	var thm prover.Theorem
	if stmtOf := a.v.GetString("statement-of"); stmtOf != "" {
		thm, err = findTheorem(name, a.dataDir(name), stmtOf)
		if err != nil {
			return err
		}
		proof, err := backend.ProofOf(thm, text)
		if err != nil {
			fmt.Fprintf(a.stdout, "NOT VERIFIED %s: %v\n", thm.Name, err)
			return errNotVerified
		}
		text = backend.Assemble(thm, proof)
	} else {
		m := coqDeclRE.FindAllStringSubmatch(text, -1)
		if name != "coq" || len(m) == 0 {
			return usagef("check: no theorem found in %s; use --statement-of NAME", path)
		}
		thm = prover.Theorem{Name: m[len(m)-1][1], Backend: name}
	}
	v, err := backend.Verify(ctx, thm, text)
	if err != nil {
		return err
	}
	axioms := "none"
	if len(v.Axioms) > 0 {
		axioms = strings.Join(v.Axioms, ", ")
	}
	if !v.Verified {
		fmt.Fprintf(a.stdout, "NOT VERIFIED %s: %s\naxioms: %s\n", thm.Name, v.Message, axioms)
		return errNotVerified
	}
	fmt.Fprintf(a.stdout, "verified %s (%s)\naxioms: %s\n", thm.Name, v.Elapsed.Round(1e6), axioms)
	return nil
}

// findTheorem looks a benchmark theorem up in both splits.
func findTheorem(backend, dir, name string) (prover.Theorem, error) {
	for _, split := range benchmarks.Splits {
		thms, err := benchmarks.Load(backend, dir, split)
		if err != nil {
			return prover.Theorem{}, err
		}
		for _, t := range thms {
			if t.Name == name {
				return t, nil
			}
		}
	}
	return prover.Theorem{}, usagef("--statement-of %s: no such theorem in %s (test or valid)", name, dir)
}
