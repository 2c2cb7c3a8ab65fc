package plan

import (
	"encoding/json"
	"maps"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/internal/redact"
)

// What a run record shows is redacted once, when a value enters the run:
// the plan and inputs at Start, a result when its step finishes, an error
// when it happens. Live values (what references resolve to) stay whole.

// runRedactor is a run's redactor: besides names and shapes it knows the
// values the run was given as secrets — inputs the plan's inputs schema (or
// their names) mark secret, literal arguments the tool's input schema (or
// their names) mark secret — so that a tool or program echoing one is
// redacted too.
func runRedactor(p *Plan, inputs map[string]any, view *catalog.View) *redact.Redactor {
	secrets := redact.Secrets(inputs, p.Inputs)
	var walk func(p *Plan)
	walk = func(p *Plan) {
		for _, s := range p.Steps {
			if s.Args != nil {
				secrets = append(secrets, redact.Secrets(s.Args, toolSchema(view, s.Tool))...)
			}
			if s.Inputs != nil {
				secrets = append(secrets, redact.Secrets(s.Inputs, nil)...)
			}
			if s.Plan != nil {
				walk(s.Plan)
			}
		}
	}
	walk(p)
	return redact.New(secrets...)
}

// toolSchema is the input schema of a tool visible in view (nil if none).
func toolSchema(view *catalog.View, name string) json.RawMessage {
	if view == nil || name == "" {
		return nil
	}
	if t, ok := view.Get(name); ok {
		return t.InputSchema
	}
	return nil
}

// redactPlan returns a copy of p for records: literal arguments redacted
// by the tool's input schema (view may be nil: names and shapes only), code
// and nested-plan inputs by secret names and shapes, nested plans alike.
//
// What has nothing to redact is shared with p, not copied (the record
// only reads it): a step whose fields are all clean (stepClean) is p's own,
// and a plan with nothing to redact at all is p itself.
func redactPlan(r *redact.Redactor, p *Plan, view *catalog.View) *Plan {
	if p == nil {
		return nil
	}
	if planClean(r, p, view) {
		return p
	}
	cp := *p
	cp.Steps = make([]*Step, len(p.Steps))
	for i, s := range p.Steps {
		if stepClean(r, s, view) {
			cp.Steps[i] = s
			continue
		}
		sc := *s
		if s.Args != nil {
			sc.Args = redactMap(r, s.Args, toolSchema(view, s.Tool))
		}
		if s.Inputs != nil {
			var schema json.RawMessage
			if s.Plan != nil {
				schema = s.Plan.Inputs
			}
			sc.Inputs = redactMap(r, s.Inputs, schema)
		}
		if s.Foreach != nil {
			sc.Foreach = r.Value(s.Foreach, nil)
		}
		if s.Code != "" {
			sc.Code = r.Text(s.Code)
		}
		if s.LLM != nil {
			l := *s.LLM
			l.Prompt = r.Text(l.Prompt)
			sc.LLM = &l
		}
		sc.Plan = redactPlan(r, s.Plan, view)
		cp.Steps[i] = &sc
	}
	if p.Outputs != nil {
		cp.Outputs = redactMap(r, p.Outputs, nil)
	}
	return &cp
}

// planClean reports that redactPlan would return a plan equal to p: every
// step clean, the outputs too.
func planClean(r *redact.Redactor, p *Plan, view *catalog.View) bool {
	for _, s := range p.Steps {
		if !stepClean(r, s, view) {
			return false
		}
	}
	return p.Outputs == nil || r.CleanValue(map[string]any(p.Outputs), nil)
}

// stepClean reports that redactPlan would copy s unchanged: its arguments,
// inputs, foreach, code and prompt have nothing to redact (CleanValue,
// Clean) and so has its nested plan.
func stepClean(r *redact.Redactor, s *Step, view *catalog.View) bool {
	if s.Args != nil && !r.CleanValue(map[string]any(s.Args), toolSchema(view, s.Tool)) {
		return false
	}
	if s.Inputs != nil {
		var schema json.RawMessage
		if s.Plan != nil {
			schema = s.Plan.Inputs
		}
		if !r.CleanValue(map[string]any(s.Inputs), schema) {
			return false
		}
	}
	if s.Foreach != nil && !r.CleanValue(s.Foreach, nil) {
		return false
	}
	if s.Code != "" && !r.Clean(s.Code) {
		return false
	}
	if s.LLM != nil && !r.Clean(s.LLM.Prompt) {
		return false
	}
	return s.Plan == nil || planClean(r, s.Plan, view)
}

// redactMap redacts an object by schema hints, names, shapes and r's
// known secrets.
func redactMap(r *redact.Redactor, m map[string]any, schema json.RawMessage) map[string]any {
	if m == nil {
		return nil
	}
	if r.CleanValue(m, schema) {
		return m // nothing to redact: shared, the record only reads it
	}
	out, _ := r.Value(m, schema).(map[string]any)
	return out
}

// redactError returns e with its message redacted.
func redactError(r *redact.Redactor, e *StepError) *StepError {
	if e == nil {
		return nil
	}
	return &StepError{Code: e.Code, Message: r.Text(e.Message)}
}

// recordLocked builds the run's record as it is now: the redacted plan and
// inputs, every step's stored (redacted, bounded) result. h.mu is held.
func (h *Handle) recordLocked() *Run {
	r := h.run
	out := &Run{ID: r.ID, Owner: r.Owner, Name: r.Name, Status: r.Status, Plan: h.recPlan, Inputs: h.recInputs,
		Started: r.Started, Finished: r.Finished, Error: r.Error,
		Outputs: r.recOutputs, TruncatedOutputs: maps.Clone(r.TruncatedOutputs)}
	if r.OutputErrors != nil {
		out.OutputErrors = make(map[string]string, len(r.OutputErrors))
		for k, v := range r.OutputErrors {
			out.OutputErrors[k] = h.red.Text(v)
		}
	}
	out.Steps = recordSteps(r.Steps)
	return out
}

func recordSteps(recs []*StepRecord) []*StepRecord {
	if recs == nil {
		return nil
	}
	out := make([]*StepRecord, len(recs))
	copies := make([]StepRecord, len(recs)) // the copies in one allocation
	total := 0
	for _, rec := range recs {
		total += len(rec.Attempts)
	}
	attempts := make([]Attempt, 0, total) // their attempts in another
	for i, rec := range recs {
		c := &copies[i]
		*c = *rec
		c.Result = rec.kept.stored
		c.Truncated = 0
		if rec.kept.cut {
			c.Truncated = rec.kept.size
		}
		c.Attempts = nil
		if rec.Attempts != nil {
			n := len(attempts)
			attempts = append(attempts, rec.Attempts...)
			c.Attempts = attempts[n:len(attempts):len(attempts)]
		}
		c.Items = recordSteps(rec.Items)
		c.Steps = recordSteps(rec.Steps)
		out[i] = c
	}
	return out
}

// prepareConditions builds the programs of every condition of c (nested
// plans included) with the cost limit.
func prepareConditions(c *compiled, limit uint64) error {
	for _, cs := range c.steps {
		if cs.when != nil {
			if err := cs.when.prepare(limit); err != nil {
				return err
			}
		}
		if cs.sub != nil {
			if err := prepareConditions(cs.sub, limit); err != nil {
				return err
			}
		}
	}
	return nil
}
