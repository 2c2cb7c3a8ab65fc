package plan

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/internal/tracing"
)

// endNothing ends no span (tracing off).
func endNothing(string, *StepError) {}

// traceRun starts the span of run id ("plan_run"); the returned func
// ends it with the run's final status and error.
func (x *Executor) traceRun(ctx context.Context, p *Plan, id string) (context.Context, func(status, reason string)) {
	tr := x.opts.Tracer
	if tr == nil {
		return ctx, func(string, string) {}
	}
	// The plan's name stays out of the span name (names are often request
	// text: unbounded cardinality).
	ctx, span := tr.Start(ctx, "plan_run", trace.SpanKindInternal, attribute.String(tracing.AttrRunID, id),
		attribute.String("weft.plan.name", p.Name))
	return ctx, func(status, reason string) {
		span.SetAttributes(attribute.String("weft.run.status", status))
		if status != string(RunSucceeded) {
			tracing.Fail(span, status, errors.New(reason))
		}
		span.End()
	}
}

// traceStep starts the span of one step ("plan_step <id>"), under which
// its attempts call tools, run code and ask models; the returned func ends
// it with the step's final status and error.
func (st *runState) traceStep(cs *cstep) func(status string, serr *StepError) {
	tr := st.x.opts.Tracer
	if tr == nil {
		return endNothing
	}
	id := st.prefix + cs.ID
	ctx, span := tr.Start(st.ctx, "plan_step "+id, trace.SpanKindInternal,
		attribute.String(tracing.AttrRunID, st.h.id), attribute.String(tracing.AttrStepID, id),
		attribute.String("weft.step.kind", string(cs.Kind())))
	st.mu.Lock()
	if st.stepCtxs == nil {
		st.stepCtxs = make([]context.Context, len(st.c.steps))
	}
	st.stepCtxs[cs.index] = ctx
	st.mu.Unlock()
	return func(status string, serr *StepError) {
		span.SetAttributes(attribute.String("weft.step.status", status))
		if serr != nil && status == string(StepFailed) {
			tracing.Fail(span, serr.Code, serr)
		}
		span.End()
	}
}

// stepCtx is the context a step's attempts run with: the run's, carrying
// the step's span when tracing.
func (st *runState) stepCtx(cs *cstep) context.Context {
	if st.x.opts.Tracer == nil {
		return st.ctx
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.stepCtxs != nil && st.stepCtxs[cs.index] != nil {
		return st.stepCtxs[cs.index]
	}
	return st.ctx
}
