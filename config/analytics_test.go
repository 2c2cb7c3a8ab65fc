package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestAnalyticsEnv: ANALYTICS_BACKEND is a comma list; OTLP_ENDPOINT wins
// over the standard OpenTelemetry variables (the base one gets
// /v1/metrics); OTLP_PUSH_INTERVAL wins over OTEL_METRIC_EXPORT_INTERVAL
// (milliseconds); the token and header values are masked by Redacted.
func TestAnalyticsEnv(t *testing.T) {
	c := mustParse(t, doc("analytics: {backends: [sqlite]}"), map[string]string{
		"ANALYTICS_BACKEND":                  " prometheus, otlp ",
		"ANALYTICS_DB_PATH":                  "/data/a.db",
		"ANALYTICS_DB_RETENTION_DAYS":        "7",
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://col:4318/",
		"OTLP_TOKEN":                         "t0ken",
		"OTLP_INSTANCE_ID":                   "replica-1",
		"OTEL_METRIC_EXPORT_INTERVAL":        "15000",
		"OTEL_EXPORTER_OTLP_METRICS_HEADERS": "x-tenant=acme",
	})
	a := c.Analytics
	if !reflect.DeepEqual(a.Backends, []string{"prometheus", "otlp"}) || a.DBPath != "/data/a.db" || a.RetentionDays != 7 ||
		a.OTLP.Endpoint != "http://col:4318/v1/metrics" || a.OTLP.Token != "t0ken" || a.OTLP.InstanceID != "replica-1" ||
		a.OTLP.PushInterval.D() != 15*time.Second || a.OTLP.Headers["x-tenant"] != "acme" {
		t.Fatalf("analytics %+v", a)
	}
	if h := a.OTLP.ExportHeaders(); h["Authorization"] != "Bearer t0ken" || h["x-tenant"] != "acme" {
		t.Errorf("export headers %v", h)
	}
	r := c.Redacted().Analytics.OTLP
	if r.Token != Mask || r.Headers["x-tenant"] != Mask || c.Analytics.OTLP.Token != "t0ken" {
		t.Errorf("redacted %+v (original token %q)", r, c.Analytics.OTLP.Token)
	}
	c = mustParse(t, nil, map[string]string{
		"OTEL_EXPORTER_OTLP_ENDPOINT":         "http://base:4318",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://metrics:4318/custom",
		"OTLP_ENDPOINT":                       "https://weft-col:4318",
		"OTEL_METRIC_EXPORT_INTERVAL":         "15000",
		"OTLP_PUSH_INTERVAL":                  "5s",
		"ANALYTICS_BACKEND":                   "none",
	})
	if c.Analytics.OTLP.Endpoint != "https://weft-col:4318" || c.Analytics.OTLP.MetricsURL() != "https://weft-col:4318/v1/metrics" ||
		c.Analytics.OTLP.PushInterval.D() != 5*time.Second || len(c.Analytics.Backends) != 0 {
		t.Fatalf("precedence: %+v", c.Analytics)
	}
	if got := c.Analytics.DatabasePath("/cache"); got != "/cache/analytics.db" {
		t.Errorf("default db path %s", got)
	}
	for env, want := range map[string]string{
		"ANALYTICS_BACKEND":           `analytics.backends[1]: "statsd": not an analytics backend`,
		"OTEL_METRIC_EXPORT_INTERVAL": `OTEL_METRIC_EXPORT_INTERVAL: "soon": not a number of milliseconds`,
	} {
		v := map[string]string{"ANALYTICS_BACKEND": "sqlite,statsd", "OTEL_METRIC_EXPORT_INTERVAL": "soon"}[env]
		if got := parseErr(t, nil, map[string]string{env: v}); !strings.Contains(got, want) {
			t.Errorf("%s=%s: %s, want %s", env, v, got, want)
		}
	}
}
