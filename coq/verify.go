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

// tool runs one checker command (coqc, coqchk) in dir under the memory
// limit and the verification deadline, in its own process group. failed
// reports a rejection (non-zero exit, or killed at the deadline, noted in
// out); err means the tool could not be run at all.
func (b *Backend) tool(ctx context.Context, dir string, argv []string, rw []string) (out string, failed bool, err error) {
	ctx, cancel := context.WithTimeoutCause(ctx, b.cfg.VerifyTimeout, errDeadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), b.cfg.Env...)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return "", false, fmt.Errorf("starting %s: %w (install it with: apt-get install -y coq)", argv[0], err)
	}
	if b.cfg.MemoryLimit > 0 {
		lim := &unix.Rlimit{Cur: uint64(b.cfg.MemoryLimit), Max: uint64(b.cfg.MemoryLimit)}
		_ = unix.Prlimit(cmd.Process.Pid, unix.RLIMIT_AS, lim, nil)
	}
	werr := cmd.Wait()
	switch {
	case context.Cause(ctx) == errDeadline:
		return buf.String() + fmt.Sprintf("\n%s killed after %s", filepath.Base(argv[0]), b.cfg.VerifyTimeout), true, nil
	case ctx.Err() != nil:
		return buf.String(), false, context.Cause(ctx)
	case werr != nil:
		var ee *exec.ExitError
		if errors.As(werr, &ee) {
			return buf.String(), true, nil
		}
		return buf.String(), false, fmt.Errorf("running %s: %w", argv[0], werr)
	}
	return buf.String(), false, nil
}

// sandboxStatus says what confines the checker processes.
func (b *Backend) sandboxStatus() string { return "none: not sandboxed yet" }

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
