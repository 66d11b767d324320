package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
)

// preflight checks, before the first theorem, that the run can do its
// job: the model runtime (launched if --model-launch says so) lists the
// model and completes a short prompt; the backend's doctor finds its
// tools; the backend opens the first theorem within the setup budget. A
// failure is one line and exit 3, instead of a file of error lines.
func (a *app) preflight(ctx context.Context, st *stack, first *prover.Theorem) error {
	if err := a.preflightModel(ctx, st); err != nil {
		return err
	}
	checks := a.doctor(ctx, st.drv)
	if bad := failing(checks); len(bad) > 0 {
		return infraf("pre-flight: the %s backend is not usable: %s", st.drv.Name, checkText(bad[0]))
	}
	for _, c := range checks {
		if !c.OK && c.Optional {
			a.log.Warn("pre-flight: optional part missing", "backend", st.drv.Name, "check", c.Name, "detail", c.Detail, "fix", c.Fix)
		}
	}
	if first == nil {
		return nil
	}
	return a.smoke(ctx, st, *first)
}

// preflightModel starts the model runtime and asks it for a completion.
func (a *app) preflightModel(ctx context.Context, st *stack) error {
	if st.llm == nil {
		return nil
	}
	if err := st.llm.Start(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return infraf("pre-flight: starting the model runtime: %w", err)
	}
	cfg, err := a.llmConfig(st.drv)
	if err != nil {
		return err
	}
	if bad := failing(model.DoctorLLM(ctx, cfg)); len(bad) > 0 {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return infraf("pre-flight: the model is not usable: %s", checkText(bad[0]))
	}
	return nil
}

// smoke opens thm on the backend and closes it (which also warms a
// process for the run). A statement that does not load is the theorem's
// problem, not the backend's: the run goes on and records it.
func (a *app) smoke(ctx context.Context, st *stack, thm prover.Theorem) error {
	budget := a.cfg.Search.SetupTimeout
	if budget <= 0 {
		budget = prover.DefaultSetupTimeout
	}
	start := time.Now()
	sctx, cancel := context.WithTimeoutCause(ctx, budget, prover.ErrSetupTimeout)
	defer cancel()
	sess, err := st.backend.Open(sctx, thm)
	took := time.Since(start).Round(time.Millisecond)
	switch {
	case err == nil:
		sess.Close()
		a.log.Info("pre-flight: backend opened the first theorem", "theorem", thm.Name, "took", took)
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, prover.ErrLoad):
		a.log.Warn("pre-flight: the first theorem does not load; the run goes on", "theorem", thm.Name, "err", err)
		return nil
	case errors.Is(context.Cause(sctx), prover.ErrSetupTimeout):
		return infraf("pre-flight: the %s backend did not open %s within the setup budget (%s, --setup-timeout): %v", st.drv.Name, thm.Name, budget, err)
	}
	return infraError{fmt.Errorf("pre-flight: the %s backend could not open %s (after %s; cause %s): %w", st.drv.Name, thm.Name, took, prover.CauseOf(prover.StageError(prover.ErrBackend, "", err)), err)}
}
