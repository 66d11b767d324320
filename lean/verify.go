package lean

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

const indent = "  "

// Assemble returns the complete file proving thm with proof: the header
// and statement byte for byte, then " := by" and one tactic per line,
// indented two spaces; continuation lines of a multi-line tactic keep their
// relative indentation, shifted by the same two spaces.
func (b *Backend) Assemble(thm prover.Theorem, proof []string) string {
	var sb strings.Builder
	sb.WriteString(thm.Header)
	sb.WriteString(thm.Statement)
	sb.WriteString(" := by\n")
	for _, t := range proof {
		for _, line := range strings.Split(t, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			sb.WriteString(indent)
			sb.WriteString(strings.TrimRight(line, " \t\r"))
			sb.WriteByte('\n')
		}
	}
	return sb.String()
}

// ProofOf extracts the tactics from a file that starts with thm's header
// and statement exactly, followed by ":= by" and a tactic block. Each line
// at the block's indentation starts a tactic; deeper lines continue it.
func (b *Backend) ProofOf(thm prover.Theorem, fileText string) ([]string, error) {
	prefix := thm.Header + thm.Statement
	if !strings.HasPrefix(fileText, prefix) {
		return nil, fmt.Errorf("file does not start with the header and statement of %s", thm.Name)
	}
	rest := strings.TrimLeft(fileText[len(prefix):], " \t\r\n")
	var ok bool
	if rest, ok = strings.CutPrefix(rest, ":="); !ok {
		return nil, errors.New(`statement is not followed by ":= by"`)
	}
	rest = strings.TrimLeft(rest, " \t")
	if rest, ok = strings.CutPrefix(rest, "by"); !ok || (rest != "" && !strings.ContainsAny(rest[:1], " \t\r\n")) {
		return nil, errors.New(`statement is not followed by ":= by"`)
	}
	first, body, _ := strings.Cut(rest, "\n")
	if t := strings.TrimSpace(first); t != "" {
		if strings.TrimSpace(body) != "" {
			return nil, errors.New("a tactic on the line of \"by\" must be the whole proof")
		}
		return []string{t}, nil
	}
	var tactics []string
	base := -1
	for n, line := range strings.Split(body, "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			continue
		}
		if strings.ContainsRune(line, '\t') {
			return nil, fmt.Errorf("proof line %d contains a tab", n+1)
		}
		ind := len(line) - len(strings.TrimLeft(line, " "))
		if base < 0 {
			if ind == 0 {
				return nil, fmt.Errorf("proof line %d is not indented", n+1)
			}
			base = ind
		}
		switch {
		case ind == base:
			tactics = append(tactics, line[base:])
		case ind > base:
			tactics[len(tactics)-1] += "\n" + line[base:]
		default:
			return nil, fmt.Errorf("proof line %d is outside the tactic block", n+1)
		}
	}
	if len(tactics) == 0 {
		return nil, errors.New("the proof has no tactics")
	}
	return tactics, nil
}

// Verify re-checks fileText in command mode on a verification process (one
// that never ran a search), in the header's env: the file must be thm's
// header and statement with a tactic block the policy accepts; Lean must
// report no error, no sorry and no "declaration uses `sorry`" warning; and
// `#print axioms` must list only allowed axioms.
func (b *Backend) Verify(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	thm := prover.Theorem{Name: req.Name, Backend: "lean"}
	if req.Challenge != nil {
		thm = *req.Challenge
	}
	return b.verifyFile(ctx, thm, req.Solution)
}

func (b *Backend) verifyFile(ctx context.Context, thm prover.Theorem, fileText string) (prover.Verification, error) {
	start := time.Now()
	reject := func(format string, args ...any) (prover.Verification, error) {
		return prover.Verification{Message: fmt.Sprintf(format, args...), Elapsed: time.Since(start)}, nil
	}
	if b.closed.Load() {
		return prover.Verification{}, prover.ErrClosed
	}
	tactics, err := b.ProofOf(thm, fileText)
	if err != nil {
		return reject("%v", err)
	}
	for i, t := range tactics {
		if _, err := b.policy.Check(t); err != nil {
			return reject("tactic %d: %v", i+1, err)
		}
	}
	body := fileText[len(thm.Header):]

	if err := b.verify.acquire(ctx); err != nil {
		return prover.Verification{}, fmt.Errorf("waiting for a verification process: %w", err)
	}
	defer b.verify.unlease()
	pr, err := b.verify.take(ctx, thm.Header)
	if err != nil {
		return prover.Verification{}, fmt.Errorf("starting the verification process: %w", err)
	}
	defer func() { b.verify.release(pr) }()

	resp, err := pr.roundTrip(ctx, CommandRequest{Cmd: body, Env: Env(pr.headerEnv)}, b.cfg.RequestTimeout)
	pr.requests++
	if err != nil {
		var te *timeoutError
		if errors.As(err, &te) {
			return reject("the final check timed out: %v", err)
		}
		if ctx.Err() != nil {
			return prover.Verification{}, fmt.Errorf("checking the proof: %w", err)
		}
		return prover.Verification{}, fmt.Errorf("checking the proof: %w", err)
	}
	b.verify.healthy()
	if resp.Kind != KindCommand {
		return reject("lean: %s", responseError(resp))
	}
	c := resp.Command
	for _, m := range c.Messages {
		switch {
		case m.Severity == SeverityError:
			return reject("lean error at line %d: %s", m.Pos.Line, m.Data)
		case strings.Contains(m.Data, "declaration uses") && strings.Contains(m.Data, "sorry"):
			// `sorry` since 2025, 'sorry' in older toolchains
			return reject("lean: %s", m.Data)
		}
	}
	if len(c.Sorries) > 0 {
		return reject("the proof contains %d sorry", len(c.Sorries))
	}

	resp, err = pr.roundTrip(ctx, CommandRequest{Cmd: "#print axioms " + thm.Name, Env: Env(c.Env)}, b.cfg.RequestTimeout)
	pr.requests++
	if err != nil {
		return prover.Verification{}, fmt.Errorf("auditing axioms: %w", err)
	}
	if msg := responseError(resp); msg != "" {
		return reject("#print axioms %s: %s", thm.Name, msg)
	}
	axioms, err := parseAxioms(thm.Name, resp.Command.Messages)
	if err != nil {
		return reject("%v", err)
	}
	v := prover.Verification{Axioms: axioms}
	for _, a := range axioms {
		if !slices.Contains(b.cfg.AllowedAxioms, a) {
			v.Disallowed = append(v.Disallowed, a)
		}
	}
	v.Elapsed = time.Since(start)
	if len(v.Disallowed) > 0 {
		v.Message = "disallowed axioms: " + strings.Join(v.Disallowed, ", ")
		return v, nil
	}
	v.Verified = true
	return v, nil
}

// parseAxioms reads the info message of `#print axioms NAME`:
// "'NAME' depends on axioms: [a, b, c]" (the list may wrap) or
// "'NAME' does not depend on any axioms".
func parseAxioms(name string, ms []Message) ([]string, error) {
	for _, m := range ms {
		if m.Severity != SeverityInfo {
			continue
		}
		d := m.Data
		if strings.Contains(d, "does not depend on any axioms") {
			return []string{}, nil
		}
		i := strings.Index(d, "depends on axioms:")
		if i < 0 {
			continue
		}
		list := strings.TrimSpace(d[i+len("depends on axioms:"):])
		if !strings.HasPrefix(list, "[") || !strings.HasSuffix(list, "]") {
			return nil, fmt.Errorf("cannot read the axiom list %q", list)
		}
		var out []string
		for _, a := range strings.Split(list[1:len(list)-1], ",") {
			if a = strings.TrimSpace(a); a != "" {
				out = append(out, a)
			}
		}
		return out, nil
	}
	return nil, fmt.Errorf("#print axioms %s printed no axiom list", name)
}
