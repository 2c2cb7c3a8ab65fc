package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
)

// mcpUpstream adapts a Go SDK client session to engine.Upstream, the way
// weft's MCP source does.
type mcpUpstream struct {
	name    string
	session *mcp.ClientSession
}

func (u *mcpUpstream) Upstream(server string) (engine.Upstream, bool) { return u, server == u.name }

func (u *mcpUpstream) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	res, err := u.session.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return nil, err
	}
	out := &source.Result{IsError: res.IsError}
	for _, c := range res.Content {
		b, err := c.MarshalJSON()
		if err != nil {
			return nil, err
		}
		out.Content = append(out.Content, b)
	}
	if res.StructuredContent != nil {
		if out.StructuredContent, err = json.Marshal(res.StructuredContent); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (u *mcpUpstream) tools(ctx context.Context) ([]catalog.Tool, error) {
	res, err := u.session.ListTools(ctx, nil)
	if err != nil {
		return nil, err
	}
	var out []catalog.Tool
	for _, t := range res.Tools {
		in, _ := json.Marshal(t.InputSchema)
		ct := catalog.Tool{Server: u.name, Original: t.Name, Description: t.Description, InputSchema: in}
		if t.OutputSchema != nil {
			ct.OutputSchema, _ = json.Marshal(t.OutputSchema)
		}
		out = append(out, ct)
	}
	return out, nil
}

type userIn struct {
	ID int `json:"id" jsonschema:"the user id"`
}

type userOut struct {
	Name  string   `json:"name"`
	Email string   `json:"email"`
	Tags  []string `json:"tags"`
}

type greetIn struct {
	Name string `json:"name"`
}

type greetOut struct {
	Greeting string `json:"greeting"`
}

// startMCP serves a Go SDK MCP server in process and connects a client to it.
func startMCP(t *testing.T, calls *atomic.Int32) *mcpUpstream {
	t.Helper()
	ctx := context.Background()
	srv := mcp.NewServer(&mcp.Implementation{Name: "users", Version: "1.0.0"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "get_user", Description: "Look a user up"},
		func(_ context.Context, _ *mcp.CallToolRequest, in userIn) (*mcp.CallToolResult, userOut, error) {
			calls.Add(1)
			if in.ID <= 0 {
				return nil, userOut{}, fmt.Errorf("no user %d", in.ID)
			}
			return nil, userOut{Name: fmt.Sprintf("user%d", in.ID), Email: fmt.Sprintf("u%d@example.com", in.ID), Tags: []string{"a"}}, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "greet", Description: "Greet someone"},
		func(_ context.Context, _ *mcp.CallToolRequest, in greetIn) (*mcp.CallToolResult, greetOut, error) {
			calls.Add(1)
			return nil, greetOut{Greeting: "hello " + in.Name}, nil
		})
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "weft-test", Version: "0"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close(); ss.Wait() })
	return &mcpUpstream{name: "users", session: cs}
}

func TestPlanOverGoSDKMCPServer(t *testing.T) {
	ctx := context.Background()
	var calls atomic.Int32
	up := startMCP(t, &calls)
	tools, err := up.tools(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap := catalog.NewSnapshot(tools)
	eng := engine.New(engine.Options{Catalog: fixedCatalog{snap}, Upstreams: up})
	x := NewExecutor(ExecutorOptions{Caller: eng})

	// Static checks use the server's declared output schema.
	bad := mustParse(t, `{"steps":[
		{"id":"u","tool":"users__get_user","args":{"id":"seven"}},
		{"id":"g","tool":"users__greet","args":{"name":"{{steps.u.result.nickname}}"}},
		{"id":"h","tool":"users__greet","args":{"name":"{{steps.u.result.tags}}"}}
	]}`)
	var msgs []string
	for _, p := range Check(snap.View(nil), bad) {
		msgs = append(msgs, p.Path+" "+p.Code)
	}
	if got := strings.Join(msgs, "; "); got != "steps[0].args.id invalid_args; steps[1].args.name unknown_field; steps[2].args.name type_mismatch" {
		t.Errorf("problems: %s", got)
	}

	p := mustParse(t, `{"inputs":{"type":"object","properties":{"ids":{"type":"array","items":{"type":"integer"}}}},
	"steps":[
		{"id":"users","tool":"users__get_user","foreach":"{{inputs.ids}}","concurrency":2,"args":{"id":"{{item}}"}},
		{"id":"greet","tool":"users__greet","args":{"name":"{{steps.users.result[1].name}} <{{steps.users.result[1].email}}>"}},
		{"id":"missing","tool":"users__get_user","args":{"id":0}}
	],"outputs":{"greeting":"{{steps.greet.result.greeting}}","names":"{{steps.users.result}}"}}`)
	if probs := Check(snap.View(nil), p); len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	r, err := x.Run(ctx, p, map[string]any{"ids": []int{1, 2, 3}}, RunOptions{Catalog: snap.View(nil)})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Outputs["greeting"]; got != "hello user2 <u2@example.com>" {
		t.Errorf("greeting = %#v (%s)", got, jsonOf(r.Steps))
	}
	if n := len(r.Outputs["names"].([]any)); n != 3 {
		t.Errorf("names: %d", n)
	}
	// The server's failure is a tool error; the rest of the run is intact.
	if s := stepOf(t, r, "missing"); s.Status != StepFailed || s.Error.Code != CodeToolError || !strings.Contains(s.Error.Message, "no user 0") {
		t.Errorf("missing: %s", jsonOf(s))
	}
	if r.Status != RunFailed || calls.Load() != 5 {
		t.Errorf("run %s, calls %d", r.Status, calls.Load())
	}
}
