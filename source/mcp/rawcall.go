package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/source"
)

// The hot path of a proxied tools/call (issue 15). The SDK's
// ClientSession.CallTool decodes the upstream's answer three times with a
// fresh 32 KiB decoder buffer each (the JSON-RPC message, the result into
// CallToolResult, its UnmarshalJSON), and weft then re-encodes every
// content block. weft keeps the result as raw JSON anyway, so for sessions
// on a protocol before 2026-07-28 (no per-request _meta triple to add)
// Upstream.Call sends tools/call itself over the SDK's own connection and
// takes the answer out of the incoming stream before the SDK's JSON-RPC
// layer sees it: the transport's one decode of the message remains, the
// result is split into its members once with encoding/json, and the content
// blocks are kept as the upstream sent them.
//
// Everything else about the call is as the SDK does it: the same
// connection (its writes, HTTP session and headers, stdio framing, weft's
// cancellable pipe writes and frame limit), progress notifications (they
// arrive on the connection as usual and go to the SDK's handlers), and a
// caller that gives up sends notifications/cancelled for the request.

// On the 2026-07-28 protocol every request carries the SEP-2575 _meta
// triple (protocolVersion, clientInfo, clientCapabilities). weft sends the
// very members the SDK sends: rawConn copies them from the SDK's first
// request after initialize (the session's tools/list, before any call can
// be made), and a session without them keeps using the SDK's CallTool.

// rawIDPrefix marks the ids of weft's own requests; the SDK numbers its
// requests with integers, so the two never collide.
const rawIDPrefix = "weft-"

// cancelNotifyTimeout bounds the best-effort notifications/cancelled, as
// the SDK's own (notifyCancellationTimeout).
const cancelNotifyTimeout = 5 * time.Second

// errRawClosed fails raw calls in flight when the connection closes, in
// the words of the SDK's CallTool.
var errRawClosed = fmt.Errorf(`%w: calling "tools/call": client is closing`, sdk.ErrConnectionClosed)

// rawConn is the session's connection with weft's own requests routed
// around the SDK's JSON-RPC layer.
type rawConn struct {
	sdk.Connection

	next  atomic.Uint64
	taken atomic.Uint64 // answers takeLine decoded and delivered

	mu      sync.Mutex
	pending map[string]chan *jsonrpc.Response
	err     error // set once reading ended: every later call fails with it

	// triple is the SDK's per-request _meta triple as JSON object members
	// (`"k":v,...`), copied from its first request after initialize; nil
	// until then, empty when that request carried none.
	triple atomic.Pointer[[]byte]
}

// tripleKeys are the _meta members of the SEP-2575 triple.
var tripleKeys = []string{sdk.MetaKeyProtocolVersion, sdk.MetaKeyClientInfo, sdk.MetaKeyClientCapabilities}

// Write implements sdk.Connection, noting the SDK's _meta triple.
func (c *rawConn) Write(ctx context.Context, msg jsonrpc.Message) error {
	if c.triple.Load() == nil {
		if r, ok := msg.(*jsonrpc.Request); ok && r.IsCall() && r.Method != "initialize" {
			c.noteTriple(r.Params)
		}
	}
	return c.Connection.Write(ctx, msg)
}

func (c *rawConn) noteTriple(params json.RawMessage) {
	var p struct {
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if len(params) > 0 && json.Unmarshal(params, &p) != nil {
		return // not the SDK's; wait for the next one
	}
	var b []byte
	for _, k := range tripleKeys {
		v, ok := p.Meta[k]
		if !ok {
			continue
		}
		key, _ := json.Marshal(k)
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(append(append(b, key...), ':'), v...)
	}
	if b == nil {
		b = []byte{}
	}
	c.triple.CompareAndSwap(nil, &b)
}

func newRawConn(c sdk.Connection) *rawConn {
	return &rawConn{Connection: c, pending: map[string]chan *jsonrpc.Response{}}
}

// Read implements sdk.Connection: answers to weft's own requests are
// delivered to their callers, everything else goes to the SDK.
func (c *rawConn) Read(ctx context.Context) (jsonrpc.Message, error) {
	for {
		msg, err := c.Connection.Read(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.fail(err)
			}
			return nil, err
		}
		r, ok := msg.(*jsonrpc.Response)
		if !ok {
			return msg, nil
		}
		if !c.deliver(r) {
			return msg, nil
		}
	}
}

// deliver hands r to its raw call and reports whether it was an answer to
// one. An answer to a call whose caller gave up is dropped, as the SDK
// drops answers to retired calls.
func (c *rawConn) deliver(r *jsonrpc.Response) bool {
	id, ok := r.ID.Raw().(string)
	if !ok || !strings.HasPrefix(id, rawIDPrefix) {
		return false
	}
	c.mu.Lock()
	ch := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if ch != nil {
		ch <- r // buffered: never blocks the reader
	}
	return true
}

// takeLine is the stdio frame guard's hook (frame.go): a line that is
// exactly one well-formed answer to a raw call is decoded here, once and
// without the SDK's 32 KiB decoder buffers, and delivered; anything else —
// every other message, and any answer with something unusual about it —
// goes on to the SDK's connection as before (and an answer to a raw call
// the SDK decoded still reaches Read above).
func (c *rawConn) takeLine(line []byte) bool {
	if !bytes.Contains(line, []byte(`"`+rawIDPrefix)) {
		return false
	}
	var sc idScanner
	sc.feed(line)
	if !sc.hasID || sc.hasMethod || !bytes.HasPrefix(sc.id, []byte(`"`+rawIDPrefix)) {
		return false
	}
	r, ok := decodeRawAnswer(line)
	if !ok || !c.deliver(r) {
		return false
	}
	c.taken.Add(1)
	return true
}

// decodeRawAnswer decodes a JSON-RPC response with a string id, accepting
// only what the SDK's DecodeMessage would decode to the same response:
// member names exactly "jsonrpc" (= "2.0"), "id", "result", "error".
func decodeRawAnswer(line []byte) (*jsonrpc.Response, bool) {
	var m map[string]json.RawMessage
	if json.Unmarshal(line, &m) != nil {
		return nil, false
	}
	var version, id string
	for k, v := range m {
		switch k {
		case "jsonrpc":
			if json.Unmarshal(v, &version) != nil || version != "2.0" {
				return nil, false
			}
		case "id":
			if json.Unmarshal(v, &id) != nil || !strings.HasPrefix(id, rawIDPrefix) {
				return nil, false
			}
		case "result", "error":
		default:
			return nil, false
		}
	}
	if version == "" || id == "" {
		return nil, false
	}
	jid, err := jsonrpc.MakeID(id)
	if err != nil {
		return nil, false
	}
	r := &jsonrpc.Response{ID: jid, Result: m["result"]}
	if e, ok := m["error"]; ok && string(e) != "null" {
		var we jsonrpc.Error
		if json.Unmarshal(e, &we) != nil {
			return nil, false
		}
		r.Error = &we
	}
	return r, true
}

// Close implements sdk.Connection and fails the raw calls in flight.
func (c *rawConn) Close() error {
	c.fail(errRawClosed)
	return c.Connection.Close()
}

// fail ends every pending raw call with err and refuses new ones.
func (c *rawConn) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		c.err = err
	}
	for id, ch := range c.pending {
		delete(c.pending, id)
		close(ch)
	}
}

// call sends method with params (raw JSON) and waits for the answer, the
// connection's end or ctx.
func (c *rawConn) call(ctx context.Context, method string, params json.RawMessage) (*jsonrpc.Response, error) {
	id := rawIDPrefix + strconv.FormatUint(c.next.Add(1), 10)
	jid, err := jsonrpc.MakeID(id)
	if err != nil {
		return nil, err
	}
	ch := make(chan *jsonrpc.Response, 1)
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return nil, err
	}
	c.pending[id] = ch
	c.mu.Unlock()
	forget := func() {
		c.mu.Lock()
		delete(c.pending, id)
		c.mu.Unlock()
	}
	if err := c.Connection.Write(ctx, &jsonrpc.Request{ID: jid, Method: method, Params: params}); err != nil {
		forget()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, sdk.ErrConnectionClosed) {
			err = fmt.Errorf("calling %q: %w", method, err) // as the SDK's CallTool words it
		}
		return nil, err
	}
	select {
	case r, ok := <-ch:
		if !ok {
			c.mu.Lock()
			err := c.err
			c.mu.Unlock()
			return nil, err
		}
		return r, nil
	case <-ctx.Done():
		forget()
		// Best effort and off the caller's path, as the SDK does it.
		reason := ctx.Err().Error()
		go func() {
			nctx, stop := context.WithTimeout(context.WithoutCancel(ctx), cancelNotifyTimeout)
			defer stop()
			b, err := json.Marshal(sdk.CancelledParams{RequestID: id, Reason: reason})
			if err != nil {
				return
			}
			_ = c.Connection.Write(nctx, &jsonrpc.Request{Method: "notifications/cancelled", Params: b})
		}()
		return nil, ctx.Err()
	}
}

// rawCaller sends one request around the SDK's JSON-RPC layer and waits
// for its answer: rawConn (stdio) and rawHTTP (Streamable HTTP).
type rawCaller interface {
	call(ctx context.Context, method string, params json.RawMessage) (*jsonrpc.Response, error)
}

// rawCallable reports whether calls on s may take a raw path, which one,
// and the _meta members each request must carry: none before protocol
// 2026-07-28, the SDK's triple from then on (stdio only, and no raw path
// until it is known).
func (s *session) rawCallable() (rawCaller, []byte, bool) {
	if s.rh != nil {
		return s.rh, nil, true
	}
	if s.raw == nil || s.cs == nil {
		return nil, nil, false
	}
	res := s.cs.InitializeResult()
	if res == nil || res.ProtocolVersion == "" {
		return nil, nil, false
	}
	if res.ProtocolVersion < "2026-07-28" {
		return s.raw, nil, true
	}
	t := s.raw.triple.Load()
	if t == nil || len(*t) == 0 {
		return nil, nil, false
	}
	return s.raw, *t, true
}

// callToolParams encodes tools/call's params as the SDK's CallTool sends
// them (arguments {} when there are none), with triple (JSON object
// members) added to _meta.
func callToolParams(p *sdk.CallToolParams, triple []byte) (json.RawMessage, error) {
	args, _ := p.Arguments.(json.RawMessage)
	if len(args) == 0 {
		args = json.RawMessage(`{}`)
	}
	var buf bytes.Buffer
	buf.Grow(len(args) + len(p.Name) + 64)
	buf.WriteString(`{"name":`)
	name, err := json.Marshal(p.Name)
	if err != nil {
		return nil, err
	}
	buf.Write(name)
	buf.WriteString(`,"arguments":`)
	buf.Write(args)
	if len(p.Meta) > 0 || len(triple) > 0 {
		buf.WriteString(`,"_meta":{`)
		buf.Write(triple)
		if len(p.Meta) > 0 {
			m, err := json.Marshal(p.Meta)
			if err != nil {
				return nil, err
			}
			if len(triple) > 0 && len(m) > 2 {
				buf.WriteByte(',')
			}
			buf.Write(m[1 : len(m)-1])
		}
		buf.WriteByte('}')
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// contentTypes are the content block types the SDK's client accepts in a
// tool result.
var contentTypes = map[string]bool{"text": true, "image": true, "audio": true, "resource_link": true,
	"resource": true, "tool_use": true, "tool_result": true}

// rawResult splits a tools/call result into weft's source.Result with one
// decode, keeping content blocks, structuredContent and _meta as sent. It
// checks what the SDK's decoding would: an object, content blocks that are
// objects of a known type, _meta an object.
func rawResult(b json.RawMessage) (*source.Result, error) {
	var wire struct {
		Content           []json.RawMessage `json:"content"`
		StructuredContent json.RawMessage   `json:"structuredContent"`
		IsError           bool              `json:"isError"`
		Meta              json.RawMessage   `json:"_meta"`
	}
	if err := json.Unmarshal(b, &wire); err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	r := &source.Result{IsError: wire.IsError, Content: make([]json.RawMessage, 0, len(wire.Content))}
	for i, c := range wire.Content {
		var head struct {
			Type string `json:"type"`
		}
		if string(c) == "null" {
			return nil, fmt.Errorf("content block %d is null", i)
		}
		if err := json.Unmarshal(c, &head); err != nil {
			return nil, fmt.Errorf("content block %d: %w", i, err)
		}
		if !contentTypes[head.Type] {
			return nil, fmt.Errorf("content block %d: unrecognized content type %q", i, head.Type)
		}
		r.Content = append(r.Content, c)
	}
	if s := wire.StructuredContent; len(s) > 0 && string(s) != "null" {
		r.StructuredContent = s
	}
	if m := wire.Meta; len(m) > 0 && string(m) != "null" {
		if m[0] != '{' {
			return nil, errors.New("_meta: not an object")
		}
		if string(m) != "{}" {
			r.Meta = m
		}
	}
	return r, nil
}

// callRaw is Call's tools/call on the raw path (see the top of this file):
// the same errors as the SDK path, classified by callError; a result that
// does not decode is a protocol error.
func (u *Upstream) callRaw(ctx, cctx context.Context, rc rawCaller, s *session, op, tool string, params *sdk.CallToolParams, triple []byte, span trace.Span) (*source.Result, error) {
	body, err := callToolParams(params, triple)
	if err != nil {
		return nil, fmt.Errorf("mcp %s: %s: encoding the request: %w", u.cfg.Name, op, err)
	}
	resp, err := rc.call(cctx, "tools/call", body)
	if err == nil && resp.Error != nil {
		err = resp.Error
		if cctx.Err() == nil {
			err = fmt.Errorf("calling %q: %w", "tools/call", err) // as the SDK's CallTool words it
		}
	}
	var r *source.Result
	if err == nil {
		if r, err = rawResult(resp.Result); err != nil {
			err = fmt.Errorf("%w: %v", source.ErrProtocol, err)
		}
	}
	if span != nil {
		endCallSpan(span, r != nil && r.IsError, err)
	}
	if err != nil {
		switch {
		case errors.Is(err, source.ErrProtocol), errors.Is(err, source.ErrTooLarge):
			return nil, fmt.Errorf("mcp %s: %s: %w", u.cfg.Name, op, err)
		case errors.Is(err, errRawHTTPTransient):
			return nil, fmt.Errorf("mcp %s: %s: %w: %s", u.cfg.Name, op, source.ErrUnavailable, u.red.redact(err.Error()))
		}
		return nil, u.callError(ctx, s, op, tool, err)
	}
	return r, nil
}
