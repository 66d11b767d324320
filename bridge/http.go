package bridge

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/sourcegraph/jsonrpc2"
)

// HTTPHandler serves the editor schemas:
//
//	POST /          llmstep: {tactic_state, prefix, context} -> {suggestions: [string]}
//	POST /generate  Lean Copilot: {name, input, prefix} -> {outputs: [{output, score}]}
//	GET  /health    {status, version, backend}
//
// Errors are {"error": "..."} with a status: 400 bad request, 401 no or
// wrong token, 404, 405, 413 body too large, 503 busy or backend
// unavailable, 504 timed out.
func (s *Server) HTTPHandler() http.Handler {
	s.init()
	return http.HandlerFunc(s.serveHTTP)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	var post func(context.Context, []byte) (any, error)
	switch r.URL.Path {
	case "/health":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": s.Version, "backend": s.DefaultBackend})
		return
	case "/":
		post = s.llmstep
	case "/generate":
		post = s.generate
	default:
		writeError(w, http.StatusNotFound, "not found: "+r.URL.Path+" (the endpoints are POST /, POST /generate and GET /health)")
		return
	}
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	if s.Token != "" {
		auth := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(auth, "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.Token)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="llemma-prove"`)
			writeError(w, http.StatusUnauthorized, "unauthorized: send Authorization: Bearer TOKEN")
			return
		}
	}
	if r.ContentLength > s.MaxBody {
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
			return
		}
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return
	}
	release, err := s.acquire()
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.(*jsonrpc2.Error).Message)
		return
	}
	defer release()
	ctx, cancel := withTimeout(r.Context(), s.RequestTimeout)
	defer cancel()
	res, err := post(ctx, body)
	if err != nil {
		e := toRPCError(ctx, err)
		writeError(w, httpStatus(e.Code), e.Message)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// decodeBody reads a JSON object; unknown fields are ignored, as the
// Python servers do.
func decodeBody(body []byte, v any) error {
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return invalidParams("%s: got %s, want %s", te.Field, te.Value, jsonType(te.Type.Kind().String()))
		}
		return invalidParams("the body is not a JSON object: %v", err)
	}
	return nil
}

// llmstep answers llmstep's POST /.
func (s *Server) llmstep(ctx context.Context, body []byte) (any, error) {
	var req LLMStepRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.TacticState) == "" {
		return nil, invalidParams("tactic_state is required")
	}
	sugs, err := s.suggest(ctx, suggestQuery{
		backend: s.DefaultBackend,
		state:   req.TacticState,
		prefix:  req.Prefix,
		name:    lastTheoremName(req.Context),
	})
	if err != nil {
		return nil, err
	}
	res := LLMStepResponse{Suggestions: make([]string, 0, len(sugs))}
	for _, sg := range sugs {
		res.Suggestions = append(res.Suggestions, sg.tactic)
	}
	return res, nil
}

// generate answers Lean Copilot's POST /generate.
func (s *Server) generate(ctx context.Context, body []byte) (any, error) {
	var req GenerateRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if strings.TrimSpace(req.Input) == "" {
		return nil, invalidParams("input is required")
	}
	sugs, err := s.suggest(ctx, suggestQuery{
		backend:   s.DefaultBackend,
		state:     req.Input,
		prefix:    req.Prefix,
		dropAesop: true,
	})
	if err != nil {
		return nil, err
	}
	res := GenerateResponse{Outputs: make([]GenerateOutput, 0, len(sugs))}
	for _, sg := range sugs {
		res.Outputs = append(res.Outputs, GenerateOutput{Output: sg.tactic, Score: math.Exp(sg.score)})
	}
	return res, nil
}

// writeJSON writes compact JSON without HTML escaping and without a
// trailing newline, as FastAPI does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"encoding the response failed"}` + "\n")
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method not allowed: use "+allow)
}

// ServeHTTPListener serves HTTPHandler on ln until ctx ends, then shuts
// down gracefully: running requests get up to grace to finish, then their
// contexts are cancelled.
func (s *Server) ServeHTTPListener(ctx context.Context, ln net.Listener) error {
	s.init()
	base, cancelBase := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelBase()
	srv := &http.Server{
		Handler:           s.HTTPHandler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      s.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return base },
		ErrorLog:          slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(base, shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		cancelBase()
		srv.Close()
	}
	<-done
	if errors.Is(err, context.DeadlineExceeded) {
		err = nil // the stragglers were cancelled
	}
	return err
}

// shutdownGrace is how long running HTTP requests may take to finish
// after shutdown begins.
var shutdownGrace = 5 * time.Second
