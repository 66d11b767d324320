package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// command is one subcommand: its flags and what it does.
type command struct {
	name  string
	args  string // usage of the positional arguments
	short string
	flags func(fs *pflag.FlagSet)
	run   func(ctx context.Context, a *app, args []string) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

var errHelp = errors.New("help requested")

const overview = `llemma-prove: an open formal theorem-proving agent (Llemma's best-first proof search).

Usage: llemma-prove <command> [flags] [args]

Commands:
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
	fmt.Fprint(w, "\nRun 'llemma-prove <command> -h' for a command's flags.\nConfiguration: flags > LLEMMA_* environment (LLEMMA_THEOREM_TIMEOUT, LLEMMA_COQ_MEMORY_LIMIT, ...) > --config file.\n")
}

// run dispatches a command line.
func run(ctx context.Context, argv []string, stdout, stderr io.Writer) error {
	if len(argv) == 0 {
		usage(stderr)
		return usagef("no command given")
	}
	name := argv[0]
	switch name {
	case "help", "-h", "--help":
		if len(argv) > 1 {
			if c, ok := commands[argv[1]]; ok {
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
		return usagef("unknown command %q", name)
	}
	fs := flagSet(c, stdout)
	if err := fs.Parse(argv[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errHelp
		}
		return usagef("%s: %v", name, err)
	}
	a, err := newApp(fs, stdout, stderr)
	if err != nil {
		return err
	}
	return c.run(ctx, a, fs.Args())
}

func flagSet(c *command, out io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(c.name, pflag.ContinueOnError)
	fs.SetOutput(out)
	fs.SortFlags = false
	fs.String("config", "", "configuration file (YAML, TOML or JSON)")
	fs.String("log-level", "warn", "log level: debug, info, warn, error")
	if c.flags != nil {
		c.flags(fs)
	}
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: llemma-prove %s [flags] %s\n\n%s\n\nFlags:\n%s", c.name, c.args, c.short, fs.FlagUsages())
	}
	return fs
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, usagef("--log-level %q: use debug, info, warn or error", s)
	}
	return l, nil
}
