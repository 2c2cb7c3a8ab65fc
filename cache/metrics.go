package cache

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the cache tier's Prometheus metrics. It is a
// prometheus.Collector: register it once (weft registers it with
// analytics.Prometheus). A nil *Metrics counts nothing.
//
//	weft_cache_requests_total{tier="l1|l2",kind,result="hit|miss"}
//	weft_cache_loads_total{kind}            values computed by a loader (singleflight leaders)
//	weft_cache_lease_waits_total{kind}      missing values waited for because another replica was computing them
//	weft_cache_l2_errors_total{op}          failed Redis operations (get, set, ping, lease)
//	weft_cache_invalid_total{kind,reason}   values in Redis ignored: foreign or corrupt
//	weft_cache_fallback_active               1 while Redis is unreachable and the memory tier serves alone
//	weft_cache_fallback_total                times the tier fell back to memory
//	weft_cache_recoveries_total              times Redis came back
type Metrics struct {
	// byKind holds the request counters resolved per tier, kind (the
	// known kinds, then "other") and result, so that counting a lookup
	// does not hash label values.
	byKind    [2][len(kinds) + 1][2]prometheus.Counter
	requests  *prometheus.CounterVec
	loads     *prometheus.CounterVec
	waits     *prometheus.CounterVec
	l2Errors  *prometheus.CounterVec
	invalids  *prometheus.CounterVec
	fallback  prometheus.Gauge
	fallbacks prometheus.Counter
	recovered prometheus.Counter
}

// NewMetrics returns unregistered metrics.
func NewMetrics() *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_cache_requests_total",
			Help: "Cache lookups by tier (l1: memory, l2: Redis), kind and result (hit, miss).",
		}, []string{"tier", "kind", "result"}),
		loads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_cache_loads_total",
			Help: "Values computed on a cache miss, by kind (concurrent misses of one key load once).",
		}, []string{"kind"}),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_cache_lease_waits_total",
			Help: "Missing values this replica waited for, by kind, because another replica held the lease on computing them.",
		}, []string{"kind"}),
		l2Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_cache_l2_errors_total",
			Help: "Failed Redis operations of the cache tier, by operation.",
		}, []string{"op"}),
		invalids: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "weft_cache_invalid_total",
			Help: "Values found in Redis and ignored, by kind and reason (foreign: not a weft value of this kind; corrupt: bad length or checksum).",
		}, []string{"kind", "reason"}),
		fallback: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "weft_cache_fallback_active",
			Help: "1 while Redis is unreachable and the in-memory tier serves alone, else 0.",
		}),
		fallbacks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_cache_fallback_total",
			Help: "Times the cache tier fell back to memory because Redis was unreachable.",
		}),
		recovered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "weft_cache_recoveries_total",
			Help: "Times Redis answered again after a fallback.",
		}),
	}
	return m.resolve()
}

// tiers are the tier label values, by index.
var tiers = [2]string{"l1", "l2"}

// resolve fills byKind.
func (m *Metrics) resolve() *Metrics {
	for ti, tier := range tiers {
		for ki := range len(kinds) + 1 {
			kind := "other"
			if ki < len(kinds) {
				kind = string(kinds[ki])
			}
			m.byKind[ti][ki][0] = m.requests.WithLabelValues(tier, kind, "miss")
			m.byKind[ti][ki][1] = m.requests.WithLabelValues(tier, kind, "hit")
		}
	}
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.requests, m.loads, m.waits, m.l2Errors, m.invalids, m.fallback, m.fallbacks, m.recovered}
}

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
}

func (m *Metrics) request(tier, key string, hit bool) {
	if m == nil {
		return
	}
	ti, ri := 0, 0
	if tier == "l2" {
		ti = 1
	}
	if hit {
		ri = 1
	}
	m.byKind[ti][kindIndex(key)][ri].Inc()
}

func (m *Metrics) load(key string) {
	if m != nil {
		m.loads.WithLabelValues(label(key)).Inc()
	}
}

func (m *Metrics) leaseWait(key string) {
	if m != nil {
		m.waits.WithLabelValues(label(key)).Inc()
	}
}

func (m *Metrics) l2Error(op string) {
	if m != nil {
		m.l2Errors.WithLabelValues(op).Inc()
	}
}

func (m *Metrics) invalid(key, reason string) {
	if m != nil {
		m.invalids.WithLabelValues(label(key), reason).Inc()
	}
}

func (m *Metrics) setFallback(on bool) {
	if m == nil {
		return
	}
	if on {
		m.fallback.Set(1)
		m.fallbacks.Inc()
		return
	}
	m.fallback.Set(0)
	m.recovered.Inc()
}
