package weft

import (
	"context"
	"fmt"
	"time"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/internal/tracing"
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
