package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/plan"
	"github.com/weft-dev/weft/sandbox"
	"github.com/weft-dev/weft/search"
)

// metaTools implements the meta-mode tools. Their definitions (names,
// descriptions, schemas, order) are constants, so tools/list is byte-for-byte
// the same on every call and every replica and clients' prompt caches hit.
type metaTools struct {
	m *MCP
}

// metaTool is one meta tool: its definition and handler.
type metaTool struct {
	tool    *sdk.Tool
	input   *jsonschema.Schema
	handler func(ctx context.Context, req *sdk.CallToolRequest, args json.RawMessage) (*sdk.CallToolResult, error)
}

// register adds the meta tools to the endpoint's server (the SDK lists
// them sorted by name).
func (mt *metaTools) register() {
	for _, d := range metaDefinitions {
		schema, err := catalog.CompileSchema(json.RawMessage(d.input))
		if err != nil {
			panic(fmt.Sprintf("meta tool %s: input schema: %v", d.name, err))
		}
		t := &sdk.Tool{
			Name:        d.name,
			Title:       d.title,
			Description: d.description,
			InputSchema: json.RawMessage(d.input),
			Annotations: d.annotations,
		}
		if d.output != "" {
			t.OutputSchema = json.RawMessage(d.output)
		}
		h := mt.handlerFor(d.name)
		mt.m.srv.AddTool(t, func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			args := req.Params.Arguments
			if err := catalog.ValidateArgs(d.name, schema, args); err != nil {
				var ae *catalog.ArgumentError
				if errors.As(err, &ae) {
					return errorResult(string(engine.CodeInvalidArguments), ae.Error(), ae.Problems), nil
				}
				return errorResult(string(engine.CodeInvalidArguments), err.Error(), nil), nil
			}
			return h(ctx, req, args)
		})
	}
}

func (mt *metaTools) handlerFor(name string) func(context.Context, *sdk.CallToolRequest, json.RawMessage) (*sdk.CallToolResult, error) {
	switch name {
	case "search_tools":
		return mt.searchTools
	case "describe_tools":
		return mt.describeTools
	case "call_tool":
		return mt.callTool
	case "run_code":
		return mt.runCode
	case "run_plan":
		return mt.runPlan
	}
	panic("unknown meta tool " + name)
}

// searchHit is one tool in search_tools' answer.
type searchHit struct {
	Name        string `json:"name"`
	Code        string `json:"code"`
	Description string `json:"description,omitempty"`
	Signature   string `json:"signature"`
}

func (mt *metaTools) searchTools(ctx context.Context, _ *sdk.CallToolRequest, raw json.RawMessage) (*sdk.CallToolResult, error) {
	var args struct {
		Query   string   `json:"query"`
		K       int      `json:"k"`
		Servers []string `json:"servers"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return errorResult(string(engine.CodeInvalidArguments), err.Error(), nil), nil
	}
	if args.K == 0 {
		args.K = defaultSearchK
	}
	m := mt.m
	snap := m.o.Snapshot()
	allowed := m.filter.allowed(snap)
	q := search.Query{Text: args.Query, K: args.K, Servers: args.Servers, WithSignature: true}
	if !m.filter.empty() {
		for _, t := range allowed {
			q.Allow = append(q.Allow, t.Name)
		}
		if len(q.Allow) == 0 {
			q.Allow = []string{"\x00none"}
		}
	}
	cfg := m.o.Config().Search
	results, complete, err := m.o.SearchAuto(ctx, q, cfg.AutoMaxTools, cfg.AutoMaxTokens)
	if err != nil {
		var qe *search.QueryError
		if errors.As(err, &qe) {
			return errorResult(string(engine.CodeInvalidArguments), qe.Error(), nil), nil
		}
		return errorResult("internal", err.Error(), nil), nil
	}
	names := codeNames(snap)
	hits := []searchHit{}
	for _, r := range results {
		t, ok := snap.Get(r.Name)
		if !ok || !m.filter.allows(t) || (len(args.Servers) > 0 && !slices.Contains(args.Servers, t.Server)) {
			continue // SearchAuto's "all" answer ignores the query's filters
		}
		hits = append(hits, searchHit{Name: r.Name, Code: names[r.Name].Path("tools"), Description: firstParagraph(r.Description), Signature: r.Signature})
	}
	return jsonResult(map[string]any{"tools": hits, "complete": complete}, false), nil
}

// describedTool is one tool in describe_tools' answer.
type describedTool struct {
	Name         string               `json:"name"`
	Code         string               `json:"code"`
	Server       string               `json:"server"`
	Title        string               `json:"title,omitempty"`
	Description  string               `json:"description,omitempty"`
	InputSchema  json.RawMessage      `json:"input_schema"`
	OutputSchema json.RawMessage      `json:"output_schema,omitempty"`
	Annotations  *catalog.Annotations `json:"annotations,omitempty"`
}

func (mt *metaTools) describeTools(ctx context.Context, _ *sdk.CallToolRequest, raw json.RawMessage) (*sdk.CallToolResult, error) {
	var args struct {
		Names []string `json:"names"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return errorResult(string(engine.CodeInvalidArguments), err.Error(), nil), nil
	}
	snap := mt.m.o.Snapshot()
	names := codeNames(snap)
	out := []describedTool{}
	wanted := slices.Compact(slices.Sorted(slices.Values(args.Names)))
	for _, n := range wanted {
		t, ok := snap.Get(n)
		if !ok || !mt.m.filter.allows(t) {
			return errorResult(string(engine.CodeUnknownTool), fmt.Sprintf("unknown tool %q; use search_tools to find tool names", n), nil), nil
		}
		in := t.InputSchema
		if len(in) == 0 {
			in = json.RawMessage(`{"type":"object"}`)
		}
		out = append(out, describedTool{Name: t.Name, Code: names[t.Name].Path("tools"), Server: t.Server, Title: t.Title, Description: t.Description, InputSchema: in, OutputSchema: t.OutputSchema, Annotations: t.Annotations})
	}
	ts, err := mt.m.o.Typings(ctx, wanted)
	if err != nil {
		return errorResult("internal", err.Error(), nil), nil
	}
	return jsonResult(map[string]any{"tools": out, "typings": ts}, false), nil
}

func (mt *metaTools) callTool(ctx context.Context, req *sdk.CallToolRequest, raw json.RawMessage) (*sdk.CallToolResult, error) {
	var args struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return errorResult(string(engine.CodeInvalidArguments), err.Error(), nil), nil
	}
	if t, ok := mt.m.o.Snapshot().Get(args.Name); !ok || !mt.m.filter.allows(t) {
		return errorResult(string(engine.CodeUnknownTool), fmt.Sprintf("unknown tool %q; use search_tools to find tool names", args.Name), nil), nil
	}
	return mt.m.forwardCall(ctx, req, args.Name, args.Arguments), nil
}

func (mt *metaTools) runCode(ctx context.Context, _ *sdk.CallToolRequest, raw json.RawMessage) (*sdk.CallToolResult, error) {
	var args struct {
		Code      string           `json:"code"`
		Language  sandbox.Language `json:"language"`
		TimeoutMS int64            `json:"timeout_ms"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return errorResult(string(engine.CodeInvalidArguments), err.Error(), nil), nil
	}
	req := sandbox.Request{Code: args.Code, Language: args.Language}
	req.Limits.Timeout = time.Duration(args.TimeoutMS) * time.Millisecond
	if !mt.m.filter.empty() {
		req.AllowedTools = []string{"\x00none"}
		for _, t := range mt.m.filter.allowed(mt.m.o.Snapshot()) {
			req.AllowedTools = append(req.AllowedTools, t.Name)
		}
	}
	res, err := mt.m.o.RunCode(ctx, req)
	if err != nil {
		return errorResult("invalid_program", err.Error(), nil), nil
	}
	return jsonResult(res, res.Error != nil), nil
}

func (mt *metaTools) runPlan(ctx context.Context, _ *sdk.CallToolRequest, raw json.RawMessage) (*sdk.CallToolResult, error) {
	var args struct {
		Plan   json.RawMessage `json:"plan"`
		Inputs map[string]any  `json:"inputs"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return errorResult(string(engine.CodeInvalidArguments), err.Error(), nil), nil
	}
	if len(args.Plan) > 0 && args.Plan[0] == '"' {
		// A plan sent as a JSON string holding the document.
		var doc string
		if err := json.Unmarshal(args.Plan, &doc); err == nil {
			args.Plan = json.RawMessage(doc)
		}
	}
	p, err := mt.m.o.ParsePlan(args.Plan)
	if err != nil {
		return planProblems(err), nil
	}
	snap := mt.m.o.Snapshot()
	if bad := mt.m.forbiddenSteps(snap, p.Steps); len(bad) > 0 {
		return errorResult(string(engine.CodeUnknownTool), fmt.Sprintf("unknown tools: %q; use search_tools to find tool names", bad), nil), nil
	}
	run, err := mt.m.o.RunPlan(ctx, p, args.Inputs, plan.RunOptions{})
	if err != nil && run == nil {
		return planProblems(err), nil
	}
	return jsonResult(run, run.Status != plan.RunSucceeded), nil
}

// forbiddenSteps lists tool steps (also in nested plans) outside the endpoint's filter.
func (m *MCP) forbiddenSteps(snap *catalog.Snapshot, steps []*plan.Step) []string {
	var bad []string
	for _, s := range steps {
		if s.Tool != "" {
			if t, ok := snap.Get(s.Tool); ok && !m.filter.allows(t) {
				bad = append(bad, s.Tool)
			}
		}
		if s.Plan != nil {
			bad = append(bad, m.forbiddenSteps(snap, s.Plan.Steps)...)
		}
	}
	return bad
}

func planProblems(err error) *sdk.CallToolResult {
	var pe *plan.ProblemsError
	if errors.As(err, &pe) {
		return jsonResult(map[string]any{"error": map[string]any{"code": "invalid_plan", "message": pe.Error(), "problems": pe.Problems}}, true)
	}
	return errorResult("internal", err.Error(), nil)
}

// forwardCall runs a catalog tool through the engine for an MCP client and
// renders the outcome as a tool result: the upstream's result as it is
// (isError included), or an engine error as an isError result carrying the
// error code and message so the model can correct itself.
func (m *MCP) forwardCall(ctx context.Context, req *sdk.CallToolRequest, name string, args json.RawMessage) *sdk.CallToolResult {
	ctx = withDownstream(ctx, req)
	res, err := m.o.Call(ctx, name, args, weft.CallerMCP)
	if err != nil {
		var ee *engine.Error
		if errors.As(err, &ee) {
			return errorResult(string(ee.Code), ee.Error(), ee.Problems)
		}
		m.log.Error("tool call failed", "tool", name, "err", err)
		return errorResult("internal", "internal error; see the server log", nil)
	}
	out, err := toSDKResult(res)
	if err != nil {
		return errorResult(string(engine.CodeUpstream), name+": "+err.Error(), nil)
	}
	return out
}

// codeNames maps catalog names to code-mode identifiers over the whole
// snapshot, as the sandbox does.
func codeNames(snap *catalog.Snapshot) map[string]catalog.TSName {
	all := snap.Tools()
	ptrs := make([]*catalog.Tool, len(all))
	for i := range all {
		ptrs[i] = &all[i]
	}
	return catalog.TypeScriptNames(ptrs)
}
