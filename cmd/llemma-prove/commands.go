package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/llemma-prove/llemma-prove/config"
)

// command is one subcommand: the configuration keys it takes as flags, and
// what it does.
type command struct {
	name  string
	args  string // usage of the positional arguments
	short string
	// keys are the config.Keys this command takes as flags (the global
	// ones, config and log-level, are added).
	keys []string
	// flags declares flags outside the typed configuration (train's own).
	flags func(fs *pflag.FlagSet)
	run   func(ctx context.Context, a *app, args []string) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

var errHelp = errors.New("help requested")

// globalKeys go before the command as well as after it.
var globalKeys = []string{"config", "log-level"}

const overview = `llemma-prove: an open formal theorem-proving agent (Llemma's best-first proof search).

Usage: llemma-prove [--config FILE] [--log-level LEVEL] <command> [flags] [args]

Commands:
`

const footer = `
Run 'llemma-prove <command> -h' for a command's flags, 'llemma-prove config' for the effective configuration.
Configuration: flags > LLEMMA_* environment (LLEMMA_THEOREM_TIMEOUT, LLEMMA_COQ_MEMORY_LIMIT, ...) > --config file > defaults.
Exit codes: 0 done (every theorem got a verdict), 1 not verified (check, prove), 2 usage, config or data,
3 infrastructure failure (backend or model missing or broken, theorems ended in error), 130 interrupted.
`

func usage(w io.Writer) {
	fmt.Fprint(w, overview)
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].short)
	}
	fmt.Fprint(w, footer)
}

// run dispatches a command line. Global flags may come before the command;
// every resource the command registered with app.onExit is released
// before run returns, whatever the exit path.
func run(ctx context.Context, argv []string, stdout, stderr io.Writer) (err error) {
	// The progress line, the logger and the summary write stderr from
	// several goroutines; one lock keeps their lines whole whatever the
	// writer is (a terminal, a file, a test's buffer).
	stderr = &lockedWriter{w: stderr}
	global, rest, err := splitGlobal(argv)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		usage(stderr)
		return usagef("no command given")
	}
	name := rest[0]
	switch name {
	case "help", "-h", "--help":
		if len(rest) > 1 {
			if c, ok := commands[rest[1]]; ok {
				fs := flagSet(c, stdout)
				fs.Usage()
				return errHelp
			}
		}
		usage(stdout)
		return errHelp
	case "version", "--version":
		fmt.Fprintln(stdout, "llemma-prove", version())
		return nil
	}
	c, ok := commands[name]
	if !ok {
		if s := config.Suggest(name, commandNames()); s != "" {
			return usagef("unknown command %q (did you mean %s?)", name, s)
		}
		return usagef("unknown command %q", name)
	}
	fs := flagSet(c, stdout)
	if err := fs.Parse(append(global, rest[1:]...)); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errHelp
		}
		return usagef("%s: %v", name, err)
	}
	a, err := newApp(c, fs, stdout, stderr)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := a.close(); cerr != nil {
			a.log.Warn("stopping what the command started", "err", cerr)
		}
	}()
	return c.run(ctx, a, fs.Args())
}

func commandNames() []string {
	var out []string
	for n := range commands {
		out = append(out, n)
	}
	return append(out, "help", "version")
}

// splitGlobal takes the global flags (--config, --log-level, -h, --version)
// that come before the command.
func splitGlobal(argv []string) (global, rest []string, err error) {
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			return global, argv[i:], nil
		}
		switch arg {
		case "--":
			return global, argv[i+1:], nil
		case "-h", "--help", "--version":
			return global, argv[i:], nil
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(arg, "-"), "=")
		if !isGlobal(name) {
			return nil, nil, usagef("%s before the command: only --config and --log-level go there; put the command's flags after it", arg)
		}
		global = append(global, arg)
		if !hasValue {
			if i+1 == len(argv) {
				return nil, nil, usagef("%s needs a value", arg)
			}
			i++
			global = append(global, argv[i])
		}
	}
	return global, nil, nil
}

func isGlobal(name string) bool {
	for _, k := range globalKeys {
		if name == k {
			return true
		}
	}
	return false
}

// flagSet declares the command's flags: one per configuration key, named,
// defaulted and documented by the schema.
func flagSet(c *command, out io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SetOutput(out)
	fs.SortFlags = false
	def := config.Defaults()
	for _, name := range append(append([]string(nil), globalKeys...), c.keys...) {
		k, ok := config.Lookup(name)
		if !ok {
			panic("llemma-prove: command " + c.name + " takes unknown key " + name)
		}
		if fs.Lookup(k.Flag) != nil {
			panic("llemma-prove: command " + c.name + " declares --" + k.Flag + " twice")
		}
		defText := def.Text(k.Name, false)
		switch k.Kind {
		case config.Bool:
			fs.Bool(k.Flag, defText == "true", k.Doc)
		case config.List:
			fs.StringSlice(k.Flag, def.Value(k.Name).([]string), k.Doc)
		default:
			fs.Var(&textValue{s: defText, kind: k.Kind}, k.Flag, k.Doc)
		}
		fs.Lookup(k.Flag).Annotations = map[string][]string{keyAnnotation: {k.Name}}
	}
	if c.flags != nil {
		c.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: llemma-prove %s [flags] %s\n\n%s\n\nFlags:\n%s", c.name, c.args, c.short, fs.FlagUsages())
	}
	return fs
}

// keyAnnotation marks a flag with the configuration key it sets.
const keyAnnotation = "llemma-key"

// textValue is a flag whose text the typed configuration parses (so that
// a bad value names the key and the flag the same way for every source).
type textValue struct {
	s    string
	kind config.Kind
}

func (v *textValue) String() string     { return v.s }
func (v *textValue) Set(s string) error { v.s = s; return nil }
func (v *textValue) Type() string {
	switch v.kind {
	case config.Int:
		return "int"
	case config.Bytes:
		return "size"
	case config.Float:
		return "number"
	case config.Duration:
		return "duration"
	}
	return "string"
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("use debug, info, warn or error")
	}
	return l, nil
}

// Key groups of the commands. A backend's section has its driver's name
// (the backend packages register their drivers before this package's
// variables are initialised).
var (
	backendKeys  = append([]string{"backend", "workers", "data"}, sectionKeys(driverNames()...)...)
	proposerKeys = append([]string{"proposer", "knn.model"}, sectionKeys("model")...)
	searchKeys   = []string{"expansions", "samples", "theorem-timeout", "tactic-timeout", "setup-timeout", "verify-timeout", "search-backstop", "speculate", "llemma-parity"}
)

// sectionKeys are the keys of the given sections, in schema order.
func sectionKeys(sections ...string) []string {
	var out []string
	for _, k := range config.Keys() {
		for _, s := range sections {
			if k.Section == s {
				out = append(out, k.Name)
			}
		}
	}
	return out
}

func keys(groups ...[]string) []string {
	var out []string
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
