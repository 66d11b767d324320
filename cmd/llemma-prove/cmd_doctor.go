package main

import (
	"context"
	"fmt"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/prover"
)

func init() {
	register(&command{
		name:  "doctor",
		short: "list each backend and proposer as available or missing, with the command that installs it",
		flags: backendFlags,
		run:   runDoctor,
	})
}

func runDoctor(ctx context.Context, a *app, args []string) error {
	var checks []prover.Check
	checks = append(checks, coq.Doctor(ctx, coq.Config{Coqtop: []string{a.v.GetString("coq.coqtop")}, Coqc: a.v.GetString("coq.coqc")})...)
	checks = append(checks, prover.Check{Name: "portfolio proposer", OK: true, Detail: "built in (GPU-free, the default)"})
	missing := 0
	for _, c := range checks {
		mark := "ok     "
		if !c.OK {
			mark = "MISSING"
			missing++
		}
		fmt.Fprintf(a.stdout, "%s %-22s %s\n", mark, c.Name, c.Detail)
		if !c.OK && c.Fix != "" {
			fmt.Fprintf(a.stdout, "        fix: %s\n", c.Fix)
		}
	}
	if missing > 0 {
		fmt.Fprintf(a.stdout, "%d missing\n", missing)
	}
	return nil
}
