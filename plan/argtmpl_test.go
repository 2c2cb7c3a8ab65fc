package plan

import (
	"bytes"
	"encoding/json"
	"testing"
)

// mapResolver resolves steps.<id>.result to fixed values.
type mapResolver map[string]any

func (m mapResolver) lookup(r *ref) (any, error) { return m[r.step], nil }

// TestArgTmplMatchesMarshal: arguments rendered from the compiled template
// are byte for byte what json.Marshal gives for the generally rendered
// value — literals, whole references to every kind of value, interpolated
// strings, escaping (HTML characters, control characters, non-ASCII),
// nested objects and arrays — and errors are the same.
func TestArgTmplMatchesMarshal(t *testing.T) {
	var res mapResolver
	if err := json.Unmarshal([]byte(`{
		"obj": {"z": 1, "a": [true, null, "x<y>&\u2028"], "m": {"k": "v\n"}, "é": 2.50},
		"num": 12.5e3, "str": "tab\there \"q\" ünï", "list": [1, {"b": "c"}], "nil": null, "t": true,
		"empty": {}
	}`), &res); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(mustJSON(t, res)))
	dec.UseNumber()
	if err := dec.Decode(&res); err != nil {
		t.Fatal(err)
	}
	for _, args := range []string{
		`{}`, `{"a":1,"b":"plain","c":[1,2,{"d":null}]}`,
		`{"x":"{{steps.obj.result}}","y":"{{steps.num.result}}","z":"{{steps.str.result}}"}`,
		`{"l":"{{steps.list.result}}","n":"{{steps.nil.result}}","t":"{{steps.t.result}}","e":"{{steps.empty.result}}"}`,
		`{"s":"before {{steps.str.result}} mid {{steps.obj.result}} after <&>","k":{"deep":["{{steps.num.result}}","lit",3]}}`,
		`{"sel":"{{steps.obj.result.a[2]}}","sel2":"{{steps.obj.result.m.k}}","zz":"{{steps.list.result[1].b}}"}`,
		`{"p":"after {{steps.num.result}} and {{steps.t.result}}","q":"x{{steps.nil.result}}y","r":"{{steps.t.result}}!"}`,
		`{"mixed":"a {{steps.num.result}} b {{steps.str.result}} c","late":"ok {{steps.obj.result.a[2]}}"}`,
		`{"bad":"{{steps.obj.result.nope}}"}`, `{"bad":"x {{steps.num.result}} {{steps.obj.result.nope}}"}`, `{"bad":"{{steps.num.result[3]}}"}`,
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(args), &m); err != nil {
			t.Fatal(err)
		}
		var refs int
		tmpl, ok := compileArgs(m, "args", func(s string, tm *template, err error, path string) {
			if err != nil {
				t.Fatalf("%s: %v", s, err)
			}
			refs += len(tm.refs())
		})
		if !ok {
			t.Fatalf("%s did not compile", args)
		}
		got, gerr := tmpl.render(nil, res)
		v, werr := render(m, res)
		if (gerr != nil) != (werr != nil) || (gerr != nil && gerr.Error() != werr.Error()) {
			t.Fatalf("%s: errors differ: %v vs %v", args, gerr, werr)
		}
		if werr != nil {
			continue
		}
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %s\nwant %s", args, got, want)
		}
	}
	// A nil arguments map renders as {} (as render makes it).
	tmpl, _ := compileArgs(map[string]any(nil), "args", nil)
	if got, _ := tmpl.render(nil, res); string(got) != "{}" {
		t.Errorf("nil args: %s", got)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPathStringMatchesJoin: a path built from segments in one go is the
// string joinKey and joinIndex build level by level (plain and quoted
// keys, indexes, an empty base).
func TestPathStringMatchesJoin(t *testing.T) {
	for _, base := range []string{"", "steps[3]", "steps[0].plan.steps[2]"} {
		for _, segs := range [][]pathSeg{
			nil,
			{{key: "args"}},
			{{key: "args"}, {key: "prev"}},
			{{key: "args"}, {key: "a b"}, {index: 2, isIndex: true}, {key: ""}},
			{{key: "1x"}, {key: "é"}, {key: `q"uote`}, {index: 0, isIndex: true}, {key: "x_y-z"}},
			{{index: 7, isIndex: true}},
		} {
			want := base
			for _, g := range segs {
				if g.isIndex {
					want = joinIndex(want, g.index)
				} else {
					want = joinKey(want, g.key)
				}
			}
			if got := pathString(base, segs); got != want {
				t.Errorf("pathString(%q, %v) = %q, want %q", base, segs, got, want)
			}
		}
	}
}
