package mcpgw_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/server"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// startWeft builds and starts an orchestrator over cfg (plus sources) and
// serves it on a loopback httptest server; it returns the base URL.
func startWeft(t *testing.T, cfg *config.Config, sources ...source.Source) (*weft.Orchestrator, string) {
	t.Helper()
	cfg.Limits.RequestsPerMinute = 1_000_000
	o := started(t, cfg, sources...)
	hs := httptest.NewServer(server.New(o, server.Options{}))
	t.Cleanup(hs.Close)
	return o, hs.URL
}

// started builds and starts an orchestrator over cfg (plus sources), with
// its cache in a temporary directory, closed when the test ends.
func started(t testing.TB, cfg *config.Config, sources ...source.Source) *weft.Orchestrator {
	t.Helper()
	cfg.Cache.Dir = t.TempDir()
	o, err := weft.New(weft.Options{Config: cfg, Sources: sources})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return o
}

type echoIn struct {
	Message string `json:"message" jsonschema:"text to echo"`
	Count   int    `json:"count,omitempty" jsonschema:"repeat count"`
}

// fnSource is a Go function source "fn" with echo and fail.
func fnSource() source.Source {
	fn := function.New("fn", "test functions")
	function.Must(function.Add(fn, "echo", "Echo a message", func(ctx context.Context, in echoIn) (string, error) {
		return strings.Repeat(in.Message, max(in.Count, 1)), nil
	}))
	function.Must(function.Add(fn, "fail", "Always fails", func(ctx context.Context, in struct{}) (string, error) {
		return "", context.DeadlineExceeded
	}))
	return fn
}

// connect opens a client session; version "" lets the SDK pick (2026-07-28).
func connect(t *testing.T, url, version string, opts *mcp.ClientOptions) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, opts)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url}, &mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

func call(t *testing.T, cs *mcp.ClientSession, tool string, args any) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		t.Fatalf("call %s: %v", tool, err)
	}
	return res
}

func text(r *mcp.CallToolResult) string {
	var parts []string
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			parts = append(parts, tc.Text)
		}
	}
	return strings.Join(parts, "\n")
}

// structured decodes a result's structuredContent.
func structured(t *testing.T, r *mcp.CallToolResult) map[string]any {
	t.Helper()
	b, err := json.Marshal(r.StructuredContent)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("structuredContent %s: %v", b, err)
	}
	return m
}

// errorCode returns the code of an isError result of weft's: no
// structuredContent, and {"error": {"code", "message"}} as text.
func errorCode(t *testing.T, r *mcp.CallToolResult) string {
	t.Helper()
	if !r.IsError {
		t.Fatalf("want an isError result, got %s", text(r))
	}
	if r.StructuredContent != nil {
		t.Fatalf("an error result carries structuredContent %v; clients validate it against the output schema", r.StructuredContent)
	}
	var e struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal([]byte(text(r)), &e); err != nil {
		t.Fatalf("error result text %q: %v", text(r), err)
	}
	return e.Error.Code
}

func metaConfig() *config.Config {
	cfg := config.Default()
	cfg.Servers = nil
	cfg.Gateway.Endpoints = []config.Endpoint{
		{Path: "/mcp", Mode: "meta"},
		{Path: "/mcp/echo", Mode: "meta", Tools: []string{"fn__echo"}},
	}
	return cfg
}

func TestMCPMetaTools(t *testing.T) {
	_, base := startWeft(t, metaConfig(), fnSource())
	for _, version := range []string{"2025-06-18", "2025-11-25", ""} {
		t.Run("protocol="+version, func(t *testing.T) {
			cs := connect(t, base+"/mcp", version, nil)
			want := version
			if want == "" {
				want = "2026-07-28"
			}
			if got := cs.InitializeResult().ProtocolVersion; got != want {
				t.Fatalf("negotiated %s, want %s", got, want)
			}
			l1, err := cs.ListTools(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, tl := range l1.Tools {
				names = append(names, tl.Name)
				if tl.InputSchema == nil || tl.Description == "" || !strings.Contains(tl.Description, "Example: {") {
					t.Errorf("%s: want an input schema and a description with an example", tl.Name)
				}
			}
			if !slices.Equal(names, []string{"call_tool", "describe_tools", "run_code", "run_plan", "search_tools"}) {
				t.Fatalf("tools = %v", names)
			}
			// Deterministic: a second session (and list) is byte-for-byte equal.
			l2, err := connect(t, base+"/mcp", version, nil).ListTools(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			b1, _ := json.Marshal(l1.Tools)
			b2, _ := json.Marshal(l2.Tools)
			if string(b1) != string(b2) {
				t.Fatalf("tools/list differs between sessions:\n%s\n%s", b1, b2)
			}

			r := call(t, cs, "search_tools", map[string]any{"query": "echo a message"})
			tools := structured(t, r)["tools"].([]any)
			first := tools[0].(map[string]any)
			if first["name"] != "fn__echo" || first["code"] != "tools.fn.echo" || first["signature"] != "echo(args: { message: string; count?: number }): Promise<unknown>" {
				t.Fatalf("search_tools first hit = %v", first)
			}

			r = call(t, cs, "describe_tools", map[string]any{"names": []string{"fn__echo"}})
			d := structured(t, r)
			if !strings.Contains(d["typings"].(string), "echo(args: {") || d["tools"].([]any)[0].(map[string]any)["server"] != "fn" {
				t.Fatalf("describe_tools = %v", d)
			}

			r = call(t, cs, "call_tool", map[string]any{"name": "fn__echo", "arguments": map[string]any{"message": "hi", "count": 2}})
			if r.IsError || text(r) != `"hihi"` {
				t.Fatalf("call_tool echo = %v %q", r.IsError, text(r))
			}
			r = call(t, cs, "call_tool", map[string]any{"name": "fn__echo", "arguments": map[string]any{"count": "x"}})
			if code := errorCode(t, r); code != "invalid_arguments" {
				t.Fatalf("code = %q: %s", code, text(r))
			}
			r = call(t, cs, "call_tool", map[string]any{"name": "fn__nope"})
			if code := errorCode(t, r); code != "unknown_tool" {
				t.Fatalf("code = %q", code)
			}
			r = call(t, cs, "call_tool", map[string]any{"name": "fn__fail"})
			if !r.IsError || !strings.Contains(text(r), "deadline exceeded") {
				t.Fatalf("call_tool fail = %v %q", r.IsError, text(r))
			}
			r = call(t, cs, "call_tool", map[string]any{})
			if !r.IsError || r.StructuredContent != nil || !strings.Contains(text(r), "name") {
				t.Fatalf("missing name: %v %s", r.IsError, text(r))
			}

			r = call(t, cs, "run_code", map[string]any{"code": `const [a, b] = await Promise.all([tools.fn.echo({message: "x"}), tools.fn.echo({message: "y", count: 2})]); return a + b;`})
			if m := structured(t, r); r.IsError || m["result"] != "xyy" || m["error"] != nil {
				t.Fatalf("run_code = %v", m)
			}
			r = call(t, cs, "run_code", map[string]any{"code": `return (`})
			if m := structured(t, r); !r.IsError || m["error"].(map[string]any)["kind"] != "syntax" {
				t.Fatalf("run_code syntax error = %v", m)
			}

			plan := map[string]any{"steps": []any{
				map[string]any{"id": "a", "tool": "fn__echo", "args": map[string]any{"message": "p"}},
				map[string]any{"id": "b", "tool": "fn__echo", "args": map[string]any{"message": "{{steps.a.result}}q"}},
			}, "outputs": map[string]any{"out": "{{steps.b.result}}"}}
			r = call(t, cs, "run_plan", map[string]any{"plan": plan})
			if m := structured(t, r); r.IsError || m["status"] != "succeeded" || m["outputs"].(map[string]any)["out"] != "pq" {
				t.Fatalf("run_plan = %s", text(r))
			}
		})
	}
}

func TestMCPMetaFilter(t *testing.T) {
	_, base := startWeft(t, metaConfig(), fnSource())
	cs := connect(t, base+"/mcp/echo", "2025-11-25", nil)
	r := call(t, cs, "search_tools", map[string]any{"query": "fail"})
	var names []string
	for _, h := range structured(t, r)["tools"].([]any) {
		names = append(names, h.(map[string]any)["name"].(string))
	}
	if !slices.Equal(names, []string{"fn__echo"}) {
		t.Fatalf("filtered search = %v", names)
	}
	for _, tc := range []struct{ tool, arg string }{
		{"call_tool", `{"name":"fn__fail"}`},
		{"describe_tools", `{"names":["fn__fail"]}`},
	} {
		r = call(t, cs, tc.tool, json.RawMessage(tc.arg))
		if code := errorCode(t, r); code != "unknown_tool" {
			t.Fatalf("%s: code %q", tc.tool, code)
		}
	}
	// In code mode a filtered tool is exactly a missing one.
	codeErr := func(tool string) string {
		r := call(t, cs, "run_code", map[string]any{"code": "return await tools.fn." + tool + "({});"})
		m := structured(t, r)
		e, _ := m["error"].(map[string]any)
		if !r.IsError || e == nil {
			t.Fatalf("run_code of fn.%s = %v", tool, m)
		}
		return strings.ReplaceAll(fmt.Sprint(e["kind"], ": ", e["message"]), tool, "TOOL")
	}
	if hidden, missing := codeErr("fail"), codeErr("nope"); hidden != missing {
		t.Fatalf("run_code: a filtered tool (%s) differs from a missing one (%s)", hidden, missing)
	}
	r = call(t, cs, "run_plan", map[string]any{"plan": map[string]any{"steps": []any{map[string]any{"id": "a", "tool": "fn__fail"}}}})
	if code := errorCode(t, r); code != "invalid_plan" || !strings.Contains(text(r), `"code":"unknown_tool"`) {
		t.Fatalf("run_plan of a filtered tool: %q %s", code, text(r))
	}
}

// TestMCPStatelessReplicas: a 2026-07-28 client is answered by whichever of
// two independent weft servers (same configuration) gets each request.
func TestMCPStatelessReplicas(t *testing.T) {
	_, a := startWeft(t, metaConfig(), fnSource())
	_, b := startWeft(t, metaConfig(), fnSource())
	rr := &roundRobin{hosts: []string{strings.TrimPrefix(a, "http://"), strings.TrimPrefix(b, "http://")}}
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: a + "/mcp", HTTPClient: &http.Client{Transport: rr}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if v := cs.InitializeResult().ProtocolVersion; v != "2026-07-28" {
		t.Fatalf("protocol %s", v)
	}
	for i := range 6 {
		r := call(t, cs, "call_tool", map[string]any{"name": "fn__echo", "arguments": map[string]any{"message": "r", "count": i + 1}})
		if r.IsError || text(r) != `"`+strings.Repeat("r", i+1)+`"` {
			t.Fatalf("call %d: %q", i, text(r))
		}
	}
	if rr.counts[0] < 3 || rr.counts[1] < 3 {
		t.Fatalf("requests per replica = %v; want both to answer", rr.counts)
	}
}

// roundRobin sends each request to the next host in turn.
type roundRobin struct {
	mu     sync.Mutex
	hosts  []string
	next   int
	counts [2]int
}

func (r *roundRobin) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	i := r.next % len(r.hosts)
	r.next++
	r.counts[i]++
	r.mu.Unlock()
	req = req.Clone(req.Context())
	req.URL.Host, req.Host = r.hosts[i], r.hosts[i]
	return http.DefaultTransport.RoundTrip(req)
}
