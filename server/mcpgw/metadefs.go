package server

import (
	"bytes"
	"encoding/json"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source"
)

// defaultSearchK is search_tools' k when the model gives none.
const defaultSearchK = 8

// metaInstructions is the meta endpoint's initialize instructions.
const metaInstructions = `weft gives you many tools through five meta-tools. ` +
	`Find tools with search_tools, read their full schemas with describe_tools, ` +
	`then call one with call_tool, or many at once with run_code (a short TypeScript program) or run_plan (a DAG).`

// metaDefinition is the constant definition of one meta tool.
type metaDefinition struct {
	name, title, description string
	input, output            string
	annotations              *sdk.ToolAnnotations
}

func boolPtr(b bool) *bool { return &b }

// metaDefinitions are the meta tools in the order of tools/list (by name).
var metaDefinitions = []metaDefinition{
	{
		name:  "call_tool",
		title: "Call a tool",
		description: `Call one tool by its name (from search_tools) with its arguments object. ` +
			`Returns the tool's own result. On failure the result has isError set and says why ` +
			`(e.g. unknown_tool, invalid_arguments with the offending paths, timeout): fix the call and retry.
Example: {"name": "github__create_issue", "arguments": {"repo": "acme/app", "title": "Login fails"}}`,
		input: `{"type":"object","properties":{` +
			`"name":{"type":"string","description":"The tool's name as search_tools returned it, e.g. \"github__create_issue\"."},` +
			`"arguments":{"type":"object","description":"The tool's arguments, matching its signature."}},` +
			`"required":["name"],"additionalProperties":false}`,
		annotations: &sdk.ToolAnnotations{Title: "Call a tool", OpenWorldHint: boolPtr(true)},
	},
	{
		name:  "describe_tools",
		title: "Describe tools",
		description: `Get the full definition of tools by name: JSON Schemas of the arguments and result, ` +
			`annotations, and TypeScript declarations for run_code. Use it when a signature from search_tools is not enough.
Example: {"names": ["github__create_issue", "github__list_issues"]}`,
		input: `{"type":"object","properties":{` +
			`"names":{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":50,"description":"Tool names from search_tools."}},` +
			`"required":["names"],"additionalProperties":false}`,
		output: `{"type":"object","properties":{` +
			`"tools":{"type":"array","items":{"type":"object","properties":{` +
			`"name":{"type":"string"},"code":{"type":"string"},"server":{"type":"string"},"title":{"type":"string"},"description":{"type":"string"},` +
			`"input_schema":{"type":"object"},"output_schema":{"type":"object"},"annotations":{"type":"object"}},` +
			`"required":["name","code","server","input_schema"]}},` +
			`"typings":{"type":"string","description":"TypeScript declarations of the tools namespace for run_code."}},` +
			`"required":["tools","typings"]}`,
		annotations: &sdk.ToolAnnotations{Title: "Describe tools", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: boolPtr(false)},
	},
	{
		name:  "run_code",
		title: "Run a TypeScript program",
		description: `Run a TypeScript (or JavaScript) program that calls many tools at once, in a sandbox. ` +
			`The code is the body of an async function: call a tool with await tools.<server>.<tool>({...}), ` +
			`run independent calls together with Promise.all, and return the value you want back. ` +
			`A tool named "<server>__<tool>" is tools.<server>.<tool>, each part with characters other than letters, digits, _ and $ replaced by _ ` +
			`(search_tools shows each tool's path as "code"). A call resolves to the tool's structured result, ` +
			`else its text (parsed as JSON when it is JSON); a failed call throws. console.log output is returned too. No network or file access.
Example: {"code": "const [a, b] = await Promise.all([tools.weather.get_forecast({city: \"Oslo\"}), tools.weather.get_forecast({city: \"Rome\"})]);\nreturn {oslo: a, rome: b};"}`,
		input: `{"type":"object","properties":{` +
			`"code":{"type":"string","minLength":1,"description":"The body of an async function; use await and return."},` +
			`"language":{"type":"string","enum":["ts","js"],"description":"ts (default) or js."},` +
			`"timeout_ms":{"type":"integer","minimum":1,"description":"Wall-clock limit of the run (default 30000)."}},` +
			`"required":["code"],"additionalProperties":false}`,
		output: `{"type":"object","properties":{` +
			`"result":{"description":"The value the program returned (null for none)."},` +
			`"console":{"type":"array","items":{"type":"object","properties":{"level":{"type":"string"},"text":{"type":"string"}}}},` +
			`"calls":{"type":"array","items":{"type":"object"}},` +
			`"error":{"type":["object","null"],"description":"Why the run failed (kind, message, line, column), null on success."},` +
			`"duration_ms":{"type":"number"}},` +
			`"required":["result","console","calls","error","duration_ms"]}`,
		annotations: &sdk.ToolAnnotations{Title: "Run a TypeScript program", OpenWorldHint: boolPtr(true)},
	},
	{
		name:  "run_plan",
		title: "Run a plan",
		description: `Run a plan: a DAG of tool calls whose arguments may reference inputs and earlier results ` +
			`as "{{inputs.x}}" or "{{steps.<id>.result}}"; independent steps run in parallel. ` +
			`Returns the run record: status, each step's result or error, and the outputs.
Example: {"plan": {"steps": [{"id": "a", "tool": "math__add", "args": {"a": 1, "b": 2}}, {"id": "b", "tool": "chat__send", "args": {"text": "sum={{steps.a.result}}"}}], "outputs": {"sent": "{{steps.b.result}}"}}}`,
		input: `{"type":"object","properties":{` +
			`"plan":{"type":"object","description":"The plan document: {steps: [{id, tool, args}], inputs?, outputs?}."},` +
			`"inputs":{"type":"object","description":"Values for the plan's inputs."}},` +
			`"required":["plan"],"additionalProperties":false}`,
		output: `{"type":"object","properties":{` +
			`"id":{"type":"string"},"status":{"type":"string"},"steps":{"type":"array","items":{"type":"object"}},` +
			`"outputs":{"type":"object"},"error":{"type":"string"}},"required":["id","status","steps"]}`,
		annotations: &sdk.ToolAnnotations{Title: "Run a plan", OpenWorldHint: boolPtr(true)},
	},
	{
		name:  "search_tools",
		title: "Search tools",
		description: `Find the tools for a task. Returns the best matches, each with its name (for call_tool), ` +
			`its code path (for run_code), a description and a compact TypeScript signature of its arguments and result. ` +
			`When every tool fits, all are returned and "complete" is true.
Example: {"query": "create an issue in a GitHub repository", "k": 5}`,
		input: `{"type":"object","properties":{` +
			`"query":{"type":"string","minLength":1,"maxLength":2000,"description":"What you want to do, in plain words."},` +
			`"k":{"type":"integer","minimum":1,"maximum":50,"description":"How many tools to return (default 8)."},` +
			`"servers":{"type":"array","items":{"type":"string"},"description":"Only tools of these servers."}},` +
			`"required":["query"],"additionalProperties":false}`,
		output: `{"type":"object","properties":{` +
			`"tools":{"type":"array","items":{"type":"object","properties":{` +
			`"name":{"type":"string"},"code":{"type":"string"},"description":{"type":"string"},"signature":{"type":"string"}},` +
			`"required":["name","code","signature"]}},` +
			`"complete":{"type":"boolean","description":"True when these are all the tools there are."}},` +
			`"required":["tools","complete"]}`,
		annotations: &sdk.ToolAnnotations{Title: "Search tools", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: boolPtr(false)},
	},
}

// jsonResult renders v as a tool result: structured content plus the same
// JSON as text, for clients that read only text.
func jsonResult(v any, isError bool) *sdk.CallToolResult {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return errorResult("internal", "encoding the result: "+err.Error(), nil)
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	return &sdk.CallToolResult{
		Content:           []sdk.Content{&sdk.TextContent{Text: string(b)}},
		StructuredContent: json.RawMessage(b),
		IsError:           isError,
	}
}

// errorResult is an isError result: {"error": {"code", "message", "problems"}}.
func errorResult(code, msg string, problems []catalog.Problem) *sdk.CallToolResult {
	e := map[string]any{"code": code, "message": msg}
	if len(problems) > 0 {
		e["problems"] = problems
	}
	b, _ := json.Marshal(map[string]any{"error": e})
	return &sdk.CallToolResult{
		Content:           []sdk.Content{&sdk.TextContent{Text: string(b)}},
		StructuredContent: json.RawMessage(b),
		IsError:           true,
	}
}

// toSDKResult converts an engine result, keeping every content block,
// structuredContent, isError and _meta as the upstream sent them.
func toSDKResult(r *source.Result) (*sdk.CallToolResult, error) {
	out := &sdk.CallToolResult{IsError: r.IsError, Content: make([]sdk.Content, 0, len(r.Content))}
	if len(r.StructuredContent) > 0 {
		out.StructuredContent = r.StructuredContent
	}
	if len(r.Meta) > 0 {
		if err := json.Unmarshal(r.Meta, &out.Meta); err != nil {
			return nil, err
		}
	}
	var other []json.RawMessage // blocks that need the SDK's own decoding
	for _, raw := range r.Content {
		if c, ok := plainText(raw); ok {
			out.Content = append(out.Content, c)
			continue
		}
		other = append(other, raw)
		out.Content = append(out.Content, nil) // filled below, in order
	}
	if len(other) > 0 {
		// Images, audio, resources, annotated blocks: let the SDK decode
		// them (its decoder is costly per call, hence the text fast path).
		b, err := json.Marshal(map[string]any{"content": other})
		if err != nil {
			return nil, err
		}
		var dec sdk.CallToolResult
		if err := json.Unmarshal(b, &dec); err != nil {
			return nil, err
		}
		j := 0
		for i, c := range out.Content {
			if c == nil {
				out.Content[i] = dec.Content[j]
				j++
			}
		}
	}
	return out, nil
}

// plainText decodes a content block that is just {"type":"text","text":…}.
func plainText(raw json.RawMessage) (sdk.Content, bool) {
	var b struct {
		Type        string          `json:"type"`
		Text        *string         `json:"text"`
		Annotations json.RawMessage `json:"annotations"`
		Meta        json.RawMessage `json:"_meta"`
	}
	if json.Unmarshal(raw, &b) != nil || b.Type != "text" || b.Text == nil || len(b.Annotations) > 0 || len(b.Meta) > 0 {
		return nil, false
	}
	return &sdk.TextContent{Text: *b.Text}, true
}

// firstParagraph shortens a description to its first paragraph.
func firstParagraph(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "\n\n"); i > 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}
