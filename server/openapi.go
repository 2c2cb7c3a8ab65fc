package server

import (
	"encoding/json"
	"net/http"
	"sync"

	"github.com/weft-dev/weft/plan"
)

// openAPI builds the OpenAPI 3.1 description of the REST API, served at
// GET /v1/openapi.json. The plan schema is the package's own, so the two
// never drift apart.
var openAPI = sync.OnceValue(func() []byte {
	obj := func(props map[string]any, required ...string) map[string]any {
		m := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			m["required"] = required
		}
		return m
	}
	ref := func(name string) map[string]any { return map[string]any{"$ref": "#/components/schemas/" + name} }
	str := map[string]any{"type": "string"}
	integer := map[string]any{"type": "integer"}
	boolean := map[string]any{"type": "boolean"}
	anyObj := map[string]any{"type": "object"}
	arr := func(items any) map[string]any { return map[string]any{"type": "array", "items": items} }
	problem := map[string]any{"description": "Error (RFC 9457)", "content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
	jsonBody := func(schema any) map[string]any {
		return map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": schema}}}
	}
	ok := func(desc string, schema any) map[string]any {
		r := jsonBody(schema)
		r["description"] = desc
		return r
	}
	qp := func(name, desc string, schema any) map[string]any {
		return map[string]any{"name": name, "in": "query", "description": desc, "schema": schema}
	}
	pp := func(name string) map[string]any {
		return map[string]any{"name": name, "in": "path", "required": true, "schema": str}
	}
	errs := func(codes ...string) map[string]any {
		m := map[string]any{}
		for _, c := range codes {
			m[c] = problem
		}
		return m
	}
	with := func(m map[string]any, extra map[string]any) map[string]any {
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	var planSchema any
	_ = json.Unmarshal(plan.Schema, &planSchema)

	doc := map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "weft REST API",
			"version":     "1",
			"description": "One catalog, search, code mode and plans over many MCP servers. Errors are application/problem+json. Authenticate with Authorization: Bearer <api key> when gateway.api_keys is configured.",
		},
		"components": map[string]any{
			"securitySchemes": map[string]any{"apiKey": map[string]any{"type": "http", "scheme": "bearer"}},
			"schemas": map[string]any{
				"Problem": obj(map[string]any{
					"type": str, "title": str, "status": integer, "detail": str, "instance": str,
					"code": str, "tool": str, "problems": arr(anyObj),
				}, "type", "title", "status"),
				"Tool": obj(map[string]any{
					"name": str, "original": str, "server": str, "server_description": str, "title": str,
					"description": str, "input_schema": anyObj, "output_schema": anyObj, "annotations": anyObj,
					"examples": arr(anyObj), "tags": arr(str), "hash": str, "signature": str, "health": ref("Health"),
				}, "name", "original", "server", "hash"),
				"Health": obj(map[string]any{
					"score": map[string]any{"type": "number"}, "success": map[string]any{"type": "number"},
					"latency": map[string]any{"type": "number"}, "rating": map[string]any{"type": "number"},
					"calls": integer, "failures": integer, "mean_latency_ms": map[string]any{"type": "number"},
					"last_call": str, "ratings": integer, "rating_mean": map[string]any{"type": "number"}, "down": boolean,
				}, "score", "success", "latency", "rating", "calls", "failures"),
				"RatingRequest": obj(map[string]any{"rating": map[string]any{"type": "integer", "minimum": 1, "maximum": 5},
					"comment": map[string]any{"type": "string", "maxLength": 2000}}, "rating"),
				"RatingResult": obj(map[string]any{"tool": str, "rating": integer,
					"ratings": obj(map[string]any{"count": integer, "mean": map[string]any{"type": "number"}}, "count", "mean"),
					"health":  ref("Health")}, "tool", "rating", "ratings", "health"),
				"CallResult": obj(map[string]any{"content": arr(anyObj), "structuredContent": map[string]any{}, "isError": boolean, "_meta": anyObj}, "content"),
				"SearchResult": obj(map[string]any{
					"name": str, "score": map[string]any{"type": "number"}, "matched": arr(str),
					"description": str, "server": str, "input_schema": anyObj, "signature": str,
				}, "name", "score"),
				"CodeRequest": obj(map[string]any{
					"code": str, "language": map[string]any{"enum": []string{"ts", "js"}},
					"limits": obj(map[string]any{"timeout_ms": integer, "memory_bytes": integer, "max_calls": integer,
						"max_concurrent_calls": integer, "max_console_bytes": integer, "max_result_bytes": integer,
						"max_argument_bytes": integer}),
					"allowed_tools": arr(str),
				}, "code"),
				"CodeResult": obj(map[string]any{
					"result": map[string]any{}, "console": arr(anyObj), "calls": arr(anyObj),
					"error": map[string]any{"type": []string{"object", "null"}}, "duration_ms": map[string]any{"type": "number"},
				}),
				"Plan":       planSchema,
				"RunRequest": obj(map[string]any{"plan": ref("Plan"), "inputs": anyObj, "max_concurrency": integer}, "plan"),
				"Run":        obj(map[string]any{"id": str, "name": str, "status": str, "plan": ref("Plan"), "inputs": anyObj, "started": str, "finished": str, "steps": arr(anyObj), "outputs": anyObj, "error": str}, "id", "status"),
			},
		},
		"security": []any{map[string]any{"apiKey": []string{}}},
		"paths": map[string]any{
			"/healthz": map[string]any{"get": map[string]any{"summary": "Liveness", "security": []any{}, "responses": map[string]any{"200": ok("alive", anyObj)}}},
			"/health":  map[string]any{"get": map[string]any{"summary": "Liveness (alias of /healthz)", "security": []any{}, "responses": map[string]any{"200": ok("alive", anyObj)}}},
			"/readyz":  map[string]any{"get": map[string]any{"summary": "Readiness and each upstream's state", "security": []any{}, "responses": map[string]any{"200": ok("ready", anyObj), "503": ok("not ready", anyObj)}}},
			"/v1/tools": map[string]any{"get": map[string]any{
				"summary":    "List the catalog (paginated, name order)",
				"parameters": []any{qp("server", "only this server's tools", str), qp("limit", "page size 1-1000 (default 100)", integer), qp("cursor", "next_cursor of the previous page", str)},
				"responses": with(map[string]any{"200": ok("a page of tools", obj(map[string]any{"tools": arr(ref("Tool")), "total": integer, "catalog_version": str, "next_cursor": str}))},
					errs("400", "401", "429")),
			}},
			"/v1/tools/{name}": map[string]any{"get": map[string]any{
				"summary": "One tool with its TypeScript signature", "parameters": []any{pp("name")},
				"responses": with(map[string]any{"200": ok("the tool", ref("Tool"))}, errs("401", "404")),
			}},
			"/v1/tools/{name}/call": map[string]any{"post": map[string]any{
				"summary": "Call a tool; the body is its arguments object", "parameters": []any{pp("name")},
				"requestBody": jsonBody(anyObj),
				"responses": with(map[string]any{"200": ok("the MCP result (isError results included)", ref("CallResult"))},
					errs("400", "401", "403", "404", "408", "413", "429", "502", "503", "504")),
			}},
			"/v1/tools/{name}/ratings": map[string]any{"post": map[string]any{
				"summary":    "Rate a tool 1-5 with an optional comment; one rating per client and tool (a new one replaces it). Needs the sqlite analytics backend (501 otherwise).",
				"parameters": []any{pp("name")}, "requestBody": jsonBody(ref("RatingRequest")),
				"responses": with(map[string]any{"200": ok("the tool's ratings and health after it", ref("RatingResult"))},
					errs("400", "401", "404", "413", "429", "501")),
			}},
			"/v1/search": map[string]any{"get": map[string]any{
				"summary": "Find the tools for a request",
				"parameters": []any{qp("q", "the request in plain words (any length; its first 256 words are searched)", str), qp("k", "results (default 10)", integer),
					qp("server", "only these servers (comma-separated)", str), qp("tag", "only these tags", str),
					qp("read_only", "only read-only tools", boolean), qp("schema", "include input schemas", boolean),
					qp("signature", "include TypeScript signatures (default true)", boolean)},
				"responses": with(map[string]any{"200": ok("ranked tools", obj(map[string]any{"query": str, "results": arr(ref("SearchResult")), "catalog_version": str}))}, errs("400", "401", "429")),
			}},
			"/v1/typings": map[string]any{"get": map[string]any{
				"summary":    "TypeScript declarations of tools for code mode (text/plain, or JSON with Accept: application/json)",
				"parameters": []any{qp("tools", "catalog names, comma-separated (at most 200)", str)},
				"responses":  with(map[string]any{"200": map[string]any{"description": "declarations", "content": map[string]any{"text/plain": map[string]any{"schema": str}}}}, errs("400", "401", "404")),
			}},
			"/v1/code": map[string]any{"post": map[string]any{
				"summary": "Run a code-mode program", "requestBody": jsonBody(ref("CodeRequest")),
				"responses": with(map[string]any{"200": ok("the run; error is set when the program failed", ref("CodeResult"))}, errs("400", "401", "408", "413", "429", "503")),
			}},
			"/v1/plans/validate": map[string]any{"post": map[string]any{
				"summary": "Validate a plan against the catalog", "requestBody": jsonBody(ref("Plan")),
				"responses": with(map[string]any{"200": ok("every problem found", obj(map[string]any{"valid": boolean, "problems": arr(anyObj), "format": str}))}, errs("400", "401")),
			}},
			"/v1/runs": map[string]any{
				"post": map[string]any{
					"summary":     "Start a plan run (wait=true: run it and answer with the finished run)",
					"parameters":  []any{qp("wait", "wait for the run to finish", boolean)},
					"requestBody": jsonBody(ref("RunRequest")),
					"responses": with(map[string]any{"200": ok("the finished run", ref("Run")), "202": ok("started", obj(map[string]any{"id": str, "status": str, "links": anyObj}))},
						errs("400", "401", "429")),
				},
				"get": map[string]any{
					"summary":    "List run records, newest first",
					"parameters": []any{qp("limit", "at most this many (1-1000)", integer), qp("status", "only runs with this status", str), qp("before", "only runs started before (RFC 3339)", str)},
					"responses":  with(map[string]any{"200": ok("runs", obj(map[string]any{"runs": arr(anyObj)}))}, errs("400", "401")),
				},
			},
			"/v1/runs/{id}":        map[string]any{"get": map[string]any{"summary": "One run (live while running)", "parameters": []any{pp("id")}, "responses": with(map[string]any{"200": ok("the run", ref("Run"))}, errs("401", "404"))}},
			"/v1/runs/{id}/events": map[string]any{"get": map[string]any{"summary": "Server-sent events of a run: past and live", "parameters": []any{pp("id")}, "responses": with(map[string]any{"200": map[string]any{"description": "text/event-stream", "content": map[string]any{"text/event-stream": map[string]any{"schema": str}}}}, errs("401", "404"))}},
			"/v1/runs/{id}/cancel": map[string]any{"post": map[string]any{"summary": "Cancel a running run", "parameters": []any{pp("id")}, "responses": with(map[string]any{"202": ok("canceling", anyObj)}, errs("401", "404", "409"))}},
			"/v1/ask": map[string]any{"post": map[string]any{
				"summary":     "Answer a request in natural language (plan or agent strategy); problems carry the partial result",
				"requestBody": jsonBody(obj(map[string]any{"request": str, "strategy": str})),
				"responses":   with(map[string]any{"200": ok("answer, plan, run, tool calls, token usage", anyObj)}, errs("400", "401", "422", "502", "503")),
			}},
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err)
	}
	return b
})

// openapiDoc: GET /v1/openapi.json
func (s *Server) openapiDoc(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPI())
}
