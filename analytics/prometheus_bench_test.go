package analytics

import (
	"testing"
	"time"

	"github.com/weft-dev/weft/engine"
)

// BenchmarkPrometheusRecord is the metrics part of one call's event, and
// BenchmarkPrometheusObserveHTTP that of one served request.
func BenchmarkPrometheusRecord(b *testing.B) {
	p := NewPrometheus(PrometheusOptions{Calls: true})
	e := engine.Event{Tool: "everything__echo", Server: "everything", Caller: "mcp", Duration: 800 * time.Microsecond,
		Outcome: engine.OutcomeOK, Bytes: 180}
	b.ReportAllocs()
	for b.Loop() {
		p.Record(e)
	}
}

func BenchmarkPrometheusObserveHTTP(b *testing.B) {
	p := NewPrometheus(PrometheusOptions{Calls: true})
	b.ReportAllocs()
	for b.Loop() {
		p.ObserveHTTP("POST /mcp", "POST", 200, 900*time.Microsecond)
	}
}
