package isabelle

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// startFake starts the fake mode (with server flags) as a backend starts
// a server, confined, readable adding paths it may read.
func startFake(t testing.TB, mode string, readable []string, flags ...string) *server {
	t.Helper()
	cfg := fakeConfig(t, mode, flags...)
	cfg.Readable = readable
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s, err := b.startServer(ctx)
	if err != nil {
		t.Fatalf("starting fake %s: %v", mode, err)
	}
	t.Cleanup(func() { s.stop(nil) })
	return s
}

func TestReplayClient(t *testing.T) {
	t.Parallel()
	dir := fixtureDir(t)
	p := startFake(t, "replay", []string{dir}, "-fixtures", dir)
	if !strings.HasPrefix(p.info.Address, "127.0.0.1:") {
		t.Fatalf("fake listens on %s", p.info.Address)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	var taskless []Message
	c, info, err := Dial(ctx, p.info.Address, p.info.Password, DialOptions{OnNote: func(m Message) {
		mu.Lock()
		taskless = append(taskless, m)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if info["isabelle_name"] == nil {
		t.Errorf("greeting %v", info)
	}
	m, err := c.Call(ctx, "help", nil)
	var cmds []string
	if err != nil || json.Unmarshal([]byte(m.Arg), &cmds) != nil || len(cmds) != 9 {
		t.Fatalf("help = %v, %v", m, err)
	}
	var notes int
	raw, err := c.Run(ctx, "session_start", map[string]string{"session": "HOL"}, func(Message) { notes++ })
	if err != nil {
		t.Fatal(err)
	}
	var ss struct {
		SessionID string `json:"session_id"`
	}
	if json.Unmarshal(raw, &ss) != nil || ss.SessionID != "167dd6d8-1eeb-4315-8022-c8c527d9bd87" || notes != 13 {
		t.Errorf("session_start = %s, %d notes", raw, notes)
	}
	mu.Lock()
	if len(taskless) != 2 {
		t.Errorf("%d task-less NOTEs, want 2", len(taskless))
	}
	mu.Unlock()
	for _, c2 := range []struct {
		theory string
		ok     bool
	}{{"Example", true}, {"Fail", false}, {"Sledgehammer", true}} {
		raw, err := c.Run(ctx, "use_theories", map[string]any{"session_id": ss.SessionID, "theories": []string{c2.theory}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		var r useResult
		if err := json.Unmarshal(raw, &r); err != nil || r.OK != c2.ok {
			t.Errorf("use_theories %s: ok=%v err=%v", c2.theory, r.OK, err)
		}
	}
	if m, err := c.Call(ctx, "purge_theories", map[string]any{"session_id": ss.SessionID, "all": true}); err != nil || !strings.Contains(m.Arg, "Draft.Mock") {
		t.Errorf("purge = %v, %v", m, err)
	}
	var se *ServerError
	if _, err := c.Call(ctx, "unknown", nil); !errors.As(err, &se) || se.Message != "Bad command 'unknown'" {
		t.Errorf("unknown: %v", err)
	}
	if err := c.Cancel(ctx, "no-such-task"); err != nil {
		t.Errorf("cancel: %v", err)
	}
	if raw, err := c.Run(ctx, "session_stop", map[string]string{"session_id": ss.SessionID}, nil); err != nil || !strings.Contains(string(raw), `"ok":true`) {
		t.Errorf("session_stop = %s, %v", raw, err)
	}
	if err := c.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func TestDialRefused(t *testing.T) {
	t.Parallel()
	p := startFake(t, "sim-refuse", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _, err := Dial(ctx, p.info.Address, p.info.Password, DialOptions{})
	if !errors.Is(err, ErrPasswordRefused) {
		t.Fatalf("Dial = %v, want ErrPasswordRefused", err)
	}
	// and a wrong password on a server that accepts its own
	q := startFake(t, "sim", nil)
	if _, _, err := Dial(ctx, q.info.Address, "wrong", DialOptions{}); !errors.Is(err, ErrPasswordRefused) {
		t.Fatalf("Dial(wrong) = %v", err)
	}
}

func TestSimProtocol(t *testing.T) {
	t.Parallel()
	fs := startInProcess(t, "sim")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := Dial(ctx, fs.addr(), fs.password, DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// concurrent synchronous calls keep FIFO order
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			arg := map[string]any{"i": i, "text": strings.Repeat("line\n", i*10)}
			m, err := c.Call(ctx, "echo", arg)
			var got map[string]any
			if err != nil || json.Unmarshal([]byte(m.Arg), &got) != nil || got["i"] != float64(i) {
				t.Errorf("echo %d = %v, %v", i, clip(m.Arg, 50), err)
			}
		}(i)
	}
	wg.Wait()
	var se *ServerError
	if _, err := c.Call(ctx, "use_theories", map[string]any{"x": 1}); !errors.As(err, &se) || !strings.Contains(se.Message, "Bad argument") {
		t.Errorf("bad argument: %v", err)
	}
	if _, err := c.Call(ctx, "nope", nil); !errors.As(err, &se) || se.Message != "Bad command 'nope'" {
		t.Errorf("bad command: %v", err)
	}
	_, err = c.Run(ctx, "use_theories", map[string]any{"session_id": "nope", "theories": []string{"X"}}, nil)
	var tf *TaskFailed
	if !errors.As(err, &tf) || !strings.HasPrefix(tf.Message, "No session") {
		t.Errorf("unknown session: %v", err)
	}
	// a hanging task ends FAILED Interrupt after cancel
	raw, err := c.Run(ctx, "session_start", map[string]string{"session": "HOL"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ss struct {
		SessionID string `json:"session_id"`
	}
	_ = json.Unmarshal(raw, &ss)
	dir := t.TempDir()
	thy := "theory Hang imports Main begin\ntheorem Hang: \"A\"\n  apply hang_forever\n  done\nend\n"
	if err := os.WriteFile(dir+"/Hang.thy", []byte(thy), 0o644); err != nil {
		t.Fatal(err)
	}
	task, err := c.Start(ctx, "use_theories", map[string]any{"session_id": ss.SessionID, "theories": []string{"Hang"}, "master_dir": dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = task.Wait(short)
	cancelShort()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hanging task: %v", err)
	}
	if err := c.Cancel(ctx, task.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := task.Wait(ctx); !errors.As(err, &tf) || !tf.Interrupted() {
		t.Errorf("after cancel: %v", err)
	}
	// closing the connection fails everything waiting on it
	c.Close()
	if _, err := c.Call(ctx, "help", nil); !errors.Is(err, prover.ErrClosed) {
		t.Errorf("call after close: %v", err)
	}
}
