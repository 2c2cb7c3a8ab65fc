package mcp

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/source"
)

// TestStatelessUpstreamStaysReady: an upstream served by the Go SDK in
// stateless mode has no sessions to lose. Neither the periodic liveness
// ping of HTTP sessions nor the probe after a call that ended at its
// deadline may turn it unhealthy: both are answered (with an error, or
// not at all when the protocol dropped ping), and an answer is an answer.
func TestStatelessUpstreamStaysReady(t *testing.T) {
	ts := newTestServer()
	sdk.AddTool(ts.srv, &sdk.Tool{Name: "nap", Description: "Sleeps 300ms or until cancelled."},
		func(ctx context.Context, _ *sdk.CallToolRequest, _ noIn) (*sdk.CallToolResult, any, error) {
			select {
			case <-ctx.Done():
			case <-time.After(300 * time.Millisecond):
			}
			return &sdk.CallToolResult{}, nil, nil
		})
	h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return ts.srv },
		&sdk.StreamableHTTPOptions{Stateless: true})
	var posts atomic.Int64
	hs := serveOn(t, "127.0.0.1:0", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		h.ServeHTTP(w, r)
	}))
	log, _ := newLogger(t)
	u, err := New(httpConfig("stateless", TransportHTTP, hs.URL+"/mcp"), log)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	u.pingInterval = 20 * time.Millisecond
	if err := u.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A call that ends at its deadline triggers the probe.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err = u.Call(ctx, "nap", []byte(`{}`))
	cancel()
	if err == nil {
		t.Fatal("nap returned before its deadline")
	}
	// Let several periodic pings and the probe happen.
	seen := posts.Load()
	eventually(t, 5*time.Second, "ten more requests (pings) reach the upstream", func() bool {
		return posts.Load() >= seen+10
	})
	if h := u.Health(); h.State != source.StateReady || h.Restarts != 0 {
		t.Fatalf("health after pings = %+v", h)
	}
	if got := mustText(t, u, "echo", `{"message":"still here"}`); got != "echo: still here" {
		t.Fatalf("echo = %q", got)
	}
}
