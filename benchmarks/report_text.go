package benchmarks

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// topCounts is the first n counts as "name count, ...".
func topCounts(cs []Count, n int) string {
	var parts []string
	for i, c := range cs {
		if i == n {
			parts = append(parts, fmt.Sprintf("(%d more)", len(cs)-n))
			break
		}
		parts = append(parts, fmt.Sprintf("%s %d", c.Name, c.Count))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// ConfigLine is the system's config in one line ("" without a sidecar).
func (s SystemStats) ConfigLine() string {
	c := s.Config
	if c == nil {
		return ""
	}
	parts := []string{"model " + c.Model}
	if c.Decoding != "" {
		parts = append(parts, c.Decoding)
	}
	if c.Prompt != "" {
		parts = append(parts, "prompt "+c.Prompt)
	}
	parts = append(parts, "budget "+c.Budget, "search "+c.Search, "checker "+c.Checker,
		"git "+orUnknown(strings.Join(c.GitRevisions, ", ")))
	return strings.Join(parts, "; ")
}

// CostLine is the system's time and checks in one line.
func (s SystemStats) CostLine() string {
	c := s.Cost
	if c.QueueS+c.SetupS+c.SearchS+c.VerifyS == 0 {
		// Lines written before the stages were timed.
		return fmt.Sprintf("%d attempts, wall %.1fs (stages not recorded), %d expansions, %d tactic checks",
			c.Attempts, c.WallS, c.Expansions, c.TacticChecks)
	}
	return fmt.Sprintf("%d attempts, wall %.1fs (queue %.1f, setup %.1f, search %.1f, verify %.1f), %d expansions, %d tactic checks, %.1f checks/s of search",
		c.Attempts, c.WallS, c.QueueS, c.SetupS, c.SearchS, c.VerifyS, c.Expansions, c.TacticChecks, c.ChecksPerS)
}

// ModelLine is the system's model cost in one line ("" when the results
// carry none).
func (s SystemStats) ModelLine() string {
	m := s.Cost.Model
	if m == nil {
		return ""
	}
	return fmt.Sprintf("%d requests for %d proposals (%d retries, %d failed, %d throttled), tokens %d prompt (%.0f%% cached) + %d completion; %.1f request-s in the model, searches waited %.1fs for it and spent %.1fs in the checker (%.1f checks/s)",
		m.Requests, m.Proposals, m.Retries, m.Failures, m.Throttled, m.PromptTokens, 100*m.CacheHitRate, m.CompletionTokens,
		m.ModelS, m.ProposeS, m.CheckerS, m.ChecksPerCheckerS)
}

// WriteText prints the report for people.
func (rep *Report) WriteText(w io.Writer) {
	for _, s := range rep.Systems {
		fmt.Fprintf(w, "%s: solved %d/%d = %.1f%% (95%% CI %.1f-%.1f%%)\n", s.System, s.Solved, s.Problems, 100*s.Rate, 100*s.Lo, 100*s.Hi)
		if l := s.ConfigLine(); l != "" {
			fmt.Fprintf(w, "  config: %s\n", l)
		}
		fmt.Fprintf(w, "  attempts: %s\n", statusLine(s.ByStatus))
		fmt.Fprintf(w, "  no proof: %s\n", topCounts(s.Failures, 8))
		fmt.Fprintf(w, "  closing tactics: %s\n", topCounts(s.Closers, 5))
		fmt.Fprintf(w, "  tactic heads: %s\n", topCounts(s.Tactics, 8))
		fmt.Fprintf(w, "  cost: %s\n", s.CostLine())
		if l := s.ModelLine(); l != "" {
			fmt.Fprintf(w, "  model: %s\n", l)
		}
		for _, c := range s.Categories {
			fmt.Fprintf(w, "  %-20s %3d/%-3d (95%% CI %.1f-%.1f%%)\n", c.Category, c.Solved, c.Total, 100*c.Lo, 100*c.Hi)
		}
		for _, p := range s.PassAtK {
			fmt.Fprintf(w, "  pass@%d %.1f%%\n", p.K, 100*p.Value)
		}
	}
	if c := rep.Cross; c != nil {
		fmt.Fprintf(w, "cross-system: proved by all %d, by none %d\n", c.ByAll, c.ByNone)
		for _, s := range c.Systems {
			fmt.Fprintf(w, "  only %s: %d\n", s, c.OnlyBy[s])
		}
	}
	for _, warn := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", warn)
	}
}

func statusLine(m map[string]int) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// WriteJSON writes the report as indented JSON.
func (rep *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// mdCell escapes text for a Markdown table cell.
func mdCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// WriteMarkdown writes the report as Markdown.
func (rep *Report) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "# miniF2F report\n\nInputs: %s\n\n", strings.Join(mdCode(rep.Inputs), ", "))
	if len(rep.Warnings) > 0 {
		fmt.Fprintln(w, "## Warnings")
		fmt.Fprintln(w)
		for _, warn := range rep.Warnings {
			fmt.Fprintf(w, "- %s\n", warn)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w, "## Summary")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| system | solved | rate | 95% CI | attempts |")
	fmt.Fprintln(w, "|---|---|---|---|---|")
	for _, s := range rep.Systems {
		fmt.Fprintf(w, "| %s | %d/%d | %.1f%% | %.1f-%.1f%% | %s |\n", mdCell(s.System), s.Solved, s.Problems, 100*s.Rate, 100*s.Lo, 100*s.Hi, statusLine(s.ByStatus))
	}
	fmt.Fprintln(w, "\n## Systems")
	for _, s := range rep.Systems {
		fmt.Fprintf(w, "\n### %s\n\n", s.System)
		if c := s.Config; c != nil {
			fmt.Fprintf(w, "- model: %s\n", mdCell(c.Model))
			if c.Decoding != "" {
				fmt.Fprintf(w, "- decoding: %s\n", mdCell(c.Decoding))
			}
			if c.Prompt != "" {
				fmt.Fprintf(w, "- prompt: %s\n", mdCell(c.Prompt))
			}
			fmt.Fprintf(w, "- budget: %s\n- search: %s\n- checker: %s\n- git: %s\n- runs: %s (%d sessions on %d hosts)\n",
				c.Budget, c.Search, mdCell(c.Checker), orUnknown(strings.Join(c.GitRevisions, ", ")), strings.Join(mdCode(c.RunIDs), ", "), c.Sessions, c.Hosts)
		} else {
			fmt.Fprintln(w, "- config: unknown (no OUT.meta.json)")
		}
		fmt.Fprintf(w, "- cost: %s\n", s.CostLine())
		if l := s.ModelLine(); l != "" {
			fmt.Fprintf(w, "- model cost: %s\n", l)
		}
		fmt.Fprintf(w, "- no proof: %s\n- closing tactics: %s\n- tactic heads: %s\n",
			mdCell(topCounts(s.Failures, 8)), mdCell(topCounts(s.Closers, 5)), mdCell(topCounts(s.Tactics, 8)))
		fmt.Fprintln(w, "\n| category | solved | 95% CI |\n|---|---|---|")
		for _, c := range s.Categories {
			fmt.Fprintf(w, "| %s | %d/%d | %.1f-%.1f%% |\n", c.Category, c.Solved, c.Total, 100*c.Lo, 100*c.Hi)
		}
		if len(s.PassAtK) > 0 {
			fmt.Fprintln(w, "\n| k | pass@k |\n|---|---|")
			for _, p := range s.PassAtK {
				fmt.Fprintf(w, "| %d | %.1f%% |\n", p.K, 100*p.Value)
			}
		}
	}
	if c := rep.Cross; c != nil {
		fmt.Fprintf(w, "\n## Cross-system\n\nProved by all: %d; by none: %d.", c.ByAll, c.ByNone)
		for _, s := range c.Systems {
			fmt.Fprintf(w, " Only %s: %d.", s, c.OnlyBy[s])
		}
		var heads []string
		for _, s := range c.Systems {
			heads = append(heads, mdCell(s))
		}
		fmt.Fprintf(w, "\n\n| problem | %s |\n|---%s|\n", strings.Join(heads, " | "), strings.Repeat("|---", len(c.Systems)))
		for _, r := range c.Rows {
			marks := make([]string, len(r.Proved))
			for i, p := range r.Proved {
				marks[i] = map[bool]string{true: "proved", false: "-"}[p]
			}
			fmt.Fprintf(w, "| %s/%s | %s |\n", r.Split, r.Name, strings.Join(marks, " | "))
		}
	}
	fmt.Fprintln(w, "\n## Problems")
	var sys []string
	for _, s := range rep.Systems {
		sys = append(sys, mdCell(s.System))
	}
	fmt.Fprintf(w, "\n| problem | category | %s |\n|---|---%s|\n", strings.Join(sys, " | "), strings.Repeat("|---", len(sys)))
	for _, p := range rep.Problems {
		cells := make([]string, len(p.Cells))
		for i, c := range p.Cells {
			cells[i] = "n/a"
			if c.Status != "" {
				cells[i] = fmt.Sprintf("%s (%.1fs, %d exp.)", c.Status, c.WallS, c.Expansions)
			}
		}
		fmt.Fprintf(w, "| %s/%s | %s | %s |\n", p.Split, p.Name, p.Category, strings.Join(cells, " | "))
	}
	fmt.Fprintln(w, "\n## Verified proofs")
	for _, p := range rep.Problems {
		for _, c := range p.Cells {
			if c.FileText == "" {
				continue
			}
			fmt.Fprintf(w, "\n### %s/%s (%s)\n\n```\n%s\n```\n", p.Split, p.Name, c.System, strings.TrimRight(c.FileText, "\n"))
		}
	}
}

func mdCode(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = "`" + s + "`"
	}
	return out
}
