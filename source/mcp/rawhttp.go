package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/source"
)

// The raw tools/call path over Streamable HTTP (issue 15; rawcall.go has
// the stdio one). The SDK's Streamable HTTP client connection cannot be
// wrapped the way rawConn wraps a stdio one (the SDK hands it the session's
// state through unexported methods), so on a session-based HTTP session
// (protocol before 2026-07-28) weft sends tools/call as its own POST on the
// session: the same URL, the same http.Client (the configured headers,
// traceparent, the session's lifetime), the session's Mcp-Session-Id and
// Mcp-Protocol-Version. The answer — one application/json body or a
// text/event-stream — is decoded once, without the SDK's three decodes and
// re-encoding of the content blocks.
//
// What the SDK's connection does with such a POST, this does too:
//   - other messages in the answer's event stream are handled as the SDK
//     client would, by the same handlers (clientOptions): progress, log
//     messages, list changes and resource updates; ping, sampling and
//     elicitation requests are answered with a POST of their own; any other
//     request gets "method not found", as weft offers nothing else;
//   - a stream that ends before the answer is resumed with GET and
//     Last-Event-ID when the server gave event ids (at most rawHTTPRetries
//     times without progress); without ids the call fails, as in the SDK;
//   - a caller that gives up sends notifications/cancelled;
//   - transient statuses (429, 502, 503, 504) and a JSON-RPC error in an
//     error status fail the call only; 404 on the session, any other error
//     status, and an answer that is not JSON-RPC end the session (weft
//     reconnects), as they fail the SDK's connection;
//   - one message is limited to MaxMessageBytes, as from a stdio upstream;
//     a larger answer fails the call (ErrTooLarge) and keeps the session.
//
// 2026-07-28 sessions (stateless, with per-request _meta and standard
// headers) and the legacy SSE transport keep the SDK's CallTool.

// rawHTTPRetries bounds resumptions without progress, as the SDK's
// MaxRetries weft sets (httpTransport).
const rawHTTPRetries = 2

// rawHTTP is a session's raw tools/call path over Streamable HTTP.
type rawHTTP struct {
	client    *http.Client
	url       string
	sessionID string // "" when the server keeps no session
	version   string // the negotiated protocol version

	next atomic.Uint64 // request ids
	sent atomic.Uint64 // calls sent (tests)

	// broken ends the session: the server said it is gone, or spoke
	// something other than JSON-RPC.
	broken func(reason string)
	// onMessage handles a message from the server other than the answer.
	onMessage func(ctx context.Context, req *jsonrpc.Request)
	// slots bounds the server's requests being answered at once.
	slots chan struct{}
}

// maxServerRequests bounds the upstream's requests (ping, sampling,
// elicitation) a session answers at once: a flood of them holds up the
// reading of the stream that carries them rather than growing goroutines.
const maxServerRequests = 8

// errRawHTTPTransient marks a call refused with a transient status.
var errRawHTTPTransient = errors.New("upstream temporarily unavailable")

// header sets the session's headers on req.
func (h *rawHTTP) header(req *http.Request, accept string) {
	req.Header.Set("Accept", accept)
	req.Header.Set("Mcp-Protocol-Version", h.version)
	if h.sessionID != "" {
		req.Header.Set("Mcp-Session-Id", h.sessionID)
	}
}

// post sends one JSON-RPC message.
func (h *rawHTTP) post(ctx context.Context, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	h.header(req, "application/json, text/event-stream")
	return h.client.Do(req)
}

// send posts a message that expects no answer (a notification, or the
// answer to a server request): 202 Accepted, as the SDK expects.
func (h *rawHTTP) send(ctx context.Context, body []byte) error {
	resp, err := h.post(ctx, body)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return fmt.Errorf("upstream answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// call sends method with params (raw JSON) and waits for its answer.
func (h *rawHTTP) call(ctx context.Context, method string, params json.RawMessage) (*jsonrpc.Response, error) {
	id := rawIDPrefix + strconv.FormatUint(h.next.Add(1), 10)
	body := make([]byte, 0, len(params)+len(method)+len(id)+48)
	body = append(body, `{"jsonrpc":"2.0","id":"`...)
	body = append(body, id...)
	body = append(body, `","method":`...)
	body = strconv.AppendQuote(body, method)
	body = append(body, `,"params":`...)
	body = append(body, params...)
	body = append(body, '}')
	h.sent.Add(1)

	r, err := h.exchange(ctx, method, id, body)
	if err != nil && ctx.Err() != nil {
		h.cancelled(ctx, id)
		return nil, ctx.Err()
	}
	return r, err
}

// cancelled tells the server that the caller gave up on request id: best
// effort and off the caller's path, as the SDK does it.
func (h *rawHTTP) cancelled(ctx context.Context, id string) {
	reason := ctx.Err().Error()
	go func() {
		nctx, stop := context.WithTimeout(context.WithoutCancel(ctx), cancelNotifyTimeout)
		defer stop()
		p, err := json.Marshal(sdk.CancelledParams{RequestID: id, Reason: reason})
		if err != nil {
			return
		}
		_ = h.send(nctx, append(append([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":`), p...), '}'))
	}()
}

// exchange posts the request and reads its answer.
func (h *rawHTTP) exchange(ctx context.Context, method, id string, body []byte) (*jsonrpc.Response, error) {
	what := `calling "` + method + `"` // method is weft's own, plain ASCII
	// The exchange's own context: canceled with the caller's until the
	// answer is in, then detached from it, so that the rest of an event
	// stream can be read (and its connection reused) after the call
	// returned; abort ends it.
	rctx, abort := context.WithCancel(context.WithoutCancel(ctx))
	detach := context.AfterFunc(ctx, abort)
	handedOff := false
	defer func() {
		if !handedOff {
			detach()
			abort()
		}
	}()
	resp, err := h.post(rctx, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if err := h.check(what, resp); err != nil {
		return nil, err
	}
	ct := mediaType(resp.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, MaxMessageBytes+1))
		if err != nil {
			return nil, fmt.Errorf("%s: reading the answer: %w", what, err)
		}
		if len(b) > MaxMessageBytes {
			return nil, tooLarge(what)
		}
		r, ok, err := h.message(ctx, id, b)
		if err != nil {
			h.broken(fmt.Sprintf("%s: the answer is not JSON-RPC: %v", what, err))
			return nil, fmt.Errorf("%s: %w: %v", what, source.ErrProtocol, err)
		}
		if !ok {
			return nil, fmt.Errorf("%s: %w: the upstream's JSON answer is not the call's", what, source.ErrProtocol)
		}
		return r, nil
	case "text/event-stream":
		r, err := h.stream(rctx, what, id, resp, func(rest *bufio.Reader, body io.Closer) {
			handedOff = true
			detach()
			go drain(rest, body, abort)
		})
		return r, err
	default:
		resp.Body.Close()
		return nil, fmt.Errorf("%s: unsupported content type %q", what, ct)
	}
}

// check translates an error status into the call's error, ending the
// session where the SDK's connection would fail. It closes the body of a
// failed response.
func (h *rawHTTP) check(what string, resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return fmt.Errorf("%s: %w: HTTP %d %s", what, errRawHTTPTransient, resp.StatusCode, http.StatusText(resp.StatusCode))
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if m, err := jsonrpc.DecodeMessage(b); err == nil {
		if r, ok := m.(*jsonrpc.Response); ok && r.Error != nil {
			return fmt.Errorf("%s: %w (HTTP %d)", what, r.Error, resp.StatusCode)
		}
	}
	if resp.StatusCode == http.StatusNotFound && h.sessionID != "" {
		h.broken("the upstream ended the session (HTTP 404)")
		return fmt.Errorf("%s: %w", what, sdk.ErrSessionMissing)
	}
	reason := fmt.Sprintf("%s: upstream answered HTTP %d %s", what, resp.StatusCode, http.StatusText(resp.StatusCode))
	h.broken(reason)
	return fmt.Errorf("%w: %s", sdk.ErrConnectionClosed, reason)
}

// mediaType is a Content-Type's media type, lower case, without
// parameters.
func mediaType(v string) string {
	if i := strings.IndexByte(v, ';'); i >= 0 {
		v = v[:i]
	}
	v = strings.TrimSpace(v)
	for i := 0; i < len(v); i++ {
		if c := v[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(v)
		}
	}
	return v
}

func tooLarge(what string) error {
	return fmt.Errorf("%s: %w: the answer exceeds %d bytes", what, source.ErrTooLarge, MaxMessageBytes)
}

// message decodes one message from the server: the answer to id (ok), or
// another message, handed to onMessage. err: not JSON-RPC.
func (h *rawHTTP) message(ctx context.Context, id string, b []byte) (*jsonrpc.Response, bool, error) {
	if r, ok := decodeRawAnswer(b); ok {
		if r.ID.Raw() == id {
			return r, true, nil
		}
		return nil, false, nil // a retired call's
	}
	m, err := jsonrpc.DecodeMessage(b)
	if err != nil {
		return nil, false, err
	}
	switch m := m.(type) {
	case *jsonrpc.Request:
		h.onMessage(ctx, m)
	case *jsonrpc.Response:
		if s, ok := m.ID.Raw().(string); ok && s == id {
			return m, true, nil
		}
	}
	return nil, false, nil
}

// stream reads the answer's event stream until the answer, resuming it
// when it breaks and the server gave event ids.
func (h *rawHTTP) stream(ctx context.Context, what, id string, resp *http.Response, handOff func(*bufio.Reader, io.Closer)) (*jsonrpc.Response, error) {
	var last, prev string
	retries := 0
	for {
		r, lastID, delay, err := h.events(ctx, what, id, resp, handOff)
		if r != nil || err != nil {
			return r, err
		}
		if lastID != "" {
			last = lastID
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if last == "" {
			return nil, fmt.Errorf("%s: request terminated without response", what)
		}
		if last != prev {
			prev, retries = last, 0
		} else if retries++; retries > rawHTTPRetries {
			reason := fmt.Sprintf("%s: the answer's stream broke %d times without progress", what, retries)
			h.broken(reason)
			return nil, fmt.Errorf("%w: %s", sdk.ErrConnectionClosed, reason)
		}
		if resp, err = h.resume(ctx, what, last, delay); err != nil {
			return nil, err
		}
	}
}

// resume reopens the answer's stream after event last.
func (h *rawHTTP) resume(ctx context.Context, what, last string, delay time.Duration) (*http.Response, error) {
	if delay <= 0 {
		delay = 100 * time.Millisecond
	}
	var lastErr error
	for attempt := 0; attempt <= rawHTTPRetries; attempt++ {
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url, nil)
		if err != nil {
			return nil, err
		}
		h.header(req, "text/event-stream")
		req.Header.Set("Last-Event-ID", last)
		resp, err := h.client.Do(req)
		if err == nil {
			if err := h.check(what, resp); err != nil {
				return nil, err
			}
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		lastErr = err
		delay *= 2
	}
	reason := fmt.Sprintf("%s: resuming the answer's stream failed: %v", what, lastErr)
	h.broken(reason)
	return nil, fmt.Errorf("%w: %s", sdk.ErrConnectionClosed, reason)
}

// drainWait bounds the wait for the end of a stream after its answer.
const drainWait = 50 * time.Millisecond

// drain reads the rest of an answered event stream (servers end it right
// after the answer) and closes it, so that its connection goes back to the
// pool instead of being closed; abort cuts off a server that keeps the
// stream open longer than drainWait.
func drain(rest *bufio.Reader, body io.Closer, abort context.CancelFunc) {
	t := time.AfterFunc(drainWait, abort)
	_, _ = io.Copy(io.Discard, io.LimitReader(rest, 1<<20))
	t.Stop()
	body.Close()
	abort()
}

// events reads one event stream: the answer, or the last event id seen and
// the server's retry delay when the stream ended first. With the answer,
// the rest of the stream goes to handOff; otherwise events closes it.
func (h *rawHTTP) events(ctx context.Context, what, id string, resp *http.Response, handOff func(*bufio.Reader, io.Closer)) (*jsonrpc.Response, string, time.Duration, error) {
	closeBody := true
	defer func() {
		if closeBody {
			resp.Body.Close()
		}
	}()
	br := bufio.NewReaderSize(resp.Body, 4096)
	var (
		data       []byte
		hasData    bool
		name, last string
		delay      time.Duration
		skip       bool // the event grew past the limit: ignore it to its end
	)
	for {
		line, err := readLine(br, MaxMessageBytes+64)
		if errors.Is(err, errLineTooLong) {
			return nil, "", 0, tooLarge(what)
		}
		if err != nil {
			return nil, last, delay, nil // ended or broke: the caller resumes or fails
		}
		if len(line) == 0 { // dispatch
			if hasData && !skip && (name == "" || name == "message") && len(data) > 0 {
				r, ok, err := h.message(ctx, id, data)
				if err != nil {
					h.broken(fmt.Sprintf("%s: an event is not JSON-RPC: %v", what, err))
					return nil, "", 0, fmt.Errorf("%s: %w: %v", what, source.ErrProtocol, err)
				}
				if ok {
					closeBody = false
					handOff(br, resp.Body)
					return r, last, delay, nil
				}
			}
			if skip {
				return nil, "", 0, tooLarge(what)
			}
			data, hasData, name = data[:0], false, ""
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if hasData {
				data = append(data, '\n')
			}
			data, hasData = append(data, value...), true
			if len(data) > MaxMessageBytes {
				skip, data = true, data[:0]
			}
		case "event":
			name = string(value)
		case "id":
			last = string(value)
		case "retry":
			if n, err := strconv.ParseInt(string(value), 10, 64); err == nil && n >= 0 {
				delay = time.Duration(n) * time.Millisecond
			}
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads one line of an event stream without its end (LF, CRLF).
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	line, err := br.ReadSlice('\n')
	if err == bufio.ErrBufferFull {
		buf := append([]byte(nil), line...)
		for err == bufio.ErrBufferFull {
			if len(buf) > max {
				return nil, errLineTooLong
			}
			line, err = br.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	}
	if err != nil {
		return nil, err
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// serverMessage handles a request or notification the server sent in the
// answer's stream as the SDK client would, with the client's own handlers
// (clientOptions in upstream.go and forward.go).
func (u *Upstream) serverMessage(s *session, h *rawHTTP) func(context.Context, *jsonrpc.Request) {
	return func(ctx context.Context, req *jsonrpc.Request) {
		if !req.IsCall() {
			u.serverNotification(ctx, s, req)
			return
		}
		// Off the stream's reader: the server may go on sending (progress)
		// while a client answers.
		select {
		case h.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		go func() {
			defer func() { <-h.slots }()
			result, err := u.serverRequest(ctx, s, req)
			resp := &jsonrpc.Response{ID: req.ID}
			if err != nil {
				we := &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
				errors.As(err, &we)
				resp.Error = we
			} else if resp.Result, err = json.Marshal(result); err != nil {
				resp.Error = &jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: err.Error()}
			}
			b, err := jsonrpc.EncodeMessage(resp)
			if err != nil {
				return
			}
			actx, stop := context.WithTimeout(context.WithoutCancel(ctx), cancelNotifyTimeout)
			defer stop()
			if err := h.send(actx, b); err != nil {
				u.log.Warn("answering the upstream's request failed", "method", req.Method, "err", u.red.redact(err.Error()))
			}
		}()
	}
}

// decodeParams decodes a message's params into p (absent params: zero).
func decodeParams[P any](raw json.RawMessage) (*P, error) {
	p := new(P)
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, p); err != nil {
			return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: err.Error()}
		}
	}
	return p, nil
}

func (u *Upstream) serverRequest(ctx context.Context, s *session, req *jsonrpc.Request) (any, error) {
	o := u.copts
	switch req.Method {
	case "ping":
		return struct{}{}, nil
	case "sampling/createMessage":
		p, err := decodeParams[sdk.CreateMessageParams](req.Params)
		if err != nil {
			return nil, err
		}
		return o.CreateMessageHandler(ctx, &sdk.CreateMessageRequest{Session: s.cs, Params: p})
	case "elicitation/create":
		p, err := decodeParams[sdk.ElicitParams](req.Params)
		if err != nil {
			return nil, err
		}
		return o.ElicitationHandler(ctx, &sdk.ElicitRequest{Session: s.cs, Params: p})
	}
	return nil, &jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: fmt.Sprintf("method %q not supported", req.Method)}
}

func (u *Upstream) serverNotification(ctx context.Context, s *session, req *jsonrpc.Request) {
	o := u.copts
	switch req.Method {
	case "notifications/progress":
		if p, err := decodeParams[sdk.ProgressNotificationParams](req.Params); err == nil {
			o.ProgressNotificationHandler(ctx, &sdk.ProgressNotificationClientRequest{Session: s.cs, Params: p})
		}
	case "notifications/message":
		if p, err := decodeParams[sdk.LoggingMessageParams](req.Params); err == nil {
			o.LoggingMessageHandler(ctx, &sdk.LoggingMessageRequest{Session: s.cs, Params: p})
		}
	case "notifications/tools/list_changed":
		o.ToolListChangedHandler(ctx, &sdk.ToolListChangedRequest{Session: s.cs, Params: &sdk.ToolListChangedParams{}})
	case "notifications/resources/list_changed":
		o.ResourceListChangedHandler(ctx, &sdk.ResourceListChangedRequest{Session: s.cs, Params: &sdk.ResourceListChangedParams{}})
	case "notifications/prompts/list_changed":
		o.PromptListChangedHandler(ctx, &sdk.PromptListChangedRequest{Session: s.cs, Params: &sdk.PromptListChangedParams{}})
	case "notifications/resources/updated":
		if p, err := decodeParams[sdk.ResourceUpdatedNotificationParams](req.Params); err == nil {
			o.ResourceUpdatedHandler(ctx, &sdk.ResourceUpdatedNotificationRequest{Session: s.cs, Params: p})
		}
	}
}

// newRawHTTP gives a Streamable HTTP session on a protocol before
// 2026-07-28 its raw path; nil for any other session.
func (u *Upstream) newRawHTTP(s *session, client *http.Client) *rawHTTP {
	if u.cfg.Transport != TransportHTTP || s.cs == nil {
		return nil
	}
	res := s.cs.InitializeResult()
	if res == nil || res.ProtocolVersion == "" || res.ProtocolVersion >= "2026-07-28" {
		return nil
	}
	h := &rawHTTP{client: client, url: u.cfg.URL, sessionID: s.cs.ID(), version: res.ProtocolVersion, broken: s.end,
		slots: make(chan struct{}, maxServerRequests)}
	h.onMessage = u.serverMessage(s, h)
	return h
}
