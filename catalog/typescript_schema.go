package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// This file renders JSON Schemas as TypeScript types for typescript.go.

// tsRenderer turns JSON Schemas into TypeScript types.
type tsRenderer struct {
	// inline renders everything on one line without doc comments and
	// inlines $refs; otherwise refs become aliases named aliasPrefix+Def.
	inline      bool
	maxDesc     int
	aliasPrefix string

	root     any    // the schema $refs resolve against
	rootKey  string // distinguishes input and output schema refs
	refStack []string

	aliasOf    map[string]string
	aliasBody  map[string]string
	aliasOrder []string
	aliasTaken map[string]bool
}

// maxTSDepth bounds nesting; deeper schemas render as unknown.
const maxTSDepth = 16

// function renders "(args: In): Promise<Out>" for a tool.
func (r *tsRenderer) function(t *Tool, indent string) string {
	in := decodeSchema(t.InputSchema)
	r.root, r.rootKey = in, "in"
	argT := "Record<string, unknown>"
	optional := "?"
	if in != nil {
		argT = r.typ(in, indent, 0)
		if o, ok := in.(*jsonObject); ok {
			if req, ok := o.get("required").([]any); ok && len(req) > 0 {
				optional = ""
			}
		}
	}
	outT := "unknown"
	if out := decodeSchema(t.OutputSchema); out != nil {
		r.root, r.rootKey = out, "out"
		outT = r.typ(out, indent, 0)
	}
	return fmt.Sprintf("(args%s: %s): Promise<%s>", optional, argT, outT)
}

// typ renders schema s; indent is the indentation of the line the type starts on.
func (r *tsRenderer) typ(s any, indent string, depth int) string {
	switch v := s.(type) {
	case bool:
		if v {
			return "unknown"
		}
		return "never"
	case *jsonObject:
		if depth > maxTSDepth {
			return "unknown"
		}
		return r.schemaType(v, indent, depth)
	}
	return "unknown"
}

func (r *tsRenderer) schemaType(m *jsonObject, indent string, depth int) string {
	if ref, ok := m.get("$ref").(string); ok {
		return r.ref(ref, indent, depth)
	}
	if c, ok := m.lookup("const"); ok {
		return tsLiteral(c)
	}
	if e, ok := m.get("enum").([]any); ok && len(e) > 0 {
		lits := make([]string, len(e))
		for i, v := range e {
			lits[i] = tsLiteral(v)
		}
		return joinUnion(lits)
	}
	var types []string
	switch tv := m.get("type").(type) {
	case string:
		types = []string{tv}
	case []any:
		for _, x := range tv {
			if s, ok := x.(string); ok {
				types = append(types, s)
			}
		}
	}
	if len(types) == 0 {
		switch {
		case m.has("properties") || m.has("additionalProperties") || m.has("patternProperties"):
			types = []string{"object"}
		case m.has("items") || m.has("prefixItems"):
			types = []string{"array"}
		}
	}
	var parts []string
	for _, t := range types {
		parts = append(parts, r.primitive(t, m, indent, depth))
	}
	if nb, _ := m.get("nullable").(bool); nb {
		parts = append(parts, "null")
	}
	base := joinUnion(parts)
	if len(parts) == 0 {
		base = ""
	}

	// Combinators. Members that carry no type information (e.g. only
	// "required") do not change the type.
	var combined string
	for _, kw := range []string{"anyOf", "oneOf"} {
		if ms, ok := m.get(kw).([]any); ok {
			var us []string
			for _, x := range ms {
				us = append(us, r.typ(x, indent, depth+1))
			}
			if u := joinUnion(us); u != "unknown" {
				combined = u
			}
		}
	}
	if ms, ok := m.get("allOf").([]any); ok {
		var is []string
		for _, x := range ms {
			if t := r.typ(x, indent, depth+1); t != "unknown" {
				is = append(is, t)
			}
		}
		if len(is) > 0 {
			all := joinIntersection(is)
			if combined != "" {
				all = joinIntersection([]string{paren(combined), all})
			}
			combined = all
		}
	}
	switch {
	case combined != "" && base != "":
		return joinIntersection([]string{paren(base), paren(combined)})
	case combined != "":
		return combined
	case base != "":
		return base
	}
	return "unknown"
}

func (r *tsRenderer) primitive(t string, m *jsonObject, indent string, depth int) string {
	switch t {
	case "string", "boolean", "null":
		return t
	case "number", "integer":
		return "number"
	case "array":
		return r.array(m, indent, depth)
	case "object":
		return r.object(m, indent, depth)
	}
	return "unknown"
}

func (r *tsRenderer) array(m *jsonObject, indent string, depth int) string {
	tuple, _ := m.get("prefixItems").([]any)
	if tuple == nil {
		tuple, _ = m.get("items").([]any) // draft-07 tuple form
	}
	if tuple != nil {
		el := make([]string, len(tuple))
		for i, x := range tuple {
			el[i] = r.typ(x, indent, depth+1)
		}
		return "[" + strings.Join(el, ", ") + "]"
	}
	items, ok := m.lookup("items")
	if !ok {
		return "unknown[]"
	}
	return paren(r.typ(items, indent, depth+1)) + "[]"
}

func (r *tsRenderer) object(m *jsonObject, indent string, depth int) string {
	props, _ := m.get("properties").(*jsonObject)
	required := map[string]bool{}
	if req, ok := m.get("required").([]any); ok {
		for _, x := range req {
			if s, ok := x.(string); ok {
				required[s] = true
			}
		}
	}
	// Extra keys: additionalProperties, or the union of patternProperties.
	extra := ""
	if ap, ok := m.lookup("additionalProperties"); ok {
		if _, isBool := ap.(bool); !isBool {
			extra = r.typ(ap, indent+"  ", depth+1)
		}
	}
	if pp, ok := m.get("patternProperties").(*jsonObject); ok && extra == "" {
		var us []string
		for _, k := range pp.keys {
			us = append(us, r.typ(pp.vals[k], indent+"  ", depth+1))
		}
		extra = joinUnion(us)
	}
	if props == nil || len(props.keys) == 0 {
		switch {
		case extra != "":
			return "Record<string, " + extra + ">"
		case m.get("additionalProperties") == false:
			return "{}"
		}
		return "Record<string, unknown>"
	}

	type field struct{ doc, text string }
	var fields []field
	multi := false
	for _, k := range props.keys {
		p := props.vals[k]
		opt := "?"
		if required[k] {
			opt = ""
		}
		text := tsKey(k) + opt + ": " + r.typ(p, indent+"  ", depth+1)
		doc := ""
		if !r.inline {
			doc = r.fieldDoc(p)
		}
		if doc != "" || strings.Contains(text, "\n") {
			multi = true
		}
		fields = append(fields, field{doc, text})
	}
	if extra != "" {
		fields = append(fields, field{"", "[key: string]: " + extra})
	}
	if !multi {
		parts := make([]string, len(fields))
		for i, f := range fields {
			parts[i] = f.text
		}
		one := "{ " + strings.Join(parts, "; ") + " }"
		if r.inline || len(indent)+len(one) <= 100 {
			return one
		}
	}
	var b strings.Builder
	b.WriteString("{\n")
	for _, f := range fields {
		writeDoc(&b, indent+"  ", f.doc, "")
		b.WriteString(indent + "  " + f.text + ";\n")
	}
	b.WriteString(indent + "}")
	return b.String()
}

// fieldDoc is a property's doc comment text: its description (or title) and default.
func (r *tsRenderer) fieldDoc(p any) string {
	o, ok := p.(*jsonObject)
	if !ok {
		return ""
	}
	d, _ := o.get("description").(string)
	if d == "" {
		d, _ = o.get("title").(string)
	}
	d = clip(d, r.maxDesc)
	if def, ok := o.lookup("default"); ok && r.maxDesc >= 0 {
		d = strings.TrimSpace(d + " @default " + clip(tsLiteral(def), 60))
	}
	return d
}

// ref renders a local reference ("#/$defs/X", "#/definitions/X", "#").
func (r *tsRenderer) ref(ref, indent string, depth int) string {
	target, ok := resolvePointer(r.root, ref)
	if !ok {
		return "unknown"
	}
	if r.inline {
		if slices.Contains(r.refStack, ref) {
			return "unknown"
		}
		r.refStack = append(r.refStack, ref)
		defer func() { r.refStack = r.refStack[:len(r.refStack)-1] }()
		return r.typ(target, indent, depth+1)
	}
	key := r.rootKey + "\x00" + ref
	if a, ok := r.aliasOf[key]; ok {
		return a
	}
	if r.aliasOf == nil {
		r.aliasOf, r.aliasBody, r.aliasTaken = map[string]string{}, map[string]string{}, map[string]bool{}
	}
	last := ref[strings.LastIndexByte(ref, '/')+1:]
	if last == "" || last == "#" {
		last = "Self"
	}
	name := uniqueIdent(r.aliasPrefix+TSIdent(strings.NewReplacer("~1", "/", "~0", "~").Replace(last)), r.aliasTaken)
	r.aliasOf[key] = name
	r.aliasOrder = append(r.aliasOrder, name)
	r.aliasBody[name] = r.typ(target, "    ", depth+1)
	return name
}

func resolvePointer(root any, ref string) (any, bool) {
	if ref == "#" {
		return root, true
	}
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	cur := root
	for _, seg := range strings.Split(ref[2:], "/") {
		seg = strings.NewReplacer("~1", "/", "~0", "~").Replace(seg)
		switch c := cur.(type) {
		case *jsonObject:
			v, ok := c.lookup(seg)
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// tsKey renders a property name: bare when it is an identifier, else quoted.
func tsKey(k string) string {
	if k != "" && TSIdent(k) == k || (jsReserved[k] && TSIdent(k) == k+"_") {
		return k
	}
	return tsString(k)
}

func tsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// tsLiteral renders a JSON value as a TypeScript literal type.
func tsLiteral(v any) string {
	switch x := v.(type) {
	case string:
		return tsString(x)
	case json.Number:
		return x.String()
	case bool, nil:
		b, _ := json.Marshal(x)
		return string(b)
	}
	return "unknown"
}

// joinUnion joins types with " | ", dropping duplicates; any unknown member makes the union unknown.
func joinUnion(ts []string) string {
	var out []string
	for _, t := range ts {
		if t == "unknown" {
			return "unknown"
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return "never"
	}
	return strings.Join(out, " | ")
}

func joinIntersection(ts []string) string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = paren(t)
	}
	return strings.Join(out, " & ")
}

// paren wraps a union or intersection so it can be an operand.
func paren(t string) string {
	depth := 0
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '{', '(', '[', '<':
			depth++
		case '}', ')', ']', '>':
			depth--
		case '"':
			for i++; i < len(t) && t[i] != '"'; i++ {
				if t[i] == '\\' {
					i++
				}
			}
		case '|', '&':
			if depth == 0 {
				return "(" + t + ")"
			}
		}
	}
	return t
}

// jsonObject is a decoded JSON object that keeps its key order.
type jsonObject struct {
	keys []string
	vals map[string]any
}

func (o *jsonObject) lookup(k string) (any, bool) { v, ok := o.vals[k]; return v, ok }
func (o *jsonObject) get(k string) any            { return o.vals[k] }
func (o *jsonObject) has(k string) bool           { _, ok := o.vals[k]; return ok }

// decodeSchema decodes a schema keeping object key order; nil when absent or invalid.
func decodeSchema(raw json.RawMessage) any {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil
	}
	return v
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch d := tok.(type) {
	case json.Delim:
		switch d {
		case '{':
			o := &jsonObject{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				if _, dup := o.vals[k]; !dup {
					o.keys = append(o.keys, k)
				}
				o.vals[k] = v
			}
			_, err := dec.Token()
			return o, err
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err := dec.Token()
			return arr, err
		}
	}
	return tok, nil
}
