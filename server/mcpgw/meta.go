package mcpgw

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/plan"
	"github.com/weft-dev/weft/sandbox"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/source"
)

// registerMeta adds the meta tools to e's server with the SDK's typed
// AddTool: input and output schemas are derived from the Go types in
// metadefs.go, the SDK validates arguments against the input schema and
// successful results against the output schema. Every failure is an
// isError result without structuredContent (see errorResult), which every
// client accepts whatever the output schema.
func registerMeta(e *Endpoint) {
	m := &metaTools{e: e}
	sdk.AddTool(e.srv, toolDef("search_tools", inputSchema[searchInput](searchInputRules), outputSchema[searchOutput]()), m.searchTools)
	sdk.AddTool(e.srv, toolDef("describe_tools", inputSchema[describeInput](describeInputRules), outputSchema[describeOutput]()), m.describeTools)
	sdk.AddTool(e.srv, toolDef("call_tool", inputSchema[callInput](callInputRules), nil), m.callTool)
	sdk.AddTool(e.srv, toolDef("run_code", inputSchema[codeInput](codeInputRules), outputSchema[codeOutput]()), m.runCode)
	sdk.AddTool(e.srv, toolDef("run_plan", inputSchema[planInput](planInputRules), outputSchema[planOutput]()), m.runPlan)
}

// metaTools implements the meta-mode tools. Every handler runs with the
// caller's policy on ctx (API key scope ∩ endpoint filter) and reads the
// catalog only through the facade, which enforces it.
type metaTools struct {
	e *Endpoint
}

func (m *metaTools) searchTools(ctx context.Context, _ *sdk.CallToolRequest, in searchInput) (*sdk.CallToolResult, any, error) {
	if in.K == 0 {
		in.K = defaultSearchK
	}
	o := m.e.o
	q := search.Query{Text: in.Query, K: in.K, Servers: in.Servers, WithSignature: true}
	cfg := o.Config().Search
	resp, complete, err := o.SearchAuto(ctx, q, cfg.AutoMaxTools, cfg.AutoMaxTokens)
	if err != nil {
		var qe *search.QueryError
		if errors.As(err, &qe) {
			return errorResult(string(engine.CodeInvalidArguments), qe.Error(), nil), nil, nil
		}
		return errorResult("internal", err.Error(), nil), nil, nil
	}
	names := codeNames(o.View(ctx))
	out := searchOutput{Tools: []searchHit{}, Complete: complete, Degraded: resp.Degraded}
	for _, r := range resp.Results {
		out.Tools = append(out.Tools, searchHit{Name: r.Name, Code: names[r.Name].Path("tools"), Description: firstParagraph(r.Description), Signature: r.Signature})
	}
	return nil, out, nil
}

func (m *metaTools) describeTools(ctx context.Context, _ *sdk.CallToolRequest, in describeInput) (*sdk.CallToolResult, any, error) {
	view := m.e.o.View(ctx)
	names := codeNames(view)
	out := describeOutput{Tools: []describedTool{}}
	wanted := slices.Compact(slices.Sorted(slices.Values(in.Names)))
	for _, n := range wanted {
		t, ok := view.Get(n)
		if !ok {
			return errorResult(string(engine.CodeUnknownTool), fmt.Sprintf("unknown tool %q; use search_tools to find tool names", n), nil), nil, nil
		}
		schema := t.InputSchema
		if len(schema) == 0 {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		out.Tools = append(out.Tools, describedTool{Name: t.Name, Code: names[t.Name].Path("tools"), Server: t.Server, Title: t.Title,
			Description: t.Description, InputSchema: schema, OutputSchema: t.OutputSchema, Annotations: t.Annotations,
			Health: m.e.o.ToolHealth(t.Name, t.Server).Score})
	}
	ts, err := m.e.o.Typings(ctx, wanted)
	if err != nil {
		return errorResult("internal", err.Error(), nil), nil, nil
	}
	out.Typings = ts
	return nil, out, nil
}

func (m *metaTools) callTool(ctx context.Context, req *sdk.CallToolRequest, in callInput) (*sdk.CallToolResult, any, error) {
	return m.e.forwardCall(ctx, req, in.Name, in.Arguments), nil, nil
}

func (m *metaTools) runCode(ctx context.Context, req *sdk.CallToolRequest, in codeInput) (*sdk.CallToolResult, any, error) {
	r := sandbox.Request{Code: in.Code, Language: sandbox.Language(in.Language)}
	r.Limits.Timeout = time.Duration(in.TimeoutMS) * time.Millisecond
	res, err := m.e.o.RunCode(withClient(ctx, req, false), r)
	if err != nil {
		return errorResult("invalid_program", err.Error(), nil), nil, nil
	}
	// A failed program is still a run record the output schema describes.
	return &sdk.CallToolResult{IsError: res.Error != nil}, res, nil
}

func (m *metaTools) runPlan(ctx context.Context, req *sdk.CallToolRequest, in planInput) (*sdk.CallToolResult, any, error) {
	o := m.e.o
	p, err := o.ParsePlan(in.Plan)
	if err != nil {
		return planProblems(err), nil, nil
	}
	run, err := o.RunPlan(withClient(ctx, req, false), p, in.Inputs, plan.RunOptions{})
	if err != nil && run == nil {
		return planProblems(err), nil, nil
	}
	return &sdk.CallToolResult{IsError: run.Status != plan.RunSucceeded}, run, nil
}

// planProblems renders a plan that cannot run: invalid (with every
// problem, an unknown or hidden tool among them) or not started.
func planProblems(err error) *sdk.CallToolResult {
	var pe *plan.ProblemsError
	if errors.As(err, &pe) {
		return errorResult("invalid_plan", pe.Error(), pe.Problems)
	}
	return errorResult("internal", err.Error(), nil)
}

// forwardCall runs a catalog tool through the engine for an MCP client and
// renders the outcome as a tool result: the upstream's result as it is
// (isError included), or an engine error as an isError result carrying the
// error code and message so the model can correct itself. A tool outside
// the caller's policy is an unknown tool (the engine decides).
func (e *Endpoint) forwardCall(ctx context.Context, req *sdk.CallToolRequest, name string, args json.RawMessage) *sdk.CallToolResult {
	res, failed := e.callTool(ctx, req, name, args)
	if failed != nil {
		return failed
	}
	out, err := toSDKResult(res)
	if err != nil {
		return errorResult(string(engine.CodeUpstream), name+": "+err.Error(), nil)
	}
	return out
}

// callTool runs a catalog tool for an MCP client: its result, or the
// failure as the isError result forwardCall describes.
func (e *Endpoint) callTool(ctx context.Context, req *sdk.CallToolRequest, name string, args json.RawMessage) (*source.Result, *sdk.CallToolResult) {
	res, err := e.o.Call(withClient(ctx, req, true), name, args, weft.CallerMCP)
	if err == nil {
		return res, nil
	}
	var ee *engine.Error
	if errors.As(err, &ee) {
		msg := ee.Error()
		if ee.Code == engine.CodeUnknownTool && e.ep.Mode == ModeMeta {
			msg += "; use search_tools to find tool names"
		}
		return nil, errorResult(string(ee.Code), msg, ee.Problems)
	}
	e.log.Error("tool call failed", "tool", name, "err", err)
	return nil, errorResult("internal", "internal error; see the server log", nil)
}

// codeNames maps catalog names to code-mode identifiers over the whole
// snapshot (names must not depend on who reads them), as the sandbox does.
func codeNames(v *catalog.View) map[string]catalog.TSName {
	all := v.Snapshot().Tools()
	ptrs := make([]*catalog.Tool, len(all))
	for i := range all {
		ptrs[i] = &all[i]
	}
	return catalog.TypeScriptNames(ptrs)
}
