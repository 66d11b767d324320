package bridge

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/model"
	"github.com/llemma-prove/llemma-prove/prover"
)

// scored proposes tactics with explicit scores.
func scored(pairs ...any) proposerFunc {
	return func(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
		var out []prover.Candidate
		for i := 0; i+1 < len(pairs); i += 2 {
			out = append(out, prover.Candidate{Tactic: pairs[i].(string), Score: pairs[i+1].(float64)})
		}
		return out, nil
	}
}

func leanServer(p prover.Proposer) *Server {
	s := newServer(&fakeBackend{}, p)
	s.DefaultBackend = "lean"
	return s
}

func post(t *testing.T, url, body string, header ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

var leanCands = scored(
	"linarith", -0.5,
	"norm_num", -0.1,
	"sorry", -0.05,
	"", 0.0,
	"exact foo_bar h", -0.2, // names the theorem of the context
	"aesop", -1.0,
	"simp [h₀] at h₁ ⊢; omega", -2.0,
	"nlinarith [sq_nonneg (a - b), h.1 < h.2]", -3.0,
	"#eval 1", -0.01, // a command: the policy drops it
)

func TestHTTPLLMStep(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(leanServer(leanCands).HTTPHandler())
	defer ts.Close()
	code, body, hdr := post(t, ts.URL+"/", `{"tactic_state": "a b : ℕ\nh₀ : a = b\n⊢ a + 0 = b", "prefix": "", "context": "import Mathlib\n\ntheorem foo_bar (a b : ℕ) (h₀ : a = b) : a + 0 = b := by\n  "}`)
	want := `{"suggestions":["norm_num","linarith","aesop","simp [h₀] at h₁ ⊢; omega","nlinarith [sq_nonneg (a - b), h.1 < h.2]"]}`
	if code != 200 || body != want || hdr.Get("Content-Type") != "application/json" {
		t.Errorf("POST / = %d %q %s\nwant 200 %s", code, hdr.Get("Content-Type"), body, want)
	}
	// prefix: only completions of what the user typed.
	code, body, _ = post(t, ts.URL+"/", `{"tactic_state": "⊢ True", "prefix": "n", "context": ""}`)
	if want := `{"suggestions":["norm_num","nlinarith [sq_nonneg (a - b), h.1 < h.2]"]}`; code != 200 || body != want {
		t.Errorf("POST / prefix n = %d %s, want %s", code, body, want)
	}
	code, body, _ = post(t, ts.URL+"/", `{"tactic_state": "⊢ True", "prefix": "exact ", "context": ""}`)
	if want := `{"suggestions":["exact foo_bar h"]}`; code != 200 || body != want {
		t.Errorf("POST / prefix exact (no theorem name known) = %d %s, want %s", code, body, want)
	}
	code, body, _ = post(t, ts.URL+"/", `{"tactic_state": "⊢ True", "prefix": "zzz", "context": ""}`)
	if want := `{"suggestions":[]}`; code != 200 || body != want {
		t.Errorf("POST / prefix zzz = %d %s, want %s", code, body, want)
	}
}

func TestHTTPGenerate(t *testing.T) {
	t.Parallel()
	ts := httptest.NewServer(leanServer(leanCands).HTTPHandler())
	defer ts.Close()
	code, body, _ := post(t, ts.URL+"/generate", `{"name": "llemma", "input": "a b : ℕ\n⊢ a + b = b + a", "prefix": ""}`)
	// The bare aesop is dropped (Lean Copilot PR #18); score = exp(mean logprob).
	want := `{"outputs":[{"output":"norm_num","score":0.9048374180359595},{"output":"exact foo_bar h","score":0.8187307530779818},{"output":"linarith","score":0.6065306597126334},{"output":"simp [h₀] at h₁ ⊢; omega","score":0.1353352832366127},{"output":"nlinarith [sq_nonneg (a - b), h.1 < h.2]","score":0.049787068367863944}]}`
	if code != 200 || body != want {
		t.Errorf("POST /generate = %d %s\nwant %s", code, body, want)
	}
	code, body, _ = post(t, ts.URL+"/generate", `{"name": "llemma", "input": "⊢ True", "prefix": "lin"}`)
	if want := `{"outputs":[{"output":"linarith","score":0.6065306597126334}]}`; code != 200 || body != want {
		t.Errorf("POST /generate prefix lin = %d %s, want %s", code, body, want)
	}
}

func TestHTTPPortfolio(t *testing.T) {
	t.Parallel()
	// The real GPU-free proposer for Lean, through the Lean policy.
	ts := httptest.NewServer(leanServer(&model.Portfolio{Backend: "lean"}).HTTPHandler())
	defer ts.Close()
	code, body, _ := post(t, ts.URL+"/", `{"tactic_state": "x : ℝ\nh₀ : 2 * x = 4\n⊢ x = 2", "prefix": "", "context": ""}`)
	if code != 200 || !strings.HasPrefix(body, `{"suggestions":["norm_num","linarith",`) {
		t.Errorf("POST / with the portfolio = %d %s", code, body)
	}
}

func TestHTTPErrors(t *testing.T) {
	t.Parallel()
	s := leanServer(leanCands)
	s.MaxBody = 1 << 10
	ts := httptest.NewServer(s.HTTPHandler())
	defer ts.Close()
	for _, tc := range []struct {
		name, path, body string
		code             int
		want             string
	}{
		{"bad json", "/", `{"tactic_state": `, 400, `{"error":"the body is not a JSON object: unexpected end of JSON input"}`},
		{"wrong type", "/", `{"tactic_state": 3}`, 400, `{"error":"tactic_state: got number, want a string"}`},
		{"no state", "/", `{"prefix": "x"}`, 400, `{"error":"tactic_state is required"}`},
		{"no input", "/generate", `{"name": "m"}`, 400, `{"error":"input is required"}`},
		{"oversized", "/", `{"tactic_state": "` + strings.Repeat("x", 2000) + `"}`, 413, `{"error":"request body too large"}`},
		{"not found", "/encode", `{}`, 404, `{"error":"not found: /encode (the endpoints are POST /, POST /generate and GET /health)"}`},
	} {
		code, body, _ := post(t, ts.URL+tc.path, tc.body)
		if code != tc.code || body != tc.want {
			t.Errorf("%s: %d %s, want %d %s", tc.name, code, body, tc.code, tc.want)
		}
	}
	// Oversized without a Content-Length (chunked): still 413.
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, `{"tactic_state": "`+strings.Repeat("y", 4000)+`"}`)
		pw.Close()
	}()
	resp, err := http.Post(ts.URL+"/", "application/json", pr)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || string(b) != `{"error":"request body too large"}` {
		t.Errorf("chunked oversized: %d %s", resp.StatusCode, b)
	}
	resp, err = http.Get(ts.URL + "/generate")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" || string(b) != `{"error":"method not allowed: use POST"}` {
		t.Errorf("GET /generate: %d %s", resp.StatusCode, b)
	}
	resp, err = http.Get(ts.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"backend":"lean","status":"ok","version":"test"}` {
		t.Errorf("GET /health: %d %s", resp.StatusCode, b)
	}
}

func TestHTTPBusy(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	var release sync.WaitGroup
	release.Add(1)
	s := leanServer(proposerFunc(func(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
		started <- struct{}{}
		release.Wait()
		return nil, nil
	}))
	s.MaxConcurrent = 1
	ts := httptest.NewServer(s.HTTPHandler())
	defer ts.Close()
	done := make(chan int, 1)
	go func() {
		code, _, _ := post(t, ts.URL+"/", `{"tactic_state": "⊢ True"}`)
		done <- code
	}()
	<-started
	code, body, _ := post(t, ts.URL+"/generate", `{"name": "m", "input": "⊢ True"}`)
	if code != 503 || !strings.Contains(body, "busy") {
		t.Errorf("second request: %d %s, want 503 busy", code, body)
	}
	release.Done()
	if code := <-done; code != 200 {
		t.Errorf("first request: %d", code)
	}
}

func TestHTTPTimeout(t *testing.T) {
	t.Parallel()
	s := leanServer(proposerFunc(func(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}))
	s.RequestTimeout = 50 * time.Millisecond
	ts := httptest.NewServer(s.HTTPHandler())
	defer ts.Close()
	code, body, _ := post(t, ts.URL+"/", `{"tactic_state": "⊢ True"}`)
	if code != 504 || !strings.Contains(body, "timed out") {
		t.Errorf("slow proposer: %d %s, want 504", code, body)
	}
}

func TestHTTPToken(t *testing.T) {
	t.Parallel()
	s := leanServer(leanCands)
	s.Token = "s3cret"
	ts := httptest.NewServer(s.HTTPHandler())
	defer ts.Close()
	code, body, hdr := post(t, ts.URL+"/", `{"tactic_state": "⊢ True"}`)
	if code != 401 || body != `{"error":"unauthorized: send Authorization: Bearer TOKEN"}` || hdr.Get("WWW-Authenticate") == "" {
		t.Errorf("no token: %d %s", code, body)
	}
	if code, _, _ = post(t, ts.URL+"/generate", `{"input": "⊢ True"}`, "Authorization", "Bearer nope"); code != 401 {
		t.Errorf("wrong token: %d", code)
	}
	if code, _, _ = post(t, ts.URL+"/generate", `{"input": "⊢ True"}`, "Authorization", "s3cret"); code != 401 {
		t.Errorf("token without Bearer: %d", code)
	}
	if code, body, _ = post(t, ts.URL+"/generate", `{"input": "⊢ True"}`, "Authorization", "Bearer s3cret"); code != 200 {
		t.Errorf("right token: %d %s", code, body)
	}
	resp, err := http.Get(ts.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("health needs no token: %d", resp.StatusCode)
	}
}

func TestCheckListen(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		addr   string
		remote bool
		token  string
		ok     bool
	}{
		{"127.0.0.1:6000", false, "", true},
		{"localhost:6000", false, "", true},
		{"[::1]:6000", false, "", true},
		{"127.0.0.2:6000", false, "", true},
		{":6000", false, "", false},
		{"0.0.0.0:6000", false, "", false},
		{"0.0.0.0:6000", true, "", false},
		{"0.0.0.0:6000", true, "t", true},
		{"example.com:6000", true, "t", true},
		{"example.com:6000", false, "t", false},
		{"[::]:6000", false, "t", false},
	} {
		err := CheckListen("--http", tc.addr, tc.remote, tc.token)
		if (err == nil) != tc.ok {
			t.Errorf("CheckListen(%q, %v, %q) = %v, want ok %v", tc.addr, tc.remote, tc.token, err, tc.ok)
		}
	}
}

// closeNotify tells when the server closed its listener: shutdown began.
type closeNotify struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *closeNotify) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

func TestHTTPGracefulShutdown(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &closeNotify{Listener: raw, closed: make(chan struct{})}
	b := &fakeBackend{}
	s := newServer(b, proposerFunc(func(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
		started <- struct{}{}
		<-ln.closed // answer only once shutdown has begun: a request in flight during shutdown
		return []prover.Candidate{{Tactic: "lra.", Score: -0.1}}, nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeHTTPListener(ctx, ln) }()
	got := make(chan string, 1)
	go func() {
		_, body, _ := post(t, "http://"+ln.Addr().String()+"/", `{"tactic_state": "x = x"}`)
		got <- body
	}()
	<-started
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("ServeHTTPListener: %v", err)
	}
	if body := <-got; body != `{"suggestions":["lra."]}` {
		t.Errorf("request in flight at shutdown: %s", body)
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/health"); err == nil {
		t.Error("the listener is still open")
	}
}
