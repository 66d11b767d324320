package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/benchmarks"
	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
	"github.com/llemma-prove/llemma-prove/search"
)

// modeKeys configure the proof mode of minif2f.
var modeKeys = []string{"mode", "repair-rounds", "proofs", "sketch-from", "informal", "hole-timeout"}

// proveModeKeys are the mode keys of prove: one attempt, so no --proofs.
var proveModeKeys = []string{"mode", "repair-rounds", "sketch-from", "informal", "hole-timeout"}

// modeVerdictKeys are the mode keys of the verdict config: a step-wise run
// leaves them out, so that its config is what it was before modes existed.
var modeVerdictKeys = []string{"mode", "repair-rounds", "proofs", "sketch-from", "hole-timeout"}

// mode is the configured proof mode.
func (a *app) mode() string {
	if m := a.cfg.Run.Mode.Mode; m != "" {
		return m
	}
	return prover.ModeStep
}

// modeProver builds the prover of the whole-proof and sketch modes over
// st (nil for step: the agent). The slots are the run's. A model's
// sketches of a benchmark need its informal proofs (--informal, or the
// data's); with optionalInformal (one theorem of a user's file) the model
// sketches from the formal statement when there are none.
func (a *app) modeProver(st *stack, slots *prover.Slots, optionalInformal bool) (prover.Prover, error) {
	mc := a.cfg.Run.Mode
	switch a.mode() {
	case prover.ModeWholeProof:
		if st.llm == nil {
			return nil, usagef("--mode whole-proof needs a model that writes proofs: --proposer llm with --model-url and --model")
		}
		return &prover.WholeProof{
			Backend: st.backend, Writer: st.llm, RepairRounds: mc.RepairRounds,
			TheoremTimeout: a.cfg.Search.TheoremTimeout, VerifyTimeout: a.cfg.Search.VerifyTimeout,
			AllowAxioms: a.cfg.Check.AllowAxiom, Slots: slots, Log: a.log,
		}, nil
	case prover.ModeSketch:
		sk := &prover.Sketch{Backend: st.backend, VerifyTimeout: a.cfg.Search.VerifyTimeout,
			AllowAxioms: a.cfg.Check.AllowAxiom, Slots: slots, Log: a.log, Filler: a.holeFiller(st, slots)}
		if st.llm != nil {
			sk.Writer = st.llm
		}
		if mc.SketchFrom != "" {
			sketches, err := loadSketches(mc.SketchFrom)
			if err != nil {
				return nil, usagef("--sketch-from %s: %v", mc.SketchFrom, err)
			}
			a.say("sketches: %d from %s", len(sketches), mc.SketchFrom)
			sk.Sketches = func(thm prover.Theorem) (string, bool) { s, ok := sketches[thm.Name]; return s, ok }
		} else if st.llm == nil {
			return nil, usagef("--mode sketch needs --sketch-from FILE or a model that writes sketches (--proposer llm)")
		}
		path := mc.Informal
		if path == "" {
			path = filepath.Join(a.dataDir(st.drv), benchmarks.InformalFile)
		}
		inf, err := benchmarks.LoadInformal(path)
		switch {
		case err == nil:
			sk.Informal = func(thm prover.Theorem) (prover.Informal, bool) { return inf.For(thm.Name) }
		case mc.Informal != "" || (mc.SketchFrom == "" && !optionalInformal):
			return nil, usagef("--informal: %v", err)
		}
		return sk, nil
	}
	return nil, nil
}

// holeFiller closes holes with the GPU-free step-wise search: the
// configured proposer unless it is the LLM (then the portfolio), the
// GPU-free budget, --hole-timeout per hole.
func (a *app) holeFiller(st *stack, slots *prover.Slots) prover.HoleFiller {
	p := st.proposer
	if st.llm != nil {
		p = &model.Portfolio{Backend: st.drv.Name, Interval: a.cfg.Coq.Interval}
	}
	bud := a.cfg.Search.Resolve(false)
	timeout := a.cfg.Run.Mode.HoleTimeout
	if timeout <= 0 {
		timeout = bud.TheoremTimeout
	}
	return prover.HoleFiller{
		Backend: st.backend, Proposer: p,
		Search:      search.Config{Expansions: bud.Expansions, Samples: bud.Samples, TacticTimeout: bud.TacticTimeout},
		HoleTimeout: timeout, SetupTimeout: a.cfg.Search.SetupTimeout,
		Concurrency: 1, Slots: slots, Log: a.log,
	}
}

// loadSketches reads --sketch-from: JSON lines {"name", "sketch"}, or a
// directory of NAME.<ext> files, each the sketch of theorem NAME (a proof
// body or a whole file).
func loadSketches(path string) (map[string]string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	if fi.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(path, e.Name()))
			if err != nil {
				return nil, err
			}
			out[strings.TrimSuffix(e.Name(), filepath.Ext(e.Name()))] = string(b)
		}
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for line := 1; sc.Scan(); line++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var r struct{ Name, Sketch string }
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if r.Name == "" {
			return nil, fmt.Errorf("line %d: no name", line)
		}
		out[r.Name] = r.Sketch
	}
	return out, sc.Err()
}

// holeLine is one hole's result as fill streams it.
func holeLine(r prover.HoleResult) string {
	s := fmt.Sprintf("hole %d (%s, line %d, in %s): %s", r.Hole.Index+1, r.Hole.Kind, r.Hole.Line, r.Hole.Theorem, r.Status)
	switch {
	case r.Status == prover.HoleClosed && len(r.Proof) > 0:
		s += " by " + strings.Join(r.Proof, " ")
	case r.Err != nil:
		s += ": " + r.Err.Error()
	case r.Note != "":
		s += ": " + r.Note
	}
	return s + fmt.Sprintf(" (%s)", (r.Setup+r.Search).Round(time.Millisecond))
}
