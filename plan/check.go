package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/internal/suggest"
)

// Check validates a plan against a catalog snapshot and returns every
// problem at once (nil when the plan is runnable), each with its JSON path
// and, for parsed plans, line:col:
//
//   - unknown tools; literal arguments violating a tool's input schema
//     (a reference stands in for any value, and is checked for its type
//     where the type is knowable);
//   - references to unknown steps, inputs or fields; item/index outside
//     foreach; malformed references;
//   - dependency cycles, reported with the cycle's path ("a -> b -> a");
//   - foreach over something that is not a list;
//   - when conditions that do not compile or do not yield a bool;
//   - where the producing tool declares an output schema: references into
//     fields it does not have, and types that do not fit the consuming
//     tool's input schema.
//
// snap may be nil: then only the checks that need no catalog run. The
// plan is also held to the default Limits (see CheckWithin).
func Check(snap *catalog.View, p *Plan) []Problem {
	return CheckWithin(snap, p, Limits{})
}

// CheckWithin is Check with the limits an executor holds runs to: a plan
// with more steps, deeper nesting or longer literal foreach lists than
// they allow, or a condition that always costs more than the limit, is
// reported (code limit_exceeded) before it runs.
func CheckWithin(snap *catalog.View, p *Plan, l Limits) []Problem {
	c, probs := compile(p, "")
	probs = append(probs, checkCatalog(snap, c)...)
	probs = append(probs, l.withDefaults().check(c)...)
	return finishProblems(p, probs)
}

// Validate parses a plan document and checks it, returning the plan (nil
// if it did not parse) and every problem found by either step — what
// `weft plan check` and POST /v1/plans/validate report.
func Validate(snap *catalog.View, data []byte) (*Plan, []Problem) {
	p, err := Parse(data)
	if err != nil {
		var pe *ProblemsError
		if errors.As(err, &pe) {
			return nil, pe.Problems
		}
		return nil, []Problem{{Code: ProblemInvalid, Message: err.Error()}}
	}
	return p, Check(snap, p)
}

func finishProblems(p *Plan, probs []Problem) []Problem {
	if len(probs) == 0 {
		return nil
	}
	p.src.locate(probs)
	slices.SortStableFunc(probs, func(a, b Problem) int {
		if a.Line != b.Line {
			return a.Line - b.Line
		}
		return strings.Compare(a.Path, b.Path)
	})
	return slices.Compact(probs)
}

// checkCatalog runs the checks that need the tools' schemas.
func checkCatalog(snap *catalog.View, c *compiled) []Problem {
	var probs []Problem
	for _, cs := range c.steps {
		if cs.sub != nil {
			probs = append(probs, checkCatalog(snap, cs.sub)...)
		}
		if cs.Tool != "" && snap != nil {
			if _, ok := snap.Get(cs.Tool); !ok {
				probs = append(probs, Problem{Path: joinKey(cs.path, "tool"), Code: ProblemUnknownTool,
					Message: fmt.Sprintf("no tool %q in the catalog%s", cs.Tool, suggestTool(snap, cs.Tool))})
			} else {
				probs = append(probs, checkArgs(snap, c, cs)...)
			}
		}
		for _, l := range cs.refs {
			if strings.HasPrefix(l.path, joinKey(cs.path, "args")) {
				continue // checked with the arguments
			}
			_, ps := refSchema(snap, c, cs, l.ref, l.path)
			probs = append(probs, ps...)
		}
		if f, ok := cs.Foreach.(string); ok {
			if t, err := parseTemplate(f); err == nil && t.whole != nil {
				s, _ := refSchema(snap, c, cs, t.whole, "")
				if ts := s.types(); ts != nil && !slices.Contains(ts, "array") {
					probs = append(probs, Problem{Path: joinKey(cs.path, "foreach"), Code: ProblemForeachNotList,
						Message: fmt.Sprintf("foreach over {{%s}}, which is %s, not a list", t.whole.raw, strings.Join(ts, " or "))})
				}
			}
		}
	}
	return probs
}

func suggestTool(snap *catalog.View, name string) string {
	var names []string
	for _, t := range snap.Tools() {
		names = append(names, t.Name)
	}
	best := suggest.Closest(name, names)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// refSchema infers the schema of a reference's value (unknown when it
// cannot), reporting references into fields the producer does not have.
func refSchema(snap *catalog.View, c *compiled, cs *cstep, r *ref, path string) (schemaNode, []Problem) {
	var start schemaNode
	var owner string
	switch r.root {
	case rootSteps:
		d, ok := c.byID[r.step]
		if !ok {
			return schemaNode{}, nil // reported by compile
		}
		switch r.field {
		case "status":
			start = schemaOfType("string")
		case "attempts":
			start = schemaOfType("integer")
		case "result":
			switch {
			case d.Tool != "" && snap != nil:
				if t, ok := snap.Get(d.Tool); ok && len(t.OutputSchema) > 0 {
					start = newSchemaNode(t.OutputSchema)
					owner = fmt.Sprintf("the output schema of %s (step %q)", t.Name, d.ID)
				}
			case d.Plan != nil && len(r.path) > 0 && !r.path[0].isIndex && d.Foreach == nil:
				if _, ok := d.Plan.Outputs[r.path[0].key]; !ok {
					return schemaNode{}, []Problem{{Path: path, Code: ProblemUnknownField,
						Message: fmt.Sprintf("{{%s}}: the nested plan of step %q has no output %q; it has: %s", r.raw, d.ID, r.path[0].key, strings.Join(sortedKeys(d.Plan.Outputs), ", "))}}
				}
			}
			if start.known() && d.Foreach != nil {
				m := map[string]any{"type": "array", "items": start.node}
				start = schemaNode{root: start.root, node: m}
			}
		}
	case rootInputs:
		if c.inSpec != nil {
			start = schemaNode{root: c.inSpec, node: deref(c.inSpec, c.inSpec)}
			owner = "the plan's inputs schema"
		}
	case rootIndex:
		return schemaOfType("integer"), nil
	case rootItem:
		if cs == nil {
			return schemaNode{}, nil
		}
		f, _ := cs.Foreach.(string)
		t, err := parseTemplate(f)
		if err != nil || t.whole == nil || t.whole.root == rootItem {
			return schemaNode{}, nil
		}
		list, _ := refSchema(snap, c, cs, t.whole, "")
		start, _ = list.child(segment{isIndex: true})
		owner = fmt.Sprintf("the elements of {{%s}}", t.whole.raw)
	}
	cur := start
	for i, seg := range r.path {
		next, res := cur.child(seg)
		if res == childMissing && r.root == rootInputs && i == 0 {
			return schemaNode{}, nil // an undeclared input: reported by compile
		}
		if res == childMissing {
			what := fmt.Sprintf("field %q", seg.key)
			if seg.isIndex {
				what = fmt.Sprintf("element [%d]", seg.index)
			}
			msg := fmt.Sprintf("{{%s}}: %s has no %s", r.raw, owner, what)
			if i > 0 {
				msg = fmt.Sprintf("{{%s}}: in %s, %s has no %s", r.raw, owner, strings.TrimPrefix(pathText(r.path[:i]), "."), what)
			}
			if !seg.isIndex {
				if ts := cur.types(); ts == nil || slices.Contains(ts, "object") {
					msg += "; it has: " + cur.fieldNames()
				} else {
					msg += " (it is " + strings.Join(ts, " or ") + ")"
				}
			}
			return schemaNode{}, []Problem{{Path: path, Code: ProblemUnknownField, Message: msg}}
		}
		cur = next
	}
	return cur, nil
}

func pathText(segs []segment) string {
	var b strings.Builder
	for _, s := range segs {
		b.WriteString(s.String())
	}
	return b.String()
}

// checkArgs validates a tool step's literal arguments against the tool's
// input schema, and the known types of referenced values against the
// schema at the position they are used.
func checkArgs(snap *catalog.View, c *compiled, cs *cstep) []Problem {
	tool, _ := snap.Get(cs.Tool)
	argsPath := joinKey(cs.path, "args")
	var probs []Problem
	var masked []string
	input := newSchemaNode(tool.InputSchema)
	var build func(v any, path string, sch schemaNode) any
	build = func(v any, path string, sch schemaNode) any {
		switch x := v.(type) {
		case string:
			t, err := parseTemplate(x)
			if err != nil || t.literal() {
				return x
			}
			masked = append(masked, path)
			var produced []string
			if t.whole != nil {
				s, ps := refSchema(snap, c, cs, t.whole, path)
				probs = append(probs, ps...)
				produced = s.types()
			} else {
				for _, r := range t.refs() {
					_, ps := refSchema(snap, c, cs, r, path)
					probs = append(probs, ps...)
				}
				produced = []string{"string"}
			}
			if consumed := sch.types(); produced != nil && consumed != nil && !typesCompatible(produced, consumed) {
				what := "{{" + x + "}}"
				if t.whole != nil {
					what = "{{" + t.whole.raw + "}}"
				} else {
					what = fmt.Sprintf("the interpolated string %q", x)
				}
				probs = append(probs, Problem{Path: path, Code: ProblemTypeMismatch,
					Message: fmt.Sprintf("%s is %s, but %s wants %s here", what, strings.Join(produced, " or "), tool.Name, strings.Join(consumed, " or "))})
			}
			if t.whole != nil {
				return nil
			}
			return ""
		case map[string]any:
			out := make(map[string]any, len(x))
			for k, e := range x {
				seg := segment{key: k}
				child, _ := sch.child(seg)
				out[k] = build(e, joinKey(path, k), child)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				seg := segment{index: i, isIndex: true}
				child, _ := sch.child(seg)
				out[i] = build(e, joinIndex(path, i), child)
			}
			return out
		}
		return v
	}
	args := build(map[string]any(cs.Args), argsPath, input)
	raw, err := json.Marshal(args)
	if err != nil {
		return append(probs, Problem{Path: argsPath, Code: ProblemInvalidArgs, Message: err.Error()})
	}
	verr := snap.Validate(cs.Tool, raw)
	var ae *catalog.ArgumentError
	if errors.As(verr, &ae) {
		for _, ap := range ae.Problems {
			p := pointerToPath(argsPath, ap.Path)
			if isMasked(p, masked) {
				continue
			}
			probs = append(probs, Problem{Path: p, Code: ProblemInvalidArgs,
				Message: fmt.Sprintf("%s: %s", tool.Name, ap.Rule)})
		}
	}
	return probs
}

func isMasked(p string, masked []string) bool {
	for _, m := range masked {
		if p == m || strings.HasPrefix(p, m+".") || strings.HasPrefix(p, m+"[") {
			return true
		}
	}
	return false
}
