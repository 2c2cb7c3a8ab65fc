package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// The fast path may only ever say "valid" when the full validator agrees.
// This differential test generates random schemas from the fast subset (and
// a few keywords outside it) and random documents, and compares verdicts.
func TestFastValidatorAgreesWithFullValidator(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	nValid, agreeValid, checked := 0, 0, 0
	for i := range 3000 {
		schema := randSchema(r, 0, true)
		raw, _ := json.Marshal(schema)
		full, err := CompileSchema(raw)
		if err != nil {
			t.Fatalf("schema %s: %v", raw, err)
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
}

func randSchema(r *rand.Rand, depth int, root bool) map[string]any {
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
		if r.IntN(12) == 0 {
			s["pattern"] = "^a" // outside the subset: the fast path must abstain
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
	writeConforming(r, &b, schema)
	return b.Bytes()
}

func writeConforming(r *rand.Rand, b *bytes.Buffer, s map[string]any) {
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
			writeConforming(r, b, s["items"].(map[string]any))
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
			writeConforming(r, b, p.(map[string]any))
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
