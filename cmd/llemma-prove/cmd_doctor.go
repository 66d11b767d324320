package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/llemma-prove/llemma-prove/coq"
	"github.com/llemma-prove/llemma-prove/isabelle"
	"github.com/llemma-prove/llemma-prove/lean"
	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
)

func init() {
	register(&command{
		name:  "doctor",
		short: "list each backend and proposer as available or missing, with the command that installs it",
		flags: func(fs *pflag.FlagSet) {
			backendFlags(fs)
			proposerFlags(fs)
		},
		run: runDoctor,
	})
}

func runDoctor(ctx context.Context, a *app, args []string) error {
	var checks []prover.Check
	checks = append(checks, coq.Doctor(ctx, coq.Config{Coqtop: []string{a.v.GetString("coq.coqtop")}, Coqc: a.v.GetString("coq.coqc")})...)
	checks = append(checks, lean.Doctor(lean.Config{Repl: strings.Fields(a.v.GetString("lean.repl")), Project: a.leanProject()}, a.dataDir("lean"))...)
	checks = append(checks, isabelle.Doctor(isabelle.Config{Server: strings.Fields(a.v.GetString("isabelle.server")), Address: a.v.GetString("isabelle.address"), Password: a.v.GetString("isabelle.password")})...)
	checks = append(checks, prover.Check{Name: "portfolio proposer", OK: true, Detail: "built in (GPU-free, the default)"})
	if urls := a.v.GetStringSlice("model.url"); len(urls) > 0 {
		checks = append(checks, model.DoctorLLM(ctx, model.LLMConfig{URLs: urls, Model: a.v.GetString("model.name"), API: a.v.GetString("model.api")})...)
	} else {
		checks = append(checks, prover.Check{Name: "llm proposer", OK: false, Detail: "no --model-url configured", Fix: "serve a model (vllm serve EleutherAI/llemma_7b) and pass --model-url http://127.0.0.1:8000 --model EleutherAI/llemma_7b"})
	}
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
