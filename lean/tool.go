package lean

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/internal/sandbox"
	"github.com/llemma-prove/llemma-prove/prover"
)

// The processes of the final check (lake env, and lean on the challenge,
// the solution and the compare file) all start in runTool, which hands
// them to internal/proc.Run: own process group killed as a whole at the
// deadline, on ctx's end and when the leader exits; RLIMIT_AS set before
// the program's first instruction; stdout kept (bounded), stderr tail
// kept; and, for lean, the internal/sandbox Landlock policy.

// maxToolOutput bounds what a check process may print on stdout; past it
// the process is killed and the check fails.
const maxToolOutput = 8 << 20

// toolRun is one process of the final check.
type toolRun struct {
	Name    string
	Path    string
	Args    []string // argv[1:]
	Dir     string
	Env     []string // added to the prover's environment; later entries win
	Timeout time.Duration
	// MemoryLimit is RLIMIT_AS in bytes (<= 0: none).
	MemoryLimit int64
	// Sandbox confines the process (nil: not sandboxed).
	Sandbox *sandbox.Policy
}

// toolResult is how a process ended.
type toolResult struct {
	Exit       int    // exit status; -1 when killed by a signal
	Stdout     string // at most maxToolOutput bytes
	StderrTail string
	TimedOut   bool   // killed at the deadline
	Overflow   bool   // killed for printing more than maxToolOutput
	Sandbox    string // what confined it (sandbox.Describe)
}

// runTool runs r to completion. An error means the process could not be
// run as asked (not found, the sandbox could not be set up) or ctx ended;
// a process that failed, timed out or overflowed is a toolResult.
func runTool(ctx context.Context, r toolRun) (toolResult, error) {
	spec := proc.Spec{
		Name:        r.Name,
		Argv:        append([]string{r.Path}, r.Args...),
		Dir:         r.Dir,
		Env:         r.Env,
		MaxOutput:   maxToolOutput,
		Sandbox:     r.Sandbox,
		InstallHint: "install elan (it provides lake and lean) and build the project: " + setupHint,
	}
	if r.MemoryLimit > 0 {
		spec.MemoryLimit = r.MemoryLimit
	}
	res, err := proc.Run(ctx, spec, r.Timeout)
	out := toolResult{Exit: res.ExitCode, Stdout: string(res.Stdout), Sandbox: res.Sandbox,
		StderrTail: strings.TrimSpace(strings.ToValidUTF8(string(tailBytes(res.Stderr, stderrTailBytes)), "?"))}
	var ee *proc.ExitError
	var se *proc.StartError
	switch {
	case err == nil:
		return out, nil
	case errors.As(err, &ee):
		if ee.StderrTail != "" {
			out.StderrTail = ee.StderrTail
		}
		if ee.Code == sandbox.HelperExitCode && strings.Contains(out.StderrTail, "llemma-sandbox:") {
			return out, fmt.Errorf("confining %s: %s", r.Name, out.StderrTail)
		}
		return out, nil
	case errors.Is(err, proc.ErrTimeout):
		out.TimedOut = true
		return out, nil
	case errors.Is(err, proc.ErrOutputLimit):
		out.Overflow = true
		return out, nil
	case ctx.Err() != nil:
		return out, context.Cause(ctx)
	case errors.As(err, &se) && (errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)):
		return out, fmt.Errorf("%w: %w", err, prover.ErrUnavailable)
	}
	return out, err
}

func tailBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// toolchain is what `lake env` says about the project: the lean binary of
// its toolchain and the search path of its packages.
type toolchain struct {
	lean     string   // absolute path of the toolchain's lean
	sysroot  string   // the toolchain's prefix (LEAN_SYSROOT)
	leanPath []string // LEAN_PATH: the project's and its packages' olean dirs
	ldPath   string   // the shared-library path lake sets
}

// toolchain asks `lake env printenv` once, in the project, for the
// project's lean and LEAN_PATH, and keeps the answer for the backend's
// lifetime (a failure is not kept). Asking once and then running plain
// lean, rather than `lake env lean` per compile, keeps lake (which reads
// and may rewrite the project's .lake) out of the untrusted runs: the
// sandboxed process is the compiler alone, with nothing writable but its
// job directory, and a check costs three process starts instead of six.
func (b *Backend) toolchain(ctx context.Context) (toolchain, error) {
	b.tcMu.Lock()
	defer b.tcMu.Unlock()
	if b.tc != nil {
		return *b.tc, nil
	}
	dir := b.cfg.Project
	if dir == "" {
		dir = "."
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return toolchain{}, fmt.Errorf("resolving the lean project %q: %w", dir, err)
	}
	lake := b.cfg.Lake
	if !strings.ContainsRune(lake, '/') {
		p, err := exec.LookPath(lake)
		if err != nil {
			return toolchain{}, fmt.Errorf("%s not found on PATH (install elan, which provides lake, or set the lake command): %w", lake, prover.ErrUnavailable)
		}
		lake = p
	}
	res, err := runTool(ctx, toolRun{
		Name:        "lake env",
		Path:        lake,
		Args:        []string{"env", "printenv"},
		Dir:         absDir,
		Env:         b.cfg.Env,
		Timeout:     b.cfg.StartTimeout,
		MemoryLimit: b.cfg.MemoryLimit,
	})
	if err != nil {
		return toolchain{}, fmt.Errorf("asking lake for the project's environment: %w", err)
	}
	if res.Exit != 0 {
		return toolchain{}, fmt.Errorf("`lake env printenv` in %s exited with status %d (is it a Lake project? run `lake build` there first): %s: %w",
			absDir, res.Exit, res.StderrTail, prover.ErrUnavailable)
	}
	vars := map[string]string{}
	for _, line := range strings.Split(res.Stdout, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch k {
		case "LEAN", "LEAN_SYSROOT", "LEAN_PATH", "LD_LIBRARY_PATH":
			if _, seen := vars[k]; !seen {
				vars[k] = v
			}
		}
	}
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(absDir, p)
	}
	tc := toolchain{lean: abs(vars["LEAN"]), sysroot: abs(vars["LEAN_SYSROOT"]), ldPath: vars["LD_LIBRARY_PATH"]}
	if tc.lean == "" && tc.sysroot != "" {
		tc.lean = filepath.Join(tc.sysroot, "bin", "lean")
	}
	if tc.sysroot == "" && tc.lean != "" {
		tc.sysroot = filepath.Dir(filepath.Dir(tc.lean))
	}
	for _, p := range filepath.SplitList(vars["LEAN_PATH"]) {
		if p != "" {
			tc.leanPath = append(tc.leanPath, abs(p))
		}
	}
	if tc.lean == "" || len(tc.leanPath) == 0 {
		return toolchain{}, fmt.Errorf("`lake env printenv` in %s set no LEAN or no LEAN_PATH: %w", absDir, prover.ErrUnavailable)
	}
	b.tc = &tc
	return tc, nil
}
