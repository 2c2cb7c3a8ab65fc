package mcpgw_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/config"
)

// blockingUpstream is a Go SDK server over Streamable HTTP with a tool that
// blocks until cancelled and one with structured output.
type blockingUpstream struct {
	srv                *mcp.Server
	url                string
	started, cancelled chan struct{}
}

func newBlockingUpstream(t *testing.T) *blockingUpstream {
	u := &blockingUpstream{started: make(chan struct{}, 1), cancelled: make(chan struct{}, 1)}
	u.srv = mcp.NewServer(&mcp.Implementation{Name: "up", Version: "1"}, nil)
	u.srv.AddTool(&mcp.Tool{Name: "block", Description: "Blocks until cancelled", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			u.started <- struct{}{}
			<-ctx.Done()
			u.cancelled <- struct{}{}
			return nil, ctx.Err()
		})
	u.srv.AddTool(&mcp.Tool{Name: "weather", Description: "Weather of a city",
		InputSchema:  json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
		OutputSchema: json.RawMessage(`{"type":"object","properties":{"temp":{"type":"number"}},"required":["temp"]}`),
		Annotations:  &mcp.ToolAnnotations{ReadOnlyHint: true}},
		func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: `{"temp":21.5}`}}, StructuredContent: json.RawMessage(`{"temp":21.5}`)}, nil
		})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return u.srv }, nil))
	t.Cleanup(hs.Close)
	u.url = hs.URL
	return u
}

func TestMCPPassthrough(t *testing.T) {
	up := newBlockingUpstream(t)
	cfg := everythingConfig(t,
		config.Endpoint{Path: "/mcp/all", Mode: "passthrough"},
		config.Endpoint{Path: "/mcp/up", Mode: "passthrough", Servers: []string{"up"}})
	cfg.Servers["up"] = &config.Server{Name: "up", Transport: config.TransportHTTP, URL: up.url + "/"}
	_, base := startWeft(t, cfg)
	ctx := context.Background()

	changed := make(chan struct{}, 8)
	progress := make(chan float64, 64)
	cs := connect(t, base+"/mcp/all", "2025-11-25", &mcp.ClientOptions{
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) { changed <- struct{}{} },
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			progress <- r.Params.Progress
		},
	})
	list, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]*mcp.Tool{}
	for _, tl := range list.Tools {
		byName[tl.Name] = tl
	}
	for _, n := range []string{"up__block", "up__weather", "everything__echo", "everything__get-structured-content"} {
		if byName[n] == nil {
			t.Fatalf("tools/list lacks %s: %v", n, slices.Collect(func(y func(string) bool) {
				for k := range byName {
					y(k)
				}
			}))
		}
	}
	w := byName["up__weather"]
	if b, _ := json.Marshal(w.OutputSchema); string(b) != `{"properties":{"temp":{"type":"number"}},"required":["temp"],"type":"object"}` || w.Annotations == nil || !w.Annotations.ReadOnlyHint {
		t.Fatalf("weather tool = %s %+v", b, w.Annotations)
	}

	r := call(t, cs, "up__weather", map[string]any{"city": "Oslo"})
	if b, _ := json.Marshal(r.StructuredContent); string(b) != `{"temp":21.5}` {
		t.Fatalf("structuredContent = %s", b)
	}

	// Progress from the upstream reaches the client under the client's token.
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "everything__trigger-long-running-operation",
		Arguments: map[string]any{"duration": 0.2, "steps": 2}, Meta: mcp.Meta{"progressToken": "p-1"}})
	if err != nil || res.IsError {
		t.Fatalf("long running: %v %v", err, res)
	}
	if got := []float64{recv(t, progress), recv(t, progress)}; !slices.Equal(got, []float64{1, 2}) {
		t.Fatalf("progress = %v", got)
	}

	// Resources, templates and prompts of server-everything.
	rl, err := cs.ListResources(ctx, nil)
	if err != nil || !slices.ContainsFunc(rl.Resources, func(r *mcp.Resource) bool { return r.URI == "demo://resource/static/document/architecture.md" }) {
		t.Fatalf("resources/list: %v", err)
	}
	rr, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "demo://resource/dynamic/text/7"})
	if err != nil || !strings.HasPrefix(rr.Contents[0].Text, "Resource 7: This is a plaintext resource") {
		t.Fatalf("resources/read: %v %+v", err, rr)
	}
	tl, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil || len(tl.ResourceTemplates) != 2 {
		t.Fatalf("resources/templates/list: %v %+v", err, tl)
	}
	gp, err := cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "everything__simple-prompt"})
	if err != nil || gp.Messages[0].Content.(*mcp.TextContent).Text != "This is a simple prompt without arguments." {
		t.Fatalf("prompts/get: %v %+v", err, gp)
	}

	// A tool added upstream reaches the client as tools/list_changed.
	for len(changed) > 0 {
		<-changed
	}
	up.srv.AddTool(&mcp.Tool{Name: "late", InputSchema: json.RawMessage(`{"type":"object"}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "late"}}}, nil
		})
	for {
		recv(t, changed)
		list, err = cs.ListTools(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(list.Tools, func(tl *mcp.Tool) bool { return tl.Name == "up__late" }) {
			break
		}
	}
	if r := call(t, cs, "up__late", nil); text(r) != "late" {
		t.Fatalf("up__late = %q", text(r))
	}

	// Cancelling the client's request cancels the upstream call.
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
		t.Fatal("cancelled call returned no error")
	}

	// A single-server endpoint is transparent: upstream names.
	single := connect(t, base+"/mcp/up", "", nil)
	l2, err := single.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range l2.Tools {
		names = append(names, tl.Name)
	}
	if !slices.Equal(names, []string{"block", "late", "weather"}) {
		t.Fatalf("transparent endpoint tools = %v", names)
	}
	if r := call(t, single, "weather", map[string]any{"city": "Rome"}); r.IsError || text(r) != `{"temp":21.5}` {
		t.Fatalf("weather via /mcp/up = %q", text(r))
	}
}

// recv receives from ch or fails the test after 10 s (never hangs the suite).
func recv[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out waiting for a notification")
	}
	var zero T
	return zero
}
