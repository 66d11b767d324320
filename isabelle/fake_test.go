package isabelle

// The test double: this test binary, re-executed by internal/proctest, is
// a fake `isabelle` tool. `getenv -b VARS` prints the paths the server's
// sandbox is built from; `server [flags]` prints the server line, listens
// on 127.0.0.1 only, and speaks the protocol with the server's exact
// framing.
//
// Fakes (the proctest mode):
//   replay       serve the recorded replies of shared/fixtures/isabelle-server
//                (-fixtures DIR) byte for byte (one trailing empty line
//                dropped, a missing final LF of a length block added)
//   sim          simulate sessions and use_theories on the theory files the
//                client writes: scripted goal transitions and faults
//   sim-refuse   like sim, but every password is refused (connection closed)
//   exit         a crash at start: a line on stderr, exit 3, no server line
//   hang         no server line, ever (a hung start)
//   garbage      prints a page of something that is not a server line, then hangs
//   garbage-wire a valid server line, then junk instead of the greeting
//
// Flags of `server`, for every fake: -delay D (wait before the server
// line: a slow start), -die-after N (exit 1, with a line on stderr, when
// the use_theories after the N-th arrives: a crash loop), -child (start a
// grandchild that ignores SIGTERM, in the process group, as the real
// server's JVM and Poly/ML are), -pids FILE (append this process's pid,
// and the grandchild's), -ignore-term, -ignore-shutdown (answer shutdown
// and keep running), -deaf (accept connections, never answer), -probe
// FILES (try to create each file, $VARS expanded, before starting;
// "probe FILE: ok" or the error on stderr). In sim, session_start of the
// session HangSession never ends until canceled.

import (
	"bufio"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proctest"
)

var fakes = map[string]func() int{}

func init() {
	modes := []string{"sim", "sim-refuse", "exit", "hang", "garbage", "garbage-wire"}
	// replay needs the recordings (../../shared from the package, the
	// working directory of the tests and of the fakes they start)
	if _, err := os.Stat(filepath.Join("..", "..", "shared", "fixtures", "isabelle-server")); err == nil {
		modes = append(modes, "replay")
	}
	for _, mode := range modes {
		fakes[mode] = func() int { return fakeIsabelle(mode) }
	}
}

func TestMain(m *testing.M) { proctest.Main(m, fakes) }

// fakeHomeUserEnv tells the fake getenv what ISABELLE_HOME_USER is.
const fakeHomeUserEnv = "LLEMMA_FAKE_ISABELLE_HOME_USER"

// fakeArgv is the server command and environment that run fake mode with
// the server flags.
func fakeArgv(mode string, flags ...string) (argv, env []string) {
	return proctest.Argv(mode, append([]string{"server"}, flags...)...)
}

// fakeConfig is a backend configuration whose server is the fake mode:
// short budgets, its own work dir and ISABELLE_HOME_USER, confined as a
// real server would be.
func fakeConfig(t testing.TB, mode string, flags ...string) Config {
	t.Helper()
	argv, env := fakeArgv(mode, flags...)
	home := filepath.Join(t.TempDir(), "home_user")
	return Config{
		Server:       argv,
		Env:          append(env, fakeHomeUserEnv+"="+home),
		StepTimeout:  5 * time.Second,
		StartTimeout: 20 * time.Second,
		CancelGrace:  500 * time.Millisecond,
		MinBackoff:   10 * time.Millisecond,
		MaxBackoff:   50 * time.Millisecond,
		WorkDir:      t.TempDir(),
	}
}

// sharedDir is ../../shared from the package directory.
func sharedDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs(filepath.Join("..", "..", "shared"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d); err != nil {
		t.Skipf("shared data not found at %s (../../shared from the package): %v", d, err)
	}
	return d
}

func fixtureDir(t testing.TB) string {
	d := filepath.Join(sharedDir(t), "fixtures", "isabelle-server")
	if _, err := os.Stat(d); err != nil {
		t.Skipf("isabelle server fixtures not found at %s: %v", d, err)
	}
	return d
}

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// block blocks forever (a bare select{} would be a deadlock to the
// runtime without another goroutine).
func block() {
	signal.Notify(make(chan os.Signal, 1), syscall.SIGUSR2)
	select {}
}

func fakeIsabelle(mode string) int {
	args := proctest.Args()
	switch {
	case len(args) > 0 && args[0] == "getenv":
		return fakeGetenv(args[1:])
	case len(args) > 0 && args[0] == "sleep":
		signal.Ignore(syscall.SIGTERM)
		block()
	case len(args) == 0 || args[0] != "server":
		fmt.Fprintln(os.Stderr, "fake isabelle: usage: getenv -b VAR... | server [flags]")
		return 2
	}
	fl := flag.NewFlagSet("server", flag.ContinueOnError)
	delay := fl.Duration("delay", 0, "")
	dieAfter := fl.Int("die-after", 0, "")
	child := fl.Bool("child", false, "")
	pids := fl.String("pids", "", "")
	ignoreTerm := fl.Bool("ignore-term", false, "")
	ignoreShutdown := fl.Bool("ignore-shutdown", false, "")
	probe := fl.String("probe", "", "")
	deaf := fl.Bool("deaf", false, "")
	fixtures := fl.String("fixtures", "", "")
	fl.String("n", "", "")
	if err := fl.Parse(args[1:]); err != nil {
		return 2
	}
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	for _, f := range strings.Split(*probe, ",") {
		if f = os.ExpandEnv(f); f == "" {
			continue
		}
		if err := os.WriteFile(f, []byte("probe\n"), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "probe %s: %v\n", f, err)
		} else {
			fmt.Fprintf(os.Stderr, "probe %s: ok\n", f)
		}
	}
	ids := []int{os.Getpid()}
	if *child {
		cmd := exec.Command(os.Args[0], "sleep")
		cmd.Env = append(os.Environ(), proctest.EnvVar+"="+mode)
		if err := cmd.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "fake isabelle: starting the grandchild:", err)
			return 1
		}
		ids = append(ids, cmd.Process.Pid)
	}
	if *pids != "" {
		f, err := os.OpenFile(*pids, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, "fake isabelle: pids:", err)
			return 1
		}
		for _, id := range ids {
			fmt.Fprintln(f, id)
		}
		f.Close()
	}
	if *delay > 0 {
		time.Sleep(*delay) // the slow start being simulated, not a synchronisation
	}
	switch mode {
	case "exit":
		fmt.Fprintln(os.Stderr, "fake isabelle: refusing to start (broken installation)")
		return 3
	case "hang":
		fmt.Fprintln(os.Stderr, "fake isabelle: starting ...")
		block()
	case "garbage":
		fmt.Print("HTTP/1.1 400 Bad Request\r\n\r\n<html>not isabelle</html>\n" + strings.Repeat("<p>junk</p>\n", 20))
		block()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fs := newFakeServer(mode, uuid())
	fs.fixtures, fs.dieAfter, fs.ignoreShutdown = *fixtures, int64(*dieAfter), *ignoreShutdown
	fs.deaf.Store(*deaf)
	fmt.Printf("server \"fake\" = %s (password \"%s\")\n", ln.Addr(), fs.password)
	fs.ln = ln
	fs.serve()
	if *ignoreShutdown {
		block()
	}
	return 0
}

// fakeGetenv plays `isabelle getenv -b VARS`: ISABELLE_HOME is the
// directory of this binary (so that the confined fake can run itself),
// ISABELLE_HOME_USER comes from fakeHomeUserEnv.
func fakeGetenv(args []string) int {
	if len(args) == 0 || args[0] != "-b" {
		fmt.Fprintln(os.Stderr, "fake isabelle getenv: want -b")
		return 2
	}
	exe, err := os.Executable()
	if err != nil {
		return 1
	}
	for _, v := range args[1:] {
		switch v {
		case "ISABELLE_HOME":
			fmt.Println(filepath.Dir(exe))
		case "ISABELLE_HOME_USER":
			home := os.Getenv(fakeHomeUserEnv)
			if home == "" {
				fmt.Fprintln(os.Stderr, "fake isabelle getenv: "+fakeHomeUserEnv+" not set")
				return 1
			}
			fmt.Println(home)
		default:
			fmt.Println()
		}
	}
	return 0
}

type fakeServer struct {
	mode     string
	password string
	refuse   bool
	fixtures string
	// dieAfter > 0 makes the process exit 1 when the use_theories after
	// the dieAfter-th arrives; ignoreShutdown answers shutdown and keeps
	// the process running.
	dieAfter       int64
	ignoreShutdown bool
	tasks          atomic.Int64
	// showStates makes print_state print the state (off, as in Isabelle
	// without show_states).
	showStates bool

	mu       sync.Mutex
	sessions map[string]bool
	// per session id: the options it was started with, the theories
	// checked in it (in order), whether it was stopped
	sessionOpts    map[string][]string
	sessionThys    map[string][]string
	sessionStopped map[string]bool
	ln             net.Listener
	deaf           atomic.Bool
	stopped        chan struct{}
	stopOnce       sync.Once

	// service time spent handling requests, for the benchmark baseline
	serviceNanos atomic.Int64
	checks       atomic.Int64
	starts       atomic.Int64 // session_start calls
	cancels      atomic.Int64 // cancel commands
	purges       atomic.Int64 // theories purged
}

func newFakeServer(mode, password string) *fakeServer {
	return &fakeServer{
		mode: mode, password: password, refuse: strings.HasSuffix(mode, "-refuse"),
		sessions: map[string]bool{}, stopped: make(chan struct{}),
		sessionOpts: map[string][]string{}, sessionThys: map[string][]string{}, sessionStopped: map[string]bool{},
	}
}

func (s *fakeServer) stop() {
	s.stopOnce.Do(func() {
		close(s.stopped)
		if s.ln != nil {
			s.ln.Close()
		}
	})
}

func (s *fakeServer) serve() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		go s.handle(conn)
	}
}

type fakeConn struct {
	s     *fakeServer
	conn  net.Conn
	wmu   sync.Mutex
	mu    sync.Mutex
	tasks map[string]chan struct{} // task id -> cancel
	gone  chan struct{}
}

func (c *fakeConn) write(msg string) {
	c.writeRaw(EncodeServerMessage(msg))
}

func (c *fakeConn) writeRaw(b []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, _ = c.conn.Write(b)
}

func (s *fakeServer) handle(conn net.Conn) {
	defer conn.Close()
	br := bufio.NewReader(conn)
	pw, err := br.ReadString('\n')
	if err != nil || s.refuse || strings.TrimRight(pw, "\r\n") != s.password {
		return // a wrong password: closed without a reply
	}
	if s.deaf.Load() {
		_, _ = br.ReadString(0) // never answers
		return
	}
	if s.mode == "garbage-wire" {
		_, _ = conn.Write([]byte("<html>not isabelle</html>\n"))
		_, _ = br.ReadString(0)
		return
	}
	c := &fakeConn{s: s, conn: conn, tasks: map[string]chan struct{}{}, gone: make(chan struct{})}
	defer close(c.gone)
	c.write(`OK {"isabelle_id":"fake0000","isabelle_name":"Isabelle2023"}`)
	for {
		line, err := ReadMessage(br)
		if err != nil {
			return // closing a connection cancels its tasks (gone)
		}
		if s.deaf.Load() {
			continue
		}
		t0 := time.Now()
		if s.mode == "replay" {
			c.replay(ParseMessage(line))
		} else {
			c.sim(line)
		}
		s.serviceNanos.Add(int64(time.Since(t0)))
		select {
		case <-s.stopped:
			return
		default:
		}
	}
}

// replay answers with the recorded bytes of the fixture named like the
// command (use_theories picks .Fail or .Sledgehammer by theory name).
func (c *fakeConn) replay(m Message) {
	name := m.Name
	switch {
	case name == "echo":
		c.write("OK " + m.Arg)
		return
	case name == "use_theories" && strings.Contains(m.Arg, "Fail"):
		name = "use_theories.Fail"
	case name == "use_theories" && strings.Contains(m.Arg, "Sledgehammer"):
		name = "use_theories.Sledgehammer"
	}
	b, err := os.ReadFile(filepath.Join(c.s.fixtures, name))
	if err != nil || name == "" || strings.ContainsAny(name, "/.") && !strings.HasPrefix(name, "use_theories.") {
		c.write(fmt.Sprintf("ERROR %q", "Bad command '"+m.Name+"'"))
		return
	}
	if strings.HasSuffix(string(b), "\n\n") {
		b = b[:len(b)-1]
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	c.writeRaw(b)
	if name == "shutdown" {
		c.s.stop()
	}
}

var simCommands = []string{"cancel", "echo", "help", "purge_theories", "session_build", "session_start", "session_stop", "shutdown", "use_theories"}

func (c *fakeConn) sim(line string) {
	if line == "" {
		c.write(`NOTE "Command 'help' provides list of commands"`)
		return
	}
	m := ParseMessage(line)
	var arg any
	if m.Arg != "" {
		if err := json.Unmarshal([]byte(m.Arg), &arg); err != nil {
			c.write(fmt.Sprintf(`ERROR {"kind":"error","message":"Malformed argument for command '%s'","argument":%s}`, m.Name, jsonString(m.Arg)))
			return
		}
	}
	obj, _ := arg.(map[string]any)
	bad := func() {
		c.write(fmt.Sprintf(`ERROR {"kind":"error","message":"Bad argument for command '%s'","argument":%s}`, m.Name, jsonString(m.Arg)))
	}
	switch m.Name {
	case "help":
		b, _ := json.Marshal(simCommands)
		c.write("OK " + string(b))
	case "echo":
		b, _ := json.Marshal(arg)
		c.write("OK " + string(b))
	case "shutdown":
		c.write("OK")
		if !c.s.ignoreShutdown {
			c.s.stop()
		}
	case "cancel":
		id, _ := obj["task"].(string)
		c.s.cancels.Add(1)
		c.write("OK")
		c.mu.Lock()
		if ch := c.tasks[id]; ch != nil {
			close(ch)
			delete(c.tasks, id)
		}
		c.mu.Unlock()
	case "session_start":
		name, ok := obj["session"].(string)
		if !ok {
			bad()
			return
		}
		task := c.start()
		c.write(fmt.Sprintf(`NOTE {"kind":"writeln","message":"Starting session %s ...","verbose":"false","task":"%s"}`, name, task))
		c.write(`NOTE {"kind":"nodes_status","nodes_status":[]}`)
		if name == "HangSession" {
			c.mu.Lock()
			cancel := c.tasks[task]
			c.mu.Unlock()
			go func() {
				select {
				case <-cancel:
					c.end(task, fmt.Sprintf(`FAILED {"kind":"error","message":"Interrupt","task":"%s"}`, task))
				case <-c.gone:
				}
			}()
			return
		}
		if name == "Nonexistent" {
			c.end(task, fmt.Sprintf(`FAILED {"kind":"error","message":"Undefined session(s): \"%s\"","task":"%s"}`, name, task))
			return
		}
		id := uuid()
		c.s.starts.Add(1)
		var opts []string
		if raw, ok := obj["options"].([]any); ok {
			for _, o := range raw {
				s, _ := o.(string)
				opts = append(opts, s)
			}
		}
		c.s.mu.Lock()
		c.s.sessions[id] = true
		c.s.sessionOpts[id] = opts
		c.s.mu.Unlock()
		c.end(task, fmt.Sprintf(`FINISHED {"session_id":"%s","tmp_dir":"/tmp/fake/%s","task":"%s"}`, id, id, task))
	case "session_stop":
		id, ok := obj["session_id"].(string)
		if !ok {
			bad()
			return
		}
		task := c.start()
		c.s.mu.Lock()
		known := c.s.sessions[id]
		delete(c.s.sessions, id)
		if known {
			c.s.sessionStopped[id] = true
		}
		c.s.mu.Unlock()
		if !known {
			c.end(task, fmt.Sprintf(`FAILED {"kind":"error","message":"No session '%s'","task":"%s"}`, id, task))
			return
		}
		c.end(task, fmt.Sprintf(`FINISHED {"ok":true,"return_code":0,"task":"%s"}`, task))
	case "purge_theories":
		if _, ok := obj["session_id"].(string); !ok {
			bad()
			return
		}
		var purged []map[string]string
		dir, _ := obj["master_dir"].(string)
		ths, _ := obj["theories"].([]any)
		for _, t := range ths {
			n, _ := t.(string)
			c.s.purges.Add(1)
			purged = append(purged, map[string]string{"node_name": filepath.Join(dir, n+".thy"), "theory_name": "Draft." + n})
		}
		b, _ := json.Marshal(map[string]any{"purged": purged, "retained": []any{}})
		c.write("OK " + string(b))
	case "use_theories":
		c.useTheories(obj, bad)
	default:
		c.write(fmt.Sprintf("ERROR %s", jsonString("Bad command '"+m.Name+"'")))
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// start replies OK with a new task id and registers its cancel channel.
func (c *fakeConn) start() string {
	id := uuid()
	c.mu.Lock()
	c.tasks[id] = make(chan struct{})
	c.mu.Unlock()
	c.write(fmt.Sprintf(`OK {"task":"%s"}`, id))
	return id
}

func (c *fakeConn) end(task, msg string) {
	c.mu.Lock()
	delete(c.tasks, task)
	c.mu.Unlock()
	c.write(msg)
}

func (c *fakeConn) useTheories(obj map[string]any, bad func()) {
	sid, ok1 := obj["session_id"].(string)
	ths, ok2 := obj["theories"].([]any)
	if !ok1 || !ok2 || len(ths) == 0 {
		bad()
		return
	}
	dir, _ := obj["master_dir"].(string)
	if n := c.s.tasks.Add(1); c.s.dieAfter > 0 && n > c.s.dieAfter {
		fmt.Fprintf(os.Stderr, "fake isabelle: simulated crash at use_theories %d\n", n)
		os.Exit(1)
	}
	task := c.start()
	c.mu.Lock()
	cancel := c.tasks[task]
	c.mu.Unlock()
	c.s.mu.Lock()
	known := c.s.sessions[sid]
	c.s.mu.Unlock()
	if !known {
		c.end(task, fmt.Sprintf(`FAILED {"kind":"error","message":"No session '%s'","task":"%s"}`, sid, task))
		return
	}
	name, _ := ths[0].(string)
	src, err := os.ReadFile(filepath.Join(dir, name+".thy"))
	if err != nil {
		c.end(task, fmt.Sprintf(`FAILED {"kind":"error","message":%s,"task":"%s"}`, jsonString("Cannot load theory file "+name+".thy"), task))
		return
	}
	c.write(fmt.Sprintf(`NOTE {"percentage":99,"task":"%s","message":"theory Draft.%s 99%%","kind":"writeln","session":"","theory":"Draft.%s"}`, task, name, name))
	c.s.mu.Lock()
	c.s.sessionThys[sid] = append(c.s.sessionThys[sid], name)
	c.s.mu.Unlock()
	var res map[string]any
	var fault string
	if strings.HasPrefix(name, "Llemma") {
		res = simulateFinal(dir, name, string(src))
	} else {
		res, fault = c.s.simulate(name, string(src))
	}
	switch fault {
	case "hang_forever":
		go func() {
			select {
			case <-cancel:
				c.end(task, fmt.Sprintf(`FAILED {"kind":"error","message":"Interrupt","task":"%s"}`, task))
			case <-c.gone:
			}
		}()
		return
	case "deaf":
		c.s.deaf.Store(true)
		return
	case "drop_conn":
		msg := fmt.Sprintf(`FINISHED {"ok":true,"errors":[],"nodes":[],"task":"%s"}`, task)
		frame := EncodeServerMessage(msg + strings.Repeat(" ", 200))
		c.writeRaw(frame[:len(frame)/2])
		c.conn.Close()
		return
	case "task_fail":
		c.end(task, fmt.Sprintf(`FAILED {"kind":"error","message":"Simulated failure","task":"%s"}`, task))
		return
	}
	res["task"] = task
	b, _ := json.Marshal(res)
	c.s.checks.Add(1)
	c.end(task, "FINISHED "+string(b))
}

// The simulator's scripted logic: goals are texts; methods transform the
// first goal (or all) by fixed rules.
var (
	simSolvable  = map[string]bool{"True": true, "A": true, "B": true, "x = x": true}
	simHammer    = map[string]string{"C": "by metis", "E": "using assms by blast"}
	simStatement = regexp.MustCompile(`"([^"]*)"\s*$`)
)

func goalText(goals []string) string {
	var sb strings.Builder
	if len(goals) == 1 {
		sb.WriteString("goal (1 subgoal):")
	} else {
		fmt.Fprintf(&sb, "goal (%d subgoals):", len(goals))
	}
	for i, g := range goals {
		fmt.Fprintf(&sb, "\n %d. %s", i+1, g)
	}
	return sb.String()
}

func simApply(theory, method string, goals []string) ([]string, bool) {
	if len(goals) == 0 {
		return nil, false
	}
	switch method {
	case "(rule conjI)":
		l, r, ok := strings.Cut(goals[0], ` \<and> `)
		if !ok {
			return nil, false
		}
		return append([]string{l, r}, goals[1:]...), true
	case "simp":
		if simSolvable[goals[0]] {
			return goals[1:], true
		}
	case "auto":
		var rest []string
		for _, g := range goals {
			if !simSolvable[g] {
				rest = append(rest, g)
			}
		}
		if len(rest) < len(goals) {
			return rest, true
		}
	case "metis":
		if goals[0] == "C" {
			return goals[1:], true
		}
	case "blast":
		if goals[0] == "E" {
			return goals[1:], true
		}
	case "flaky": // passes in step checks only: a stale-state bug
		if strings.HasPrefix(theory, "Step") {
			return nil, true
		}
	}
	return nil, false
}

// simFrame is one goal of the step simulator's proof: the lemma's, or a
// local goal (have/show) of a structured proof. A frame in state mode
// (after `proof`) has no goals of its own but theses left to show.
type simFrame struct {
	goals  []string
	state  bool
	thesis []string
	show   bool   // a show/thus: closing it discharges a thesis of the parent
	prop   string // the local goal's statement
}

// simIsarCommands splits a line into Isar commands at the command words
// outside strings and parentheses.
func simIsarCommands(line string) []string {
	var out []string
	depth, inStr, start := 0, false, 0
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		case depth == 0 && (i == 0 || line[i-1] == ' ') && isWordByte(c):
			j := i
			for j < len(line) && isWordByte(line[j]) {
				j++
			}
			if i > start && simIsarWords[line[i:j]] {
				out = append(out, strings.TrimSpace(line[start:i]))
				start = i
			}
			i = j - 1
		}
	}
	return append(out, strings.TrimSpace(line[start:]))
}

var simIsarWords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields("apply by using unfolding sorry oops done print_state sledgehammer proof qed next have show hence thus then from with moreover ultimately note fix assume also finally") {
		m[w] = true
	}
	return m
}()

// simulate checks a theory the way the scripted logic says and returns the
// use_theories result, or the name of a fault to inject. Proofs are apply
// scripts or a structured subset: proof [-|method], have/show/hence/thus
// "P" (or ?thesis) with a by, sorry or apply...done proof, then/from/with/
// note/moreover/ultimately/next, qed, and oops anywhere.
func (s *fakeServer) simulate(name, src string) (map[string]any, string) {
	lines := strings.Split(src, "\n")
	var msgs, errs []map[string]any
	pos := func(l int) map[string]any {
		return map[string]any{"line": l, "offset": 1, "end_offset": 2, "file": name + ".thy"}
	}
	say := func(kind string, l int, text string) {
		m := map[string]any{"kind": kind, "message": text, "pos": pos(l)}
		msgs = append(msgs, m)
		if kind == "error" {
			errs = append(errs, m)
		}
	}
	var goals []string
	var frames []*simFrame
	inStmt, failed := false, false
	commands := 0
	// close pops the top frame; a show discharges its parent's thesis
	close := func(l int) {
		f := frames[len(frames)-1]
		frames = frames[:len(frames)-1]
		if !f.show || len(frames) == 0 {
			return
		}
		p := frames[len(frames)-1]
		for k, t := range p.thesis {
			if t == f.prop {
				p.thesis = append(append([]string(nil), p.thesis[:k]...), p.thesis[k+1:]...)
				return
			}
		}
		say("error", l, "Failed to refine any pending goal")
		failed = true
	}
	for i, raw := range lines {
		l := i + 1
		line := strings.TrimSpace(raw)
		word, _, _ := strings.Cut(line, " ")
		if !inStmt && len(frames) == 0 {
			if word == "theorem" || word == "lemma" {
				inStmt = true
				commands++
			} else {
				continue
			}
		}
		if inStmt {
			if m := simStatement.FindStringSubmatch(line); m != nil && (word == "shows" || word == "theorem" || word == "lemma" || strings.HasPrefix(line, `"`)) {
				goals = []string{m[1]}
			}
			switch word {
			case "apply", "by", "using", "unfolding", "sorry", "oops", "done", "print_state", "sledgehammer", "end", "proof":
				inStmt = false
				frames = []*simFrame{{goals: goals}}
				say("writeln", l-1, "theorem "+strings.Join(goals, ""))
			default:
				continue
			}
		}
		if line == "" || strings.HasPrefix(line, "(*") && strings.HasSuffix(line, "*)") {
			continue
		}
		for _, cmd := range simIsarCommands(line) {
			word, rest, _ := strings.Cut(cmd, " ")
			rest = strings.TrimSpace(rest)
			commands++
			if failed {
				continue
			}
			if len(frames) == 0 {
				if word != "end" {
					say("error", l, "Outer syntax error\\<^here>: command expected")
					failed = true
				}
				continue
			}
			top := frames[len(frames)-1]
			prove := func() bool {
				if top.state {
					say("error", l, `Illegal application of proof command in "state" mode`)
					failed = true
				}
				return !top.state
			}
			if word == "sledgehammer" {
				if !prove() {
					continue
				}
				say("writeln", l, "Sledgehammering...")
				if len(top.goals) > 0 && simHammer[top.goals[0]] != "" {
					say("writeln", l, "z3 found a proof...")
					say("writeln", l, "z3: Try this: "+simHammer[top.goals[0]]+" (12 ms)")
				} else {
					say("writeln", l, "No proof found")
				}
				continue
			}
			switch word {
			case "end":
				say("error", l, "Unfinished proof")
				failed = true
			case "print_state":
				if s.showStates {
					if top.state {
						say("writeln", l, "proof (state)\n"+goalText(top.thesis))
					} else {
						say("writeln", l, "proof (prove)\n"+goalText(top.goals))
					}
				}
			case "done":
				if !prove() {
					continue
				}
				if len(top.goals) > 0 {
					say("error", l, `Failed to finish proof\<^here>:`+"\n"+goalText(top.goals))
					failed = true
				} else {
					close(l)
				}
			case "sorry": // accepted, as by the real server in PIDE
				close(l)
			case "oops":
				frames = nil
			case "using", "unfolding":
				prove()
			case "apply", "by":
				if !prove() {
					continue
				}
				switch rest {
				case "hang_forever", "deaf", "drop_conn", "task_fail":
					return nil, rest
				}
				ng, ok := simApply(name, rest, top.goals)
				if !ok {
					say("error", l, `Failed to apply proof method\<^here>:`+"\n"+goalText(top.goals))
					failed = true
					continue
				}
				top.goals = ng
				if word == "by" {
					if len(ng) > 0 {
						say("error", l, `Failed to finish proof\<^here>:`+"\n"+goalText(ng))
						failed = true
						continue
					}
					close(l)
				}
			case "proof":
				if !prove() {
					continue
				}
				th := top.goals
				if rest != "-" && rest != "" {
					ng, ok := simApply(name, strings.TrimPrefix(rest, "apply "), th)
					if !ok {
						say("error", l, `Failed to apply initial proof method\<^here>:`+"\n"+goalText(th))
						failed = true
						continue
					}
					th = ng
				}
				top.state, top.thesis, top.goals = true, th, nil
			case "have", "show", "hence", "thus":
				if !top.state {
					say("error", l, `Illegal application of proof command in "prove" mode`)
					failed = true
					continue
				}
				var prop string
				if m := simQuoted.FindStringSubmatch(rest); m != nil {
					prop = m[1]
				} else if strings.Contains(rest, "?thesis") && len(top.thesis) > 0 {
					prop = top.thesis[0]
				} else {
					say("error", l, "Outer syntax error\\<^here>: proposition expected")
					failed = true
					continue
				}
				frames = append(frames, &simFrame{goals: []string{prop}, prop: prop, show: word == "show" || word == "thus"})
			case "then", "from", "with", "moreover", "ultimately", "note", "fix", "assume", "also", "finally", "next":
				if top.state {
					continue
				}
				say("error", l, `Illegal application of proof command in "prove" mode`)
				failed = true
			case "qed":
				if !top.state {
					say("error", l, `Illegal application of proof command in "prove" mode`)
					failed = true
					continue
				}
				if len(top.thesis) > 0 {
					say("error", l, `Failed to finish proof\<^here>:`+"\n"+goalText(top.thesis))
					failed = true
					continue
				}
				close(l)
			default:
				say("error", l, "Outer syntax error\\<^here>: command expected")
				failed = true
			}
		}
	}
	nerr := len(errs)
	if errs == nil {
		errs = []map[string]any{}
	}
	if msgs == nil {
		msgs = []map[string]any{}
	}
	status := map[string]any{
		"percentage": 100, "unprocessed": 0, "running": 0, "finished": commands - nerr, "failed": nerr,
		"total": commands, "consolidated": true, "canceled": false, "ok": nerr == 0, "warned": 0,
	}
	return map[string]any{
		"ok": nerr == 0, "errors": errs,
		"nodes": []any{map[string]any{
			"messages": msgs, "exports": []any{}, "status": status,
			"theory_name": "Draft." + name, "node_name": name + ".thy",
		}},
	}, ""
}

// startInProcess runs a sim server in this process (for benchmarks and
// tests that need its counters).
func startInProcess(t testing.TB, mode string) *fakeServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fs := newFakeServer(mode, uuid())
	fs.ln = ln
	go fs.serve()
	t.Cleanup(fs.stop)
	return fs
}

func (s *fakeServer) addr() string { return s.ln.Addr().String() }
