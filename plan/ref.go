package plan

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A reference is written {{root.path}} where root is one of
//
//	steps.<id>.result|error|status|attempts   a step's outcome
//	inputs[.<name>]                           the run's inputs
//	item                                      the element in a foreach step
//	index                                     the element's position in a foreach step
//
// followed by any number of .field, ["field"] or [N] selectors. A value that
// is exactly one reference keeps the referenced JSON type; references inside
// a longer string are interpolated (strings as is, null as "", other values
// as compact JSON).

// Reference roots.
const (
	rootSteps  = "steps"
	rootInputs = "inputs"
	rootItem   = "item"
	rootIndex  = "index"
)

// Step fields a reference may select.
var stepRefFields = []string{"result", "error", "status", "attempts"}

type segment struct {
	key     string
	index   int
	isIndex bool
}

func (s segment) String() string {
	if s.isIndex {
		return "[" + strconv.Itoa(s.index) + "]"
	}
	if plainKey(s.key) {
		return "." + s.key
	}
	return "[" + strconv.Quote(s.key) + "]"
}

// ref is one parsed reference.
type ref struct {
	raw   string
	root  string
	step  string    // rootSteps: the step id
	field string    // rootSteps: result, error, status or attempts
	path  []segment // selectors after root (inputs: the first is the input name) or after field
}

func (r *ref) String() string { return r.raw }

// parseRef parses the text between {{ and }}.
func parseRef(text string) (*ref, error) {
	r := new(refBuf)
	if err := parseRefInto(r, text); err != nil {
		return nil, err
	}
	return &r.ref, nil
}

// refBuf is a reference with room for a one-selector path, so that
// parsing one ({{steps.a.result}}, {{inputs.x}}, {{item.id}}) is one
// allocation.
type refBuf struct {
	ref
	tail [1]segment
}

// keepPath stores p (parsed into a temporary buffer) as the reference's
// path: in rb's room when it fits, else in a copy.
func (rb *refBuf) keepPath(p []segment) []segment {
	if len(p) <= len(rb.tail) {
		n := copy(rb.tail[:], p)
		return rb.tail[:n:n]
	}
	return slices.Clone(p)
}

// parseRefInto is parseRef into r.
func parseRefInto(rb *refBuf, text string) error {
	r := &rb.ref
	raw := strings.TrimSpace(text)
	var tmp [8]segment // the selectors while parsing (not kept)
	segs, err := appendSelectors(tmp[:0], raw)
	if err != nil {
		return fmt.Errorf("reference {{%s}}: %w", raw, err)
	}
	*r = ref{raw: raw, root: segs[0].key}
	rest := segs[1:]
	switch r.root {
	case rootSteps:
		if len(rest) < 2 || rest[0].isIndex || rest[1].isIndex {
			return fmt.Errorf("reference {{%s}}: want steps.<id>.result (or .error, .status, .attempts)", raw)
		}
		r.step, r.field = rest[0].key, rest[1].key
		if !contains(stepRefFields, r.field) {
			return fmt.Errorf("reference {{%s}}: a step has no field %q; allowed: %s", raw, r.field, strings.Join(stepRefFields, ", "))
		}
		r.path = rb.keepPath(rest[2:])
	case rootInputs, rootItem:
		r.path = rb.keepPath(rest)
	case rootIndex:
		if len(rest) > 0 {
			return fmt.Errorf("reference {{%s}}: index is a number and has no fields", raw)
		}
	default:
		return fmt.Errorf("reference {{%s}}: unknown root %q; allowed: steps, inputs, item, index", raw, r.root)
	}
	return nil
}

// appendSelectors splits "a.b[0]['c']" into segments (the first is a
// name), appending them to out (a caller's buffer; nil: one sized for s).
func appendSelectors(out []segment, s string) ([]segment, error) {
	if out == nil {
		out = make([]segment, 0, 1+strings.Count(s, ".")+strings.Count(s, "["))
	}
	i := 0
	ident := func() (string, error) {
		j := i
		for j < len(s) && (s[j] == '_' || s[j] == '-' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j == i {
			return "", fmt.Errorf("expected a name at offset %d", i)
		}
		name := s[i:j]
		i = j
		return name, nil
	}
	name, err := ident()
	if err != nil {
		return nil, err
	}
	out = append(out, segment{key: name})
	for i < len(s) {
		switch s[i] {
		case '.':
			i++
			name, err := ident()
			if err != nil {
				return nil, err
			}
			out = append(out, segment{key: name})
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("unclosed [ at offset %d", i)
			}
			inner := strings.TrimSpace(s[i+1 : i+end])
			i += end + 1
			if len(inner) >= 2 && (inner[0] == '"' || inner[0] == '\'') && inner[len(inner)-1] == inner[0] {
				key := inner[1 : len(inner)-1]
				if inner[0] == '"' {
					if k, err := strconv.Unquote(inner); err == nil {
						key = k
					}
				}
				out = append(out, segment{key: key})
				continue
			}
			n, err := strconv.Atoi(inner)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("want [N] with N >= 0 or [\"key\"], got [%s]", inner)
			}
			out = append(out, segment{index: n, isIndex: true})
		default:
			return nil, fmt.Errorf("unexpected %q at offset %d", s[i], i)
		}
	}
	return out, nil
}

// template is a parsed string value: a literal, exactly one reference, or
// literal text with interpolated references.
type template struct {
	whole *ref
	parts []tpart // interpolation; nil for a literal or a whole reference
}

type tpart struct {
	lit string
	ref *ref
}

func (t *template) literal() bool { return t.whole == nil && t.parts == nil }

// eachRef calls fn for every reference of t, in order, without the slice
// refs builds.
func (t *template) eachRef(fn func(*ref)) {
	if t.whole != nil {
		fn(t.whole)
		return
	}
	for _, p := range t.parts {
		if p.ref != nil {
			fn(p.ref)
		}
	}
}

func (t *template) refs() []*ref {
	if t.whole != nil {
		return []*ref{t.whole}
	}
	var out []*ref
	for _, p := range t.parts {
		if p.ref != nil {
			out = append(out, p.ref)
		}
	}
	return out
}

// parseTemplate parses a string that may hold {{references}}.
func parseTemplate(s string) (*template, error) {
	if !strings.Contains(s, "{{") {
		return &template{}, nil
	}
	n := strings.Count(s, "{{")
	if n == 1 && strings.HasPrefix(s, "{{") && strings.Index(s, "}}") == len(s)-2 {
		// Exactly one reference, nothing else: the template and its
		// reference in one allocation.
		w := new(struct {
			t template
			r refBuf
		})
		if err := parseRefInto(&w.r, s[2:len(s)-2]); err != nil {
			return nil, err
		}
		w.t.whole = &w.r.ref
		return &w.t, nil
	}
	var parts []tpart
	var one *refBuf // n == 1: the reference, allocated with the template
	var t *template
	if n == 1 {
		// One reference (the usual case): template, parts and reference
		// in one allocation.
		w := new(struct {
			t template
			p [3]tpart
			r refBuf
		})
		t, parts, one = &w.t, w.p[:0], &w.r
	} else {
		t, parts = new(template), make([]tpart, 0, 2*n+1)
	}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				parts = append(parts, tpart{lit: rest})
			}
			break
		}
		j := strings.Index(rest[i+2:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed {{ in %q", s)
		}
		r := one
		one = nil
		if r == nil {
			r = new(refBuf)
		}
		if err := parseRefInto(r, rest[i+2:i+2+j]); err != nil {
			return nil, err
		}
		if i > 0 {
			parts = append(parts, tpart{lit: rest[:i]})
		}
		parts = append(parts, tpart{ref: &r.ref})
		rest = rest[i+2+j+2:]
	}
	if len(parts) == 1 && parts[0].ref != nil {
		t.whole = parts[0].ref
		return t, nil
	}
	t.parts = parts
	return t, nil
}

// walkStrings calls fn for every string in a decoded JSON value, with its path.
func walkStrings(v any, path string, fn func(s, path string)) {
	switch x := v.(type) {
	case string:
		fn(x, path)
	case map[string]any:
		for k, e := range x {
			walkStrings(e, joinKey(path, k), fn)
		}
	case []any:
		for i, e := range x {
			walkStrings(e, joinIndex(path, i), fn)
		}
	}
}

// resolver looks up the values references point at.
type resolver interface {
	// lookup returns the value of a reference's root (and, for steps, field).
	lookup(r *ref) (any, error)
}

// resolve evaluates a reference.
func resolve(res resolver, r *ref) (any, error) {
	v, err := res.lookup(r)
	if err != nil {
		return nil, err
	}
	return selectPath(v, r.path, r.raw)
}

// selectPath follows selectors into a value.
func selectPath(v any, path []segment, raw string) (any, error) {
	for i, s := range path {
		switch x := v.(type) {
		case map[string]any:
			if s.isIndex {
				return nil, fmt.Errorf("{{%s}}: %s is an object, not a list", raw, prefixText(raw, path, i))
			}
			e, ok := x[s.key]
			if !ok {
				return nil, fmt.Errorf("{{%s}}: %s has no field %q", raw, prefixText(raw, path, i), s.key)
			}
			v = e
		case []any:
			if !s.isIndex {
				return nil, fmt.Errorf("{{%s}}: %s is a list, not an object (no field %q)", raw, prefixText(raw, path, i), s.key)
			}
			if s.index >= len(x) {
				return nil, fmt.Errorf("{{%s}}: index %d is out of range (the list has %d elements)", raw, s.index, len(x))
			}
			v = x[s.index]
		default:
			return nil, fmt.Errorf("{{%s}}: %s is %s, which has no %s", raw, prefixText(raw, path, i), kindOf(v), strings.TrimPrefix(s.String(), "."))
		}
	}
	return v, nil
}

// prefixText names the value reached after path[:i] for messages.
func prefixText(raw string, path []segment, i int) string {
	var b strings.Builder
	for _, s := range path[:i] {
		b.WriteString(s.String())
	}
	if b.Len() == 0 {
		return "the value"
	}
	return "the value at " + strings.TrimPrefix(b.String(), ".")
}

// render replaces references in a decoded JSON value.
func render(v any, res resolver) (any, error) {
	switch x := v.(type) {
	case string:
		t, err := parseTemplate(x)
		if err != nil {
			return nil, err
		}
		return renderTemplate(x, t, res)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			r, err := render(e, res)
			if err != nil {
				return nil, err
			}
			out[k] = r
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			r, err := render(e, res)
			if err != nil {
				return nil, err
			}
			out[i] = r
		}
		return out, nil
	}
	return v, nil
}

func renderTemplate(s string, t *template, res resolver) (any, error) {
	if t.literal() {
		return s, nil
	}
	if t.whole != nil {
		return resolve(res, t.whole)
	}
	var b strings.Builder
	for _, p := range t.parts {
		if p.ref == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := resolve(res, p.ref)
		if err != nil {
			return nil, err
		}
		b.WriteString(interpolate(v))
	}
	return b.String(), nil
}

// interpolate formats a value for use inside a longer string.
func interpolate(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}
