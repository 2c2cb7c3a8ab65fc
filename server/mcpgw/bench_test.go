package mcpgw_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/server/mcpgw"
)

// BenchmarkPassthroughCall is one tools/call through a passthrough
// endpoint over Streamable HTTP (2025-11-25 session, loopback, a Go
// function tool so that no upstream cost is in the numbers): "direct" is
// a plain call, which weft answers itself; "sdk" is the same call with a
// progress token, which goes through the SDK's transport — the path every
// call took before. Same session, same client, same run; the client's own
// HTTP work is in both.
//
//	go test -run '^$' -bench PassthroughCall -benchmem -count 5 ./server/mcpgw
func BenchmarkPassthroughCall(b *testing.B) {
	cfg := config.Default()
	cfg.Servers = nil
	cfg.Limits.RequestsPerMinute = 1_000_000_000
	o := started(b, cfg, fnSource())
	e, err := mcpgw.New(o, config.Endpoint{Path: "/mcp", Mode: "passthrough"}, mcpgw.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.Close)
	hs := httptest.NewServer(e.Handler())
	b.Cleanup(hs.Close)

	// A session made by the SDK's client; the calls are posted by hand.
	c := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: hs.URL}, &mcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cs.Close() })
	client := hs.Client()
	post := func(body string) string {
		req, _ := http.NewRequest(http.MethodPost, hs.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Session-Id", cs.ID())
		req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		out, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte(`hello`)) {
			b.Fatalf("%s: %s %s", resp.Status, out, err)
		}
		return resp.Header.Get("Content-Type")
	}
	for _, bc := range []struct {
		name, meta, want string
	}{
		{"direct", ``, "application/json"},
		{"sdk", `,"_meta":{"progressToken":"p"}`, "text/event-stream"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := func(i int) string {
				return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"fn__echo","arguments":{"message":"hello"}%s}}`, i, bc.meta)
			}
			// Until the SDK has told weft the session is initialized,
			// plain calls are the SDK's too.
			for i := 0; post(body(i)) != bc.want; i++ {
				if i == 1000 {
					b.Fatalf("%s calls are not answered as %s", bc.name, bc.want)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				post(body(i))
			}
		})
	}
}
