package benchmarks

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// SystemConfig is a system's run config, from the OUT.meta.json beside its
// results files: the verdict config they share, the runs and sessions, and
// a readable summary of it.
type SystemConfig struct {
	Inputs       []string          `json:"inputs"`
	RunIDs       []string          `json:"run_ids"`
	Sessions     int               `json:"sessions"`
	Hosts        int               `json:"hosts"`
	GitRevisions []string          `json:"git_revisions"`
	Verdict      map[string]string `json:"verdict_config"`
	// The summary: what decides verdicts, in words.
	Model    string `json:"model"`
	Decoding string `json:"decoding,omitempty"`
	Prompt   string `json:"prompt,omitempty"`
	Budget   string `json:"budget"`
	Search   string `json:"search"`
	Checker  string `json:"checker"`
	// Temperature is the sampling temperature the model really ran at
	// (--llemma-parity forces 0 with beam search), nil without a model.
	Temperature *float64 `json:"temperature,omitempty"`
	Beam        bool     `json:"beam,omitempty"`
}

// sysGroup is the inputs and results of one system.
type sysGroup struct {
	backend, proposer string
	inputs            []string
	metas             []*Meta
	runIDs            []string
	verdict           map[string]string
	results           []Result
}

// fingerprint is a verdict config as one comparable string ("" for none).
func fingerprint(m *Meta) string {
	if m == nil {
		return ""
	}
	keys := sortedKeys(m.Verdict)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%q=%q;", k, m.Verdict[k])
	}
	return "cfg:" + b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// groupSystems splits the inputs' results into systems: backend/proposer,
// and when inputs of one backend/proposer were run with different verdict
// configs, one system per config, named by what differs. Inputs without a
// sidecar join the system's only config, if it has one. Each system's
// results are deduplicated (one verdict per attempt, the best).
func groupSystems(inputs []ReportInput) (map[string]*sysGroup, map[string][]Result) {
	type gkey struct{ base, fp string }
	groups := map[gkey]*sysGroup{}
	fps := map[string][]string{} // base -> its fingerprints, in order
	for _, in := range inputs {
		fp := fingerprint(in.Meta)
		for _, r := range in.Results {
			base := SystemOf(r)
			k := gkey{base, fp}
			g := groups[k]
			if g == nil {
				g = &sysGroup{backend: r.Backend, proposer: r.Proposer}
				if in.Meta != nil {
					g.verdict = in.Meta.Verdict
				}
				groups[k] = g
				fps[base] = append(fps[base], fp)
			}
			if !contains(g.inputs, in.Path) {
				g.inputs = append(g.inputs, in.Path)
				if in.Meta != nil {
					g.metas = append(g.metas, in.Meta)
					for _, id := range append([]string{in.Meta.RunID}, in.Meta.MergedFrom...) {
						if id != "" && !contains(g.runIDs, id) {
							g.runIDs = append(g.runIDs, id)
						}
					}
				}
			}
			g.results = append(g.results, r)
		}
	}
	out := map[string]*sysGroup{}
	for base, list := range fps {
		var real []string
		for _, fp := range list {
			if fp != "" {
				real = append(real, fp)
			}
		}
		if len(real) == 1 && len(list) == 2 {
			// One config and inputs without a sidecar: one system.
			g, none := groups[gkey{base, real[0]}], groups[gkey{base, ""}]
			g.inputs = append(g.inputs, none.inputs...)
			g.results = append(g.results, none.results...)
			list = real
		}
		if len(list) == 1 {
			out[base] = groups[gkey{base, list[0]}]
			continue
		}
		var vs []map[string]string
		for _, fp := range list {
			vs = append(vs, groups[gkey{base, fp}].verdict)
		}
		diff := differingKeys(vs)
		for _, fp := range list {
			g := groups[gkey{base, fp}]
			out[base+" ["+configLabel(g.verdict, diff)+"]"] = g
		}
	}
	results := map[string][]Result{}
	for name, g := range out {
		results[name] = Dedup(g.results, func(r Result) [4]string {
			return [4]string{r.Backend, r.Split, r.Name, strconv.Itoa(r.Attempt)}
		})
	}
	return out, results
}

// differingKeys are the keys whose values are not the same in every one of
// vs (a nil map: no sidecar).
func differingKeys(vs []map[string]string) []string {
	all := map[string]bool{}
	for _, v := range vs {
		for k := range v {
			all[k] = true
		}
	}
	var out []string
	for _, k := range sortedKeys(all) {
		for _, v := range vs[1:] {
			a, aok := vs[0][k]
			b, bok := v[k]
			if a != b || aok != bok {
				out = append(out, k)
				break
			}
		}
	}
	return out
}

// configLabel names a config by its values of the differing keys (at most
// three).
func configLabel(v map[string]string, diff []string) string {
	if v == nil {
		return "no sidecar"
	}
	var parts []string
	for i, k := range diff {
		if i == 3 {
			parts = append(parts, fmt.Sprintf("+%d more", len(diff)-3))
			break
		}
		val, ok := v[k]
		if !ok {
			val = "unset"
		}
		parts = append(parts, k+"="+val)
	}
	return strings.Join(parts, ", ")
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// vget is the first of keys set in v (older sidecars used other names).
func vget(v map[string]string, keys ...string) string {
	for _, k := range keys {
		if s, ok := v[k]; ok && s != "" {
			return s
		}
	}
	return ""
}

// config is the group's SystemConfig (nil when no input has a sidecar).
func (g *sysGroup) config() *SystemConfig {
	if len(g.metas) == 0 {
		return nil
	}
	v := g.verdict
	c := &SystemConfig{Inputs: g.inputs, RunIDs: g.runIDs, Verdict: v}
	hosts := map[string]bool{}
	for _, m := range g.metas {
		for _, s := range m.Sessions {
			if len(s.Theorems) == 0 && s.Split == "" {
				continue // merge's own session
			}
			c.Sessions++
			hosts[s.Host] = true
			if !contains(c.GitRevisions, s.GitRevision) {
				c.GitRevisions = append(c.GitRevisions, s.GitRevision)
			}
		}
	}
	sort.Strings(c.GitRevisions)
	c.Hosts = len(hosts)
	kind := vget(v, "proposer")
	parity := vget(v, "llemma-parity") == "true"
	switch {
	case kind == "llm" || strings.HasPrefix(g.proposer, "llm:"):
		c.Model = vget(v, "model.name", "model")
		t, err := strconv.ParseFloat(vget(v, "model.temperature"), 64)
		c.Beam = vget(v, "model.beam") == "true"
		if parity {
			t, err, c.Beam = 0, nil, true
		}
		if err == nil {
			c.Temperature = &t
		}
		c.Decoding = decodingText(v, c.Temperature, c.Beam, parity)
		c.Prompt = vget(v, "model.prompt")
		if parity && c.Prompt == "llemma" && g.backend == "lean" {
			c.Prompt = "llemma-original"
		}
		if sum := vget(v, "model.prompt-sha256"); sum != "" {
			c.Prompt += " (sha256 " + sum[:min(12, len(sum))] + ")"
		}
	default:
		c.Model = g.proposer
		if ver := vget(v, "version.knn"); ver != "" {
			c.Model += " (model " + ver + ")"
		}
	}
	c.Budget = fmt.Sprintf("%s expansions x %s candidates, %s of tactic time per theorem, %s per tactic",
		orUnknown(vget(v, "expansions")), orUnknown(vget(v, "samples")),
		orUnknown(vget(v, "theorem-timeout", "theorem_timeout")), orUnknown(vget(v, "tactic-timeout", "tactic_timeout")))
	c.Search = "best-first, merged states, failure propagation"
	if parity {
		c.Search = "Llemma parity (a tree, no failure propagation)"
	}
	var checker []string
	for _, k := range sortedKeys(v) {
		if name, ok := strings.CutPrefix(k, "version."); ok && name != "knn" {
			checker = append(checker, v[k])
		} else if k == "backend_version" {
			checker = append(checker, v[k])
		}
	}
	c.Checker = orUnknown(strings.Join(checker, "; "))
	return c
}

func orUnknown(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

// decodingText describes the model's decoding.
func decodingText(v map[string]string, t *float64, beam, parity bool) string {
	if parity {
		return "Llemma parity: beam search at temperature 0, 256 new tokens, stop ---"
	}
	var parts []string
	switch {
	case t == nil:
		parts = append(parts, "temperature ?")
	case *t == 0 && beam:
		parts = append(parts, "beam search at temperature 0")
	case *t == 0:
		parts = append(parts, "greedy (temperature 0)")
	default:
		parts = append(parts, "temperature "+strconv.FormatFloat(*t, 'g', -1, 64))
	}
	for _, k := range []string{"top-p", "top-k", "min-p"} {
		if s := vget(v, "model."+k); s != "" && s != "0" {
			parts = append(parts, k+" "+s)
		}
	}
	if s := vget(v, "model.max-tokens"); s != "" && s != "0" {
		parts = append(parts, s+" new tokens")
	}
	if s := vget(v, "model.stop"); s != "" {
		parts = append(parts, "stop "+s)
	}
	if s := vget(v, "model.seed"); s != "" && s != "-1" {
		parts = append(parts, "seed "+s)
	}
	return strings.Join(parts, ", ")
}

// identityKey reports whether a verdict key is part of what the systems
// are (compared on purpose): the backend, the proposer and its model.
func identityKey(k string) bool {
	return k == "backend" || k == "proposer" || k == "model" || k == "version.knn" ||
		strings.HasPrefix(k, "model.") || strings.HasPrefix(k, "knn.")
}

// backendKey reports whether a verdict key belongs to one backend (its
// section, its tools' versions): compared only between systems on the
// same backend.
func backendKey(k string) bool {
	for _, p := range []string{"coq.", "lean.", "isabelle.", "version."} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return k == "backend_version"
}

// compareSystems warns about what makes a comparison of the systems
// unfair: verdict-relevant settings beyond the systems' identity that
// differ (budgets, search mode, checker versions, axioms), different git
// revisions, unknown configs, different problem sets.
func compareSystems(systems []SystemStats, problems []ProblemRow) []string {
	if len(systems) < 2 {
		return nil
	}
	var warns []string
	var withCfg []SystemStats
	for _, s := range systems {
		if s.Config == nil {
			warns = append(warns, fmt.Sprintf("%s: no OUT.meta.json beside its results, so its run config is unknown", s.System))
			continue
		}
		withCfg = append(withCfg, s)
	}
	keys := map[string]bool{}
	for _, s := range withCfg {
		for k := range s.Config.Verdict {
			keys[k] = true
		}
	}
	for _, k := range sortedKeys(keys) {
		if identityKey(k) {
			continue
		}
		groups := [][]SystemStats{withCfg}
		if backendKey(k) {
			byBackend := map[string][]SystemStats{}
			for _, s := range withCfg {
				byBackend[s.Backend] = append(byBackend[s.Backend], s)
			}
			groups = nil
			for _, b := range sortedKeys(byBackend) {
				groups = append(groups, byBackend[b])
			}
		}
		for _, g := range groups {
			if w := differ(k, g); w != "" {
				warns = append(warns, w)
			}
		}
	}
	revs := map[string]bool{}
	var revParts []string
	for _, s := range withCfg {
		r := strings.Join(s.Config.GitRevisions, "+")
		revs[r] = true
		revParts = append(revParts, s.System+" "+orUnknown(r))
	}
	if len(revs) > 1 {
		warns = append(warns, "built from different git revisions: "+strings.Join(revParts, ", "))
	}
	sets := make([]map[problemKey]bool, len(systems))
	for i := range systems {
		sets[i] = map[problemKey]bool{}
	}
	common := 0
	for _, p := range problems {
		all := true
		for i, c := range p.Cells {
			if c.Status != "" {
				sets[i][problemKey{p.Split, p.Name}] = true
			} else {
				all = false
			}
		}
		if all {
			common++
		}
	}
	if common != len(problems) {
		var parts []string
		for i, s := range systems {
			parts = append(parts, fmt.Sprintf("%s %d", s.System, len(sets[i])))
		}
		warns = append(warns, fmt.Sprintf("the systems ran different problems (%s; %d in common): their rates are over different sets", strings.Join(parts, ", "), common))
	}
	return warns
}

// differ is the warning when the systems in g do not all have the same
// value of k ("" when they do).
func differ(k string, g []SystemStats) string {
	if len(g) < 2 {
		return ""
	}
	vals := map[string]bool{}
	var parts []string
	for _, s := range g {
		v, ok := s.Config.Verdict[k]
		if !ok {
			v = "unset"
		}
		vals[v] = true
		parts = append(parts, s.System+" "+v)
	}
	if len(vals) < 2 {
		return ""
	}
	return fmt.Sprintf("compared systems differ in %s: %s", k, strings.Join(parts, ", "))
}
