package mcpgw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/server"
	"github.com/weft-dev/weft/server/mcpgw"
	"github.com/weft-dev/weft/source/function"
)

// answers records, for each tools/call a client POSTs, the media type of
// the answer: application/json when weft answered it directly,
// text/event-stream when the SDK's transport did.
type answers struct {
	next http.RoundTripper
	mu   sync.Mutex
	got  []string
}

func (a *answers) RoundTrip(r *http.Request) (*http.Response, error) {
	isCall := false
	if r.Method == http.MethodPost && r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body = io.NopCloser(bytes.NewReader(b))
		isCall = bytes.Contains(b, []byte(`"method":"tools/call"`))
	}
	resp, err := a.next.RoundTrip(r)
	if err == nil && isCall {
		a.mu.Lock()
		a.got = append(a.got, strings.TrimSpace(strings.Split(resp.Header.Get("Content-Type"), ";")[0]))
		a.mu.Unlock()
	}
	return resp, err
}

// last returns the media type of the last tools/call answer.
func (a *answers) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.got) == 0 {
		return ""
	}
	return a.got[len(a.got)-1]
}

func connectVia(t *testing.T, url string, rt http.RoundTripper) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: rt}},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// answeredDirectly calls tool until weft answers it itself: a client may
// call before the SDK has told weft the session is initialized, and those
// first calls are the SDK's.
func answeredDirectly(t *testing.T, cs *mcp.ClientSession, seen *answers, tool string, args any) {
	t.Helper()
	for i := 0; seen.last() != "application/json"; i++ {
		if i == 100 {
			t.Fatal("no call was answered by weft itself")
		}
		call(t, cs, tool, args)
	}
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestPassthroughPlainCallsAnsweredDirectly: on a session-based session, a
// plain tools/call is answered without the SDK's transport (one
// application/json answer) and says exactly what the upstream said; the
// caller's key, its scope, cancellation and the session's end hold as on
// the SDK's path; everything else (an unknown tool, a progress token)
// still goes through the SDK.
func TestPassthroughPlainCallsAnsweredDirectly(t *testing.T) {
	up := newBlockingUpstream(t)
	up.srv.AddTool(&mcp.Tool{Name: "rich", Description: "Every kind of block", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{
				Meta: mcp.Meta{"trace": "t-1"},
				Content: []mcp.Content{
					&mcp.TextContent{Text: "plain"},
					&mcp.TextContent{Text: "noted", Annotations: &mcp.Annotations{Priority: 0.5}},
					&mcp.ImageContent{Data: []byte{0x89, 'P', 'N', 'G'}, MIMEType: "image/png"},
					&mcp.ResourceLink{URI: "file:///a.txt", Name: "a"},
				},
				StructuredContent: map[string]any{"n": 1, "s": "x"},
			}, nil
		})
	cfg := config.Default()
	cfg.Servers = map[string]*config.Server{"up": {Name: "up", Transport: config.TransportHTTP, URL: up.url + "/"}}
	cfg.Gateway.Endpoints = []config.Endpoint{{Path: "/mcp/pt", Mode: "passthrough"}}
	o := started(t, cfg)
	hs := httptest.NewServer(server.New(o, server.Options{RequestsPerMinute: 1_000_000, APIKeys: []config.APIKey{
		{Name: "narrow", Hash: server.HashKey("narrow-key"), Tools: []string{"up__weather"}},
		{Name: "wide", Hash: server.HashKey("wide-key")},
	}}))
	t.Cleanup(hs.Close)
	ctx := context.Background()

	sk := &switchingKey{key: "wide-key"}
	seen := &answers{next: sk}
	cs := connectVia(t, hs.URL+"/mcp/pt", seen)

	// The upstream's answer, byte for byte through weft.
	direct := connect(t, up.url, "2025-11-25", nil)
	want, err := direct.CallTool(ctx, &mcp.CallToolParams{Name: "rich", Arguments: map[string]any{}})
	if err != nil {
		t.Fatal(err)
	}
	answeredDirectly(t, cs, seen, "up__weather", map[string]any{"city": "Oslo"})
	got := call(t, cs, "up__rich", map[string]any{})
	if seen.last() != "application/json" {
		t.Errorf("a plain call was answered as %q, want application/json (weft's own answer)", seen.last())
	}
	if jsonOf(t, got) != jsonOf(t, want) {
		t.Errorf("through weft\n%s\ndirect\n%s", jsonOf(t, got), jsonOf(t, want))
	}
	if r := call(t, cs, "up__weather", map[string]any{"city": "Oslo"}); jsonOf(t, r.StructuredContent) != `{"temp":21.5}` {
		t.Errorf("weather = %s", jsonOf(t, r))
	}
	// Bad arguments: the engine's validation error, as a tool error.
	if r := call(t, cs, "up__weather", map[string]any{"town": "Oslo"}); !r.IsError || !strings.Contains(text(r), "invalid_arguments") {
		t.Errorf("weather without city = %s", jsonOf(t, r))
	}

	// An unknown tool and a call with a progress token are the SDK's.
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "nope", Arguments: map[string]any{}}); err == nil || !strings.Contains(err.Error(), `unknown tool "nope"`) {
		t.Errorf("unknown tool: %v", err)
	}
	if seen.last() != "text/event-stream" {
		t.Errorf("an unknown tool was answered as %q, want the SDK's text/event-stream", seen.last())
	}
	if _, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "up__weather", Arguments: map[string]any{"city": "Rome"}, Meta: mcp.Meta{"progressToken": "p"}}); err != nil {
		t.Fatal(err)
	}
	if seen.last() != "text/event-stream" {
		t.Errorf("a call with a progress token was answered as %q, want the SDK's text/event-stream", seen.last())
	}

	// Another key cannot use the session; a narrow key's own session sees
	// only its tools.
	// (The Go client gives up a session refused with 403, so a session of
	// its own.)
	vk := &switchingKey{key: "wide-key"}
	victim := connectVia(t, hs.URL+"/mcp/pt", &answers{next: vk})
	if r := call(t, victim, "up__rich", map[string]any{}); r.IsError {
		t.Fatalf("rich = %s", jsonOf(t, r))
	}
	vk.set("narrow-key", "")
	if _, err := victim.CallTool(ctx, &mcp.CallToolParams{Name: "up__rich", Arguments: map[string]any{}}); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("the narrow key used the wide key's session: %v", err)
	}
	narrow := connectVia(t, hs.URL+"/mcp/pt", &answers{next: &switchingKey{key: "narrow-key"}})
	if _, err := narrow.CallTool(ctx, &mcp.CallToolParams{Name: "up__rich", Arguments: map[string]any{}}); err == nil || !strings.Contains(err.Error(), `unknown tool "up__rich"`) {
		t.Errorf("the narrow key called a tool outside its scope: %v", err)
	}
	if r := call(t, narrow, "up__weather", map[string]any{"city": "Oslo"}); r.IsError {
		t.Errorf("the narrow key's weather: %s", jsonOf(t, r))
	}

	// Cancelling the request cancels the upstream call.
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := cs.CallTool(cctx, &mcp.CallToolParams{Name: "up__block", Arguments: map[string]any{}})
		done <- err
	}()
	recv(t, up.started)
	cancel()
	recv(t, up.cancelled)
	if err := recv(t, done); err == nil {
		t.Error("a cancelled call returned no error")
	}

	// Closing the session cancels its calls in flight.
	otherSeen := &answers{next: &switchingKey{key: "wide-key"}}
	other := connectVia(t, hs.URL+"/mcp/pt", otherSeen)
	answeredDirectly(t, other, otherSeen, "up__weather", map[string]any{"city": "Oslo"})
	go func() {
		_, err := other.CallTool(ctx, &mcp.CallToolParams{Name: "up__block", Arguments: map[string]any{}})
		done <- err
	}()
	recv(t, up.started)
	// (The Go client's Close waits for its calls, so the DELETE by hand.)
	del, err := http.NewRequest(http.MethodDelete, hs.URL+"/mcp/pt", nil)
	if err != nil {
		t.Fatal(err)
	}
	del.Header.Set("Authorization", "Bearer wide-key")
	del.Header.Set("Mcp-Session-Id", other.ID())
	del.Header.Set("Mcp-Protocol-Version", "2025-11-25")
	resp, err := http.DefaultClient.Do(del)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %s", resp.Status)
	}
	recv(t, up.cancelled)
	recv(t, done)

	// Bodies built to hurt, on the session: too large, malformed, a batch.
	// Each is refused with a clear status; the session keeps working.
	raw := func(body string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, hs.URL+"/mcp/pt", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer wide-key")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", cs.ID())
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	huge := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"up__rich","arguments":{"x":"` + strings.Repeat("a", 5<<20) + `"}}}`
	if code, body := raw(huge); code != http.StatusRequestEntityTooLarge {
		t.Errorf("a 5 MiB call: %d %s", code, body)
	}
	if code, body := raw(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":`); code != http.StatusBadRequest {
		t.Errorf("a cut-off call: %d %s", code, body)
	}
	if code, body := raw(`[{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"up__rich"}}]`); code != http.StatusBadRequest || !strings.Contains(body, "batch") {
		t.Errorf("a batch on 2025-11-25: %d %s", code, body)
	}

	// The first session still works.
	if r := call(t, cs, "up__weather", map[string]any{"city": "Oslo"}); r.IsError {
		t.Errorf("weather after the other session ended: %s", jsonOf(t, r))
	}
}

// TestPassthroughSessionIdleTimeout: the endpoint closes a session-based
// session after SessionTimeout without a POST — also when its calls were
// answered without the SDK (whose own idle timer never sees them) — and
// never while a call is in flight.
func TestPassthroughSessionIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	fn := function.New("fn", "test functions")
	function.Must(function.Add(fn, "sleep", "Sleeps three idle timeouts", func(ctx context.Context, _ struct{}) (string, error) {
		select {
		case <-time.After(3 * idle):
			return "slept", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}))
	function.Must(function.Add(fn, "ping", "Answers pong", func(context.Context, struct{}) (string, error) { return "pong", nil }))
	cfg := config.Default()
	cfg.Servers = nil
	o := started(t, cfg, fn)
	e, err := mcpgw.New(o, config.Endpoint{Path: "/mcp", Mode: "passthrough"}, mcpgw.Options{SessionTimeout: idle})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	hs := httptest.NewServer(e.Handler())
	t.Cleanup(hs.Close)
	seen := &answers{next: http.DefaultTransport}
	cs := connectVia(t, hs.URL, seen)

	answeredDirectly(t, cs, seen, "fn__ping", nil)
	if r := call(t, cs, "fn__sleep", nil); text(r) != `"slept"` {
		t.Fatalf("sleep = %s", jsonOf(t, r))
	}
	if seen.last() != "application/json" {
		t.Fatalf("the call went through the SDK (%q); this test is about weft's own answers", seen.last())
	}
	if r := call(t, cs, "fn__ping", nil); text(r) != `"pong"` {
		t.Fatalf("the session did not survive a call longer than the idle timeout: %s", jsonOf(t, r))
	}
	time.Sleep(6 * idle)
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "fn__ping"}); err == nil {
		t.Fatal("a session idle for six timeouts still answers")
	}
}
