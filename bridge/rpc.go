package bridge

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/google/uuid"
	"github.com/sourcegraph/jsonrpc2"
)

// ServeConn speaks JSON-RPC 2.0 with LSP framing on rwc until the peer
// hangs up, sends exit, or ctx ends. trusted connections (stdio, whose
// parent owns the pipe) are never asked for the token. It returns after
// every request of the connection has finished.
func (s *Server) ServeConn(ctx context.Context, rwc io.ReadWriteCloser, trusted bool) error {
	s.init()
	h := &rpcHandler{s: s, running: map[jsonrpc2.ID]context.CancelCauseFunc{}, authed: trusted || s.Token == ""}
	stream := newLSPStream(rwc, s.MaxBody, s.Log)
	conn := jsonrpc2.NewConn(ctx, stream, h, jsonrpc2.SetLogger(slog.NewLogLogger(s.Log.Handler(), slog.LevelWarn)))
	<-conn.DisconnectNotify()
	h.wg.Wait()
	return nil
}

// ServeListener accepts JSON-RPC connections on ln until ctx ends, then
// closes ln and waits for the connections to finish.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	s.init()
	var wg sync.WaitGroup
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			wg.Wait()
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		s.Log.Info("json-rpc connection", "remote", c.RemoteAddr().String())
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.ServeConn(ctx, c, false)
		}()
	}
}

// rpcHandler is one connection's state. Handle runs on the read loop: it
// answers cheap methods inline and starts a goroutine per heavy request,
// after registering the request's cancel func so that a $/cancelRequest
// read right behind it finds it.
type rpcHandler struct {
	s  *Server
	wg sync.WaitGroup

	mu       sync.Mutex
	running  map[jsonrpc2.ID]context.CancelCauseFunc
	shutdown bool
	authed   bool
}

func (h *rpcHandler) Handle(ctx context.Context, conn *jsonrpc2.Conn, req *jsonrpc2.Request) {
	reply := func(result any, err *jsonrpc2.Error) {
		if req.Notif {
			return
		}
		var e error
		if err != nil {
			e = conn.ReplyWithError(ctx, req.ID, err)
		} else {
			e = conn.Reply(ctx, req.ID, result)
		}
		if e != nil && !errors.Is(e, jsonrpc2.ErrClosed) {
			h.s.Log.Warn("sending a reply", "method", req.Method, "err", e)
		}
	}
	h.mu.Lock()
	shutdown, authed := h.shutdown, h.authed
	h.mu.Unlock()

	switch req.Method {
	case MethodExit:
		conn.Close()
		return
	case MethodCancel:
		h.cancel(req)
		return
	case MethodInitialize:
		var p InitializeParams
		if req.Params != nil {
			// Lenient: LSP clients send much else; only the token matters.
			_ = json.Unmarshal(*req.Params, &p)
		}
		if !authed {
			tok := p.Token
			if tok == "" && p.InitializationOptions != nil {
				tok = p.InitializationOptions.Token
			}
			if subtle.ConstantTimeCompare([]byte(tok), []byte(h.s.Token)) != 1 {
				reply(nil, rpcErr(CodeUnauthorized, "unauthorized: initialize must carry this server's token (params.token)"))
				return
			}
			h.mu.Lock()
			h.authed = true
			h.mu.Unlock()
		}
		reply(InitializeResult{ServerInfo: ServerInfo{Name: "llemma-prove", Version: h.s.Version}, Methods: Methods}, nil)
		return
	}
	if !authed {
		reply(nil, rpcErr(CodeUnauthorized, "unauthorized: send initialize with this server's token (params.token) first"))
		return
	}
	if shutdown {
		reply(nil, rpcErr(CodeInvalidRequest, "the server is shutting down: only exit is accepted"))
		return
	}
	switch req.Method {
	case MethodShutdown:
		h.mu.Lock()
		h.shutdown = true
		h.mu.Unlock()
		reply(nil, nil)
		return
	case MethodSuggest, MethodProve, MethodCheck, MethodFill:
	default:
		if req.Notif {
			return // LSP notifications (initialized, didOpen, ...) are ignored
		}
		reply(nil, rpcErr(CodeMethodNotFound, "method not found: %s", req.Method))
		return
	}
	if req.Notif {
		h.s.Log.Warn("ignoring a notification of a method that needs an id", "method", req.Method)
		return
	}
	work, perr := h.prepare(conn, req)
	if perr != nil {
		reply(nil, perr)
		return
	}
	release, err := h.s.acquire()
	if err != nil {
		reply(nil, toRPCError(ctx, err))
		return
	}
	wctx, cancel := context.WithCancelCause(ctx)
	h.mu.Lock()
	if _, dup := h.running[req.ID]; dup {
		h.mu.Unlock()
		cancel(nil)
		release()
		reply(nil, rpcErr(CodeInvalidRequest, "request id %s is already running", req.ID))
		return
	}
	h.running[req.ID] = cancel
	h.mu.Unlock()
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		defer release()
		defer func() {
			h.mu.Lock()
			delete(h.running, req.ID)
			h.mu.Unlock()
			cancel(nil)
		}()
		result, err := work(wctx)
		switch {
		case errors.Is(context.Cause(wctx), errRequestCancelled):
			reply(nil, rpcErr(CodeCancelled, "request cancelled"))
		case err != nil:
			reply(nil, toRPCError(wctx, err))
		default:
			reply(result, nil)
		}
	}()
}

// prepare decodes a heavy request's params on the read loop and returns
// the work to run on its goroutine.
func (h *rpcHandler) prepare(conn *jsonrpc2.Conn, req *jsonrpc2.Request) (func(context.Context) (any, error), *jsonrpc2.Error) {
	s := h.s
	switch req.Method {
	case MethodSuggest:
		var p SuggestParams
		if err := decodeParams(req.Params, &p); err != nil {
			return nil, err
		}
		return func(ctx context.Context) (any, error) {
			ctx, cancel := withTimeout(ctx, s.RequestTimeout)
			defer cancel()
			r, err := s.Suggest(ctx, p)
			if err != nil {
				return nil, toRPCError(ctx, err)
			}
			return r, nil
		}, nil
	case MethodCheck:
		var p CheckParams
		if err := decodeParams(req.Params, &p); err != nil {
			return nil, err
		}
		return func(ctx context.Context) (any, error) {
			ctx, cancel := withTimeout(ctx, s.RequestTimeout)
			defer cancel()
			r, err := s.Check(ctx, p)
			if err != nil {
				return nil, toRPCError(ctx, err)
			}
			return r, nil
		}, nil
	case MethodProve:
		var p ProveParams
		if err := decodeParams(req.Params, &p); err != nil {
			return nil, err
		}
		token := p.WorkDoneToken
		switch token.(type) {
		case string, float64:
		default:
			token = uuid.NewString()
		}
		return func(ctx context.Context) (any, error) {
			progress := func(msg string, pct *int) {
				err := conn.Notify(ctx, MethodProgress, ProgressParams{Token: token, Value: ProgressValue{Kind: "report", Message: msg, Percentage: pct}})
				if err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
					s.Log.Warn("sending progress", "err", err)
				}
			}
			r, err := s.Prove(ctx, p, progress)
			if err != nil {
				return nil, toRPCError(ctx, err)
			}
			return r, nil
		}, nil
	case MethodFill:
		var p FillParams
		if err := decodeParams(req.Params, &p); err != nil {
			return nil, err
		}
		token := p.Token
		switch token.(type) {
		case string, float64:
		default:
			token = uuid.NewString()
		}
		return func(ctx context.Context) (any, error) {
			onHole := func(h HoleInfo) {
				if err := conn.Notify(ctx, MethodHole, HoleParams{Token: token, Hole: h}); err != nil && !errors.Is(err, jsonrpc2.ErrClosed) {
					s.Log.Warn("sending a hole", "err", err)
				}
			}
			r, err := s.Fill(ctx, p, onHole)
			if err != nil {
				return nil, toRPCError(ctx, err)
			}
			return r, nil
		}, nil
	}
	return nil, rpcErr(CodeMethodNotFound, "method not found: %s", req.Method)
}

// cancel handles $/cancelRequest inline: the request's goroutine sees its
// ctx cancelled with errRequestCancelled and answers CodeCancelled.
func (h *rpcHandler) cancel(req *jsonrpc2.Request) {
	var p struct {
		ID json.RawMessage `json:"id"`
	}
	if req.Params == nil || json.Unmarshal(*req.Params, &p) != nil {
		return
	}
	var id jsonrpc2.ID
	if err := json.Unmarshal(p.ID, &id); err != nil {
		return
	}
	h.mu.Lock()
	cancel := h.running[id]
	h.mu.Unlock()
	if cancel != nil {
		cancel(errRequestCancelled)
	}
}

// ServeStdio serves one trusted JSON-RPC connection on in and out (the
// process's stdin and stdout: nothing else may write to out).
func (s *Server) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	return s.ServeConn(ctx, stdio{in, out}, true)
}

type stdio struct {
	io.Reader
	io.Writer
}

func (c stdio) Close() error {
	var errs []error
	if rc, ok := c.Reader.(io.Closer); ok {
		errs = append(errs, rc.Close())
	}
	if wc, ok := c.Writer.(io.Closer); ok {
		errs = append(errs, wc.Close())
	}
	return errors.Join(errs...)
}
