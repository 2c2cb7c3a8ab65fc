package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/internal/suggest"
)

// decoder turns a node tree into configuration values, recording where
// each value came from and every problem it meets. It never stops at the
// first problem.
type decoder struct {
	file   string
	env    func(string) (string, bool)
	probs  *problems
	orig   *origins
	strict bool // unknown keys are problems (weft.yaml) or ignored (mcp.json)
}

// field is one known key of a mapping and how to decode its value.
type field struct {
	name string
	dec  func(n *node)
}

func (d *decoder) problem(line int, p fpath, msg string) {
	d.orig.broken[p.key] = true
	d.probs.add(Problem{File: d.file, Line: line, Path: p.show, Msg: msg})
}

// object decodes a mapping with known fields. A null node is an empty
// mapping. Duplicate keys are problems; unknown keys are problems when
// the decoder is strict.
func (d *decoder) object(n *node, p fpath, fields []field, allowedNote string) {
	if !d.isMap(n, p) {
		return
	}
	seen := map[string]int{}
	for _, kv := range n.pairs {
		cp := p.child(kv.key, kv.key)
		if first, dup := seen[kv.key]; dup {
			d.problem(kv.line, cp, fmt.Sprintf("duplicate key (first at line %d)", first))
			continue
		}
		seen[kv.key] = kv.line
		f := findField(fields, kv.key)
		if f == nil {
			if d.strict {
				d.problem(kv.line, cp, unknownField(kv.key, fields, allowedNote))
			}
			continue
		}
		// Where the key is; a scalar's decoder refines this to its value.
		d.orig.at[cp.key] = origin{File: d.file, Line: kv.line, Path: cp.show}
		f.dec(kv.val)
	}
}

// isMap reports whether n is a mapping, reporting a problem when it is
// neither a mapping nor null.
func (d *decoder) isMap(n *node, p fpath) bool {
	switch n.kind {
	case kindMap:
		return true
	case kindNull:
		return false
	}
	d.problem(n.line, p, "expected a mapping, got "+n.describe())
	return false
}

func findField(fields []field, name string) *field {
	for i := range fields {
		if fields[i].name == name {
			return &fields[i]
		}
	}
	return nil
}

func unknownField(key string, fields []field, note string) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	best := suggest.Closest(strings.ToLower(key), names)
	msg := "unknown field"
	if best != "" {
		msg += fmt.Sprintf(`; did you mean %q?`, best)
	}
	allowed := strings.Join(names, ", ")
	if note != "" {
		allowed += ", " + note
	}
	return msg + " (allowed: " + allowed + ")"
}

// scalar returns the ${VAR}-expanded text of a scalar node and records its
// origin. ok is false for null (no problem) and for a problem (reported).
// want names the expected type for "expected X, got Y".
func (d *decoder) scalar(n *node, p fpath, want string, secret bool) (string, bool) {
	switch n.kind {
	case kindNull:
		return "", false
	case kindMap, kindSeq:
		d.problem(n.line, p, fmt.Sprintf("expected %s, got %s", want, n.describe()))
		return "", false
	}
	v, changed, err := expand(n.text, d.env)
	if err != nil {
		if secret {
			d.problem(n.line, p, err.Error())
		} else {
			d.problem(n.line, p, quote(n.text)+": "+err.Error())
		}
		return "", false
	}
	d.orig.at[p.key] = origin{File: d.file, Line: n.line, Path: p.show, Raw: n.text, Expanded: changed, Secret: secret}
	return v, true
}

// bad reports a value that does not parse, quoting it as written.
func (d *decoder) bad(n *node, p fpath, msg string) {
	d.problem(n.line, p, quote(n.text)+": "+msg)
}

func (d *decoder) str(n *node, p fpath, dst *string) {
	if v, ok := d.scalar(n, p, "a string", false); ok {
		*dst = v
	}
}

func (d *decoder) strList(n *node, p fpath, dst *[]string) {
	switch n.kind {
	case kindNull:
		return
	case kindSeq:
	default:
		d.problem(n.line, p, "expected a list of strings, got "+n.describe())
		return
	}
	out := make([]string, 0, len(n.items))
	for i, it := range n.items {
		if it.kind == kindNull {
			d.problem(it.line, p.index(i), "expected a string, got nothing (null)")
			continue
		}
		if v, ok := d.scalar(it, p.index(i), "a string", false); ok {
			out = append(out, v)
		}
	}
	*dst = out
}

// secretMap decodes a string-to-string mapping whose values are secrets
// (env, headers): problems never quote a value.
func (d *decoder) secretMap(n *node, p fpath, dst *map[string]string) {
	if !d.isMap(n, p) {
		return
	}
	out := make(map[string]string, len(n.pairs))
	seen := map[string]int{}
	for _, kv := range n.pairs {
		cp := p.child(kv.key, kv.key)
		if first, dup := seen[kv.key]; dup {
			d.problem(kv.line, cp, fmt.Sprintf("duplicate key (first at line %d)", first))
			continue
		}
		seen[kv.key] = kv.line
		if kv.val.kind == kindNull {
			out[kv.key] = ""
			d.orig.at[cp.key] = origin{File: d.file, Line: kv.line, Path: cp.show, Secret: true}
			continue
		}
		if v, ok := d.scalar(kv.val, cp, "a string", true); ok {
			out[kv.key] = v
		}
	}
	*dst = out
}

func (d *decoder) duration(n *node, p fpath, dst *Duration) {
	v, ok := d.scalar(n, p, "a duration", false)
	if !ok {
		return
	}
	dur, err := ParseDuration(v)
	if err != nil {
		d.bad(n, p, durationHint)
		return
	}
	*dst = dur
}

func (d *decoder) integer(n *node, p fpath, dst *int) {
	var v int64
	if d.int64(n, p, &v) {
		*dst = int(v)
	}
}

func (d *decoder) int64(n *node, p fpath, dst *int64) bool {
	s, ok := d.scalar(n, p, "an integer", false)
	if !ok {
		return false
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		d.bad(n, p, "not an integer")
		return false
	}
	*dst = v
	return true
}

func (d *decoder) number(n *node, p fpath, dst *float64) {
	s, ok := d.scalar(n, p, "a number", false)
	if !ok {
		return
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.bad(n, p, "not a number (e.g. 0.3)")
		return
	}
	*dst = v
}

func (d *decoder) boolean(n *node, p fpath) (bool, bool) {
	s, ok := d.scalar(n, p, "true or false", false)
	if !ok {
		return false, false
	}
	switch strings.TrimSpace(s) {
	case "true", "True", "TRUE":
		return true, true
	case "false", "False", "FALSE":
		return false, true
	}
	d.bad(n, p, "not a boolean (allowed: true, false)")
	return false, false
}
