package plan

import (
	"encoding/json"
	"strconv"
	"strings"
)

// isLegacy reports whether a plan document is in the legacy format: it has
// no "version" and has request_id or final_synthesis at the top level, or a
// step using one of the legacy step fields.
func isLegacy(m map[string]any) bool {
	if _, ok := m["version"]; ok {
		return false // weft's format (converted legacy plans carry version too)
	}
	if _, ok := m["request_id"]; ok {
		return true
	}
	if _, ok := m["final_synthesis"]; ok {
		return true
	}
	steps, _ := m["steps"].([]any)
	for _, s := range steps {
		sm, _ := s.(map[string]any)
		for _, k := range []string{"input", "retry_policy", "run_if", "timeout_s"} {
			if _, ok := sm[k]; ok {
				return true
			}
		}
	}
	return false
}

var legacyStepFields = []string{"id", "description", "tool", "input", "depends_on", "retry_policy", "idempotency_key", "run_if", "timeout_s"}

// legacyPlan converts a legacy plan:
//
//	request_id           -> Plan.RequestID (data)
//	final_synthesis      -> Plan.FinalSynthesis (data, verbatim)
//	steps[].input        -> args; "step:<id>" -> "{{steps.<id>.result}}",
//	                        "step:<id>.a.b" -> "{{steps.<id>.result.a.b}}"
//	steps[].retry_policy -> retry {attempts: retries+1, backoff: backoff_s,
//	                        on: default codes + tool_error}
//	steps[].run_if       -> when (CEL; "step:<id>" becomes steps["<id>"].result,
//	                        and/or/not/True/False/None become &&/||/!/true/false/null)
//	steps[].timeout_s    -> timeout
//
// Unknown fields are reported like in the native format.
func (d *decoder) legacyPlan(m map[string]any) *Plan {
	p := &Plan{Version: "1"}
	d.fields(m, "", "request_id", "steps", "final_synthesis", "name", "description")
	if v, ok := m["request_id"]; ok {
		switch x := v.(type) {
		case json.Number:
			p.RequestID = x.String()
		default:
			p.RequestID = d.str(v, "request_id")
		}
	}
	if v, ok := m["name"]; ok {
		p.Name = d.str(v, "name")
	}
	if v, ok := m["description"]; ok {
		p.Description = d.str(v, "description")
	}
	if v, ok := m["final_synthesis"]; ok {
		p.FinalSynthesis, _ = json.Marshal(v)
	}
	if p.Name == "" && p.RequestID != "" {
		p.Name = p.RequestID
	}
	arr, ok := m["steps"].([]any)
	if !ok || len(arr) == 0 {
		d.add("steps", ProblemInvalid, "want a non-empty list of steps, got %s", kindOf(m["steps"]))
		return p
	}
	ids := map[string]bool{}
	for _, e := range arr {
		if sm, ok := e.(map[string]any); ok {
			if id, ok := sm["id"].(string); ok {
				ids[id] = true
			}
		}
	}
	seen := map[string]int{}
	for i, e := range arr {
		ip := joinIndex("steps", i)
		sm, ok := e.(map[string]any)
		if !ok {
			d.add(ip, ProblemInvalid, "want a step object, got %s", kindOf(e))
			continue
		}
		s := d.legacyStep(sm, ip, ids)
		if s.ID != "" {
			if j, dup := seen[s.ID]; dup {
				d.add(joinKey(ip, "id"), ProblemDuplicateID, "step id %q is already used by steps[%d]", s.ID, j)
			} else {
				seen[s.ID] = i
			}
		}
		p.Steps = append(p.Steps, s)
	}
	return p
}

func (d *decoder) legacyStep(m map[string]any, path string, ids map[string]bool) *Step {
	s := &Step{}
	d.fields(m, path, legacyStepFields...)
	if v, ok := m["id"]; !ok {
		d.add(path, ProblemInvalid, "missing field \"id\"")
	} else {
		if n, ok := v.(json.Number); ok {
			v = n.String()
		}
		if s.ID = d.str(v, joinKey(path, "id")); s.ID != "" && !stepIDPattern.MatchString(s.ID) {
			d.add(joinKey(path, "id"), ProblemInvalid, "step id %q must match %s", s.ID, stepIDPattern)
		}
	}
	if v, ok := m["tool"]; ok {
		s.Tool = d.str(v, joinKey(path, "tool"))
	}
	if s.Tool == "" {
		d.add(path, ProblemInvalid, "a legacy step needs a non-empty \"tool\"")
	}
	s.Args = map[string]any{}
	if v, ok := m["input"]; ok {
		if in := d.object(v, joinKey(path, "input")); in != nil {
			s.Args = legacyRefs(in, ids).(map[string]any)
		}
	}
	if v, ok := m["description"]; ok {
		s.Description = d.str(v, joinKey(path, "description"))
	}
	if v, ok := m["depends_on"]; ok {
		if str, ok := v.(string); ok {
			s.DependsOn = []string{str}
		} else {
			s.DependsOn = d.strings(v, joinKey(path, "depends_on"))
		}
	}
	if v, ok := m["idempotency_key"]; ok {
		s.IdempotencyKey = d.str(v, joinKey(path, "idempotency_key"))
	}
	if v, ok := m["timeout_s"]; ok {
		s.Timeout = d.duration(v, joinKey(path, "timeout_s"))
	}
	if v, ok := m["run_if"]; ok && v != nil {
		switch x := v.(type) {
		case bool:
			s.When = strconv.FormatBool(x)
		default:
			s.When = legacyCondition(d.str(v, joinKey(path, "run_if")), ids)
		}
	}
	if v, ok := m["retry_policy"]; ok && v != nil {
		rp := joinKey(path, "retry_policy")
		if rm := d.object(v, rp); rm != nil {
			d.fields(rm, rp, "retries", "backoff_s")
			r := &Retry{Attempts: 1, On: append(append([]string{}, DefaultRetryOn...), CodeToolError)}
			if n, ok := rm["retries"]; ok {
				r.Attempts = d.integer(n, joinKey(rp, "retries"), 0) + 1
			}
			if b, ok := rm["backoff_s"]; ok {
				r.Backoff = d.duration(b, joinKey(rp, "backoff_s"))
			}
			s.Retry = r
		}
	}
	return s
}

// legacyRefs rewrites "step:<id>" whole-output references (and
// "step:<id>.path") into weft references, recursively.
func legacyRefs(v any, ids map[string]bool) any {
	switch x := v.(type) {
	case string:
		if ref, ok := legacyRef(x, ids); ok {
			return "{{" + ref + "}}"
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = legacyRefs(e, ids)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = legacyRefs(e, ids)
		}
		return out
	}
	return v
}

// legacyRef converts "step:<id>[.path]" to "steps.<id>.result[.path]" when
// <id> is a step of the plan.
func legacyRef(s string, ids map[string]bool) (string, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), "step:")
	if !ok {
		return "", false
	}
	id, path := rest, ""
	if i := strings.IndexAny(rest, ".["); i >= 0 {
		id, path = rest[:i], rest[i:]
	}
	if !ids[id] {
		return "", false
	}
	return "steps." + id + ".result" + path, true
}

// legacyCondition turns a legacy run_if expression into CEL.
func legacyCondition(expr string, ids map[string]bool) string {
	var b strings.Builder
	words := map[string]string{"and": "&&", "or": "||", "not": "!", "True": "true", "False": "false", "None": "null"}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(expr) && expr[j] != c {
				if expr[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(expr))
			b.WriteString(expr[i:j])
			i = j
		case isWordByte(c):
			j := i
			for j < len(expr) && isWordByte(expr[j]) {
				j++
			}
			word := expr[i:j]
			if word == "step" && j < len(expr) && expr[j] == ':' {
				k := j + 1
				for k < len(expr) && (isWordByte(expr[k]) || expr[k] == '-') {
					k++
				}
				if id := expr[j+1 : k]; ids[id] {
					b.WriteString(`steps["` + id + `"].result`)
					i = k
					continue
				}
			}
			if r, ok := words[word]; ok {
				b.WriteString(r)
			} else {
				b.WriteString(word)
			}
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
