package weft_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
)

// resourceUpstream is a Go SDK MCP server over Streamable HTTP with a tool,
// a resource, a template and a prompt, all mentioning its name.
func resourceUpstream(t *testing.T, name string) string {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, &mcp.ServerOptions{
		CompletionHandler: func(context.Context, *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
			return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: []string{name}}}, nil
		},
	})
	s.AddTool(&mcp.Tool{Name: "get", InputSchema: map[string]any{"type": "object"}}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name}}}, nil
	})
	s.AddResource(&mcp.Resource{URI: "res://" + name, Name: name}, func(_ context.Context, r *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: r.Params.URI, Text: name}}}, nil
	})
	s.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: "res://" + name + "/{id}", Name: name}, func(_ context.Context, r *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: r.Params.URI, Text: name}}}, nil
	})
	s.AddPrompt(&mcp.Prompt{Name: "p"}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: name}}}}, nil
	})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(hs.Close)
	return hs.URL
}

// TestMCPFacadeEnforcesPolicy: every MCP method of the facade answers the
// caller on ctx: a server outside its policy does not exist (ErrNotFound,
// exactly as for an unknown server), one inside it is reached.
func TestMCPFacadeEnforcesPolicy(t *testing.T) {
	cfg := baseConfig(t)
	for _, n := range []string{"alpha", "beta"} {
		addServer(cfg, &config.Server{Name: n, Transport: config.TransportHTTP, URL: resourceUpstream(t, n)})
	}
	o := start(t, cfg)
	defer o.Close()
	ctx := weft.WithScope(context.Background(), weft.Scope{Servers: []string{"alpha"}})
	if got := o.MCPServers(ctx); !slices.Equal(got, []string{"alpha"}) {
		t.Fatalf("MCPServers = %v", got)
	}
	if got := o.MCPServers(context.Background()); !slices.Equal(got, []string{"alpha", "beta"}) {
		t.Fatalf("MCPServers (no policy) = %v", got)
	}
	if o.UpstreamCapabilities(ctx, "beta") != nil || o.UpstreamCapabilities(ctx, "alpha") == nil {
		t.Fatal("UpstreamCapabilities ignores the policy")
	}
	methods := map[string]func(server string) error{
		"ListResources": func(s string) error { _, err := o.ListResources(ctx, s); return err },
		"ListResourceTemplates": func(s string) error {
			_, err := o.ListResourceTemplates(ctx, s)
			return err
		},
		"ReadResource": func(s string) error {
			_, err := o.ReadResource(ctx, s, &mcp.ReadResourceParams{URI: "res://" + s})
			return err
		},
		"ListPrompts": func(s string) error { _, err := o.ListPrompts(ctx, s); return err },
		"GetPrompt": func(s string) error {
			_, err := o.GetPrompt(ctx, s, &mcp.GetPromptParams{Name: "p"})
			return err
		},
		"Complete": func(s string) error {
			_, err := o.Complete(ctx, s, &mcp.CompleteParams{Ref: &mcp.CompleteReference{Type: "ref/prompt", Name: "p"},
				Argument: mcp.CompleteParamsArgument{Name: "x", Value: "y"}})
			return err
		},
		"SubscribeResource":   func(s string) error { return o.SubscribeResource(ctx, s, "res://"+s) },
		"UnsubscribeResource": func(s string) error { return o.UnsubscribeResource(ctx, s, "res://"+s) },
		"SetUpstreamLogLevel": func(s string) error { return o.SetUpstreamLogLevel(ctx, s, "info") },
	}
	for name, m := range methods {
		for _, s := range []string{"beta", "ghost"} {
			if err := m(s); !errors.Is(err, weft.ErrNotFound) {
				t.Errorf("%s(%s) with a policy limited to alpha: %v, want ErrNotFound", name, s, err)
			}
		}
	}
	res, err := o.ReadResource(ctx, "alpha", &mcp.ReadResourceParams{URI: "res://alpha"})
	if err != nil || res.Contents[0].Text != "alpha" {
		t.Fatalf("ReadResource(alpha): %v %+v", err, res)
	}
	pr, err := o.GetPrompt(ctx, "alpha", &mcp.GetPromptParams{Name: "p"})
	if err != nil || pr.Messages[0].Content.(*mcp.TextContent).Text != "alpha" {
		t.Fatalf("GetPrompt(alpha): %v %+v", err, pr)
	}
}
