package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/llemma-prove/llemma-prove/bridge"
	"github.com/llemma-prove/llemma-prove/coq"
)

var (
	serveBuildOnce sync.Once
	serveBinPath   string
	serveBuildErr  error
)

// serveBinary builds llemma-prove once for the serve tests.
func serveBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary: skipped under -short")
	}
	serveBuildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "llemma-serve-test-")
		if err != nil {
			serveBuildErr = err
			return
		}
		serveBinPath = filepath.Join(dir, "llemma-prove")
		cmd := exec.Command("go", "build", "-o", serveBinPath, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			serveBuildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if serveBuildErr != nil {
		t.Fatal(serveBuildErr)
	}
	return serveBinPath
}

// serveProc is the binary in --stdio mode with a jsonrpc2 client on its
// pipes.
type serveProc struct {
	cmd    *exec.Cmd
	conn   *jsonrpc2.Conn
	stdin  io.WriteCloser
	notes  chan *jsonrpc2.Request
	stderr *strings.Builder
}

type serveNotes chan *jsonrpc2.Request

func (n serveNotes) Handle(ctx context.Context, c *jsonrpc2.Conn, r *jsonrpc2.Request) {
	select {
	case n <- r:
	default:
	}
}

type servePipe struct {
	io.ReadCloser
	io.WriteCloser
}

func (p servePipe) Close() error { return errors.Join(p.WriteCloser.Close(), p.ReadCloser.Close()) }

func startStdio(t *testing.T, args ...string) *serveProc {
	t.Helper()
	bin := serveBinary(t)
	cmd := exec.Command(bin, append([]string{"serve"}, args...)...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &serveLockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &serveProc{cmd: cmd, stdin: stdin, notes: make(chan *jsonrpc2.Request, 256), stderr: &stderr}
	s.conn = jsonrpc2.NewConn(context.Background(), jsonrpc2.NewBufferedStream(servePipe{stdout, stdin}, jsonrpc2.VSCodeObjectCodec{}), serveNotes(s.notes))
	t.Cleanup(func() {
		s.conn.Close()
		cmd.Process.Kill()
		cmd.Wait()
	})
	return s
}

type serveLockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *serveLockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (s *serveProc) call(t *testing.T, method string, params, result any) *jsonrpc2.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	err := s.conn.Call(ctx, method, params, result)
	var re *jsonrpc2.Error
	if errors.As(err, &re) {
		return re
	}
	if err != nil {
		t.Fatalf("%s: %v (stderr: %s)", method, err, s.stderr.String())
	}
	return nil
}

// wait waits for the process to exit and returns its exit code.
func (s *serveProc) wait(t *testing.T) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- s.cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not exit")
		return -1
	}
}

func TestServeStdio(t *testing.T) {
	s := startStdio(t, "--backend", "coq", "--proposer", "portfolio")
	var init bridge.InitializeResult
	if err := s.call(t, bridge.MethodInitialize, map[string]any{"processId": nil, "capabilities": map[string]any{}}, &init); err != nil {
		t.Fatal(err)
	}
	if init.ServerInfo.Name != "llemma-prove" || len(init.Methods) != len(bridge.Methods) {
		t.Errorf("initialize = %+v", init)
	}
	var sug bridge.SuggestResult
	if err := s.call(t, bridge.MethodSuggest, bridge.SuggestParams{Backend: "coq", State: "1 goal\n  x : R\n  h : 2 * x = 4\n  ============================\n  x = 2", N: 3}, &sug); err != nil {
		t.Fatal(err)
	}
	if len(sug.Suggestions) != 3 || sug.Suggestions[0].Tactic != "lra." {
		t.Errorf("suggest = %+v", sug)
	}
	if err := s.call(t, bridge.MethodSuggest, map[string]any{"state": 1}, nil); err == nil || err.Code != bridge.CodeInvalidParams || !strings.Contains(err.Message, "params.state") {
		t.Errorf("bad params: %v", err)
	}
	if err := s.call(t, "llemma/nothing", nil, nil); err == nil || err.Code != bridge.CodeMethodNotFound {
		t.Errorf("unknown method: %v", err)
	}
	if err := s.call(t, bridge.MethodShutdown, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.conn.Notify(context.Background(), bridge.MethodExit, nil); err != nil {
		t.Fatal(err)
	}
	if code := s.wait(t); code != 0 {
		t.Errorf("exit code %d, want 0 (stderr: %s)", code, s.stderr.String())
	}
}

func TestServeStdioMalformedFrame(t *testing.T) {
	bin := serveBinary(t)
	cmd := exec.Command(bin, "serve", "--stdio", "--backend", "coq", "--proposer", "portfolio")
	// A body that is not JSON is answered and the stream goes on; EOF on
	// stdin ends the server with exit 0.
	good := `{"jsonrpc":"2.0","id":1,"method":"shutdown"}`
	cmd.Stdin = strings.NewReader("Content-Length: 3\r\n\r\n{x}" + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(good), good))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("serve: %v (stderr: %s)", err, stderr.String())
	}
	want := "Content-Length: 141\r\n\r\n" + `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: invalid character 'x' looking for beginning of object key string"}}` +
		"Content-Length: 38\r\n\r\n" + `{"id":1,"result":null,"jsonrpc":"2.0"}`
	if string(out) != want {
		t.Errorf("stdout = %q\nwant     %q", out, want)
	}
	if !strings.Contains(stderr.String(), "malformed message") {
		t.Errorf("stderr lacks the warning: %s", stderr.String())
	}
}

func TestServeFlags(t *testing.T) {
	bin := serveBinary(t)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--http", "0.0.0.0:0"}, 2, "not a loopback address"},
		{[]string{"--listen", ":0", "--allow-remote"}, 2, "needs a token"},
		{[]string{"--http", "127.0.0.1:0", "--token-file", "/nonexistent/token"}, 2, "--token-file"},
		{[]string{"extra"}, 2, "no arguments"},
	} {
		cmd := exec.Command(bin, append([]string{"serve", "--backend", "coq", "--proposer", "portfolio"}, tc.args...)...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != tc.code || !strings.Contains(string(out), tc.msg) {
			t.Errorf("serve %v: %v %s, want exit %d with %q", tc.args, err, out, tc.code, tc.msg)
		}
	}
}

func TestServeHTTPAndTCP(t *testing.T) {
	bin := serveBinary(t)
	tok := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tok, []byte("tok-123\n"), 0o600)
	cmd := exec.Command(bin, "serve", "--backend", "coq", "--proposer", "portfolio", "--http", "127.0.0.1:0", "--listen", "127.0.0.1:0", "--token-file", tok)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stdout strings.Builder
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var httpAddr, rpcAddr string
	sc := bufio.NewScanner(stderr)
	for (httpAddr == "" || rpcAddr == "") && sc.Scan() {
		line := sc.Text()
		if _, rest, ok := strings.Cut(line, "HTTP on http://"); ok {
			httpAddr = strings.Fields(rest)[0]
		}
		if _, rest, ok := strings.Cut(line, "JSON-RPC on "); ok && !strings.HasPrefix(rest, "stdio") {
			rpcAddr = strings.Fields(rest)[0]
		}
	}
	go io.Copy(io.Discard, stderr)
	if httpAddr == "" || rpcAddr == "" {
		t.Fatalf("no addresses on stderr (http %q, rpc %q)", httpAddr, rpcAddr)
	}
	req, _ := http.NewRequest("POST", "http://"+httpAddr+"/", strings.NewReader(`{"tactic_state":"1 goal\n  x : R\n  h : 2 * x = 4\n  ============================\n  x = 2","prefix":"nr","context":""}`))
	req.Header.Set("Authorization", "Bearer tok-123")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(string(body), `{"suggestions":["nra."`) {
		t.Errorf("POST / = %d %s", resp.StatusCode, body)
	}
	// JSON-RPC over TCP: the token in initialize.
	nc, err := net.Dial("tcp", rpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	conn := jsonrpc2.NewConn(context.Background(), jsonrpc2.NewBufferedStream(nc, jsonrpc2.VSCodeObjectCodec{}), serveNotes(make(chan *jsonrpc2.Request, 8)))
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var re *jsonrpc2.Error
	if err := conn.Call(ctx, bridge.MethodSuggest, bridge.SuggestParams{State: "x = x"}, nil); !errors.As(err, &re) || re.Code != bridge.CodeUnauthorized {
		t.Errorf("suggest before initialize: %v", err)
	}
	if err := conn.Call(ctx, bridge.MethodInitialize, bridge.InitializeParams{Token: "tok-123"}, nil); err != nil {
		t.Fatal(err)
	}
	var sug bridge.SuggestResult
	if err := conn.Call(ctx, bridge.MethodSuggest, bridge.SuggestParams{State: "x = x", N: 2}, &sug); err != nil || len(sug.Suggestions) != 2 {
		t.Errorf("suggest: %+v %v", sug, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("serve ignored SIGTERM")
	}
	if stdout.Len() != 0 {
		t.Errorf("serve wrote to stdout outside --stdio: %q", stdout.String())
	}
}

// TestServeProveMiniF2F proves a real miniF2F statement through the
// stdio server and checks the returned file with `llemma-prove check`.
func TestServeProveMiniF2F(t *testing.T) {
	const name, data = "mathd_algebra_141", "/work/shared/data/minif2f/coq"
	if _, err := exec.LookPath("coqtop"); err != nil {
		t.Skip("coqtop not installed (apt-get install -y coq)")
	}
	src, err := os.ReadFile(filepath.Join(data, "test", name+".v"))
	if err != nil {
		t.Skipf("miniF2F data missing: %v", err)
	}
	thm, err := coq.ParseTheorem(name, string(src))
	if err != nil {
		t.Fatal(err)
	}
	s := startStdio(t, "--backend", "coq", "--proposer", "portfolio", "--workers", "1")
	var res bridge.ProveResult
	if err := s.call(t, bridge.MethodProve, bridge.ProveParams{Backend: "coq", Header: thm.Header, Statement: thm.Statement, Budget: &bridge.BudgetParams{TheoremTimeoutS: 60}}, &res); err != nil {
		t.Fatalf("prove: %v (stderr: %s)", err, s.stderr.String())
	}
	if res.Status != "proved" || len(res.Proof) == 0 || res.FileText == "" {
		t.Fatalf("prove = %+v", res)
	}
	progress := 0
	for len(s.notes) > 0 {
		if n := <-s.notes; n.Method == bridge.MethodProgress {
			progress++
		}
	}
	if progress < 2 {
		t.Errorf("%d $/progress notifications, want at least 2", progress)
	}
	// The server's own check, against the statement under its header.
	var chk bridge.CheckResult
	if err := s.call(t, bridge.MethodCheck, bridge.CheckParams{Backend: "coq", FileText: res.FileText, Statement: thm.Statement, Header: &thm.Header}, &chk); err != nil || !chk.Verified {
		t.Errorf("llemma/check = %+v, %v", chk, err)
	}
	// Without the header the statement does not elaborate on its own: the
	// file's header never stands in for it.
	chk = bridge.CheckResult{}
	if err := s.call(t, bridge.MethodCheck, bridge.CheckParams{Backend: "coq", FileText: res.FileText, Statement: thm.Statement}, &chk); err != nil || chk.Verified || !strings.Contains(chk.Error, "header") {
		t.Errorf("llemma/check without the header = %+v, %v", chk, err)
	}
	// And the CLI's, as a user would run it.
	file := filepath.Join(t.TempDir(), name+".v")
	if err := os.WriteFile(file, []byte(res.FileText), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(serveBinary(t), "check", file, "--statement-of", name, "--data", data).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "verified "+name) {
		t.Errorf("llemma-prove check: %v\n%s\nfile:\n%s", err, out, res.FileText)
	}
	if err := s.call(t, bridge.MethodShutdown, nil, nil); err != nil {
		t.Fatal(err)
	}
	s.conn.Notify(context.Background(), bridge.MethodExit, nil)
	if code := s.wait(t); code != 0 {
		t.Errorf("exit code %d", code)
	}
}
