// Package tracing owns weft's OpenTelemetry tracing: the tracer provider
// built from configuration (OTLP/HTTP exporter, parent-based sampler), the
// W3C trace-context propagator (HTTP headers and MCP params._meta), and the
// spans every room starts, named and attributed after the OpenTelemetry
// semantic conventions for HTTP, MCP and GenAI.
//
// A nil *Tracer is tracing switched off: every method is safe to call on
// it, returns the context unchanged and allocates nothing. Hot paths (the
// engine) still check for nil themselves, so that not even the arguments of
// a span are built.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Samplers (Options.Sampler). Each is parent-based: a span whose parent
// was sampled (or not) follows its parent, whatever the root rule.
const (
	SamplerAlways = "always"
	SamplerNever  = "never"
	SamplerRatio  = "ratio"
)

// ScopeName is the instrumentation scope of weft's spans.
const ScopeName = "github.com/weft-dev/weft"

// Options configure a Tracer.
type Options struct {
	// Endpoint is the OTLP/HTTP traces URL (http://collector:4318/v1/traces).
	// A URL without a path gets /v1/traces.
	Endpoint string
	// Headers are sent with every export (e.g. Authorization).
	Headers map[string]string
	// Sampler is always, never or ratio (default always).
	Sampler string
	// Ratio is the fraction of new traces sampled with SamplerRatio (0..1).
	Ratio float64
	// ServiceName is the service.name resource attribute (default weft).
	ServiceName string
	// ServiceVersion is the service.version resource attribute.
	ServiceVersion string
	// Timeout bounds one export (default 10s).
	Timeout time.Duration
}

// Tracer starts weft's spans and carries trace context across process
// boundaries. It is safe for concurrent use; a nil *Tracer traces nothing.
type Tracer struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TextMapPropagator
}

// New builds a Tracer exporting over OTLP/HTTP. Nothing is sent until the
// first span ends; Shutdown flushes what is buffered.
func New(opts Options) (*Tracer, error) {
	endpoint, err := TracesURL(opts.Endpoint)
	if err != nil {
		return nil, err
	}
	eopts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(endpoint)}
	if len(opts.Headers) > 0 {
		eopts = append(eopts, otlptracehttp.WithHeaders(opts.Headers))
	}
	if opts.Timeout > 0 {
		eopts = append(eopts, otlptracehttp.WithTimeout(opts.Timeout))
	}
	exp, err := otlptracehttp.New(context.Background(), eopts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: OTLP exporter for %s: %w", endpoint, err)
	}
	sampler, err := Sampler(opts.Sampler, opts.Ratio)
	if err != nil {
		return nil, err
	}
	return NewWithProcessor(sdktrace.NewBatchSpanProcessor(exp), sampler, opts.ServiceName, opts.ServiceVersion), nil
}

// NewWithProcessor builds a Tracer whose spans go to sp (tests use
// tracetest's in-memory exporter through a simple span processor).
func NewWithProcessor(sp sdktrace.SpanProcessor, sampler sdktrace.Sampler, service, version string) *Tracer {
	if service == "" {
		service = "weft"
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", service)}
	if version != "" {
		attrs = append(attrs, attribute.String("service.version", version))
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSpanProcessor(sp),
		sdktrace.WithSampler(sampler),
		sdktrace.WithResource(resource.NewSchemaless(attrs...)),
	)
	return &Tracer{
		provider: tp,
		tracer:   tp.Tracer(ScopeName),
		prop:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
	}
}

// Sampler builds the parent-based sampler named by name (always, never,
// ratio; "" is always).
func Sampler(name string, ratio float64) (sdktrace.Sampler, error) {
	var root sdktrace.Sampler
	switch name {
	case "", SamplerAlways:
		root = sdktrace.AlwaysSample()
	case SamplerNever:
		root = sdktrace.NeverSample()
	case SamplerRatio:
		if ratio < 0 || ratio > 1 {
			return nil, fmt.Errorf("tracing: sampler ratio %v is outside 0..1", ratio)
		}
		root = sdktrace.TraceIDRatioBased(ratio)
	default:
		return nil, fmt.Errorf("tracing: unknown sampler %q (allowed: always, never, ratio)", name)
	}
	return sdktrace.ParentBased(root), nil
}

// TracesURL is the OTLP/HTTP traces URL for endpoint: the URL itself, with
// /v1/traces added when it has no path.
func TracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("tracing: endpoint %q is not an http:// or https:// URL", endpoint)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/v1/traces"
	}
	return u.String(), nil
}

// Enabled reports whether t records spans (t is not nil).
func (t *Tracer) Enabled() bool { return t != nil }

// Shutdown flushes buffered spans and stops the exporter; ctx bounds it.
func (t *Tracer) Shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	if err := t.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shutdown: %w", err)
	}
	return nil
}

// ForceFlush exports every span that ended so far.
func (t *Tracer) ForceFlush(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.ForceFlush(ctx)
}

// noop is the span a nil Tracer hands out: it records nothing.
var noop = trace.SpanFromContext(context.Background())

// Start starts a span of kind with attrs under the span of ctx.
func (t *Tracer) Start(ctx context.Context, name string, kind trace.SpanKind, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if t == nil {
		return ctx, noop
	}
	return t.tracer.Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
}

// End ends span, recording err (if any) as an exception event, the error
// status and error.type (the error's code when it has one, else its Go
// type).
func End(span trace.Span, err error) {
	if err != nil && span.IsRecording() {
		Fail(span, errorType(err), err)
	}
	span.End()
}

// Fail marks span failed with error.type typ and err's message.
func Fail(span trace.Span, typ string, err error) {
	if !span.IsRecording() {
		return
	}
	span.SetAttributes(attribute.String("error.type", typ))
	msg := typ
	if err != nil {
		span.RecordError(err)
		msg = err.Error()
	}
	span.SetStatus(codes.Error, msg)
}

// coded is an error with a stable code (engine.Error, the agent's errors).
type coded interface{ ErrorCode() string }

func errorType(err error) string {
	var c coded
	if errors.As(err, &c) {
		if code := c.ErrorCode(); code != "" {
			return code
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", err), "*")
}
