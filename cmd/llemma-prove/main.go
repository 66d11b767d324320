// Command llemma-prove is an open formal theorem-proving agent: Llemma's
// best-first proof search over Coq, Lean 4 and Isabelle.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
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

// usageError is a mistake in the command line: exit 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errNotVerified makes `check` exit 1 without another message.
var errNotVerified = errors.New("not verified")

func exitCode(ctx context.Context, err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case err == nil:
		if ctx.Err() != nil {
			return 130
		}
		return 0
	case errors.Is(err, errHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "llemma-prove: %s\nRun 'llemma-prove help' for usage.\n", ue.msg)
		return 2
	case errors.Is(err, errNotVerified):
		return 1
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "llemma-prove: interrupted\n")
		return 130
	default:
		fmt.Fprintf(stderr, "llemma-prove: %v\n", err)
		return 1
	}
}
