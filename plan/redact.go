package plan

import (
	"encoding/json"
	"maps"
	"slices"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/internal/redact"
)

// What a run record shows is redacted once, when a value enters the run:
// the plan and inputs at Start, a result when its step finishes, an error
// when it happens. Live values (what references resolve to) stay whole.

// redactPlan returns a copy of p for records: literal arguments redacted
// by the tool's input schema (view may be nil: names and shapes only), code
// and nested-plan inputs by secret names and shapes, nested plans alike.
func redactPlan(p *Plan, view *catalog.View) *Plan {
	if p == nil {
		return nil
	}
	cp := *p
	cp.Steps = make([]*Step, len(p.Steps))
	for i, s := range p.Steps {
		sc := *s
		if s.Args != nil {
			var schema json.RawMessage
			if view != nil {
				if t, ok := view.Get(s.Tool); ok {
					schema = t.InputSchema
				}
			}
			sc.Args = redactMap(s.Args, schema)
		}
		if s.Inputs != nil {
			var schema json.RawMessage
			if s.Plan != nil {
				schema = s.Plan.Inputs
			}
			sc.Inputs = redactMap(s.Inputs, schema)
		}
		if s.Foreach != nil {
			sc.Foreach = redact.Value(s.Foreach, nil)
		}
		sc.Plan = redactPlan(s.Plan, view)
		cp.Steps[i] = &sc
	}
	if p.Outputs != nil {
		cp.Outputs = redactMap(p.Outputs, nil)
	}
	return &cp
}

// redactMap redacts an object by schema hints, names and shapes.
func redactMap(m map[string]any, schema json.RawMessage) map[string]any {
	if m == nil {
		return nil
	}
	out, _ := redact.Value(m, schema).(map[string]any)
	return out
}

// redactError returns e with its message redacted.
func redactError(e *StepError) *StepError {
	if e == nil {
		return nil
	}
	return &StepError{Code: e.Code, Message: redact.Text(e.Message)}
}

// recordLocked builds the run's record as it is now: the redacted plan and
// inputs, every step's stored (redacted, bounded) result. h.mu is held.
func (h *Handle) recordLocked() *Run {
	r := h.run
	out := &Run{ID: r.ID, Owner: r.Owner, Name: r.Name, Status: r.Status, Plan: h.recPlan, Inputs: h.recInputs,
		Started: r.Started, Finished: r.Finished, Error: r.Error,
		Outputs: r.recOutputs, OutputErrors: maps.Clone(r.OutputErrors), TruncatedOutputs: maps.Clone(r.TruncatedOutputs)}
	out.Steps = recordSteps(r.Steps)
	return out
}

func recordSteps(recs []*StepRecord) []*StepRecord {
	if recs == nil {
		return nil
	}
	out := make([]*StepRecord, len(recs))
	for i, rec := range recs {
		c := *rec
		c.Result = rec.kept.stored
		c.Truncated = 0
		if rec.kept.cut {
			c.Truncated = rec.kept.size
		}
		c.Attempts = slices.Clone(rec.Attempts)
		c.Items = recordSteps(rec.Items)
		c.Steps = recordSteps(rec.Steps)
		out[i] = &c
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
