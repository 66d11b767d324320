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

func fakeConfig(mode string, env ...string) Config {
	exe, _ := os.Executable()
	return Config{
		Repl:        []string{exe},
		MemoryLimit: -1, // the race detector's shadow memory does not fit in RLIMIT_AS
		// A race-instrumented fake sleeps 1 s at exit unless told not to.
		Env:            append([]string{"LLEMMA_FAKE_LEAN=" + mode, "GORACE=" + strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0")}, env...),
		StartTimeout:   10 * time.Second,
		RequestTimeout: 10 * time.Second,
	}
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
			cfg := fakeConfig("replay", "LLEMMA_FAKE_LEAN_FIXTURE="+base).withDefaults()
			pr, err := startProcess(&cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer pr.close(time.Second)
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
				resp, err := pr.roundTrip(ctx, req, 20*time.Second)
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
			// All requests served: EOF on stdin makes the double exit 0.
			_ = pr.stdin.Close()
			select {
			case <-pr.done:
			case <-time.After(10 * time.Second):
				t.Fatal("double did not exit after stdin EOF")
			}
			if pr.waitErr != nil {
				t.Fatalf("double exited with %v: %s", pr.waitErr, pr.stderrTail())
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
	cfg := fakeConfig("replay", "LLEMMA_FAKE_LEAN_FIXTURE="+base).withDefaults()
	pr, err := startProcess(&cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.close(time.Second)
	_, err = pr.roundTrip(context.Background(), CommandRequest{Cmd: "def f (x : Unit) : Nat := by rfl"}, 10*time.Second)
	var ee *prover.ExitError
	if !errors.As(err, &ee) || !errors.Is(err, prover.ErrProcessDied) {
		t.Fatalf("err = %v, want a *prover.ExitError", err)
	}
	if !strings.Contains(ee.StderrTail, "request 0 differs") {
		t.Errorf("stderr tail = %q, want the double's complaint", ee.StderrTail)
	}
}
