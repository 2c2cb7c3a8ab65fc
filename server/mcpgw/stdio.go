package mcpgw

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Limits of one line (one JSON-RPC message) a stdio client sends.
const (
	// MaxStdioLine bounds a message's size; longer lines are discarded.
	MaxStdioLine = 16 << 20
	// MaxStdioDepth bounds a message's JSON nesting (as MaxJSONDepth does
	// for HTTP bodies).
	MaxStdioDepth = 64
)

// ServeStdio serves the endpoint to one client over newline-delimited
// JSON-RPC on in and out (weft mcp: stdin and stdout) until ctx ends or in
// is closed. A line that is not a valid message — not JSON, nested deeper
// than MaxStdioDepth, longer than MaxStdioLine — does not end the session:
// it is answered with a JSON-RPC parse error when its id can be read, and
// otherwise dropped with a logged warning.
func (e *Endpoint) ServeStdio(ctx context.Context, in io.Reader, out io.Writer) error {
	return e.srv.Run(ctx, &lineTransport{in: in, out: out, log: e.log})
}

// lineTransport is an sdk.Transport over newline-delimited JSON-RPC that
// survives bad input (the SDK's StdioTransport ends the session on it).
type lineTransport struct {
	in  io.Reader
	out io.Writer
	log *slog.Logger
}

// Connect implements sdk.Transport.
func (t *lineTransport) Connect(context.Context) (sdk.Connection, error) {
	c := &lineConn{out: t.out, log: t.log, msgs: make(chan jsonrpc.Message), done: make(chan struct{})}
	go c.readLoop(bufio.NewReaderSize(t.in, 64<<10))
	return c, nil
}

type lineConn struct {
	out  io.Writer
	log  *slog.Logger
	msgs chan jsonrpc.Message

	wmu sync.Mutex // one write at a time

	closeOnce sync.Once
	done      chan struct{}
	errMu     sync.Mutex
	err       error // why reading ended
}

// readLoop reads lines until in ends, passing valid messages to Read.
func (c *lineConn) readLoop(r *bufio.Reader) {
	for {
		line, tooLong, err := readLine(r, MaxStdioLine)
		if len(bytes.TrimSpace(line)) > 0 || tooLong {
			if msg, ok := c.decode(line, tooLong); ok {
				select {
				case c.msgs <- msg:
				case <-c.done:
					return
				}
			}
		}
		if err != nil {
			c.errMu.Lock()
			c.err = err
			c.errMu.Unlock()
			close(c.msgs)
			return
		}
	}
}

// readLine reads one line without its newline. A line longer than max is
// discarded up to its end and reported with tooLong (line then holds its
// first max bytes).
func readLine(r *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := r.ReadSlice('\n')
		if len(line)+len(chunk) > max {
			if !tooLong {
				line = append(line, chunk[:max-len(line)]...)
			}
			tooLong = true
		} else {
			line = append(line, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), tooLong, err
	}
}

// decode returns the message of a line, or answers (or drops) a bad line.
func (c *lineConn) decode(line []byte, tooLong bool) (jsonrpc.Message, bool) {
	var reason string
	switch {
	case tooLong:
		reason = fmt.Sprintf("message longer than %d bytes", MaxStdioLine)
	case jsonDepth(line, MaxStdioDepth) > MaxStdioDepth:
		reason = fmt.Sprintf("JSON nested deeper than %d levels", MaxStdioDepth)
	default:
		msg, err := jsonrpc.DecodeMessage(line)
		if err == nil {
			return msg, true
		}
		reason = "invalid JSON-RPC message: " + err.Error()
	}
	id, ok := topLevelID(line)
	if !ok {
		c.log.Warn("dropped a bad line from the stdio client (no id to answer)", "reason", reason, "bytes", len(line))
		return nil, false
	}
	c.log.Warn("answered a bad line from the stdio client with a parse error", "reason", reason, "bytes", len(line))
	resp := &jsonrpc.Response{ID: id, Error: &jsonrpc.Error{Code: jsonrpc.CodeParseError, Message: "parse error: " + reason}}
	if err := c.Write(context.Background(), resp); err != nil {
		c.log.Warn("writing a parse error to the stdio client", "err", err)
	}
	return nil, false
}

// jsonDepth returns the nesting depth of the JSON text b, counting no
// further than limit+1.
func jsonDepth(b []byte, limit int) int {
	depth, deepest, inStr, esc := 0, 0, false, false
	for _, ch := range b {
		switch {
		case inStr:
			if esc {
				esc = false
			} else if ch == '\\' {
				esc = true
			} else if ch == '"' {
				inStr = false
			}
		case ch == '"':
			inStr = true
		case ch == '{' || ch == '[':
			depth++
			if depth > deepest {
				deepest = depth
				if deepest > limit {
					return deepest
				}
			}
		case ch == '}' || ch == ']':
			depth--
		}
	}
	return deepest
}

// topLevelID reads the "id" member of a (possibly invalid or too deep) JSON
// object, streaming, before anything after it is looked at.
func topLevelID(b []byte) (jsonrpc.ID, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return jsonrpc.ID{}, false
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return jsonrpc.ID{}, false
		}
		if key == "id" {
			tok, err := dec.Token()
			if err != nil {
				return jsonrpc.ID{}, false
			}
			var v any
			switch x := tok.(type) {
			case string:
				v = x
			case json.Number:
				f, err := x.Float64()
				if err != nil {
					return jsonrpc.ID{}, false
				}
				v = f
			default:
				return jsonrpc.ID{}, false
			}
			id, err := jsonrpc.MakeID(v)
			return id, err == nil
		}
		// Skip the value, however deep, token by token.
		for depth := -1; depth != 0; {
			tok, err := dec.Token()
			if err != nil {
				return jsonrpc.ID{}, false
			}
			if depth < 0 {
				depth = 0
			}
			switch tok {
			case json.Delim('{'), json.Delim('['):
				depth++
			case json.Delim('}'), json.Delim(']'):
				depth--
			}
		}
	}
	return jsonrpc.ID{}, false
}

// Read implements sdk.Connection.
func (c *lineConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	select {
	case msg, ok := <-c.msgs:
		if !ok {
			c.errMu.Lock()
			defer c.errMu.Unlock()
			return nil, c.err
		}
		return msg, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.done:
		return nil, io.EOF
	}
}

// Write implements sdk.Connection.
func (c *lineConn) Write(_ context.Context, msg jsonrpc.Message) error {
	b, err := jsonrpc.EncodeMessage(msg)
	if err != nil {
		return fmt.Errorf("mcpgw: stdio: encode message: %w", err)
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if _, err := c.out.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("mcpgw: stdio: write: %w", err)
	}
	return nil
}

// Close implements sdk.Connection.
func (c *lineConn) Close() error {
	c.closeOnce.Do(func() { close(c.done) })
	return nil
}

// SessionID implements sdk.Connection.
func (c *lineConn) SessionID() string { return "" }
