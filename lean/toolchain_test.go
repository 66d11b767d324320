package lean

// The command-line double: this test binary, reached through symlinks
// named lake and lean in a fake toolchain (LLEMMA_FAKE_TOOLCHAIN set),
// plays `lake env printenv` and `lean [-o M.olean] M.lean`.
//
// It is as strict as the real tools where the verifier could go wrong:
//   - argv is checked exactly; lean wants the working directory to be the
//     file's directory (it names the module from the path under it, and
//     with -o the name must exist), the -o directory to exist, and
//     LEAN_PATH to be set;
//   - every `import` must resolve to an .olean on LEAN_PATH or in the
//     toolchain's lib/lean, so the compare file fails unless the challenge
//     and the solution were built first (and an olean is written only
//     when the file had no error, as lean does);
//   - lake wants a lakefile in its directory.
//
// It elaborates nothing. A file's declarations, types and axioms come
// from a small script: a type is its statement text, normalised; `sorry`
// and `admit` give the warning and sorryAx; native_decide gives
// Lean.ofReduceBool and Lean.trustCompiler; helpers and axioms of the
// file pass their axioms on; `local instance : Add Nat := ⟨Nat.mul⟩`
// and `open N in` with a def N.X of the file change the elaborated type,
// as Lean would; the sim_* theorems of simWorld are judged by simProof.
// The "olean" is JSON recording that, and the compare file (whose lines
// must be exactly the harness's) is answered from the imported oleans.
//
// Formats. From the REPL fixtures (shared/fixtures/lean-repl): the texts
// "declaration uses `sorry`", "Unknown identifier `x`", "unsolved goals
// ...". From the Lean sources (src/Lean/Message.lean, mkErrorStringWithPos
// and SerialMessage.toString; src/util/shell.cpp): "FILE:LINE:COL: error:
// TEXT" and "warning:", information messages printed bare, messages on
// stdout, exit 1 on any error, the olean written only on success, the
// module named from the path under the working directory. From Lean's
// Print.lean as quoted in public #guard_msgs tests: "'X' depends on
// axioms: [a, b]" and "'X' does not depend on any axioms". Assumed, not
// observed: the wording of "type mismatch" (rfl against an equation), of
// "unknown module prefix" for a missing import, of the import clash, of
// "Unknown constant" and "unexpected end of input; expected '{'", the
// "X : T" form of #check on a parenthesised constant, and the wrapping of a
// long axiom list at 120 columns with a one-space indent.

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// toolStart is one line of the double's log: a process start.
type toolStart struct {
	Pid      int      `json:"pid"`
	Tool     string   `json:"tool"`
	Args     []string `json:"args"`
	Dir      string   `json:"dir"`
	LeanPath string   `json:"leanPath"`
	MemLimit uint64   `json:"memLimit"`
	Strict   string   `json:"strict,omitempty"` // why the double refused the call
}

func logStart(s toolStart) {
	path := os.Getenv("LLEMMA_FAKE_TOOL_LOG")
	if path == "" {
		return
	}
	var lim unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_AS, &lim) == nil {
		s.MemLimit = lim.Cur
	}
	b, _ := json.Marshal(s)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	f.Write(append(b, '\n'))
	f.Close()
}

// fakeTC is a fake toolchain and project on disk.
type fakeTC struct {
	root, tc, project, log string
}

// newFakeTC lays out bin/lake, bin/lean (symlinks to the test binary),
// lib/lean/{Init,Lean,Std}.olean, and a project with Mathlib's oleans.
func newFakeTC(t testing.TB) *fakeTC {
	t.Helper()
	root := t.TempDir()
	f := &fakeTC{root: root, tc: filepath.Join(root, "toolchain"), project: filepath.Join(root, "project"), log: filepath.Join(root, "log", "tools.log")}
	if err := os.MkdirAll(filepath.Dir(f.log), 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	mk := func(path, content string) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tool := range []string{"lake", "lean"} {
		p := filepath.Join(f.tc, "bin", tool)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.Symlink(exe, p); err != nil {
			t.Fatal(err)
		}
	}
	lib := func(dir, mod string) {
		b, _ := json.Marshal(fakeOlean{Module: mod})
		mk(filepath.Join(dir, filepath.FromSlash(strings.ReplaceAll(mod, ".", "/"))+".olean"), string(b))
	}
	for _, m := range []string{"Init", "Lean", "Std", "Lean.Elab.Command"} {
		lib(filepath.Join(f.tc, "lib", "lean"), m)
	}
	mathlib := filepath.Join(f.project, ".lake", "packages", "mathlib", ".lake", "build", "lib")
	for _, m := range []string{"Mathlib", "Mathlib.Tactic", "Mathlib.Data.Real.Basic", "Mathlib.Analysis.SpecialFunctions.Pow.Real"} {
		lib(mathlib, m)
	}
	os.MkdirAll(filepath.Join(f.project, ".lake", "build", "lib"), 0o755)
	mk(filepath.Join(f.project, "lakefile.toml"), "name = \"fake\"\n")
	mk(filepath.Join(f.project, "lean-toolchain"), "leanprover/lean4:v4.24.0\n")
	return f
}

// configure points cfg at the fake toolchain.
func (f *fakeTC) configure(cfg *Config) {
	cfg.Lake = filepath.Join(f.tc, "bin", "lake")
	cfg.Project = f.project
	cfg.WorkDir = filepath.Join(f.root, "jobs")
	cfg.Env = append(cfg.Env, "LLEMMA_FAKE_TOOLCHAIN="+f.tc, "LLEMMA_FAKE_TOOL_LOG="+f.log)
}

func readStarts(path string) ([]toolStart, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []toolStart
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var s toolStart
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			return nil, fmt.Errorf("tool log line %q: %w", l, err)
		}
		out = append(out, s)
	}
	return out, nil
}

// attach lets b's sandboxed lean processes write the double's log (and
// nothing else outside their job directory).
func (f *fakeTC) attach(b *Backend) { b.testWritable = []string{filepath.Dir(f.log)} }

// starts reads the double's log; a call the double refused as malformed
// fails the test.
func (f *fakeTC) starts(t testing.TB) []toolStart {
	t.Helper()
	out, err := readStarts(f.log)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range out {
		if s.Strict != "" {
			t.Errorf("the %s double refused %q: %s", s.Tool, s.Args, s.Strict)
		}
	}
	return out
}

func (f *fakeTC) leanStarts(t testing.TB) []toolStart {
	var out []toolStart
	for _, s := range f.starts(t) {
		if s.Tool == "lean" {
			out = append(out, s)
		}
	}
	return out
}

// ---- lake ----

func fakeLake(args []string, out, errw io.Writer) int {
	dir, _ := os.Getwd()
	s := toolStart{Pid: os.Getpid(), Tool: "lake", Args: args, Dir: dir}
	if !slices.Equal(args, []string{"env", "printenv"}) {
		s.Strict = "want argv `lake env printenv`"
		logStart(s)
		fmt.Fprintf(errw, "error: unknown command %q\n", strings.Join(args, " "))
		return 1
	}
	_, e1 := os.Stat(filepath.Join(dir, "lakefile.toml"))
	_, e2 := os.Stat(filepath.Join(dir, "lakefile.lean"))
	if e1 != nil && e2 != nil {
		s.Strict = "no lakefile in " + dir
		logStart(s)
		fmt.Fprintf(errw, "error: no configuration file with a supported extension:\n%s/lakefile.lean\n%s/lakefile.toml\n", dir, dir)
		return 1
	}
	logStart(s)
	tc := filepath.Dir(filepath.Dir(os.Args[0]))
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LEAN", "LEAN_SYSROOT", "LEAN_PATH", "ELAN_TOOLCHAIN":
			continue
		}
		fmt.Fprintln(out, kv)
	}
	fmt.Fprintln(out, "ELAN_TOOLCHAIN=leanprover/lean4:v4.24.0")
	fmt.Fprintln(out, "LEAN="+filepath.Join(tc, "bin", "lean"))
	fmt.Fprintln(out, "LEAN_SYSROOT="+tc)
	fmt.Fprintln(out, "LEAN_PATH="+strings.Join([]string{
		filepath.Join(dir, ".lake", "packages", "mathlib", ".lake", "build", "lib"),
		filepath.Join(dir, ".lake", "build", "lib"),
	}, ":"))
	return 0
}

// ---- lean ----

// fakeOlean is what the double writes for -o: the module's declarations.
type fakeOlean struct {
	Module string     `json:"module"`
	Decls  []fakeDecl `json:"decls"`
}

type fakeDecl struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Axioms []string `json:"axioms"`
	Axiom  bool     `json:"axiom,omitempty"`
}

type fakeMsg struct {
	line, col int
	sev       string // error, warning, info
	text      string
}

func fakeLeanCLI(args []string, out, errw io.Writer) int {
	dir, _ := os.Getwd()
	s := toolStart{Pid: os.Getpid(), Tool: "lean", Args: args, Dir: dir, LeanPath: os.Getenv("LEAN_PATH")}
	strict := func(why string) int {
		s.Strict = why
		logStart(s)
		fmt.Fprintln(errw, "Unknown command line option\nlean (fake): "+why)
		return 1
	}
	var olean, file string
	switch {
	case len(args) == 3 && args[0] == "-o":
		olean, file = args[1], args[2]
	case len(args) == 1:
		file = args[0]
	default:
		return strict("want argv `lean [-o M.olean] M.lean`")
	}
	if !filepath.IsAbs(file) || !strings.HasSuffix(file, ".lean") {
		return strict("the file must be an absolute .lean path")
	}
	if filepath.Dir(file) != dir {
		return strict("the working directory must be the file's directory: lean names the module from the path under it")
	}
	module := strings.TrimSuffix(filepath.Base(file), ".lean")
	if olean != "" {
		if olean != filepath.Join(dir, module+".olean") {
			return strict("-o must be " + module + ".olean next to the file")
		}
		if fi, err := os.Stat(filepath.Dir(olean)); err != nil || !fi.IsDir() {
			return strict("the -o directory does not exist")
		}
	}
	if s.LeanPath == "" {
		return strict("LEAN_PATH is not set")
	}
	logStart(s)
	srcb, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintf(errw, "file not found: %s\n", file)
		return 1
	}
	src := string(srcb)
	if strings.Contains(src, "-- llemma-fake: hang") {
		if fifo := os.Getenv("LLEMMA_FAKE_HANG_FIFO"); fifo != "" {
			if f, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
				f.WriteString("hanging")
				f.Close()
			}
		}
		hangForever()
	}
	if strings.Contains(src, "-- llemma-fake: crash") {
		fmt.Fprintln(errw, "Stack overflow detected. Aborting.")
		return 134
	}
	// Sandbox probes: report, as an error of the file, whether a write or
	// a read outside the job directory got through.
	var probes []fakeMsg
	for _, line := range strings.Split(src, "\n") {
		if p, ok := strings.CutPrefix(line, "-- llemma-fake: write "); ok {
			err := os.WriteFile(p, []byte("leak"), 0o644)
			probes = append(probes, fakeMsg{line: 1, sev: "error", text: "probe: write " + probeResult(err)})
		}
		if p, ok := strings.CutPrefix(line, "-- llemma-fake: read "); ok {
			_, err := os.ReadFile(p)
			probes = append(probes, fakeMsg{line: 1, sev: "error", text: "probe: read " + probeResult(err)})
		}
	}
	code := blankComments(src)
	imported, msgs := fakeImports(code, filepath.Dir(filepath.Dir(os.Args[0])))
	var decls []fakeDecl
	if len(msgs) == 0 {
		if module == compareModule {
			msgs = fakeCompare(code, imported)
		} else {
			decls, msgs = fakeElaborate(code, imported)
		}
	}
	msgs = append(probes, msgs...)
	failed := false
	for _, m := range msgs {
		switch m.sev {
		case "info":
			fmt.Fprintln(out, m.text)
		default:
			fmt.Fprintf(out, "%s:%d:%d: %s: %s\n", file, m.line, m.col, m.sev, m.text)
			failed = failed || m.sev == "error"
		}
	}
	if failed {
		return 1
	}
	if olean != "" {
		b, _ := json.Marshal(fakeOlean{Module: module, Decls: decls})
		if err := os.WriteFile(olean, b, 0o644); err != nil {
			fmt.Fprintf(errw, "failed to write '%s': %v\n", olean, err)
			return 1
		}
	}
	return 0
}

func probeResult(err error) string {
	if err != nil {
		return "denied: " + err.Error()
	}
	return "allowed"
}

// blankComments replaces comments by spaces (newlines kept, so positions
// hold). The double only sees files the scanner accepted.
func blankComments(src string) string {
	b := []byte(src)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
		case b[i] == '-' && i+1 < len(b) && b[i+1] == '-':
			for ; i < len(b) && b[i] != '\n'; i++ {
				b[i] = ' '
			}
		case b[i] == '/' && i+1 < len(b) && b[i+1] == '-':
			depth := 0
			for ; i < len(b); i++ {
				if b[i] == '/' && i+1 < len(b) && b[i+1] == '-' {
					depth++
					b[i], b[i+1] = ' ', ' '
					i++
					continue
				}
				if b[i] == '-' && i+1 < len(b) && b[i+1] == '/' {
					depth--
					b[i], b[i+1] = ' ', ' '
					i++
					if depth == 0 {
						break
					}
					continue
				}
				if b[i] != '\n' {
					b[i] = ' '
				}
			}
		}
	}
	return string(b)
}

var importRE = regexp.MustCompile(`^import\s+(\S+)\s*$`)

// fakeImports resolves the header's imports on LEAN_PATH and the
// toolchain's lib/lean, and reads them.
func fakeImports(code, toolchain string) ([]fakeOlean, []fakeMsg) {
	path := append(filepath.SplitList(os.Getenv("LEAN_PATH")), filepath.Join(toolchain, "lib", "lean"))
	var out []fakeOlean
	seen := map[string]string{}
	for n, line := range strings.Split(code, "\n") {
		t := strings.TrimSpace(line)
		if t == "" {
			continue
		}
		m := importRE.FindStringSubmatch(t)
		if m == nil {
			break // the header ends at the first non-import
		}
		mod := m[1]
		rel := filepath.FromSlash(strings.ReplaceAll(mod, ".", "/")) + ".olean"
		found := ""
		for _, d := range path {
			if _, err := os.Stat(filepath.Join(d, rel)); err == nil {
				found = filepath.Join(d, rel)
				break
			}
		}
		if found == "" {
			first, _, _ := strings.Cut(mod, ".")
			return nil, []fakeMsg{{line: n + 1, col: 0, sev: "error", text: fmt.Sprintf(
				"unknown module prefix '%s'\n\nNo directory '%s' or file '%s.olean' in the search path entries:\n%s",
				first, first, first, strings.Join(path, "\n"))}}
		}
		b, err := os.ReadFile(found)
		var o fakeOlean
		if err == nil {
			err = json.Unmarshal(b, &o)
		}
		if err != nil || o.Module != mod {
			return nil, []fakeMsg{{line: n + 1, sev: "error", text: fmt.Sprintf("failed to read file '%s', invalid header", found)}}
		}
		for _, d := range o.Decls {
			if from, dup := seen[d.Name]; dup {
				return nil, []fakeMsg{{line: 1, sev: "error", text: fmt.Sprintf("import %s failed, environment already contains '%s' from %s", mod, d.Name, from)}}
			}
			seen[d.Name] = mod
		}
		out = append(out, o)
	}
	return out, nil
}

// fakeCommand is one top-level command: lines from a column-0 line to the
// next one.
type fakeCommand struct {
	line int
	text string
}

func splitCommands(code string) []fakeCommand {
	var cmds []fakeCommand
	for n, line := range strings.Split(code, "\n") {
		if strings.TrimSpace(line) == "" {
			if len(cmds) > 0 {
				cmds[len(cmds)-1].text += "\n"
			}
			continue
		}
		if line[0] != ' ' && line[0] != '\t' && !strings.HasPrefix(line, "|") && !strings.HasPrefix(line, "_ ") {
			cmds = append(cmds, fakeCommand{line: n + 1, text: line})
			continue
		}
		if len(cmds) > 0 {
			cmds[len(cmds)-1].text += "\n" + line
		}
	}
	return cmds
}

var (
	declRE2      = regexp.MustCompile(`^(?:@\[[^\]]*\]\s*)?(?:(?:private|protected|noncomputable|nonrec)\s+)*(theorem|lemma|def|abbrev|axiom|instance)\s+([^\s:({\[]+)`)
	openInRE     = regexp.MustCompile(`^open\s+([^\n]*?)\s+in\b\s*`)
	setOptInRE   = regexp.MustCompile(`^set_option\s+\S+\s+\S+\s+in\b\s*`)
	wordRE       = regexp.MustCompile(`[\p{L}_][\p{L}\p{N}_'!?.₀-₉]*`)
	mulInstRE    = regexp.MustCompile(`instance\s*:\s*Add\s+(?:Nat|ℕ)\s*:=\s*⟨\s*Nat\.mul\s*⟩`)
	trivialProof = map[string]bool{"rfl": true, "by rfl": true, "trivial": true, "by trivial": true, "by decide": true}
)

// fakeElaborate "elaborates" a module by the script described above.
func fakeElaborate(code string, imported []fakeOlean) ([]fakeDecl, []fakeMsg) {
	var decls []fakeDecl
	var msgs []fakeMsg
	byName := map[string]*fakeDecl{}
	for _, o := range imported {
		for i := range o.Decls {
			byName[o.Decls[i].Name] = &o.Decls[i]
		}
	}
	var namespaces, opens []string
	mul := false
	var pendingOpens []string
	for _, c := range splitCommands(code) {
		text := strings.TrimSpace(c.text)
		local := pendingOpens
		pendingOpens = nil
		for {
			if m := openInRE.FindStringSubmatch(text); m != nil {
				local = append(local, strings.Fields(m[1])...)
				text = strings.TrimSpace(text[len(m[0]):])
				continue
			}
			if m := setOptInRE.FindString(text); m != "" {
				text = strings.TrimSpace(text[len(m):])
				continue
			}
			break
		}
		if text == "" {
			pendingOpens = local // `open X in` on a line of its own
			continue
		}
		fields := strings.Fields(text)
		switch fields[0] {
		case "import", "set_option", "variable", "universe", "example", "#check", "#print", "local", "scoped", "attribute", "noncomputable":
			if mulInstRE.MatchString(text) {
				mul = true
			}
			if fields[0] != "noncomputable" || len(fields) < 2 || fields[1] == "section" {
				continue
			}
		case "namespace":
			namespaces = append(namespaces, fields[1])
			continue
		case "section":
			namespaces = append(namespaces, "")
			continue
		case "end":
			if len(namespaces) > 0 {
				namespaces = namespaces[:len(namespaces)-1]
			}
			continue
		case "open":
			opens = append(opens, fields[1:]...)
			continue
		}
		if mulInstRE.MatchString(text) {
			mul = true
			continue
		}
		m := declRE2.FindStringSubmatchIndex(text)
		if m == nil {
			continue
		}
		kind, name := text[m[2]:m[3]], text[m[4]:m[5]]
		if kind == "instance" {
			continue
		}
		full := name
		if rest, ok := strings.CutPrefix(name, "_root_."); ok {
			full = rest
		} else if ns := strings.Join(nonEmpty(namespaces), "."); ns != "" {
			full = ns + "." + name
		}
		rest := text[m[5]:]
		sig, body, hasBody := strings.Cut(rest, ":=")
		if !hasBody {
			sig, body = rest, ""
		}
		typ := sigToType(sig)
		if mul {
			typ = strings.ReplaceAll(typ, " + ", " +[Nat.mul] ")
		}
		// Names resolve through the opened namespaces and the current ones.
		scope := append(append(append([]string{}, opens...), local...), nonEmpty(namespaces)...)
		for _, ns := range scope {
			for _, d := range decls {
				if short, ok := strings.CutPrefix(d.Name, ns+"."); ok {
					typ = replaceWord(typ, short, d.Name)
				}
			}
		}
		d := fakeDecl{Name: full, Type: typ, Axioms: []string{}}
		line, col := c.line, strings.Index(c.text, name)
		switch {
		case kind == "axiom":
			d.Axiom = true
			d.Axioms = []string{full}
		default:
			collapsed := strings.Join(strings.Fields(body), " ")
			if collapsed == "" || collapsed == "by" {
				msgs = append(msgs, fakeMsg{line: line, col: col, sev: "error", text: "unexpected end of input; expected '{'"})
				break
			}
			if thm, ok := simWorld[name]; ok && strings.HasPrefix(collapsed, "by ") && collapsed != "by sorry" {
				proof := strings.TrimPrefix(strings.TrimPrefix(strings.TrimLeft(body, " "), "by"), "\n")
				errs, ax := simProof(thm, proof)
				for _, e := range errs {
					msgs = append(msgs, fakeMsg{line: line, col: col, sev: "error", text: e})
				}
				d.Axioms = ax
				break
			}
			if strings.HasPrefix(collapsed, "by ") {
				// a tactic block ends at a command keyword: Lean's parser
				// reads no tactic there
				if kw := commandInTactics(body); kw != "" {
					msgs = append(msgs, fakeMsg{line: line, col: col, sev: "error", text: "unexpected token '" + kw + "'; expected '{' or tactic"})
					break
				}
			}
			words := wordRE.FindAllString(body, -1)
			ax := map[string]bool{}
			if !trivialProof[collapsed] {
				for _, a := range DefaultAxioms {
					ax[a] = true
				}
			}
			for _, w := range words {
				switch {
				case w == "sorry" || w == "admit":
					ax["sorryAx"] = true
				case w == "native_decide":
					ax["Lean.ofReduceBool"], ax["Lean.trustCompiler"] = true, true
				case strings.HasPrefix(w, "nonexistent_"):
					msgs = append(msgs, fakeMsg{line: line, col: col, sev: "error", text: "Unknown identifier `" + w + "`"})
				}
				for _, cand := range resolve(w, scope) {
					if h, ok := byName[cand]; ok {
						for _, a := range h.Axioms {
							ax[a] = true
						}
					}
				}
			}
			if ax["sorryAx"] {
				msgs = append(msgs, fakeMsg{line: line, col: col, sev: "warning", text: msgDeclUsesSorry})
			}
			for a := range ax {
				d.Axioms = append(d.Axioms, a)
			}
			sort.Strings(d.Axioms)
		}
		decls = append(decls, d)
		byName[full] = &decls[len(decls)-1]
		if len(decls) > 1 {
			// Re-point the map: append may have moved the slice.
			for i := range decls {
				byName[decls[i].Name] = &decls[i]
			}
		}
	}
	return decls, msgs
}

// commandInTactics returns the command keyword that opens a line of a
// tactic block's body, or "".
func commandInTactics(body string) string {
	for _, line := range strings.Split(body, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "theorem", "lemma", "def", "abbrev", "axiom", "instance", "example", "namespace", "section", "import":
			return f[0]
		}
	}
	return ""
}

// resolve lists the full names a word may denote in scope.
func resolve(w string, scope []string) []string {
	out := []string{strings.TrimPrefix(w, "_root_.")}
	for _, ns := range scope {
		out = append(out, ns+"."+w)
	}
	return out
}

// replaceWord replaces whole-word occurrences of old (not preceded by an
// identifier character or a dot) by new.
func replaceWord(s, old, new string) string {
	var sb strings.Builder
	for {
		i := strings.Index(s, old)
		if i < 0 {
			sb.WriteString(s)
			return sb.String()
		}
		before, _ := utf8Last(s[:i])
		after, _ := utf8First(s[i+len(old):])
		if (i > 0 && (isIdRest(before) || before == '.')) || isIdRest(after) {
			sb.WriteString(s[:i+len(old)])
			s = s[i+len(old):]
			continue
		}
		sb.WriteString(s[:i] + new)
		s = s[i+len(old):]
	}
}

func utf8Last(s string) (rune, int) {
	if s == "" {
		return -1, 0
	}
	r := []rune(s)
	return r[len(r)-1], 0
}

func utf8First(s string) (rune, int) {
	for _, r := range s {
		return r, 0
	}
	return -1, 0
}

// sigToType turns a declaration signature "(x : ℝ) (h : x = 2) : x + 1 = 3"
// into a type "∀ (x : ℝ) (h : x = 2), x + 1 = 3", whitespace collapsed.
func sigToType(sig string) string {
	sig = strings.Join(strings.Fields(sig), " ")
	depth := 0
	for i, r := range sig {
		switch r {
		case '(', '{', '[', '⦃':
			depth++
		case ')', '}', ']', '⦄':
			depth--
		case ':':
			if depth == 0 {
				binders := strings.TrimSpace(sig[:i])
				concl := strings.TrimSpace(sig[i+1:])
				if binders == "" {
					return concl
				}
				return "∀ " + binders + ", " + concl
			}
		}
	}
	return sig
}

var (
	cmpSameRE   = regexp.MustCompile(`^theorem llemma_same : type_of% @(\S+) = type_of% @_root_\.(\S+) := rfl$`)
	cmpCheckRE  = regexp.MustCompile(`^theorem llemma_check : type_of% @(\S+) := Eq\.mpr llemma_same @_root_\.(\S+)$`)
	cmpPrintRE  = regexp.MustCompile(`^#print "([^"]*)"$`)
	cmpCheckCmd = regexp.MustCompile(`^#check \(@_root_\.(\S+)\)$`)
	cmpAxiomsRE = regexp.MustCompile(`^#print axioms (\S+)$`)
)

// fakeCompare answers the harness's compare file from the imported
// oleans; a line of any other shape is a strictness failure.
func fakeCompare(code string, imported []fakeOlean) []fakeMsg {
	decls := map[string]fakeDecl{}
	for _, o := range imported {
		for _, d := range o.Decls {
			decls[d.Name] = d
		}
	}
	var msgs []fakeMsg
	errAt := func(n int, text string) { msgs = append(msgs, fakeMsg{line: n, col: 0, sev: "error", text: text}) }
	info := func(text string) { msgs = append(msgs, fakeMsg{sev: "info", text: text}) }
	sameOK, defined := false, map[string][]string{}
	for n0, line := range strings.Split(code, "\n") {
		n := n0 + 1
		line = strings.TrimSpace(line)
		switch {
		case line == "" || importRE.MatchString(line) || line == "set_option pp.fullNames true":
		case cmpSameRE.MatchString(line):
			m := cmpSameRE.FindStringSubmatch(line)
			c, okc := decls[m[1]]
			s, oks := decls[m[2]]
			switch {
			case !okc:
				errAt(n, "Unknown identifier `"+m[1]+"`")
			case !oks:
				errAt(n, "Unknown identifier `_root_."+m[2]+"`")
			case c.Type != s.Type:
				errAt(n, fmt.Sprintf("type mismatch\n  rfl\nhas type\n  %s = %s : Prop\nbut is expected to have type\n  %s = %s : Prop", c.Type, c.Type, c.Type, s.Type))
			default:
				sameOK = true
			}
			defined["llemma_same"] = []string{}
		case cmpCheckRE.MatchString(line):
			m := cmpCheckRE.FindStringSubmatch(line)
			s, ok := decls[m[2]]
			if !ok {
				errAt(n, "Unknown identifier `_root_."+m[2]+"`")
				defined["llemma_check"] = []string{"sorryAx"}
				continue
			}
			ax := slices.Clone(s.Axioms)
			if !sameOK && !slices.Contains(ax, "sorryAx") {
				ax = append(ax, "sorryAx") // llemma_same was added with sorry
			}
			defined["llemma_check"] = ax
		case cmpPrintRE.MatchString(line):
			info(cmpPrintRE.FindStringSubmatch(line)[1])
		case cmpCheckCmd.MatchString(line):
			name := cmpCheckCmd.FindStringSubmatch(line)[1]
			d, ok := decls[name]
			if !ok {
				errAt(n, "Unknown identifier `_root_."+name+"`")
				continue
			}
			info(name + " : " + d.Type)
		case cmpAxiomsRE.MatchString(line):
			target := cmpAxiomsRE.FindStringSubmatch(line)[1]
			ax, ok := defined[target]
			shown := target
			if !ok {
				name := strings.TrimPrefix(target, "_root_.")
				d, found := decls[name]
				if !found || name == target {
					errAt(n, "Unknown constant `"+target+"`")
					continue
				}
				ax, shown = d.Axioms, name
			}
			info(axiomLine(shown, ax))
		default:
			errAt(n, "unexpected command (the fake lean accepts only the harness's compare file): "+line)
			logStart(toolStart{Pid: os.Getpid(), Tool: "lean", Strict: "compare line not in the harness's format: " + line})
		}
	}
	return msgs
}

// axiomLine prints #print axioms as Lean does: sorted, and wrapped at 120
// columns with a one-space indent (assumed) when long.
func axiomLine(name string, ax []string) string {
	if len(ax) == 0 {
		return "'" + name + "' does not depend on any axioms"
	}
	ax = slices.Clone(ax)
	sort.Strings(ax)
	flat := "'" + name + "' depends on axioms: [" + strings.Join(ax, ", ") + "]"
	if len([]rune(flat)) <= 120 {
		return flat
	}
	return "'" + name + "' depends on axioms: [" + strings.Join(ax, ",\n ") + "]"
}

// ---- tests of the double itself ----

// TestFakeLeanIsStrict: the double fails where real lean would, so the
// verifier's tests cannot pass by a missing build step or a wrong argv.
func TestFakeLeanIsStrict(t *testing.T) {
	t.Parallel()
	f := newFakeTC(t)
	lean := filepath.Join(f.tc, "bin", "lean")
	job := t.TempDir()
	write := func(sub, name, src string) string {
		d := filepath.Join(job, sub)
		os.MkdirAll(d, 0o755)
		p := filepath.Join(d, name)
		os.WriteFile(p, []byte(src), 0o644)
		return p
	}
	mathlib := filepath.Join(f.project, ".lake", "packages", "mathlib", ".lake", "build", "lib")
	run := func(dir string, env []string, args ...string) (toolResult, error) {
		return runTool(t.Context(), toolRun{Path: lean, Args: args, Dir: dir, Env: append(env, "LLEMMA_FAKE_TOOLCHAIN="+f.tc, "LLEMMA_FAKE_TOOL_LOG="+f.log), Timeout: 20 * time.Second})
	}
	sol := write("solution", "LlemmaSolution.lean", "import Mathlib\n\ntheorem t : 1 + 1 = 2 := by norm_num\n")
	cmp := write("compare", "LlemmaCompare.lean", compareSource("t", false, []string{"m1", "m2", "m3"}))
	path := "LEAN_PATH=" + mathlib
	cases := []struct {
		name     string
		dir      string
		env      []string
		args     []string
		wantExit int
		wantOut  string
	}{
		{"wrong working directory", job, []string{path}, []string{"-o", filepath.Join(job, "solution", "LlemmaSolution.olean"), sol}, 1, ""},
		{"no LEAN_PATH", filepath.Dir(sol), nil, []string{sol}, 1, ""},
		{"-o directory missing", filepath.Dir(sol), []string{path}, []string{"-o", filepath.Join(job, "nowhere", "LlemmaSolution.olean"), sol}, 1, ""},
		{"extra flag", filepath.Dir(sol), []string{path}, []string{"--json", sol}, 1, ""},
		{"compare before the solution was built", filepath.Dir(cmp), []string{"LEAN_PATH=" + filepath.Join(job, "solution") + ":" + mathlib}, []string{cmp}, 1, "unknown module prefix 'LlemmaSolution'"},
		{"solution builds", filepath.Dir(sol), []string{path}, []string{"-o", filepath.Join(job, "solution", "LlemmaSolution.olean"), sol}, 0, ""},
		{"compare after the build", filepath.Dir(cmp), []string{"LEAN_PATH=" + filepath.Join(job, "solution") + ":" + mathlib}, []string{cmp}, 0, "'t' depends on axioms: [Classical.choice, Quot.sound, propext]"},
	}
	for _, tc := range cases { // in order: the build comes before the last case
		res, err := run(tc.dir, tc.env, tc.args...)
		if err != nil || res.Exit != tc.wantExit || !strings.Contains(res.Stdout, tc.wantOut) {
			t.Errorf("%s: exit %d, stdout %q, err %v; want exit %d with %q", tc.name, res.Exit, res.Stdout, err, tc.wantExit, tc.wantOut)
		}
	}
	all, err := readStarts(f.log)
	if err != nil {
		t.Fatal(err)
	}
	strict := 0
	for _, s := range all {
		if s.Strict != "" {
			strict++
		}
	}
	if strict != 4 {
		t.Errorf("the double refused %d calls, want 4 (the four malformed ones): %+v", strict, all)
	}
}
