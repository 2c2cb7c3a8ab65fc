// Package analytics turns engine call events into the operational signals
// weft exports: Prometheus metrics served at /metrics, alongside the
// in-memory recorder the engine already keeps.
package analytics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weft-dev/weft/engine"
)

// Prometheus records engine events as Prometheus metrics and HTTP request
// metrics, in a registry of its own (plus the Go and process collectors).
// It implements engine.Recorder.
type Prometheus struct {
	reg      *prometheus.Registry
	calls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
	bytes    *prometheus.CounterVec
	http     *prometheus.HistogramVec
}

// NewPrometheus builds the metrics and their registry.
func NewPrometheus() *Prometheus {
	p := &Prometheus{
		reg: prometheus.NewRegistry(),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_tool_calls_total",
			Help: "Tool calls through the engine, by tool, server, caller, outcome (ok, tool_error, error) and error code.",
		}, []string{"tool", "server", "caller", "outcome", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weft_tool_call_duration_seconds",
			Help:    "Duration of tool calls through the engine, by server and outcome.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"server", "outcome"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_tool_call_bytes_total",
			Help: "Bytes of arguments plus results of tool calls, by server.",
		}, []string{"server"}),
		http: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "weft_http_request_duration_seconds",
			Help:    "HTTP requests served, by route pattern, method and status.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method", "status"}),
	}
	p.reg.MustRegister(p.calls, p.duration, p.bytes, p.http,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return p
}

// Record implements engine.Recorder.
func (p *Prometheus) Record(e engine.Event) {
	server := e.Server
	if server == "" {
		server = "none"
	}
	p.calls.WithLabelValues(e.Tool, server, e.Caller, string(e.Outcome), string(e.Code)).Inc()
	p.duration.WithLabelValues(server, string(e.Outcome)).Observe(e.Duration.Seconds())
	p.bytes.WithLabelValues(server).Add(float64(e.Bytes))
}

// ObserveHTTP records one served HTTP request. route is the matched
// pattern (never the raw path, to keep label cardinality bounded).
func (p *Prometheus) ObserveHTTP(route, method string, status int, d time.Duration) {
	p.http.WithLabelValues(route, method, strconv.Itoa(status)).Observe(d.Seconds())
}

// Handler serves the metrics in the Prometheus exposition format.
func (p *Prometheus) Handler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{Registry: p.reg})
}

// Tee sends each event to every recorder.
type Tee []engine.Recorder

// Record implements engine.Recorder.
func (t Tee) Record(e engine.Event) {
	for _, r := range t {
		r.Record(e)
	}
}
