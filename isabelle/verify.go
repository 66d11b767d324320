package isabelle

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Verify checks fileText as a whole theory in a session started for this
// check alone. Before the server sees it, the file must be thm's header and
// statement byte for byte (and, when thm.Path is readable, the benchmark
// file's statement), followed by policy-clean steps and the client's
// closing; the canonical Assemble of those steps is what is checked.
// Verified requires ok, no errors, and the theory's node consolidated with
// no failed command. Isabelle reports no axiom list over the server, so
// Axioms stays empty: soundness rests on the lexical policy (no sorry, oops,
// axiomatization, ML, setup, oracle, declare, quick_and_dirty).
func (b *Backend) Verify(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	thm := prover.Theorem{Name: req.Name, Backend: "isabelle"}
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
	steps, err := proofOf(thm, fileText)
	if err != nil {
		return reject("%v", err)
	}
	parsed, err := ParseTheorem(thm.Name, fileText)
	if err != nil {
		return reject("%v", err)
	}
	if parsed.Header != thm.Header || parsed.Statement != thm.Statement {
		return reject("statement differs from the benchmark's")
	}
	if thm.Path != "" {
		if src, err := os.ReadFile(thm.Path); err == nil {
			orig, err := ParseTheorem(thm.Name, string(src))
			if err != nil {
				return reject("benchmark file %s: %v", thm.Path, err)
			}
			if orig.Header != thm.Header || orig.Statement != thm.Statement {
				return reject("statement differs from the benchmark file %s", thm.Path)
			}
		}
	}
	canonical := assemble(thm, steps)
	name := b.uniqueName("Verify")
	text, err := renameTheory(thm.Header, name)
	if err != nil {
		return reject("%v", err)
	}
	text += canonical[len(thm.Header):]
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, b.cfg.VerifyTimeout)
		defer cancel()
	}
	dl, _ := ctx.Deadline()
	budget := time.Until(dl) - b.cfg.CancelGrace
	if budget <= 0 {
		return prover.Verification{Elapsed: time.Since(start)}, fmt.Errorf("final check of %s: no time left before the deadline", thm.Name)
	}
	sessName := b.sessionFor(thm)
	var fresh string
	var freshConn *Client
	res, err := b.useTheory(ctx, sessName, name, text, budget,
		func(ctx context.Context, c *Client, _ uint64) (string, error) {
			if fresh != "" && freshConn == c {
				return fresh, nil
			}
			id, err := b.startSession(ctx, c, sessName)
			fresh, freshConn = id, c
			return id, err
		})
	if freshConn != nil && fresh != "" && freshConn.Err() == nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.cfg.CancelGrace)
		_, _ = freshConn.Run(sctx, "session_stop", map[string]string{"session_id": fresh}, nil)
		cancel()
	}
	if err != nil {
		if errors.Is(err, errTimeout) {
			return reject("final check timed out")
		}
		return prover.Verification{Elapsed: time.Since(start)}, fmt.Errorf("final check of %s: %w", thm.Name, err)
	}
	v := prover.Verification{Elapsed: time.Since(start)}
	n := res.node(name)
	var errs []string
	for _, m := range allMessages(res, name) {
		if m.Kind == "error" {
			errs = append(errs, m.Message)
		}
	}
	switch {
	case !res.OK || len(res.Errors) > 0 || len(errs) > 0:
		v.Message = "errors: " + clip(strings.Join(errs, "\n"), 1000)
	case n == nil:
		v.Message = "no result node for the theory"
	case !n.Status.Consolidated || n.Status.Failed != 0 || !n.Status.OK || n.Status.Canceled:
		v.Message = fmt.Sprintf("theory not consolidated cleanly (consolidated=%v failed=%d ok=%v)", n.Status.Consolidated, n.Status.Failed, n.Status.OK)
	default:
		v.Verified = true
		if canonical != fileText {
			v.Message = "checked the canonical form of the proof"
		}
	}
	return v, nil
}
