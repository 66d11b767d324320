// Command llemma-prove is an open formal theorem-proving agent: Llemma's
// best-first proof search over Coq, Lean 4 and Isabelle.
//
// Exit codes: 0 the command did its job (minif2f: every theorem got a
// verdict), 1 not verified (check, prove), 2 usage, configuration or data
// error, 3 infrastructure failure (a backend or model that is missing or
// broken, theorems that ended in error, the circuit breaker), 130
// interrupted.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop() // a second Ctrl-C ends the program at once
	}()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	os.Exit(exitCode(ctx, err, os.Stderr))
}

// The exit codes.
const (
	exitOK          = 0
	exitNotVerified = 1
	exitUsage       = 2
	exitInfra       = 3
	exitInterrupted = 130
)

// usageError is a mistake in the command line, the configuration or the
// data: exit 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef is a usageError; %w wraps as fmt.Errorf does.
func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// asUsage makes err a usageError.
func asUsage(err error) error { return usageError{err} }

// infraError is an infrastructure failure (a backend or a model missing or
// broken, theorems that ended in error): exit 3.
type infraError struct{ err error }

func (e infraError) Error() string { return e.err.Error() }
func (e infraError) Unwrap() error { return e.err }

func infraf(format string, args ...any) error { return infraError{fmt.Errorf(format, args...)} }

// errNotVerified makes check and prove exit 1 without another message.
var errNotVerified = errors.New("not verified")

// oneLine keeps a message on one line (a process's stderr tail may span
// several): line breaks become " | ".
func oneLine(s string) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	for strings.Contains(s, "\n\n") {
		s = strings.ReplaceAll(s, "\n\n", "\n")
	}
	return strings.ReplaceAll(s, "\n", " | ")
}

// exitCode prints err (one line on stderr) and maps it to the exit code.
func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil:
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return exitOK
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "llemma-prove: %s\nRun 'llemma-prove help' for usage.\n", oneLine(ue.Error()))
		return exitUsage
	case errors.Is(err, errNotVerified):
		return exitNotVerified
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "llemma-prove: interrupted\n")
		return exitInterrupted
	default:
		// An infraError, or anything else that stopped the command (a
		// results file that cannot be written): the machinery failed.
		fmt.Fprintf(stderr, "llemma-prove: %s\n", oneLine(err.Error()))
		return exitInfra
	}
}
