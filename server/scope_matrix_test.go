package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/server"
)

// The surface × scope matrix (issue 9, #15): every surface that lists,
// finds, validates, types, calls or reads — REST, MCP meta-tools, MCP
// passthrough (tools, resources, resource templates, prompts, completions),
// code mode, plans (tool, code and nested steps), search and runs — is
// driven by a caller limited to servers alpha and gamma, once through an API
// key's scope and once through an MCP endpoint's filter. What the caller
// may use works; what it may not (server beta) must look exactly like what
// does not exist (server ghost): same status, same error, nothing of beta's
// in any answer.
//
// Written by the lead ahead of the fixes as the spec of issue 9 #14–#15:
// while the work is in flight, failures here belong to the room that owns
// the surface — code mode (sandbox/), runs (plan/, weft_plan.go), MCP
// meta and passthrough (the gateway) — not to whoever ran the test.

// scopeUpstream is a Go SDK MCP server over Streamable HTTP with one tool,
// one resource, one resource template, one prompt and completions, each
// answer marked with the server's name.
func scopeUpstream(t *testing.T, name string) string {
	t.Helper()
	s := mcp.NewServer(&mcp.Implementation{Name: name, Version: "1"}, &mcp.ServerOptions{
		CompletionHandler: func(context.Context, *mcp.CompleteRequest) (*mcp.CompleteResult, error) {
			return &mcp.CompleteResult{Completion: mcp.CompletionResultDetails{Values: []string{name + "-completion"}}}, nil
		},
	})
	s.AddTool(&mcp.Tool{Name: "get", Description: "Get the " + name + " secret", InputSchema: json.RawMessage(`{"type":"object","properties":{"key":{"type":"string"}}}`)},
		func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: name + "-secret"}}}, nil
		})
	s.AddResource(&mcp.Resource{URI: "res://" + name + "/doc", Name: name + "-doc", MIMEType: "text/plain"},
		func(_ context.Context, r *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: r.Params.URI, Text: name + "-resource"}}}, nil
		})
	s.AddResourceTemplate(&mcp.ResourceTemplate{URITemplate: "res://" + name + "/items/{id}", Name: name + "-items"},
		func(_ context.Context, r *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{URI: r.Params.URI, Text: name + "-item"}}}, nil
		})
	s.AddPrompt(&mcp.Prompt{Name: "greet", Arguments: []*mcp.PromptArgument{{Name: "who"}}},
		func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
			return &mcp.GetPromptResult{Messages: []*mcp.PromptMessage{{Role: "user", Content: &mcp.TextContent{Text: name + "-prompt"}}}}, nil
		})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(hs.Close)
	return hs.URL + "/"
}

// scopeWeft serves three upstreams (alpha, beta, gamma) behind API keys:
// root sees everything; scoped and peer see alpha and gamma. MCP endpoints:
// /mcp and /mcp/pt are unfiltered, /mcp/ag and /mcp/pt-ag are filtered to
// alpha and gamma.
func scopeWeft(t *testing.T) string {
	t.Helper()
	cfg := config.Default()
	cfg.Servers = map[string]*config.Server{}
	for _, n := range []string{"alpha", "beta", "gamma"} {
		cfg.Servers[n] = &config.Server{Name: n, Transport: config.TransportHTTP, URL: scopeUpstream(t, n)}
	}
	ag := []string{"alpha", "gamma"}
	cfg.Gateway.Endpoints = []config.Endpoint{
		{Path: "/mcp", Mode: "meta"},
		{Path: "/mcp/pt", Mode: "passthrough"},
		{Path: "/mcp/ag", Mode: "meta", Servers: ag},
		{Path: "/mcp/pt-ag", Mode: "passthrough", Servers: ag},
	}
	cfg.Cache.Dir = t.TempDir()
	cfg.Limits.RequestsPerMinute = 1_000_000
	o, err := weft.New(weft.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if n := o.Snapshot().Len(); n != 3 {
		t.Fatalf("catalog has %d tools, want 3 (alpha__get, beta__get, gamma__get)", n)
	}
	hs := httptest.NewServer(server.New(o, server.Options{APIKeys: []config.APIKey{
		{Name: "root", Hash: server.HashKey("root-key")},
		{Name: "scoped", Hash: server.HashKey("scoped-key"), Servers: ag},
		{Name: "peer", Hash: server.HashKey("peer-key"), Servers: ag},
	}}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// hidden asserts that what the caller got for beta (forbidden) is exactly
// what it got for ghost (nonexistent), once beta's name is replaced by
// ghost's, and that nothing of beta's leaked.
func hidden(t *testing.T, what, forbidden, missing string) {
	t.Helper()
	if strings.Contains(forbidden, "beta-") {
		t.Errorf("%s: beta's data leaked: %s", what, forbidden)
	}
	if got := strings.ReplaceAll(forbidden, "beta", "ghost"); got != missing {
		t.Errorf("%s: a forbidden target is distinguishable from a missing one\nforbidden: %s\nmissing:   %s", what, forbidden, missing)
	}
}

// absent asserts that a listing shows alpha's item and nothing of beta's.
func absent(t *testing.T, what, listing, want string) {
	t.Helper()
	if !strings.Contains(listing, want) {
		t.Errorf("%s: %q missing from %s", what, want, listing)
	}
	if strings.Contains(listing, "beta") {
		t.Errorf("%s: beta appears in %s", what, listing)
	}
}

type bearer struct{ key string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return http.DefaultTransport.RoundTrip(r)
}

func keyedSession(t *testing.T, url, key, version string) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "matrix", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url, HTTPClient: &http.Client{Transport: bearer{key}}},
		&mcp.ClientSessionOptions{ProtocolVersion: version})
	if err != nil {
		t.Fatalf("connect %s as %s: %v", url, key, err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// mcpOutcome renders a tools/call outcome (protocol error or result) as text.
func mcpOutcome(res *mcp.CallToolResult, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	var b strings.Builder
	fmt.Fprintf(&b, "isError=%v ", res.IsError)
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	if res.StructuredContent != nil {
		sc, _ := json.Marshal(res.StructuredContent)
		b.Write(sc)
	}
	return b.String()
}

// Run ids, times and durations differ between two runs of the same
// program or plan; runIDs blanks them so outcomes can be compared.
var (
	reUUID     = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	reTime     = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	reDuration = regexp.MustCompile(`"(duration_ms|start_ms|elapsed_ms)":[0-9.eE+-]+`)
)

func runIDs(s string) string {
	s = reUUID.ReplaceAllString(s, "ID")
	s = reTime.ReplaceAllString(s, "TIME")
	return reDuration.ReplaceAllString(s, `"$1":0`)
}

func toolPlan(tool string) string {
	return `{"version":"1","steps":[{"id":"s","tool":"` + tool + `","args":{}}],"outputs":{"r":"{{steps.s.result}}"}}`
}

func codePlan(tool string) string {
	return `{"version":"1","steps":[{"id":"s","code":"return await callTool('` + tool + `', {})"}],"outputs":{"r":"{{steps.s.result}}"}}`
}

func nestedPlan(tool string) string {
	return `{"version":"1","steps":[{"id":"s","plan":` + toolPlan(tool) + `}],"outputs":{"r":"{{steps.s.result}}"}}`
}

func TestScopeMatrixREST(t *testing.T) {
	base := scopeWeft(t)
	key := "scoped-key"
	get := func(path string) string {
		status, _, body := req(t, "GET", base+path, key, "")
		return fmt.Sprintf("%d %s", status, body)
	}
	post := func(path, body string) string {
		status, _, b := req(t, "POST", base+path, key, body)
		return fmt.Sprintf("%d %s", status, b)
	}
	t.Run("list tools", func(t *testing.T) { absent(t, "GET /v1/tools", get("/v1/tools"), "alpha__get") })
	t.Run("list tools of a server", func(t *testing.T) {
		hidden(t, "GET /v1/tools?server=", get("/v1/tools?server=beta"), get("/v1/tools?server=ghost"))
	})
	t.Run("get tool", func(t *testing.T) {
		if got := get("/v1/tools/alpha__get"); !strings.HasPrefix(got, "200 ") {
			t.Errorf("allowed: %s", got)
		}
		hidden(t, "GET /v1/tools/{name}", get("/v1/tools/beta__get"), get("/v1/tools/ghost__get"))
	})
	t.Run("call tool", func(t *testing.T) {
		if got := post("/v1/tools/alpha__get/call", "{}"); !strings.Contains(got, "alpha-secret") {
			t.Errorf("allowed: %s", got)
		}
		hidden(t, "POST /v1/tools/{name}/call", post("/v1/tools/beta__get/call", "{}"), post("/v1/tools/ghost__get/call", "{}"))
	})
	t.Run("search", func(t *testing.T) {
		absent(t, "GET /v1/search", get("/v1/search?q=get+secret&k=10"), "alpha__get")
		absent(t, "GET /v1/search servers filter", get("/v1/search?q=get+secret&servers=beta,alpha"), "alpha__get")
	})
	t.Run("typings", func(t *testing.T) {
		if got := get("/v1/typings?tools=alpha__get"); !strings.HasPrefix(got, "200 ") {
			t.Errorf("allowed: %s", got)
		}
		hidden(t, "GET /v1/typings", get("/v1/typings?tools=beta__get"), get("/v1/typings?tools=ghost__get"))
	})
	t.Run("code", func(t *testing.T) {
		code := func(src string) string {
			b, _ := json.Marshal(map[string]string{"code": src})
			return runIDs(strings.SplitN(post("/v1/code", string(b)), " ", 2)[1])
		}
		if got := code(`return await callTool('alpha__get', {})`); !strings.Contains(got, "alpha-secret") {
			t.Errorf("allowed: %s", got)
		}
		hidden(t, "code callTool", code(`return await callTool('beta__get', {})`), code(`return await callTool('ghost__get', {})`))
		hidden(t, "code tools namespace", code(`return typeof tools.beta`), code(`return typeof tools.ghost`))
		absent(t, "code Object.keys(tools)", code(`return Object.keys(tools)`), "alpha")
		absent(t, "code searchTools", code(`return await searchTools('get secret', 10)`), "alpha__get")
	})
	t.Run("plan validate", func(t *testing.T) {
		if got := post("/v1/plans/validate", toolPlan("alpha__get")); !strings.Contains(got, `"valid":true`) {
			t.Errorf("allowed: %s", got)
		}
		hidden(t, "plans/validate", post("/v1/plans/validate", toolPlan("beta__get")), post("/v1/plans/validate", toolPlan("ghost__get")))
		hidden(t, "plans/validate nested", post("/v1/plans/validate", nestedPlan("beta__get")), post("/v1/plans/validate", nestedPlan("ghost__get")))
	})
	t.Run("plan runs", func(t *testing.T) {
		run := func(doc string) string {
			return runIDs(strings.SplitN(post("/v1/runs?wait=true", `{"plan":`+doc+`}`), " ", 2)[1])
		}
		if got := run(toolPlan("alpha__get")); !strings.Contains(got, "alpha-secret") || !strings.Contains(got, "succeeded") {
			t.Errorf("allowed: %s", got)
		}
		if got := run(codePlan("alpha__get")); !strings.Contains(got, "alpha-secret") {
			t.Errorf("allowed code step: %s", got)
		}
		hidden(t, "run tool step", run(toolPlan("beta__get")), run(toolPlan("ghost__get")))
		hidden(t, "run code step", run(codePlan("beta__get")), run(codePlan("ghost__get")))
		hidden(t, "run nested plan", run(nestedPlan("beta__get")), run(nestedPlan("ghost__get")))
	})
}

// TestScopeMatrixRuns: a run belongs to the key that started it; another
// key (even one with the same scope) cannot tell it from a run that does
// not exist.
func TestScopeMatrixRuns(t *testing.T) {
	base := scopeWeft(t)
	status, _, body := req(t, "POST", base+"/v1/runs?wait=true", "scoped-key", `{"plan":`+toolPlan("alpha__get")+`}`)
	if status != 200 {
		t.Fatalf("start run: %d %s", status, body)
	}
	var run struct{ ID string }
	if err := json.Unmarshal([]byte(body), &run); err != nil || run.ID == "" {
		t.Fatalf("run id: %v %s", err, body)
	}
	const missing = "0190c0de-0000-7000-8000-000000000000"
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/runs/%s"},
		{"GET", "/v1/runs/%s/events"},
		{"POST", "/v1/runs/%s/cancel"},
	} {
		own, _, ownBody := req(t, c.method, base+fmt.Sprintf(c.path, run.ID), "scoped-key", "")
		if own != 200 && !(c.method == "POST" && own == 409) {
			t.Errorf("owner %s %s: %d %s", c.method, c.path, own, ownBody)
		}
		ps, _, pb := req(t, c.method, base+fmt.Sprintf(c.path, run.ID), "peer-key", "")
		ms, _, mb := req(t, c.method, base+fmt.Sprintf(c.path, missing), "peer-key", "")
		hidden(t, "peer "+c.method+" "+c.path,
			fmt.Sprintf("%d %s", ps, strings.ReplaceAll(pb, run.ID, "ID")),
			fmt.Sprintf("%d %s", ms, strings.ReplaceAll(mb, missing, "ID")))
	}
	_, _, list := req(t, "GET", base+"/v1/runs", "peer-key", "")
	if strings.Contains(list, run.ID) {
		t.Errorf("peer lists the owner's run: %s", list)
	}
	_, _, list = req(t, "GET", base+"/v1/runs", "scoped-key", "")
	if !strings.Contains(list, run.ID) {
		t.Errorf("owner does not list its run: %s", list)
	}
}

// scopeModes are the two ways a caller gets limited to alpha and gamma on
// MCP: its API key's scope, or the endpoint's filter.
var scopeModes = []struct{ name, key, meta, pt string }{
	{"api key scope", "scoped-key", "/mcp", "/mcp/pt"},
	{"endpoint filter", "root-key", "/mcp/ag", "/mcp/pt-ag"},
}

// Both protocol generations: session-based (2025-11-25) and stateless.
var scopeVersions = []string{"2025-11-25", ""}

func TestScopeMatrixMCPMeta(t *testing.T) {
	base := scopeWeft(t)
	ctx := context.Background()
	for _, m := range scopeModes {
		for _, v := range scopeVersions {
			t.Run(m.name+"/"+v, func(t *testing.T) {
				cs := keyedSession(t, base+m.meta, m.key, v)
				call := func(tool string, args any) string {
					return mcpOutcome(cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args}))
				}
				absent(t, "search_tools", call("search_tools", map[string]any{"query": "get secret", "k": 10}), "alpha__get")
				if got := call("describe_tools", map[string]any{"names": []string{"alpha__get"}}); !strings.Contains(got, "alpha__get") {
					t.Errorf("describe_tools allowed: %s", got)
				}
				hidden(t, "describe_tools",
					call("describe_tools", map[string]any{"names": []string{"beta__get"}}),
					call("describe_tools", map[string]any{"names": []string{"ghost__get"}}))
				if got := call("call_tool", map[string]any{"name": "alpha__get", "arguments": map[string]any{}}); !strings.Contains(got, "alpha-secret") {
					t.Errorf("call_tool allowed: %s", got)
				}
				hidden(t, "call_tool",
					call("call_tool", map[string]any{"name": "beta__get", "arguments": map[string]any{}}),
					call("call_tool", map[string]any{"name": "ghost__get", "arguments": map[string]any{}}))
				code := func(src string) string { return runIDs(call("run_code", map[string]any{"code": src})) }
				hidden(t, "run_code callTool", code(`return await callTool('beta__get', {})`), code(`return await callTool('ghost__get', {})`))
				hidden(t, "run_code namespace", code(`return typeof tools.beta`), code(`return typeof tools.ghost`))
				absent(t, "run_code Object.keys", code(`return Object.keys(tools)`), "alpha")
				runPlan := func(doc string) string {
					return runIDs(call("run_plan", map[string]any{"plan": json.RawMessage(doc)}))
				}
				if got := runPlan(codePlan("alpha__get")); !strings.Contains(got, "alpha-secret") {
					t.Errorf("run_plan allowed code step: %s", got)
				}
				hidden(t, "run_plan tool step", runPlan(toolPlan("beta__get")), runPlan(toolPlan("ghost__get")))
				hidden(t, "run_plan code step", runPlan(codePlan("beta__get")), runPlan(codePlan("ghost__get")))
				hidden(t, "run_plan nested", runPlan(nestedPlan("beta__get")), runPlan(nestedPlan("ghost__get")))
			})
		}
	}
}

func TestScopeMatrixMCPPassthrough(t *testing.T) {
	base := scopeWeft(t)
	for _, m := range scopeModes {
		for _, v := range scopeVersions {
			t.Run(m.name+"/"+v, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				cs := keyedSession(t, base+m.pt, m.key, v)
				j := func(v any, err error) string {
					if err != nil {
						return "error: " + err.Error()
					}
					b, _ := json.Marshal(v)
					return string(b)
				}
				absent(t, "tools/list", j(cs.ListTools(ctx, nil)), "alpha__get")
				if got := mcpOutcome(cs.CallTool(ctx, &mcp.CallToolParams{Name: "alpha__get"})); !strings.Contains(got, "alpha-secret") {
					t.Errorf("tools/call allowed: %s", got)
				}
				hidden(t, "tools/call",
					mcpOutcome(cs.CallTool(ctx, &mcp.CallToolParams{Name: "beta__get"})),
					mcpOutcome(cs.CallTool(ctx, &mcp.CallToolParams{Name: "ghost__get"})))
				absent(t, "resources/list", j(cs.ListResources(ctx, nil)), "res://alpha/doc")
				if got := j(cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "res://alpha/doc"})); !strings.Contains(got, "alpha-resource") {
					t.Errorf("resources/read allowed: %s", got)
				}
				hidden(t, "resources/read",
					j(cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "res://beta/doc"})),
					j(cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "res://ghost/doc"})))
				hidden(t, "resources/read via template",
					j(cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "res://beta/items/1"})),
					j(cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "res://ghost/items/1"})))
				absent(t, "resources/templates/list", j(cs.ListResourceTemplates(ctx, nil)), "res://alpha/items/{id}")
				absent(t, "prompts/list", j(cs.ListPrompts(ctx, nil)), "alpha__greet")
				if got := j(cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "alpha__greet"})); !strings.Contains(got, "alpha-prompt") {
					t.Errorf("prompts/get allowed: %s", got)
				}
				hidden(t, "prompts/get",
					j(cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "beta__greet"})),
					j(cs.GetPrompt(ctx, &mcp.GetPromptParams{Name: "ghost__greet"})))
				complete := func(name string) string {
					return j(cs.Complete(ctx, &mcp.CompleteParams{
						Ref:      &mcp.CompleteReference{Type: "ref/prompt", Name: name},
						Argument: mcp.CompleteParamsArgument{Name: "who", Value: "a"},
					}))
				}
				if got := complete("alpha__greet"); !strings.Contains(got, "alpha-completion") {
					t.Errorf("completion/complete allowed: %s", got)
				}
				hidden(t, "completion/complete", complete("beta__greet"), complete("ghost__greet"))
			})
		}
	}
}
