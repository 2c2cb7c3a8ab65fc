package weft

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/weft-dev/weft/agent"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/internal/tracing"
	"github.com/weft-dev/weft/sandbox"
)

// newTracer builds the tracer of telemetry.tracing, or nil when tracing is
// off (then nothing is traced and nothing is allocated for it).
func newTracer(cfg *config.Config, given *tracing.Tracer) (*tracing.Tracer, error) {
	if given != nil {
		return given, nil
	}
	t := cfg.Telemetry.Tracing
	if !t.Enabled {
		return nil, nil
	}
	tr, err := tracing.New(tracing.Options{
		Endpoint: t.Endpoint, Headers: t.ExportHeaders(),
		Sampler: t.Sampler, Ratio: t.Ratio, ServiceName: t.ServiceName,
	})
	if err != nil {
		return nil, fmt.Errorf("weft: telemetry.tracing: %w", err)
	}
	return tr, nil
}

// Tracer returns the tracer of telemetry.tracing; nil (tracing off) is a
// valid tracer that records nothing.
func (o *Orchestrator) Tracer() *tracing.Tracer { return o.tracer }

// closeTracer flushes the spans still buffered, waiting at most
// server.shutdown_timeout (5s when unset), and stops the exporter. A
// tracer passed in Options belongs to the caller and is left running.
func (o *Orchestrator) closeTracer() error {
	if o.tracer == nil || o.tracerGiven {
		return nil
	}
	wait := o.cfg.Server.ShutdownTimeout.D()
	if wait <= 0 {
		wait = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	return o.tracer.Shutdown(ctx)
}

// engineTracer is tracer as the engine's hook: a nil interface when
// tracing is off, so that the engine's nil check sees it off.
func engineTracer(tracer *tracing.Tracer) engine.Tracer {
	if tracer == nil {
		return nil
	}
	return tracer
}

// runCodeTraced runs a code-mode program inside a span ("sandbox_run");
// the program's tool calls are its children.
func (o *Orchestrator) runCodeTraced(ctx context.Context, sb *sandbox.Sandbox, req sandbox.Request) (*sandbox.RunResult, error) {
	ctx, span := o.tracer.Start(ctx, "sandbox_run", trace.SpanKindInternal, attribute.String("weft.code.language", string(req.Language)))
	res, err := sb.Run(ctx, req)
	if res != nil {
		span.SetAttributes(attribute.Int("weft.code.calls", len(res.Calls)))
		if res.Error != nil && err == nil {
			tracing.Fail(span, res.Error.Kind, errors.New(res.Error.Message))
		}
	}
	tracing.End(span, err)
	return res, err
}

// askTraced runs an ask request inside a span ("invoke_agent weft", GenAI's
// invoke_agent operation) with the strategy and the request's token usage;
// its model calls, plan run and tool calls are its children.
func (o *Orchestrator) askTraced(ctx context.Context, r *agent.Runner, req agent.Request) (*AskResult, error) {
	ctx, span := o.tracer.Start(ctx, "invoke_agent weft", trace.SpanKindInternal,
		attribute.String(tracing.AttrGenAIOperation, "invoke_agent"),
		attribute.String(tracing.AttrGenAIAgentName, "weft"),
		attribute.String(tracing.AttrStrategy, req.Strategy))
	res, err := r.Ask(ctx, req)
	if res != nil {
		span.SetAttributes(attribute.Int64(tracing.AttrGenAIInTokens, res.Usage.PromptTokens),
			attribute.Int64(tracing.AttrGenAIOutTokens, res.Usage.CompletionTokens))
		if res.Strategy != "" {
			span.SetAttributes(attribute.String(tracing.AttrStrategy, res.Strategy))
		}
	}
	tracing.End(span, err)
	return res, err
}

// stopTracer stops a tracer New built itself when New fails after
// building it (its exporter's goroutine would outlive the failure).
func stopTracer(tracer, given *tracing.Tracer, built bool) {
	if built || tracer == nil || given != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	tracer.Shutdown(ctx)
}
