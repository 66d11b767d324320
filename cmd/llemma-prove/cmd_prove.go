package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/prover"
)

func init() {
	register(&command{
		name:  "prove",
		args:  "FILE",
		short: "prove one theorem of a source file; print the verified file on stdout",
		keys:  keys([]string{"name", "json"}, backendKeys, proposerKeys, searchKeys, proveModeKeys),
		run:   runProve,
	})
}

// fileTheorem reads the theorem called --name (default: the file's last
// theorem) of a source file, with the driver of its extension.
func (a *app) fileTheorem(ctx context.Context, path string) (prover.Driver, prover.Theorem, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return prover.Driver{}, prover.Theorem{}, usagef("cannot read %s: %v", path, err)
	}
	drv, err := a.driverForFile(ctx, path)
	if err != nil {
		return prover.Driver{}, prover.Theorem{}, err
	}
	name := a.cfg.Check.Name
	if name == "" && drv.LastTheorem != nil {
		name = drv.LastTheorem(string(src))
	}
	if name == "" {
		return drv, prover.Theorem{}, usagef("%s: no theorem found; give --name NAME", path)
	}
	thm, err := drv.ParseTheorem(name, string(src))
	if err != nil {
		return drv, prover.Theorem{}, usagef("%s: %v", path, err)
	}
	thm.Path = path
	if thm.Backend == "" {
		thm.Backend = drv.Name
	}
	return drv, thm, nil
}

// runProve: exit 0 proved (the file on stdout), 1 failed or timeout, 3
// error, 130 interrupted.
func runProve(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return usagef("prove takes one FILE")
	}
	drv, thm, err := a.fileTheorem(ctx, args[0])
	if err != nil {
		return err
	}
	st, err := a.newStack(drv, 1)
	if err != nil {
		return err
	}
	if err := a.preflightModel(ctx, st); err != nil {
		return err
	}
	st.agent.OnEvent = func(msg string) { a.say("%s", msg) }
	var p prover.Prover = st.agent
	mp, err := a.modeProver(st, nil, true)
	if err != nil {
		return err
	}
	if mp != nil {
		p = mp
		a.say("%s: %s mode", thm.Name, a.mode())
	}
	start := time.Now()
	out := p.Prove(ctx, thm)
	if a.cfg.JSON {
		if err := json.NewEncoder(a.stdout).Encode(benchmarks.NewResult(thm, st.proposer.Name(), out)); err != nil {
			return err
		}
	}
	took := time.Since(start).Round(time.Millisecond)
	switch out.Status {
	case prover.StatusProved:
		a.say("%s: proved and verified in %s: %s (axioms: %s)", thm.Name, took, strings.Join(out.Proof, " "), strings.Join(out.Axioms, ", "))
		if !a.cfg.JSON {
			fmt.Fprint(a.stdout, out.FileText)
		}
		return nil
	case prover.StatusError:
		return infraf("%s: error (%s) after %s: %s", thm.Name, out.Cause(), took, out.Message())
	case prover.StatusInterrupted:
		return ctx.Err()
	}
	a.say("%s: %s after %s (%d expansions, %d tactics): %s", thm.Name, out.Status, took, out.Expansions, out.TacticChecks, out.Message())
	return errNotVerified
}
