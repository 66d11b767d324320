package isabelle

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

// readAll decodes every message of a recorded reply file; a final empty
// line (some recordings end with one) is dropped.
func readAll(t testing.TB, b []byte) []string {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(b))
	var out []string
	for {
		m, err := ReadMessage(br)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("ReadMessage: %v (after %d messages)", err, len(out))
		}
		out = append(out, m)
	}
	if n := len(out); n > 0 && out[n-1] == "" {
		out = out[:n-1]
	}
	return out
}

func TestFixturesDecode(t *testing.T) {
	dir := fixtureDir(t)
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	prefixed, decoded := 0, 0
	for _, f := range files {
		name := f.Name()
		if strings.HasPrefix(name, "LICENSE") || strings.HasPrefix(name, "SOURCE") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if isDigits(line) {
				prefixed++
			}
		}
		msgs := readAll(t, b)
		if len(msgs) == 0 {
			t.Errorf("%s: no messages", name)
		}
		var tasks, taskless, finished int
		for _, s := range msgs {
			m := ParseMessage(s)
			switch m.Name {
			case "OK", "ERROR", "NOTE", "FINISHED", "FAILED":
			default:
				t.Errorf("%s: message kind %q in %q", name, m.Name, clip(s, 80))
			}
			if m.Arg != "" && !json.Valid([]byte(m.Arg)) {
				t.Errorf("%s: argument is not JSON: %q", name, clip(m.Arg, 80))
			}
			if m.Name == "NOTE" {
				if m.TaskID() != "" {
					tasks++
				} else {
					taskless++
				}
			}
			if m.Name == "FINISHED" {
				finished++
			}
			decoded++
		}
		switch name {
		case "session_start":
			if tasks != 13 || taskless != 2 || finished != 1 {
				t.Errorf("session_start: %d task NOTEs, %d task-less, %d FINISHED; want 13, 2, 1", tasks, taskless, finished)
			}
			var v struct{ SessionID, TmpDir, Task string }
			var raw map[string]string
			_ = ParseMessage(msgs[len(msgs)-1]).Decode(&raw)
			v.SessionID, v.Task = raw["session_id"], raw["task"]
			if v.SessionID != "167dd6d8-1eeb-4315-8022-c8c527d9bd87" || v.Task != ParseMessage(msgs[0]).TaskID() {
				t.Errorf("session_start FINISHED = %v", raw)
			}
		case "use_theories.Fail":
			var r useResult
			if err := ParseMessage(msgs[len(msgs)-1]).Decode(&r); err != nil {
				t.Fatal(err)
			}
			st, ok := ParseGoals(r.Errors[0].Message)
			if r.OK || r.Nodes[0].Status.Failed != 1 || !ok || len(st.Goals) != 1 || st.Goals[0] != `\<And>x y. x = y` {
				t.Errorf("use_theories.Fail: ok=%v failed=%d goals=%q", r.OK, r.Nodes[0].Status.Failed, st.Goals)
			}
		case "use_theories.Sledgehammer":
			var r useResult
			if err := ParseMessage(msgs[len(msgs)-1]).Decode(&r); err != nil {
				t.Fatal(err)
			}
			var tries []string
			for _, m := range r.Nodes[0].Messages {
				if sm := tryThis.FindStringSubmatch(m.Message); sm != nil {
					tries = append(tries, sm[1])
				}
			}
			if len(r.Nodes[0].Messages) != 14 || len(tries) == 0 || tries[0] != "by presburger" {
				t.Errorf("sledgehammer: %d messages, suggestions %q", len(r.Nodes[0].Messages), tries)
			}
		case "unknown":
			if m := ParseMessage(msgs[0]); m.Name != "ERROR" || m.ErrorText() != "Bad command 'unknown'" {
				t.Errorf("unknown = %q", msgs[0])
			}
		}
	}
	if prefixed != 44 {
		t.Errorf("%d length-prefixed messages in the fixtures, want 44", prefixed)
	}
	t.Logf("decoded %d messages, %d length-prefixed", decoded, prefixed)
}

var framingCases = []string{
	"", "OK", "0", "123", "42\n", "NOTE {\"a\":1}", strings.Repeat("x", 100), strings.Repeat("y", 101),
	strings.Repeat("long ", 20000), "multi\nline\nmessage", "with\r\ncrlf", "\n", "\n\n",
	"unicode \\<forall> ∀ ⟹ 😀", `OK {"task":"18c8e507-96c8-4bc8-9cb0-db4558bda07f"}`,
}

func TestFramingRoundTrip(t *testing.T) {
	t.Parallel()
	var client, server bytes.Buffer
	for _, m := range framingCases {
		if err := WriteMessage(&client, m); err != nil {
			t.Fatal(err)
		}
		server.Write(EncodeServerMessage(m))
	}
	for _, buf := range []*bytes.Buffer{&client, &server} {
		br := bufio.NewReader(buf)
		for _, want := range framingCases {
			got, err := ReadMessage(br)
			if err != nil || got != want {
				t.Fatalf("ReadMessage = %q, %v; want %q", clip(got, 60), err, clip(want, 60))
			}
		}
		if _, err := ReadMessage(br); !errors.Is(err, io.EOF) {
			t.Errorf("after the last message: %v, want EOF", err)
		}
	}
	// the server's short form is unprefixed, the long form prefixed with len+1
	if got := string(EncodeServerMessage("OK")); got != "OK\n" {
		t.Errorf("EncodeServerMessage(OK) = %q", got)
	}
	long := strings.Repeat("z", 117)
	if got := string(EncodeServerMessage(long)); got != "118\n"+long+"\n" {
		t.Errorf("EncodeServerMessage(117 bytes) = %q", clip(got, 10))
	}
	// the client never sends a bare digits line
	var b bytes.Buffer
	_ = WriteMessage(&b, "123")
	if b.String() != "4\n123\n" {
		t.Errorf("WriteMessage(123) = %q", b.String())
	}
}

func TestReadMessageErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"10\nshort", "99999999999\n", "5\n", "12\n"} {
		br := bufio.NewReader(strings.NewReader(in))
		if m, err := ReadMessage(br); err == nil {
			t.Errorf("ReadMessage(%q) = %q, want an error", in, m)
		}
	}
	// a length block missing only its final LF at EOF is accepted
	br := bufio.NewReader(strings.NewReader("4\nabc"))
	if m, err := ReadMessage(br); err != nil || m != "abc" {
		t.Errorf("ReadMessage(4\\nabc) = %q, %v", m, err)
	}
}

func TestParseMessage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, name, arg string }{
		{"OK", "OK", ""},
		{`OK {"a":1}`, "OK", `{"a":1}`},
		{`ERROR "Bad command 'x'"`, "ERROR", `"Bad command 'x'"`},
		{"NOTE   \t[1]", "NOTE", "[1]"},
		{"session.x_1{}", "session.x_1", "{}"},
		{"{}", "", "{}"},
	} {
		m := ParseMessage(c.in)
		if m.Name != c.name || m.Arg != c.arg {
			t.Errorf("ParseMessage(%q) = %q %q, want %q %q", c.in, m.Name, m.Arg, c.name, c.arg)
		}
	}
	if got := ParseMessage(`FAILED {"kind":"error","message":"Interrupt","task":"t1"}`); got.TaskID() != "t1" || got.ErrorText() != "Interrupt" {
		t.Errorf("FAILED: task %q text %q", got.TaskID(), got.ErrorText())
	}
}

func TestParseServerLine(t *testing.T) {
	t.Parallel()
	info, ok := ParseServerLine(`server "test" = 127.0.0.1:4711 (password "XYZ")` + "\n")
	if !ok || info != (ServerInfo{"test", "127.0.0.1:4711", "XYZ"}) {
		t.Errorf("ParseServerLine = %+v, %v", info, ok)
	}
	for _, bad := range []string{`server "x" = 10.0.0.1:1 (password "p")`, `server x = 127.0.0.1:1 (password "p")`, ""} {
		if _, ok := ParseServerLine(bad); ok {
			t.Errorf("ParseServerLine(%q) accepted", bad)
		}
	}
}

func FuzzReadMessage(f *testing.F) {
	for _, m := range framingCases {
		f.Add(EncodeServerMessage(m))
	}
	if d, err := filepath.Abs(filepath.Join("..", "..", "shared", "fixtures", "isabelle-server")); err == nil {
		files, _ := filepath.Glob(filepath.Join(d, "*"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && !strings.Contains(p, "LICENSE") {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		br := bufio.NewReader(bytes.NewReader(data))
		for i := 0; i < 64; i++ {
			m, err := ReadMessage(br)
			if err != nil {
				return
			}
			pm := ParseMessage(m)
			_ = pm.TaskID()
			_ = pm.ErrorText()
			if strings.HasSuffix(m, "\r") {
				continue
			}
			var buf bytes.Buffer
			_ = WriteMessage(&buf, m)
			buf.Write(EncodeServerMessage(m))
			rb := bufio.NewReader(&buf)
			for k := 0; k < 2; k++ {
				got, err := ReadMessage(rb)
				if err != nil || got != m {
					t.Fatalf("round trip %d of %q = %q, %v", k, m, got, err)
				}
			}
		}
	})
}

func FuzzParseGoals(f *testing.F) {
	f.Add("Failed to finish proof\\<^here>:\ngoal (1 subgoal):\n 1. \\<And>x y. x = y")
	f.Add("proof (prove)\nusing this:\n  a\ngoal (2 subgoals):\n 1. A\n    continued\n 2. B\nA total of 5 subgoals...")
	f.Add("goal:\nNo subgoals!")
	f.Fuzz(func(t *testing.T, s string) {
		st, ok := ParseGoals(s)
		if !ok && (len(st.Goals) > 0 || st.Text != "") {
			t.Fatalf("not ok but state %+v", st)
		}
		_ = st.Key()
	})
}
