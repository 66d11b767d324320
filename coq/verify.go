package coq

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	supervise "github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/internal/sandbox"
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
	if usesHammer(proof) {
		sb.WriteString(HammerPrelude)
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

var (
	intervalRE = regexp.MustCompile(`\binterval\b`)
	hammerRE   = regexp.MustCompile(`\b(?:` + strings.Join(HammerTactics, "|") + `)\b`)
)

// usesHammer reports whether a proof calls one of HammerTactics.
func usesHammer(proof []string) bool {
	for _, t := range proof {
		if hammerRE.MatchString(t) {
			return true
		}
	}
	return false
}

// hammerInstalled reports (once per backend) whether CoqHammer's tactics
// library is installed beside Coq's.
func (b *Backend) hammerInstalled() bool {
	b.hammerOnce.Do(func() {
		if lib := b.lib(); lib != "" {
			_, err := os.Stat(filepath.Join(lib, "user-contrib", "Hammer", "Tactics", "Tactics.vo"))
			b.hammer = err == nil
		}
	})
	return b.hammer
}

// usesInterval reports whether a proof calls the interval tactic.
func usesInterval(proof []string) bool {
	for _, t := range proof {
		if intervalRE.MatchString(t) {
			return true
		}
	}
	return false
}

// tool runs one checker command (coqc, coqchk) in dir through the
// project's supervisor: own process group killed at the verification
// deadline, the memory limit, and a Landlock sandbox that lets it write
// only in rw (the job directory) and read the system, Coq's library and
// ro. failed reports a rejection (non-zero exit, or killed at the
// deadline or for flooding, noted in out); err means the tool could not be
// run at all.
func (b *Backend) tool(ctx context.Context, dir string, argv []string, rw []string, ro ...string) (out string, failed bool, err error) {
	spec := supervise.Spec{
		Name: filepath.Base(argv[0]),
		Argv: argv,
		Dir:  dir,
		// psatz and nra write csdp's files in TMPDIR: the job directory is
		// the only writable place. PATH holds only directories the sandbox
		// lets the checker read (Coq scans it, and warns about the others).
		Env:         append(slices.Clone(b.cfg.Env), "TMPDIR="+dir, "PATH="+b.checkerPath()),
		MemoryLimit: b.cfg.MemoryLimit,
		MergeOutput: true,
		Sandbox:     b.policy(rw, ro),
		InstallHint: "install it with: apt-get install -y coq",
	}
	res, err := supervise.Run(ctx, spec, b.cfg.VerifyTimeout)
	out = string(res.Stdout)
	var ee *supervise.ExitError
	switch {
	case err == nil:
		return out, false, nil
	case errors.As(err, &ee):
		return out, true, nil
	case errors.Is(err, supervise.ErrTimeout):
		return out + fmt.Sprintf("\n%s killed after %s", spec.Name, b.cfg.VerifyTimeout), true, nil
	case errors.Is(err, supervise.ErrOutputLimit):
		return out + "\n" + spec.Name + " killed: it printed more than the output limit", true, nil
	}
	var se *supervise.StartError
	if errors.As(err, &se) {
		return out, false, fmt.Errorf("%w: %w", prover.ErrUnavailable, err)
	}
	return out, false, err
}

// policy is the sandbox of a checker process: read the system and Coq's
// installed library, write only the job directory, no network.
func (b *Backend) policy(rw, ro []string) *sandbox.Policy {
	read := append(sandbox.SystemReadOnly(), ro...)
	if lib := b.lib(); lib != "" {
		read = append(read, lib)
	}
	if p, err := exec.LookPath(b.cfg.Coqc); err == nil {
		read = append(read, filepath.Dir(p))
	}
	return &sandbox.Policy{ReadOnly: read, ReadWrite: rw, NoNetwork: true}
}

// lib is Coq's library directory, coqc -where ("" when it fails), asked
// once per backend.
func (b *Backend) lib() string {
	b.libOnce.Do(func() {
		if res, err := supervise.Run(context.Background(), supervise.Spec{Argv: []string{b.cfg.Coqc, "-where"}}, 30*time.Second); err == nil {
			b.coqLib = strings.TrimSpace(string(res.Stdout))
		}
	})
	return b.coqLib
}

// checkerPath is the PATH of a sandboxed checker: coqc's directory and
// the system's binaries.
func (b *Backend) checkerPath() string {
	dirs := []string{"/usr/local/bin", "/usr/bin", "/bin"}
	if p, err := exec.LookPath(b.cfg.Coqc); err == nil {
		if d := filepath.Dir(p); !slices.Contains(dirs, d) {
			dirs = append([]string{d}, dirs...)
		}
	}
	return strings.Join(dirs, ":")
}

// sandboxStatus says what confines the checker processes.
func (b *Backend) sandboxStatus() string { return sandbox.Describe(&sandbox.Policy{NoNetwork: true}) }

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
		} else if out, err := probe(ctx, path, "--version"); err != nil {
			c.Detail = "does not run: " + err.Error()
		} else {
			c.OK, c.Detail, c.Fix = true, strings.SplitN(strings.TrimSpace(string(out)), "\n", 2)[0], ""
		}
		checks = append(checks, c)
	}
	// Optional: without it the 39 miniF2F files that import it end in
	// error (setup), the others run.
	c := prover.Check{Name: "Coquelicot", Optional: true, Fix: fix}
	if out, err := probe(ctx, cfg.Coqc, "-where"); err == nil {
		dir := filepath.Join(strings.TrimSpace(string(out)), "user-contrib", "Coquelicot")
		if _, err := os.Stat(dir); err == nil {
			c.OK, c.Detail, c.Fix = true, dir, ""
		} else {
			c.Detail = "not installed (" + dir + " missing); 39 miniF2F files import it"
		}
	} else {
		c.Detail = "coqc -where failed"
	}
	checks = append(checks, c)
	return append(checks, automationChecks(ctx, cfg)...)
}

// probe runs a quick informational command (supervised, 20 s at most)
// and returns its stdout.
func probe(ctx context.Context, argv ...string) ([]byte, error) {
	res, err := supervise.Run(ctx, supervise.Spec{Argv: argv, MaxOutput: 1 << 16}, 20*time.Second)
	return res.Stdout, err
}

// automationChecks are the optional tools of the GPU-free proposers:
// CoqHammer's tactics (sauto and friends, loaded when installed), csdp
// (psatz), and the external provers CoqHammer's `hammer` calls (not used
// by the portfolio: its reconstructions are sauto calls).
func automationChecks(ctx context.Context, cfg Config) []prover.Check {
	var checks []prover.Check
	h := prover.Check{Name: "CoqHammer tactics", Optional: true, Fix: "apt-get install -y libcoq-hammer"}
	if out, err := probe(ctx, cfg.Coqc, "-where"); err == nil {
		f := filepath.Join(strings.TrimSpace(string(out)), "user-contrib", "Hammer", "Tactics", "Tactics.vo")
		if _, err := os.Stat(f); err == nil {
			h.OK, h.Detail, h.Fix = true, filepath.Dir(f)+" (loaded in every coqtop: sauto, hauto, sfirstorder...)", ""
		} else {
			h.Detail = "not installed: the portfolio's sauto family is unavailable"
		}
	} else {
		h.Detail = "coqc -where failed"
	}
	checks = append(checks, h)
	for _, t := range []struct{ name, pkg, use string }{
		{"csdp", "coinor-csdp", "psatz (nonlinear real and integer goals)"},
		{"eprover", "eprover", "CoqHammer's hammer (not used by the portfolio)"},
		{"cvc4", "cvc4", "CoqHammer's hammer (not used by the portfolio; it also wants CoqHammer's htimeout)"},
		{"z3_tptp", "", "CoqHammer's hammer (not used by the portfolio); Debian's z3 ships no TPTP front end, so hammer runs without Z3"},
	} {
		c := prover.Check{Name: t.name, Optional: true, Fix: "apt-get install -y " + t.pkg}
		if t.pkg == "" {
			c.Fix = "build z3's examples/tptp as z3_tptp on PATH (optional)"
		}
		if path, err := exec.LookPath(t.name); err == nil {
			c.OK, c.Detail, c.Fix = true, path+" for "+t.use, ""
		} else {
			c.Detail = "not found on PATH; needed by " + t.use
		}
		checks = append(checks, c)
	}
	return checks
}
