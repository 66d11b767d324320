package model

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// proposeWithin fails the test if Propose does not return within d.
func proposeWithin(t *testing.T, l *LLM, d time.Duration) ([]prover.Candidate, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	type res struct {
		c   []prover.Candidate
		err error
	}
	ch := make(chan res, 1)
	go func() {
		c, err := l.Propose(ctx, leanReq("x : ℕ\n⊢ x = x"))
		ch <- res{c, err}
	}()
	select {
	case r := <-ch:
		return r.c, r.err
	case <-time.After(d + 5*time.Second):
		t.Fatal("Propose hangs")
		return nil, nil
	}
}

func TestRetryOn500(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if calls.Add(1) <= 2 {
			writeJSON(w, 500, `{"object":"error","message":"engine loop crashed","code":500}`)
			return
		}
		writeJSON(w, 200, synthCompletion(body))
	})
	l := mustLLM(t, testConfig(srv.URL))
	got, err := proposeWithin(t, l, 5*time.Second)
	if err != nil || len(got) != 4 {
		t.Fatalf("got %v, %v", got, err)
	}
	if s := l.Stats(); s.Retries != 2 || s.Failures != 2 {
		t.Errorf("stats %+v, want 2 retries", s)
	}
}

func TestPersistent500IsOneClearError(t *testing.T) {
	t.Parallel()
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 503, `<html><body>Bad gateway</body></html>`)
	})
	_, err := proposeWithin(t, mustLLM(t, testConfig(srv.URL)), 5*time.Second)
	var ae *APIError
	if err == nil || !errors.As(err, &ae) || ae.Status != 503 || !strings.Contains(err.Error(), srv.URL+"/v1/completions") ||
		!strings.Contains(err.Error(), "3 attempt") {
		t.Fatalf("err = %v; want an APIError 503 naming the URL after 3 attempts", err)
	}
}

func TestBadRequestNotRetried(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		calls.Add(1)
		writeJSON(w, 404, `{"error":{"message":"The model `+"`m`"+` does not exist.","type":"NotFoundError","param":null,"code":404}}`)
	})
	_, err := proposeWithin(t, mustLLM(t, testConfig(srv.URL)), 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "does not exist") || calls.Load() != 1 {
		t.Fatalf("err = %v after %d calls; want the server's message after 1 call", err, calls.Load())
	}
}

func TestRetryAfter429(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if calls.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			writeJSON(w, 429, `{"error":{"message":"too many requests"}}`)
			return
		}
		writeJSON(w, 200, synthCompletion(body))
	})
	l := mustLLM(t, testConfig(srv.URL))
	start := time.Now()
	got, err := proposeWithin(t, l, 10*time.Second)
	if err != nil || len(got) == 0 {
		t.Fatalf("got %v, %v", got, err)
	}
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Errorf("retried after %v; Retry-After asked for 1 s", el)
	}
	if s := l.Stats(); s.Endpoints[0].Down {
		t.Error("a 429 marked the endpoint down")
	}
}

func TestRetryAfterBeyondDeadline(t *testing.T) {
	t.Parallel()
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		w.Header().Set("Retry-After", "30")
		writeJSON(w, 429, `{"error":{"message":"queue full"}}`)
	})
	start := time.Now()
	_, err := proposeWithin(t, mustLLM(t, testConfig(srv.URL)), 2*time.Second)
	if err == nil || !strings.Contains(err.Error(), "queue full") || time.Since(start) > time.Second {
		t.Fatalf("err = %v after %v; want the 429 at once (the wait outlasts the deadline)", err, time.Since(start))
	}
}

func TestSlowResponseTimesOut(t *testing.T) {
	t.Parallel()
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	cfg := testConfig(srv.URL)
	cfg.Timeout, cfg.Retries = 100*time.Millisecond, 1
	start := time.Now()
	_, err := proposeWithin(t, mustLLM(t, cfg), 5*time.Second)
	if err == nil || !errors.Is(err, errAttemptTimeout) || !strings.Contains(err.Error(), srv.URL) {
		t.Fatalf("err = %v; want a request timeout naming the URL", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("took %v for 2 attempts of 100 ms", el)
	}
}

func TestCallerDeadlineWins(t *testing.T) {
	t.Parallel()
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		<-r.Context().Done()
	})
	_, err := proposeWithin(t, mustLLM(t, testConfig(srv.URL)), 200*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v; want the caller's deadline", err)
	}
}

// hijackClose sends headers and half a body, then drops the connection.
func hijackClose(w http.ResponseWriter) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	_, _ = buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4000\r\n\r\n{\"choices\":[{\"index\":0,\"te")
	_ = buf.Flush()
	conn.Close()
}

func TestConnectionClosedMidBody(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		if calls.Add(1) == 1 {
			hijackClose(w)
			return
		}
		writeJSON(w, 200, synthCompletion(body))
	})
	got, err := proposeWithin(t, mustLLM(t, testConfig(srv.URL)), 5*time.Second)
	if err != nil || len(got) != 4 {
		t.Fatalf("after one cut body: %v, %v", got, err)
	}

	always, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) { hijackClose(w) })
	_, err = proposeWithin(t, mustLLM(t, testConfig(always.URL)), 5*time.Second)
	if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), always.URL) {
		t.Fatalf("err = %v; want unexpected EOF naming the URL", err)
	}
}

func TestMalformedJSON(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"choices":[{"text":`, `<html>oops</html>`, `{"choices":[{"index":0,"text":5}]}`, `{"choices":[{"index":0,"text":"a","logprobs":{"token_logprobs":["x"]}}]}`} {
		srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, _ map[string]any) { writeJSON(w, 200, body) })
		_, err := proposeWithin(t, mustLLM(t, testConfig(srv.URL)), 5*time.Second)
		if err == nil || !errors.Is(err, errMalformed) || !strings.Contains(err.Error(), srv.URL) {
			t.Errorf("body %q: err = %v; want malformed response naming the URL", body, err)
		}
	}
}

func TestDeadEndpointAmongLive(t *testing.T) {
	t.Parallel()
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 200, synthCompletion(body))
	})
	srv2, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		writeJSON(w, 200, synthCompletion(body))
	})
	dead := deadURL(t)
	cfg := testConfig(dead, srv.URL, srv2.URL)
	l := mustLLM(t, cfg)
	for i := range 20 {
		got, err := proposeWithin(t, l, 5*time.Second)
		if err != nil || len(got) != 4 {
			t.Fatalf("proposal %d: %v, %v", i, got, err)
		}
	}
	s := l.Stats()
	if !s.Endpoints[0].Down || s.Endpoints[0].Requests > 2 {
		t.Errorf("dead endpoint %+v: want down after 2 failures and skipped", s.Endpoints[0])
	}
	if s.Endpoints[1].Requests < 5 || s.Endpoints[2].Requests < 5 {
		t.Errorf("load not spread: %+v", s.Endpoints)
	}

	// After the cooldown the dead endpoint is tried again.
	l.rt.now = func() time.Time { return time.Now().Add(time.Hour) }
	for range 4 {
		if _, err := proposeWithin(t, l, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	if r := l.Stats().Endpoints[0].Requests; r != s.Endpoints[0].Requests+1 {
		t.Errorf("dead endpoint requests %d after its cooldown, want one more than %d", r, s.Endpoints[0].Requests)
	}
}

func TestAllDeadIsUnavailable(t *testing.T) {
	t.Parallel()
	d1, d2 := deadURL(t), deadURL(t)
	_, err := proposeWithin(t, mustLLM(t, testConfig(d1, d2)), 5*time.Second)
	if !errors.Is(err, ErrUnavailable) || !errors.Is(err, prover.ErrUnavailable) {
		t.Fatalf("err = %v; want ErrUnavailable", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "unreachable") || !strings.Contains(msg, "vllm serve") ||
		!(strings.Contains(msg, d1) || strings.Contains(msg, d2)) {
		t.Errorf("error %q: want the URL, what failed and a hint", msg)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	t.Parallel()
	var in, peak atomic.Int64
	full, release := make(chan struct{}), make(chan struct{})
	var fullOnce sync.Once
	srv, _ := fakeServer(t, func(w http.ResponseWriter, r *http.Request, body map[string]any) {
		n := in.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		if n == 3 {
			fullOnce.Do(func() { close(full) })
		}
		// Hold the request until the test has seen the limit reached.
		select {
		case <-release:
		case <-r.Context().Done():
		}
		in.Add(-1)
		writeJSON(w, 200, synthCompletion(body))
	})
	cfg := testConfig(srv.URL)
	cfg.Limits, cfg.API = LimitConfig{Initial: 3, Max: 3}, "ollama" // ollama fans out n=4 per proposal
	l := mustLLM(t, cfg)
	done := make(chan error)
	for range 4 {
		go func() {
			_, err := l.Propose(context.Background(), leanReq("⊢ True"))
			done <- err
		}()
	}
	select {
	case <-full: // three requests in flight at once
	case <-time.After(10 * time.Second):
		t.Fatal("the limit of 3 was never reached: the requests did not overlap")
	}
	close(release)
	for range 4 {
		<-done // bodies are vLLM-shaped: not ollama, so errors are expected and fine
	}
	if p := peak.Load(); p != 3 {
		t.Errorf("peak in flight %d, want 3 (the limit, reached)", p)
	}
}
