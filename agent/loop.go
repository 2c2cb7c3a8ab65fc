package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/weft-dev/weft/plan"
)

// agentSystemPrompt is the agent loop's stable instructions.
const agentSystemPrompt = `You are weft, an agent with access to many tools through five meta-tools.
search_tools finds tools for a task; describe_tools gives their TypeScript declarations; call_tool calls one tool;
run_code runs a TypeScript program in which the tool <server>__<tool> is await tools.<server>.<tool>(args) — prefer it for several calls;
run_plan runs a weft plan (a DAG of tool steps). Call independent tools in parallel. When you have the answer, reply with it in text.`

// metaTools are the five meta-tools the agent strategy offers, the same
// as weft's MCP meta endpoint.
var metaTools = []ToolDef{
	{Name: "search_tools", Description: "Find the tools best suited to a task, best first, with their signatures.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"query":{"type":"string","description":"The task in natural language."},"k":{"type":"integer","description":"How many tools (default 8)."}},"required":["query"]}`)},
	{Name: "describe_tools", Description: "TypeScript declarations of the named tools (their argument and result types).",
		Parameters: json.RawMessage(`{"type":"object","properties":{"names":{"type":"array","items":{"type":"string"}}},"required":["names"]}`)},
	{Name: "call_tool", Description: "Call one tool by its exact name.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"name":{"type":"string"},"arguments":{"type":"object"}},"required":["name","arguments"]}`)},
	{Name: "run_code", Description: "Run a TypeScript program (the body of an async function; return the value you want). The tool <server>__<tool> is await tools.<server>.<tool>(args).",
		Parameters: json.RawMessage(`{"type":"object","properties":{"code":{"type":"string"}},"required":["code"]}`)},
	{Name: "run_plan", Description: "Run a weft plan: {\"steps\":[{\"id\":\"a\",\"tool\":\"name\",\"args\":{...}}]}; args may reference {{steps.<id>.result}}.",
		Parameters: json.RawMessage(`{"type":"object","properties":{"plan":{"type":"object"}},"required":["plan"]}`)},
}

// AgentMessages is the agent strategy's first prompt for request (the
// meta-tools go with it as the request's tools).
func AgentMessages(request string) []Message {
	return []Message{
		{Role: RoleSystem, Content: agentSystemPrompt},
		{Role: RoleUser, Content: request},
	}
}

// MetaTools returns the definitions of the agent strategy's meta-tools.
func MetaTools() []ToolDef { return append([]ToolDef(nil), metaTools...) }

// agent runs the tool-calling loop.
func (r *Runner) agent(ctx context.Context, m *meter, request string) error {
	msgs := AgentMessages(request)
	for {
		resp, err := m.chat(ctx, "agent", ChatRequest{Messages: msgs, Tools: metaTools})
		if err != nil {
			return err
		}
		if len(resp.ToolCalls) == 0 {
			m.res.Answer = resp.Content
			m.ev.emit(Event{Type: EventAnswer, Answer: resp.Content})
			return nil
		}
		if err := m.toolCalls(len(resp.ToolCalls)); err != nil {
			return err
		}
		msgs = append(msgs, Message{Role: RoleAssistant, Content: resp.Content, ToolCalls: resp.ToolCalls})
		// The calls of one turn run in parallel; their answers go back in order.
		answers := make([]string, len(resp.ToolCalls))
		uses := make([]ToolUse, len(resp.ToolCalls))
		var wg sync.WaitGroup
		for i, tc := range resp.ToolCalls {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := r.metaCall(ctx, tc)
				uses[i] = ToolUse{Tool: tc.Name, Arguments: validJSON(tc.Arguments)}
				if err != nil {
					uses[i].Error = err.Error()
					answers[i] = `{"error":` + jsonString(err.Error()) + `}`
					return
				}
				answers[i] = clipAnswer(string(out))
			}()
		}
		wg.Wait()
		m.res.ToolCalls = append(m.res.ToolCalls, uses...)
		for _, u := range uses {
			m.ev.emit(Event{Type: EventToolCall, Tool: u.Tool, Arguments: u.Arguments, Error: u.Error})
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		for i, tc := range resp.ToolCalls {
			msgs = append(msgs, Message{Role: RoleTool, ToolCallID: tc.ID, Content: answers[i]})
		}
	}
}

// metaCall runs one meta-tool call.
func (r *Runner) metaCall(ctx context.Context, tc ToolCall) (json.RawMessage, error) {
	var args struct {
		Query     string          `json:"query"`
		K         int             `json:"k"`
		Names     []string        `json:"names"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
		Code      string          `json:"code"`
		Plan      json.RawMessage `json:"plan"`
	}
	if err := json.Unmarshal([]byte(tc.Arguments), &args); err != nil {
		return nil, fmt.Errorf("%s: arguments are not a JSON object: %v", tc.Name, err)
	}
	switch tc.Name {
	case "search_tools":
		k := args.K
		if k <= 0 {
			k = 8
		}
		hits, err := r.Tools.Search(ctx, args.Query, k)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"tools": hits})
	case "describe_tools":
		ts, err := r.Tools.Describe(ctx, args.Names)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]string{"typescript": ts})
	case "call_tool":
		if len(args.Arguments) == 0 {
			args.Arguments = json.RawMessage(`{}`)
		}
		return r.Tools.Call(ctx, args.Name, args.Arguments)
	case "run_code":
		return r.Tools.RunCode(ctx, args.Code)
	case "run_plan":
		p, err := plan.Parse(args.Plan)
		if err != nil {
			return nil, err
		}
		run, err := r.Tools.RunPlan(ctx, p, nil)
		if err != nil {
			return nil, err
		}
		return json.Marshal(map[string]any{"run_id": run.ID, "status": run.Status, "steps": stepSummaries(run), "error": run.Error})
	}
	return nil, fmt.Errorf("no meta-tool %q (use search_tools, describe_tools, call_tool, run_code, run_plan)", tc.Name)
}

// MaxToolAnswerBytes bounds what one meta-tool answer puts into the
// conversation; a longer answer is cut and says so, so that one large tool
// result cannot eat the request's token budget.
const MaxToolAnswerBytes = 32 << 10

// clipAnswer cuts s to MaxToolAnswerBytes.
func clipAnswer(s string) string {
	if len(s) <= MaxToolAnswerBytes {
		return s
	}
	return s[:MaxToolAnswerBytes] + fmt.Sprintf("\n[cut: the answer has %d bytes; ask for less, or process it in run_code]", len(s))
}

// validJSON returns s as raw JSON, or as a JSON string when it is not JSON.
func validJSON(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	return json.RawMessage(jsonString(s))
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
