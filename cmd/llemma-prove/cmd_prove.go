package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/isabelle"
	"github.com/llemma-prove/llemma-prove/lean"
	"github.com/llemma-prove/llemma-prove/prover"
)

func init() {
	register(&command{
		name:  "prove",
		args:  "FILE",
		short: "prove one theorem of a source file; print the verified file on stdout",
		flags: func(fs *pflag.FlagSet) {
			fs.String("name", "", "the theorem to prove (default: the last theorem in FILE)")
			backendFlags(fs)
			proposerFlags(fs)
			searchFlags(fs)
			fs.Bool("json", false, "print the result line (as in minif2f --out) instead of the file")
		},
		run: runProve,
	})
}

// parseTheorem reads the theorem called name (or the last one) of a file.
func parseTheorem(backend, name, src string) (prover.Theorem, error) {
	if name == "" {
		if backend != "coq" {
			return prover.Theorem{}, usagef("prove: give --name NAME for a %s file", backend)
		}
		m := coqDeclRE.FindAllStringSubmatch(src, -1)
		if len(m) == 0 {
			return prover.Theorem{}, usagef("prove: no Theorem or Lemma in the file")
		}
		name = m[len(m)-1][1]
	}
	switch backend {
	case "coq":
		return coq.ParseTheorem(name, src)
	case "isabelle":
		return isabelle.ParseTheorem(name, src)
	case "lean":
		return lean.ParseTheorem(name, src)
	}
	return prover.Theorem{}, fmt.Errorf("prove: backend %s cannot read files in this build", backend)
}

func runProve(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return usagef("prove takes one FILE")
	}
	src, err := os.ReadFile(args[0])
	if err != nil {
		return usagef("prove: cannot read %s: %v", args[0], err)
	}
	name := backendForFile(args[0])
	if a.fs.Changed("backend") {
		if name, err = a.chooseBackend(); err != nil {
			return err
		}
	}
	thm, err := parseTheorem(name, a.v.GetString("name"), string(src))
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	thm.Path = args[0]
	if _, err := a.budget(true); err != nil {
		return err
	}
	backend, err := a.newBackend(name)
	if err != nil {
		return err
	}
	defer backend.Close()
	proposer, portfolio, err := a.newProposer(name)
	if err != nil {
		return err
	}
	if c, ok := proposer.(io.Closer); ok {
		defer c.Close()
	}
	agent, err := a.newAgent(backend, proposer, portfolio)
	if err != nil {
		return err
	}
	agent.OnEvent = func(msg string) { a.say("%s", msg) }
	start := time.Now()
	out := agent.Prove(ctx, thm)
	if a.v.GetBool("json") {
		return json.NewEncoder(a.stdout).Encode(benchmarks.NewResult(thm, proposer.Name(), out))
	}
	if out.Status != prover.StatusProved {
		a.say("%s: %s after %s (%d expansions, %d tactics) %s", thm.Name, out.Status, time.Since(start).Round(time.Millisecond), out.Expansions, out.TacticChecks, out.Error)
		return errNotVerified
	}
	a.say("%s: proved and verified in %s: %s (axioms: %s)", thm.Name, time.Since(start).Round(time.Millisecond), strings.Join(out.Proof, " "), strings.Join(out.Axioms, ", "))
	fmt.Fprint(a.stdout, out.FileText)
	return nil
}
