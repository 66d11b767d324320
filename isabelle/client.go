package isabelle

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/llemma-prove/llemma-prove/prover"
)

// ErrPasswordRefused: the server closed the connection after the password
// line, which is how it refuses a wrong password.
var ErrPasswordRefused = errors.New("isabelle: server refused the password")

// ServerError is an ERROR reply to a synchronous command.
type ServerError struct {
	Command string
	Message string // the error text
	Raw     string // the argument as sent
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("isabelle %s: %s", e.Command, e.Message)
}

// TaskFailed is a FAILED end of an asynchronous task.
type TaskFailed struct {
	Command string
	Task    string
	Message string // e.g. "Interrupt" after cancel
	Raw     string
}

func (e *TaskFailed) Error() string {
	return fmt.Sprintf("isabelle %s task failed: %s", e.Command, e.Message)
}

// Interrupted reports whether the task ended because it was canceled.
func (e *TaskFailed) Interrupted() bool { return e.Message == "Interrupt" }

type waiter struct {
	async  bool // the OK carries a task id: register the task before replying
	onNote func(Message)
	reply  chan Message // buffered 1
	task   *Task        // set by the reader for an async OK
}

// Task is a running asynchronous command.
type Task struct {
	ID      string
	command string
	c       *Client
	onNote  func(Message)
	end     chan Message // FINISHED or FAILED, buffered 1
}

// Client is one TCP connection to an Isabelle server. One reader goroutine
// routes replies: OK/ERROR to the FIFO of synchronous callers,
// FINISHED/FAILED/NOTE to their task by id, task-less NOTEs to Notes.
// A Client is safe for concurrent use.
type Client struct {
	conn  net.Conn
	wmu   sync.Mutex // serializes writes and the FIFO order of waiters
	mu    sync.Mutex
	fifo  []*waiter
	tasks map[string]*Task
	early map[string][]Message // task messages that beat their registration
	notes func(Message)        // task-less NOTEs
	done  chan struct{}
	err   error // why the connection ended, set before done closes
	once  sync.Once
}

// DialOptions configures Dial.
type DialOptions struct {
	// OnNote receives NOTEs without a task id (nodes_status). It runs on the
	// reader goroutine and must not block.
	OnNote func(Message)
}

// Dial connects to addr (host:port, loopback for a local server), sends the
// password and waits for the server's OK greeting.
func Dial(ctx context.Context, addr, password string, opt DialOptions) (*Client, map[string]any, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, fmt.Errorf("connecting to isabelle server %s: %w", addr, err)
	}
	// the password and the greeting within ctx's deadline (writeTimeout
	// without one)
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(writeTimeout))
	}
	br := bufio.NewReaderSize(conn, 64<<10)
	if _, err := io.WriteString(conn, password+"\n"); err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("sending password to %s: %w", addr, err)
	}
	line, err := ReadMessage(br)
	if err != nil {
		conn.Close()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
			return nil, nil, fmt.Errorf("%w (%s)", ErrPasswordRefused, addr)
		}
		return nil, nil, fmt.Errorf("reading isabelle greeting from %s: %w", addr, err)
	}
	m := ParseMessage(line)
	if m.Name != "OK" {
		conn.Close()
		return nil, nil, fmt.Errorf("isabelle greeting from %s: unexpected %q", addr, clip(line, 200))
	}
	var info map[string]any
	_ = json.Unmarshal([]byte(m.Arg), &info)
	_ = conn.SetDeadline(time.Time{})
	c := &Client{
		conn:  conn,
		tasks: map[string]*Task{},
		early: map[string][]Message{},
		notes: opt.OnNote,
		done:  make(chan struct{}),
	}
	go c.readLoop(br)
	return c, info, nil
}

func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// Done is closed when the connection has ended; Err then says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is up).
func (c *Client) Err() error {
	select {
	case <-c.done:
		return c.err
	default:
		return nil
	}
}

// Close closes the connection (the server then cancels its tasks).
func (c *Client) Close() error {
	c.shutdown(prover.ErrClosed)
	return nil
}

func (c *Client) shutdown(err error) {
	c.once.Do(func() {
		c.mu.Lock()
		c.err = err
		c.mu.Unlock()
		c.conn.Close()
		close(c.done)
	})
}

func (c *Client) readLoop(br *bufio.Reader) {
	for {
		line, err := ReadMessage(br)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			c.shutdown(fmt.Errorf("%w: isabelle connection lost: %v", prover.ErrProcessDied, err))
			return
		}
		c.dispatch(ParseMessage(line))
	}
}

func (c *Client) dispatch(m Message) {
	switch m.Name {
	case "OK", "ERROR":
		c.mu.Lock()
		if len(c.fifo) == 0 {
			c.mu.Unlock()
			return // an unsolicited reply: nobody waits for it
		}
		w := c.fifo[0]
		c.fifo = c.fifo[1:]
		if w.async && m.Name == "OK" {
			if id := m.TaskID(); id != "" {
				t := &Task{ID: id, c: c, onNote: w.onNote, end: make(chan Message, 1)}
				c.tasks[id] = t
				w.task = t
				for _, e := range c.early[id] {
					c.deliverLocked(t, e)
				}
				delete(c.early, id)
			}
		}
		c.mu.Unlock()
		w.reply <- m
	case "FINISHED", "FAILED", "NOTE":
		id := m.TaskID()
		c.mu.Lock()
		if id == "" {
			c.mu.Unlock()
			if m.Name == "NOTE" && c.notes != nil {
				c.notes(m)
			}
			return
		}
		t := c.tasks[id]
		if t == nil {
			if len(c.early) < 256 && len(c.early[id]) < 64 {
				c.early[id] = append(c.early[id], m)
			}
			c.mu.Unlock()
			return
		}
		c.deliverLocked(t, m)
		c.mu.Unlock()
	}
}

func (c *Client) deliverLocked(t *Task, m Message) {
	if m.Name == "NOTE" {
		if t.onNote != nil {
			t.onNote(m)
		}
		return
	}
	delete(c.tasks, t.ID)
	select {
	case t.end <- m:
	default:
	}
}

// writeTimeout bounds one write when the caller's deadline is later (or
// absent): a server that reads nothing for that long is not answering.
const writeTimeout = 30 * time.Second

// send writes one command and queues a waiter for its OK/ERROR. The write
// is bounded by ctx's deadline (at most writeTimeout); one cut short
// breaks the framing, so it ends the connection.
func (c *Client) send(ctx context.Context, name string, arg any, w *waiter) error {
	msg := name
	if arg != nil {
		b, err := json.Marshal(arg)
		if err != nil {
			return fmt.Errorf("encoding %s argument: %w", name, err)
		}
		msg += " " + string(b)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	select {
	case <-c.done:
		return c.err
	default:
	}
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	c.mu.Lock()
	c.fifo = append(c.fifo, w)
	c.mu.Unlock()
	deadline := time.Now().Add(writeTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	_ = c.conn.SetWriteDeadline(deadline)
	if err := WriteMessage(c.conn, msg); err != nil {
		c.shutdown(fmt.Errorf("%w: writing to isabelle server: %v", prover.ErrProcessDied, err))
		return c.Err()
	}
	return nil
}

func (c *Client) wait(ctx context.Context, name string, w *waiter) (Message, error) {
	select {
	case m := <-w.reply:
		if m.Name == "ERROR" {
			return m, &ServerError{Command: name, Message: m.ErrorText(), Raw: m.Arg}
		}
		return m, nil
	case <-c.done:
		// the reply may have been delivered just before the end
		select {
		case m := <-w.reply:
			if m.Name == "ERROR" {
				return m, &ServerError{Command: name, Message: m.ErrorText(), Raw: m.Arg}
			}
			return m, nil
		default:
		}
		return Message{}, c.err
	case <-ctx.Done():
		return Message{}, context.Cause(ctx)
	}
}

// Call runs a synchronous command (arg nil: no argument) and returns its OK
// reply; an ERROR reply is a *ServerError.
func (c *Client) Call(ctx context.Context, name string, arg any) (Message, error) {
	w := &waiter{reply: make(chan Message, 1)}
	if err := c.send(ctx, name, arg, w); err != nil {
		return Message{}, err
	}
	return c.wait(ctx, name, w)
}

// Start runs an asynchronous command and returns its task once the server
// has accepted it. onNote (may be nil) receives the task's NOTEs on the
// reader goroutine and must not block.
func (c *Client) Start(ctx context.Context, name string, arg any, onNote func(Message)) (*Task, error) {
	w := &waiter{async: true, onNote: onNote, reply: make(chan Message, 1)}
	if err := c.send(ctx, name, arg, w); err != nil {
		return nil, err
	}
	m, err := c.wait(ctx, name, w)
	if err != nil {
		return nil, err
	}
	id := m.TaskID()
	if id == "" {
		return nil, fmt.Errorf("isabelle %s: reply without task id: %q", name, clip(m.Arg, 200))
	}
	c.mu.Lock()
	t := w.task
	c.mu.Unlock()
	if t == nil || t.ID != id {
		return nil, fmt.Errorf("isabelle %s: task %s was not registered", name, id)
	}
	t.command = name
	return t, nil
}

// Wait waits for the task's end: the FINISHED argument, or a *TaskFailed.
// When ctx ends first the task keeps running; call Cancel.
func (t *Task) Wait(ctx context.Context) (json.RawMessage, error) {
	select {
	case m := <-t.end:
		return t.result(m)
	case <-t.c.done:
		select {
		case m := <-t.end:
			return t.result(m)
		default:
		}
		return nil, t.c.err
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}

func (t *Task) result(m Message) (json.RawMessage, error) {
	if m.Name == "FAILED" {
		return nil, &TaskFailed{Command: t.command, Task: t.ID, Message: m.ErrorText(), Raw: m.Arg}
	}
	return json.RawMessage(m.Arg), nil
}

// Cancel asks the server to interrupt a task; the task then normally ends
// FAILED "Interrupt".
func (c *Client) Cancel(ctx context.Context, task string) error {
	_, err := c.Call(ctx, "cancel", map[string]string{"task": task})
	return err
}

// Run starts a task and waits for its end.
func (c *Client) Run(ctx context.Context, name string, arg any, onNote func(Message)) (json.RawMessage, error) {
	t, err := c.Start(ctx, name, arg, onNote)
	if err != nil {
		return nil, err
	}
	return t.Wait(ctx)
}

// Shutdown asks the server to stop all sessions and exit.
func (c *Client) Shutdown(ctx context.Context) error {
	_, err := c.Call(ctx, "shutdown", nil)
	return err
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
