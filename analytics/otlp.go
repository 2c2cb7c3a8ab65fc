package analytics

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"

	"github.com/weft-dev/weft/engine"
)

// OTLPOptions configure NewOTLP.
type OTLPOptions struct {
	// URL is the OTLP/HTTP metrics endpoint (e.g. http://collector:4318/v1/metrics).
	URL string
	// Headers are sent with every push (the bearer token among them).
	Headers map[string]string
	// InstanceID is the service.instance.id resource attribute (default:
	// host name and process id).
	InstanceID string
	// Interval is the push period (default 60s).
	Interval time.Duration
}

// OTLP pushes the analytics metrics — tool calls, plan runs and steps,
// sandbox runs — to an OTLP/HTTP endpoint with the OpenTelemetry SDK, every
// Interval and at Close. It implements engine.Recorder and RunObserver.
// The SDK also honours the standard OTEL_EXPORTER_OTLP_* variables for
// what the options leave unset (timeout, compression, certificates) and
// OTEL_RESOURCE_ATTRIBUTES.
type OTLP struct {
	provider *sdkmetric.MeterProvider
	tools    boundedTools

	calls, planRuns, sandboxRuns, sandboxLimits      metric.Int64Counter
	callTime, planRunTime, planStepTime, sandboxTime metric.Float64Histogram
}

// NewOTLP builds the exporter and the meter provider. It connects to
// nothing until the first push.
func NewOTLP(ctx context.Context, o OTLPOptions) (*OTLP, error) {
	if o.Interval <= 0 {
		o.Interval = 60 * time.Second
	}
	if o.InstanceID == "" {
		host, _ := os.Hostname()
		o.InstanceID = host + "-" + strconv.Itoa(os.Getpid())
	}
	exp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(o.URL), otlpmetrichttp.WithHeaders(o.Headers))
	if err != nil {
		return nil, fmt.Errorf("analytics: otlp exporter for %s: %w", o.URL, err)
	}
	res, err := resource.New(ctx, resource.WithFromEnv(), resource.WithAttributes(
		attribute.String("service.name", "weft"),
		attribute.String("service.instance.id", o.InstanceID),
	))
	if err != nil {
		return nil, fmt.Errorf("analytics: otlp resource: %w", err)
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp, sdkmetric.WithInterval(o.Interval))))
	m := mp.Meter("github.com/weft-dev/weft/analytics")
	x := &OTLP{provider: mp}
	counter := func(name, unit, desc string) metric.Int64Counter {
		c, e := m.Int64Counter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		if err == nil {
			err = e
		}
		return c
	}
	hist := func(name, desc string, bounds ...float64) metric.Float64Histogram {
		h, e := m.Float64Histogram(name, metric.WithUnit("s"), metric.WithDescription(desc),
			metric.WithExplicitBucketBoundaries(bounds...))
		if err == nil {
			err = e
		}
		return h
	}
	x.calls = counter("weft.tool.calls", "{call}", "Tool calls through the engine, by tool, server, caller, outcome and error code.")
	x.callTime = hist("weft.tool.call.duration", "Duration of tool calls, by tool, server and outcome.",
		.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60)
	x.planRuns = counter("weft.plan.runs", "{run}", "Plan runs finished, by status.")
	x.planRunTime = hist("weft.plan.run.duration", "Duration of finished plan runs, by status.",
		.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)
	x.planStepTime = hist("weft.plan.step.duration", "Duration of finished plan steps, by status.",
		.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300)
	x.sandboxRuns = counter("weft.sandbox.runs", "{run}", "Code-mode programs run, by outcome (ok or the error kind).")
	x.sandboxTime = hist("weft.sandbox.run.duration", "Duration of code-mode programs, by outcome.",
		.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300)
	x.sandboxLimits = counter("weft.sandbox.limit_hits", "{run}", "Code-mode programs stopped by a limit, by limit.")
	if err != nil {
		mp.Shutdown(ctx)
		return nil, fmt.Errorf("analytics: otlp instruments: %w", err)
	}
	return x, nil
}

// Record implements engine.Recorder.
func (x *OTLP) Record(e engine.Event) {
	server := e.Server
	if server == "" {
		server = "none"
	}
	ctx := context.Background()
	tool := x.tools.label(e.Tool)
	x.calls.Add(ctx, 1, metric.WithAttributes(attribute.String("tool", tool), attribute.String("server", server),
		attribute.String("caller", e.Caller), attribute.String("outcome", string(e.Outcome)), attribute.String("code", string(e.Code))))
	x.callTime.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(attribute.String("tool", tool),
		attribute.String("server", server), attribute.String("outcome", string(e.Outcome))))
}

// PlanRun implements RunObserver.
func (x *OTLP) PlanRun(status string, d time.Duration) {
	a := metric.WithAttributes(attribute.String("status", status))
	x.planRuns.Add(context.Background(), 1, a)
	x.planRunTime.Record(context.Background(), d.Seconds(), a)
}

// PlanStep implements RunObserver.
func (x *OTLP) PlanStep(status string, d time.Duration) {
	x.planStepTime.Record(context.Background(), d.Seconds(), metric.WithAttributes(attribute.String("status", status)))
}

// SandboxRun implements RunObserver.
func (x *OTLP) SandboxRun(outcome string, d time.Duration) {
	a := metric.WithAttributes(attribute.String("outcome", outcome))
	x.sandboxRuns.Add(context.Background(), 1, a)
	x.sandboxTime.Record(context.Background(), d.Seconds(), a)
	if IsLimit(outcome) {
		x.sandboxLimits.Add(context.Background(), 1, metric.WithAttributes(attribute.String("limit", outcome)))
	}
}

// Flush pushes the current values now.
func (x *OTLP) Flush(ctx context.Context) error {
	if err := x.provider.ForceFlush(ctx); err != nil {
		return fmt.Errorf("analytics: otlp push: %w", err)
	}
	return nil
}

// Close pushes the last values and stops the pushes.
func (x *OTLP) Close(ctx context.Context) error {
	if err := x.provider.Shutdown(ctx); err != nil {
		return fmt.Errorf("analytics: otlp shutdown: %w", err)
	}
	return nil
}
