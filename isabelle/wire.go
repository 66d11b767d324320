package isabelle

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxMessage bounds one message's length in bytes; a larger length header
// is a protocol error (a real server's largest replies are megabytes).
const MaxMessage = 256 << 20

// ErrFraming: the bytes on the wire are not a valid message.
var ErrFraming = errors.New("isabelle: bad message framing")

// ReadMessage reads one message in the server's framing: a line (LF, one
// CR stripped); when the line is made of decimal digits only it is a length
// header N and the message is the next N bytes without their final line
// terminator. A length block cut short at EOF only by its final LF (as in a
// recording without a final newline) is accepted.
func ReadMessage(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		if err == io.EOF && line != "" {
			if isDigits(line) {
				return "", fmt.Errorf("%w: length header %q at end of input", ErrFraming, line)
			}
			return strings.TrimSuffix(line, "\r"), nil
		}
		return "", err
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if !isDigits(line) {
		return line, nil
	}
	if len(line) > 10 {
		return "", fmt.Errorf("%w: length header %q too large", ErrFraming, line)
	}
	n, err := strconv.Atoi(line)
	if err != nil || n > MaxMessage {
		return "", fmt.Errorf("%w: length header %q too large", ErrFraming, line)
	}
	// grow with the data actually received, not with the header's claim
	var buf strings.Builder
	got, err := io.CopyN(&buf, r, int64(n))
	if err != nil {
		if err == io.EOF && got == int64(n)-1 && n > 0 {
			// the block lacks only its final line terminator
			return strings.TrimSuffix(buf.String(), "\r"), nil
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	msg := buf.String()
	if strings.HasSuffix(msg, "\n") {
		msg = strings.TrimSuffix(strings.TrimSuffix(msg, "\n"), "\r")
	}
	return msg, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// WriteMessage sends msg as the client does: always length-prefixed,
// "N\n" followed by msg and a final LF, N counting that LF. So no message,
// whatever its content, can be mistaken for a length header.
func WriteMessage(w io.Writer, msg string) error {
	buf := make([]byte, 0, len(msg)+16)
	buf = strconv.AppendInt(buf, int64(len(msg)+1), 10)
	buf = append(buf, '\n')
	buf = append(buf, msg...)
	buf = append(buf, '\n')
	_, err := w.Write(buf)
	return err
}

// EncodeServerMessage frames msg exactly as the Isabelle server does: a
// message of at most 100 bytes without LF as "msg\n", anything else
// (longer, containing LF, or made of digits only) as "N\nmsg\n".
func EncodeServerMessage(msg string) []byte {
	if len(msg) <= 100 && !strings.Contains(msg, "\n") && !isDigits(msg) {
		return []byte(msg + "\n")
	}
	b := strconv.AppendInt(nil, int64(len(msg)+1), 10)
	b = append(b, '\n')
	b = append(b, msg...)
	return append(b, '\n')
}

// Message is one decoded message: NAME then an argument (JSON or empty).
type Message struct {
	Name string
	Arg  string // the raw argument text, blanks after the name removed
}

// ParseMessage splits a message into its name (the longest prefix of
// [A-Za-z0-9_.]) and argument.
func ParseMessage(s string) Message {
	i := 0
	for i < len(s) {
		c := s[i]
		if c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			i++
			continue
		}
		break
	}
	arg := strings.TrimLeft(s[i:], " \t")
	return Message{Name: s[:i], Arg: arg}
}

func (m Message) String() string {
	if m.Arg == "" {
		return m.Name
	}
	return m.Name + " " + m.Arg
}

// Decode unmarshals the argument as JSON into v.
func (m Message) Decode(v any) error {
	if m.Arg == "" {
		return fmt.Errorf("%s: empty argument", m.Name)
	}
	return json.Unmarshal([]byte(m.Arg), v)
}

// TaskID returns the "task" field of an object argument, or "".
func (m Message) TaskID() string {
	if !strings.HasPrefix(m.Arg, "{") {
		return ""
	}
	var v struct {
		Task string `json:"task"`
	}
	if json.Unmarshal([]byte(m.Arg), &v) != nil {
		return ""
	}
	return v.Task
}

// ErrorText returns the human-readable text of an ERROR or FAILED
// argument: a JSON string, or an object's "message".
func (m Message) ErrorText() string {
	var s string
	if json.Unmarshal([]byte(m.Arg), &s) == nil {
		return s
	}
	var v struct {
		Message string `json:"message"`
	}
	if json.Unmarshal([]byte(m.Arg), &v) == nil && v.Message != "" {
		return v.Message
	}
	return m.Arg
}
