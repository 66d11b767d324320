// Package proctest is the fake-process harness of the project's tests, in
// the style of os/exec's own tests: the test binary re-executed under an
// environment variable plays the external program (a coqtop that hangs, a
// REPL that floods stderr, a server that dies on start).
//
//	var fakes = map[string]func() int{
//		"ok":   func() int { fmt.Println("ok"); return 0 },
//		"hang": func() int { select {} },
//	}
//
//	func TestMain(m *testing.M) { proctest.Main(m, fakes) }
//
//	func TestHang(t *testing.T) {
//		argv, env := proctest.Argv("hang")
//		... proc.Spec{Argv: argv, Env: env} ...
//	}
//
// It imports only the standard library, so any package's tests can use it.
package proctest

import (
	"flag"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
)

// EnvVar selects the fake a re-executed test binary plays.
const EnvVar = "LLEMMA_FAKE_PROCESS"

var (
	mu         sync.Mutex
	registered map[string]func() int
	used       = map[string]bool{}
)

// Main is called from TestMain. When EnvVar is set, this process is a fake:
// Main runs fakes[mode] and exits with its result (EnvVar is removed from
// the environment first, so the fake's own children do not inherit it).
// Otherwise it runs the tests and, when the run was complete (no -run,
// -skip or -short) and passed, fails it if a registered fake was never
// asked for with [Argv], as os/exec's tests do: a fake nobody runs is a
// test that silently stopped testing.
func Main(m *testing.M, fakes map[string]func() int) {
	mu.Lock()
	registered = fakes
	mu.Unlock()
	if mode, ok := os.LookupEnv(EnvVar); ok {
		f := fakes[mode]
		if f == nil {
			fmt.Fprintf(os.Stderr, "proctest: unknown fake %q\n", mode)
			os.Exit(2)
		}
		os.Unsetenv(EnvVar)
		os.Exit(f())
	}
	code := m.Run()
	if code == 0 && complete() {
		var unused []string
		mu.Lock()
		for name := range fakes {
			if !used[name] {
				unused = append(unused, name)
			}
		}
		mu.Unlock()
		slices.Sort(unused)
		for _, name := range unused {
			fmt.Fprintf(os.Stderr, "proctest: fake %q is registered but no test ran it\n", name)
			code = 1
		}
	}
	os.Exit(code)
}

// complete reports whether every test of the binary was asked to run.
func complete() bool {
	if testing.Short() {
		return false
	}
	for _, name := range []string{"test.run", "test.skip", "test.list"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return true
}

// Argv returns the command line and the extra environment that run the
// fake mode with args (read them with [Args]): this test binary, with
// EnvVar=mode (and GORACE=atexit_sleep_ms=0 added, so that a race-enabled
// fake exits at once). It panics on a mode Main was not given.
func Argv(mode string, args ...string) (argv []string, env []string) {
	mu.Lock()
	if registered != nil && registered[mode] == nil {
		mu.Unlock()
		panic(fmt.Sprintf("proctest: fake %q is not registered", mode))
	}
	used[mode] = true
	mu.Unlock()
	exe, err := os.Executable()
	if err != nil {
		panic(fmt.Sprintf("proctest: finding the test binary: %v", err))
	}
	// A race-enabled fake would sleep a second at exit (the race runtime's
	// atexit_sleep_ms default); the parent's race detector covers the test.
	gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
	return append([]string{exe}, args...), []string{EnvVar + "=" + mode, "GORACE=" + gorace}
}

// Args returns the arguments a fake was started with (what followed the
// binary in Argv).
func Args() []string { return os.Args[1:] }
