package bridge

import (
	"context"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// suggestion is one ranked candidate inside the server.
type suggestion struct {
	tactic  string
	score   float64
	timeout time.Duration
	checked *Checked
}

// suggestQuery is what every transport asks of the suggestion pipeline.
type suggestQuery struct {
	backend string
	state   string
	prefix  string
	n       int
	// name is the theorem's own name when known: suggestions mentioning it
	// are dropped.
	name string
	thm  *prover.Theorem // when set, each suggestion is checked on thm's root
	// dropAesop drops the bare `aesop` (Lean Copilot: checking a
	// model-returned aesop can hang the editor).
	dropAesop bool
}

// worstScore replaces a proposer's non-finite score.
const worstScore = -1e9

// suggest asks the proposer, filters by policy, hygiene and prefix, ranks,
// and checks on the theorem's root when there is one.
func (s *Server) suggest(ctx context.Context, q suggestQuery) ([]suggestion, error) {
	policy, err := s.policy(q.backend)
	if err != nil {
		return nil, err
	}
	prop, err := s.proposer(q.backend)
	if err != nil {
		return nil, err
	}
	n := q.n
	if n <= 0 {
		n = s.Suggestions
	}
	var sess prover.Session
	state := prover.State{Text: q.state, Goals: []string{normalizeState(q.state)}}
	if q.thm != nil {
		b, err := s.backend(q.backend)
		if err != nil {
			return nil, err
		}
		sess, err = b.Open(ctx, *q.thm)
		if err != nil {
			return nil, err
		}
		defer sess.Close()
		if strings.TrimSpace(q.state) == "" {
			state = sess.Root()
		}
	}
	ask := n
	if q.prefix != "" {
		// Room for the candidates the prefix filters out.
		ask = min(4*n, 128)
	}
	req := prover.ProposalRequest{State: state, N: ask}
	if q.thm != nil {
		req.Theorem = *q.thm
	}
	cands, err := prop.Propose(ctx, req)
	if err != nil {
		return nil, err
	}
	out := filterCandidates(cands, policy, q)
	if len(out) > n {
		out = out[:n]
	}
	if sess != nil {
		if err := s.checkAll(ctx, sess, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// filterCandidates applies the policy, the hygiene and the prefix, keeps
// the best score of duplicates, and ranks best first.
func filterCandidates(cands []prover.Candidate, policy prover.Policy, q suggestQuery) []suggestion {
	prefix := strings.TrimLeft(q.prefix, " \t\r\n")
	var self *regexp.Regexp
	if q.name != "" {
		self = mentionRE(q.name)
	}
	index := map[string]int{}
	var out []suggestion
	for _, c := range cands {
		t, err := policy.Check(c.Tactic)
		if err != nil {
			continue
		}
		t = strings.TrimSpace(t)
		switch {
		case t == "", givesUp(t):
			continue
		case q.dropAesop && (t == "aesop" || t == "aesop."):
			continue
		case self != nil && self.MatchString(t):
			continue
		case !strings.HasPrefix(t, prefix):
			continue
		}
		score := c.Score
		if math.IsNaN(score) || math.IsInf(score, 0) {
			score = worstScore
		}
		if i, ok := index[t]; ok {
			if score > out[i].score {
				out[i].score = score
			}
			continue
		}
		index[t] = len(out)
		out = append(out, suggestion{tactic: t, score: score, timeout: c.Timeout})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].score > out[j].score })
	return out
}

var giveUpRE = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_'.])(sorry|admit|Admitted|give_up|oops)(?:$|[^\p{L}\p{N}_'])`)

// givesUp reports a tactic that abandons the goal in any of the provers,
// whatever the backend's policy says.
func givesUp(t string) bool { return giveUpRE.MatchString(t) }

// mentionRE matches name as a whole identifier (a dotted suffix such as
// Foo.name counts too).
func mentionRE(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?:^|[^\p{L}\p{N}_'])` + regexp.QuoteMeta(name) + `(?:$|[^\p{L}\p{N}_'])`)
}

// checkAll applies each suggestion to the root, one at a time, marks the
// result, and ranks: closing first, then valid, then failing; by score
// within each group.
func (s *Server) checkAll(ctx context.Context, sess prover.Session, sugs []suggestion) error {
	root := sess.Root()
	for i := range sugs {
		timeout := sugs[i].timeout
		if timeout <= 0 {
			timeout = s.Budget.TacticTimeout
		}
		r, err := sess.Apply(ctx, root.ID, sugs[i].tactic, timeout)
		if err != nil {
			return err
		}
		c := &Checked{}
		switch r.Status {
		case prover.StepProved:
			c.OK, c.Closed = true, true
		case prover.StepOpen:
			c.OK, c.Goals = true, len(r.State.Goals)
		default:
			c.Goals = len(root.Goals)
			c.Error = r.Status.String()
			if m := strings.TrimSpace(r.Message); m != "" {
				c.Error += ": " + clip(m, 500)
			}
		}
		sugs[i].checked = c
	}
	rank := func(c *Checked) int {
		switch {
		case c.Closed:
			return 0
		case c.OK:
			return 1
		}
		return 2
	}
	sort.SliceStable(sugs, func(i, j int) bool { return rank(sugs[i].checked) < rank(sugs[j].checked) })
	return nil
}

// normalizeState turns a state as the prover prints it into the canonical
// goal text the proposers read: a leading "N goals" line (Coq's, and the
// Lean infoview's) dropped, common indentation and blank lines removed.
func normalizeState(state string) string {
	lines := strings.Split(strings.ReplaceAll(state, "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	if len(lines) > 0 && goalsLine.MatchString(strings.TrimSpace(lines[0])) {
		lines = lines[1:]
	}
	kept := lines[:0]
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l != "" {
			kept = append(kept, l)
		}
	}
	indent := -1
	for _, l := range kept {
		n := len(l) - len(strings.TrimLeft(l, " "))
		if indent < 0 || n < indent {
			indent = n
		}
	}
	for i, l := range kept {
		kept[i] = l[max(indent, 0):]
	}
	return strings.Join(kept, "\n")
}

var goalsLine = regexp.MustCompile(`^\d+ goals?(?: \(ID \d+\))?$`)

// declRE finds declarations in Coq, Lean 4 and Isabelle sources.
var declRE = regexp.MustCompile(`(?m)^[ \t]*(?:(?:private|protected|nonrec|noncomputable|@\[[^\]]*\])\s+)*(?:Theorem|Lemma|Example|Corollary|Proposition|Fact|Remark|theorem|lemma|corollary|proposition)[ \t\n]+([\p{L}_][\p{L}\p{N}_'.]*)`)

// theoremName is the name declared by a statement (the first declaration).
func theoremName(statement string) string {
	if m := declRE.FindStringSubmatch(statement); m != nil {
		return m[1]
	}
	return ""
}

// lastTheoremName is the last declaration in a file or an editor context:
// the theorem being proved at the cursor.
func lastTheoremName(text string) string {
	m := declRE.FindAllStringSubmatch(text, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1][1]
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
