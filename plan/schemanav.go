package plan

import (
	"encoding/json"
	"slices"
	"strings"
)

// schemaNode is a position inside a decoded JSON Schema document, used for
// static reasoning about references: which fields a value has and which
// JSON types it may take. It understands type, properties,
// additionalProperties, patternProperties, items, prefixItems, const, enum,
// anyOf/oneOf (types only) and local $ref; anything else is "unknown",
// which never produces a problem.
type schemaNode struct {
	root map[string]any
	node map[string]any // nil: unknown
}

func newSchemaNode(raw json.RawMessage) schemaNode {
	var m map[string]any
	if len(raw) == 0 || json.Unmarshal(raw, &m) != nil {
		return schemaNode{}
	}
	return schemaNode{root: m, node: deref(m, m)}
}

func schemaOfType(t string) schemaNode {
	m := map[string]any{"type": t}
	return schemaNode{root: m, node: m}
}

func (s schemaNode) known() bool { return s.node != nil }

// deref follows local "$ref"s ("#/$defs/x", "#/definitions/x").
func deref(root, n map[string]any) map[string]any {
	for range 16 {
		r, ok := n["$ref"].(string)
		if !ok {
			return n
		}
		target, ok := pointerGet(root, r)
		if !ok {
			return nil
		}
		n = target
	}
	return nil
}

func pointerGet(root map[string]any, ref string) (map[string]any, bool) {
	p, ok := strings.CutPrefix(ref, "#")
	if !ok {
		return nil, false
	}
	var cur any = root
	for _, seg := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		if seg == "" {
			continue
		}
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur = m[seg]
	}
	m, ok := cur.(map[string]any)
	return m, ok
}

// types lists the JSON types the schema allows, or nil when unknown.
func (s schemaNode) types() []string {
	n := s.node
	if n == nil {
		return nil
	}
	switch t := n["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, e := range t {
			if str, ok := e.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	if c, ok := n["const"]; ok {
		return []string{jsonType(c)}
	}
	if e, ok := n["enum"].([]any); ok && len(e) > 0 {
		var out []string
		for _, v := range e {
			if t := jsonType(v); !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
		return out
	}
	for _, k := range []string{"anyOf", "oneOf"} {
		alts, ok := n[k].([]any)
		if !ok {
			continue
		}
		var out []string
		for _, a := range alts {
			am, _ := a.(map[string]any)
			ts := schemaNode{root: s.root, node: deref(s.root, am)}.types()
			if ts == nil {
				return nil
			}
			for _, t := range ts {
				if !slices.Contains(out, t) {
					out = append(out, t)
				}
			}
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	}
	return kindOf(v)
}

// childResult says what selecting a field or element found.
type childResult int

const (
	childUnknown childResult = iota // the schema does not say
	childFound
	childMissing // the schema says the field or element does not exist
)

// child selects a field or element.
func (s schemaNode) child(seg segment) (schemaNode, childResult) {
	n := s.node
	if n == nil {
		return schemaNode{}, childUnknown
	}
	sub := func(v any) schemaNode {
		m, _ := v.(map[string]any)
		if m == nil {
			return schemaNode{}
		}
		return schemaNode{root: s.root, node: deref(s.root, m)}
	}
	ts := s.types()
	if seg.isIndex {
		if ts != nil && !slices.Contains(ts, "array") {
			return schemaNode{}, childMissing
		}
		if pi, ok := n["prefixItems"].([]any); ok && seg.index < len(pi) {
			return sub(pi[seg.index]), childFound
		}
		if it, ok := n["items"].(map[string]any); ok {
			return sub(it), childFound
		}
		return schemaNode{}, childUnknown
	}
	if ts != nil && !slices.Contains(ts, "object") {
		return schemaNode{}, childMissing
	}
	props, hasProps := n["properties"].(map[string]any)
	if p, ok := props[seg.key]; ok {
		return sub(p), childFound
	}
	if _, ok := n["patternProperties"]; ok {
		return schemaNode{}, childUnknown
	}
	switch ap := n["additionalProperties"].(type) {
	case map[string]any:
		return sub(ap), childFound
	case bool:
		if ap {
			return schemaNode{}, childUnknown
		}
		return schemaNode{}, childMissing
	}
	if hasProps {
		return schemaNode{}, childMissing
	}
	return schemaNode{}, childUnknown
}

// fieldNames lists declared properties, for messages.
func (s schemaNode) fieldNames() string {
	props, _ := s.node["properties"].(map[string]any)
	if len(props) == 0 {
		return "none"
	}
	return strings.Join(sortedKeys(props), ", ")
}

// allowsAdditional reports whether an object schema explicitly allows
// properties beyond the declared ones.
func allowsAdditional(schema map[string]any) bool {
	if _, ok := schema["patternProperties"]; ok {
		return true
	}
	switch ap := schema["additionalProperties"].(type) {
	case bool:
		return ap
	case map[string]any:
		return true
	}
	return false
}

// typesCompatible reports whether a value of one of the produced types can
// be accepted by a schema allowing the consumed types.
func typesCompatible(produced, consumed []string) bool {
	for _, p := range produced {
		for _, c := range consumed {
			if p == c || p == "integer" && c == "number" || p == "number" && c == "integer" {
				return true
			}
		}
	}
	return false
}
