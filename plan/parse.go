package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/weft-dev/weft/catalog"
)

// Parse reads a plan document. The format — weft's own or the legacy format
// of the system weft replaces (top-level request_id, steps with input,
// retry_policy, run_if, timeout_s, "step:<id>" references) — is detected
// automatically; legacy plans are converted (see Plan.Format).
//
// Parse checks the document's shape only. It returns *ProblemsError listing
// every problem, each with its JSON path and line:col. Use Check to validate
// the plan against a catalog.
func Parse(data []byte) (*Plan, error) {
	root, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	src := &document{data: data}
	m, ok := root.(map[string]any)
	if !ok {
		probs := []Problem{{Code: ProblemInvalid, Message: "a plan must be a JSON object, got " + kindOf(root)}}
		src.locate(probs)
		return nil, &ProblemsError{Problems: probs}
	}
	d := &decoder{}
	var p *Plan
	if isLegacy(m) {
		p = d.legacyPlan(m)
		p.Format = FormatLegacy
	} else {
		p = d.plan(m, "")
		p.Format = FormatWeft
	}
	setSource(p, src)
	if len(d.probs) > 0 {
		src.locate(d.probs)
		return nil, &ProblemsError{Problems: d.probs}
	}
	return p, nil
}

func setSource(p *Plan, src *document) {
	p.src = src
	for _, s := range p.Steps {
		if s.Plan != nil {
			setSource(s.Plan, src)
		}
	}
}

// decodeJSON decodes one JSON value (numbers as json.Number), reporting
// syntax errors with line:col.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = fmt.Errorf("unexpected data after the plan object")
			off := skipSeparators(data, int(dec.InputOffset()))
			line, col := lineCol(data, off)
			return nil, &ProblemsError{Problems: []Problem{{Line: line, Column: col, Code: ProblemSyntax, Message: err.Error()}}}
		}
		return v, nil
	}
	off := len(data)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = max(int(se.Offset)-1, 0) // Offset is just past the offending byte
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	if err == io.EOF {
		msg = "empty document"
	} else if errors.Is(err, io.ErrUnexpectedEOF) {
		msg = "unexpected end of document"
	}
	line, col := lineCol(data, off)
	return nil, &ProblemsError{Problems: []Problem{{Line: line, Column: col, Code: ProblemSyntax, Message: "not valid JSON: " + msg}}}
}

// stepIDPattern matches ^[A-Za-z_][A-Za-z0-9_-]{0,63}$, byte by byte (that
// regexp compiled in package init cost ~860 allocations).
var stepIDPattern stepIDMatcher

type stepIDMatcher struct{}

func (stepIDMatcher) MatchString(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		letter := c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !letter && (i == 0 || !(c == '-' || (c >= '0' && c <= '9'))) {
			return false
		}
	}
	return true
}

type decoder struct {
	probs []Problem
}

func (d *decoder) add(path, code, format string, args ...any) {
	d.probs = append(d.probs, Problem{Path: path, Code: code, Message: fmt.Sprintf(format, args...)})
}

// fields reports keys of m not in allowed.
func (d *decoder) fields(m map[string]any, path string, allowed ...string) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			d.add(joinKey(path, k), ProblemUnknownField, "unknown field %q; allowed: %s", k, strings.Join(allowed, ", "))
		}
	}
}

func (d *decoder) str(v any, path string) string {
	s, ok := v.(string)
	if !ok {
		d.add(path, ProblemInvalid, "want a string, got %s", kindOf(v))
	}
	return s
}

func (d *decoder) boolean(v any, path string) bool {
	b, ok := v.(bool)
	if !ok {
		d.add(path, ProblemInvalid, "want true or false, got %s", kindOf(v))
	}
	return b
}

func (d *decoder) integer(v any, path string, min int) int {
	n, ok := v.(json.Number)
	i, err := strconv.Atoi(string(n))
	if !ok || err != nil || i < min {
		d.add(path, ProblemInvalid, "want an integer >= %d, got %s", min, jsonText(v))
		return 0
	}
	return i
}

func (d *decoder) number(v any, path string) float64 {
	n, ok := v.(json.Number)
	f, err := n.Float64()
	if !ok || err != nil {
		d.add(path, ProblemInvalid, "want a number, got %s", kindOf(v))
	}
	return f
}

func (d *decoder) object(v any, path string) map[string]any {
	m, ok := v.(map[string]any)
	if !ok {
		d.add(path, ProblemInvalid, "want an object, got %s", kindOf(v))
	}
	return m
}

func (d *decoder) duration(v any, path string) Duration {
	out, err := durationOf(v)
	if err != nil {
		d.add(path, ProblemInvalid, "%v", err)
	}
	return out
}

func (d *decoder) strings(v any, path string) []string {
	arr, ok := v.([]any)
	if !ok {
		d.add(path, ProblemInvalid, "want a list of strings, got %s", kindOf(v))
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		out = append(out, d.str(e, joinIndex(path, i)))
	}
	return out
}

func (d *decoder) schema(v any, path string) json.RawMessage {
	if _, ok := v.(map[string]any); !ok {
		d.add(path, ProblemInvalid, "want a JSON Schema object, got %s", kindOf(v))
		return nil
	}
	raw, _ := json.Marshal(v)
	if _, err := catalog.CompileSchema(raw); err != nil {
		d.add(path, ProblemInvalid, "not a usable JSON Schema: %v", err)
	}
	return raw
}

var planFields = []string{"version", "name", "description", "inputs", "steps", "outputs", "max_concurrency", "request_id", "final_synthesis"}

func (d *decoder) plan(m map[string]any, path string) *Plan {
	p := &Plan{}
	d.fields(m, path, planFields...)
	if v, ok := m["version"]; ok {
		if p.Version = d.str(v, joinKey(path, "version")); p.Version != "" && p.Version != "1" {
			d.add(joinKey(path, "version"), ProblemInvalid, "unsupported version %q; allowed: \"1\"", p.Version)
		}
	}
	if v, ok := m["name"]; ok {
		p.Name = d.str(v, joinKey(path, "name"))
	}
	if v, ok := m["description"]; ok {
		p.Description = d.str(v, joinKey(path, "description"))
	}
	if v, ok := m["inputs"]; ok {
		p.Inputs = d.schema(v, joinKey(path, "inputs"))
	}
	if v, ok := m["request_id"]; ok {
		p.RequestID = d.str(v, joinKey(path, "request_id"))
	}
	if v, ok := m["final_synthesis"]; ok {
		p.FinalSynthesis, _ = json.Marshal(v)
	}
	if v, ok := m["max_concurrency"]; ok {
		p.MaxConcurrency = d.integer(v, joinKey(path, "max_concurrency"), 1)
	}
	if v, ok := m["outputs"]; ok {
		p.Outputs = d.object(v, joinKey(path, "outputs"))
	}
	sp := joinKey(path, "steps")
	raw, ok := m["steps"]
	if !ok {
		d.add(path, ProblemInvalid, "missing field \"steps\" (a list of steps)")
		return p
	}
	arr, ok := raw.([]any)
	if !ok || len(arr) == 0 {
		d.add(sp, ProblemInvalid, "want a non-empty list of steps, got %s", kindOf(raw))
		return p
	}
	seen := map[string]int{}
	for i, e := range arr {
		ip := joinIndex(sp, i)
		sm, ok := e.(map[string]any)
		if !ok {
			d.add(ip, ProblemInvalid, "want a step object, got %s", kindOf(e))
			continue
		}
		s := d.step(sm, ip)
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

var stepFields = []string{"id", "description", "tool", "args", "code", "inputs", "plan", "llm", "depends_on", "when",
	"foreach", "concurrency", "retry", "timeout", "idempotency_key", "continue_on_error"}

func (d *decoder) step(m map[string]any, path string) *Step {
	s := &Step{}
	d.fields(m, path, stepFields...)
	if v, ok := m["id"]; !ok {
		d.add(path, ProblemInvalid, "missing field \"id\"")
	} else if s.ID = d.str(v, joinKey(path, "id")); s.ID != "" && !stepIDPattern.MatchString(s.ID) {
		d.add(joinKey(path, "id"), ProblemInvalid, "step id %q must match %s", s.ID, stepIDPattern)
	}
	for k, v := range m {
		kp := joinKey(path, k)
		switch k {
		case "description":
			s.Description = d.str(v, kp)
		case "tool":
			s.Tool = d.str(v, kp)
		case "args":
			s.Args = d.object(v, kp)
		case "code":
			s.Code = d.str(v, kp)
		case "inputs":
			s.Inputs = d.object(v, kp)
		case "plan":
			if pm := d.object(v, kp); pm != nil {
				s.Plan = d.plan(pm, kp)
			}
		case "llm":
			if lm := d.object(v, kp); lm != nil {
				s.LLM = d.llm(lm, kp)
			}
		case "depends_on":
			s.DependsOn = d.strings(v, kp)
		case "when":
			if b, ok := v.(bool); ok {
				s.When = strconv.FormatBool(b)
			} else {
				s.When = d.str(v, kp)
			}
		case "foreach":
			s.Foreach = v
		case "concurrency":
			s.Concurrency = d.integer(v, kp, 1)
		case "retry":
			if rm := d.object(v, kp); rm != nil {
				s.Retry = d.retry(rm, kp)
			}
		case "timeout":
			s.Timeout = d.duration(v, kp)
		case "idempotency_key":
			s.IdempotencyKey = d.str(v, kp)
		case "continue_on_error":
			s.ContinueOnError = d.boolean(v, kp)
		}
	}
	d.stepShape(s, m, path)
	return s
}

// stepShape enforces exactly one of tool/code/plan and the fields that go with each.
func (d *decoder) stepShape(s *Step, m map[string]any, path string) {
	var kinds []string
	for _, k := range []string{"tool", "code", "plan", "llm"} {
		if _, ok := m[k]; ok {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		d.add(path, ProblemInvalid, "a step needs exactly one of \"tool\" (with \"args\"), \"code\", \"plan\" or \"llm\"")
	case 1:
		if _, ok := m["tool"]; ok && s.Tool == "" {
			d.add(joinKey(path, "tool"), ProblemInvalid, "tool name is empty")
		}
		if _, ok := m["code"]; ok && strings.TrimSpace(s.Code) == "" {
			d.add(joinKey(path, "code"), ProblemInvalid, "code is empty")
		}
	default:
		d.add(path, ProblemInvalid, "a step has exactly one of \"tool\", \"code\", \"plan\" or \"llm\"; this one has %s", strings.Join(kinds, " and "))
	}
	if _, ok := m["args"]; ok && s.Tool == "" {
		d.add(joinKey(path, "args"), ProblemInvalid, "\"args\" belongs to tool steps; code and plan steps take \"inputs\"")
	}
	if _, ok := m["inputs"]; ok && s.LLM != nil {
		d.add(joinKey(path, "inputs"), ProblemInvalid, "\"inputs\" belongs to code and plan steps; an llm step references values in its prompt")
	}
	if _, ok := m["inputs"]; ok && s.Tool != "" {
		d.add(joinKey(path, "inputs"), ProblemInvalid, "\"inputs\" belongs to code and plan steps; tool steps take \"args\"")
	}
	if _, ok := m["concurrency"]; ok && s.Foreach == nil {
		d.add(joinKey(path, "concurrency"), ProblemInvalid, "\"concurrency\" bounds a foreach step; this step has no \"foreach\"")
	}
}

var llmFields = []string{"prompt", "model", "output"}

// llm decodes an llm step's body.
func (d *decoder) llm(m map[string]any, path string) *LLMStep {
	l := &LLMStep{}
	d.fields(m, path, llmFields...)
	for k, v := range m {
		kp := joinKey(path, k)
		switch k {
		case "prompt":
			l.Prompt = d.str(v, kp)
		case "model":
			l.Model = d.str(v, kp)
		case "output":
			l.Output = d.schema(v, kp)
		}
	}
	if strings.TrimSpace(l.Prompt) == "" {
		d.add(joinKey(path, "prompt"), ProblemInvalid, "an llm step needs a non-empty \"prompt\"")
	}
	return l
}

var retryFields = []string{"attempts", "backoff", "max_backoff", "multiplier", "jitter", "on"}

func (d *decoder) retry(m map[string]any, path string) *Retry {
	r := &Retry{Attempts: 1}
	d.fields(m, path, retryFields...)
	for k, v := range m {
		kp := joinKey(path, k)
		switch k {
		case "attempts":
			r.Attempts = d.integer(v, kp, 1)
		case "backoff":
			r.Backoff = d.duration(v, kp)
		case "max_backoff":
			r.MaxBackoff = d.duration(v, kp)
		case "multiplier":
			if r.Multiplier = d.number(v, kp); r.Multiplier < 1 {
				d.add(kp, ProblemInvalid, "multiplier must be >= 1, got %v", r.Multiplier)
			}
		case "jitter":
			j := d.number(v, kp)
			if j < 0 || j > 1 {
				d.add(kp, ProblemInvalid, "jitter is a fraction between 0 and 1, got %v", j)
			}
			r.Jitter = &j
		case "on":
			r.On = d.strings(v, kp)
			for i, c := range r.On {
				if !slices.Contains(errorCodes, c) {
					d.add(joinIndex(kp, i), ProblemInvalid, "unknown error code %q; allowed: %s", c, strings.Join(errorCodes, ", "))
				}
			}
		}
	}
	return r
}

// jsonText renders a decoded value compactly for messages.
func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}
