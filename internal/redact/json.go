package redact

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
)

// Value returns a redacted copy of a decoded JSON value (maps, slices,
// strings, numbers as produced by encoding/json); v itself is not changed.
// The value of a property is replaced by Marker when its name is secret
// (SecretName) and the value is a string, object or list, or when schema — the JSON Schema v describes, or nil —
// marks it secret (format "password" or writeOnly true, followed through
// properties, additionalProperties, items, prefixItems, allOf/anyOf/oneOf
// and local $refs); every other string goes through Text.
func Value(v any, schema json.RawMessage) any {
	var r *Redactor
	return r.Value(v, schema)
}

// Value is the package's Value that also redacts r's known secrets in
// every string.
func (r *Redactor) Value(v any, schema json.RawMessage) any {
	w := newWalker(r, schema)
	return w.value(v, w.node(w.root))
}

// Secrets returns the string values of v that Value would replace by
// name or schema hint (a password input, an api_key argument): a run's
// redactor adds them as known secrets, so that a tool echoing one is
// redacted too.
func Secrets(v any, schema json.RawMessage) []string {
	w := newWalker(nil, schema)
	var out []string
	var walk func(v any, n node, secret bool)
	walk = func(v any, n node, secret bool) {
		secret = secret || n.secret()
		switch x := v.(type) {
		case string:
			if secret {
				out = append(out, x)
			}
		case map[string]any:
			for k, e := range x {
				walk(e, w.property(n, k), secret || SecretName(k))
			}
		case []any:
			for i, e := range x {
				walk(e, w.element(n, i), secret)
			}
		}
	}
	walk(v, w.node(w.root), false)
	return out
}

func newWalker(r *Redactor, schema json.RawMessage) walker {
	w := walker{r: r}
	if len(schema) > 0 {
		var root map[string]any
		_ = json.Unmarshal(schema, &root)
		w.root = root
	}
	return w
}

// CleanValue reports that r.Value(v, schema) would be equal to v: no
// string in it needs redacting (Redactor.Clean), no property has a secret
// name, and schema (whose hints are only looked for when it is given)
// marks nothing secret. It allocates nothing for a nil schema, so a caller
// can keep v itself instead of a redacted copy; false means only that
// Value has to look.
func (r *Redactor) CleanValue(v any, schema json.RawMessage) bool {
	if len(schema) > 0 {
		w := newWalker(r, schema)
		return w.clean(v, w.node(w.root))
	}
	return walker{r: r}.clean(v, nil)
}

// clean is CleanValue at schema position n.
func (w walker) clean(v any, n node) bool {
	if v != nil && n.secret() {
		return false
	}
	switch x := v.(type) {
	case string:
		return w.r.Clean(x)
	case map[string]any:
		if x == nil {
			return false // Value makes it an empty map
		}
		for k, e := range x {
			if SecretName(k) && secretShaped(e) {
				return false
			}
			var en node
			if len(n) > 0 {
				en = w.property(n, k)
			}
			if !w.clean(e, en) {
				return false
			}
		}
	case []any:
		if x == nil {
			return false // Value makes it an empty list
		}
		for i, e := range x {
			var en node
			if len(n) > 0 {
				en = w.element(n, i)
			}
			if !w.clean(e, en) {
				return false
			}
		}
	}
	return true
}

// JSON redacts a JSON document as Value does and re-encodes it. A document
// that does not parse is redacted as text.
func JSON(doc json.RawMessage, schema json.RawMessage) json.RawMessage {
	var r *Redactor
	return r.JSON(doc, schema)
}

// JSON is the package's JSON that also redacts r's known secrets.
func (r *Redactor) JSON(doc json.RawMessage, schema json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(doc)) == 0 {
		return doc
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		b, _ := json.Marshal(r.Text(string(doc)))
		return b
	}
	b, err := json.Marshal(r.Value(v, schema))
	if err != nil {
		return json.RawMessage(`"` + Marker + `"`)
	}
	return b
}

// walker walks a value and its schema together.
type walker struct {
	root map[string]any
	r    *Redactor
}

// maxRefDepth bounds $ref chains (a recursive schema ends in no hints).
const maxRefDepth = 16

// node is a schema position: the schemas that apply (a $ref, allOf,
// anyOf and oneOf all contribute).
type node []map[string]any

// node expands schemas into the list of schemas that apply at their
// place, each once (a recursive schema cannot multiply them).
func (w walker) node(schemas ...map[string]any) node {
	if len(schemas) == 0 {
		return nil
	}
	var out node
	seen := map[uintptr]bool{}
	var add func(s map[string]any, depth int)
	add = func(s map[string]any, depth int) {
		if s == nil || depth > maxRefDepth {
			return
		}
		id := reflect.ValueOf(s).Pointer()
		if seen[id] {
			return
		}
		seen[id] = true
		out = append(out, s)
		if ref, ok := s["$ref"].(string); ok {
			add(w.resolve(ref), depth+1)
		}
		for _, k := range []string{"allOf", "anyOf", "oneOf"} {
			if list, ok := s[k].([]any); ok {
				for _, e := range list {
					m, _ := e.(map[string]any)
					add(m, depth+1)
				}
			}
		}
	}
	for _, s := range schemas {
		add(s, 0)
	}
	return out
}

// resolve follows a local JSON Pointer reference ("#/$defs/x").
func (w walker) resolve(ref string) map[string]any {
	if !strings.HasPrefix(ref, "#") {
		return nil
	}
	var cur any = w.root
	for _, seg := range strings.Split(strings.TrimPrefix(ref, "#"), "/") {
		if seg == "" {
			continue
		}
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[seg]
	}
	m, _ := cur.(map[string]any)
	return m
}

// secret reports whether the schemas at this position mark the value secret.
func (n node) secret() bool {
	for _, s := range n {
		if f, _ := s["format"].(string); f == "password" {
			return true
		}
		if wo, _ := s["writeOnly"].(bool); wo {
			return true
		}
	}
	return false
}

// property is the position of property name inside an object.
func (w walker) property(n node, name string) node {
	var next []map[string]any
	for _, s := range n {
		if props, ok := s["properties"].(map[string]any); ok {
			if p, ok := props[name].(map[string]any); ok {
				next = append(next, p)
				continue
			}
		}
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			next = append(next, ap)
		}
	}
	return w.node(next...)
}

// element is the position of element i of an array.
func (w walker) element(n node, i int) node {
	var next []map[string]any
	for _, s := range n {
		if pi, ok := s["prefixItems"].([]any); ok && i < len(pi) {
			m, _ := pi[i].(map[string]any)
			next = append(next, m)
			continue
		}
		if it, ok := s["items"].(map[string]any); ok {
			next = append(next, it)
		}
	}
	return w.node(next...)
}

func (w walker) value(v any, n node) any {
	if n.secret() && v != nil {
		return Marker
	}
	switch x := v.(type) {
	case string:
		return w.r.Text(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if SecretName(k) && secretShaped(e) {
				out[k] = Marker
				continue
			}
			out[k] = w.value(e, w.property(n, k))
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = w.value(e, w.element(n, i))
		}
		return out
	}
	return v
}

// secretShaped reports whether a value under a secret name is redacted:
// strings, objects and lists are; null, numbers and booleans ("max_tokens":
// 5, "auth": false) carry no secret.
func secretShaped(v any) bool {
	switch v.(type) {
	case string, map[string]any, []any:
		return true
	}
	return false
}
