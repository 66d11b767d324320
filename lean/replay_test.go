package lean

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/internal/proctest"
	"github.com/llemma-prove/llemma-prove/prover"
)

// sharedDir locates ../shared from the repository root (tests run in the
// package directory) or skips.
func sharedDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "shared"))
	if err == nil {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
	}
	t.Skipf("skipping: %s is absent (the shared fixtures and data live next to the repository, at ../shared)", dir)
	return ""
}

func fixtureBases(t testing.TB) []string {
	dir := filepath.Join(sharedDir(t), "fixtures", "lean-repl")
	var bases []string
	for _, pat := range []string{"*.in", "Mathlib/*.in"} {
		m, err := filepath.Glob(filepath.Join(dir, pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			bases = append(bases, strings.TrimSuffix(f, ".in"))
		}
	}
	sort.Strings(bases)
	if len(bases) != 71 {
		t.Fatalf("found %d fixture pairs, want 71 (55 core + 16 Mathlib)", len(bases))
	}
	return bases
}

// typedRequest builds the client's typed request for a recorded request,
// by the REPL's dispatch order (reference §3).
func typedRequest(t testing.TB, m map[string]any) any {
	t.Helper()
	str := func(k string) (string, bool) { s, ok := m[k].(string); return s, ok }
	num := func(k string) (int, bool) { f, ok := m[k].(float64); return int(f), ok }
	optEnv := func() *int {
		if n, ok := num("env"); ok {
			return Env(n)
		}
		return nil
	}
	flag := func(k string) bool { b, _ := m[k].(bool); return b }
	if tac, ok := str("tactic"); ok {
		if ps, ok := num("proofState"); ok {
			return TacticRequest{Tactic: tac, ProofState: ps}
		}
	}
	if to, ok := str("pickleTo"); ok {
		if env, ok := num("env"); ok {
			return PickleEnvRequest{PickleTo: to, Env: env}
		}
	}
	if from, ok := str("unpickleEnvFrom"); ok {
		return UnpickleEnvRequest{UnpickleEnvFrom: from}
	}
	if to, ok := str("pickleTo"); ok {
		if ps, ok := num("proofState"); ok {
			return PickleProofStateRequest{PickleTo: to, ProofState: ps}
		}
	}
	if from, ok := str("unpickleProofStateFrom"); ok {
		return UnpickleProofStateRequest{UnpickleProofStateFrom: from, Env: optEnv()}
	}
	if cmd, ok := str("cmd"); ok {
		it, _ := str("infotree")
		return CommandRequest{Cmd: cmd, Env: optEnv(), AllTactics: flag("allTactics"), RootGoals: flag("rootGoals"), InfoTree: it}
	}
	if path, ok := str("path"); ok {
		it, _ := str("infotree")
		return FileRequest{Path: path, Env: optEnv(), AllTactics: flag("allTactics"), RootGoals: flag("rootGoals"), InfoTree: it}
	}
	t.Fatalf("no request shape matches %v", m)
	return nil
}

// replFrame applies the REPL's input framing to bytes and returns the
// requests it would parse.
func replFrame(b []byte) []string {
	var out []string
	br := bufio.NewReader(bytes.NewReader(b))
	for {
		text, _, err := replReadRequest(br)
		if err != nil {
			return out
		}
		out = append(out, text)
	}
}

func jsonValue(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("unmarshal %q: %v", b, err)
	}
	return v
}

// fakeConfig runs the double mode as the REPL (env: its settings).
func fakeConfig(mode string, env ...string) Config {
	argv, penv := proctest.Argv(mode)
	return Config{
		Repl:           argv,
		MemoryLimit:    -1, // the race detector's shadow memory does not fit in RLIMIT_AS
		Env:            append(penv, env...),
		StartTimeout:   10 * time.Second,
		RequestTimeout: 10 * time.Second,
		grace:          500 * time.Millisecond,
	}
}

// startFake starts the REPL of cfg (defaults applied) with no header, and
// closes it at the end of the test.
func startFake(t testing.TB, cfg Config) *repl {
	t.Helper()
	c := cfg.withDefaults()
	r, err := startREPL(t.Context(), &c, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.p.Close() })
	return r
}

// TestFixturesReplay replays every recorded exchange through the client:
// the double checks each request (parsed JSON, one line plus a blank line)
// and serves the recorded bytes; the client must decode every response to a
// typed value that re-encodes to the same JSON.
func TestFixturesReplay(t *testing.T) {
	bases := fixtureBases(t)
	total := 0
	for _, base := range bases {
		name := filepath.Base(base)
		if filepath.Base(filepath.Dir(base)) == "Mathlib" {
			name = "Mathlib/" + filepath.Base(base)
		}
		pairs, err := loadFixture(base)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		total += len(pairs)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pr := startFake(t, fakeConfig("replay", "LLEMMA_FAKE_LEAN_FIXTURE="+base))
			for i, pair := range pairs {
				recorded := jsonValue(t, []byte(pair.Request)).(map[string]any)
				req := typedRequest(t, recorded)

				// The client's bytes: one JSON line plus a blank line, which
				// the REPL's framing turns back into exactly that JSON.
				var buf bytes.Buffer
				if err := EncodeRequest(&buf, req); err != nil {
					t.Fatal(err)
				}
				wire := buf.Bytes()
				if !bytes.HasSuffix(wire, []byte("}\n\n")) || bytes.Count(wire, []byte("\n")) != 2 {
					t.Fatalf("request %d: wire bytes %q are not one line plus a blank line", i, wire)
				}
				if fr := replFrame(wire); len(fr) != 1 || fr[0] != string(wire[:len(wire)-1]) {
					t.Fatalf("request %d: framing %q gives %q", i, wire, fr)
				}
				if got := jsonValue(t, wire); !reflect.DeepEqual(got, any(recorded)) {
					t.Fatalf("request %d: encoded %s, recorded %s", i, wire, pair.Request)
				}

				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				resp, err := pr.roundTrip(ctx, req, limit{what: "replaying a fixture", name: "request timeout", d: 20 * time.Second})
				cancel()
				if err != nil {
					t.Fatalf("request %d (%s): %v", i, pair.Request, err)
				}
				var typed any
				switch resp.Kind {
				case KindError:
					typed = resp.Error
				case KindCommand:
					typed = resp.Command
				case KindProofStep:
					typed = resp.ProofStep
				}
				re, err := json.Marshal(typed)
				if err != nil {
					t.Fatal(err)
				}
				if got, want := jsonValue(t, re), jsonValue(t, []byte(pair.Response)); !reflect.DeepEqual(got, want) {
					t.Errorf("response %d does not round-trip through %T:\n got %s\nwant %s", i, typed, re, pair.Response)
				}
				// The simulator's printer must match the REPL's bytes.
				d := json.NewDecoder(strings.NewReader(pair.Response))
				d.UseNumber()
				var v any
				if err := d.Decode(&v); err != nil {
					t.Fatal(err)
				}
				if got := renderLean(v); got != pair.Response {
					t.Errorf("response %d: pretty printer differs:\n got %q\nwant %q", i, got, pair.Response)
				}
			}
			// All requests served: EOF on stdin makes the double exit 0,
			// which Close reports as success.
			if err := pr.p.Close(); err != nil {
				t.Fatalf("double did not exit cleanly after stdin EOF: %v", err)
			}
		})
	}
	if total != 217 {
		t.Errorf("replayed %d responses, want 217", total)
	}
}

// TestReplayDoubleRejectsWrongRequest: the double is strict, and the client
// sees its complaint as a dead process with the stderr tail.
func TestReplayDoubleRejectsWrongRequest(t *testing.T) {
	base := filepath.Join(sharedDir(t), "fixtures", "lean-repl", "readme")
	pr := startFake(t, fakeConfig("replay", "LLEMMA_FAKE_LEAN_FIXTURE="+base))
	_, err := pr.roundTrip(context.Background(), CommandRequest{Cmd: "def f (x : Unit) : Nat := by rfl"}, limit{what: "a command", name: "request timeout", d: 10 * time.Second})
	var ee *prover.ExitError
	if !errors.As(err, &ee) || !errors.Is(err, prover.ErrProcessDied) {
		t.Fatalf("err = %v, want a *prover.ExitError", err)
	}
	if !strings.Contains(ee.StderrTail, "request 0 differs") || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("err = %v, want the double's complaint and its exit status", err)
	}
	if pr.usable() {
		t.Error("a process that died under a request is still usable")
	}
}

// TestReplayDoubleWithoutFixture: the double refuses to serve what was
// never recorded (it needs no fixture to say so, so this runs without
// ../shared too); the client sees a dead process with the complaint.
func TestReplayDoubleWithoutFixture(t *testing.T) {
	t.Parallel()
	pr := startFake(t, fakeConfig("replay", "LLEMMA_FAKE_LEAN_FIXTURE="+filepath.Join(t.TempDir(), "absent")))
	_, err := pr.roundTrip(t.Context(), CommandRequest{Cmd: "#eval 1"}, limit{what: "a command", name: "request timeout", d: 10 * time.Second})
	var ee *prover.ExitError
	if !errors.As(err, &ee) || !strings.Contains(ee.StderrTail, "replay: open") || !strings.Contains(err.Error(), "exit status 2") {
		t.Fatalf("err = %v, want a *prover.ExitError with the double's complaint and exit status 2", err)
	}
}
