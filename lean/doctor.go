package lean

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/prover"
)

const setupHint = "run scripts/setup-lean.sh (make setup-lean), which needs internet"

// Doctor checks what the Lean backend needs: lake, the REPL binary, and
// that the project's toolchain is the one the benchmark data pins.
func Doctor(cfg Config, dataDir string) []prover.Check {
	cfg = cfg.withDefaults()
	var checks []prover.Check

	lake := prover.Check{Name: "lake", Fix: "install elan (it provides lake): " + setupHint}
	if path, err := exec.LookPath("lake"); err != nil {
		lake.Detail = "lake not found on PATH (elan installs it in ~/.elan/bin; add that to PATH)"
	} else {
		lake.OK = true
		lake.Detail = path
		if v := commandOutput(cfg.Project, path, "--version"); v != "" {
			lake.Detail += ": " + v
		}
	}
	checks = append(checks, lake)

	checks = append(checks, replCheck(cfg))

	tc := prover.Check{Name: "lean toolchain", Fix: "build the project and the REPL at the data's toolchain: " + setupHint}
	want, werr := readToolchain(dataDir)
	have, herr := readToolchain(cfg.Project)
	switch {
	case werr != nil:
		tc.Detail = fmt.Sprintf("cannot read the benchmark's lean-toolchain: %v", werr)
	case herr != nil:
		tc.Detail = fmt.Sprintf("cannot read the project's lean-toolchain: %v (set the lean project directory)", herr)
	case want != have:
		tc.Detail = fmt.Sprintf("project pins %s, benchmark data pins %s", have, want)
	default:
		tc.OK = true
		tc.Detail = have
	}
	checks = append(checks, tc)
	return checks
}

// replCheck finds the REPL binary the configured command runs.
func replCheck(cfg Config) prover.Check {
	c := prover.Check{Name: "lean repl", Fix: "build leanprover-community/repl at the project's toolchain and set the repl command to `lake env /abs/path/.lake/build/bin/repl`: " + setupHint}
	bin := cfg.Repl[0]
	if filepath.Base(bin) == "lake" && len(cfg.Repl) >= 3 && cfg.Repl[1] == "env" {
		bin = cfg.Repl[2]
	}
	var candidates []string
	if strings.ContainsRune(bin, '/') {
		p := bin
		if !filepath.IsAbs(p) && cfg.Project != "" {
			p = filepath.Join(cfg.Project, p)
		}
		candidates = append(candidates, p)
	} else {
		if p, err := exec.LookPath(bin); err == nil {
			candidates = append(candidates, p)
		}
		if cfg.Project != "" {
			candidates = append(candidates,
				filepath.Join(cfg.Project, ".lake", "build", "bin", bin),
				filepath.Join(cfg.Project, ".lake", "packages", "REPL", ".lake", "build", "bin", bin))
		}
	}
	for _, p := range candidates {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			c.OK = true
			c.Detail = p
			return c
		}
	}
	c.Detail = fmt.Sprintf("repl binary %q not found (command %q)", bin, strings.Join(cfg.Repl, " "))
	return c
}

func readToolchain(dir string) (string, error) {
	if dir == "" {
		return "", fmt.Errorf("no directory given")
	}
	b, err := os.ReadFile(filepath.Join(dir, "lean-toolchain"))
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// commandOutput is the first line of a quick informational command's
// stdout (supervised, 10 s at most; "" on any failure).
func commandOutput(dir, name string, args ...string) string {
	spec := proc.Spec{Argv: append([]string{name}, args...), MaxOutput: 1 << 16}
	if ok, _ := statDir(dir); dir != "" && ok {
		spec.Dir = dir
	}
	res, err := proc.Run(context.Background(), spec, 10*time.Second)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(strings.SplitN(string(res.Stdout), "\n", 2)[0])
}

func statDir(dir string) (bool, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return false, err
	}
	return fi.IsDir(), nil
}
