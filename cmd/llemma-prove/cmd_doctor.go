package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
)

func init() {
	register(&command{
		name:  "doctor",
		short: "list each backend and proposer as available or missing, with the command that installs it; exit 3 when the chosen one is missing",
		keys:  keys(backendKeys, proposerKeys),
		run:   runDoctor,
	})
}

// runDoctor prints every backend's checks and the proposer's. It exits 3
// when the chosen backend (--backend, or with auto: every backend) or the
// chosen proposer is not usable.
func runDoctor(ctx context.Context, a *app, args []string) error {
	chosen := strings.ToLower(a.cfg.Backend)
	if chosen != "auto" && chosen != "" {
		if _, err := prover.Lookup(chosen); err != nil {
			return usagef("%s %q: use %s or auto", a.from("backend"), a.cfg.Backend, strings.Join(driverNames(), ", "))
		}
	}
	var (
		problems []string
		usable   = 0
		forModel prover.Driver // the backend whose prompts the model check uses
	)
	for _, d := range prover.Drivers() {
		d = a.use(d)
		checks := a.doctor(ctx, d)
		fmt.Fprintf(a.stdout, "%s:\n", d.Name)
		printChecks(a, checks)
		bad := failing(checks)
		if chosen == d.Name || (forModel.Name == "" && len(bad) == 0) {
			forModel = d
		}
		if len(bad) == 0 {
			usable++
		} else if chosen == d.Name {
			problems = append(problems, fmt.Sprintf("the chosen backend %s is not usable: %s", d.Name, checkText(bad[0])))
		}
	}
	if (chosen == "auto" || chosen == "") && usable == 0 {
		problems = append(problems, "no backend is usable")
	}
	fmt.Fprintf(a.stdout, "proposers:\n")
	checks := []prover.Check{{Name: "portfolio proposer", OK: true, Detail: "built in (GPU-free, the default)"}}
	if len(a.cfg.Model.URLs) > 0 {
		if forModel.Name == "" {
			forModel = prover.Drivers()[0]
		}
		cfg, err := a.llmConfig(forModel)
		if err != nil {
			return err
		}
		checks = append(checks, model.DoctorLLM(ctx, cfg)...)
	} else {
		checks = append(checks, prover.Check{Name: "llm proposer", OK: false, Optional: a.proposerKind() != "llm", Detail: "no --model-url configured", Fix: "serve a model (vllm serve EleutherAI/llemma_7b) and pass --model-url http://127.0.0.1:8000 --model EleutherAI/llemma_7b"})
	}
	printChecks(a, checks)
	if a.proposerKind() == "llm" {
		if bad := failing(checks); len(bad) > 0 {
			problems = append(problems, "the llm proposer is not usable: "+checkText(bad[0]))
		}
	}
	if len(problems) > 0 {
		return infraf("doctor: %s", strings.Join(problems, "; "))
	}
	return nil
}

func printChecks(a *app, checks []prover.Check) {
	for _, c := range checks {
		mark := "ok     "
		switch {
		case !c.OK && c.Optional:
			mark = "missing"
		case !c.OK:
			mark = "MISSING"
		}
		fmt.Fprintf(a.stdout, "  %s %-22s %s\n", mark, c.Name, c.Detail)
		if !c.OK && c.Fix != "" {
			fmt.Fprintf(a.stdout, "          fix: %s\n", c.Fix)
		}
	}
}
