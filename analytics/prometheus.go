// Package analytics turns engine call events into the operational signals
// weft exports: Prometheus metrics served at /metrics, alongside the
// in-memory recorder the engine already keeps.
package analytics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/weft-dev/weft/engine"
)

// Prometheus records engine events as Prometheus metrics and HTTP request
// metrics, in a registry of its own (plus the Go and process collectors).
// It implements engine.Recorder.
//
// Label values are bounded whatever clients send: tools are labelled by
// catalog name only (a call whose name matched no tool the caller may see
// is labelled UnknownTool), at most MaxToolLabels distinct tools (further
// ones are labelled OtherTools), HTTP requests by route pattern and by
// standard method (others are labelled "OTHER").
type Prometheus struct {
	reg          *prometheus.Registry
	calls        *prometheus.CounterVec
	duration     *prometheus.HistogramVec
	bytes        *prometheus.CounterVec
	http         *prometheus.HistogramVec
	rateFailures *prometheus.CounterVec
	// searchDegraded counts searches answered without semantic retrieval.
	searchDegraded prometheus.Counter
	// modelCalls and modelTokens count the model calls of ask.
	modelCalls  *prometheus.CounterVec
	modelTokens *prometheus.CounterVec

	toolLabels sync.Map // catalog name -> struct{}: tools labelled so far
	toolCount  atomic.Int64
}

// Tool label values that are not catalog names.
const (
	// UnknownTool labels calls whose name matched no tool the caller may see.
	UnknownTool = "unknown"
	// OtherTools labels calls of tools beyond MaxToolLabels.
	OtherTools = "other"
)

// MaxToolLabels bounds the distinct tool label values (a catalog of this
// many tools is far beyond any real one).
const MaxToolLabels = 5000

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
	p.rateFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "weft_rate_limiter_failures_total",
		Help: "Rate-limit decisions the shared (Redis) limiter could not make, by what was done with the request (allowed: fail open; refused: fail closed).",
	}, []string{"action"})
	p.searchDegraded = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "weft_search_degraded_total",
		Help: "Searches answered from the lexical engine alone because semantic search (the embedder or the vector store) was unavailable.",
	})
	p.modelCalls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "weft_model_calls_total",
		Help: "Model calls of ask, by configured model name, purpose (plan, repair, synthesis, agent) and outcome (ok, error).",
	}, []string{"model", "purpose", "outcome"})
	p.modelTokens = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "weft_model_tokens_total",
		Help: "Tokens of ask's model calls, by configured model name and kind (prompt, cached: the part of prompt served from the provider's cache, completion).",
	}, []string{"model", "kind"})
	p.reg.MustRegister(p.calls, p.duration, p.bytes, p.http, p.rateFailures, p.searchDegraded, p.modelCalls, p.modelTokens,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return p
}

// SearchDegraded counts one search answered without semantic retrieval.
func (p *Prometheus) SearchDegraded() { p.searchDegraded.Inc() }

// ModelCall counts one model call of ask and its tokens. model is a
// configured model name and purpose one of a fixed few, so labels stay bounded.
func (p *Prometheus) ModelCall(model, purpose string, ok bool, prompt, cached, completion int64) {
	outcome := "ok"
	if !ok {
		outcome = "error"
	}
	p.modelCalls.WithLabelValues(model, purpose, outcome).Inc()
	p.modelTokens.WithLabelValues(model, "prompt").Add(float64(prompt))
	p.modelTokens.WithLabelValues(model, "cached").Add(float64(cached))
	p.modelTokens.WithLabelValues(model, "completion").Add(float64(completion))
}

// Record implements engine.Recorder.
func (p *Prometheus) Record(e engine.Event) {
	server := e.Server
	if server == "" {
		server = "none"
	}
	p.calls.WithLabelValues(p.toolLabel(e.Tool), server, e.Caller, string(e.Outcome), string(e.Code)).Inc()
	p.duration.WithLabelValues(server, string(e.Outcome)).Observe(e.Duration.Seconds())
	p.bytes.WithLabelValues(server).Add(float64(e.Bytes))
}

// toolLabel returns the label value of a tool: its catalog name while
// fewer than MaxToolLabels tools are labelled.
func (p *Prometheus) toolLabel(name string) string {
	if name == "" {
		return UnknownTool
	}
	if _, ok := p.toolLabels.Load(name); ok {
		return name
	}
	if p.toolCount.Add(1) > MaxToolLabels {
		p.toolCount.Add(-1)
		return OtherTools
	}
	if _, dup := p.toolLabels.LoadOrStore(name, struct{}{}); dup {
		p.toolCount.Add(-1)
	}
	return name
}

// ObserveHTTP records one served HTTP request. route is the matched
// pattern (never the raw path, to keep label cardinality bounded); a
// method outside the standard ones is labelled "OTHER".
func (p *Prometheus) ObserveHTTP(route, method string, status int, d time.Duration) {
	p.http.WithLabelValues(route, methodLabel(method), strconv.Itoa(status)).Observe(d.Seconds())
}

// RateLimiterFailure counts one rate-limit decision the limiter could not
// make; allowed says whether the request was let through (fail open).
func (p *Prometheus) RateLimiterFailure(allowed bool) {
	action := "refused"
	if allowed {
		action = "allowed"
	}
	p.rateFailures.WithLabelValues(action).Inc()
}

func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
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
