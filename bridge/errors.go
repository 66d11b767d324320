package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/sourcegraph/jsonrpc2"

	"github.com/llemma-prove/llemma-prove/prover"
)

// JSON-RPC error codes. Every error the server sends carries one of these
// (never 0).
const (
	CodeParseError     = jsonrpc2.CodeParseError     // -32700: a frame that is not JSON
	CodeInvalidRequest = jsonrpc2.CodeInvalidRequest // -32600: not a request, too large, after shutdown
	CodeMethodNotFound = jsonrpc2.CodeMethodNotFound // -32601
	CodeInvalidParams  = jsonrpc2.CodeInvalidParams  // -32602: the message names the field
	CodeInternalError  = jsonrpc2.CodeInternalError  // -32603: the machinery failed
	CodeCancelled      = -32800                      // LSP RequestCancelled: $/cancelRequest
	CodeUnavailable    = -32001                      // the backend is not installed; the message says what to install
	CodeBusy           = -32002                      // the concurrency limit is reached; retry later
	CodeTimeout        = -32003                      // the request ran past the server's request timeout
	CodeUnauthorized   = -32004                      // a token is required: send it in initialize
)

var (
	errRequestCancelled = errors.New("bridge: request cancelled")
	errRequestTimeout   = errors.New("bridge: request timed out")
)

func rpcErr(code int64, format string, args ...any) *jsonrpc2.Error {
	return &jsonrpc2.Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func invalidParams(format string, args ...any) *jsonrpc2.Error {
	return rpcErr(CodeInvalidParams, format, args...)
}

func errBusy(limit int) *jsonrpc2.Error {
	return rpcErr(CodeBusy, "server busy: %d requests already running (the limit); retry later", limit)
}

// toRPCError maps any error to a *jsonrpc2.Error with a deliberate code.
// ctx is the request's: its cause tells a cancel from a timeout.
func toRPCError(ctx context.Context, err error) *jsonrpc2.Error {
	var re *jsonrpc2.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &re):
		return re
	case errors.Is(context.Cause(ctx), errRequestCancelled):
		return rpcErr(CodeCancelled, "request cancelled")
	case errors.Is(context.Cause(ctx), errRequestTimeout):
		return rpcErr(CodeTimeout, "request timed out: %v", err)
	case errors.Is(err, prover.ErrUnavailable):
		return rpcErr(CodeUnavailable, "%v", err)
	case errors.Is(err, prover.ErrLoad):
		return invalidParams("theorem: %v", err)
	}
	return rpcErr(CodeInternalError, "%v", err)
}

// httpStatus is the HTTP status of a JSON-RPC error code.
func httpStatus(code int64) int {
	switch code {
	case CodeInvalidParams, CodeInvalidRequest, CodeParseError:
		return http.StatusBadRequest
	case CodeBusy, CodeUnavailable:
		return http.StatusServiceUnavailable
	case CodeTimeout:
		return http.StatusGatewayTimeout
	case CodeUnauthorized:
		return http.StatusUnauthorized
	case CodeCancelled:
		return 499 // client closed request
	}
	return http.StatusInternalServerError
}
