package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/prover"
)

func init() {
	register(&command{
		name:  "check",
		args:  "FILE",
		short: "judge a proof file: statement vs challenge, kernel re-check, axioms by full name; exit 0 only when verified",
		keys:  keys([]string{"statement-of", "name", "allow-axiom", "verify-timeout"}, backendKeys),
		run:   runCheck,
	})
}

// runCheck: exit 0 verified, 1 not verified, 2 bad file or arguments, 3
// the checker could not run (not installed, crashed).
func runCheck(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return usagef("check takes one FILE")
	}
	path := args[0]
	src, err := os.ReadFile(path)
	if err != nil {
		return usagef("check: cannot read %s: %v", path, err)
	}
	drv, err := a.driverForFile(ctx, path)
	if err != nil {
		return err
	}
	req := prover.VerifyRequest{Solution: string(src), AllowAxioms: a.cfg.Check.AllowAxiom}
	if stmtOf := a.cfg.Check.StatementOf; stmtOf != "" {
		thm, err := a.findTheorem(drv, stmtOf)
		if err != nil {
			return err
		}
		req.Name, req.Challenge = thm.Name, &thm
	} else if req.Name = a.cfg.Check.Name; req.Name == "" && drv.LastTheorem != nil {
		req.Name = drv.LastTheorem(req.Solution)
	}
	if req.Name == "" {
		return usagef("check: no theorem found in %s; use --name NAME or --statement-of NAME", path)
	}
	backend, err := a.newBackend(drv, 1)
	if err != nil {
		return err
	}
	vctx := ctx
	if d := a.cfg.Search.VerifyTimeout; d > 0 {
		var cancel context.CancelFunc
		vctx, cancel = context.WithTimeoutCause(ctx, d, prover.ErrVerifyTimeout)
		defer cancel()
	}
	v, err := backend.Verify(vctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		cause := prover.CauseOf(prover.StageError(prover.ErrVerify, "", err))
		if errors.Is(context.Cause(vctx), prover.ErrVerifyTimeout) {
			return infraf("check %s: the checker did not finish within %s (--verify-timeout): %v", req.Name, a.cfg.Search.VerifyTimeout, err)
		}
		return infraf("check %s: the checker could not run (%s): %v", req.Name, cause, err)
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

// findTheorem looks a benchmark theorem up in both splits of --data.
func (a *app) findTheorem(drv prover.Driver, name string) (prover.Theorem, error) {
	dir := a.dataDir(drv)
	for _, split := range benchmarks.Splits {
		thms, err := benchmarks.Load(drv.Name, dir, split)
		if err != nil {
			return prover.Theorem{}, asUsage(err)
		}
		for _, t := range thms {
			if t.Name == name {
				return t, nil
			}
		}
	}
	return prover.Theorem{}, usagef("--statement-of %s: no such theorem in %s (test or valid)", name, dir)
}
