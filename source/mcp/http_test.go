package mcp

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/source"
)

// testServer is an in-process Go SDK MCP server behind an HTTP handler
// that records the Authorization header of every request.
type testServer struct {
	srv       *sdk.Server
	cancelled chan struct{} // receives when a "hang" handler saw its ctx end

	mu    sync.Mutex
	auths []string // Authorization header of every request, "METHOD value"
}

func newTestServer() *testServer {
	ts := &testServer{cancelled: make(chan struct{}, 10)}
	ts.srv = sdk.NewServer(&sdk.Implementation{Name: "weft-http-test", Version: "1"},
		&sdk.ServerOptions{Instructions: strings.Repeat("Long instructions. ", 60)})
	addBaseTools(ts.srv)
	sdk.AddTool(ts.srv, &sdk.Tool{Name: "wait", Description: "Blocks until cancelled."},
		func(ctx context.Context, _ *sdk.CallToolRequest, _ noIn) (*sdk.CallToolResult, any, error) {
			<-ctx.Done()
			ts.cancelled <- struct{}{}
			return nil, nil, ctx.Err()
		})
	return ts
}

func (ts *testServer) handler(transport string) http.Handler {
	var h http.Handler
	get := func(*http.Request) *sdk.Server { return ts.srv }
	if transport == TransportSSE {
		h = sdk.NewSSEHandler(get, nil)
	} else {
		h = sdk.NewStreamableHTTPHandler(get, nil)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		ts.auths = append(ts.auths, r.Method+" "+r.Header.Get("Authorization"))
		ts.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (ts *testServer) requests() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return slices.Clone(ts.auths)
}

// serveOn serves h on addr ("127.0.0.1:0" for any port).
func serveOn(t *testing.T, addr string, h http.Handler) *httptest.Server {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.Listener.Close()
	s.Listener = l
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func httpConfig(name, transport, url string) Config {
	return Config{
		Name: name, Transport: transport, URL: url,
		Headers:           map[string]string{"Authorization": "Bearer topsecret-token"},
		ConnectTimeout:    5 * time.Second,
		RestartBackoff:    20 * time.Millisecond,
		MaxRestartBackoff: 100 * time.Millisecond,
	}
}

func TestHTTPTransports(t *testing.T) {
	for _, tc := range []struct{ transport, path string }{
		{TransportHTTP, "/mcp"},
		{TransportSSE, "/sse"},
	} {
		t.Run(tc.transport, func(t *testing.T) {
			ts := newTestServer()
			hs := serveOn(t, "127.0.0.1:0", ts.handler(tc.transport))
			u, _ := start(t, httpConfig("h", tc.transport, hs.URL+tc.path))

			h := u.Health()
			if h.State != source.StateReady || h.PID != 0 {
				t.Fatalf("health = %+v", h)
			}
			tools, err := u.Tools(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(tools) != 6 {
				t.Fatalf("%d tools, want 6", len(tools))
			}
			if d := tools[0].ServerDescription; len(d) > 500 || !strings.HasPrefix(d, "Long instructions.") || !strings.HasSuffix(d, "…") {
				t.Fatalf("server description (%d bytes) = %q", len(d), d)
			}
			if got := mustText(t, u, "echo", `{"message":"over http"}`); got != "echo: over http" {
				t.Fatalf("echo = %q", got)
			}
			r, err := call(t, u, "add", `{"a":-1,"b":1}`)
			if err != nil || string(r.StructuredContent) != `{"sum":0}` {
				t.Fatalf("add = %+v, %v", r, err)
			}
			if _, err := call(t, u, "nope", `{}`); !errors.Is(err, source.ErrUnknownTool) {
				t.Fatalf("unknown tool: %v", err)
			}

			// A tool added at run time is announced with list_changed.
			changed := make(chan struct{}, 10)
			u.OnToolsChanged(func() { changed <- struct{}{} })
			sdk.AddTool(ts.srv, &sdk.Tool{Name: "late", Description: "Added later."},
				func(context.Context, *sdk.CallToolRequest, noIn) (*sdk.CallToolResult, any, error) {
					return text("late"), nil, nil
				})
			select {
			case <-changed:
			case <-time.After(5 * time.Second):
				t.Fatal("no OnToolsChanged after tools/list_changed")
			}
			if tools, err := u.Tools(context.Background()); err != nil || len(tools) != 7 {
				t.Fatalf("tools after list_changed: %d, %v", len(tools), err)
			}
			if got := mustText(t, u, "late", `{}`); got != "late" {
				t.Fatalf("late = %q", got)
			}

			// Cancellation reaches the server as notifications/cancelled.
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			if _, err := u.Call(ctx, "wait", nil); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("wait: %v", err)
			}
			select {
			case <-ts.cancelled:
			case <-time.After(5 * time.Second):
				t.Fatal("the server's handler was not cancelled")
			}

			u.Close()
			reqs := ts.requests()
			if len(reqs) < 5 {
				t.Fatalf("only %d requests: %v", len(reqs), reqs)
			}
			for _, r := range reqs {
				if !strings.HasSuffix(r, " Bearer topsecret-token") {
					t.Fatalf("request without the configured header: %q (all: %v)", r, reqs)
				}
			}
		})
	}
}

func TestHTTPDownAtStart(t *testing.T) {
	// Reserve a port, then leave it closed.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	for _, transport := range []string{TransportHTTP, TransportSSE} {
		t.Run(transport, func(t *testing.T) {
			path := "/mcp"
			if transport == TransportSSE {
				path = "/sse"
			}
			log, _ := newLogger(t)
			u, err := New(httpConfig("down", transport, "http://"+addr+path+"?api_key=querysecret"), log)
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			var changed atomic.Int32
			u.OnToolsChanged(func() { changed.Add(1) })
			err = u.Start(context.Background())
			if err == nil {
				t.Fatal("Start succeeded with the server down")
			}
			if strings.Contains(err.Error(), "querysecret") || strings.Contains(err.Error(), "topsecret") {
				t.Fatalf("error leaks a secret: %v", err)
			}
			t.Logf("start error: %v", err)
			if h := u.Health(); h.State != source.StateUnhealthy || strings.Contains(h.Reason, "querysecret") {
				t.Fatalf("health = %+v", h)
			}
			if _, err := call(t, u, "echo", `{"message":"x"}`); !errors.Is(err, source.ErrUnavailable) {
				t.Fatalf("call while down: %v", err)
			}

			ts := newTestServer()
			hs := serveOn(t, addr, ts.handler(transport))
			h := waitReady(t, u, -1)
			if h.Restarts < 1 {
				t.Fatalf("health = %+v", h)
			}
			eventually(t, 5*time.Second, "OnToolsChanged", func() bool { return changed.Load() >= 1 })
			if got := mustText(t, u, "echo", `{"message":"up"}`); got != "echo: up" {
				t.Fatalf("echo = %q", got)
			}
			u.Close()
			hs.Close()
		})
	}
}

func TestHTTPSessionLost(t *testing.T) {
	for _, transport := range []string{TransportHTTP, TransportSSE} {
		t.Run(transport, func(t *testing.T) {
			path := "/mcp"
			if transport == TransportSSE {
				path = "/sse"
			}
			hs := serveOn(t, "127.0.0.1:0", newTestServer().handler(transport))
			addr := hs.Listener.Addr().String()
			log, _ := newLogger(t)
			u, err := New(httpConfig("lost", transport, hs.URL+path), log)
			if err != nil {
				t.Fatal(err)
			}
			defer u.Close()
			u.pingInterval = 50 * time.Millisecond
			var changed atomic.Int32
			u.OnToolsChanged(func() { changed.Add(1) })
			if err := u.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			hs.CloseClientConnections()
			hs.Close()
			eventually(t, 5*time.Second, "unhealthy after the server went away", func() bool {
				return u.Health().State == source.StateUnhealthy
			})
			if _, err := call(t, u, "echo", `{"message":"x"}`); !errors.Is(err, source.ErrUnavailable) {
				t.Fatalf("call while down: %v", err)
			}
			// A new server (new sessions) on the same address.
			hs2 := serveOn(t, addr, newTestServer().handler(transport))
			defer hs2.Close()
			waitReady(t, u, -1)
			eventually(t, 5*time.Second, "OnToolsChanged", func() bool { return changed.Load() >= 1 })
			if got := mustText(t, u, "echo", `{"message":"again"}`); got != "echo: again" {
				t.Fatalf("echo = %q", got)
			}
		})
	}
}

func TestHTTPUnauthorizedHidesHeader(t *testing.T) {
	hs := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad token "+r.Header.Get("Authorization"), http.StatusUnauthorized)
	}))
	u, err := New(httpConfig("auth", TransportHTTP, hs.URL+"/mcp"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	err = u.Start(context.Background())
	if err == nil || strings.Contains(err.Error(), "topsecret") {
		t.Fatalf("Start = %v", err)
	}
	if h := u.Health(); strings.Contains(h.Reason, "topsecret") {
		t.Fatalf("reason leaks the header: %q", h.Reason)
	}
}

func TestConnectTimeoutAndCloseDuringStart(t *testing.T) {
	release := make(chan struct{})
	hs := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer close(release)

	cfg := httpConfig("slow", TransportHTTP, hs.URL+"/mcp")
	cfg.ConnectTimeout = 200 * time.Millisecond
	u, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = u.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "no answer within 200ms") {
		t.Fatalf("Start = %v", err)
	}
	if h := u.Health(); h.State != source.StateUnhealthy {
		t.Fatalf("health = %+v", h)
	}
	u.Close()

	// Start's own context ends first: Start returns, the attempt goes on.
	cfg.ConnectTimeout = 10 * time.Second
	u, err = New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := u.Start(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Start with a short ctx = %v", err)
	}
	if h := u.Health(); h.State != source.StateStarting {
		t.Fatalf("health during the attempt = %+v", h)
	}
	// Close ends the pending attempt; a later Start reports ErrClosed.
	began := time.Now()
	u.Close()
	if d := time.Since(began); d > 2*time.Second {
		t.Fatalf("Close took %s", d)
	}
	if err := u.Start(context.Background()); !errors.Is(err, source.ErrClosed) {
		t.Fatalf("Start after Close = %v", err)
	}
}
