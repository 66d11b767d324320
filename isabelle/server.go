package isabelle

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proc"
	"github.com/llemma-prove/llemma-prove/internal/sandbox"
	"github.com/llemma-prove/llemma-prove/prover"
)

var serverLine = regexp.MustCompile(`^server "([^"]*)" = (127\.0\.0\.1:\d+) \(password "([^"]*)"\)$`)

// ServerInfo is what `isabelle server` prints on its first line.
type ServerInfo struct {
	Name, Address, Password string
}

// ParseServerLine parses `server "NAME" = 127.0.0.1:PORT (password "PW")`.
func ParseServerLine(line string) (ServerInfo, bool) {
	m := serverLine.FindStringSubmatch(strings.TrimRight(line, "\r\n"))
	if m == nil {
		return ServerInfo{}, false
	}
	return ServerInfo{Name: m[1], Address: m[2], Password: m[3]}, true
}

// BudgetError is a wait of the backend (a server start, a connection, a
// session_start, a use_theories task, a cancel) that outlived its bound:
// the budget of the Config, or the caller's deadline when that came
// first. errors.Is(err, context.DeadlineExceeded) holds, and so does
// errors.Is(err, cause) for the cause of the caller's context.
type BudgetError struct {
	Wait    string        // what was waited for, e.g. "isabelle server start (its server line)"
	Budget  time.Duration // the bound that applied
	Caller  bool          // the bound was the caller's deadline, not the Config's budget
	Elapsed time.Duration // how long the wait lasted
	Err     error         // the cause of the ended context
}

// Error reads "isabelle server start (its server line): gave up after
// 1.002s (start budget 1s)".
func (e *BudgetError) Error() string {
	src := fmt.Sprintf("budget %v", e.Budget)
	if e.Caller {
		src = fmt.Sprintf("the caller's deadline, %v after the wait began", e.Budget.Round(time.Millisecond))
	}
	return fmt.Sprintf("%s: gave up after %v (%s)", e.Wait, e.Elapsed.Round(time.Millisecond), src)
}

// Unwrap returns the cause and context.DeadlineExceeded.
func (e *BudgetError) Unwrap() []error { return []error{e.Err, context.DeadlineExceeded} }

// bound is one wait: the Config's budget limit, or the caller's deadline
// when it is sooner.
type bound struct {
	what   string
	start  time.Time
	budget time.Duration
	caller bool
}

// within derives the context of one wait, what, from ctx and limit, a
// budget of the Config; cause (nil: context.DeadlineExceeded) is the
// context's cause when limit is reached.
func within(ctx context.Context, what string, limit time.Duration, cause error) (context.Context, context.CancelFunc, bound) {
	bd := bound{what: what, start: time.Now(), budget: limit}
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left < limit {
			bd.budget, bd.caller = max(left, 0), true
		}
	}
	if cause == nil {
		cause = context.DeadlineExceeded
	}
	cctx, cancel := context.WithTimeoutCause(ctx, limit, cause)
	return cctx, cancel, bd
}

// ended describes why the wait's context wctx (from within, on parent)
// ended: a *BudgetError at a deadline, the caller's cause when the caller
// canceled.
func (bd bound) ended(parent, wctx context.Context) error {
	elapsed := time.Since(bd.start)
	if err := parent.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: canceled after %v: %w", bd.what, elapsed.Round(time.Millisecond), context.Cause(parent))
	}
	be := &BudgetError{Wait: bd.what, Budget: bd.budget, Caller: bd.caller, Elapsed: elapsed, Err: context.Cause(wctx)}
	if parent.Err() != nil {
		be.Caller, be.Err = true, context.Cause(parent)
	}
	if be.Err == nil {
		// a network deadline set from the same instant fired first
		be.Err = context.DeadlineExceeded
	}
	return be
}

// server is an `isabelle server` process this backend started, supervised
// by internal/proc (own process group, parent-death signal, stderr tail,
// group kill, RSS of the tree) and, unless Config.Unconfined, confined by
// internal/sandbox.
type server struct {
	p       *proc.Process
	info    ServerInfo
	sandbox string // what confines it: proc.Process.Sandbox
}

// died is the server's death (or kill, with reason) as the prover's typed
// error: a *prover.ExitError with the exit status and the stderr tail. It
// waits up to the process's grace for the reaper: call it after Kill or
// once the process is known to have exited.
func (s *server) died(reason error) error {
	err := s.p.Err(reason)
	var pe *proc.ExitError
	if errors.As(err, &pe) {
		return &prover.ExitError{Backend: "isabelle", Err: pe.Err, StderrTail: pe.StderrTail}
	}
	return &prover.ExitError{Backend: "isabelle", Err: err}
}

// stop kills the server's process group and reaps it; its error is the
// death as died reports it.
func (s *server) stop(reason error) error {
	s.p.Kill(reason)
	_ = s.p.Close()
	return s.died(reason)
}

// startOutput is what the server printed on stdout instead of its server
// line, kept for the error (at most junkMax bytes, junkLines lines).
type startOutput struct {
	mu    sync.Mutex
	junk  []byte
	lines int
}

const (
	junkMax   = 512
	junkLines = 16 // a server that prints this many other lines first is not one
)

func (o *startOutput) add(b []byte) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	if room := junkMax - len(o.junk); room > 0 {
		o.junk = append(o.junk, b[:min(len(b), room)]...)
	}
	if len(b) > 0 && b[len(b)-1] == '\n' {
		o.lines++
	}
	return o.lines
}

func (o *startOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return strings.TrimSpace(strings.ToValidUTF8(string(o.junk), "\uFFFD"))
}

// watchStdout reads the server's stdout: the first server line goes to
// found, other output to out (the first junkLines lines; then tooMuch is
// closed); after the line, everything is discarded, so the server never
// blocks on a full pipe. It returns at EOF, or when the pipe is closed or
// its read deadline moved by Kill.
func watchStdout(r io.Reader, found chan<- ServerInfo, out *startOutput, tooMuch chan<- struct{}) {
	br := bufio.NewReaderSize(r, 4096)
	closed := false
	for {
		line, err := br.ReadSlice('\n')
		if err == nil {
			if info, ok := ParseServerLine(string(line)); ok {
				found <- info
				break
			}
		}
		if n := out.add(line); n >= junkLines && !closed {
			close(tooMuch)
			closed = true
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return
		}
	}
	_, _ = io.Copy(io.Discard, br)
}

// startServer starts the server process of spec and waits for its server
// line within ctx (bd describes the bound, for messages). A server that
// exits, prints something else, or stays silent past the bound is killed
// with its process group; the error is a *prover.ExitError with the
// stderr tail (and, past the bound, a *BudgetError inside).
func startServer(parent, ctx context.Context, bd bound, spec proc.Spec) (*server, error) {
	p, err := proc.Start(ctx, spec)
	if err != nil {
		if ctx.Err() != nil {
			return nil, bd.ended(parent, ctx)
		}
		var se *proc.StartError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("%w: %w", prover.ErrUnavailable, err)
		}
		return nil, err
	}
	s := &server{p: p, sandbox: p.Sandbox()}
	found := make(chan ServerInfo, 1)
	out := &startOutput{}
	tooMuch := make(chan struct{})
	eof := make(chan struct{})
	go func() {
		defer close(eof)
		watchStdout(p.Stdout(), found, out, tooMuch)
	}()
	printed := func() string {
		if j := out.String(); j != "" {
			return fmt.Sprintf("; it printed %q instead", j)
		}
		return ""
	}
	select {
	case s.info = <-found:
		return s, nil
	case <-p.Done():
		// The line may have been read just before the exit, as when
		// `isabelle server -n NAME` hands over a server already running
		// under that name and exits.
		select {
		case <-eof:
		case <-time.After(spec.Grace):
		}
		select {
		case s.info = <-found:
			return s, nil
		default:
		}
		return nil, s.died(fmt.Errorf("the server exited %v after it started, before printing its server line%s",
			time.Since(bd.start).Round(time.Millisecond), printed()))
	case <-tooMuch:
		return nil, s.stop(fmt.Errorf("the server printed %d lines on stdout, none of them its server line%s", junkLines, printed()))
	case <-ctx.Done():
		err := bd.ended(parent, ctx)
		return nil, s.stop(fmt.Errorf("%w%s", err, printed()))
	}
}

// installation is where the Isabelle the server runs lives: what its
// sandbox lets it read (Home) and write (HomeUser).
type installation struct {
	Home     string // ISABELLE_HOME: the distribution, read-only
	HomeUser string // ISABELLE_HOME_USER: preferences, heaps, servers.db, read-write
	Tool     string // the server command's program, resolved
	Source   string // how the paths were found, for logs and VERIFY.md
}

// findInstallation asks the installation where it lives. When the server
// command is `TOOL server ...`, TOOL is the isabelle tool and
// `TOOL getenv -b ISABELLE_HOME ISABELLE_HOME_USER` prints the two paths
// as the server's own settings compute them (lib/Tools/getenv prints one
// value per line with -b). Otherwise, or when that fails, the paths are
// guessed: ISABELLE_HOME is the parent of the program's bin/ directory
// (the program's directory if it is not in a bin/), ISABELLE_HOME_USER
// is ~/.isabelle (which holds every version's).
func findInstallation(ctx context.Context, cfg *Config) (installation, error) {
	tool, err := exec.LookPath(cfg.Server[0])
	if err != nil {
		return installation{}, err
	}
	if r, err := filepath.EvalSymlinks(tool); err == nil {
		tool = r
	}
	if tool, err = filepath.Abs(tool); err != nil {
		return installation{}, err
	}
	in := installation{Tool: tool}
	if len(cfg.Server) >= 2 && cfg.Server[1] == "server" {
		res, err := proc.Run(ctx, proc.Spec{
			Name: "isabelle getenv",
			Argv: []string{cfg.Server[0], "getenv", "-b", "ISABELLE_HOME", "ISABELLE_HOME_USER"},
			Env:  cfg.Env,
		}, 0)
		lines := strings.Split(strings.TrimRight(string(res.Stdout), "\n"), "\n")
		if err == nil && len(lines) == 2 && filepath.IsAbs(lines[0]) && filepath.IsAbs(lines[1]) {
			in.Home, in.HomeUser, in.Source = filepath.Clean(lines[0]), filepath.Clean(lines[1]), "isabelle getenv"
			return in, nil
		}
		if ctx.Err() != nil {
			return installation{}, fmt.Errorf("asking the installation for its paths: %w", context.Cause(ctx))
		}
		cfg.Log.Warn("isabelle getenv failed; guessing the paths the server's sandbox allows", "err", err, "stdout", clip(string(res.Stdout), 200))
	}
	dir := filepath.Dir(tool)
	in.Home = dir
	if filepath.Base(dir) == "bin" {
		in.Home = filepath.Dir(dir)
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return installation{}, fmt.Errorf("finding ~/.isabelle: %w", err)
	}
	in.HomeUser, in.Source = filepath.Join(home, ".isabelle"), "guessed"
	return in, nil
}

// serverPolicy is the Landlock policy of a server this backend starts, and
// the environment it runs with. See VERIFY.md §3 for what it does and
// does not confine. The server may write only ISABELLE_HOME_USER, the
// work directory (theory files, the final check's job directories) and a
// temporary directory of its own inside it (TMPDIR, which Isabelle's
// settings make the parent of ISABELLE_TMP_PREFIX, so session tmp_dirs go
// there); it may read the system (sandbox.SystemReadOnly), the Isabelle
// installation, ~/.isabelle (components, settings), the session
// directories (Config.Dirs, when they are plain paths) and the cgroup
// tree (the JVM sizes itself from it). The network is not restricted: the
// server listens on TCP.
func serverPolicy(ctx context.Context, cfg *Config, workDir string) (*sandbox.Policy, []string, installation, error) {
	in, err := findInstallation(ctx, cfg)
	if err != nil {
		return nil, nil, in, err
	}
	if err := os.MkdirAll(in.HomeUser, 0o755); err != nil {
		return nil, nil, in, fmt.Errorf("creating ISABELLE_HOME_USER: %w", err)
	}
	tmp := filepath.Join(workDir, serverTmp)
	if err := os.MkdirAll(tmp, 0o700); err != nil {
		return nil, nil, in, fmt.Errorf("creating the server's temporary directory: %w", err)
	}
	ro := append(sandbox.SystemReadOnly(), in.Home, filepath.Dir(in.Tool), "/sys/fs/cgroup")
	if home, err := os.UserHomeDir(); err == nil {
		ro = append(ro, filepath.Join(home, ".isabelle"))
	}
	for _, d := range cfg.Dirs {
		if !strings.Contains(d, "$") && !strings.HasPrefix(d, "~") {
			ro = append(ro, d)
		}
	}
	ro = append(ro, cfg.Readable...)
	rw := append([]string{in.HomeUser, workDir}, cfg.Writable...)
	return &sandbox.Policy{ReadOnly: ro, ReadWrite: rw}, []string{"TMPDIR=" + tmp}, in, nil
}

// serverTmp is the server's own temporary directory, inside the work
// directory.
const serverTmp = ".server-tmp"
