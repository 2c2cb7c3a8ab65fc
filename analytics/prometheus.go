// Package analytics turns engine call events, plan runs and sandbox runs
// into the operational signals weft exports: Prometheus metrics served at
// /metrics, metrics pushed over OTLP, a local SQLite database of calls and
// ratings, and per-tool and per-server health scores.
package analytics

import (
	"net/http"
	"strconv"
	"sync"
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

	// Run and sandbox metrics.
	planRuns      *prometheus.CounterVec
	planRunTime   *prometheus.HistogramVec
	planSteps     *prometheus.HistogramVec
	sandboxRuns   *prometheus.CounterVec
	sandboxTime   *prometheus.HistogramVec
	sandboxLimits *prometheus.CounterVec

	tools boundedTools
	// callSeries and httpSeries keep the series a label set resolved to
	// (callKey -> *callSeries, httpKey -> prometheus.Observer), so that a
	// call or a request costs one lookup instead of a label hash and a
	// vector lookup per metric. They hold no more entries than the
	// series exist.
	callSeries sync.Map
	httpSeries sync.Map
}

// callKey is the label values of one call's series.
type callKey struct {
	tool, server, caller string
	outcome              engine.Outcome
	code                 engine.Code
}

// callSeries are the series one call updates.
type callSeries struct {
	calls    prometheus.Counter
	duration prometheus.Observer
	bytes    prometheus.Counter
}

// httpKey is the label values of one request's series (method already
// reduced to its label).
type httpKey struct {
	route, method string
	status        int
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

// PrometheusOptions configure NewPrometheus.
type PrometheusOptions struct {
	// Calls registers the analytics series (the prometheus backend): tool
	// calls, plan runs and steps, sandbox runs. Without it /metrics holds
	// the HTTP, limiter, search, model, Go runtime and process metrics only.
	Calls bool
}

// NewPrometheus builds the metrics and their registry.
func NewPrometheus(o PrometheusOptions) *Prometheus {
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
	p.planRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "weft_plan_runs_total",
		Help: "Plan runs finished, by status (succeeded, failed, canceled, timed_out, interrupted, ...).",
	}, []string{"status"})
	p.planRunTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "weft_plan_run_duration_seconds",
		Help:    "Duration of finished plan runs, by status.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
	}, []string{"status"})
	p.planSteps = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "weft_plan_step_duration_seconds",
		Help:    "Duration of finished plan steps (every attempt included), by status.",
		Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"status"})
	p.sandboxRuns = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "weft_sandbox_runs_total",
		Help: "Code-mode programs run, by outcome (ok, or the error kind: runtime, timeout, memory, call_limit, ...).",
	}, []string{"outcome"})
	p.sandboxTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "weft_sandbox_run_duration_seconds",
		Help:    "Duration of code-mode programs, by outcome.",
		Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
	}, []string{"outcome"})
	p.sandboxLimits = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "weft_sandbox_limit_hits_total",
		Help: "Code-mode programs stopped by a limit, by limit (timeout, memory, call_limit, console_limit, result_limit, source_limit).",
	}, []string{"limit"})
	p.reg.MustRegister(p.http, p.rateFailures, p.searchDegraded, p.modelCalls, p.modelTokens,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.Calls {
		p.reg.MustRegister(p.calls, p.duration, p.bytes, p.planRuns, p.planRunTime, p.planSteps,
			p.sandboxRuns, p.sandboxTime, p.sandboxLimits)
	}
	return p
}

// PlanRun implements RunObserver.
func (p *Prometheus) PlanRun(status string, d time.Duration) {
	p.planRuns.WithLabelValues(status).Inc()
	p.planRunTime.WithLabelValues(status).Observe(d.Seconds())
}

// PlanStep implements RunObserver.
func (p *Prometheus) PlanStep(status string, d time.Duration) {
	p.planSteps.WithLabelValues(status).Observe(d.Seconds())
}

// SandboxRun implements RunObserver.
func (p *Prometheus) SandboxRun(outcome string, d time.Duration) {
	p.sandboxRuns.WithLabelValues(outcome).Inc()
	p.sandboxTime.WithLabelValues(outcome).Observe(d.Seconds())
	if IsLimit(outcome) {
		p.sandboxLimits.WithLabelValues(outcome).Inc()
	}
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
	k := callKey{tool: p.toolLabel(e.Tool), server: server, caller: e.Caller, outcome: e.Outcome, code: e.Code}
	v, ok := p.callSeries.Load(k)
	if !ok {
		v, _ = p.callSeries.LoadOrStore(k, &callSeries{
			calls:    p.calls.WithLabelValues(k.tool, server, e.Caller, string(e.Outcome), string(e.Code)),
			duration: p.duration.WithLabelValues(server, string(e.Outcome)),
			bytes:    p.bytes.WithLabelValues(server),
		})
	}
	cs := v.(*callSeries)
	cs.calls.Inc()
	cs.duration.Observe(e.Duration.Seconds())
	cs.bytes.Add(float64(e.Bytes))
}

// toolLabel returns the label value of a tool: its catalog name while
// fewer than MaxToolLabels tools are labelled.
func (p *Prometheus) toolLabel(name string) string { return p.tools.label(name) }

// ObserveHTTP records one served HTTP request. route is the matched
// pattern (never the raw path, to keep label cardinality bounded); a
// method outside the standard ones is labelled "OTHER".
func (p *Prometheus) ObserveHTTP(route, method string, status int, d time.Duration) {
	k := httpKey{route: route, method: methodLabel(method), status: status}
	o, ok := p.httpSeries.Load(k)
	if !ok {
		o, _ = p.httpSeries.LoadOrStore(k, p.http.WithLabelValues(route, k.method, strconv.Itoa(status)))
	}
	o.(prometheus.Observer).Observe(d.Seconds())
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

// Register adds c's metrics (another package's, such as the cache
// tier's) to the registry Handler serves.
func (p *Prometheus) Register(c prometheus.Collector) error { return p.reg.Register(c) }

// Handler serves the metrics in the Prometheus exposition format.
func (p *Prometheus) Handler() http.Handler {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{Registry: p.reg})
}
