package mcpgw

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/catalog"
)

// defaultSearchK is search_tools' k when the model gives none.
const defaultSearchK = 8

// metaInstructions is the meta endpoint's initialize instructions.
const metaInstructions = `weft gives you many tools through five meta-tools. ` +
	`Find tools with search_tools, read their full schemas with describe_tools, ` +
	`then call one with call_tool, or many at once with run_code (a short TypeScript program) or run_plan (a DAG).`

func boolPtr(b bool) *bool { return &b }

// metaDescriptions are the meta tools' titles, descriptions and annotations.
// tools/list is byte-for-byte the same on every call and every replica (the
// SDK lists tools sorted by name), so clients' prompt caches hit.
var metaDescriptions = map[string]struct {
	title, description string
	annotations        *sdk.ToolAnnotations
}{
	"call_tool": {
		title: "Call a tool",
		description: `Call one tool by its name (from search_tools) with its arguments object. ` +
			`Returns the tool's own result. On failure the result has isError set and says why ` +
			`(e.g. unknown_tool, invalid_arguments with the offending paths, timeout): fix the call and retry.
Example: {"name": "github__create_issue", "arguments": {"repo": "acme/app", "title": "Login fails"}}`,
		annotations: &sdk.ToolAnnotations{Title: "Call a tool", OpenWorldHint: boolPtr(true)},
	},
	"describe_tools": {
		title: "Describe tools",
		description: `Get the full definition of tools by name: JSON Schemas of the arguments and result, ` +
			`annotations, and TypeScript declarations for run_code. Use it when a signature from search_tools is not enough.
Example: {"names": ["github__create_issue", "github__list_issues"]}`,
		annotations: &sdk.ToolAnnotations{Title: "Describe tools", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: boolPtr(false)},
	},
	"run_code": {
		title: "Run a TypeScript program",
		description: `Run a TypeScript (or JavaScript) program that calls many tools at once, in a sandbox. ` +
			`The code is the body of an async function: call a tool with await tools.<server>.<tool>({...}), ` +
			`run independent calls together with Promise.all, and return the value you want back. ` +
			`A tool named "<server>__<tool>" is tools.<server>.<tool>, each part with characters other than letters, digits, _ and $ replaced by _ ` +
			`(search_tools shows each tool's path as "code"). A call resolves to the tool's structured result, ` +
			`else its text (parsed as JSON when it is JSON); a failed call throws. console.log output is returned too. No network or file access.
Example: {"code": "const [a, b] = await Promise.all([tools.weather.get_forecast({city: \"Oslo\"}), tools.weather.get_forecast({city: \"Rome\"})]);\nreturn {oslo: a, rome: b};"}`,
		annotations: &sdk.ToolAnnotations{Title: "Run a TypeScript program", OpenWorldHint: boolPtr(true)},
	},
	"run_plan": {
		title: "Run a plan",
		description: `Run a plan: a DAG of tool calls whose arguments may reference inputs and earlier results ` +
			`as "{{inputs.x}}" or "{{steps.<id>.result}}"; independent steps run in parallel. ` +
			`Returns the run record: status, each step's result or error, and the outputs.
Example: {"plan": {"steps": [{"id": "a", "tool": "math__add", "args": {"a": 1, "b": 2}}, {"id": "b", "tool": "chat__send", "args": {"text": "sum={{steps.a.result}}"}}], "outputs": {"sent": "{{steps.b.result}}"}}}`,
		annotations: &sdk.ToolAnnotations{Title: "Run a plan", OpenWorldHint: boolPtr(true)},
	},
	"search_tools": {
		title: "Search tools",
		description: `Find the tools for a task. Returns the best matches, each with its name (for call_tool), ` +
			`its code path (for run_code), a description and a compact TypeScript signature of its arguments and result. ` +
			`When every tool fits, all are returned and "complete" is true.
Example: {"query": "create an issue in a GitHub repository", "k": 5}`,
		annotations: &sdk.ToolAnnotations{Title: "Search tools", ReadOnlyHint: true, IdempotentHint: true, OpenWorldHint: boolPtr(false)},
	},
}

// toolDef is the definition of meta tool name with the given schemas (a
// nil output schema: the tool's results are its callee's, undeclared).
func toolDef(name string, in, out *jsonschema.Schema) *sdk.Tool {
	d, ok := metaDescriptions[name]
	if !ok {
		panic("mcpgw: no description for meta tool " + name)
	}
	t := &sdk.Tool{Name: name, Title: d.title, Description: d.description, Annotations: d.annotations, InputSchema: in}
	if out != nil {
		t.OutputSchema = out
	}
	return t
}

// Inputs of the meta tools. Their schemas are derived from these types
// (jsonschema tags are the descriptions), then refined by the rules below.

type searchInput struct {
	Query   string   `json:"query" jsonschema:"What you want to do, in plain words."`
	K       int      `json:"k,omitempty" jsonschema:"How many tools to return (default 8)."`
	Servers []string `json:"servers,omitempty" jsonschema:"Only tools of these servers."`
}

func searchInputRules(s *jsonschema.Schema) {
	s.Properties["query"].MinLength = intPtr(1)
	s.Properties["k"].Minimum, s.Properties["k"].Maximum = floatPtr(1), floatPtr(50)
	s.Properties["servers"].Types, s.Properties["servers"].Type = nil, "array"
}

type describeInput struct {
	Names []string `json:"names" jsonschema:"Tool names from search_tools."`
}

func describeInputRules(s *jsonschema.Schema) {
	n := s.Properties["names"]
	n.Types, n.Type = nil, "array"
	n.MinItems, n.MaxItems = intPtr(1), intPtr(50)
}

type callInput struct {
	Name      string          `json:"name" jsonschema:"The tool's name as search_tools returned it, e.g. \"github__create_issue\"."`
	Arguments json.RawMessage `json:"arguments,omitempty" jsonschema:"The tool's arguments, matching its signature."`
}

func callInputRules(s *jsonschema.Schema) {
	s.Properties["name"].MinLength = intPtr(1)
	s.Properties["arguments"].Type = "object"
}

type codeInput struct {
	Code      string `json:"code" jsonschema:"The body of an async function; use await and return."`
	Language  string `json:"language,omitempty" jsonschema:"ts (default) or js."`
	TimeoutMS int64  `json:"timeout_ms,omitempty" jsonschema:"Wall-clock limit of the run (default 30000)."`
}

func codeInputRules(s *jsonschema.Schema) {
	s.Properties["code"].MinLength = intPtr(1)
	s.Properties["language"].Enum = []any{"ts", "js"}
	s.Properties["timeout_ms"].Minimum = floatPtr(1)
}

type planInput struct {
	Plan   json.RawMessage `json:"plan" jsonschema:"The plan document: {steps: [{id, tool, args}], inputs?, outputs?}."`
	Inputs map[string]any  `json:"inputs,omitempty" jsonschema:"Values for the plan's inputs."`
}

func planInputRules(s *jsonschema.Schema) {
	s.Properties["plan"].Type = "object"
	s.Properties["inputs"].Types, s.Properties["inputs"].Type = nil, "object"
}

// Outputs of the meta tools. The output schemas are derived from these
// types and left open (additional properties allowed) so that the records
// they describe may grow.

// searchHit is one tool in search_tools' answer.
type searchHit struct {
	Name        string `json:"name"`
	Code        string `json:"code"`
	Description string `json:"description,omitempty"`
	Signature   string `json:"signature"`
}

type searchOutput struct {
	Tools    []searchHit `json:"tools"`
	Complete bool        `json:"complete" jsonschema:"True when these are all the tools there are."`
	Degraded string      `json:"degraded,omitempty" jsonschema:"Set when semantic search was unavailable: the tools were found by keywords alone, and this says why."`
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
	Health       float64              `json:"health" jsonschema:"The tool's health score, 0 to 1: recent success rate x latency x ratings; 0 while its upstream is down. Prefer tools at 0.8 or above."`
}

type describeOutput struct {
	Tools   []describedTool `json:"tools"`
	Typings string          `json:"typings" jsonschema:"TypeScript declarations of the tools namespace for run_code."`
}

// codeOutput describes run_code's result, a sandbox.RunResult.
type codeOutput struct {
	Result     any              `json:"result" jsonschema:"The value the program returned (null for none)."`
	Console    []consoleLine    `json:"console"`
	Calls      []map[string]any `json:"calls"`
	Error      *codeError       `json:"error" jsonschema:"Why the run failed (kind, message, line, column), null on success."`
	DurationMS float64          `json:"duration_ms"`
}

type consoleLine struct {
	Level string `json:"level,omitempty"`
	Text  string `json:"text,omitempty"`
}

type codeError struct {
	Kind    string `json:"kind,omitempty"`
	Message string `json:"message,omitempty"`
}

// planOutput describes run_plan's result, a plan.Run.
type planOutput struct {
	ID      string           `json:"id"`
	Status  string           `json:"status"`
	Steps   []map[string]any `json:"steps"`
	Outputs map[string]any   `json:"outputs,omitempty"`
	Error   string           `json:"error,omitempty"`
}

// schemaOptions map json.RawMessage (any JSON value) to the empty schema.
var schemaOptions = &jsonschema.ForOptions{TypeSchemas: map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[json.RawMessage](): {},
}}

// inputSchema derives T's schema and refines it with rules.
func inputSchema[T any](rules func(*jsonschema.Schema)) *jsonschema.Schema {
	s, err := jsonschema.For[T](schemaOptions)
	if err != nil {
		panic(fmt.Sprintf("mcpgw: input schema of %T: %v", *new(T), err))
	}
	rules(s)
	return s
}

// outputSchema derives T's schema, open to additional properties.
func outputSchema[T any]() *jsonschema.Schema {
	s, err := jsonschema.For[T](schemaOptions)
	if err != nil {
		panic(fmt.Sprintf("mcpgw: output schema of %T: %v", *new(T), err))
	}
	open(s)
	return s
}

// open allows additional properties everywhere in s.
func open(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if ap := s.AdditionalProperties; ap != nil && ap.Not != nil {
		s.AdditionalProperties = nil
	}
	for _, p := range s.Properties {
		open(p)
	}
	open(s.Items)
	open(s.AdditionalProperties)
}

func intPtr(n int) *int           { return &n }
func floatPtr(f float64) *float64 { return &f }
