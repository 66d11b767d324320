package coq

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proctest"
)

// The fakes the test binary plays when re-executed (see internal/proctest).
var fakes = map[string]func() int{
	// coqtop speaks coqtop -emacs well enough for a session; its tactics
	// misbehave on request (see fakeCoqtop).
	"coqtop": fakeCoqtop,
	// garbage prints something that is not coqtop, and waits.
	"garbage": func() int {
		fmt.Println("HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n\r\n<html>not coqtop</html>")
		return blockForever()
	},
	// exit fails at once, as a coqtop with a broken installation does.
	"exit": func() int {
		fmt.Fprintln(os.Stderr, "fake coqtop: cannot find the standard library")
		return 3
	},
}

func TestMain(m *testing.M) { proctest.Main(m, fakes) }

func blockForever() int {
	for {
		time.Sleep(time.Hour)
	}
}

// fakeCoqtop is a small coqtop -emacs: prompts, state ids, BackTo, Show,
// Timeout N, a proof with one goal that tactics rewrite. Flags (from
// proctest.Args): -start-delay D sleeps before the greeting, -crash-every
// N crashes on every N-th tactic. Tactics:
//
//	intros. / step.   a new goal (the goal text gets a "'")
//	done.             closes the proof
//	fail.             an error, the state unchanged
//	work N.           burns N ms of CPU, then a new goal
//	sleep N.          waits N ms (no CPU), then a new goal
//	spin.             burns CPU until SIGINT (Error: User interrupt.) or Coq's Timeout
//	spinhard.         burns CPU and ignores SIGINT (vm_compute)
//	spinthenok.       burns CPU until SIGINT, then succeeds anyway, leaving the
//	                  interrupt pending for the next sentence (the race of §5.1)
//	hang.             prints half a line and waits forever, ignoring SIGINT
//	crash.            prints half an answer and a line on stderr, exits 1
//	flood.            prints without end, never a prompt
func fakeCoqtop() int {
	fs := flag.NewFlagSet("fake", flag.ContinueOnError)
	delay := fs.Duration("start-delay", 0, "")
	crashEvery := fs.Int("crash-every", 0, "")
	if err := fs.Parse(proctest.Args()); err != nil {
		return 2
	}
	if *delay > 0 {
		time.Sleep(*delay)
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	f := &fake{name: "Coq", state: 1, next: 2, goals: map[int][]string{}, names: map[int]string{1: "Coq"}, sigs: sigs, crashEvery: *crashEvery}
	out := bufio.NewWriter(os.Stdout)
	f.out = out
	out.WriteString("Welcome to Coq 8.16.1 (fake)\n\n")
	f.prompt()
	pending := false // an idle SIGINT: the next sentence fails with User interrupt
	var sentence strings.Builder
	for {
		select {
		case <-sigs:
			pending = true
			continue
		case line, ok := <-lines:
			if !ok {
				return 0
			}
			sentence.WriteString(line)
			sentence.WriteString("\n")
			s := strings.TrimSpace(sentence.String())
			if !strings.HasSuffix(s, ".") {
				continue // a statement over several lines
			}
			sentence.Reset()
			if pending {
				pending = false
				out.WriteString("\nError: User interrupt.\n\n")
				f.prompt()
				continue
			}
			if code, exit := f.sentence(s); exit {
				return code
			}
			f.prompt()
		}
	}
}

type fake struct {
	out        *bufio.Writer
	name       string // the proof being edited, "Coq" when none
	thm        string
	state      int // the last successful sentence's state
	next       int // the next id
	goals      map[int][]string
	names      map[int]string // the proof edited at each state
	sigs       chan os.Signal
	tactics    int
	crashEvery int
}

func (f *fake) prompt() {
	open := ""
	if f.name != "Coq" {
		open = f.name
	}
	fmt.Fprintf(f.out, "<prompt>%s < %d |%s| 0 < </prompt>", f.name, f.state, open)
	f.out.Flush()
}

// ok records a successful sentence with goals g.
func (f *fake) ok(g []string) {
	f.state = f.next
	f.next++
	f.goals[f.state] = g
	f.names[f.state] = f.name
	f.out.WriteString("\n")
}

func (f *fake) fail(msg string) {
	f.next++
	fmt.Fprintf(f.out, "Toplevel input, characters 0-4:\n> ...\n> ^^^^\nError: %s\n\n", msg)
}

var (
	fakeTimeoutRE = regexp.MustCompile(`^Timeout (\d+) (.*)$`)
	fakeThmRE     = regexp.MustCompile(`^(?:Theorem|Lemma) ([\w']+)`)
)

// sentence answers one sentence (not the prompt); exit is set when the
// fake must exit with code.
func (f *fake) sentence(s string) (code int, exit bool) {
	cur := f.goals[f.state]
	switch {
	case strings.HasPrefix(s, "Set ") || strings.HasPrefix(s, "From ") || strings.HasPrefix(s, "Require ") || strings.HasPrefix(s, "Open "):
		f.ok(nil)
	case fakeThmRE.MatchString(s):
		f.thm = fakeThmRE.FindStringSubmatch(s)[1]
		f.name = f.thm
		f.ok([]string{"True"})
	case s == "Proof.":
		f.ok(cur)
	case strings.HasPrefix(s, "BackTo "):
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(s, "BackTo "), "."))
		name, ok := f.names[n]
		if !ok {
			f.fail("Anomaly \"edit_at: Expired.\"")
			return 0, false
		}
		f.state, f.name = n, name
	case s == "Show.":
		if f.name == "Coq" {
			f.fail("This command requires an open proof.")
			return 0, false
		}
		f.ok(cur)
		if len(cur) == 0 {
			f.out.WriteString("No more goals.\n\n")
		} else {
			fmt.Fprintf(f.out, "1 goal (ID %d)\n  \n  n : nat\n  ============================\n  %s\n\n", f.state, cur[0])
		}
	default:
		limit := time.Duration(0)
		if m := fakeTimeoutRE.FindStringSubmatch(s); m != nil {
			secs, _ := strconv.Atoi(m[1])
			limit, s = time.Duration(secs)*time.Second, m[2]
		}
		return f.tactic(s, cur, limit)
	}
	return 0, false
}

func (f *fake) tactic(s string, cur []string, limit time.Duration) (int, bool) {
	f.tactics++
	if f.crashEvery > 0 && f.tactics%f.crashEvery == 0 {
		s = "crash."
	}
	var deadline <-chan time.Time
	if limit > 0 {
		deadline = time.After(limit)
	}
	next := func() []string {
		if len(cur) == 0 {
			return []string{}
		}
		return []string{cur[0] + "'"}
	}
	word, arg, _ := strings.Cut(strings.TrimSuffix(s, "."), " ")
	n, _ := strconv.Atoi(arg)
	switch word {
	case "intros", "step":
		f.ok(next())
	case "done":
		f.ok([]string{})
	case "fail":
		f.fail("Tactic failure: fake.")
	case "work":
		burn(time.Duration(n) * time.Millisecond)
		f.ok(next())
	case "sleep":
		time.Sleep(time.Duration(n) * time.Millisecond)
		f.ok(next())
	case "spin", "spinthenok":
		for {
			select {
			case <-f.sigs:
				if word == "spinthenok" {
					f.ok(next())
					go func() { f.sigs <- syscall.SIGINT }() // still pending
					return 0, false
				}
				f.fail("User interrupt.")
				return 0, false
			case <-deadline:
				f.fail("Timeout!")
				return 0, false
			default:
				burn(time.Millisecond)
			}
		}
	case "spinhard":
		signal.Ignore(syscall.SIGINT)
		for {
			burn(time.Second)
		}
	case "hang":
		signal.Ignore(syscall.SIGINT)
		f.out.WriteString("Toplevel input, charac")
		f.out.Flush()
		return blockForever(), true
	case "crash":
		f.out.WriteString("Toplevel input, characters 0-6:\n> crash")
		f.out.Flush()
		fmt.Fprintln(os.Stderr, "Anomaly: fake coqtop crashed (Segmentation fault)")
		return 1, true
	case "flood":
		line := strings.Repeat("x", 1023) + "\n"
		for {
			if _, err := f.out.WriteString(line); err != nil {
				return 1, true
			}
		}
	default:
		f.fail("The reference " + word + " was not found in the current environment.")
	}
	return 0, false
}

// burn uses d of CPU time.
func burn(d time.Duration) {
	var ru syscall.Rusage
	cpu := func() time.Duration {
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	end := cpu() + d
	x := 0
	for cpu() < end {
		for i := range 100000 {
			x += i
		}
	}
	_ = x
}
