package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The fast path may only ever say "valid" when the full validator agrees.
// This differential test generates random schemas from the fast subset (and
// a few keywords outside it) and random documents, and compares verdicts.
func TestFastValidatorAgreesWithFullValidator(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	nValid, agreeValid, checked := 0, 0, 0
	// fast "valid" verdicts on schemas using each keyword: every one of
	// them must be exercised.
	features := []string{`"anyOf"`, `"oneOf"`, `"allOf"`, `"$ref"`, `"pattern"`, `"const"`, `"format"`}
	byFeature := map[string]int{}
	for i := range 3000 {
		schema := randSchema(r, 0, true)
		raw, _ := json.Marshal(schema)
		full, err := CompileSchema(raw)
		if err != nil {
			if !strings.Contains(string(raw), "/Z\"") { // only the dangling $ref fails
				t.Fatalf("schema %s: %v", raw, err)
			}
			continue
		}
		fast := compileFast(raw)
		for range 10 {
			doc, _ := json.Marshal(randValue(r, 0))
			if r.IntN(3) == 0 {
				doc = conformingDoc(r, schema)
			}
			fullOK := ValidateArgs("t", full, doc) == nil
			checked++
			if fast == nil || !isObjectDoc(doc) || !json.Valid(doc) {
				continue
			}
			if fast.check(doc) == fastValid {
				nValid++
				for _, k := range features {
					if strings.Contains(string(raw), k) {
						byFeature[k]++
					}
				}
				if !fullOK {
					t.Fatalf("case %d: fast path accepted what the full validator rejects\nschema %s\ndoc    %s\nfull: %v", i, raw, doc, ValidateArgs("t", full, doc))
				}
				agreeValid++
			}
		}
	}
	if nValid < 1000 {
		t.Fatalf("fast path decided only %d of %d documents; generator too weak", nValid, checked)
	}
	for _, k := range features {
		if byFeature[k] < 50 {
			t.Errorf("fast path said valid only %d times for schemas with %s; generator too weak", byFeature[k], k)
		}
	}
}

// randSchema is a random schema: mostly of the fast subset (typed
// properties, enums, consts, bounds, patterns, anyOf/oneOf/allOf, $refs to
// the root's definitions), sometimes with a keyword outside it.
func randSchema(r *rand.Rand, depth int, root bool) map[string]any {
	if root {
		s := randSchemaAt(r, depth, true)
		if r.IntN(5) == 0 {
			s["$schema"] = []string{"http://json-schema.org/draft-07/schema#", "https://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2019-09/schema"}[r.IntN(3)]
		}
		if r.IntN(3) == 0 {
			defs := map[string]any{"X": randSchemaAt(r, depth+1, false), "Y": randSchemaAt(r, depth+1, false)}
			container := []string{"$defs", "definitions"}[r.IntN(2)]
			s[container] = defs
			// a property, or the items of one, refers to a definition
			props, _ := s["properties"].(map[string]any)
			if props == nil {
				props = map[string]any{}
				s["properties"] = props
			}
			ref := map[string]any{"$ref": "#/" + container + "/" + []string{"X", "Y"}[r.IntN(2)]}
			switch r.IntN(6) {
			case 0:
				ref["description"] = "annotated"
			case 1:
				ref["type"] = "string" // a validating sibling: outside the subset
			case 2:
				ref["$ref"] = "#/" + container + "/Z" // no such definition
			}
			props["e"] = ref
		}
		return s
	}
	if depth <= 2 && r.IntN(6) == 0 {
		s := map[string]any{}
		a, b := randSchemaAt(r, depth+1, false), randSchemaAt(r, depth+1, false)
		switch r.IntN(4) {
		case 0:
			s["anyOf"] = []any{a, map[string]any{"type": "null"}} // Python's Optional
		case 1:
			s["anyOf"] = []any{a, b}
		case 2:
			s["oneOf"] = []any{a, b}
		default:
			s["allOf"] = []any{a, b}
		}
		if r.IntN(4) == 0 {
			s["title"] = "T"
		}
		if r.IntN(5) == 0 {
			s["type"] = []string{"string", "integer", "null"}[r.IntN(3)]
		}
		return s
	}
	return randSchemaAt(r, depth, root)
}

func randSchemaAt(r *rand.Rand, depth int, root bool) map[string]any {
	s := map[string]any{}
	kinds := []string{"string", "integer", "number", "boolean", "array", "object", "null"}
	kind := "object"
	if !root {
		kind = kinds[r.IntN(len(kinds))]
	}
	if depth > 2 && (kind == "object" || kind == "array") {
		kind = "string"
	}
	if r.IntN(10) > 0 {
		if r.IntN(8) == 0 && kind != "null" {
			s["type"] = []string{kind, "null"}
		} else {
			s["type"] = kind
		}
	}
	if r.IntN(4) == 0 {
		s["description"] = "d"
	}
	switch kind {
	case "string":
		if r.IntN(3) == 0 {
			s["enum"] = []string{"a", "bb", "é"}
		}
		if r.IntN(3) == 0 {
			s["minLength"] = r.IntN(3)
		}
		if r.IntN(3) == 0 {
			s["maxLength"] = r.IntN(4)
		}
		if r.IntN(6) == 0 {
			s["pattern"] = []string{"^a", "b$", "^[a-c]*$", "é", "^.{2}$"}[r.IntN(5)]
		}
		if r.IntN(8) == 0 {
			s["const"] = []string{"a", "bb"}[r.IntN(2)]
		}
		if r.IntN(10) == 0 {
			s["format"] = []string{"email", "date", "uri"}[r.IntN(3)] // asserted by draft-07 only
		}
	case "integer", "number":
		if r.IntN(3) == 0 {
			s["minimum"] = r.IntN(5) - 2
		}
		if r.IntN(3) == 0 {
			s["maximum"] = float64(r.IntN(50)) / 10
		}
		if r.IntN(5) == 0 {
			s["exclusiveMinimum"] = 0
		}
		if r.IntN(8) == 0 {
			s["enum"] = []any{1, 2.5}
		}
		if r.IntN(10) == 0 {
			s["const"] = 1
		}
	case "boolean":
		if r.IntN(4) == 0 {
			s["const"] = r.IntN(2) == 0
		}
	case "array":
		s["items"] = randSchema(r, depth+1, false)
		if r.IntN(3) == 0 {
			s["minItems"] = r.IntN(2)
		}
		if r.IntN(3) == 0 {
			s["maxItems"] = r.IntN(3)
		}
	case "object":
		props := map[string]any{}
		var req []string
		for i := range r.IntN(4) {
			name := []string{"a", "b", "c", "d"}[i]
			props[name] = randSchema(r, depth+1, false)
			if r.IntN(2) == 0 {
				req = append(req, name)
			}
		}
		s["properties"] = props
		if len(req) > 0 {
			s["required"] = req
		}
		switch r.IntN(4) {
		case 0:
			s["additionalProperties"] = false
		case 1:
			s["additionalProperties"] = map[string]any{"type": "string"}
		}
	}
	return s
}

func randValue(r *rand.Rand, depth int) any {
	n := r.IntN(9)
	if depth == 0 {
		n = 7
	}
	if depth > 3 && n >= 6 {
		n = 1
	}
	switch n {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return r.IntN(7) - 3
	case 3:
		return float64(r.IntN(60)-10) / 4
	case 4:
		return []string{"", "a", "bb", "é", "abcd", "x\"y"}[r.IntN(6)]
	case 5:
		return json.Number("2.0")
	case 6:
		var arr []any
		for range r.IntN(4) {
			arr = append(arr, randValue(r, depth+1))
		}
		return arr
	default:
		m := map[string]any{}
		for _, k := range []string{"a", "b", "c", "d", "e"} {
			if r.IntN(2) == 0 {
				m[k] = randValue(r, depth+1)
			}
		}
		return m
	}
}

// conformingDoc builds a document that often satisfies schema, so the
// "valid" side is exercised too.
func conformingDoc(r *rand.Rand, schema map[string]any) []byte {
	var b bytes.Buffer
	writeConforming(r, &b, schema, schema)
	return b.Bytes()
}

func writeConforming(r *rand.Rand, b *bytes.Buffer, s, root map[string]any) {
	if ref, ok := s["$ref"].(string); ok {
		parts := strings.Split(ref, "/") // #, container, name
		if def, ok := root[parts[1]].(map[string]any)[parts[2]].(map[string]any); ok {
			writeConforming(r, b, def, root)
		} else {
			b.WriteString("null")
		}
		return
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if branches, ok := s[k].([]any); ok {
			writeConforming(r, b, branches[r.IntN(len(branches))].(map[string]any), root)
			return
		}
	}
	if c, ok := s["const"]; ok {
		v, _ := json.Marshal(c)
		b.Write(v)
		return
	}
	kind, _ := s["type"].(string)
	if ks, ok := s["type"].([]string); ok {
		kind = ks[0]
	}
	if e, ok := s["enum"]; ok {
		v, _ := json.Marshal(e)
		var vals []json.RawMessage
		json.Unmarshal(v, &vals)
		b.Write(vals[r.IntN(len(vals))])
		return
	}
	switch kind {
	case "string":
		b.WriteString(`"` + strings.Repeat("a", r.IntN(3)) + `"`)
	case "integer":
		fmt.Fprint(b, r.IntN(4))
	case "number":
		fmt.Fprint(b, float64(r.IntN(20))/8)
	case "boolean":
		b.WriteString("true")
	case "null":
		b.WriteString("null")
	case "array":
		b.WriteString("[")
		for i := range r.IntN(3) {
			if i > 0 {
				b.WriteString(",")
			}
			writeConforming(r, b, s["items"].(map[string]any), root)
		}
		b.WriteString("]")
	default:
		b.WriteString("{")
		props, _ := s["properties"].(map[string]any)
		first := true
		for k, p := range props {
			if r.IntN(4) == 0 {
				continue
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			fmt.Fprintf(b, "%q: ", k)
			writeConforming(r, b, p.(map[string]any), root)
		}
		b.WriteString("}")
	}
}

// The fast path parses by itself (no json.Valid before it): it may only say
// "valid" for a syntactically valid document. Hand-picked malformed
// documents, then random byte mutations of valid ones, against
// encoding/json.Valid.
func TestFastValidatorRejectsMalformedJSON(t *testing.T) {
	anyObj := compileFast(json.RawMessage(`{"type":"object"}`))
	typed := compileFast(json.RawMessage(`{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"array","items":{"type":"string"}},"c":{"type":"boolean"},"d":{"type":"null"}}}`))
	if anyObj == nil || typed == nil {
		t.Fatal("schemas outside the fast subset")
	}
	bad := []string{
		`{`, `{"a":1`, `{"a":1,}`, `{"a" 1}`, `{"a":}`, `{,"a":1}`, `{"a":1}}`, `{"a":1} x`, `{a:1}`,
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":1e+}`, `{"a":+1}`, `{"a":0x1}`, `{"a":1-2}`,
		`{"b":[1,]}`, `{"b":["x",]}`, `{"b":[,"x"]}`, `{"b":["x"}`, `{"b":["x" "y"]}`,
		`{"c":tru}`, `{"c":truex}`, `{"c":fals}`, `{"d":nul}`, `{"d":nulll}`,
		"{\"a\":\"x\ny\"}", "{\"b\":[\"\x01\"]}", `{"a":"unterminated}`, `{"a":1 "b":2}`,
	}
	for _, doc := range bad {
		for _, s := range []*fastSchema{anyObj, typed} {
			if s.check([]byte(doc)) == fastValid {
				t.Errorf("fast path accepted malformed %q", doc)
			}
		}
	}
	good := []string{`{}`, ` { } `, `{"a":-0.5e+3,"b":["x",""],"c":false,"d":null}`, "{\n\"a\" : 10 ,\t\"b\" : [ ] }", `{"e":{"f":[1,[2,{}]]}}`}
	for _, doc := range good {
		if anyObj.check([]byte(doc)) != fastValid {
			t.Errorf("fast path abstained on valid %q", doc)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte(`{}[]":,.-+eE0123456789 tfnrulsax\` + "\n\x01")
	for range 200000 {
		doc := []byte(good[r.IntN(len(good))])
		for range 1 + r.IntN(3) {
			i := r.IntN(len(doc))
			switch r.IntN(3) {
			case 0:
				doc[i] = alphabet[r.IntN(len(alphabet))]
			case 1:
				doc = append(doc[:i], doc[i+1:]...)
			default:
				doc = append(doc[:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, doc[i:]...)...)
			}
			if len(doc) == 0 {
				break
			}
		}
		if anyObj.check(doc) == fastValid && !json.Valid(doc) {
			t.Fatalf("fast path accepted malformed %q", doc)
		}
	}
}

// TestFastPathDecidesCommonShapes: schemas as MCP servers generate them —
// Python's Optional (anyOf with null), a pydantic model under $defs, a
// zod schema referring to its definitions from the root, patterns and
// consts, formats where they only annotate — are decided by the fast path
// for valid arguments; recursive references, a validating sibling of $ref,
// a nested $id or $schema, and formats of draft-07 are left to the full
// validator.
func TestFastPathDecidesCommonShapes(t *testing.T) {
	decided := []struct{ schema, doc string }{
		{`{"type":"object","properties":{"path":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Path"}},"title":"readArguments"}`,
			`{"path":null}`},
		{`{"type":"object","properties":{"path":{"anyOf":[{"type":"string"},{"type":"null"}],"default":null,"title":"Path"}}}`,
			`{"path":"/tmp/x"}`},
		{`{"$defs":{"Item":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id"],"title":"Item"}},
		  "type":"object","properties":{"items":{"type":"array","items":{"$ref":"#/$defs/Item"}}},"required":["items"]}`,
			`{"items":[{"id":1,"name":"a"},{"id":2}]}`},
		{`{"$ref":"#/definitions/Args","definitions":{"Args":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"],"additionalProperties":false}},
		  "$schema":"http://json-schema.org/draft-07/schema#"}`,
			`{"q":"weather"}`},
		{`{"type":"object","properties":{"id":{"type":"string","pattern":"^[a-z]+-[0-9]+$"},"kind":{"const":"item"}}}`,
			`{"id":"item-42","kind":"item"}`},
		{`{"type":"object","properties":{"v":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}`,
			`{"v":3}`},
		{`{"type":"object","properties":{"to":{"type":"string","format":"email"}}}`, // 2020-12: format annotates
			`{"to":"not an address"}`},
	}
	// Numbers with more digits than a float64 holds exactly are left to
	// the full validator wherever their value matters.
	bounded := compileFast(json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","maximum":9007199254740992}}}`))
	for _, doc := range []string{`{"n":9007199254740993}`, `{"n":1.0000000000000001}`} {
		if bounded.check([]byte(doc)) == fastValid {
			t.Errorf("fast path accepted %s", doc)
		}
		if err := ValidateArgs("t", mustCompile(t, `{"type":"object","properties":{"n":{"type":"integer","maximum":9007199254740992}}}`), json.RawMessage(doc)); err == nil {
			t.Errorf("full validator accepted %s", doc)
		}
	}
	for _, c := range decided {
		if _, err := CompileSchema(json.RawMessage(c.schema)); err != nil {
			t.Fatalf("%s: %v", c.schema, err)
		}
		s := compileFast(json.RawMessage(c.schema))
		if s == nil {
			t.Errorf("outside the fast subset: %s", c.schema)
			continue
		}
		if s.check([]byte(c.doc)) != fastValid {
			t.Errorf("fast path did not accept %s for %s", c.doc, c.schema)
		}
	}
	for _, schema := range []string{
		`{"$defs":{"Node":{"type":"object","properties":{"next":{"$ref":"#/$defs/Node"}}}},"type":"object","properties":{"head":{"$ref":"#/$defs/Node"}}}`,
		`{"$defs":{"S":{"type":"string"}},"type":"object","properties":{"a":{"$ref":"#/$defs/S","maxLength":3}}}`,
		`{"type":"object","properties":{"a":{"$id":"other.json","type":"string"}}}`,
		`{"type":"object","properties":{"a":{"enum":["x"],"const":"x"}}}`,
		`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","properties":{"a":{"type":"string","format":"email"}}}`,
		`{"type":"object","properties":{"a":{"$schema":"http://json-schema.org/draft-07/schema#","type":"string"}}}`,
		// oneOf of schemas a value could satisfy both of ({"a":"x","a":1}
		// is seen as "x" then 1 here, as 1 alone by the full validator).
		`{"type":"object","properties":{"v":{"oneOf":[{"type":"object","properties":{"a":{"type":"integer"}}},{"type":"object"}]}}}`,
		`{"type":"object","properties":{"v":{"oneOf":[{"type":"number"},{"type":"integer"}]}}}`,
	} {
		if _, err := CompileSchema(json.RawMessage(schema)); err != nil {
			t.Fatalf("%s: %v", schema, err)
		}
		if compileFast(json.RawMessage(schema)) != nil {
			t.Errorf("fast path compiled %s", schema)
		}
	}
}

func mustCompile(t *testing.T, schema string) *jsonschema.Schema {
	t.Helper()
	s, err := CompileSchema(json.RawMessage(schema))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzFastPathAgrees: for any schema text and arguments, Validate (fast
// path first, the full validator compiled only when it cannot accept) says
// exactly what the full validator alone says (nothing beyond "a JSON
// object" for a schema that does not compile).
func FuzzFastPathAgrees(f *testing.F) {
	f.Add(`{"type":"object","properties":{"a":{"anyOf":[{"type":"string","pattern":"^x"},{"type":"null"}]}},"required":["a"]}`, `{"a":"xy"}`)
	f.Add(`{"$defs":{"X":{"type":"integer","maximum":3}},"type":"object","properties":{"a":{"$ref":"#/$defs/X"}}}`, `{"a":2}`)
	f.Add(`{"type":"object","properties":{"a":{"oneOf":[{"type":"string"},{"type":"number"}]},"b":{"const":true}}}`, `{"a":1.5,"b":true}`)
	f.Add(`{"type": []}`, `{}`)
	f.Add(`{"required":["a","a"]}`, `{"a":1}`)
	f.Fuzz(func(t *testing.T, schema, doc string) {
		snap := NewSnapshot([]Tool{{Server: "s", Original: "t", InputSchema: json.RawMessage(schema)}})
		var full *jsonschema.Schema
		if len(bytes.TrimSpace([]byte(schema))) > 0 {
			full, _ = CompileSchema(json.RawMessage(schema))
		}
		str := func(err error) string {
			if err == nil {
				return "valid"
			}
			return err.Error()
		}
		got, want := str(snap.Validate("s__t", json.RawMessage(doc))), str(ValidateArgs("s__t", full, json.RawMessage(doc)))
		if got != want {
			t.Fatalf("schema %s\ndoc    %s\nValidate:        %s\nfull validator:  %s", schema, doc, got, want)
		}
	})
}
