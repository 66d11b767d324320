package lean

// The test double: this test binary re-executed by internal/proctest (its
// EnvVar set to the mode) acts as the REPL on stdin/stdout. Modes:
//
//	replay  serve LLEMMA_FAKE_LEAN_FIXTURE (X for X.in / X.expected.out) byte
//	        for byte; any request that is not exactly the recorded one (as
//	        parsed JSON, and framed as one line plus a blank line) makes it
//	        exit 3 with the difference on stderr.
//	sim     a scripted REPL (simWorld) with failure injection from
//	        LLEMMA_FAKE_LEAN_FAULT (see simFaults).
//
// With LLEMMA_FAKE_TOOLCHAIN set and invoked as lake or lean (symlinks of
// a fake toolchain), it is the command-line double of toolchain_test.go
// instead.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/llemma-prove/llemma-prove/internal/proctest"
)

var fakes = map[string]func() int{
	"replay": func() int { return fakeReplay(os.Getenv("LLEMMA_FAKE_LEAN_FIXTURE"), os.Stdin, os.Stdout, os.Stderr) },
	"sim":    func() int { return fakeSim(os.Stdin, os.Stdout, os.Stderr) },
}

func TestMain(m *testing.M) {
	if os.Getenv("LLEMMA_FAKE_TOOLCHAIN") != "" {
		switch filepath.Base(os.Args[0]) {
		case "lake":
			os.Exit(fakeLake(os.Args[1:], os.Stdout, os.Stderr))
		case "lean":
			os.Exit(fakeLeanCLI(os.Args[1:], os.Stdout, os.Stderr))
		}
	}
	proctest.Main(m, fakes)
}

// replReadRequest reads one request the way the REPL does (reference
// §2.1): lines up to a blank one, each non-blank line stripped of trailing
// white space (its newline included) and joined with nothing. It also
// returns the raw bytes consumed. io.EOF when nothing was pending.
func replReadRequest(r *bufio.Reader) (text string, raw string, err error) {
	var sb, rawb strings.Builder
	pending := false
	for {
		line, err := r.ReadString('\n')
		rawb.WriteString(line)
		if line == "" && err != nil {
			if !pending {
				return "", rawb.String(), io.EOF
			}
			return sb.String(), rawb.String(), nil
		}
		trimmed := strings.TrimRight(line, " \t\r\n\v\f")
		if trimmed == "" {
			sb.WriteString(line) // the blank terminator is appended as is
			return sb.String(), rawb.String(), nil
		}
		sb.WriteString(trimmed)
		pending = true
		if err != nil {
			return sb.String(), rawb.String(), nil
		}
	}
}

// fixturePair is one recorded exchange.
type fixturePair struct {
	Request  string // the request text as the REPL parsed it (after framing)
	Response string // the response bytes, without the "\n\n" terminator
}

// loadFixture splits X.in with the REPL's framing and X.expected.out on
// blank lines, and pairs them.
func loadFixture(base string) ([]fixturePair, error) {
	in, err := os.ReadFile(base + ".in")
	if err != nil {
		return nil, err
	}
	outb, err := os.ReadFile(base + ".expected.out")
	if err != nil {
		return nil, err
	}
	var reqs []string
	br := bufio.NewReader(strings.NewReader(string(in)))
	for {
		text, _, err := replReadRequest(br)
		if err == io.EOF {
			break
		}
		text = strings.TrimRight(text, "\n")
		if text == "" || strings.HasPrefix(text, "#") || strings.HasPrefix(text, "--") {
			continue
		}
		reqs = append(reqs, text)
	}
	out := string(outb)
	if !strings.HasSuffix(out, "\n\n") {
		return nil, fmt.Errorf("%s.expected.out does not end with a blank line", base)
	}
	resps := strings.Split(strings.TrimSuffix(out, "\n\n"), "\n\n")
	if len(reqs) != len(resps) {
		return nil, fmt.Errorf("%s: %d requests, %d responses", base, len(reqs), len(resps))
	}
	pairs := make([]fixturePair, len(reqs))
	for i := range reqs {
		pairs[i] = fixturePair{reqs[i], resps[i]}
	}
	return pairs, nil
}

func fakeReplay(base string, in io.Reader, out, errw io.Writer) int {
	pairs, err := loadFixture(base)
	if err != nil {
		fmt.Fprintf(errw, "replay: %v\n", err)
		return 2
	}
	br := bufio.NewReader(in)
	for i := 0; ; i++ {
		text, raw, err := replReadRequest(br)
		if err == io.EOF {
			if i != len(pairs) {
				fmt.Fprintf(errw, "replay: stdin closed after %d of %d requests\n", i, len(pairs))
				return 5
			}
			return 0
		}
		if i >= len(pairs) {
			fmt.Fprintf(errw, "replay: unexpected request %d (only %d recorded): %s\n", i, len(pairs), text)
			return 4
		}
		body := strings.TrimSuffix(text, "\n")
		if raw != body+"\n\n" {
			fmt.Fprintf(errw, "replay: request %d is not framed as one JSON line and a blank line: %q\n", i, raw)
			return 3
		}
		var got, want any
		if err := json.Unmarshal([]byte(body), &got); err != nil {
			fmt.Fprintf(errw, "Could not parse JSON:\n%v\n", err)
			return 1
		}
		if err := json.Unmarshal([]byte(pairs[i].Request), &want); err != nil {
			fmt.Fprintf(errw, "replay: recorded request %d: %v\n", i, err)
			return 2
		}
		if !reflect.DeepEqual(got, want) {
			fmt.Fprintf(errw, "replay: request %d differs:\n got %s\nwant %s\n", i, body, pairs[i].Request)
			return 3
		}
		if _, err := io.WriteString(out, pairs[i].Response+"\n\n"); err != nil {
			return 1
		}
	}
}

// ---- the REPL's pretty printer (reference §2.2), for the simulator ----

type (
	docText string
	docLine struct{}
	docNest struct {
		n int
		d any
	}
	docConcat []any
	docGroup  struct{ d any }
)

func bracket(l string, d any, r string) any {
	return docGroup{docNest{utf8.RuneCountInString(l), docConcat{docText(l), d, docText(r)}}}
}

func leanQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func jsonDoc(v any) any {
	switch v := v.(type) {
	case nil:
		return docText("null")
	case bool:
		return docText(strconv.FormatBool(v))
	case json.Number:
		return docText(v.String())
	case float64:
		return docText(strconv.FormatFloat(v, 'f', -1, 64))
	case int:
		return docText(strconv.Itoa(v))
	case string:
		return docText(leanQuote(v))
	case []any:
		var items docConcat
		for i, e := range v {
			if i > 0 {
				items = append(items, docText(","), docLine{})
			}
			items = append(items, jsonDoc(e))
		}
		return bracket("[", items, "]")
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Sort(sort.Reverse(sort.StringSlice(keys)))
		var items docConcat
		for i, k := range keys {
			if i > 0 {
				items = append(items, docText(","), docLine{})
			}
			items = append(items, docGroup{docConcat{docText(leanQuote(k) + ":"), docLine{}, jsonDoc(v[k])}})
		}
		return bracket("{", items, "}")
	}
	panic(fmt.Sprintf("jsonDoc: %T", v))
}

type docItem struct {
	indent int
	flat   bool
	d      any
}

// renderLean lays out a JSON value as Lean's Json.pretty(80) does.
func renderLean(v any) string {
	const width = 80
	var b strings.Builder
	col := 0
	stack := []docItem{{0, false, jsonDoc(v)}}
	for len(stack) > 0 {
		it := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		switch d := it.d.(type) {
		case docText:
			b.WriteString(string(d))
			col += utf8.RuneCountInString(string(d))
		case docLine:
			if it.flat {
				b.WriteByte(' ')
				col++
			} else {
				b.WriteByte('\n')
				b.WriteString(strings.Repeat(" ", it.indent))
				col = it.indent
			}
		case docNest:
			stack = append(stack, docItem{it.indent + d.n, it.flat, d.d})
		case docConcat:
			for i := len(d) - 1; i >= 0; i-- {
				stack = append(stack, docItem{it.indent, it.flat, d[i]})
			}
		case docGroup:
			if it.flat {
				stack = append(stack, docItem{it.indent, true, d.d})
				break
			}
			flat := fits(width-col, docItem{it.indent, true, d.d}, stack)
			stack = append(stack, docItem{it.indent, flat, d.d})
		}
	}
	return b.String()
}

// fits walks first (flat) then the rest of the stack in its own modes,
// until a line in break mode, and reports whether the width never went
// negative.
func fits(w int, first docItem, rest []docItem) bool {
	work := []docItem{first}
	ri := len(rest) - 1
	for {
		if len(work) == 0 {
			if ri < 0 {
				return true
			}
			work = append(work, rest[ri])
			ri--
		}
		it := work[len(work)-1]
		work = work[:len(work)-1]
		switch d := it.d.(type) {
		case docText:
			w -= utf8.RuneCountInString(string(d))
			if w < 0 {
				return false
			}
		case docLine:
			if !it.flat {
				return true
			}
			w--
			if w < 0 {
				return false
			}
		case docNest:
			work = append(work, docItem{it.indent + d.n, it.flat, d.d})
		case docConcat:
			for i := len(d) - 1; i >= 0; i-- {
				work = append(work, docItem{it.indent, it.flat, d[i]})
			}
		case docGroup:
			work = append(work, docItem{it.indent, it.flat, d.d})
		}
	}
}

// ---- the simulator ----

// simStep is what one tactic does to the first goal of a state.
type simStep struct {
	kind  string   // goals, trap, sorry, kernel, mvar, error, hang, crash
	next  []string // for goals: the goals replacing the first one
	msg   string
	axiom string // an axiom the step adds to the final proof
}

// simThm is one scripted theorem.
type simThm struct {
	root    string
	steps   map[string]simStep // goal + "\x00" + tactic
	cmdFail string             // command mode reports this error on a proof tactic mode accepts
	axioms  []string           // #print axioms before the steps' extras
}

func step(goal, tactic string) string { return goal + "\x00" + tactic }

var simWorld = map[string]simThm{
	"sim_two_step": {
		root: "⊢ ∀ (x : ℝ), x = 2 → x + 1 = 3",
		steps: map[string]simStep{
			step("⊢ ∀ (x : ℝ), x = 2 → x + 1 = 3", "intro x hx"):      {kind: "goals", next: []string{"x : ℝ\nhx : x = 2\n⊢ x + 1 = 3"}},
			step("⊢ ∀ (x : ℝ), x = 2 → x + 1 = 3", "linarith"):        {kind: "trap", msg: "linarith failed to find a contradiction"},
			step("⊢ ∀ (x : ℝ), x = 2 → x + 1 = 3", "nlinarith"):       {kind: "hang"},
			step("x : ℝ\nhx : x = 2\n⊢ x + 1 = 3", "nlinarith"):       {kind: "hang"},
			step("x : ℝ\nhx : x = 2\n⊢ x + 1 = 3", "subst hx"):        {kind: "goals", next: []string{"⊢ 2 + 1 = 3"}},
			step("x : ℝ\nhx : x = 2\n⊢ x + 1 = 3", "crash_me"):        {kind: "crash"},
			step("⊢ 2 + 1 = 3", "norm_num"):                           {kind: "goals"},
			step("x : ℝ\nhx : x = 2\n⊢ x + 1 = 3", "rw [hx]\n  ring"): {kind: "goals", next: []string{"⊢ 2 + 1 = 3"}},
		},
	},
	"sim_trap": {
		root: "n : ℕ\n⊢ n * 0 = 1",
		steps: map[string]simStep{
			step("n : ℕ\n⊢ n * 0 = 1", "linarith"):   {kind: "trap", msg: "linarith failed to find a contradiction"},
			step("n : ℕ\n⊢ n * 0 = 1", "simp"):       {kind: "sorry"},
			step("n : ℕ\n⊢ n * 0 = 1", "decide"):     {kind: "kernel", msg: "(kernel) declaration has free variables"},
			step("n : ℕ\n⊢ n * 0 = 1", "norm_num"):   {kind: "mvar"},
			step("n : ℕ\n⊢ n * 0 = 1", "omega"):      {kind: "error", msg: "Lean error:\nomega could not prove the goal"},
			step("n : ℕ\n⊢ n * 0 = 1", "intro x hx"): {kind: "goals", next: []string{"n : ℕ\n⊢ False"}},
			step("n : ℕ\n⊢ False", "simp"):           {kind: "trap", msg: "simp made no progress"},
		},
	},
	"sim_cmd_fail": {
		root:    "⊢ 1 = 1",
		steps:   map[string]simStep{step("⊢ 1 = 1", "simp"): {kind: "goals"}},
		cmdFail: "fail to show termination for\n  sim_cmd_fail",
	},
	"sim_bad_axiom": {
		root:  "⊢ 2 = 2",
		steps: map[string]simStep{step("⊢ 2 = 2", "simp"): {kind: "goals", axiom: "sorryAx"}},
	},
	"sim_native": {
		root:  "⊢ 2 ^ 10 = 1024",
		steps: map[string]simStep{step("⊢ 2 ^ 10 = 1024", "native_decide"): {kind: "goals", axiom: "Lean.ofReduceBool"}},
	},
}

type simFaults struct {
	slowStart   time.Duration
	hangStart   bool
	dieOnStart  bool
	badHeader   bool
	noise       bool
	stderrFlood bool // 4 MiB on stderr at start and 64 KiB more per request
	spawnChild  bool // start a child (sleep) in the group and log its pid
	crashAt     int  // once: the Nth tactic request gets half a response, then exit
	eofAt       int  // once: exit without answering
	garbageAt   int  // once: a non-JSON response
	forgetAt    int  // once: every proof state is forgotten
	floodAt     int  // once: an endless response to the Nth tactic
	exitAfter   int  // once: the process exits (status 1) right after its Nth answer
	// Every process, on its every Nth request (the header is the first):
	crashEvery   int // exit 134 with a panic on stderr
	garbageEvery int // a non-JSON response
	floodEvery   int // an endless response
}

func parseFaults(s string) simFaults {
	var f simFaults
	for _, kv := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		n, _ := strconv.Atoi(v)
		switch k {
		case "slow-start":
			f.slowStart, _ = time.ParseDuration(v)
		case "hang-start":
			f.hangStart = true
		case "die-on-start":
			f.dieOnStart = true
		case "bad-header":
			f.badHeader = true
		case "stderr-noise":
			f.noise = true
		case "crash-at":
			f.crashAt = n
		case "eof-at":
			f.eofAt = n
		case "garbage-at":
			f.garbageAt = n
		case "forget-at":
			f.forgetAt = n
		case "flood-at":
			f.floodAt = n
		case "exit-after":
			f.exitAfter = n
		case "stderr-flood":
			f.stderrFlood = true
		case "spawn-child":
			f.spawnChild = true
		case "crash-every":
			f.crashEvery = n
		case "garbage-every":
			f.garbageEvery = n
		case "flood-every":
			f.floodEvery = n
		}
	}
	return f
}

// onceFault reports whether a once-only fault may fire (first process
// only), recording that it did in LLEMMA_FAKE_LEAN_MARK.
func onceFault() bool {
	mark := os.Getenv("LLEMMA_FAKE_LEAN_MARK")
	if mark == "" {
		return true
	}
	f, err := os.OpenFile(mark, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return false
	}
	f.Close()
	return true
}

type simState struct {
	thm   string
	goals []string
	ax    []string
}

type simEnv struct {
	header bool
	thm    string
	ax     []string
}

func simLog(format string, args ...any) {
	path := os.Getenv("LLEMMA_FAKE_LEAN_LOG")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	fmt.Fprintf(f, "%d "+format+"\n", append([]any{os.Getpid()}, args...)...)
	f.Close()
}

func fakeSim(in io.Reader, out, errw io.Writer) int {
	f := parseFaults(os.Getenv("LLEMMA_FAKE_LEAN_FAULT"))
	simLog("START")
	if f.dieOnStart {
		fmt.Fprintln(errw, "uncaught exception: could not find Mathlib olean files (simulated)")
		return 1
	}
	if f.stderrFlood {
		floodStderr(errw, 4<<20)
	}
	if f.spawnChild {
		child := exec.Command("sleep", "300")
		if err := child.Start(); err != nil {
			fmt.Fprintf(errw, "spawning a child: %v\n", err)
			return 1
		}
		simLog("CHILD %d", child.Process.Pid)
	}
	br := bufio.NewReader(in)
	w := bufio.NewWriter(out)
	var envs []simEnv
	var states []simState
	forgotten := 0 // states below this id were forgotten
	tactics := 0
	requests := 0
	answers := 0
	every := func(n int) bool { return n > 0 && requests%n == 0 }
	send := func(v any) {
		b, _ := json.Marshal(v)
		var doc any
		d := json.NewDecoder(strings.NewReader(string(b)))
		d.UseNumber()
		_ = d.Decode(&doc)
		w.WriteString(renderLean(doc) + "\n\n")
		w.Flush()
		answers++
		if answers == f.exitAfter && onceFault() {
			fmt.Fprintf(errw, "exiting after answer %d (simulated)\n", answers)
			os.Exit(1)
		}
	}
	errMsg := func(s string) map[string]any { return map[string]any{"message": s} }
	for {
		text, _, err := replReadRequest(br)
		if err != nil {
			return 0
		}
		if strings.HasPrefix(text, "#") || strings.HasPrefix(text, "--") {
			continue
		}
		if f.noise {
			fmt.Fprintln(errw, "warning: simulated stderr noise")
		}
		if f.stderrFlood {
			floodStderr(errw, 64<<10)
		}
		requests++
		switch {
		case every(f.crashEvery):
			fmt.Fprintf(errw, "INTERNAL PANIC: simulated crash on request %d\n", requests)
			return 134
		case every(f.garbageEvery):
			w.WriteString("INTERNAL PANIC: out of memory\n\n")
			w.Flush()
			continue
		case every(f.floodEvery):
			return floodStdout(w)
		}
		var req map[string]any
		if err := json.Unmarshal([]byte(text), &req); err != nil {
			fmt.Fprintf(errw, "uncaught exception: Could not parse JSON:\n%v\n", err)
			return 1
		}
		simLog("REQ %s", strings.TrimSpace(text))
		if tac, ok := req["tactic"].(string); ok {
			tactics++
			psf, _ := req["proofState"].(float64)
			ps := int(psf)
			switch {
			case tactics == f.crashAt && onceFault():
				w.WriteString("{\"proofStatus\": \"Incomplete: open goals remain\",\n \"proofState\":")
				w.Flush()
				return 137
			case tactics == f.eofAt && onceFault():
				return 0
			case tactics == f.garbageAt && onceFault():
				w.WriteString("INTERNAL PANIC: out of memory\n\n")
				w.Flush()
				continue
			case tactics == f.forgetAt && onceFault():
				forgotten = len(states)
			case tactics == f.floodAt && onceFault():
				return floodStdout(w)
			}
			if ps < forgotten || ps >= len(states) {
				simLog("UNKNOWN %d", ps)
				send(errMsg(MsgUnknownProofState))
				continue
			}
			st := states[ps]
			thm := simWorld[st.thm]
			sp, ok := thm.steps[step(st.goals[0], tac)]
			if !ok {
				send(errMsg(MsgUnknownTactic))
				continue
			}
			errAt := func(msg string) []any {
				return []any{map[string]any{"severity": "error", "pos": map[string]any{"line": 0, "column": 0},
					"endPos": map[string]any{"line": 0, "column": 0}, "data": msg}}
			}
			resp := map[string]any{}
			switch sp.kind {
			case "hang":
				if fifo := os.Getenv("LLEMMA_FAKE_LEAN_HANG_FIFO"); fifo != "" {
					// Tell the test the request is in flight (opening blocks
					// until the test opens the other end).
					if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
						fmt.Fprintln(f, "hanging")
						f.Close()
					}
				}
				hangForever() // never answers
			case "crash":
				w.WriteString("{\"proofStatus\":")
				w.Flush()
				fmt.Fprintln(errw, "Stack overflow detected. Aborting.")
				return 134
			case "error":
				send(errMsg(sp.msg))
				continue
			case "trap":
				resp["goals"], resp["proofStatus"], resp["messages"] = []any{}, StatusContainsSorry, errAt(sp.msg)
			case "sorry":
				resp["goals"], resp["proofStatus"] = []any{}, StatusContainsSorry
			case "kernel":
				resp["goals"], resp["proofStatus"] = []any{}, "Error: kernel type check failed: "+sp.msg
			case "mvar":
				resp["goals"], resp["proofStatus"] = []any{}, StatusContainsMVars
			case "goals":
				goals := append(append([]string{}, sp.next...), st.goals[1:]...)
				ax := st.ax
				if sp.axiom != "" {
					ax = append(append([]string{}, ax...), sp.axiom)
				}
				states = append(states, simState{st.thm, goals, ax})
				status := StatusOpenGoals
				if len(goals) == 0 {
					status = StatusCompleted
				}
				resp["goals"], resp["proofStatus"], resp["proofState"] = goals, status, len(states)-1
				send(resp)
				continue
			}
			states = append(states, simState{st.thm, nil, st.ax})
			resp["proofState"] = len(states) - 1
			send(resp)
			continue
		}
		cmd, ok := req["cmd"].(string)
		if !ok {
			fmt.Fprintf(errw, "uncaught exception: Could not parse as a valid JSON command:\n%s\n", text)
			return 1
		}
		envf, hasEnv := req["env"].(float64)
		if !hasEnv {
			if f.hangStart {
				hangForever()
			}
			if f.slowStart > 0 {
				time.Sleep(f.slowStart)
			}
			if f.badHeader {
				envs = append(envs, simEnv{})
				send(map[string]any{"env": len(envs) - 1, "messages": []any{map[string]any{"severity": "error",
					"pos": map[string]any{"line": 1, "column": 0}, "endPos": map[string]any{"line": 1, "column": 14},
					"data": "unknown module prefix 'Mathlib'"}}})
				continue
			}
			envs = append(envs, simEnv{header: true})
			send(map[string]any{"env": len(envs) - 1})
			continue
		}
		env := int(envf)
		if env >= len(envs) {
			send(errMsg(MsgUnknownEnv))
			continue
		}
		send(simCommand(cmd, env, &envs, &states))
	}
}

// simCommand handles a command on an env: a statement with `:= by sorry`
// (a root), a whole proof (the final check), or `#print axioms NAME`.
func simCommand(cmd string, env int, envs *[]simEnv, states *[]simState) map[string]any {
	pos := func(l, c int) map[string]any { return map[string]any{"line": l, "column": c} }
	msg := func(sev string, data string) map[string]any {
		return map[string]any{"severity": sev, "pos": pos(1, 0), "endPos": pos(1, 7), "data": data}
	}
	newEnv := func(e simEnv) int { *envs = append(*envs, e); return len(*envs) - 1 }
	if name, ok := strings.CutPrefix(cmd, "#print axioms "); ok {
		e := (*envs)[env]
		if e.thm != name {
			return map[string]any{"env": newEnv(simEnv{}), "messages": []any{msg("error", "unknown constant '"+name+"'")}}
		}
		ax := "'" + name + "' depends on axioms: [" + strings.Join(e.ax, ", ") + "]"
		if len(e.ax) == 0 {
			ax = "'" + name + "' does not depend on any axioms"
		}
		return map[string]any{"env": newEnv(simEnv{}), "messages": []any{msg("info", ax)}}
	}
	// the header's set_option and open lines may come first (a hole's
	// command is the file after its imports)
	body := cmd
	for strings.HasPrefix(body, "set_option ") || strings.HasPrefix(body, "open ") || strings.HasPrefix(body, "\n") {
		_, rest, ok := strings.Cut(body, "\n")
		if !ok {
			break
		}
		body = rest
	}
	fields := strings.Fields(body)
	if len(fields) < 2 || fields[0] != "theorem" {
		return map[string]any{"env": newEnv(simEnv{}), "messages": []any{msg("error", "unexpected command")}}
	}
	name := fields[1]
	thm, ok := simWorld[name]
	if !ok {
		return map[string]any{"env": newEnv(simEnv{}), "messages": []any{msg("error", "unknown theorem "+name)}}
	}
	if strings.HasSuffix(cmd, ":= by sorry") {
		*states = append(*states, simState{thm: name, goals: []string{thm.root}})
		return map[string]any{
			"env": newEnv(simEnv{}),
			"sorries": []any{map[string]any{"proofState": len(*states) - 1, "pos": pos(1, len([]rune(cmd))-5),
				"goal": thm.root, "endPos": pos(1, len([]rune(cmd)))}},
			"messages": []any{map[string]any{"severity": "warning", "pos": pos(1, 8),
				"endPos": pos(1, 8+len(name)), "data": msgDeclUsesSorry}},
		}
	}
	_, proof, ok := strings.Cut(cmd, " := by\n")
	if !ok {
		return map[string]any{"env": newEnv(simEnv{}), "messages": []any{msg("error", "unexpected end of input")}}
	}
	// a tactic block whose last line is sorry (a sketch's hole): the steps
	// before it run, the sorry's proof state is the one goal they leave
	if tactics := simBlock(proof); strings.TrimSpace(tactics[len(tactics)-1]) == "sorry" {
		goals, errs, _ := simRun(thm, tactics[:len(tactics)-1])
		switch {
		case len(errs) > 0:
			return map[string]any{"env": newEnv(simEnv{}), "messages": []any{msg("error", errs[0])}}
		case len(goals) != 1:
			return map[string]any{"env": newEnv(simEnv{}), "messages": []any{msg("error", "unsolved goals\n"+strings.Join(goals, "\n\n"))}}
		}
		off := strings.LastIndex(cmd, "sorry")
		line := strings.Count(cmd[:off], "\n") + 1
		col := utf8.RuneCountInString(cmd[strings.LastIndexByte(cmd[:off], '\n')+1 : off])
		*states = append(*states, simState{thm: name, goals: goals})
		return map[string]any{
			"env": newEnv(simEnv{}),
			"sorries": []any{map[string]any{"proofState": len(*states) - 1, "pos": pos(line, col),
				"goal": goals[0], "endPos": pos(line, col+5)}},
			"messages": []any{map[string]any{"severity": "warning", "pos": pos(1, 8),
				"endPos": pos(1, 8+len(name)), "data": msgDeclUsesSorry}},
		}
	}
	errs, ax := simProof(thm, proof)
	var msgs []any
	for _, e := range errs {
		msgs = append(msgs, msg("error", e))
	}
	resp := map[string]any{"env": newEnv(simEnv{thm: name, ax: ax})}
	if len(msgs) > 0 {
		resp["messages"] = msgs
	}
	return resp
}

// simProof runs a tactic block (as Assemble writes it: two-space indent,
// deeper lines continue a tactic) through thm's script in command mode:
// the errors Lean would report and the axioms of the finished proof.
// The lean command-line double uses it too.
func simProof(thm simThm, proof string) (errs []string, ax []string) {
	goals, errs, ax := simRun(thm, simBlock(proof))
	if len(errs) > 0 {
		return errs, ax
	}
	if len(goals) > 0 {
		return []string{"unsolved goals\n" + strings.Join(goals, "\n\n")}, ax
	}
	if thm.cmdFail != "" {
		return []string{thm.cmdFail}, ax
	}
	return nil, ax
}

// simBlock splits a tactic block into its tactics.
func simBlock(proof string) []string {
	var tactics []string
	for _, line := range strings.Split(strings.TrimRight(proof, "\n"), "\n") {
		if strings.HasPrefix(line, "    ") && len(tactics) > 0 {
			tactics[len(tactics)-1] += "\n" + line[2:]
			continue
		}
		tactics = append(tactics, strings.TrimPrefix(line, "  "))
	}
	return tactics
}

// simRun runs tactics from thm's root: the goals left, the first error,
// the axioms so far.
func simRun(thm simThm, tactics []string) (goals, errs, ax []string) {
	goals = []string{thm.root}
	ax = thm.axioms
	if ax == nil {
		ax = []string{"propext", "Classical.choice", "Quot.sound"}
	}
	var flat []string // (t1; t2) is the sequence t1, t2
	for _, tac := range tactics {
		if inner, ok := strings.CutPrefix(tac, "("); ok && strings.HasSuffix(inner, ")") && !strings.ContainsAny(strings.TrimSuffix(inner, ")"), "()") {
			flat = append(flat, strings.Split(strings.TrimSuffix(inner, ")"), "; ")...)
			continue
		}
		flat = append(flat, tac)
	}
	for _, tac := range flat {
		if len(goals) == 0 {
			return nil, []string{"no goals to be proved"}, ax
		}
		sp, ok := thm.steps[step(goals[0], tac)]
		if !ok || sp.kind != "goals" {
			return nil, []string{"tactic " + tac + " failed"}, ax
		}
		goals = append(append([]string{}, sp.next...), goals[1:]...)
		if sp.axiom != "" {
			ax = append(append([]string{}, ax...), sp.axiom)
		}
	}
	return goals, nil, ax
}

// floodStderr writes n bytes of noise on stderr.
func floodStderr(errw io.Writer, n int) {
	line := strings.Repeat("warning: simulated stderr flood ", 31) + "\n"
	for written := 0; written < n; written += len(line) {
		if _, err := io.WriteString(errw, line); err != nil {
			return
		}
	}
}

// floodStdout writes a response that never ends, until the reader is gone.
func floodStdout(w *bufio.Writer) int {
	w.WriteString(`{"goals": [`)
	chunk := `"` + strings.Repeat("x", 1<<16) + `",` + "\n"
	for {
		if _, err := w.WriteString(chunk); err != nil {
			return 1
		}
		if err := w.Flush(); err != nil {
			return 1
		}
	}
}

// hangForever blocks like a wedged REPL. A bare `select {}` would not do:
// with no other goroutine alive the Go runtime reports a deadlock and exits.
func hangForever() {
	for {
		time.Sleep(time.Hour)
	}
}
