package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/llemma-prove/llemma-prove/prover"
)

func TestInitializeShutdownExit(t *testing.T) {
	t.Parallel()
	s := newServer(&fakeBackend{}, fixed("lra."))
	c := dial(t, s)
	raw, err := c.call(t, MethodInitialize, map[string]any{"processId": 1, "capabilities": map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"serverInfo":{"name":"llemma-prove","version":"test"},"methods":["initialize","shutdown","exit","$/cancelRequest","llemma/suggest","llemma/prove","llemma/check","llemma/fill"],"capabilities":{}}`
	if string(raw) != want {
		t.Errorf("initialize = %s\nwant %s", raw, want)
	}
	// LSP notifications are ignored without an answer.
	if err := c.Notify(context.Background(), "initialized", map[string]any{}); err != nil {
		t.Fatal(err)
	}
	raw, err = c.call(t, MethodShutdown, nil)
	if err != nil || string(raw) != "null" {
		t.Fatalf("shutdown = %s, %v; want null", raw, err)
	}
	_, err = c.call(t, MethodSuggest, SuggestParams{State: "x = x"})
	wantCode(t, "suggest after shutdown", err, CodeInvalidRequest, "shutting down")
	if err := c.Notify(context.Background(), MethodExit, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		t.Fatal("exit did not end the connection")
	}
}

func TestSuggest(t *testing.T) {
	t.Parallel()
	prop := proposerFunc(func(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
		if req.State.Text == "" || len(req.State.Goals) != 1 {
			return nil, fmt.Errorf("state not passed: %+v", req.State)
		}
		return []prover.Candidate{
			{Tactic: "nra.", Score: -0.5},
			{Tactic: "lra.", Score: -0.1},
			{Tactic: "", Score: 0},
			{Tactic: "sorry.", Score: 0},
			{Tactic: "admit.", Score: 0},
			{Tactic: "Admitted.", Score: 0},
			{Tactic: "Require Import Lia.", Score: 0}, // vernacular: policy
			{Tactic: "apply my_thm.", Score: -0.01},   // names the theorem
			{Tactic: "apply my_thm_2.", Score: -0.2},  // another name
			{Tactic: "lra.", Score: -0.05},            // duplicate: best score kept
			{Tactic: "lia.", Score: math.NaN()},       // non-finite: last
			{Tactic: "  field  ", Score: -0.3},        // normalised by policy
		}, nil
	})
	s := newServer(&fakeBackend{}, prop)
	c := dial(t, s)
	raw, err := c.call(t, MethodSuggest, SuggestParams{Backend: "coq", State: "1 goal\n  x : R\n  ============================\n  x = x", Context: "Theorem my_thm : True.\nProof.\n"})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"suggestions":[{"tactic":"lra.","score":-0.05},{"tactic":"apply my_thm_2.","score":-0.2},{"tactic":"field.","score":-0.3},{"tactic":"nra.","score":-0.5},{"tactic":"lia.","score":-1000000000}]}`
	if string(raw) != want {
		t.Errorf("suggest = %s\nwant    %s", raw, want)
	}

	// prefix: only completions that start with it; n bounds the answer.
	raw, err = c.call(t, MethodSuggest, map[string]any{"backend": "coq", "state": "x = x", "prefix": "l", "n": 1})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"suggestions":[{"tactic":"lra.","score":-0.05}]}`; string(raw) != want {
		t.Errorf("suggest prefix l n 1 = %s, want %s", raw, want)
	}
	raw, err = c.call(t, MethodSuggest, map[string]any{"state": "x = x", "prefix": "zzz"})
	if err != nil || string(raw) != `{"suggestions":[]}` {
		t.Errorf("suggest prefix zzz = %s, %v; want an empty list", raw, err)
	}
}

func TestSuggestChecked(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{}
	s := newServer(b, fixed("bad.", "intros.", "lra.", "apply thm1."))
	c := dial(t, s)
	raw, err := c.call(t, MethodSuggest, SuggestParams{
		Backend: "coq", State: "x = x",
		Theorem: &TheoremParams{Header: "Require Import Reals.", Statement: "Theorem thm1 (x : R) : x = x."},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"suggestions":[` +
		`{"tactic":"lra.","score":-0.30000000000000004,"checked":{"ok":true,"closed":true,"goals":0}},` +
		`{"tactic":"intros.","score":-0.2,"checked":{"ok":true,"closed":false,"goals":1}},` +
		`{"tactic":"bad.","score":-0.1,"checked":{"ok":false,"closed":false,"goals":1,"error":"failed: Error: no progress"}}]}`
	if string(raw) != want {
		t.Errorf("suggest with theorem = %s\nwant %s", raw, want)
	}
	if len(b.opened) != 1 || b.opened[0].Name != "thm1" || b.opened[0].Header != "Require Import Reals.\n" || b.opened[0].Statement != "Theorem thm1 (x : R) : x = x." {
		t.Errorf("opened %+v", b.opened)
	}
	// No state: the theorem's root is used.
	if _, err := c.call(t, MethodSuggest, SuggestParams{Theorem: &TheoremParams{Statement: "Lemma l : True."}}); err != nil {
		t.Errorf("suggest without state: %v", err)
	}
	// A theorem that does not load is the caller's mistake.
	b2 := &fakeBackend{openErr: fmt.Errorf("%w: l: bad statement", prover.ErrLoad)}
	c2 := dial(t, newServer(b2, fixed("lra.")))
	_, err = c2.call(t, MethodSuggest, SuggestParams{State: "x", Theorem: &TheoremParams{Statement: "Lemma l : True."}})
	wantCode(t, "suggest on a bad theorem", err, CodeInvalidParams, "theorem")
}

func TestProve(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{}
	s := newServer(b, fixed("intros.", "lra."))
	c := dial(t, s)
	raw, err := c.call(t, MethodProve, ProveParams{Backend: "coq", Header: "Require Import Reals.\n", Statement: "Theorem t1 (x : R) : x = x.", Budget: &BudgetParams{Expansions: 3, TheoremTimeoutS: 5}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"status":"proved","proof":["lra."],"file_text":"Require Import Reals.\nTheorem t1 (x : R) : x = x.\nProof.\n  lra.\nQed.\n","axioms":["ClassicalDedekindReals.sig_not_dec"]}`
	if string(raw) != want {
		t.Errorf("prove = %s\nwant %s", raw, want)
	}
	var reports []ProgressParams
	for len(c.notes) > 0 {
		n := <-c.notes
		if n.Method != MethodProgress {
			t.Errorf("notification %s", n.Method)
			continue
		}
		var p ProgressParams
		if err := json.Unmarshal(*n.Params, &p); err != nil {
			t.Fatal(err)
		}
		reports = append(reports, p)
	}
	if len(reports) < 2 {
		t.Fatalf("progress: %d reports, want searching, verifying, proved", len(reports))
	}
	tok := reports[0].Token
	if s, ok := tok.(string); !ok || len(s) != 36 {
		t.Errorf("progress token %v, want a uuid", tok)
	}
	last := reports[len(reports)-1]
	if last.Value.Kind != "report" || last.Value.Percentage == nil || *last.Value.Percentage != 100 || last.Token != tok {
		t.Errorf("last progress %+v", last)
	}
	if !strings.Contains(reports[0].Value.Message, "t1") {
		t.Errorf("first progress %+v", reports[0])
	}

	// Not proved: an empty proof, the reason, no file.
	c2 := dial(t, newServer(&fakeBackend{}, fixed("bad.")))
	raw, err = c2.call(t, MethodProve, ProveParams{Statement: "Theorem t2 : False."})
	if err != nil {
		t.Fatal(err)
	}
	var res ProveResult
	json.Unmarshal(raw, &res)
	if res.Status != "failed" || res.FileText != "" || res.Proof == nil || len(res.Proof) != 0 || res.Axioms == nil || res.Error == "" {
		t.Errorf("prove unprovable = %s", raw)
	}
}

// blocking proposes nothing until its ctx ends; started says it was called.
func blocking(started chan<- struct{}) proposerFunc {
	return func(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
		select {
		case started <- struct{}{}:
		default:
		}
		<-ctx.Done()
		return nil, ctx.Err()
	}
}

func TestProveCancel(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	s := newServer(&fakeBackend{}, blocking(started))
	c := dial(t, s)
	ctx := context.Background()
	w, err := c.DispatchCall(ctx, MethodProve, ProveParams{Statement: "Theorem t : True.", Budget: &BudgetParams{TheoremTimeoutS: 60}}, jsonrpc2.PickID(jsonrpc2.ID{Str: "p-1", IsString: true}))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the search did not start")
	}
	if err := c.Notify(ctx, MethodCancel, map[string]any{"id": "p-1"}); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var re *jsonrpc2.Error
	if err := w.Wait(wctx, nil); !errors.As(err, &re) || re.Code != CodeCancelled {
		t.Fatalf("cancelled prove: %v, want code %d", err, CodeCancelled)
	}
	// A cancel right behind its request (same read loop) is not lost.
	w2, _ := c.DispatchCall(ctx, MethodSuggest, SuggestParams{State: "x"}, jsonrpc2.PickID(jsonrpc2.ID{Num: 77}))
	c.Notify(ctx, MethodCancel, map[string]any{"id": 77})
	if err := w2.Wait(wctx, nil); !errors.As(err, &re) || re.Code != CodeCancelled {
		t.Fatalf("suggest cancelled at once: %v, want code %d", err, CodeCancelled)
	}
	// Cancelling an unknown id is harmless; the connection goes on.
	c.Notify(ctx, MethodCancel, map[string]any{"id": 12345})
	c.Notify(ctx, MethodCancel, "garbage")
	if _, err := c.call(t, MethodInitialize, nil); err != nil {
		t.Fatal(err)
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{}
	s := newServer(b, fixed())
	c := dial(t, s)
	header := "Require Import Reals.\n"
	stmt := "Theorem t (x : R) : x = x."
	good := header + stmt + "\nProof.\n  lra.\nQed.\n"

	raw, err := c.call(t, MethodCheck, CheckParams{FileText: good})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"verified":true,"axioms":["ClassicalDedekindReals.sig_not_dec"]}`; string(raw) != want {
		t.Errorf("check = %s, want %s", raw, want)
	}
	raw, _ = c.call(t, MethodCheck, CheckParams{FileText: header + stmt + "\nProof.\n  auto.\nQed.\n"})
	if want := `{"verified":false,"axioms":[],"error":"coqc rejected the file"}`; string(raw) != want {
		t.Errorf("check bad proof = %s, want %s", raw, want)
	}
	// With the statement and its header: the backend's verifier judges the
	// file against that challenge.
	raw, _ = c.call(t, MethodCheck, CheckParams{FileText: good, Statement: stmt, Header: &header})
	if !strings.Contains(string(raw), `"verified":true`) {
		t.Errorf("check with statement = %s", raw)
	}
	// Another statement: the verifier says no.
	raw, _ = c.call(t, MethodCheck, CheckParams{FileText: good, Statement: "Theorem t (x : R) : x = x + 0."})
	if !strings.Contains(string(raw), `"verified":false`) || !strings.Contains(string(raw), "challenge") {
		t.Errorf("check with another statement = %s", raw)
	}
	// An explicit header that is not the file's.
	other := "Require Import ZArith.\n"
	raw, _ = c.call(t, MethodCheck, CheckParams{FileText: good, Statement: stmt, Header: &other})
	if !strings.Contains(string(raw), `"verified":false`) {
		t.Errorf("check with another header = %s", raw)
	}
	_, err = c.call(t, MethodCheck, CheckParams{FileText: "no theorem here"})
	wantCode(t, "check without a theorem", err, CodeInvalidParams, "params.file_text")
}

func TestParamErrors(t *testing.T) {
	t.Parallel()
	s := newServer(&fakeBackend{}, fixed("lra."))
	c := dial(t, s)
	for _, tc := range []struct {
		method string
		params any
		field  string
	}{
		{MethodSuggest, nil, "params"},
		{MethodSuggest, []int{1}, "params"},
		{MethodSuggest, map[string]any{"state": 3}, "params.state"},
		{MethodSuggest, map[string]any{"state": "x", "n": "five"}, "params.n"},
		{MethodSuggest, map[string]any{"state": "x", "n": -1}, "params.n"},
		{MethodSuggest, map[string]any{"state": "x", "theorm": map[string]any{}}, `"theorm"`},
		{MethodSuggest, map[string]any{"state": ""}, "params.state"},
		{MethodSuggest, map[string]any{"state": "x", "backend": "hol4"}, "params.backend"},
		{MethodSuggest, map[string]any{"state": "x", "theorem": map[string]any{"header": ""}}, "params.theorem.statement"},
		{MethodSuggest, map[string]any{"state": "x", "theorem": map[string]any{"statement": "1 + 1 = 2."}}, "params.theorem.statement"},
		{MethodSuggest, map[string]any{"state": "a\x00b"}, "params.state"},
		{MethodProve, map[string]any{"header": "x"}, "params.statement"},
		{MethodProve, map[string]any{"statement": "Theorem t : True.", "budget": map[string]any{"expansions": -3}}, "params.budget.expansions"},
		{MethodProve, map[string]any{"statement": "Theorem t : True.", "budget": map[string]any{"theorem_timeout_s": 1e5}}, "params.budget.theorem_timeout_s"},
		{MethodProve, map[string]any{"statement": "Theorem t : True.", "budget": "big"}, "params.budget"},
		{MethodCheck, map[string]any{}, "params.file_text"},
		{MethodCheck, map[string]any{"file_text": "Theorem t : True. Proof. auto. Qed.", "header": "x"}, "params.header"},
	} {
		_, err := c.call(t, tc.method, tc.params)
		wantCode(t, fmt.Sprintf("%s %v", tc.method, tc.params), err, CodeInvalidParams, tc.field)
	}
	_, err := c.call(t, "llemma/frobnicate", map[string]any{})
	wantCode(t, "unknown method", err, CodeMethodNotFound, "llemma/frobnicate")
}

func TestBackendUnavailable(t *testing.T) {
	t.Parallel()
	s := newServer(&fakeBackend{}, fixed("lra."))
	c := dial(t, s)
	_, err := c.call(t, MethodProve, ProveParams{Backend: "isabelle", Statement: `lemma t: "True"`})
	wantCode(t, "prove on isabelle", err, CodeUnavailable, "apt-get install isabelle")
	_, err = c.call(t, MethodCheck, CheckParams{Backend: "lean", FileText: "theorem t : True := trivial"})
	wantCode(t, "check on lean", err, CodeUnavailable, "lean is not installed")
	// Suggestions need only the policy: they work without the prover.
	raw, rerr := c.call(t, MethodSuggest, SuggestParams{Backend: "lean", State: "⊢ True"})
	if rerr != nil || !strings.Contains(string(raw), `"suggestions":[`) {
		t.Errorf("suggest on lean without its backend = %s, %v", raw, rerr)
	}
}

func TestBusyAndConcurrent(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 8)
	var release sync.WaitGroup
	release.Add(1)
	gate := proposerFunc(func(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
		if req.State.Text == "block" {
			started <- struct{}{}
			release.Wait()
		}
		return []prover.Candidate{{Tactic: "lra.", Score: -0.1}}, nil
	})
	s := newServer(&fakeBackend{}, gate)
	s.MaxConcurrent = 2
	c1, c2 := dial(t, s), dial(t, s)
	ctx := context.Background()
	var waits []jsonrpc2.Waiter
	for _, c := range []*client{c1, c2} {
		w, err := c.DispatchCall(ctx, MethodSuggest, SuggestParams{State: "block"})
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, w)
	}
	<-started
	<-started
	_, err := c1.call(t, MethodSuggest, SuggestParams{State: "x"})
	wantCode(t, "third request", err, CodeBusy, "busy")
	release.Done()
	for _, w := range waits {
		var r SuggestResult
		if err := w.Wait(ctx, &r); err != nil || len(r.Suggestions) != 1 {
			t.Fatalf("blocked request: %+v, %v", r, err)
		}
	}

	// Many requests on one connection and several connections at once:
	// every reply goes to its request.
	s2 := newServer(&fakeBackend{}, proposerFunc(func(ctx context.Context, req prover.ProposalRequest) ([]prover.Candidate, error) {
		return []prover.Candidate{{Tactic: "exact " + req.State.Text + ".", Score: -0.1}}, nil
	}))
	s2.MaxConcurrent = 64
	conns := []*client{dial(t, s2), dial(t, s2), dial(t, s2)}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 48 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := conns[i%len(conns)]
			var r SuggestResult
			name := fmt.Sprintf("h%d", i)
			if err := c.Call(ctx, MethodSuggest, SuggestParams{State: name}, &r); err != nil {
				errs <- err
				return
			}
			if len(r.Suggestions) != 1 || r.Suggestions[0].Tactic != "exact "+name+"." {
				errs <- fmt.Errorf("request %d got %+v", i, r)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestMalformedFrames(t *testing.T) {
	t.Parallel()
	s := newServer(&fakeBackend{}, fixed("lra."))
	s.MaxBody = 4096
	rc := dialRaw(t, s)
	for _, tc := range []struct{ name, send, want string }{
		{"not json", `{"jsonrpc":"2.0","id":1,"method":`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error: unexpected end of JSON input"}}`},
		{"batch", `[{"jsonrpc":"2.0","id":1,"method":"initialize"}]`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: batches are not supported"}}`},
		{"scalar", `42`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: a message must be a JSON object"}}`},
		{"no method", `{"jsonrpc":"2.0","id":7}`, `{"jsonrpc":"2.0","id":7,"error":{"code":-32600,"message":"invalid request: no method"}}`},
		{"method not a string", `{"jsonrpc":"2.0","id":"a","method":5}`, `{"jsonrpc":"2.0","id":"a","error":{"code":-32600,"message":"invalid request: method must be a string"}}`},
		{"bad id", `{"jsonrpc":"2.0","id":{"x":1},"method":"initialize"}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: id must be a string or a non-negative integer"}}`},
		{"fractional id", `{"jsonrpc":"2.0","id":1.5,"method":"initialize"}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"invalid request: id must be a string or a non-negative integer"}}`},
		{"too large", `{"jsonrpc":"2.0","id":9,"method":"llemma/suggest","params":{"state":"` + strings.Repeat("x", 5000) + `"}}`, `{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"message too large: 5072 bytes (the limit is 4096)"}}`},
		{"params not an object", `{"jsonrpc":"2.0","id":3,"method":"llemma/suggest","params":"x"}`, `{"id":3,"error":{"code":-32602,"message":"params: an object is required, got string"},"jsonrpc":"2.0"}`},
	} {
		rc.send(t, tc.send)
		if got := rc.mustRecv(t); got != tc.want {
			t.Errorf("%s: got  %s\nwant %s", tc.name, got, tc.want)
		}
	}
	// A response from the client is dropped; the stream goes on.
	rc.send(t, `{"jsonrpc":"2.0","id":1,"result":null}`)
	// Lenient framing: a Content-Type header, lower-case name, bare \n.
	body := `{"jsonrpc":"2.0","id":2,"method":"shutdown"}`
	rc.write(t, fmt.Sprintf("content-length: %d\nContent-Type: application/vscode-jsonrpc; charset=utf-8\n\n%s", len(body), body))
	if got := rc.mustRecv(t); got != `{"id":2,"result":null,"jsonrpc":"2.0"}` {
		t.Errorf("after the bad frames: %s", got)
	}
	// A header block without Content-Length cannot be resynchronised:
	// answered, then the connection closes.
	rc.write(t, "X-Foo: bar\r\n\r\n{}")
	if got := rc.mustRecv(t); got != `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"invalid frame: no Content-Length header"}}` {
		t.Errorf("no content-length: %s", got)
	}
	select {
	case <-rc.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the connection stayed open after a broken header")
	}
}

func TestTCPToken(t *testing.T) {
	t.Parallel()
	s := newServer(&fakeBackend{}, fixed("lra."))
	s.Token = "s3cret"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.ServeListener(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeListener: %v", err)
		}
	}()
	tcp := func() *client {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		c := &client{Conn: jsonrpc2.NewConn(ctx, jsonrpc2.NewBufferedStream(nc, jsonrpc2.VSCodeObjectCodec{}), noteHandler(make(chan *jsonrpc2.Request, 8)))}
		t.Cleanup(func() { c.Close() })
		return c
	}
	c := tcp()
	_, rerr := c.call(t, MethodSuggest, SuggestParams{State: "x"})
	wantCode(t, "suggest before initialize", rerr, CodeUnauthorized, "token")
	_, rerr = c.call(t, MethodInitialize, InitializeParams{Token: "wrong"})
	wantCode(t, "initialize with a wrong token", rerr, CodeUnauthorized, "token")
	if _, rerr = c.call(t, MethodInitialize, map[string]any{"initializationOptions": map[string]any{"token": "s3cret"}}); rerr != nil {
		t.Fatal(rerr)
	}
	if _, rerr = c.call(t, MethodSuggest, SuggestParams{State: "x"}); rerr != nil {
		t.Fatal(rerr)
	}
	// Another connection starts unauthenticated.
	c2 := tcp()
	_, rerr = c2.call(t, MethodSuggest, SuggestParams{State: "x"})
	wantCode(t, "second connection", rerr, CodeUnauthorized, "token")
}

func TestCloseStopsBackends(t *testing.T) {
	t.Parallel()
	b := &fakeBackend{}
	s := newServer(b, fixed("lra."))
	c := dial(t, s)
	if _, err := c.call(t, MethodCheck, CheckParams{FileText: "Theorem t : True.\nProof.\n  lra.\nQed.\n"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if b.closed != 1 {
		t.Errorf("backend closed %d times, want 1", b.closed)
	}
	_, err := c.call(t, MethodCheck, CheckParams{FileText: "Theorem t : True.\nProof.\n  lra.\nQed.\n"})
	wantCode(t, "check after Close", err, CodeInternalError, "closed")
}
