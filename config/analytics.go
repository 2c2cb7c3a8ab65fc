package config

import (
	"fmt"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Analytics backends (Analytics.Backends).
const (
	// BackendPrometheus adds the tool, run and sandbox series to /metrics.
	BackendPrometheus = "prometheus"
	// BackendOTLP pushes the same metrics to an OTLP/HTTP endpoint.
	BackendOTLP = "otlp"
	// BackendSQLite records every call, and the ratings, in a local database.
	BackendSQLite = "sqlite"
)

// AnalyticsBackends lists the backends weft has, in documentation order.
var AnalyticsBackends = []string{BackendPrometheus, BackendOTLP, BackendSQLite}

// Analytics defaults.
const (
	DefaultAnalyticsRetentionDays = 30
	DefaultOTLPPushInterval       = 60 * time.Second
)

// DefaultAnalyticsBackends are the backends of a configuration that names none.
var DefaultAnalyticsBackends = []string{BackendPrometheus, BackendSQLite}

// Analytics settings: where tool-call events go. /metrics is served in
// every case (HTTP, Go runtime and process metrics); each backend adds
// something observable.
type Analytics struct {
	// Backends are any of prometheus, otlp, sqlite (env ANALYTICS_BACKEND,
	// a comma list; "none" for no backend). Default prometheus, sqlite.
	Backends []string `yaml:"backends" json:"backends"`
	// DBPath is the SQLite analytics database (env ANALYTICS_DB_PATH).
	// Default: cache.dir/analytics.db.
	DBPath string `yaml:"db_path" json:"db_path"`
	// RetentionDays is how long call records are kept in the database
	// (env ANALYTICS_DB_RETENTION_DAYS). Default 30. Ratings are kept.
	RetentionDays int `yaml:"retention_days" json:"retention_days"`
	// OTLP configures the otlp backend.
	OTLP AnalyticsOTLP `yaml:"otlp" json:"otlp"`
}

// AnalyticsOTLP configures the OTLP metrics push.
type AnalyticsOTLP struct {
	// Endpoint is the OTLP/HTTP metrics URL; one without a path gets
	// /v1/metrics. Env OTLP_ENDPOINT, else
	// OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT
	// + /v1/metrics.
	Endpoint string `yaml:"endpoint" json:"endpoint,omitempty"`
	// Token is sent as "Authorization: Bearer <token>" (secret; env OTLP_TOKEN).
	Token string `yaml:"token" json:"token,omitempty"`
	// Headers are sent with every push (secret values; env
	// OTEL_EXPORTER_OTLP_HEADERS / OTEL_EXPORTER_OTLP_METRICS_HEADERS).
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// InstanceID is the service.instance.id resource attribute (env
	// OTLP_INSTANCE_ID). Default: the host name and process id.
	InstanceID string `yaml:"instance_id" json:"instance_id,omitempty"`
	// PushInterval is how often metrics are pushed (env OTLP_PUSH_INTERVAL,
	// or OTEL_METRIC_EXPORT_INTERVAL in milliseconds). Default 60s.
	PushInterval Duration `yaml:"push_interval" json:"push_interval"`
}

// Has reports whether backend b is configured.
func (a Analytics) Has(b string) bool { return slices.Contains(a.Backends, b) }

// DatabasePath is the analytics database path: DBPath, or analytics.db
// under cacheDir.
func (a Analytics) DatabasePath(cacheDir string) string {
	if a.DBPath != "" {
		return a.DBPath
	}
	return filepath.Join(cacheDir, "analytics.db")
}

// MetricsURL is the URL metrics are pushed to: Endpoint, with /v1/metrics
// when it has no path.
func (o AnalyticsOTLP) MetricsURL() string {
	u, err := url.Parse(o.Endpoint)
	if err != nil || (u.Path != "" && u.Path != "/") {
		return o.Endpoint
	}
	return strings.TrimSuffix(o.Endpoint, "/") + "/v1/metrics"
}

// ExportHeaders are the headers of every push: Headers plus the token's
// Authorization.
func (o AnalyticsOTLP) ExportHeaders() map[string]string {
	h := map[string]string{}
	for k, v := range o.Headers {
		h[k] = v
	}
	if o.Token != "" {
		h["Authorization"] = "Bearer " + o.Token
	}
	return h
}

func defaultAnalytics() Analytics {
	return Analytics{Backends: slices.Clone(DefaultAnalyticsBackends), RetentionDays: DefaultAnalyticsRetentionDays,
		OTLP: AnalyticsOTLP{PushInterval: Duration(DefaultOTLPPushInterval)}}
}

func (d *decoder) analytics(n *node, p fpath, a *Analytics) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"backends", func(v *node) {
			// A list, or one string with a comma list (as in ANALYTICS_BACKEND).
			if v.kind == kindSeq || v.kind == kindNull {
				d.strList(v, f("backends"), &a.Backends)
				return
			}
			var s string
			d.str(v, f("backends"), &s)
			a.Backends = splitBackends(s)
		}},
		{"db_path", func(v *node) { d.str(v, f("db_path"), &a.DBPath) }},
		{"retention_days", func(v *node) { d.integer(v, f("retention_days"), &a.RetentionDays) }},
		{"otlp", func(v *node) {
			q := f("otlp")
			g := func(name string) fpath { return q.child(name, name) }
			d.object(v, q, []field{
				{"endpoint", func(v *node) { d.str(v, g("endpoint"), &a.OTLP.Endpoint) }},
				{"token", func(v *node) {
					if s, ok := d.scalar(v, g("token"), "a string", true); ok {
						a.OTLP.Token = s
					}
				}},
				{"headers", func(v *node) { d.secretMap(v, g("headers"), &a.OTLP.Headers) }},
				{"instance_id", func(v *node) { d.str(v, g("instance_id"), &a.OTLP.InstanceID) }},
				{"push_interval", func(v *node) { d.duration(v, g("push_interval"), &a.OTLP.PushInterval) }},
			}, "")
		}},
	}, "")
}

// splitBackends splits a comma list; "none" is the empty list.
func splitBackends(s string) []string {
	out := []string{}
	for _, b := range strings.Split(s, ",") {
		if b = strings.TrimSpace(b); b != "" && b != "none" {
			out = append(out, b)
		}
	}
	return out
}

// analyticsEnvOverrides are the analytics variables, then the standard
// OpenTelemetry ones for metrics (OTLP_ENDPOINT wins over them: it is
// applied last).
var analyticsEnvOverrides = []envOverride{
	{"ANALYTICS_BACKEND", "analytics.backends", func(c *Config, v string) string {
		c.Analytics.Backends = splitBackends(v)
		return ""
	}},
	{"ANALYTICS_DB_PATH", "analytics.db_path", func(c *Config, v string) string { c.Analytics.DBPath = v; return "" }},
	{"ANALYTICS_DB_RETENTION_DAYS", "analytics.retention_days", func(c *Config, v string) string {
		return setEnvInt(&c.Analytics.RetentionDays, v)
	}},
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "analytics.otlp.endpoint", func(c *Config, v string) string {
		c.Analytics.OTLP.Endpoint = strings.TrimSuffix(v, "/") + "/v1/metrics"
		return ""
	}},
	{"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "analytics.otlp.endpoint", func(c *Config, v string) string {
		c.Analytics.OTLP.Endpoint = v
		return ""
	}},
	{"OTLP_ENDPOINT", "analytics.otlp.endpoint", func(c *Config, v string) string { c.Analytics.OTLP.Endpoint = v; return "" }},
	{"OTEL_EXPORTER_OTLP_HEADERS", "analytics.otlp.headers", func(c *Config, v string) string {
		return setEnvHeaders(&c.Analytics.OTLP.Headers, v)
	}},
	{"OTEL_EXPORTER_OTLP_METRICS_HEADERS", "analytics.otlp.headers", func(c *Config, v string) string {
		return setEnvHeaders(&c.Analytics.OTLP.Headers, v)
	}},
	{"OTLP_TOKEN", "analytics.otlp.token", func(c *Config, v string) string { c.Analytics.OTLP.Token = v; return "" }},
	{"OTLP_INSTANCE_ID", "analytics.otlp.instance_id", func(c *Config, v string) string {
		c.Analytics.OTLP.InstanceID = v
		return ""
	}},
	{"OTEL_METRIC_EXPORT_INTERVAL", "analytics.otlp.push_interval", func(c *Config, v string) string {
		ms, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return "not a number of milliseconds (e.g. 60000)"
		}
		c.Analytics.OTLP.PushInterval = Duration(time.Duration(ms) * time.Millisecond)
		return ""
	}},
	{"OTLP_PUSH_INTERVAL", "analytics.otlp.push_interval", func(c *Config, v string) string {
		return setEnvDuration(&c.Analytics.OTLP.PushInterval, v)
	}},
}

func init() { envOverrides = append(envOverrides, analyticsEnvOverrides...) }

// analytics validates the analytics section.
func (v *validator) analytics(c *Config) {
	a := &c.Analytics
	seen := map[string]bool{}
	for i, b := range a.Backends {
		key := fmt.Sprintf("analytics.backends[%d]", i)
		switch {
		case !slices.Contains(AnalyticsBackends, b):
			v.value(key, b, "not an analytics backend (allowed: "+strings.Join(AnalyticsBackends, ", ")+
				"; /metrics is served with none of them)")
		case seen[b]:
			v.value(key, b, "is listed twice")
		}
		seen[b] = true
	}
	if a.RetentionDays < 1 && !v.broken("analytics.retention_days") {
		v.value("analytics.retention_days", strconv.Itoa(a.RetentionDays), "must be at least 1 (days of call records kept)")
	}
	o := a.OTLP
	if o.Endpoint != "" && !v.broken("analytics.otlp.endpoint") {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.value("analytics.otlp.endpoint", o.Endpoint, "not an http:// or https:// URL (the collector's OTLP/HTTP endpoint, e.g. http://localhost:4318)")
		}
	}
	if a.Has(BackendOTLP) && o.Endpoint == "" && !v.broken("analytics.otlp.endpoint") {
		v.at("analytics.otlp.endpoint", "is required with the otlp analytics backend (or set OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT)")
	}
	if o.PushInterval < Duration(time.Second) && !v.broken("analytics.otlp.push_interval") {
		v.value("analytics.otlp.push_interval", o.PushInterval.String(), "must be at least 1s")
	}
}

// redactAnalytics masks the OTLP token and header values of r.
func redactAnalytics(r *Config) {
	o := &r.Analytics.OTLP
	if len(o.Headers) > 0 {
		h := make(map[string]string, len(o.Headers))
		for k := range o.Headers {
			h[k] = Mask
		}
		o.Headers = h
	}
	if o.Token != "" {
		o.Token = Mask
	}
	o.Endpoint = redactURLText(o.Endpoint)
}
