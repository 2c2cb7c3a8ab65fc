package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/source"
)

// TestRawHTTPMatchesSDK calls the same tools on a Streamable HTTP upstream
// (the Go SDK's server) over weft's raw path, which Call uses, and over the
// SDK's CallTool + convertResult, and requires the same results.
func TestRawHTTPMatchesSDK(t *testing.T) {
	ts := newTestServer()
	hs := serveOn(t, "127.0.0.1:0", ts.handler(TransportHTTP))
	u, _ := start(t, httpConfig("h", TransportHTTP, hs.URL+"/mcp"))
	s, err := u.current("test")
	if err != nil {
		t.Fatal(err)
	}
	if rc, _, ok := s.rawCallable(); !ok || rc != s.rh {
		t.Fatalf("HTTP session on protocol %q does not take the raw HTTP path", s.cs.InitializeResult().ProtocolVersion)
	}
	before := s.rh.sent.Load()
	if n := sameAsSDK(t, u, s); s.rh.sent.Load()-before != n {
		t.Fatalf("raw HTTP calls = %d, want %d", s.rh.sent.Load()-before, n)
	}
	if _, err := call(t, u, "nope", `{}`); !errors.Is(err, source.ErrUnknownTool) {
		t.Fatalf("unknown tool: %v", err)
	}
	// A caller that gives up cancels the upstream's handler.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := u.Call(ctx, "wait", json.RawMessage(`{}`))
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	select {
	case <-ts.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream's handler was not cancelled")
	}
}

// scripted is a Streamable HTTP upstream: the Go SDK's server, except that
// weft's raw tools/call requests for tools named "x-…" are answered by the
// script of that name, the way a server built another way (or a hostile
// one) might answer.
type scripted struct {
	inner http.Handler

	mu      sync.Mutex
	answers []string      // bodies of the client's answers to server requests
	gets    []http.Header // headers of resuming GETs
	answer  chan string   // receives each answer to a server request
	release chan struct{} // closed by the test: x-open's stream may end

	inFlight, maxInFlight atomic.Int32 // the client's answers being received at once
}

func newScripted() *scripted {
	return &scripted{inner: newTestServer().handler(TransportHTTP), answer: make(chan string, 10), release: make(chan struct{})}
}

func sse(w http.ResponseWriter, events ...string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.WriteHeader(http.StatusOK)
	for _, e := range events {
		io.WriteString(w, e)
		w.(http.Flusher).Flush()
	}
}

func (h *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.Header.Get("Last-Event-ID") != "" {
		h.mu.Lock()
		h.gets = append(h.gets, r.Header.Clone())
		h.mu.Unlock()
		id := strings.TrimPrefix(r.Header.Get("Last-Event-ID"), "after-")
		sse(w, `data: {"jsonrpc":"2.0","id":"`+id+`","result":{"content":[{"type":"text","text":"resumed"}]}}`+"\n\n")
		return
	}
	if r.Method != http.MethodPost {
		h.inner.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	var m struct {
		ID     any    `json:"id"`
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	_ = json.Unmarshal(body, &m)
	if m.Method == "" && m.ID != nil { // the client's answer to a server request
		n := h.inFlight.Add(1)
		for old := h.maxInFlight.Load(); n > old && !h.maxInFlight.CompareAndSwap(old, n); old = h.maxInFlight.Load() {
		}
		defer h.inFlight.Add(-1)
		h.mu.Lock()
		h.answers = append(h.answers, string(body))
		h.mu.Unlock()
		if _, flood := m.ID.(float64); flood && m.ID.(float64) >= 1000 {
			time.Sleep(2 * time.Millisecond) // let answers overlap
			w.WriteHeader(http.StatusAccepted)
			return
		}
		h.answer <- string(body)
		w.WriteHeader(http.StatusAccepted)
		return
	}
	id, _ := m.ID.(string)
	if m.Method != "tools/call" || !strings.HasPrefix(id, rawIDPrefix) || !strings.HasPrefix(m.Params.Name, "x-") {
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.inner.ServeHTTP(w, r)
		return
	}
	answer := func(text string) string {
		return `{"jsonrpc":"2.0","id":"` + id + `","result":{"content":[{"type":"text","text":"` + text + `"}]}}`
	}
	switch m.Params.Name {
	case "x-json":
		w.Header().Set("Content-Type", "Application/JSON ; charset=utf-8")
		io.WriteString(w, answer("json"))
	case "x-notes": // a log message and a list change before the answer, CRLF line ends, a comment, a named event
		sse(w, ": keep-alive\r\n\r\n",
			"event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"level\":\"info\",\"data\":\"from the stream\"}}\r\n\r\n",
			"event: other\ndata: {\"ignored\":true}\n\n",
			"data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n",
			"data: "+answer("noted")+"\n\n")
	case "x-ping", "x-roots": // a server request; the answer comes once the client answered it
		method := strings.TrimPrefix(m.Params.Name, "x-")
		if method == "roots" {
			method = "roots/list"
		}
		sse(w, `data: {"jsonrpc":"2.0","id":77,"method":"`+method+`"}`+"\n\n")
		select {
		case <-h.answer:
		case <-time.After(5 * time.Second):
		}
		io.WriteString(w, "data: "+answer(method+" answered")+"\n\n")
	case "x-flood": // 200 server requests before the answer
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 200 {
			io.WriteString(w, `data: {"jsonrpc":"2.0","id":`+strconv.Itoa(1000+i)+`,"method":"ping"}`+"\n\n")
		}
		io.WriteString(w, "data: "+answer("flood survived")+"\n\n")
	case "x-split": // one message over two data lines (joined by a newline: JSON whitespace)
		a, b, _ := strings.Cut(answer("split"), `,"result"`)
		sse(w, "data: "+a+"\ndata: ,\"result\""+b+"\n\n")
	case "x-resume": // a priming event with an id, then the stream ends
		sse(w, "id: after-"+id+"\nretry: 10\ndata: \n\n")
	case "x-open": // the answer, then the stream stays open
		sse(w, "data: "+answer("open")+"\n\n")
		select {
		case <-h.release:
		case <-r.Context().Done():
		}
	case "x-noid":
		sse(w, ": nothing\n\n")
	case "x-503":
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	case "x-400rpc":
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"jsonrpc":"2.0","id":"`+id+`","error":{"code":-32602,"message":"bad things"}}`)
	case "x-big":
		sse(w, "data: {\"jsonrpc\":\"2.0\",\"id\":\""+id+"\",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\""+strings.Repeat("a", MaxMessageBytes)+"\"}]}}\n\n")
	case "x-type":
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "hello")
	case "x-garbage":
		sse(w, "data: not json at all\n\n")
	case "x-404":
		http.Error(w, "no such session", http.StatusNotFound)
	default:
		http.Error(w, "no script", http.StatusInternalServerError)
	}
}

// TestRawHTTPAnswers drives the raw HTTP path through every kind of answer
// a Streamable HTTP server can give, well-formed or not: what fails only
// the call keeps the session, what the SDK would treat as a broken
// connection ends it and weft reconnects.
func TestRawHTTPAnswers(t *testing.T) {
	h := newScripted()
	hs := serveOn(t, "127.0.0.1:0", h)
	u, _ := start(t, httpConfig("h", TransportHTTP, hs.URL+"/mcp"))
	var logs []string
	var mu sync.Mutex
	u.OnLog(func(p *sdk.LoggingMessageParams) {
		mu.Lock()
		logs = append(logs, fmt.Sprint(p.Data))
		mu.Unlock()
	})
	s0, err := u.current("test")
	if err != nil || s0.rh == nil {
		t.Fatalf("no raw HTTP path: %v", err)
	}
	text := func(tool string) string {
		t.Helper()
		return mustText(t, u, tool, `{}`)
	}
	sameSession := func(what string) {
		t.Helper()
		if s, err := u.current("test"); err != nil || s != s0 {
			t.Fatalf("after %s: the session changed or ended (%v)", what, err)
		}
	}

	if got := text("x-json"); got != "json" {
		t.Fatalf("x-json = %q", got)
	}
	if got := text("x-notes"); got != "noted" {
		t.Fatalf("x-notes = %q", got)
	}
	mu.Lock()
	gotLogs := strings.Join(logs, "|")
	mu.Unlock()
	if gotLogs != "from the stream" {
		t.Fatalf("log messages from the stream: %q", gotLogs)
	}
	if got := text("x-ping"); got != "ping answered" {
		t.Fatalf("x-ping = %q", got)
	}
	if got := text("x-roots"); got != "roots/list answered" {
		t.Fatalf("x-roots = %q", got)
	}
	h.mu.Lock()
	answers := strings.Join(h.answers, "\n")
	h.mu.Unlock()
	if !strings.Contains(answers, `"id":77,"result":{}`) || !strings.Contains(answers, `"code":-32601`) {
		t.Fatalf("answers to the server's requests:\n%s", answers)
	}
	// A stream kept open after the answer does not hold the call (weft cuts
	// it off after drainWait); the handler is released only afterwards.
	if got := text("x-open"); got != "open" {
		t.Fatalf("x-open = %q", got)
	}
	close(h.release)
	// A flood of server requests is answered, at most maxServerRequests at
	// a time, and the call still gets its answer.
	if got := text("x-flood"); got != "flood survived" {
		t.Fatalf("x-flood = %q", got)
	}
	eventually(t, 10*time.Second, "every flood request answered", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		n := 0
		for _, a := range h.answers {
			if strings.Contains(a, `"id":1`) && strings.Contains(a, `"result":{}`) {
				n++
			}
		}
		return n >= 200
	})
	if m := h.maxInFlight.Load(); m > maxServerRequests {
		t.Fatalf("%d answers to server requests at once, want at most %d", m, maxServerRequests)
	}
	if got := text("x-split"); got != "split" {
		t.Fatalf("x-split = %q", got)
	}
	if got := text("x-resume"); got != "resumed" {
		t.Fatalf("x-resume = %q", got)
	}
	h.mu.Lock()
	g := h.gets[0]
	h.mu.Unlock()
	if g.Get("Mcp-Session-Id") != s0.cs.ID() || g.Get("Authorization") != "Bearer topsecret-token" || g.Get("Mcp-Protocol-Version") == "" {
		t.Fatalf("resuming GET's headers: %v", g)
	}
	sameSession("answers")

	for _, c := range []struct {
		tool, want string
		is         error
	}{
		{"x-noid", "terminated without response", source.ErrProtocol},
		{"x-503", "Service Unavailable", source.ErrUnavailable},
		{"x-400rpc", "bad things", nil},
		{"x-big", "exceeds", source.ErrTooLarge},
		{"x-type", `unsupported content type "text/plain"`, source.ErrProtocol},
	} {
		_, err := call(t, u, c.tool, `{}`)
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Fatalf("%s: err = %v, want %q (%v)", c.tool, err, c.want, c.is)
		}
		if !strings.HasPrefix(err.Error(), "mcp h: ") {
			t.Fatalf("%s: err = %q, not in weft's words", c.tool, err)
		}
		sameSession(c.tool)
	}
	if got := text("x-json"); got != "json" {
		t.Fatalf("after the failures, x-json = %q", got)
	}

	// A stream that is not JSON-RPC, and a 404 on the session, end the
	// session as they fail the SDK's connection; weft reconnects.
	for _, c := range []struct {
		tool string
		is   error
	}{{"x-garbage", source.ErrProtocol}, {"x-404", source.ErrUnavailable}} {
		s, _ := u.current("test")
		if _, err := call(t, u, c.tool, `{}`); !errors.Is(err, c.is) {
			t.Fatalf("%s: err = %v, want %v", c.tool, err, c.is)
		}
		if !s.isEnded() {
			t.Fatalf("%s: the session did not end", c.tool)
		}
		eventually(t, 10*time.Second, "a new session", func() bool {
			n, err := u.current("test")
			return err == nil && n != s && n.rh != nil
		})
		if got := text("x-json"); got != "json" {
			t.Fatalf("after %s, x-json = %q", c.tool, got)
		}
	}
}
