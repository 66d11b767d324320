package sandbox

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// init turns this process into the sandbox helper when EnvVar is set: see
// the package documentation. It never returns in that case.
func init() {
	spec, ok := os.LookupEnv(EnvVar)
	if !ok || len(os.Args) < 2 || os.Args[1] != HelperArg {
		// Both are needed, so that a stray variable in a user's shell
		// cannot turn the CLI into the helper.
		return
	}
	err := helper(spec, os.Args[2:])
	fmt.Fprintf(os.Stderr, "llemma-sandbox: %v\n", err)
	os.Exit(HelperExitCode)
}

// helper confines this thread as spec says and execs argv; it returns only
// on failure.
func helper(spec string, argv []string) error {
	var w wire
	if err := json.Unmarshal([]byte(spec), &w); err != nil {
		return fmt.Errorf("decoding %s: %w", EnvVar, err)
	}
	if len(argv) == 0 {
		return fmt.Errorf("no program to run")
	}
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, EnvVar+"=") {
			env = append(env, kv)
		}
	}
	path := argv[0]
	if !strings.Contains(path, "/") {
		// The child's PATH: the helper runs with the child's environment.
		p, err := exec.LookPath(path)
		if err != nil {
			return fmt.Errorf("finding %s: %w", path, err)
		}
		path = p
	}
	// Landlock and no_new_privs are per thread: confine this one, and exec
	// from it. The main goroutine is locked to the main thread during init
	// anyway; this makes it explicit.
	runtime.LockOSThread()
	if w.AS > 0 {
		lim := unix.Rlimit{Cur: uint64(w.AS), Max: uint64(w.AS)}
		if err := unix.Setrlimit(unix.RLIMIT_AS, &lim); err != nil {
			return fmt.Errorf("setting RLIMIT_AS to %d bytes: %w", w.AS, err)
		}
	}
	if w.CPUSecs > 0 {
		// SIGXCPU at the soft limit, SIGKILL a second later.
		lim := unix.Rlimit{Cur: uint64(w.CPUSecs), Max: uint64(w.CPUSecs) + 1}
		if err := unix.Setrlimit(unix.RLIMIT_CPU, &lim); err != nil {
			return fmt.Errorf("setting RLIMIT_CPU to %d s: %w", w.CPUSecs, err)
		}
	}
	if w.Landlock {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("setting no_new_privs: %w", err)
		}
		if _, err := restrictThread(&w); err != nil {
			return err
		}
	}
	err := syscall.Exec(path, argv, env)
	return fmt.Errorf("executing %s: %w", path, err)
}
