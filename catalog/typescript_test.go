package catalog

import (
	"encoding/json"
	"testing"
)

func TestTSIdent(t *testing.T) {
	cases := map[string]string{
		"get_weather": "get_weather",
		"get-weather": "get_weather",
		"get.weather": "get_weather",
		"2fa":         "_2fa",
		"":            "_",
		"delete":      "delete_",
		"constructor": "constructor_",
		"__proto__":   "__proto___",
		"$ok":         "$ok",
		"héllo wörld": "h_llo_w_rld",
		"a/b:c":       "a_b_c",
	}
	for in, want := range cases {
		if got := TSIdent(in); got != want {
			t.Errorf("TSIdent(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTypeScriptNamesCollisions(t *testing.T) {
	snap := NewSnapshot([]Tool{
		{Server: "my-srv", Original: "a.b"},
		{Server: "my-srv", Original: "a-b"},
		{Server: "my-srv", Original: "delete"},
		{Server: "my.srv", Original: "x"},
		{Server: "files", Original: "read"},
	})
	var tools []*Tool
	for i := range snap.Tools() {
		tools = append(tools, &snap.Tools()[i])
	}
	got := TypeScriptNames(tools)
	want := map[string]TSName{
		"files__read":    {"files", "read"},
		"my-srv__a-b":    {"my_srv", "a_b"},
		"my-srv__a_b":    {"my_srv", "a_b_2"},
		"my-srv__delete": {"my_srv", "delete_"},
		"my_srv__x":      {"my_srv_2", "x"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %+v, want %+v", k, got[k], w)
		}
	}
	// Order independence.
	rev := make([]*Tool, len(tools))
	for i, x := range tools {
		rev[len(tools)-1-i] = x
	}
	got2 := TypeScriptNames(rev)
	for k, w := range got {
		if got2[k] != w {
			t.Errorf("order dependent: %s: %+v vs %+v", k, got2[k], w)
		}
	}
}

func TestTypeScriptSignature(t *testing.T) {
	cases := []struct {
		name, in, out, want string
	}{
		{"weather",
			`{"type":"object","properties":{"city":{"type":"string","description":"City"},"units":{"enum":["c","f"]}},"required":["city"]}`,
			`{"type":"object","properties":{"temp":{"type":"number"}},"required":["temp"]}`,
			`get_weather(args: { city: string; units?: "c" | "f" }): Promise<{ temp: number }>`},
		{"no schema", ``, ``, `get_weather(args?: Record<string, unknown>): Promise<unknown>`},
		{"empty object", `{"type":"object"}`, ``, `get_weather(args?: Record<string, unknown>): Promise<unknown>`},
		{"closed empty", `{"type":"object","properties":{},"additionalProperties":false}`, ``, `get_weather(args?: {}): Promise<unknown>`},
		{"arrays and nullable",
			`{"type":"object","properties":{"ids":{"type":"array","items":{"type":"integer"}},"tags":{"type":["string","null"]},"n":{"type":"number","nullable":true},"any":{"type":"array"}}}`, ``,
			`get_weather(args?: { ids?: number[]; tags?: string | null; n?: number | null; any?: unknown[] }): Promise<unknown>`},
		{"union array element",
			`{"type":"object","properties":{"v":{"type":"array","items":{"anyOf":[{"type":"string"},{"type":"number"}]}}}}`, ``,
			`get_weather(args?: { v?: (string | number)[] }): Promise<unknown>`},
		{"oneOf objects",
			`{"type":"object","properties":{"q":{"oneOf":[{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]},{"type":"object","properties":{"name":{"type":"string"}},"required":["name"]}]}},"required":["q"]}`, ``,
			`get_weather(args: { q: { id: string } | { name: string } }): Promise<unknown>`},
		{"anyOf without types keeps base",
			`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"}},"anyOf":[{"required":["a"]},{"required":["b"]}]}`, ``,
			`get_weather(args?: { a?: string; b?: string }): Promise<unknown>`},
		{"allOf",
			`{"allOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"type":"object","properties":{"b":{"type":"number"}}}]}`, ``,
			`get_weather(args?: { a?: string } & { b?: number }): Promise<unknown>`},
		{"map and const and tuple",
			`{"type":"object","properties":{"m":{"type":"object","additionalProperties":{"type":"integer"}},"k":{"const":"fixed"},"t":{"type":"array","prefixItems":[{"type":"string"},{"type":"boolean"}]},"weird-key":{"type":"boolean"}}}`, ``,
			`get_weather(args?: { m?: Record<string, number>; k?: "fixed"; t?: [string, boolean]; "weird-key"?: boolean }): Promise<unknown>`},
		{"props plus index signature",
			`{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":{"type":"string"}}`, ``,
			`get_weather(args?: { a?: string; [key: string]: string }): Promise<unknown>`},
		{"refs inlined, recursion becomes unknown",
			`{"type":"object","$defs":{"Node":{"type":"object","properties":{"v":{"type":"integer"},"kids":{"type":"array","items":{"$ref":"#/$defs/Node"}}}}},"properties":{"root":{"$ref":"#/$defs/Node"}},"required":["root"]}`, ``,
			`get_weather(args: { root: { v?: number; kids?: unknown[] } }): Promise<unknown>`},
		{"draft-07 definitions",
			`{"type":"object","definitions":{"Unit":{"enum":["c","f",null,1]}},"properties":{"u":{"$ref":"#/definitions/Unit"}}}`, ``,
			`get_weather(args?: { u?: "c" | "f" | null | 1 }): Promise<unknown>`},
		{"false schema", `{"type":"object","properties":{"x":false}}`, ``, `get_weather(args?: { x?: never }): Promise<unknown>`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tool := &Tool{Server: "w", Original: "get-weather", InputSchema: raw(c.in), OutputSchema: raw(c.out)}
			if got := TypeScriptSignature(tool); got != c.want {
				t.Errorf("got\n%s\nwant\n%s", got, c.want)
			}
		})
	}
}

func raw(s string) json.RawMessage {
	if s == "" {
		return nil
	}
	return json.RawMessage(s)
}

func TestTypeScriptDeclarations(t *testing.T) {
	snap := NewSnapshot([]Tool{
		{Server: "weather", ServerDescription: "Weather data.", Original: "get-weather", Description: "Current weather for a city.\n\nUses */ carefully.",
			InputSchema:  raw(`{"type":"object","properties":{"city":{"type":"string","description":"City name"},"units":{"enum":["c","f"],"default":"c"}},"required":["city"]}`),
			OutputSchema: raw(`{"type":"object","properties":{"temp":{"type":"number"}},"required":["temp"]}`)},
		{Server: "weather", Original: "forecast",
			InputSchema: raw(`{"type":"object","$defs":{"Day":{"type":"object","properties":{"date":{"type":"string"},"next":{"$ref":"#/$defs/Day"}}}},"properties":{"days":{"type":"array","items":{"$ref":"#/$defs/Day"}}}}`)},
		{Server: "fs", Original: "list", Description: "List a directory with a very long description that goes on and on."},
	})
	var tools []*Tool
	for i := range snap.Tools() {
		tools = append(tools, &snap.Tools()[i])
	}
	got := TypeScriptDeclarations(tools, TSOptions{MaxDescription: 50})
	want := `declare namespace tools {
  namespace fs {
    /** List a directory with a very long description tha… */
    function list(args?: Record<string, unknown>): Promise<unknown>;
  }
  /** Weather data. */
  namespace weather {
    function forecast(args?: { days?: forecast_Day[] }): Promise<unknown>;
    type forecast_Day = { date?: string; next?: forecast_Day };
    /** Current weather for a city. Uses *\/ carefully. */
    function get_weather(args: {
      /** City name */
      city: string;
      /** @default "c" */
      units?: "c" | "f";
    }): Promise<{ temp: number }>;
  }
}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}

	// No descriptions: compact.
	got = TypeScriptDeclarations(tools[2:], TSOptions{MaxDescription: -1, Namespace: "t"})
	want = `declare namespace t {
  namespace weather {
    function get_weather(args: { city: string; units?: "c" | "f" }): Promise<{ temp: number }>;
  }
}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}
