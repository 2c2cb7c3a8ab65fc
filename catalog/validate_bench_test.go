package catalog

import (
	"encoding/json"
	"testing"
)

// validateCases are argument validations as a gateway sees them: the
// echo tools of the benchmarks' upstreams (the Go SDK's, and
// server-everything's zod schema), a typical tool with several typed
// properties, a pattern, Python's Optional (anyOf with null), a pydantic
// model under $defs, and a format (outside the fast subset: the full JSON
// Schema validator decides).
var validateCases = []struct {
	name, schema, args string
}{
	{"echo", `{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`,
		`{"message":"hello"}`},
	{"echo-zod", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"message":{"type":"string","description":"Message to echo"}},"required":["message"],"additionalProperties":false}`,
		`{"message":"hello"}`},
	{"typed", `{"type":"object","properties":{"id":{"type":"string"},"fields":{"type":"array","items":{"type":"string"}},"limit":{"type":"integer","minimum":1,"maximum":100},"mode":{"enum":["fast","full"]}},"required":["id"]}`,
		`{"id":"item-42","fields":["name","price","stock"],"limit":20,"mode":"fast"}`},
	{"pattern", `{"type":"object","properties":{"id":{"type":"string","pattern":"^[a-z]+-[0-9]+$"}},"required":["id"]}`,
		`{"id":"item-42"}`},
	{"optional", `{"type":"object","properties":{"path":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Path"},"depth":{"type":"integer","default":1,"title":"Depth"}},"title":"listArguments"}`,
		`{"path":"/srv/data","depth":2}`},
	{"defs", `{"$defs":{"Item":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id"],"title":"Item"}},"type":"object","properties":{"items":{"type":"array","items":{"$ref":"#/$defs/Item"}}},"required":["items"]}`,
		`{"items":[{"id":1,"name":"a"},{"id":2}]}`},
	{"format", `{"type":"object","properties":{"to":{"type":"string","format":"email"}},"required":["to"]}`,
		`{"to":"a@example.com"}`},
}

// BenchmarkValidate is Snapshot.Validate of valid arguments, the schema
// compiled (the first call compiles and caches it).
func BenchmarkValidate(b *testing.B) {
	for _, c := range validateCases {
		b.Run(c.name, func(b *testing.B) {
			snap := NewSnapshot([]Tool{{Server: "s", Original: "t", InputSchema: json.RawMessage(c.schema)}})
			args := json.RawMessage(c.args)
			if err := snap.Validate("s__t", args); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := snap.Validate("s__t", args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateFirstCall is the first validation of a tool in a
// snapshot: the schema compiled (full and fast forms) and cached.
func BenchmarkValidateFirstCall(b *testing.B) {
	for _, c := range validateCases {
		b.Run(c.name, func(b *testing.B) {
			tools := []Tool{{Server: "s", Original: "t", InputSchema: json.RawMessage(c.schema)}}
			args := json.RawMessage(c.args)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				snap := NewSnapshot(tools)
				b.StartTimer()
				if err := snap.Validate("s__t", args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
