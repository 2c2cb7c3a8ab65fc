package search

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/weft-dev/weft/catalog"
)

// field identifies one indexed part of a tool.
type field uint8

const (
	fieldName field = iota
	fieldTitle
	fieldDescription
	fieldParamNames
	fieldParamDescriptions
	fieldServer
	fieldServerDescription
	fieldTags
	fieldExamples
	numFields
)

// fieldNames are the names reported in Result.Matched.
var fieldNames = [numFields]string{
	"name", "title", "description", "parameter_names", "parameter_descriptions",
	"server", "server_description", "tags", "examples",
}

// fieldTexts extracts the text of every field of t.
func fieldTexts(t *catalog.Tool) [numFields]string {
	var f [numFields]string
	f[fieldName] = t.Original
	if f[fieldName] == "" {
		f[fieldName] = t.Name
	}
	if title := t.DisplayTitle(); title != t.Original {
		f[fieldTitle] = title
	}
	f[fieldDescription] = t.Description
	if len(t.InputSchema) > 0 {
		var schema any
		if json.Unmarshal(t.InputSchema, &schema) == nil {
			var names, descs strings.Builder
			walkSchema(schema, &names, &descs, 0)
			f[fieldParamNames], f[fieldParamDescriptions] = names.String(), descs.String()
		}
	}
	f[fieldServer] = t.Server
	f[fieldServerDescription] = t.ServerDescription
	f[fieldTags] = strings.Join(t.Tags, " ")
	if len(t.Examples) > 0 {
		var ex strings.Builder
		for _, raw := range t.Examples {
			var v any
			if json.Unmarshal(raw, &v) == nil {
				walkValue(v, &ex, 0)
			}
		}
		f[fieldExamples] = ex.String()
	}
	return f
}

// maxDepth bounds recursion into schemas and examples.
const maxDepth = 8

// walkSchema collects property names and the descriptions, titles and
// string enum values of a JSON Schema, recursing into nested objects,
// array items and combinators.
func walkSchema(v any, names, descs *strings.Builder, depth int) {
	s, ok := v.(map[string]any)
	if !ok || depth > maxDepth {
		return
	}
	if depth > 0 {
		for _, k := range []string{"title", "description"} {
			if d, ok := s[k].(string); ok {
				descs.WriteString(d)
				descs.WriteByte('\n')
			}
		}
		if enum, ok := s["enum"].([]any); ok {
			for _, e := range enum {
				if es, ok := e.(string); ok {
					descs.WriteString(es)
					descs.WriteByte(' ')
				}
			}
		}
	}
	if props, ok := s["properties"].(map[string]any); ok {
		for _, name := range slices.Sorted(maps.Keys(props)) {
			names.WriteString(name)
			names.WriteByte(' ')
			walkSchema(props[name], names, descs, depth+1)
		}
	}
	if items, ok := s["items"]; ok {
		walkSchema(items, names, descs, depth+1)
	}
	for _, k := range []string{"anyOf", "oneOf", "allOf"} {
		if alts, ok := s[k].([]any); ok {
			for _, a := range alts {
				walkSchema(a, names, descs, depth+1)
			}
		}
	}
}

// walkValue collects the object keys and string values of an example.
func walkValue(v any, b *strings.Builder, depth int) {
	if depth > maxDepth {
		return
	}
	switch x := v.(type) {
	case string:
		b.WriteString(x)
		b.WriteByte(' ')
	case []any:
		for _, e := range x {
			walkValue(e, b, depth+1)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			b.WriteString(k)
			b.WriteByte(' ')
			walkValue(x[k], b, depth+1)
		}
	}
}

// FieldText is the text of one indexed field of a tool.
type FieldText struct {
	// Field is the field's name, as in Result.Matched ("name", "title",
	// "description", "parameter_names", "parameter_descriptions", "server",
	// "server_description", "tags", "examples").
	Field string
	// Text is the field's raw text, before analysis.
	Text string
}

// Fields returns the text of every field the lexical engine indexes for t,
// in a fixed order, empty fields included. Side-by-side benchmarks give
// another engine exactly these fields.
func Fields(t *catalog.Tool) []FieldText {
	texts := fieldTexts(t)
	out := make([]FieldText, numFields)
	for f := range numFields {
		out[f] = FieldText{Field: fieldNames[f], Text: texts[f]}
	}
	return out
}
