// Package benchmcp holds what the bench programs share: the Go SDK MCP
// server they run as their own upstream (a bench binary re-executed as
// "upstream-stdio" or "upstream-http ADDR") and a free loopback address.
package benchmcp

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// IsUpstream reports whether the program was started as an upstream
// ("upstream-stdio", "upstream-http ADDR").
func IsUpstream() bool {
	return len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "upstream-")
}

// ServeUpstream serves an MCP server named name whose tools each return
// their "message" argument as text: over stdio for "upstream-stdio", over
// Streamable HTTP on ADDR (any path) for "upstream-http ADDR". It returns
// when stdin closes (stdio); over HTTP it serves until the process ends.
func ServeUpstream(name string, tools ...string) {
	srv := sdk.NewServer(&sdk.Implementation{Name: name, Version: "1"}, nil)
	for _, tool := range tools {
		srv.AddTool(&sdk.Tool{Name: tool, Description: "Takes a message and returns it (" + tool + ")",
			InputSchema: json.RawMessage(`{"type":"object","properties":{"message":{"type":"string","description":"the text"}},"required":["message"]}`)},
			func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
				var in struct{ Message string }
				_ = json.Unmarshal(req.Params.Arguments, &in)
				return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: in.Message}}}, nil
			})
	}
	switch mode := os.Args[1]; mode {
	case "upstream-stdio":
		if err := srv.Run(context.Background(), &sdk.StdioTransport{}); err != nil && !errors.Is(err, context.Canceled) {
			log.Print(err)
		}
	case "upstream-http":
		if len(os.Args) < 3 {
			log.Fatal("upstream-http: the address to listen on is missing")
		}
		h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
		log.Fatal(http.ListenAndServe(os.Args[2], h))
	default:
		log.Fatalf("unknown mode %q (upstream-stdio, upstream-http ADDR)", mode)
	}
}

// FreeAddr returns a loopback address with a free port.
func FreeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
