package isabelle

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// stepNode is one state of a session: the concrete steps that lead to it
// (sledgehammer resolved) and the path as search sees it.
type stepNode struct {
	steps []string
	path  []string
	state prover.State
}

// Session is one theorem on the shared server. States are step lists;
// every Apply re-checks the prefix plus the candidate in a fresh theory.
type Session struct {
	b    *Backend
	thm  prover.Theorem
	sess string
	// local: thm's statement ends inside a structured proof, at a local
	// goal (a hole's session); checks end with oops
	local bool

	mu     sync.Mutex
	nodes  map[prover.StateID]*stepNode
	next   prover.StateID
	root   prover.State
	closed bool
}

var _ prover.Session = (*Session)(nil)

// Open checks thm's statement and returns a session at its initial goal.
func (b *Backend) Open(ctx context.Context, thm prover.Theorem) (prover.Session, error) {
	if thm.Backend != "" && thm.Backend != "isabelle" {
		return nil, fmt.Errorf("%w: %s is a %s theorem", prover.ErrLoad, thm.Name, thm.Backend)
	}
	if _, err := Imports(thm); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", prover.ErrLoad, thm.Name, err)
	}
	s := &Session{b: b, thm: thm, sess: b.sessionFor(thm), nodes: map[prover.StateID]*stepNode{}}
	timeout := b.cfg.StepTimeout * 3
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	out, err := s.check(ctx, nil, timeout)
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", thm.Name, err)
	}
	if out.Status != prover.StepOpen {
		return nil, fmt.Errorf("%w: %s: %s", prover.ErrLoad, thm.Name, out.Message)
	}
	s.next = 1
	out.State.ID = s.next
	s.root = out.State
	s.nodes[s.next] = &stepNode{state: out.State}
	return s, nil
}

// Root is the theorem's initial state.
func (s *Session) Root() prover.State { return s.root }

// Close forgets the session's states. It is safe to call twice.
func (s *Session) Close() error {
	s.mu.Lock()
	s.closed = true
	s.nodes = nil
	s.mu.Unlock()
	return nil
}

// Apply checks the path to from plus tactic. The tactic passes the policy
// here too: Apply is the last gate before the server.
func (s *Session) Apply(ctx context.Context, from prover.StateID, tactic string, timeout time.Duration) (prover.StepResult, error) {
	start := time.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return prover.StepResult{}, prover.ErrClosed
	}
	n := s.nodes[from]
	s.mu.Unlock()
	t, err := s.b.policy.Check(tactic)
	if err != nil {
		return prover.StepResult{Status: prover.StepRejected, Message: err.Error()}, nil
	}
	if n == nil {
		return prover.StepResult{Status: prover.StepFailed, Message: fmt.Sprintf("unknown state %d", from)}, nil
	}
	if timeout <= 0 {
		timeout = s.b.cfg.StepTimeout
	}
	var out prover.StepResult
	var concrete string
	if t == "sledgehammer" {
		out, concrete, err = s.hammer(ctx, n)
	} else {
		concrete = t
		out, err = s.check(ctx, append(append([]string(nil), n.steps...), t), timeout)
	}
	out.Elapsed = time.Since(start)
	if err != nil {
		return out, err
	}
	if out.Status == prover.StepOpen && strings.HasPrefix(concrete, "using ") {
		out.State = withChained(n.state, out.State, strings.TrimSpace(strings.TrimPrefix(concrete, "using ")))
	}
	switch out.Status {
	case prover.StepOpen, prover.StepProved:
		path := append(append([]string(nil), n.path...), t)
		if t == "sledgehammer" {
			s.b.recordResolution(s.thm, n.path, concrete)
		}
		if out.Status == prover.StepOpen {
			s.mu.Lock()
			if s.closed {
				s.mu.Unlock()
				return prover.StepResult{}, prover.ErrClosed
			}
			s.next++
			out.State.ID = s.next
			s.nodes[s.next] = &stepNode{steps: append(append([]string(nil), n.steps...), concrete), path: path, state: out.State}
			s.mu.Unlock()
		}
	}
	return out, nil
}

var tryThis = regexp.MustCompile(`Try this: (.+?)(?: \([^()]*\))?$`)

// hammer runs sledgehammer on n's state and checks the first tactic it
// suggests that passes the policy.
func (s *Session) hammer(ctx context.Context, n *stepNode) (prover.StepResult, string, error) {
	secs := int(s.b.cfg.SledgehammerTimeout.Seconds())
	if secs < 1 {
		secs = 1
	}
	call := fmt.Sprintf("sledgehammer [timeout = %d]", secs)
	steps := append(append([]string(nil), n.steps...), call)
	ct, res, out, err := s.run(ctx, steps, s.b.cfg.SledgehammerTimeout+s.b.cfg.StepTimeout)
	if err != nil || res == nil {
		return out, "", err
	}
	if out.Status == prover.StepFailed || out.Status == prover.StepTimeout {
		return out, "", nil
	}
	last := ct.steps[len(ct.steps)-1]
	var found []string
	for _, m := range allMessages(res, ct.name) {
		if m.Kind != "writeln" || m.Pos == nil || m.Pos.Line < last[0] || m.Pos.Line > last[1] {
			continue
		}
		for _, line := range strings.Split(m.Message, "\n") {
			if sm := tryThis.FindStringSubmatch(strings.TrimSpace(line)); sm != nil {
				found = append(found, sm[1])
			}
		}
	}
	for _, f := range found {
		t, ok := s.b.spliceable(f)
		if !ok {
			continue
		}
		out, err := s.check(ctx, append(append([]string(nil), n.steps...), t), s.b.cfg.StepTimeout)
		if err != nil || out.Status == prover.StepOpen || out.Status == prover.StepProved {
			return out, t, err
		}
	}
	msg := "sledgehammer found no proof"
	if len(found) > 0 {
		msg = fmt.Sprintf("sledgehammer's suggestions failed: %s", strings.Join(found, "; "))
	}
	return prover.StepResult{Status: prover.StepFailed, Message: msg}, "", nil
}

// check runs one attempt and classifies it.
func (s *Session) check(ctx context.Context, steps []string, timeout time.Duration) (prover.StepResult, error) {
	_, _, out, err := s.run(ctx, steps, timeout)
	return out, err
}

func (s *Session) run(ctx context.Context, steps []string, timeout time.Duration) (checkText, *useResult, prover.StepResult, error) {
	ct, err := buildCheck(s.thm, s.b.uniqueName("Step"), steps, s.local)
	if err != nil {
		return ct, nil, prover.StepResult{}, fmt.Errorf("%w: %v", prover.ErrLoad, err)
	}
	res, err := s.b.useTheory(ctx, s.sess, ct.name, ct.text, timeout, nil)
	switch {
	case err == nil:
		return ct, res, classify(res, ct), nil
	case errors.Is(err, errTimeout):
		msg := fmt.Sprintf("no result within %v", timeout)
		var be *BudgetError
		if errors.As(err, &be) {
			msg = be.Error()
		}
		return ct, nil, prover.StepResult{Status: prover.StepTimeout, Message: msg}, nil
	case errors.Is(err, errConnLost):
		// the server is restored here, so that a crash-looping one shows
		// now (prover.ErrBackendBroken); this step counts as failed
		if _, _, rerr := s.b.ensure(ctx); rerr != nil {
			return ct, nil, prover.StepResult{}, fmt.Errorf("restoring the isabelle server after %v: %w", err, rerr)
		}
		return ct, nil, prover.StepResult{Status: prover.StepFailed, Message: err.Error()}, nil
	}
	var tf *TaskFailed
	if errors.As(err, &tf) && ctx.Err() == nil {
		return ct, nil, prover.StepResult{Status: prover.StepFailed, Message: tf.Error()}, nil
	}
	return ct, nil, prover.StepResult{}, err
}

// allMessages returns the errors and the node messages of theory name,
// without duplicates.
func allMessages(r *useResult, name string) []isaMessage {
	seen := map[string]bool{}
	var out []isaMessage
	add := func(ms []isaMessage) {
		for _, m := range ms {
			k := m.Kind + "\x00" + m.Message
			if m.Pos != nil {
				k += "\x00" + strconv.Itoa(m.Pos.Line)
			}
			if !seen[k] {
				seen[k] = true
				out = append(out, m)
			}
		}
	}
	add(r.Errors)
	if n := r.node(name); n != nil {
		add(n.Messages)
	}
	return out
}

// classify turns a use_theories result into a step outcome: an error
// before the closing is the step's failure; errors only in the closing
// carry the open goals; no error at all with a consolidated node and no
// failed command is a finished proof.
func classify(r *useResult, ct checkText) prover.StepResult {
	msgs := allMessages(r, ct.name)
	var stepErr, closeErr []string
	var stateText string
	for _, m := range msgs {
		line := -1
		if m.Pos != nil {
			line = m.Pos.Line
		}
		inClosing := line >= ct.closing[0] && line <= ct.closing[1]
		switch {
		case m.Kind == "error" && inClosing:
			closeErr = append(closeErr, m.Message)
			if stateText == "" && hasGoalText(m.Message) {
				stateText = m.Message
			}
		case m.Kind == "error":
			where := "step"
			if line >= 1 && line <= ct.stmtLines[1] {
				where = "statement"
			} else if line < 0 {
				where = "theory"
			}
			stepErr = append(stepErr, fmt.Sprintf("%s (line %d): %s", where, line, m.Message))
		case inClosing && line == ct.closing[0] && hasGoalText(m.Message):
			stateText = m.Message // print_state output, when shown
		}
	}
	if len(stepErr) > 0 {
		return prover.StepResult{Status: prover.StepFailed, Message: strings.Join(stepErr, "\n")}
	}
	if len(closeErr) == 0 {
		n := r.node(ct.name)
		switch {
		case n == nil:
			return prover.StepResult{Status: prover.StepFailed, Message: "no result node for " + ct.name}
		case r.OK && len(r.Errors) == 0 && n.Status.Consolidated && n.Status.Failed == 0 && !n.Status.Canceled:
			return prover.StepResult{Status: prover.StepProved}
		case len(r.Errors) == 0 && !n.Status.Consolidated:
			// check_limit gave up before the theory was consolidated
			return prover.StepResult{Status: prover.StepTimeout, Message: "theory not consolidated within the check limit"}
		default:
			return prover.StepResult{Status: prover.StepFailed, Message: fmt.Sprintf("theory not consolidated cleanly (ok=%v consolidated=%v failed=%d)", r.OK, n.Status.Consolidated, n.Status.Failed)}
		}
	}
	if stateText == "" {
		return prover.StepResult{Status: prover.StepFailed, Message: strings.Join(closeErr, "\n")}
	}
	st, ok := ParseGoals(stateText)
	if !ok {
		return prover.StepResult{Status: prover.StepFailed, Message: "cannot read the goal state: " + clip(stateText, 300)}
	}
	if len(st.Goals) == 0 {
		return prover.StepResult{Status: prover.StepFailed, Message: "closing failed without open goals: " + strings.Join(closeErr, "\n")}
	}
	return prover.StepResult{Status: prover.StepOpen, State: st}
}

var goalHead = regexp.MustCompile(`(?m)^goal(?: \((\d+) subgoals?\))?:[ \t]*$`)

func hasGoalText(s string) bool { return goalHead.MatchString(s) }

var subgoalStart = regexp.MustCompile(`^\s*(\d+)\. (.*)$`)

// ParseGoals reads a printed proof state ("using this: ...", "goal (N
// subgoals):", " 1. ...") out of a message. Goals gets one canonical text
// per subgoal (white space collapsed), preceded by the chained facts if
// any and followed by a count when Isabelle printed fewer goals than N.
func ParseGoals(msg string) (prover.State, bool) {
	loc := goalHead.FindStringSubmatchIndex(msg)
	if loc == nil {
		return prover.State{}, false
	}
	total := -1
	if loc[2] >= 0 {
		total, _ = strconv.Atoi(msg[loc[2]:loc[3]])
	}
	textStart := loc[0]
	var facts string
	if i := strings.LastIndex(msg[:loc[0]], "using this:"); i >= 0 {
		facts = strings.Join(strings.Fields(msg[i+len("using this:"):loc[0]]), " ")
		textStart = i
	}
	var goals []string
	var cur []string
	flush := func() {
		if cur != nil {
			goals = append(goals, strings.Join(strings.Fields(strings.Join(cur, " ")), " "))
			cur = nil
		}
	}
	end := len(msg)
	lines := strings.Split(msg[loc[1]:], "\n")
	off := loc[1]
	for _, line := range lines {
		if m := subgoalStart.FindStringSubmatch(line); m != nil {
			flush()
			cur = []string{m[2]}
		} else if cur != nil && strings.HasPrefix(line, " ") && strings.TrimSpace(line) != "" {
			cur = append(cur, strings.TrimSpace(line))
		} else if strings.TrimSpace(line) != "" && cur != nil {
			flush()
			end = off
			break
		}
		off += len(line) + 1
	}
	flush()
	if end > len(msg) {
		end = len(msg)
	}
	if total < 0 {
		total = len(goals)
		if strings.Contains(msg[loc[0]:], "No subgoals!") {
			total = 0
		}
	}
	st := prover.State{Text: strings.TrimSpace(msg[textStart:end])}
	if facts != "" && total > 0 {
		st.Goals = append(st.Goals, "using this: "+facts)
	}
	st.Goals = append(st.Goals, goals...)
	if total > len(goals) {
		st.Goals = append(st.Goals, fmt.Sprintf("(%d subgoals in total)", total))
	}
	if total == 0 {
		st.Goals = nil
	}
	return st, true
}

// spliceable turns a sledgehammer suggestion ("by M", "using facts by M")
// into one step of policy-clean commands, or reports that it cannot.
func (b *Backend) spliceable(suggestion string) (string, bool) {
	cmds, err := splitCommands(suggestion)
	if err != nil || len(cmds) == 0 || len(cmds) > 3 {
		return "", false
	}
	out := make([]string, 0, len(cmds))
	for _, c := range cmds {
		t, err := b.policy.Check(c)
		if err != nil || t == "sledgehammer" {
			return "", false
		}
		out = append(out, t)
	}
	return strings.Join(out, "\n  "), true
}

// withChained marks facts chained by a using step in the state, when the
// printed state does not show them (the closing's failure message prints
// the goals only): otherwise the step would look like a no-op to search.
func withChained(parent, st prover.State, facts string) prover.State {
	if len(st.Goals) > 0 && strings.HasPrefix(st.Goals[0], "using this:") {
		return st
	}
	if len(parent.Goals) > 0 && strings.HasPrefix(parent.Goals[0], "using ") && !strings.HasPrefix(parent.Goals[0], "using this:") {
		facts = strings.TrimPrefix(parent.Goals[0], "using ") + " " + facts
	}
	st.Goals = append([]string{"using " + facts}, st.Goals...)
	st.Text = "using " + facts + "\n" + st.Text
	return st
}
