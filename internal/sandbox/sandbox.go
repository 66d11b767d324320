// Package sandbox confines an untrusted checker process (coqc on a proof
// file, lean on a solution) with Landlock: it may write only inside its job
// directory, read only what it needs, and (on request) open no TCP
// connections.
//
// # How it works
//
// Landlock is per thread, inherited across fork and exec, and irreversible,
// so the prover cannot restrict itself. Instead internal/proc re-executes
// the current binary (/proc/self/exe) with the environment variable
// [EnvVar] holding the policy as JSON, and [HelperArg] followed by the real
// argv as its arguments. This
// package's init function notices the variable, applies the resource
// limits, sets PR_SET_NO_NEW_PRIVS, restricts the thread it runs on with
// Landlock and execve(2)s the real program with the variable removed from
// its environment. It never returns to the Go program: on any failure it
// prints "llemma-sandbox: ..." on stderr and exits with status
// [HelperExitCode].
//
// Because the helper is an init function of a package that internal/proc
// imports, every binary that links internal/proc can act as the helper:
// the llemma-prove CLI and every test binary of every package that starts
// processes. Nothing has to be installed next to the binary. The helper runs
// before main (and before TestMain), after the init functions of the
// packages it does not depend on; those must not have side effects that
// matter to a child (none in this project do).
//
// # Why raw syscalls rather than go-landlock
//
// The helper calls landlock_create_ruleset, landlock_add_rule and
// landlock_restrict_self through golang.org/x/sys/unix on a locked OS
// thread, immediately before execve from that same thread. execve kills the
// other threads and the new image runs on the calling thread with its
// credentials, so the whole new program is confined and there is no need to
// restrict every thread of the Go runtime. github.com/landlock-lsm/go-landlock
// restricts all threads (psx, which under cgo means libpsx and a wrapped
// pthread_create, the configuration `go test -race` builds); that machinery
// buys nothing here, since the helper is about to exec, and costs a new
// dependency plus cgo-dependent behaviour. The raw calls are about a hundred
// lines, already in a module the project requires, and behave the same with
// and without cgo or -race.
//
// # What it does not cover
//
// Landlock (up to ABI 7, which this package uses) does not restrict UDP,
// pathname UNIX sockets, or already open file descriptors, and Multipath
// TCP escapes the TCP rules. stat(2), readlink(2) and chdir(2) are not
// filesystem accesses for Landlock, so a confined process can still learn
// which paths exist. Signals and abstract UNIX sockets are scoped to the
// sandbox from ABI 6. Pair the sandbox with rlimits and a wall-clock kill
// of the process group (internal/proc does both).
package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// EnvVar is the environment variable that turns a process linking this
// package into the sandbox helper. Its value is the JSON produced by
// [Command]; it is never passed on to the confined program.
const EnvVar = "LLEMMA_SANDBOX"

// HelperArg is the first argument of the helper's command line, before
// the real argv; the helper acts only when both it and EnvVar are present.
const HelperArg = "-llemma-sandbox-helper"

// HelperExitCode is the exit status of the helper when it could not confine
// or start the program (a Required policy without Landlock, a missing
// read-write directory, a program that cannot be executed).
const HelperExitCode = 125

// Policy says what a confined process may touch. The zero Policy allows
// reading and writing /dev/null only. The program itself, its shared
// libraries and its data must be readable: start from [SystemReadOnly]
// and add the tool's own directories (coqc -where, an elan toolchain).
type Policy struct {
	// ReadOnly files or directories (recursively) may be read and executed.
	// Paths that do not exist are skipped.
	ReadOnly []string
	// ReadWrite files or directories (recursively) may be read, written,
	// created in, removed from, and executed from: the job directory. They
	// must exist. /dev/null is always allowed read-write.
	ReadWrite []string
	// NoNetwork denies TCP bind and connect (Landlock ABI >= 4) and, from ABI
	// 6, connecting to abstract UNIX sockets outside the sandbox.
	NoNetwork bool
	// Required makes the helper fail (exit HelperExitCode with a message on
	// stderr) when Landlock, or a restriction asked for, is unavailable. The
	// default is best effort: run unconfined, and say so in [Describe].
	Required bool
}

// Limits are resource limits the helper sets on itself just before exec,
// so they hold from the program's first instruction.
type Limits struct {
	AddressSpace int64         // RLIMIT_AS in bytes (0: unchanged)
	CPU          time.Duration // RLIMIT_CPU, rounded up to whole seconds (0: unchanged)
}

// wire is the helper's instructions, carried in EnvVar.
type wire struct {
	Landlock  bool     `json:"landlock"`
	ReadOnly  []string `json:"ro,omitempty"`
	ReadWrite []string `json:"rw,omitempty"`
	NoNetwork bool     `json:"nonet,omitempty"`
	Required  bool     `json:"required,omitempty"`
	AS        int64    `json:"as,omitempty"`
	CPUSecs   int64    `json:"cpu,omitempty"`
	// FakeNoLandlock makes the helper behave as on a kernel without
	// Landlock (tests only; see export_test.go).
	FakeNoLandlock bool `json:"fake_no_landlock,omitempty"`
}

// testFakeNoLandlock is set by tests to fake a kernel without Landlock in the
// helpers they start.
var testFakeNoLandlock bool

// availableFunc is Available, replaceable by tests.
var availableFunc = Available

// Wrap returns the command line and extra environment that run argv under
// p: argv[0] is executed directly if it contains a slash, else looked up on
// the child's PATH. The extra environment must be added to the child's
// (later entries win in os/exec). See [Command].
func (p *Policy) Wrap(argv []string) (newArgv []string, env []string, err error) {
	return Command(p, Limits{}, argv)
}

// Command is Wrap with resource limits; p may be nil (limits only, no
// Landlock). It returns an error when argv is empty, a ReadWrite path does
// not exist, or p is Required and this kernel cannot enforce it.
func Command(p *Policy, lim Limits, argv []string) (newArgv []string, env []string, err error) {
	if len(argv) == 0 {
		return nil, nil, errors.New("sandboxing a command: empty argv")
	}
	w := wire{AS: lim.AddressSpace}
	if lim.CPU > 0 {
		w.CPUSecs = int64((lim.CPU + time.Second - 1) / time.Second)
	}
	if p != nil {
		w.Landlock = true
		w.NoNetwork = p.NoNetwork
		w.Required = p.Required
		w.FakeNoLandlock = testFakeNoLandlock
		for _, path := range p.ReadOnly {
			abs, err := filepath.Abs(path)
			if err != nil {
				return nil, nil, fmt.Errorf("sandboxing %s: read-only path %q: %w", argv[0], path, err)
			}
			w.ReadOnly = append(w.ReadOnly, abs)
		}
		for _, path := range p.ReadWrite {
			abs, err := filepath.Abs(path)
			if err != nil {
				return nil, nil, fmt.Errorf("sandboxing %s: read-write path %q: %w", argv[0], path, err)
			}
			if _, err := os.Stat(abs); err != nil {
				return nil, nil, fmt.Errorf("sandboxing %s: read-write path: %w", argv[0], err)
			}
			w.ReadWrite = append(w.ReadWrite, abs)
		}
		if p.Required {
			if err := p.enforceable(availableFunc()); err != nil {
				return nil, nil, fmt.Errorf("sandboxing %s: %w", argv[0], err)
			}
		}
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, nil, fmt.Errorf("sandboxing %s: %w", argv[0], err)
	}
	self := "/proc/self/exe" // the binary itself, even if replaced or deleted on disk
	if _, err := os.Stat(self); err != nil {
		if self, err = os.Executable(); err != nil {
			return nil, nil, fmt.Errorf("sandboxing %s: finding the helper binary: %w", argv[0], err)
		}
	}
	newArgv = append([]string{self, HelperArg}, argv...)
	return newArgv, []string{EnvVar + "=" + string(b)}, nil
}

// enforceable reports why p cannot be enforced on a kernel with Landlock
// ABI abi (nil if it can).
func (p *Policy) enforceable(abi int, detail string) error {
	if abi < 1 {
		return fmt.Errorf("landlock is required but unavailable (%s)", detail)
	}
	if p.NoNetwork && abi < 4 {
		return fmt.Errorf("landlock ABI %d cannot deny TCP connections (needs ABI 4, Linux 6.7) and the policy is required", abi)
	}
	return nil
}

// Describe says what p confines a process with on this kernel, for logs,
// `doctor`, and proc.Result.Sandbox: "landlock ABI 7", "landlock ABI 3
// (network not restricted: needs ABI 4)", "none: kernel without Landlock
// (best effort, unconfined)", or "none: not sandboxed" for a nil p.
func Describe(p *Policy) string {
	if p == nil {
		return "none: not sandboxed"
	}
	abi, detail := availableFunc()
	if abi < 1 {
		return detail
	}
	s := fmt.Sprintf("landlock ABI %d", abi)
	if p.NoNetwork && abi < 4 {
		s += " (network not restricted: needs ABI 4)"
	}
	return s
}

// Available reports the Landlock ABI version of the running kernel (0 when
// there is none) and a one-line description: "landlock ABI 7", or
// "none: kernel without Landlock (best effort, unconfined)", or
// "none: Landlock disabled at boot (best effort, unconfined)".
func Available() (abi int, detail string) {
	abi, err := landlockABI()
	if err != nil || abi < 1 {
		return 0, "none: " + unavailableReason(err) + " (best effort, unconfined)"
	}
	return abi, fmt.Sprintf("landlock ABI %d", abi)
}

// SystemReadOnly is a default read set for running installed tools: /usr,
// /lib, /lib64, /lib32, /bin, /sbin, /opt, /etc without its secrets
// (shadow, gshadow, sudoers, ssh, ssl/private, ...), /proc/self,
// /proc/cpuinfo, /proc/meminfo, /sys/devices/system/cpu, and /dev/urandom,
// /dev/random, /dev/zero. Not /home, /root, /tmp or /var. Tools installed
// elsewhere (an elan toolchain under ~/.elan, an opam switch) must be added
// by the caller.
func SystemReadOnly() []string {
	ro := []string{"/usr", "/lib", "/lib64", "/lib32", "/libx32", "/bin", "/sbin", "/opt"}
	ro = append(ro, listExcept("/etc", etcSecrets)...)
	ro = append(ro,
		"/proc/self", "/proc/cpuinfo", "/proc/meminfo", "/sys/devices/system/cpu",
		"/dev/urandom", "/dev/random", "/dev/zero")
	return ro
}

// etcSecrets are the entries of /etc that a checker has no business
// reading (relative paths; a directory entry hides all of it).
var etcSecrets = []string{
	"shadow", "shadow-", "gshadow", "gshadow-", "sudoers", "sudoers.d",
	"ssh", "ssl/private", "security/opasswd", "credstore", "credstore.encrypted",
	"machine-id", "krb5.keytab", "wireguard", "NetworkManager/system-connections",
}

// listExcept returns the entries of dir, recursing only into directories
// that contain an excluded path, so that the excluded paths are not covered.
func listExcept(dir string, exclude []string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		name := e.Name()
		if slices.Contains(exclude, name) {
			continue
		}
		var inner []string
		for _, x := range exclude {
			if rest, ok := strings.CutPrefix(x, name+"/"); ok {
				inner = append(inner, rest)
			}
		}
		path := filepath.Join(dir, name)
		if len(inner) > 0 && e.IsDir() {
			out = append(out, listExcept(path, inner)...)
			continue
		}
		out = append(out, path)
	}
	return out
}
