package mcpgw

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/source"
)

// The hot path of a passthrough endpoint (issue 15): a tools/call on a
// session-based (2025-xx) Streamable HTTP session. Through the SDK's
// transport one call costs about 0.7 ms of CPU and 200 KB: the body is
// decoded six times, each with a fresh 32 KiB decoder buffer (batch
// probe, message, method, request _meta twice, params), the call goes
// through the session's JSON-RPC connection and goroutines, and the answer
// is re-encoded and written as an SSE event. A call that needs nothing the
// SDK's session machinery provides is answered here instead: the body is
// read once, split into its members once, the call runs through the same
// middleware (the caller's policy, the endpoint's filter, tracing, the
// visibility check) and the engine, and the upstream's content blocks are
// written back as the bytes the upstream sent, as one application/json
// response — an answer the spec allows for any POST, and the one the SDK
// itself gives with StreamableHTTPOptions.JSONResponse.
//
// Anything unusual goes to the SDK unchanged, which answers it (or refuses
// it) as before: a session this endpoint has not seen initialized, another
// API key's request, a protocol version header other than the session's,
// Last-Event-ID, another media type, a batch, any method but tools/call,
// params or envelope members beyond the plain ones (task-augmented calls,
// input responses), a progress token or per-request protocol _meta, a
// tool the endpoint does not expose, an id already in flight, a client
// that declared sampling or elicitation (the upstream may ask it something
// during the call, which the SDK routes on the request's own stream), and
// a request the SDK's DNS-rebinding protection would refuse.
//
// Sessions stay the SDK's: weft only keeps, per session, who created it
// and the calls it answered here, so that notifications/cancelled reaches
// them and a closing session cancels them. Because the SDK's idle timer
// never sees the requests answered here, the endpoint runs the session
// idle timeout itself (the SDK's is off): a session with no POST in flight
// for sessionTimeout is closed.

// maxPostBody bounds a POST body, as the SDK's DefaultMaxRequestBodyBytes.
const maxPostBody = sdk.DefaultMaxRequestBodyBytes

// sessionIDHeader names a session-based request's session.
const sessionIDHeader = "Mcp-Session-Id"

// httpSessions tracks the session-based sessions of a passthrough
// endpoint's Streamable HTTP handler and answers their plain tool calls.
type httpSessions struct {
	p       *passthrough
	next    http.Handler      // the SDK's session-based handler
	call    sdk.MethodHandler // the endpoint's middleware around the call
	timeout time.Duration

	mu     sync.Mutex
	byID   map[string]*httpSession
	closed bool
}

// httpSession is what weft keeps of one SDK session.
type httpSession struct {
	id string

	mu      sync.Mutex
	created bool   // its initialize passed through here (user is known)
	user    string // the client that created it (the SDK binds it too)
	ss      *sdk.ServerSession
	version string // protocol version the client asked for in initialize
	fast    bool   // initialized, and neither sampling nor elicitation
	posts   int    // POSTs in flight
	timer   *time.Timer
	calls   map[string]context.CancelFunc // calls answered here, by raw id
	ended   bool
}

// newHTTPSessions returns p's session tracker; Endpoint.Handler sets its
// next handler and timeout.
func newHTTPSessions(p *passthrough) *httpSessions {
	s := &httpSessions{p: p, byID: map[string]*httpSession{}}
	s.call = p.e.policyMiddleware(p.callerMiddleware(p.forwardTool))
	return s
}

// forwardTool is the innermost handler of a call answered here: what the
// SDK's tools/call does with the tool passthrough registered, with the
// upstream's result kept raw.
func (p *passthrough) forwardTool(ctx context.Context, _ string, req sdk.Request) (sdk.Result, error) {
	r := req.(*sdk.CallToolRequest)
	rt, ok := p.toolRoute(r.Params.Name)
	if !ok {
		return nil, unknownTool(r.Params.Name)
	}
	res, failed := p.e.callTool(ctx, r, rt.name, r.Params.Arguments)
	if failed != nil {
		return failed, nil
	}
	return &rawToolResult{CallToolResult: &sdk.CallToolResult{IsError: res.IsError}, raw: res}, nil
}

// rawToolResult is a tool result kept as the upstream's JSON (its embedded
// CallToolResult carries only isError, for the middleware and tracing).
type rawToolResult struct {
	*sdk.CallToolResult
	raw *source.Result
}

// session returns the session named id, creating its entry.
func (s *httpSessions) session(id string) *httpSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	hs := s.byID[id]
	if hs == nil {
		hs = &httpSession{id: id}
		s.byID[id] = hs
	}
	return hs
}

func (s *httpSessions) lookup(id string) *httpSession {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byID[id]
}

// created records a session the SDK created for an initialize request of
// user, and starts its idle timer.
func (s *httpSessions) created(id, user string) {
	hs := s.session(id)
	if hs == nil {
		return
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if hs.ended || hs.created {
		return
	}
	hs.created, hs.user = true, user
	if hs.posts == 0 {
		hs.idleLocked(s)
	}
}

// initialized records the SDK session of an initialized client (the SDK's
// InitializedHandler). It runs for every transport; stdio sessions have no
// id.
func (s *httpSessions) initialized(ss *sdk.ServerSession) {
	id := ss.ID()
	if id == "" {
		return
	}
	hs := s.session(id)
	if hs == nil {
		return
	}
	ip := ss.InitializeParams()
	hs.mu.Lock()
	hs.ss = ss
	if ip != nil {
		hs.version = ip.ProtocolVersion
		c := ip.Capabilities
		hs.fast = c == nil || (c.Sampling == nil && c.Elicitation == nil)
	}
	hs.mu.Unlock()
	go func() {
		_ = ss.Wait()
		s.forget(hs)
	}()
}

// forget drops a session that ended, canceling the calls answered here.
func (s *httpSessions) forget(hs *httpSession) {
	s.mu.Lock()
	if s.byID[hs.id] == hs {
		delete(s.byID, hs.id)
	}
	s.mu.Unlock()
	hs.mu.Lock()
	hs.ended = true
	if hs.timer != nil {
		hs.timer.Stop()
	}
	calls := hs.calls
	hs.calls = nil
	hs.mu.Unlock()
	for _, cancel := range calls {
		cancel()
	}
}

// idleLocked (re)starts hs's idle timer; hs.mu is held.
func (hs *httpSession) idleLocked(s *httpSessions) {
	if s.timeout <= 0 || hs.ended {
		return
	}
	if hs.timer == nil {
		hs.timer = time.AfterFunc(s.timeout, func() { s.expire(hs) })
		return
	}
	hs.timer.Reset(s.timeout)
}

// expire closes a session idle for the timeout (unless a POST began since).
func (s *httpSessions) expire(hs *httpSession) {
	hs.mu.Lock()
	if hs.posts > 0 || hs.ended {
		hs.mu.Unlock()
		return
	}
	ss := hs.ss
	hs.mu.Unlock()
	if ss == nil { // never initialized: find the SDK's session by its id
		for x := range s.p.e.srv.Sessions() {
			if x.ID() == hs.id {
				ss = x
				break
			}
		}
	}
	if ss != nil {
		_ = ss.Close()
	}
	s.forget(hs)
}

// close stops every idle timer (the endpoint is closing).
func (s *httpSessions) close() {
	s.mu.Lock()
	s.closed = true
	all := s.byID
	s.byID = map[string]*httpSession{}
	s.mu.Unlock()
	for _, hs := range all {
		hs.mu.Lock()
		hs.ended = true
		if hs.timer != nil {
			hs.timer.Stop()
		}
		hs.mu.Unlock()
	}
}

// requestUser is the client a request is authenticated as, as the SDK
// sees it (the token info carryRequest attached).
func requestUser(r *http.Request) string {
	if ti := auth.TokenInfoFromContext(r.Context()); ti != nil {
		return ti.UserID
	}
	return ""
}

// ServeHTTP implements http.Handler.
func (s *httpSessions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(sessionIDHeader)
	if id == "" {
		if r.Method != http.MethodPost {
			s.next.ServeHTTP(w, r)
			return
		}
		// A new session: recorded as the SDK sends its id, before the
		// client can use it.
		s.next.ServeHTTP(&creationWriter{ResponseWriter: w, created: func(id string) { s.created(id, requestUser(r)) }}, r)
		return
	}
	hs := s.lookup(id)
	if hs == nil || r.Method != http.MethodPost {
		s.next.ServeHTTP(w, r)
		return
	}
	hs.mu.Lock()
	if !hs.created || (hs.user != "" && requestUser(r) != hs.user) {
		// Not a session seen created here, or another client's request:
		// the SDK answers (403 for a stranger), and the session's idle
		// time is not reset by a request it refuses.
		hs.mu.Unlock()
		s.next.ServeHTTP(w, r)
		return
	}
	hs.posts++
	if hs.timer != nil {
		hs.timer.Stop()
	}
	ss, version, fast := hs.ss, hs.version, hs.fast
	hs.mu.Unlock()
	defer func() {
		hs.mu.Lock()
		if hs.posts--; hs.posts == 0 {
			hs.idleLocked(s)
		}
		hs.mu.Unlock()
	}()
	if ss == nil || !fast || !plainPOST(r, version) {
		s.next.ServeHTTP(w, r)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxPostBody))
	if err != nil {
		// The SDK's answers to a body it cannot read.
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, fmt.Sprintf("request body exceeds %d bytes", mbe.Limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "failed to read body", http.StatusBadRequest)
		return
	}
	if c, ok := parsePlainCall(body); ok {
		if s.serveCall(w, r, hs, ss, c) {
			return
		}
	} else if rid, ok := cancelledRequest(body); ok {
		hs.mu.Lock()
		cancel := hs.calls[rid]
		hs.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	s.next.ServeHTTP(w, r)
}

// creationWriter calls created with the session id of a response that
// carries one, before the response's header is sent.
type creationWriter struct {
	http.ResponseWriter
	created func(id string)
	sent    bool
}

func (c *creationWriter) header() {
	if c.sent {
		return
	}
	c.sent = true
	if id := c.Header().Get(sessionIDHeader); id != "" {
		c.created(id)
	}
}

// WriteHeader implements http.ResponseWriter.
func (c *creationWriter) WriteHeader(code int) {
	c.header()
	c.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (c *creationWriter) Write(b []byte) (int, error) {
	c.header()
	return c.ResponseWriter.Write(b)
}

// Flush implements http.Flusher (the SDK streams its answer as SSE).
func (c *creationWriter) Flush() {
	c.header()
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (c *creationWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// plainPOST reports whether a session's POST passes every check the SDK
// makes before reading it, with nothing the SDK would have to handle: a
// JSON body, both media types accepted, the session's own protocol version
// (a session-based one), no Last-Event-ID, and not a request the SDK's
// DNS-rebinding protection refuses.
func plainPOST(r *http.Request, version string) bool {
	if version == "" || version >= statelessVersion || r.Header.Get("Mcp-Protocol-Version") != version {
		return false
	}
	if len(r.Header.Values("Last-Event-ID")) > 0 {
		return false
	}
	if mt, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
		return false
	}
	if !acceptsJSONAndSSE(r.Header.Values("Accept")) {
		return false
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok && la != nil && loopback(la.String()) && !loopback(r.Host) {
		return false
	}
	return true
}

// acceptsJSONAndSSE reports whether Accept lists both application/json and
// text/event-stream (or their wildcards), as the SDK requires of a POST.
func acceptsJSONAndSSE(values []string) bool {
	var jsonOK, sseOK bool
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			base, _, _ := strings.Cut(part, ";")
			switch strings.ToLower(strings.TrimSpace(base)) {
			case "application/json", "application/*":
				jsonOK = true
			case "text/event-stream", "text/*":
				sseOK = true
			case "*/*":
				jsonOK, sseOK = true, true
			}
		}
	}
	return jsonOK && sseOK
}

// loopback reports whether a host (with or without a port) is a loopback
// name or address.
func loopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = strings.Trim(hostport, "[]")
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// plainCall is a tools/call request with only the plain members.
type plainCall struct {
	id   json.RawMessage // as sent: a string or an integer
	name string
	args json.RawMessage
	meta sdk.Meta
}

// parsePlainCall splits a POST body that is one plain tools/call request:
// exactly the members jsonrpc ("2.0"), id (a string or an integer),
// method and params; params with at most name, arguments (an object) and
// _meta (an object without a progress token or per-request protocol
// members). Anything else is left to the SDK.
func parsePlainCall(body []byte) (plainCall, bool) {
	var c plainCall
	var env map[string]json.RawMessage
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return c, false
	}
	if json.Unmarshal(body, &env) != nil || len(env) != 4 {
		return c, false
	}
	if string(env["jsonrpc"]) != `"2.0"` || string(env["method"]) != `"tools/call"` {
		return c, false
	}
	id, params := env["id"], env["params"]
	if !plainID(id) || len(params) == 0 || params[0] != '{' {
		return c, false
	}
	c.id = id
	var ps map[string]json.RawMessage
	if json.Unmarshal(params, &ps) != nil {
		return c, false
	}
	for k, v := range ps {
		switch k {
		case "name":
			if json.Unmarshal(v, &c.name) != nil || c.name == "" {
				return c, false
			}
		case "arguments":
			if len(v) == 0 || v[0] != '{' {
				return c, false
			}
			c.args = v
		case "_meta":
			if len(v) == 0 || v[0] != '{' {
				return c, false
			}
			if err := json.Unmarshal(v, &c.meta); err != nil {
				return c, false
			}
			for mk := range c.meta {
				if mk == "progressToken" || strings.HasPrefix(mk, "io.modelcontextprotocol/") {
					return c, false
				}
			}
			if len(c.meta) == 0 {
				c.meta = nil
			}
		default:
			return c, false
		}
	}
	return c, c.name != ""
}

// plainID reports whether raw is a JSON string or integer id.
func plainID(raw json.RawMessage) bool {
	if len(raw) == 0 {
		return false
	}
	if raw[0] == '"' {
		var s string
		return json.Unmarshal(raw, &s) == nil
	}
	_, err := strconv.ParseInt(string(raw), 10, 64)
	return err == nil
}

// cancelledRequest returns the request id a notifications/cancelled body
// names, as raw JSON.
func cancelledRequest(body []byte) (string, bool) {
	var n struct {
		Method string `json:"method"`
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &n) != nil || n.Method != "notifications/cancelled" || len(n.Params.RequestID) == 0 {
		return "", false
	}
	return string(n.Params.RequestID), true
}

// serveCall answers a plain call here, or reports false (nothing written)
// when the SDK must: a tool the endpoint does not expose, or an id already
// in flight.
func (s *httpSessions) serveCall(w http.ResponseWriter, r *http.Request, hs *httpSession, ss *sdk.ServerSession, c plainCall) bool {
	if _, ok := s.p.toolRoute(c.name); !ok {
		return false
	}
	// As for the SDK's session-based requests, a client that goes away
	// does not cancel the call; notifications/cancelled and the session's
	// end do.
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	defer cancel()
	key := string(c.id)
	hs.mu.Lock()
	if hs.ended || hs.calls[key] != nil {
		hs.mu.Unlock()
		return false
	}
	if hs.calls == nil {
		hs.calls = map[string]context.CancelFunc{}
	}
	hs.calls[key] = cancel
	hs.mu.Unlock()
	defer func() {
		hs.mu.Lock()
		delete(hs.calls, key)
		hs.mu.Unlock()
	}()

	req := &sdk.CallToolRequest{Session: ss, Params: &sdk.CallToolParamsRaw{Name: c.name, Arguments: c.args, Meta: c.meta},
		Extra: &sdk.RequestExtra{Header: r.Header}}
	res, err := s.call(ctx, "tools/call", req)
	buf := getBuf()
	defer putBuf(buf)
	writeResponse(buf, c.id, res, err)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-cache, no-transform")
	h.Set(sessionIDHeader, hs.id)
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
	return true
}

// writeResponse writes the JSON-RPC response to id: the result, or the
// error as the SDK renders a handler's error.
func writeResponse(buf *bytes.Buffer, id json.RawMessage, res sdk.Result, err error) {
	buf.WriteString(`{"jsonrpc":"2.0","id":`)
	buf.Write(id)
	if err != nil {
		var je *jsonrpc.Error
		if !errors.As(err, &je) {
			je = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
		}
		b, merr := json.Marshal(je)
		if merr != nil {
			b = []byte(`{"code":-32603,"message":"internal error"}`)
		}
		buf.WriteString(`,"error":`)
		buf.Write(b)
		buf.WriteByte('}')
		return
	}
	buf.WriteString(`,"result":`)
	if rr, ok := res.(*rawToolResult); ok {
		writeRawResult(buf, rr.raw)
	} else if b, merr := json.Marshal(res); merr == nil {
		buf.Write(b)
	} else {
		buf.WriteString(`{"content":[{"type":"text","text":"encoding the result failed"}],"isError":true}`)
	}
	buf.WriteByte('}')
}

// writeRawResult writes a CallToolResult whose members are the engine's
// raw JSON (content blocks as the upstream sent them; checked there).
func writeRawResult(buf *bytes.Buffer, r *source.Result) {
	buf.WriteString(`{"content":[`)
	for i, c := range r.Content {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(c)
	}
	buf.WriteByte(']')
	if len(r.StructuredContent) > 0 {
		buf.WriteString(`,"structuredContent":`)
		buf.Write(r.StructuredContent)
	}
	if r.IsError {
		buf.WriteString(`,"isError":true`)
	}
	if len(r.Meta) > 0 {
		buf.WriteString(`,"_meta":`)
		buf.Write(r.Meta)
	}
	buf.WriteByte('}')
}

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer { return bufPool.Get().(*bytes.Buffer) }

// putBuf returns a buffer to the pool unless it grew large (one huge
// result must not pin its memory).
func putBuf(b *bytes.Buffer) {
	if b.Cap() > 64<<10 {
		return
	}
	b.Reset()
	bufPool.Put(b)
}
