package isabelle

// The double's side of the final check: the three theories LlemmaChallenge,
// LlemmaSolution and LlemmaCompare.
//
// What is recorded and what is assumed:
//   - RECORDED (shared/fixtures/isabelle-server, real Isabelle2023 replies):
//     the framing, OK {"task"}, the progress NOTE shape, FINISHED with
//     ok/errors/nodes, node status keys, message objects
//     {"kind","message","pos":{"line","offset","end_offset","file"}}, the
//     error text "Failed to finish proof\<^here>:\ngoal ...". The replies
//     built below use exactly those shapes (see simResult).
//   - ASSUMED (never run against a live Isabelle): that the writeln of the
//     compare theory's ML arrives as one node message of kind writeln with
//     the text as printed; the verdict's content, which here is computed by
//     a scripted model of elaboration (below) instead of by Isabelle/ML;
//     fact naming (LlemmaSolution.NAME at the theory level, X.NAME inside
//     locale/context X); sorry -> Pure.skip_proof and by eval ->
//     Code_Generator.holds_by_evaluation as oracle names, propagated to
//     every fact whose proof names the cheated fact.
//
// The scripted elaboration: a statement is the text of its quoted strings
// (assumes ... ⟹ shows); abbreviation "L \<equiv> R" and notation c ("S")
// rewrite later statements (so a changed notation changes the
// proposition, as in Isabelle); definition/fun c makes c mean
// LlemmaSolution.c (a shadowed name). Proofs run the same scripted methods
// as step checks (simApply), plus reflexivity and (rule fact).

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

type simFact struct {
	prop    string
	oracles map[string]bool
}

// simLocal is a local goal (have/show) proved on the lines after it.
type simLocal struct {
	g     string
	goals []string
	show  bool
}

type simThy struct {
	name   string
	facts  map[string]simFact
	axioms []string
	msgs   []map[string]any
	errs   []map[string]any
	cmds   int
}

var (
	simQuoted  = regexp.MustCompile(`"([^"]*)"`)
	simLemma   = regexp.MustCompile(`^(?:lemma|theorem|corollary|proposition)\s+(?:\(in\s+(\w+)\)\s+)?(\w+)\s*:`)
	simNotaton = regexp.MustCompile(`^notation\s+(\S+)\s+\("([^"]+)"\)`)
	simAbbrev  = regexp.MustCompile(`^abbreviation\s+"(.+?)\s*\\<equiv>\s*(.+?)"`)
	simAxiom   = regexp.MustCompile(`^axiomatization\s+where\s+(\w+)\s*:\s*"([^"]*)"`)
	simML      = regexp.MustCompile(`val (prefix|sol_name|chal_name) = "([^"]*)";`)
	simWordRE  = regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_'.]*`)
)

// elaborate applies the theory's rewrites to a statement text.
func elaborate(s string, rw map[string]string) string {
	keys := make([]string, 0, len(rw))
	for k := range rw {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return len(keys[i]) > len(keys[j]) })
	for _, k := range keys {
		s = regexp.MustCompile(`(^|[^A-Za-z0-9_'.])`+regexp.QuoteMeta(k)+`($|[^A-Za-z0-9_'])`).ReplaceAllString(s, "${1}"+rw[k]+"${2}")
	}
	return s
}

// simulateFinalTheory checks a Llemma* theory by the scripted model.
func simulateFinalTheory(name, src string) *simThy {
	th := &simThy{name: name, facts: map[string]simFact{}}
	pos := func(l int) map[string]any {
		return map[string]any{"line": l, "offset": 1, "end_offset": 2, "file": name + ".thy"}
	}
	say := func(kind string, l int, text string) {
		m := map[string]any{"kind": kind, "message": text, "pos": pos(l)}
		th.msgs = append(th.msgs, m)
		if kind == "error" {
			th.errs = append(th.errs, m)
		}
	}
	rw := map[string]string{}
	var blocks []string // locale/context prefixes ("" for an unnamed context)
	pending := "\x00"   // a locale/context named on its own line, opened by a following begin
	inHeader := false
	// the lemma being proved
	var (
		lemName, lemIn string
		assms, shows   []string
		goals          []string
		oracles        map[string]bool
		inStmt, inPrf  bool
		isar           int
		shown          map[string]bool
		failed         bool
		// a local goal proved on the lines after its have/show
		local *simLocal
	)
	full := func(base, in string) string {
		parts := []string{name}
		for _, b := range blocks {
			if b != "" {
				parts = append(parts, b)
			}
		}
		if in != "" {
			parts = append(parts, in)
		}
		return strings.Join(append(parts, base), ".")
	}
	lookup := func(w string) (simFact, bool) {
		if f, ok := th.facts[w]; ok {
			return f, true
		}
		f, ok := th.facts[full(w, "")]
		return f, ok
	}
	inherit := func(line string) {
		for _, w := range simWordRE.FindAllString(line, -1) {
			if f, ok := lookup(w); ok {
				for o := range f.oracles {
					oracles[o] = true
				}
			}
		}
	}
	// method normalises "(simp add: x)" to "simp"; "(rule x)" stays
	method := func(m string) string {
		m = strings.TrimSpace(m)
		if strings.HasPrefix(m, "(rule ") {
			return m
		}
		if strings.HasPrefix(m, "(") {
			if f := strings.Fields(strings.Trim(m, "()")); len(f) > 0 {
				return f[0]
			}
		}
		return m
	}
	solve := func(l int, m string, gs []string) ([]string, bool) {
		m = method(m)
		if len(gs) == 0 {
			return nil, false
		}
		if m == "eval" {
			oracles[EvalOracle] = true
			return gs[1:], true
		}
		if strings.HasPrefix(m, "(rule ") {
			if f, ok := lookup(strings.TrimSuffix(strings.TrimPrefix(m, "(rule "), ")")); ok {
				if f.prop == gs[0] {
					return gs[1:], true
				}
				return nil, false
			}
		}
		if (m == "simp" || m == "auto") && strings.Contains(gs[0], " = ") {
			if l, r, _ := strings.Cut(gs[0], " = "); l == r {
				return gs[1:], true
			}
		}
		return simApply(name, m, gs)
	}
	finish := func() {
		if !failed {
			prop := strings.Join(append(append([]string(nil), assms...), shows...), ` \<Longrightarrow> `)
			fn := full(lemName, lemIn)
			if _, dup := th.facts[fn]; dup {
				say("error", 0, "Duplicate fact declaration "+fn)
			} else {
				th.facts[fn] = simFact{prop: prop, oracles: oracles}
			}
		}
		inPrf, isar, lemName, local = false, 0, "", nil
	}
	// endLocal finishes the local goal's proof
	endLocal := func() {
		if local.show {
			shown[local.g] = true
		}
		local = nil
	}
	lines := strings.Split(src, "\n")
	for i, raw := range lines {
		l := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "(*") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		if inHeader || word == "theory" {
			inHeader = !strings.HasSuffix(line, "begin")
			continue
		}
		th.cmds++
		if inStmt {
			switch word {
			case "fixes":
				continue
			case "assumes", "and":
				for _, m := range simQuoted.FindAllStringSubmatch(line, -1) {
					if len(shows) == 0 {
						assms = append(assms, elaborate(m[1], rw))
					} else {
						shows = append(shows, elaborate(m[1], rw))
					}
				}
				continue
			case "shows":
				for _, m := range simQuoted.FindAllStringSubmatch(line, -1) {
					shows = append(shows, elaborate(m[1], rw))
				}
				continue
			}
			if strings.HasPrefix(line, `"`) {
				for _, m := range simQuoted.FindAllStringSubmatch(line, -1) {
					shows = append(shows, elaborate(m[1], rw))
				}
				continue
			}
			inStmt, inPrf = false, true
			goals = append([]string(nil), shows...)
			say("writeln", l-1, "theorem "+strings.Join(shows, " "))
		}
		if inPrf {
			if failed {
				if word == "qed" && isar > 1 {
					isar--
				} else if word == "done" || word == "qed" || strings.HasPrefix(line, "by ") || word == "sorry" {
					if isar <= 1 {
						finish()
					}
				}
				continue
			}
			if local != nil {
				inherit(line)
				_, by, hasBy := strings.Cut(line, " by ")
				switch {
				case word == "apply":
					ng, ok := solve(l, rest, local.goals)
					if !ok {
						say("error", l, `Failed to apply proof method\<^here>:`+"\n"+goalText(local.goals))
						failed = true
						continue
					}
					local.goals = ng
				case word == "by" || (word == "using" || word == "unfolding") && hasBy:
					if word == "by" {
						by = rest
					}
					if ng, ok := solve(l, by, local.goals); !ok || len(ng) > 0 {
						say("error", l, `Failed to finish proof\<^here>:`+"\n"+goalText(local.goals))
						failed = true
						continue
					}
					endLocal()
				case word == "using" || word == "unfolding":
				case word == "done":
					if len(local.goals) > 0 {
						say("error", l, `Failed to finish proof\<^here>:`+"\n"+goalText(local.goals))
						failed = true
						continue
					}
					endLocal()
				case word == "sorry":
					oracles[SkipProofOracle] = true
					endLocal()
				default:
					say("error", l, "Outer syntax error\\<^here>: the scripted double expects the local goal's proof")
					failed = true
				}
				continue
			}
			switch {
			case word == "sorry":
				oracles[SkipProofOracle] = true
				goals = nil
				if isar == 0 {
					finish()
				}
			case word == "oops":
				failed = true // no fact
				finish()
				failed = false
			case word == "using" || word == "unfolding":
				inherit(line)
				if _, by, ok := strings.Cut(line, " by "); ok && isar == 0 {
					ng, ok := solve(l, by, goals)
					if !ok || len(ng) > 0 {
						say("error", l, `Failed to finish proof\<^here>:`+"\n"+goalText(goals))
						failed = true
					} else {
						goals = nil
						if isar == 0 {
							finish()
						}
					}
				}
			case word == "apply":
				inherit(line)
				ng, ok := solve(l, rest, goals)
				if !ok {
					say("error", l, `Failed to apply proof method\<^here>:`+"\n"+goalText(goals))
					failed = true
					continue
				}
				goals = ng
			case word == "by" && isar == 0:
				inherit(line)
				ng, ok := solve(l, rest, goals)
				if !ok || len(ng) > 0 {
					say("error", l, `Failed to finish proof\<^here>:`+"\n"+goalText(goals))
					failed = true
					continue
				}
				goals = nil
				finish()
			case word == "done":
				if len(goals) > 0 {
					say("error", l, `Failed to finish proof\<^here>:`+"\n"+goalText(goals))
					failed = true
					continue
				}
				finish()
			case word == "proof":
				isar++
				shown = map[string]bool{}
				if strings.Contains(rest, "(rule conjI)") && len(goals) > 0 {
					if a, b, ok := strings.Cut(goals[0], ` \<and> `); ok {
						goals = append([]string{a, b}, goals[1:]...)
					}
				}
			case word == "show" || word == "have" || word == "then" || word == "hence" || word == "thus":
				inherit(line)
				var g string
				if m := simQuoted.FindStringSubmatch(line); m != nil {
					g = elaborate(m[1], rw)
				} else if strings.Contains(line, "?thesis") && len(goals) > 0 {
					g = goals[0]
				}
				_, by, hasBy := strings.Cut(line, " by ")
				switch {
				case strings.HasSuffix(line, " sorry"):
					oracles[SkipProofOracle] = true
				case hasBy:
					if _, ok := solve(l, by, []string{g}); !ok {
						say("error", l, `Failed to finish proof\<^here>:`+"\n"+goalText([]string{g}))
						failed = true
						continue
					}
				default:
					// proved on the following lines
					local = &simLocal{g: g, goals: []string{g}, show: word == "show" || word == "thus" || strings.Contains(line, " show ")}
					if _, m, ok := strings.Cut(line, " apply "); ok { // its first step on the same line
						ng, ok := solve(l, m, local.goals)
						if !ok {
							say("error", l, `Failed to apply proof method\<^here>:`+"\n"+goalText(local.goals))
							failed = true
							continue
						}
						local.goals = ng
					}
					continue
				}
				if word == "show" || word == "thus" || strings.Contains(line, " show ") {
					shown[g] = true
				}
			case word == "next":
			case word == "qed":
				isar--
				if isar == 0 {
					for _, g := range goals {
						if !shown[g] {
							say("error", l, `Failed to finish proof\<^here>:`+"\n"+goalText([]string{g}))
							failed = true
						}
					}
					goals = nil
					if failed {
						finish()
						failed = false
						continue
					}
					finish()
				}
			default:
				say("error", l, "Outer syntax error\\<^here>: command expected")
				failed = true
			}
			if !inPrf {
				failed = false
			}
			continue
		}
		if word == "begin" && pending != "\x00" {
			blocks = append(blocks, pending)
			pending = "\x00"
			continue
		}
		pending = "\x00"
		switch word {
		case "lemma", "theorem", "corollary", "proposition":
			m := simLemma.FindStringSubmatch(line)
			if m == nil {
				say("error", l, "Outer syntax error\\<^here>: the scripted double needs a named lemma")
				continue
			}
			lemIn, lemName = m[1], m[2]
			assms, shows, goals, oracles = nil, nil, nil, map[string]bool{}
			inStmt, failed = true, false
			after := line[len(m[0]):]
			for _, q := range simQuoted.FindAllStringSubmatch(after, -1) {
				shows = append(shows, elaborate(q[1], rw))
			}
			// a one-line lemma with its proof on the same line
			if _, by, ok := strings.Cut(after, " by "); ok {
				inStmt, inPrf = false, true
				goals = append([]string(nil), shows...)
				inherit(by)
				ng, ok := solve(l, by, goals)
				if !ok || len(ng) > 0 {
					say("error", l, `Failed to finish proof\<^here>:`+"\n"+goalText(goals))
					inPrf, lemName = false, ""
					continue
				}
				finish()
			} else if strings.HasSuffix(after, "sorry") {
				oracles[SkipProofOracle] = true
				finish()
				inStmt = false
			}
		case "locale", "context":
			f := strings.Fields(rest)
			switch {
			case strings.HasSuffix(line, "begin") && word == "context" && len(f) == 1:
				blocks = append(blocks, "")
			case strings.HasSuffix(line, "begin"):
				blocks = append(blocks, strings.TrimSuffix(f[0], "="))
			case len(f) > 0:
				pending = strings.TrimSuffix(f[0], "=")
			}
		case "end":
			if len(blocks) > 0 {
				blocks = blocks[:len(blocks)-1]
			}
		case "abbreviation":
			if m := simAbbrev.FindStringSubmatch(line); m != nil {
				rw[strings.TrimSpace(m[1])] = strings.TrimSpace(m[2])
			}
		case "notation":
			if m := simNotaton.FindStringSubmatch(line); m != nil {
				rw[m[2]] = m[1]
			}
		case "definition", "fun", "primrec":
			if f := strings.Fields(rest); len(f) > 0 {
				c := strings.TrimSuffix(f[0], "::")
				rw[c] = name + "." + c
			}
		case "axiomatization":
			if m := simAxiom.FindStringSubmatch(line); m != nil {
				fn := full(m[1], "")
				th.facts[fn] = simFact{prop: elaborate(m[2], rw), oracles: map[string]bool{}}
				th.axioms = append(th.axioms, fn)
			}
		case "declare", "text", "section", "subsection", "lemmas", "ML":
			// accepted; ML blocks of the compare theory are read by simulateCompare
		}
	}
	if inPrf && !failed {
		say("error", len(lines), "Unfinished proof")
	}
	return th
}

// simulateCompare computes the compare theory's verdict from the
// simulated challenge and solution found in dir.
func simulateCompare(dir, src string) *simThy {
	th := &simThy{name: cmpTheory, facts: map[string]simFact{}}
	vals := map[string]string{}
	for _, m := range simML.FindAllStringSubmatch(src, -1) {
		vals[m[1]] = m[2]
	}
	load := func(name string) *simThy {
		b, err := os.ReadFile(filepath.Join(dir, name+".thy"))
		if err != nil {
			return nil
		}
		return simulateFinalTheory(name, string(b))
	}
	mlLine := strings.Count(src[:strings.Index(src, "ML ")], "\n") + 1
	sol := load(solTheory)
	if sol == nil {
		sol = &simThy{facts: map[string]simFact{}}
	}
	out := map[string]any{"name": vals["sol_name"]}
	f, found := sol.facts[vals["sol_name"]]
	out["found"] = found
	if found {
		if cn := vals["chal_name"]; cn != "" {
			var cf simFact
			ok := false
			if chal := load(chalTheory); chal != nil {
				cf, ok = chal.facts[cn]
			}
			if !ok {
				m := map[string]any{"kind": "error", "message": "llemma: the challenge theorem is missing", "pos": map[string]any{"line": mlLine, "offset": 1, "end_offset": 2, "file": cmpTheory + ".thy"}}
				th.msgs, th.errs = append(th.msgs, m), append(th.errs, m)
				return th
			}
			out["statement_matches"] = cf.prop == f.prop
		}
		var ors []string
		for o := range f.oracles {
			ors = append(ors, o)
		}
		sort.Strings(ors)
		out["prop"], out["oracles"], out["axioms"] = f.prop, append([]string{}, ors...), append([]string{}, sol.axioms...)
		out["hyps"], out["tpairs"], out["shyps"] = 0, 0, 0
	}
	b, _ := json.Marshal(out)
	th.msgs = append(th.msgs, map[string]any{"kind": "writeln", "message": vals["prefix"] + string(b),
		"pos": map[string]any{"line": mlLine, "offset": 1, "end_offset": 3, "file": cmpTheory + ".thy"}})
	th.cmds = 2
	return th
}

// simResult is a use_theories result in the recorded shape.
func simResult(th *simThy) map[string]any {
	msgs, errs := th.msgs, th.errs
	if msgs == nil {
		msgs = []map[string]any{}
	}
	if errs == nil {
		errs = []map[string]any{}
	}
	nerr := len(errs)
	status := map[string]any{
		"percentage": 100, "unprocessed": 0, "running": 0, "finished": th.cmds - nerr, "failed": nerr,
		"total": th.cmds, "consolidated": true, "canceled": false, "ok": nerr == 0, "warned": 0,
	}
	return map[string]any{
		"ok": nerr == 0, "errors": errs,
		"nodes": []any{map[string]any{
			"messages": msgs, "exports": []any{}, "status": status,
			"theory_name": "Draft." + th.name, "node_name": th.name + ".thy",
		}},
	}
}

// simulateFinal answers use_theories for a Llemma* theory.
func simulateFinal(dir, name, src string) map[string]any {
	if name == cmpTheory {
		return simResult(simulateCompare(dir, src))
	}
	return simResult(simulateFinalTheory(name, src))
}
