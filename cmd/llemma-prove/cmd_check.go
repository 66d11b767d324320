package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/prover"
)

func init() {
	register(&command{
		name:  "check",
		args:  "FILE",
		short: "judge a proof file: statement vs challenge, kernel re-check, axioms by full name; exit 0 only when verified",
		flags: func(fs *pflag.FlagSet) {
			backendFlags(fs)
			fs.String("statement-of", "", "require the file to prove exactly this benchmark theorem's statement")
			fs.String("data", "", "miniF2F directory for --statement-of")
			fs.String("name", "", "the theorem to judge when no statement is given (default: the file's last theorem)")
			fs.StringSlice("allow-axiom", nil, "accept this axiom (full name, e.g. LlemmaSolution.Solution.my_axiom); repeatable")
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
	req := prover.VerifyRequest{Solution: string(src), AllowAxioms: a.v.GetStringSlice("allow-axiom")}
	if stmtOf := a.v.GetString("statement-of"); stmtOf != "" {
		thm, err := findTheorem(name, a.dataDir(name), stmtOf)
		if err != nil {
			return err
		}
		req.Name, req.Challenge = thm.Name, &thm
	} else if req.Name = a.v.GetString("name"); req.Name == "" {
		m := coqDeclRE.FindAllStringSubmatch(req.Solution, -1)
		if name != "coq" || len(m) == 0 {
			return usagef("check: no theorem found in %s; use --name NAME or --statement-of NAME", path)
		}
		req.Name = m[len(m)-1][1]
	}
	backend, err := a.newBackend(name)
	if err != nil {
		return err
	}
	defer backend.Close()
	v, err := backend.Verify(ctx, req)
	if err != nil {
		return err
	}
	printVerification(a.stdout, req, v)
	if !v.Verified {
		return errNotVerified
	}
	return nil
}

// printVerification says exactly what was verified: the constant by full
// name, its statement, its axioms, the checker's sandbox.
func printVerification(w io.Writer, req prover.VerifyRequest, v prover.Verification) {
	if v.Verified {
		against := "(no statement given: this is what the file proves)"
		if req.Challenge != nil {
			against = "against the statement of " + req.Challenge.Name
			if req.Challenge.Path != "" {
				against += " in " + req.Challenge.Path
			}
		}
		fmt.Fprintf(w, "verified %s %s in %s\n", req.Name, against, v.Elapsed.Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "NOT VERIFIED %s: %s\n", req.Name, v.Message)
	}
	if v.Constant != "" {
		fmt.Fprintf(w, "constant: %s\n", v.Constant)
	}
	if v.Type != "" {
		fmt.Fprintf(w, "type: %s\n", strings.Join(strings.Fields(v.Type), " "))
	}
	axioms := "none"
	if len(v.Axioms) > 0 {
		axioms = strings.Join(v.Axioms, ", ")
	}
	fmt.Fprintf(w, "axioms: %s\n", axioms)
	if len(v.Disallowed) > 0 {
		fmt.Fprintf(w, "disallowed: %s\n", strings.Join(v.Disallowed, ", "))
	}
	if v.Sandbox != "" {
		fmt.Fprintf(w, "sandbox: %s\n", v.Sandbox)
	}
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
