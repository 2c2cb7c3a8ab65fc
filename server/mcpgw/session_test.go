package mcpgw_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/server"
	"github.com/weft-dev/weft/server/mcpgw"
	"github.com/weft-dev/weft/source/function"
)

// switchingKey sends the current key as a bearer token and the current
// marker in X-Request-Marker; both may change between requests.
type switchingKey struct {
	mu          sync.Mutex
	key, marker string
}

func (s *switchingKey) set(key, marker string) {
	s.mu.Lock()
	s.key, s.marker = key, marker
	s.mu.Unlock()
}

func (s *switchingKey) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	key, marker := s.key, s.marker
	s.mu.Unlock()
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("X-Request-Marker", marker)
	return http.DefaultTransport.RoundTrip(r)
}

func sessionWith(t *testing.T, url string, sk *switchingKey) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: sk}},
		&mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

type markerKey struct{}

// TestHandlersSeeTheRequestContext: with the session-based (2025-11-25)
// handler, a tool call runs with the values of the HTTP request that
// carried it — not those of the request that created the session.
func TestHandlersSeeTheRequestContext(t *testing.T) {
	fn := function.New("fn", "test functions")
	function.Must(function.Add(fn, "marker", "The calling request's marker", func(ctx context.Context, _ struct{}) (string, error) {
		m, _ := ctx.Value(markerKey{}).(string)
		return m, nil
	}))
	cfg := config.Default()
	cfg.Servers = nil
	o := started(t, cfg, fn)
	e, err := mcpgw.New(o, config.Endpoint{Path: "/mcp", Mode: "meta"}, mcpgw.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := e.Handler()
	// An edge middleware attaching a per-request value, as package server's does.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), markerKey{}, r.Header.Get("X-Request-Marker"))))
	}))
	t.Cleanup(hs.Close)
	sk := &switchingKey{key: "k", marker: "created"}
	cs := sessionWith(t, hs.URL, sk)
	for i := range 3 {
		want := fmt.Sprint("request-", i)
		sk.set("k", want)
		if r := call(t, cs, "call_tool", map[string]any{"name": "fn__marker"}); r.IsError || text(r) != `"`+want+`"` {
			t.Fatalf("call %d saw marker %s, want %q", i, text(r), want)
		}
	}
}

// TestSessionBoundToItsKey: a session-based session belongs to the API key
// that created it; a request of another key naming it is refused, so a
// narrow key cannot act with a wider key's scope (nor the reverse).
func TestSessionBoundToItsKey(t *testing.T) {
	cfg := metaConfig()
	who := function.New("who", "identity")
	function.Must(function.Add(who, "ami", "The calling client", func(ctx context.Context, _ struct{}) (string, error) {
		return engine.ClientFrom(ctx), nil
	}))
	o := started(t, cfg, fnSource(), who)
	hs := httptest.NewServer(server.New(o, server.Options{RequestsPerMinute: 1_000_000, APIKeys: []config.APIKey{
		{Name: "narrow", Hash: server.HashKey("narrow-key"), Tools: []string{"fn__echo", "who__ami"}},
		{Name: "wide", Hash: server.HashKey("wide-key")},
	}}))
	t.Cleanup(hs.Close)
	ctx := context.Background()
	failArgs := map[string]any{"name": "fn__fail"}

	// The wide key's session, used by the narrow key.
	sk := &switchingKey{key: "wide-key"}
	wide := sessionWith(t, hs.URL+"/mcp", sk)
	if r := call(t, wide, "call_tool", failArgs); !strings.Contains(text(r), "deadline exceeded") {
		t.Fatalf("the wide key cannot call fn__fail: %s", text(r))
	}
	if r := call(t, wide, "call_tool", map[string]any{"name": "who__ami"}); text(r) != `"wide"` {
		t.Fatalf("a call of the wide key runs as client %s", text(r))
	}
	sk.set("narrow-key", "")
	res, err := wide.CallTool(ctx, &mcp.CallToolParams{Name: "call_tool", Arguments: failArgs})
	if err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Fatalf("the narrow key used the wide key's session: %v %v", err, res)
	}

	// The narrow key's session, used by the wide key.
	sk2 := &switchingKey{key: "narrow-key"}
	narrow := sessionWith(t, hs.URL+"/mcp", sk2)
	if code := errorCode(t, call(t, narrow, "call_tool", failArgs)); code != "unknown_tool" {
		t.Fatalf("the narrow key sees fn__fail: %s", code)
	}
	if r := call(t, narrow, "call_tool", map[string]any{"name": "who__ami"}); text(r) != `"narrow"` {
		t.Fatalf("a call of the narrow key runs as client %s", text(r))
	}
	sk2.set("wide-key", "")
	if _, err := narrow.CallTool(ctx, &mcp.CallToolParams{Name: "call_tool", Arguments: failArgs}); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Fatalf("the wide key used the narrow key's session: %v", err)
	}
}
