package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

func init() {
	register(&command{
		name:  "fill",
		args:  "FILE",
		short: "close every admit/Admitted (sorry) of a source file with the step-wise search; the filled file on stdout or -o, checked like check; exit 1 when a hole stays open",
		keys:  keys([]string{"name", "allow-axiom", "hole-timeout"}, backendKeys, proposerKeys, searchKeys),
		flags: func(fs *pflag.FlagSet) {
			fs.StringP("output", "o", "", "write the filled file to FILE instead of stdout")
		},
		run: runFill,
	})
}

// runFill: every hole of FILE is searched in its own context (the file's
// definitions and earlier lemmas loaded), each result on stderr as it
// closes; the filled file is judged by the final verifier against the
// original file's statement of its last theorem (or --name). Exit 0 only
// when every hole closed and the filled file is verified; 1 when a hole
// stays open or the check refuses the file (the partly filled file is
// still written); 2 bad file; 3 the checker could not run.
func runFill(ctx context.Context, a *app, args []string) error {
	if len(args) != 1 {
		return usagef("fill takes one FILE")
	}
	path := args[0]
	raw, err := os.ReadFile(path)
	if err != nil {
		return usagef("fill: cannot read %s: %v", path, err)
	}
	src := string(raw)
	drv, err := a.driverForFile(ctx, path)
	if err != nil {
		return err
	}
	st, err := a.newStack(drv, a.workers())
	if err != nil {
		return err
	}
	hb, ok := st.backend.(prover.HoleBackend)
	if !ok {
		return usagef("fill: the %s backend cannot fill holes yet", drv.Name)
	}
	holes, err := hb.Holes(src)
	if err != nil {
		return usagef("fill: %s: %v", path, err)
	}
	name := a.cfg.Check.Name
	if name == "" && drv.LastTheorem != nil {
		name = drv.LastTheorem(src)
	}
	if name == "" {
		return usagef("fill: no theorem found in %s; use --name NAME", path)
	}
	if err := a.preflightModel(ctx, st); err != nil {
		return err
	}
	bud := a.budget()
	timeout := a.cfg.Run.Mode.HoleTimeout
	if timeout <= 0 {
		timeout = bud.TheoremTimeout
	}
	f := prover.HoleFiller{
		Backend: st.backend, Proposer: st.proposer,
		Search:      search.Config{Expansions: bud.Expansions, Samples: bud.Samples, TacticTimeout: bud.TacticTimeout},
		HoleTimeout: timeout, SetupTimeout: a.cfg.Search.SetupTimeout, Concurrency: a.workers(), Log: a.log,
		OnHole: func(r prover.HoleResult) { a.say("%s", holeLine(r)) },
	}
	a.say("%s: %d holes; searching each with %s (%d expansions x %d candidates, %s per hole)", path, len(holes), st.proposer.Name(), bud.Expansions, bud.Samples, timeout)
	start := time.Now()
	res, err := f.Fill(ctx, src)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return usagef("fill: %s: %v", path, err)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	for _, h := range res.Holes {
		if h.Status == prover.HoleError && (errors.Is(h.Err, prover.ErrBackend) || errors.Is(h.Err, prover.ErrModel)) {
			return infraf("fill: hole %d (line %d): %v", h.Hole.Index+1, h.Hole.Line, h.Err)
		}
	}
	out := a.stdout
	if o := a.v.GetString("output"); o != "" {
		fh, err := os.Create(o)
		if err != nil {
			return usagef("fill: -o %s: %v", o, err)
		}
		defer fh.Close()
		out = fh
	}
	write := func() error {
		_, err := fmt.Fprint(out, res.FileText)
		return err
	}
	if !res.AllClosed() && len(holes) > 0 {
		a.say("%s: %d of %d holes closed in %s; the file keeps the others", path, res.Closed, len(holes), time.Since(start).Round(time.Millisecond))
		if err := write(); err != nil {
			return err
		}
		return errNotVerified
	}
	// Every hole closed: only the final check says the file is proved.
	req := prover.VerifyRequest{Name: name, Solution: res.FileText, AllowAxioms: a.cfg.Check.AllowAxiom}
	if thm, err := drv.ParseTheorem(name, src); err == nil {
		req.Challenge = &thm
	}
	vctx := ctx
	if d := a.cfg.Search.VerifyTimeout; d > 0 {
		var cancel context.CancelFunc
		vctx, cancel = context.WithTimeoutCause(ctx, d, prover.ErrVerifyTimeout)
		defer cancel()
	}
	v, err := st.backend.Verify(vctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return infraf("fill: the final check of %s could not run: %v", name, err)
	}
	if err := write(); err != nil {
		return err
	}
	if !v.Verified {
		a.say("%s: every hole closed, but the filled file is NOT VERIFIED: %s", path, v.Message)
		return errNotVerified
	}
	a.say("%s: %d holes closed in %s; the filled file is verified (%s; axioms: %v)", path, len(holes), time.Since(start).Round(time.Millisecond), name, v.Axioms)
	return nil
}
