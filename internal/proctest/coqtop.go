package proctest

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"syscall"
)

// Coqtop plays coqtop -emacs for fault-injection tests above the Coq
// backend (the CLI's): register it as a fake and run it with [Argv]. Its
// arguments are coqtop's (-quiet -emacs are ignored; --version prints a
// version line) plus -fault, one of:
//
//	ok            a coqtop that loads every header and statement; each tactic
//	              fails, except lia. and reflexivity. which close the goal
//	garbage       prints something that is not coqtop and waits, never a prompt
//	exit          prints a line on stderr and exits 3 at once (a broken install)
//	stop=N        SIGSTOPs itself at its N-th sentence (a hung process)
//	hang=N        SIGSTOPs itself at its N-th tactic
//	crash=N       exits 1 at its N-th tactic, with a line on stderr (every
//	              process crashes after N-1 tactics: a crash loop)
//
// Sentences are read one per line, as the Coq backend sends them.
func Coqtop() int {
	fs := flag.NewFlagSet("coqtop", flag.ContinueOnError)
	fault := fs.String("fault", "ok", "")
	fs.Bool("quiet", false, "")
	fs.Bool("emacs", false, "")
	version := fs.Bool("version", false, "")
	if err := fs.Parse(Args()); err != nil {
		return 2
	}
	if *version {
		fmt.Println("The Coq Proof Assistant, version 8.16.1 (fake)")
		return 0
	}
	mode, arg, _ := strings.Cut(*fault, "=")
	n, _ := strconv.Atoi(arg)

	switch mode {
	case "garbage":
		fmt.Println("HTTP/1.1 400 Bad Request\r\n\r\n<html>not coqtop</html>")
		select {}
	case "exit":
		fmt.Fprintln(os.Stderr, "fake coqtop: cannot find the standard library (broken installation)")
		return 3
	}
	c := &coqtop{out: bufio.NewWriter(os.Stdout), name: "Coq", state: 1, next: 2, goals: map[int]bool{}, names: map[int]string{1: "Coq"}}
	c.out.WriteString("Welcome to Coq 8.16.1 (fake)\n")
	c.prompt()
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	var sentence strings.Builder
	sentences := 0
	for sc.Scan() {
		sentence.WriteString(sc.Text())
		sentence.WriteString("\n")
		s := strings.TrimSpace(sentence.String())
		if !strings.HasSuffix(s, ".") {
			continue
		}
		sentence.Reset()
		sentences++
		if mode == "stop" && sentences == n {
			syscall.Kill(os.Getpid(), syscall.SIGSTOP)
		}
		if code, exit := c.sentence(s, mode, n); exit {
			return code
		}
		c.prompt()
	}
	return 0
}

type coqtop struct {
	out     *bufio.Writer
	name    string // the proof being edited; "Coq" when none
	state   int
	next    int
	goals   map[int]bool // state -> a goal is open
	names   map[int]string
	tactics int
}

var (
	fakeThmRE     = regexp.MustCompile(`^(?:Theorem|Lemma|Example|Corollary|Proposition|Fact|Remark) ([\w']+)`)
	fakeTimeoutRE = regexp.MustCompile(`^Timeout \d+ (.*)$`)
)

func (c *coqtop) prompt() {
	open := ""
	if c.name != "Coq" {
		open = c.name
	}
	fmt.Fprintf(c.out, "<prompt>%s < %d |%s| 0 < </prompt>", c.name, c.state, open)
	c.out.Flush()
}

func (c *coqtop) ok(goal bool) {
	c.state = c.next
	c.next++
	c.goals[c.state] = goal
	c.names[c.state] = c.name
	c.out.WriteString("\n")
}

func (c *coqtop) fail(msg string) {
	c.next++
	fmt.Fprintf(c.out, "Toplevel input, characters 0-4:\n> ...\n> ^^^^\nError: %s\n\n", msg)
}

func (c *coqtop) sentence(s, mode string, n int) (code int, exit bool) {
	switch {
	case fakeThmRE.MatchString(s) && c.name == "Coq":
		c.name = fakeThmRE.FindStringSubmatch(s)[1]
		c.ok(true)
	case strings.HasPrefix(s, "BackTo "):
		id, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(s, "BackTo "), "."))
		name, ok := c.names[id]
		if !ok {
			c.fail(`Anomaly "edit_at: Expired."`)
			return 0, false
		}
		c.state, c.name = id, name
	case s == "Show.":
		if c.name == "Coq" {
			c.fail("This command requires an open proof.")
			return 0, false
		}
		goal := c.goals[c.state]
		c.ok(goal)
		if goal {
			fmt.Fprintf(c.out, "1 goal (ID %d)\n  \n  x : nat\n  ============================\n  x + 0 = x\n\n", c.state)
		} else {
			c.out.WriteString("No more goals.\n\n")
		}
	case c.name == "Coq" || s == "Proof.":
		c.ok(c.goals[c.state])
	default:
		c.tactics++
		if mode == "hang" && c.tactics == n {
			syscall.Kill(os.Getpid(), syscall.SIGSTOP)
		}
		if mode == "crash" && c.tactics == n {
			c.out.WriteString("Toplevel input, characters 0-6:\n> crash")
			c.out.Flush()
			fmt.Fprintln(os.Stderr, "Anomaly: fake coqtop crashed (Segmentation fault)")
			return 1, true
		}
		if m := fakeTimeoutRE.FindStringSubmatch(s); m != nil {
			s = m[1]
		}
		switch s {
		case "lia.", "reflexivity.":
			c.ok(false)
		default:
			c.fail("The reference " + strings.Fields(s)[0] + " was not found in the current environment.")
		}
	}
	return 0, false
}
