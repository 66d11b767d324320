package proc_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/internal/proctest"
)

// blockForever parks a fake (a timer, so the runtime does not call it a
// deadlock).
func blockForever() int {
	for {
		time.Sleep(time.Hour)
	}
}

var fakes = map[string]func() int{
	// ok prints its arguments on stdout and a note on stderr.
	"ok": func() int {
		fmt.Println(strings.Join(proctest.Args(), " "))
		fmt.Fprintln(os.Stderr, "a note on stderr")
		return 0
	},
	// exit3 fails with a message on stderr.
	"exit3": func() int {
		fmt.Fprintln(os.Stderr, "Error: the proof is not finished")
		return 3
	},
	// hang-group starts a grandchild in its group, prints the grandchild's
	// pid, and hangs.
	"hang-group": func() int {
		c := exec.Command("sleep", "1000")
		if err := c.Start(); err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println(c.Process.Pid)
		return blockForever()
	},
	// fifo-hang writes "started" into the FIFO given as argument, then hangs.
	"fifo-hang": func() int {
		f, err := os.OpenFile(proctest.Args()[0], os.O_WRONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintln(f, "started")
		f.Close()
		return blockForever()
	},
	// ignore-term ignores SIGTERM and stdin EOF, says ready, and hangs.
	"ignore-term": func() int {
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		return blockForever()
	},
	// flood-stdout writes garbage to stdout without end.
	"flood-stdout": func() int {
		line := []byte(strings.Repeat("garbage ", 1024) + "\n")
		for {
			if _, err := os.Stdout.Write(line); err != nil {
				return 1
			}
		}
	},
	// flood-stderr writes the number of bytes given to stderr, then
	// END-OF-FLOOD, then "done" on stdout, then waits for stdin EOF.
	"flood-stderr": func() int {
		n, _ := strconv.Atoi(proctest.Args()[0])
		chunk := []byte(strings.Repeat("noise ", 1000) + "\n")
		for w := 0; w < n; w += len(chunk) {
			os.Stderr.Write(chunk)
		}
		fmt.Fprintln(os.Stderr, "END-OF-FLOOD")
		fmt.Println("done")
		io.Copy(io.Discard, os.Stdin)
		return 0
	},
	// die-on-start fails before reading anything.
	"die-on-start": func() int {
		fmt.Fprintln(os.Stderr, "fatal: cannot load the prelude")
		return 1
	},
	// slow-start waits the duration given, says ready, then echoes lines.
	"slow-start": func() int {
		d, _ := time.ParseDuration(proctest.Args()[0])
		time.Sleep(d)
		fmt.Println("ready")
		return echo()
	},
	// echo echoes stdin lines until EOF.
	"echo": func() int { return echo() },
	// block says ready, then never writes again.
	"block": func() int {
		fmt.Println("ready")
		return blockForever()
	},
	// alloc allocates the MiB given and says so.
	"alloc": func() int {
		n, _ := strconv.Atoi(proctest.Args()[0])
		b := make([]byte, n<<20)
		for i := 0; i < len(b); i += 1 << 20 {
			b[i] = 1
		}
		fmt.Println("allocated", len(b)>>20, "MiB")
		runtime.KeepAlive(b)
		return 0
	},
	// spin burns CPU until killed.
	"spin": func() int {
		x := 0
		for {
			x++
		}
	},
	// merged writes to stdout and stderr alternately.
	"merged": func() int {
		os.Stdout.WriteString("out1\n")
		os.Stderr.WriteString("err1\n")
		os.Stdout.WriteString("out2\n")
		return 0
	},
	// cat copies stdin to stdout.
	"cat": func() int {
		io.Copy(os.Stdout, os.Stdin)
		return 0
	},
	// pwd-env prints its working directory and the variable named.
	"pwd-env": func() int {
		wd, _ := os.Getwd()
		fmt.Println(wd)
		fmt.Println(os.Getenv(proctest.Args()[0]))
		return 0
	},
	// starter Starts a "block" child, prints its pid, and hangs: killed
	// with SIGKILL, it must take the child with it (PR_SET_PDEATHSIG).
	"starter": func() int {
		argv, env := proctest.Argv("block")
		p, err := proc.Start(context.Background(), proc.Spec{Name: "child", Argv: argv, Env: env})
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println(p.Pid())
		return blockForever()
	},
}

func echo() int {
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		fmt.Println(sc.Text())
	}
	return 0
}

func TestMain(m *testing.M) { proctest.Main(m, fakes) }

// fake returns a Spec running the fake mode.
func fake(mode string, args ...string) proc.Spec {
	argv, env := proctest.Argv(mode, args...)
	return proc.Spec{Name: mode, Argv: argv, Env: env}
}
