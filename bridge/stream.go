package bridge

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"

	"github.com/sourcegraph/jsonrpc2"
)

// The LSP framing: "Content-Length: N\r\n\r\n" then N bytes of JSON.
// Writing is jsonrpc2.VSCodeObjectCodec's. Reading is ours, so that a
// malformed message costs an error response instead of the connection:
// jsonrpc2 closes the connection on any read error, and its codec leaves
// the rest of a bad body in the stream.
//
//   - a body that is not JSON: -32700, id null, the next frame is read;
//   - JSON that is not a request or response (a batch, no method, a bad
//     id): -32600, with the request's id when it has a usable one;
//   - a body over the size limit: skipped, -32600;
//   - a header block without Content-Length, or a broken one: -32700 and
//     the connection closes (the stream cannot be resynchronised).

// maxHeaderLines bounds the header block of one frame.
const maxHeaderLines = 16

// frameError is a bad message after which the stream is still in step.
type frameError struct {
	code int64
	msg  string
	id   json.RawMessage // the request's id, or nil for null
}

func (e *frameError) Error() string { return e.msg }

// response is the error response for the bad message.
func (e *frameError) response() json.RawMessage {
	id := json.RawMessage("null")
	if e.id != nil {
		id = e.id
	}
	msg, _ := json.Marshal(e.msg)
	return json.RawMessage(fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":%d,"message":%s}}`, id, e.code, msg))
}

// fatalFrame is a header error: it is answered, then the connection closes.
type fatalFrame struct{ frameError }

type frameCodec struct {
	jsonrpc2.VSCodeObjectCodec
	max int64
}

// ReadObject reads one frame into v.
func (c frameCodec) ReadObject(r *bufio.Reader, v any) error {
	length := int64(-1)
	for lines := 0; ; lines++ {
		line, err := r.ReadSlice('\n')
		if err != nil {
			if lines == 0 && len(line) == 0 && errors.Is(err, io.EOF) {
				return io.EOF
			}
			if errors.Is(err, bufio.ErrBufferFull) {
				return &fatalFrame{frameError{code: CodeParseError, msg: "invalid frame: header line too long"}}
			}
			return io.ErrUnexpectedEOF
		}
		if lines >= maxHeaderLines {
			return &fatalFrame{frameError{code: CodeParseError, msg: "invalid frame: too many header lines"}}
		}
		h := strings.TrimRight(string(line), "\r\n")
		if h == "" {
			if lines == 0 {
				continue // stray blank line between frames
			}
			break
		}
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return &fatalFrame{frameError{code: CodeParseError, msg: fmt.Sprintf("invalid frame: header %q is not `Name: value`", clip(h, 60))}}
		}
		if strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil || n < 0 {
				return &fatalFrame{frameError{code: CodeParseError, msg: fmt.Sprintf("invalid frame: Content-Length %q", clip(value, 30))}}
			}
			length = n
		}
	}
	if length < 0 {
		return &fatalFrame{frameError{code: CodeParseError, msg: "invalid frame: no Content-Length header"}}
	}
	if length > c.max {
		if _, err := io.CopyN(io.Discard, r, length); err != nil {
			return io.ErrUnexpectedEOF
		}
		return &frameError{code: CodeInvalidRequest, msg: fmt.Sprintf("message too large: %d bytes (the limit is %d)", length, c.max)}
	}
	body := make([]byte, length)
	if _, err := io.ReadFull(r, body); err != nil {
		return io.ErrUnexpectedEOF
	}
	if err := validateMessage(body); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &frameError{code: CodeInvalidRequest, msg: "invalid request: " + err.Error()}
	}
	return nil
}

// validateMessage checks what jsonrpc2 would refuse (closing the
// connection), so that v is only written with a message it accepts.
func validateMessage(body []byte) error {
	if !json.Valid(body) {
		var x any
		err := json.Unmarshal(body, &x)
		return &frameError{code: CodeParseError, msg: fmt.Sprintf("parse error: %v", err)}
	}
	t := bytes.TrimSpace(body)
	if len(t) > 0 && t[0] == '[' {
		return &frameError{code: CodeInvalidRequest, msg: "invalid request: batches are not supported"}
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t, &m); err != nil {
		return &frameError{code: CodeInvalidRequest, msg: "invalid request: a message must be a JSON object"}
	}
	var id json.RawMessage
	if raw, ok := m["id"]; ok && !isNull(raw) {
		var n int64
		var s string
		numeric := json.Unmarshal(raw, &n) == nil && n >= 0 && !bytes.ContainsAny(raw, ".eE")
		if !numeric && json.Unmarshal(raw, &s) != nil {
			return &frameError{code: CodeInvalidRequest, msg: "invalid request: id must be a string or a non-negative integer"}
		}
		id = raw
	}
	method, isReq := m["method"]
	_, hasResult := m["result"]
	_, hasError := m["error"]
	switch {
	case isReq && (hasResult || hasError):
		return &frameError{code: CodeInvalidRequest, msg: "invalid request: both method and result/error", id: id}
	case !isReq && !hasResult && !hasError:
		return &frameError{code: CodeInvalidRequest, msg: "invalid request: no method", id: id}
	case !isReq:
		// A response: this server sends no requests, so none is awaited.
		return errSkip
	}
	var name string
	if json.Unmarshal(method, &name) != nil {
		return &frameError{code: CodeInvalidRequest, msg: "invalid request: method must be a string", id: id}
	}
	return nil
}

// errSkip drops a message without an answer.
var errSkip = errors.New("skip")

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// lspStream answers bad messages itself and reads on.
type lspStream struct {
	inner jsonrpc2.ObjectStream
	log   *slog.Logger
}

func newLSPStream(rwc io.ReadWriteCloser, max int64, log *slog.Logger) *lspStream {
	return &lspStream{inner: jsonrpc2.NewBufferedStream(rwc, frameCodec{max: max}), log: log}
}

func (s *lspStream) ReadObject(v any) error {
	for {
		err := s.inner.ReadObject(v)
		var fatal *fatalFrame
		var fe *frameError
		switch {
		case errors.As(err, &fatal):
			s.log.Warn("closing the connection after a malformed frame", "err", fatal.msg)
			_ = s.inner.WriteObject(fatal.response())
			return err
		case errors.Is(err, errSkip):
			s.log.Warn("ignoring a response: this server sends no requests")
			continue
		case errors.As(err, &fe):
			s.log.Warn("malformed message", "err", fe.msg)
			if werr := s.inner.WriteObject(fe.response()); werr != nil {
				return werr
			}
			continue
		}
		return err
	}
}

func (s *lspStream) WriteObject(obj any) error { return s.inner.WriteObject(obj) }
func (s *lspStream) Close() error              { return s.inner.Close() }
