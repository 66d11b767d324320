package lean

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEncodeRequestFraming(t *testing.T) {
	t.Parallel()
	tests := []struct {
		req  any
		want string
	}{
		{CommandRequest{Cmd: "theorem foo : 1 = 1 := by\n  rfl", Env: Env(0)},
			`{"cmd":"theorem foo : 1 = 1 := by\n  rfl","env":0}` + "\n\n"},
		{TacticRequest{Tactic: "exact ⟨h₀, fun x => x < 2 && x > 1⟩", ProofState: 3},
			`{"tactic":"exact ⟨h₀, fun x => x < 2 && x > 1⟩","proofState":3}` + "\n\n"},
		{CommandRequest{Cmd: "import Mathlib"}, `{"cmd":"import Mathlib"}` + "\n\n"},
		{CommandRequest{Cmd: "a\tb\r\n\n\n"}, `{"cmd":"a\tb\r\n\n\n"}` + "\n\n"},
		{UnpickleProofStateRequest{UnpickleProofStateFrom: "x.olean"}, `{"unpickleProofStateFrom":"x.olean"}` + "\n\n"},
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		if err := EncodeRequest(&buf, tc.req); err != nil {
			t.Fatal(err)
		}
		if buf.String() != tc.want {
			t.Errorf("EncodeRequest(%#v) = %q, want %q", tc.req, buf.String(), tc.want)
		}
		// The REPL's framing returns the JSON unchanged.
		if fr := replFrame(buf.Bytes()); len(fr) != 1 || fr[0] != strings.TrimSuffix(tc.want, "\n") {
			t.Errorf("framing of %q = %q", buf.String(), fr)
		}
	}
}

func TestReadResponse(t *testing.T) {
	t.Parallel()
	in := "{\"env\":\n 0}\n\n{\"env\": 1}\n\n{\"env\": 2}\n"
	br := bufio.NewReader(strings.NewReader(in))
	for _, want := range []string{"{\"env\":\n 0}\n", "{\"env\": 1}\n"} {
		got, err := ReadResponse(br, 1<<10)
		if err != nil || string(got) != want {
			t.Fatalf("ReadResponse = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := ReadResponse(br, 1<<10); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated response: err = %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := ReadResponse(bufio.NewReader(strings.NewReader("")), 10); err != io.EOF {
		t.Fatalf("empty stream: err = %v, want io.EOF", err)
	}
	big := strings.Repeat("x", 100) + "\n\n"
	if _, err := ReadResponse(bufio.NewReaderSize(strings.NewReader(big), 16), 50); !errors.Is(err, ErrResponseTooLarge) {
		t.Fatalf("oversized: err = %v, want ErrResponseTooLarge", err)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, resp string
		want       StepVerdict
	}{
		{"completed", `{"proofStatus": "Completed", "proofState": 2, "goals": []}`, StepVerdictProved},
		{"completed with info", `{"proofStatus": "Completed", "proofState": 2, "goals": [], "messages": [{"severity": "info", "pos": {"line": 0, "column": 0}, "endPos": null, "data": "Try this: exact h"}]}`, StepVerdictProved},
		{"open", `{"proofStatus": "Incomplete: open goals remain", "proofState": 1, "goals": ["⊢ Nat"]}`, StepVerdictOpen},
		{"trap", `{"proofStatus": "Incomplete: contains sorry", "proofState": 1, "messages": [{"severity": "error", "pos": {"line": 0, "column": 0}, "endPos": {"line": 0, "column": 0}, "data": "Unknown identifier"}], "goals": []}`, StepVerdictFailed},
		{"completed but error", `{"proofStatus": "Completed", "proofState": 1, "messages": [{"severity": "error", "pos": {"line": 0, "column": 0}, "data": "x"}], "goals": []}`, StepVerdictFailed},
		{"sorry", `{"proofStatus": "Incomplete: contains sorry", "proofState": 2, "goals": []}`, StepVerdictFailed},
		{"mvars", `{"proofStatus": "Incomplete: contains metavariable(s)", "proofState": 2, "goals": []}`, StepVerdictFailed},
		{"kernel", `{"proofStatus": "Error: kernel type check failed: (kernel) bad", "proofState": 2, "goals": []}`, StepVerdictFailed},
		{"error", `{"message": "Lean error:\n<input>:1:1: unknown tactic"}`, StepVerdictFailed},
		{"open with error", `{"proofStatus": "Incomplete: open goals remain", "proofState": 1, "goals": ["⊢ Nat"], "messages": [{"severity": "error", "pos": {"line": 0, "column": 0}, "data": "x"}]}`, StepVerdictFailed},
		{"command", `{"env": 0}`, StepVerdictFailed},
	}
	for _, tc := range tests {
		r, err := DecodeResponse([]byte(tc.resp))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got, why := Classify(r); got != tc.want {
			t.Errorf("%s: Classify = %v (%s), want %v", tc.name, got, why, tc.want)
		}
	}
}

func TestDecodeResponseRejects(t *testing.T) {
	t.Parallel()
	for _, s := range []string{``, `null`, `[]`, `"x"`, `{}`, `{"proofStatus": "Completed"}`,
		`{"proofStatus": "Completed", "proofState": 1, "goals": null}`, `{"env": "0"}`, `PANIC`} {
		if _, err := DecodeResponse([]byte(s)); !errors.Is(err, ErrBadResponse) {
			t.Errorf("DecodeResponse(%q) err = %v, want ErrBadResponse", s, err)
		}
	}
}

// FuzzDecodeResponse: no panic; a decoded response re-encodes to JSON that
// decodes to the same kind.
func FuzzDecodeResponse(f *testing.F) {
	dir := filepath.Join("..", "..", "shared", "fixtures", "lean-repl")
	outs, _ := filepath.Glob(filepath.Join(dir, "*.expected.out"))
	more, _ := filepath.Glob(filepath.Join(dir, "Mathlib", "*.expected.out"))
	for _, o := range append(outs, more...) {
		b, err := os.ReadFile(o)
		if err != nil {
			continue
		}
		for _, r := range strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
			f.Add([]byte(r))
		}
	}
	f.Add([]byte(`{"message": "Unknown proof state."}`))
	f.Add([]byte(`{"proofStatus": "Completed", "proofState": 2, "goals": []}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeResponse(b)
		if err != nil {
			return
		}
		_, _ = Classify(r)
		var v any
		switch r.Kind {
		case KindError:
			v = r.Error
		case KindCommand:
			v = r.Command
		case KindProofStep:
			v = r.ProofStep
		default:
			t.Fatalf("decoded kind %v", r.Kind)
		}
		re, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := DecodeResponse(re)
		if err != nil || r2.Kind != r.Kind {
			t.Fatalf("re-encoded %s: kind %v err %v, want kind %v", re, r2.Kind, err, r.Kind)
		}
		// The framing reader accepts the pretty form followed by a blank line.
		if got, err := ReadResponse(bufio.NewReader(bytes.NewReader(append(re, '\n', '\n'))), 1<<20); err != nil || !bytes.Equal(got, append(re, '\n')) {
			t.Fatalf("ReadResponse(%q) = %q, %v", re, got, err)
		}
	})
}
