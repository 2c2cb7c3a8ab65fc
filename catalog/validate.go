package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// ArgumentError says why a tool's arguments were rejected. Each Problem names
// the argument path (JSON Pointer style, "/items/0/id"; "" for the whole
// object) and the violated rule.
type ArgumentError struct {
	Tool     string
	Problems []Problem
}

// Problem is one violation found while validating arguments.
type Problem struct {
	Path string `json:"path"`
	Rule string `json:"rule"`
}

func (e *ArgumentError) Error() string {
	return fmt.Sprintf("invalid arguments for %s: %s", e.Tool, e.Detail())
}

// Detail lists the problems as "path: rule; path: rule".
func (e *ArgumentError) Detail() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteString("; ")
		}
		path := p.Path
		if path == "" {
			path = "(root)"
		}
		fmt.Fprintf(&b, "%s: %s", path, p.Rule)
	}
	return b.String()
}

// SchemaError reports that a tool's own input schema could not be compiled.
// Calls to such a tool are still attempted; validation is left to the upstream.
type SchemaError struct {
	Tool string
	Err  error
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("tool %s: unusable input schema: %v", e.Tool, e.Err)
}
func (e *SchemaError) Unwrap() error { return e.Err }

// validatorEntry is a tool's compiled input schema. The fast form is
// compiled on the tool's first validation; the full one only when the fast
// path cannot accept some arguments (most tools' calls never need it, and
// it costs tens of microseconds and kilobytes to compile).
type validatorEntry struct {
	raw  json.RawMessage
	fast *fastSchema // nil when the schema is outside the fast subset

	full   sync.Once
	schema *jsonschema.Schema // nil: no schema, or an unusable one (err)
	err    error
}

// compiled returns the full validator of the schema (nil when there is
// none or it does not compile).
func (e *validatorEntry) compiled() *jsonschema.Schema {
	e.full.Do(func() {
		if len(bytes.TrimSpace(e.raw)) > 0 {
			e.schema, e.err = CompileSchema(e.raw)
		}
	})
	return e.schema
}

var printer = message.NewPrinter(language.English)

// CompileSchema compiles a JSON Schema document. Documents without "$schema"
// are treated as 2020-12; draft-04/06/07 and 2019-09 are honoured when
// declared. Remote references are not fetched.
func CompileSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("schema is not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noRemoteLoader{})
	const url = "weft://tool/input.json"
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

type noRemoteLoader struct{}

func (noRemoteLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("remote schema references are not loaded (%s)", url)
}

// Validate checks args (a JSON value; empty means {}) against the input
// schema of the named tool. It returns *ArgumentError when the arguments
// violate the schema, an error when args is not JSON or the tool is unknown,
// and nil when the arguments are valid or the tool has no usable schema.
func (s *Snapshot) Validate(name string, args json.RawMessage) error {
	t, ok := s.Get(name)
	if !ok {
		return fmt.Errorf("unknown tool %q", name)
	}
	v, _ := s.validators.Load(name)
	if v == nil {
		e := &validatorEntry{raw: t.InputSchema}
		if len(bytes.TrimSpace(t.InputSchema)) > 0 {
			e.fast = compileFast(t.InputSchema)
		}
		v, _ = s.validators.LoadOrStore(name, e)
	}
	entry := v.(*validatorEntry)
	// A valid verdict of the fast path is the full validator's (for a
	// schema that does not compile, arguments that are a JSON object are
	// not checked further: valid too), so the full one is compiled only
	// when the fast path cannot accept.
	if entry.fast != nil && isObjectDoc(args) && entry.fast.check(args) == fastValid {
		return nil
	}
	return ValidateArgs(t.Name, entry.compiled(), args)
}

// ValidateArgs validates args against a compiled schema (nil schema: only
// checks that args is a JSON object).
func ValidateArgs(tool string, schema *jsonschema.Schema, args json.RawMessage) error {
	if len(bytes.TrimSpace(args)) == 0 {
		args = json.RawMessage("{}")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return &ArgumentError{Tool: tool, Problems: []Problem{{Rule: "arguments are not valid JSON: " + err.Error()}}}
	}
	if _, ok := inst.(map[string]any); !ok {
		return &ArgumentError{Tool: tool, Problems: []Problem{{Rule: fmt.Sprintf("arguments must be a JSON object, got %s", jsonKind(inst))}}}
	}
	if schema == nil {
		return nil
	}
	err = schema.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return &ArgumentError{Tool: tool, Problems: []Problem{{Rule: err.Error()}}}
	}
	return &ArgumentError{Tool: tool, Problems: leafProblems(ve)}
}

// leafProblems flattens a validation error tree into its leaves, which carry
// the most precise location and rule.
func leafProblems(ve *jsonschema.ValidationError) []Problem {
	var out []Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) == 0 {
			p := Problem{Path: pointer(e.InstanceLocation), Rule: e.ErrorKind.LocalizedString(printer)}
			if kw := strings.Join(e.ErrorKind.KeywordPath(), "/"); kw != "" && !strings.HasPrefix(p.Rule, kw) {
				p.Rule = kw + ": " + p.Rule
			}
			out = append(out, p)
			return
		}
		for _, c := range e.Causes {
			walk(c)
		}
	}
	walk(ve)
	slices.SortStableFunc(out, func(a, b Problem) int { return strings.Compare(a.Path, b.Path) })
	return slices.Compact(out)
}

// isObjectDoc reports whether the first non-space byte is '{'.
func isObjectDoc(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return true
		}
		return false
	}
	return false
}

func pointer(loc []string) string {
	if len(loc) == 0 {
		return ""
	}
	var b strings.Builder
	for _, p := range loc {
		b.WriteByte('/')
		b.WriteString(strings.ReplaceAll(strings.ReplaceAll(p, "~", "~0"), "/", "~1"))
	}
	return b.String()
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return "number"
	}
}
