package plan

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/internal/suggest"
)

// compiled is a plan prepared for checking and execution: references
// parsed, dependencies (declared and implied) resolved, conditions
// compiled, nested plans compiled.
type compiled struct {
	plan    *Plan
	path    string // JSON path of the plan in its document ("" or "steps[2].plan")
	steps   []*cstep
	byID    map[string]*cstep
	inputs  *jsonschema.Schema // nil: no inputs declared
	inSpec  map[string]any     // the inputs schema, decoded
	outputs map[string]any

	depPool []*cstep  // chunks the steps' deps are carved from (carve)
	refPool []located // chunks the steps' refs are carved from
}

// cstep is a compiled step.
type cstep struct {
	*Step
	index      int
	path       string // "steps[3]"
	deps       []*cstep
	dependants []*cstep
	when       *condition
	sub        *compiled // nested plan
	refs       []located // every reference in args, inputs, foreach, idempotency_key
	args       argTmpl   // a tool step's arguments, compiled (argtmpl.go)
	argsOK     bool      // args is usable; else they render the general way
}

// located is a reference found at a JSON path.
type located struct {
	ref  *ref
	path string
}

// compile prepares p; problems are everything wrong that can be known
// without a catalog (shape, references, cycles, conditions).
func compile(p *Plan, path string) (*compiled, []Problem) {
	c := &compiled{plan: p, path: path, byID: make(map[string]*cstep, len(p.Steps)), outputs: p.Outputs}
	var probs []Problem
	add := func(path, code, format string, args ...any) {
		probs = append(probs, Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	if len(p.Inputs) > 0 {
		sch, err := catalog.CompileSchema(p.Inputs)
		if err != nil {
			add(joinKey(path, "inputs"), ProblemInvalid, "not a usable JSON Schema: %v", err)
		}
		c.inputs = sch
		_ = json.Unmarshal(p.Inputs, &c.inSpec)
	}
	all := make([]cstep, len(p.Steps)) // one allocation for every step
	c.steps = make([]*cstep, 0, len(p.Steps))
	stepsPath := joinKey(path, "steps")
	for i, s := range p.Steps {
		cs := &all[i]
		*cs = cstep{Step: s, index: i, path: joinIndex(stepsPath, i)}
		c.steps = append(c.steps, cs)
		if _, dup := c.byID[s.ID]; !dup && s.ID != "" {
			c.byID[s.ID] = cs
		}
	}
	for _, cs := range c.steps {
		probs = append(probs, c.compileStep(cs)...)
	}
	// Outputs may reference any step or input.
	for _, name := range sortedKeys(p.Outputs) {
		op := joinKey(joinKey(path, "outputs"), name)
		walkStrings(p.Outputs[name], op, func(s, sp string) {
			t, err := parseTemplate(s)
			if err != nil {
				add(sp, ProblemBadReference, "%v", err)
				return
			}
			for _, r := range t.refs() {
				probs = append(probs, c.checkRefRoot(nil, r, sp)...)
			}
		})
	}
	probs = append(probs, c.cycles()...)
	return c, probs
}

func (c *compiled) compileStep(cs *cstep) []Problem {
	var probs []Problem
	add := func(path, code, format string, args ...any) {
		probs = append(probs, Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
	}
	var seen map[*cstep]bool // only for a step with many dependencies
	addDep := func(id string) {
		if id == "" {
			return
		}
		d, ok := c.byID[id]
		switch {
		case !ok:
			return
		case len(cs.deps) < 16: // few: a scan, no map
			if slices.Contains(cs.deps, d) {
				return
			}
		default:
			if seen == nil {
				seen = make(map[*cstep]bool, 2*len(cs.deps))
				for _, e := range cs.deps {
					seen[e] = true
				}
			}
			if seen[d] {
				return
			}
			seen[d] = true
		}
		cs.deps = append(cs.deps, d)
	}
	// Room for the declared dependencies and two implied ones, carved
	// from a chunk shared with other steps.
	cs.deps = carve(&c.depPool, len(cs.DependsOn)+2)
	for i, id := range cs.DependsOn {
		if _, ok := c.byID[id]; !ok {
			add(joinIndex(joinKey(cs.path, "depends_on"), i), ProblemUnknownStep, "no step has id %q%s", id, c.suggest(id))
			continue
		}
		addDep(id)
	}
	collect := func(v any, path string) {
		walkStrings(v, path, func(s, sp string) {
			t, err := parseTemplate(s)
			if err != nil {
				add(sp, ProblemBadReference, "%v", err)
				return
			}
			t.eachRef(func(r *ref) { c.addRef(cs, r, sp) })
		})
	}
	if cs.Kind() == KindTool {
		// Compiled once here: the walk that finds the references also
		// builds the template that renders the arguments to bytes.
		var segs [8]pathSeg
		cs.args, cs.argsOK = compileArgsAt(map[string]any(cs.Args), cs.path, append(segs[:0], pathSeg{key: "args"}), func(s string, t *template, err error, sp string) {
			if err != nil {
				add(sp, ProblemBadReference, "%v", err)
				return
			}
			t.eachRef(func(r *ref) { c.addRef(cs, r, sp) })
		})
	} else if cs.Args != nil {
		collect(cs.Args, joinKey(cs.path, "args"))
	}
	if cs.Inputs != nil {
		collect(cs.Inputs, joinKey(cs.path, "inputs"))
	}
	if cs.LLM != nil {
		collect(cs.LLM.Prompt, joinKey(joinKey(cs.path, "llm"), "prompt"))
	}
	if cs.IdempotencyKey != "" {
		collect(cs.IdempotencyKey, joinKey(cs.path, "idempotency_key"))
	}
	if cs.Foreach != nil {
		fp := joinKey(cs.path, "foreach")
		switch f := cs.Foreach.(type) {
		case []any:
			collect(f, fp)
		case string:
			t, err := parseTemplate(f)
			switch {
			case err != nil:
				add(fp, ProblemBadReference, "%v", err)
			case t.whole == nil:
				add(fp, ProblemForeachNotList, "foreach wants a list or exactly one reference to a list, got the string %q", f)
			default:
				if t.whole.root == rootItem || t.whole.root == rootIndex {
					add(fp, ProblemBadReference, "foreach cannot iterate over {{%s}}", t.whole.raw)
				} else {
					cs.refs = append(cs.refs, located{ref: t.whole, path: fp})
				}
			}
		default:
			add(fp, ProblemForeachNotList, "foreach wants a list or a reference to one, got %s", kindOf(f))
		}
	}
	for _, l := range cs.refs {
		probs = append(probs, c.checkRefRoot(cs, l.ref, l.path)...)
		if l.ref.root == rootSteps {
			addDep(l.ref.step)
		}
	}
	if strings.TrimSpace(cs.When) != "" {
		wp := joinKey(cs.path, "when")
		cond, err := compileCondition(cs.When)
		if err != nil {
			add(wp, ProblemCEL, "condition does not compile: %v", err)
		} else {
			cs.when = cond
			for _, id := range cond.steps {
				if _, ok := c.byID[id]; !ok {
					add(wp, ProblemUnknownStep, "condition reads steps.%s, but no step has id %q%s", id, id, c.suggest(id))
					continue
				}
				addDep(id)
			}
			if cond.useItem && cs.Foreach == nil {
				add(wp, ProblemBadReference, "condition reads item or index, which only exist in foreach steps")
			}
		}
	}
	if cs.Plan != nil {
		sub, subProbs := compile(cs.Plan, joinKey(cs.path, "plan"))
		cs.sub = sub
		probs = append(probs, subProbs...)
	}
	return probs
}

// addRef records a reference of step cs (room for four from the first,
// carved from a chunk shared with other steps).
func (c *compiled) addRef(cs *cstep, r *ref, path string) {
	if cs.refs == nil {
		cs.refs = carve(&c.refPool, 4)
	}
	cs.refs = append(cs.refs, located{ref: r, path: path})
}

// carve returns an empty slice with room for n, cut from the chunk *pool
// (a new chunk when it is full): many small slices, few allocations. Its
// capacity ends at n, so appending past n reallocates rather than writing
// into a neighbour's room.
func carve[T any](pool *[]T, n int) []T {
	if cap(*pool)-len(*pool) < n {
		*pool = make([]T, 0, max(n, 128))
	}
	p := *pool
	*pool = p[:len(p)+n]
	return p[len(p) : len(p) : len(p)+n]
}

// checkRefRoot checks what a reference's root names exists (cs nil: an output).
func (c *compiled) checkRefRoot(cs *cstep, r *ref, path string) []Problem {
	prob := func(code, format string, args ...any) []Problem {
		return []Problem{{Path: path, Code: code, Message: fmt.Sprintf(format, args...)}}
	}
	switch r.root {
	case rootSteps:
		d, ok := c.byID[r.step]
		if !ok {
			return prob(ProblemUnknownStep, "{{%s}}: no step has id %q%s", r.raw, r.step, c.suggest(r.step))
		}
		if cs != nil && d == cs {
			return prob(ProblemCycle, "{{%s}}: a step cannot reference itself", r.raw)
		}
	case rootInputs:
		if len(r.path) == 0 {
			return nil
		}
		if c.inSpec == nil {
			return prob(ProblemUnknownInput, "{{%s}}: the plan declares no inputs (add an \"inputs\" schema)", r.raw)
		}
		if props, ok := c.inSpec["properties"].(map[string]any); ok && !r.path[0].isIndex {
			if _, ok := props[r.path[0].key]; !ok && !allowsAdditional(c.inSpec) {
				return prob(ProblemUnknownInput, "{{%s}}: the plan declares no input %q; declared: %s", r.raw, r.path[0].key, strings.Join(sortedKeys(props), ", "))
			}
		}
	case rootItem, rootIndex:
		if cs == nil || cs.Foreach == nil {
			return prob(ProblemBadReference, "{{%s}}: item and index only exist in foreach steps", r.raw)
		}
	}
	return nil
}

// suggest proposes a close step id for messages.
func (c *compiled) suggest(id string) string {
	best := suggest.Closest(id, slices.Collect(maps.Keys(c.byID)))
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// cycles finds dependency cycles and reports each once, with its path.
func (c *compiled) cycles() []Problem {
	const (
		white = iota
		grey
		black
	)
	color := make([]int8, len(c.steps)) // by cstep.index
	var stack []*cstep
	var probs []Problem
	seen := map[string]bool{}
	var visit func(s *cstep)
	visit = func(s *cstep) {
		color[s.index] = grey
		stack = append(stack, s)
		for _, d := range s.deps {
			switch color[d.index] {
			case white:
				visit(d)
			case grey:
				i := slices.Index(stack, d)
				cyc := stack[i:]
				// Report in execution order (a dependency before its
				// dependant), starting at the step that comes first in the plan.
				order := make([]*cstep, 0, len(cyc))
				for j := len(cyc) - 1; j >= 0; j-- {
					order = append(order, cyc[j])
				}
				first := 0
				for j := range order {
					if order[j].index < order[first].index {
						first = j
					}
				}
				order = append(order[first:], order[:first]...)
				ids := make([]string, 0, len(order)+1)
				for _, s := range order {
					ids = append(ids, s.ID)
				}
				key := canonicalCycle(ids)
				if !seen[key] {
					seen[key] = true
					ids = append(ids, ids[0])
					probs = append(probs, Problem{Path: order[0].path, Code: ProblemCycle,
						Message: "dependency cycle: " + strings.Join(ids, " -> ")})
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[s.index] = black
	}
	for _, s := range c.steps {
		if color[s.index] == white {
			visit(s)
		}
	}
	if len(probs) == 0 {
		// Every step's dependants in one backing array.
		counts := make([]int, len(c.steps))
		total := 0
		for _, s := range c.steps {
			for _, d := range s.deps {
				counts[d.index]++
				total++
			}
		}
		all := make([]*cstep, 0, total)
		for _, s := range c.steps {
			n := counts[s.index]
			s.dependants = all[len(all) : len(all) : len(all)+n]
			all = all[:len(all)+n]
		}
		for _, s := range c.steps {
			for _, d := range s.deps {
				d.dependants = append(d.dependants, s)
			}
		}
	}
	return probs
}

// canonicalCycle rotates a cycle to start at its smallest id.
func canonicalCycle(ids []string) string {
	m := 0
	for i := range ids {
		if ids[i] < ids[m] {
			m = i
		}
	}
	return strings.Join(append(slices.Clone(ids[m:]), ids[:m]...), "\x00")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
