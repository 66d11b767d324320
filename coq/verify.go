package coq

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llemma-prove/llemma-prove/prover"
)

// Assemble writes the complete file: the prelude, the header and statement
// exactly as given, Proof., the tactics one per line, Qed.
func (b *Backend) Assemble(thm prover.Theorem, proof []string) string {
	var sb strings.Builder
	sb.WriteString(Prelude)
	sb.WriteString("\n")
	if usesInterval(proof) {
		sb.WriteString(IntervalPrelude)
		sb.WriteString("\n")
	}
	sb.WriteString(thm.Header)
	sb.WriteString(thm.Statement)
	sb.WriteString("\nProof.\n")
	for _, t := range proof {
		sb.WriteString("  ")
		sb.WriteString(strings.TrimSpace(t))
		sb.WriteString("\n")
	}
	sb.WriteString("Qed.\n")
	return sb.String()
}

// ProofOf extracts the tactics of a complete file that states exactly thm:
// an optional Prelude sentence, then thm's header and statement sentence by
// sentence (white space aside), Proof., tactics, Qed. and nothing else.
// Every tactic must pass the policy; bullets and braces are kept.
func (b *Backend) ProofOf(thm prover.Theorem, fileText string) ([]string, error) {
	got, rest, err := prover.SplitCoqSentences(fileText)
	if err != nil {
		return nil, fmt.Errorf("the file does not parse: %w", err)
	}
	if rest != "" {
		return nil, fmt.Errorf("the file ends in an unterminated sentence: %q", clip(rest, 60))
	}
	want, _, err := prover.SplitCoqSentences(thm.Header + thm.Statement)
	if err != nil {
		return nil, err
	}
	if len(got) > 0 && got[0] == Prelude && (len(want) == 0 || want[0] != Prelude) {
		got = got[1:]
	}
	if len(got) > 0 && got[0] == IntervalPrelude && (len(want) == 0 || want[0] != IntervalPrelude) {
		got = got[1:]
	}
	for i, w := range want {
		if i >= len(got) || squash(got[i]) != squash(w) {
			found := "end of file"
			if i < len(got) {
				found = clip(got[i], 80)
			}
			return nil, fmt.Errorf("the file does not state %s exactly as the benchmark: sentence %d should be %q, found %q", thm.Name, i+1, clip(w, 80), found)
		}
	}
	got = got[len(want):]
	if len(got) == 0 || !isProofStart(got[0]) {
		return nil, errors.New("expected `Proof.` after the statement")
	}
	got = got[1:]
	end := -1
	for i, s := range got {
		if s == "Qed." || s == "Defined." {
			end = i
			break
		}
	}
	if end < 0 {
		return nil, errors.New("the proof does not end with `Qed.`")
	}
	for _, s := range got[end+1:] {
		if !strings.HasPrefix(s, "Print Assumptions ") {
			return nil, fmt.Errorf("unexpected sentence after Qed.: %q", clip(s, 60))
		}
	}
	var proof []string
	policy := prover.CoqPolicy{}
	for _, s := range got[:end] {
		switch s {
		case "-", "--", "---", "+", "++", "+++", "*", "**", "***", "{", "}":
			proof = append(proof, s)
			continue
		}
		t, err := policy.Check(s)
		if err != nil {
			return nil, fmt.Errorf("proof sentence %q: %w", clip(s, 60), err)
		}
		proof = append(proof, t)
	}
	return proof, nil
}

var intervalRE = regexp.MustCompile(`\binterval\b`)

// usesInterval reports whether a proof calls the interval tactic.
func usesInterval(proof []string) bool {
	for _, t := range proof {
		if intervalRE.MatchString(t) {
			return true
		}
	}
	return false
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// Verify compiles fileText with coqc in a fresh temporary directory and
// audits the axioms of thm.Name with Print Assumptions.
func (b *Backend) Verify(ctx context.Context, req prover.VerifyRequest) (prover.Verification, error) {
	thm := prover.Theorem{Name: req.Name, Backend: "coq"}
	if req.Challenge != nil {
		thm = *req.Challenge
	}
	return b.verifyFile(ctx, thm, req.Solution)
}

func (b *Backend) verifyFile(ctx context.Context, thm prover.Theorem, fileText string) (prover.Verification, error) {
	start := time.Now()
	v, err := b.verify(ctx, thm, fileText)
	v.Elapsed = time.Since(start)
	return v, err
}

func (b *Backend) verify(ctx context.Context, thm prover.Theorem, fileText string) (prover.Verification, error) {
	if _, rest, err := prover.SplitCoqSentences(fileText); err != nil || strings.TrimSpace(rest) != "" {
		return prover.Verification{Message: "the file ends inside a comment, a string or a sentence"}, nil
	}
	if err := b.slots.Acquire(ctx, 1); err != nil {
		return prover.Verification{}, err
	}
	defer b.slots.Release(1)
	dir, err := os.MkdirTemp("", "llemma-coq-")
	if err != nil {
		return prover.Verification{}, fmt.Errorf("creating a directory for coqc: %w", err)
	}
	defer os.RemoveAll(dir)
	text := fileText
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	text += "Print Assumptions " + thm.Name + ".\n"
	file := filepath.Join(dir, "Check.v")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		return prover.Verification{}, fmt.Errorf("writing %s: %w", file, err)
	}
	out, err := b.runCoqc(ctx, dir, file)
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) || errors.Is(err, errDeadline) {
			return prover.Verification{Message: "coqc rejected the file: " + clip(lastLines(out, 8), 800)}, nil
		}
		return prover.Verification{}, err
	}
	axioms, found, unknown := parseAssumptions(out)
	if !found {
		return prover.Verification{Message: "no Print Assumptions output from coqc"}, nil
	}
	allowed := map[string]bool{}
	for _, a := range b.cfg.AllowedAxioms {
		allowed[a] = true
	}
	declared := declaredAssumptions(thm.Header)
	v := prover.Verification{Axioms: axioms}
	for _, a := range axioms {
		short := strings.TrimPrefix(a, "Check.")
		if allowed[a] || (declared[short] && !strings.Contains(short, ".")) {
			continue
		}
		v.Disallowed = append(v.Disallowed, a)
	}
	v.Disallowed = append(v.Disallowed, unknown...)
	sort.Strings(v.Disallowed)
	if len(v.Disallowed) > 0 {
		v.Message = "uses axioms outside the allow-list: " + strings.Join(v.Disallowed, ", ")
		return v, nil
	}
	v.Verified = true
	return v, nil
}

// runCoqc runs coqc -q on file in its own process group under the memory
// limit and the verification deadline.
func (b *Backend) runCoqc(ctx context.Context, dir, file string) (string, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, b.cfg.VerifyTimeout, errDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, b.cfg.Coqc, "-q", filepath.Base(file))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), b.cfg.Env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("starting coqc: %w (install it with: apt-get install -y coq)", err)
	}
	if b.cfg.MemoryLimit > 0 {
		lim := &unix.Rlimit{Cur: uint64(b.cfg.MemoryLimit), Max: uint64(b.cfg.MemoryLimit)}
		_ = unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_AS, lim, nil)
	}
	err := cmd.Wait()
	if ctx.Err() != nil && context.Cause(ctx) == errDeadline {
		return out.String(), errDeadline
	}
	if ctx.Err() != nil {
		return out.String(), ctx.Err()
	}
	return out.String(), err
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Doctor reports whether coqtop, coqc and Coquelicot are usable.
func Doctor(ctx context.Context, cfg Config) []prover.Check {
	cfg.defaults()
	fix := "apt-get install -y coq libcoq-coquelicot   (as root, or with sudo)"
	var checks []prover.Check
	for _, tool := range []string{cfg.Coqtop[0], cfg.Coqc} {
		c := prover.Check{Name: tool, Fix: fix}
		if path, err := exec.LookPath(tool); err != nil {
			c.Detail = "not found on PATH"
		} else if out, err := exec.CommandContext(ctx, path, "--version").Output(); err != nil {
			c.Detail = "does not run: " + err.Error()
		} else {
			c.OK, c.Detail, c.Fix = true, strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0], ""
		}
		checks = append(checks, c)
	}
	c := prover.Check{Name: "Coquelicot", Fix: fix}
	if out, err := exec.CommandContext(ctx, cfg.Coqc, "-where").Output(); err == nil {
		dir := filepath.Join(strings.TrimSpace(string(out)), "user-contrib", "Coquelicot")
		if _, err := os.Stat(dir); err == nil {
			c.OK, c.Detail, c.Fix = true, dir, ""
		} else {
			c.Detail = "not installed (" + dir + " missing); 39 miniF2F files import it"
		}
	} else {
		c.Detail = "coqc -where failed"
	}
	return append(checks, c)
}
