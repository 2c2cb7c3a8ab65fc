package config

import (
	"maps"
	"net/url"
	"strconv"
	"strings"
)

// Telemetry holds OpenTelemetry settings.
type Telemetry struct {
	// Tracing configures OpenTelemetry traces (off by default).
	Tracing Tracing `yaml:"tracing" json:"tracing"`
}

// Tracing samplers (Tracing.Sampler); each is parent-based: a span whose
// caller's trace was sampled (or not) follows the caller.
const (
	SamplerAlways = "always"
	SamplerNever  = "never"
	SamplerRatio  = "ratio"
)

// Tracing defaults.
const (
	DefaultTracingSampler     = SamplerAlways
	DefaultTracingRatio       = 1.0
	DefaultTracingServiceName = "weft"
)

// Tracing configures OpenTelemetry tracing: spans of HTTP and MCP
// requests, ask and plan runs, steps, sandbox runs, model and tool calls,
// exported over OTLP/HTTP.
type Tracing struct {
	// Enabled turns tracing on (OTEL_TRACES_EXPORTER=otlp; none turns it off).
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Endpoint is the OTLP/HTTP traces URL; one without a path gets
	// /v1/traces (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or
	// OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces).
	Endpoint string `yaml:"endpoint" json:"endpoint,omitempty"`
	// Headers are sent with every export (secret values;
	// OTEL_EXPORTER_OTLP_TRACES_HEADERS / OTEL_EXPORTER_OTLP_HEADERS as k=v,k2=v2).
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`
	// Token is sent as "Authorization: Bearer <token>" (secret).
	Token string `yaml:"token" json:"token,omitempty"`
	// Sampler is always, never or ratio (OTEL_TRACES_SAMPLER: always_on,
	// always_off, traceidratio and their parentbased_ forms).
	Sampler string `yaml:"sampler" json:"sampler"`
	// Ratio is the fraction of new traces the ratio sampler keeps, 0..1
	// (OTEL_TRACES_SAMPLER_ARG).
	Ratio float64 `yaml:"ratio" json:"ratio"`
	// ServiceName is the service.name of weft's spans (OTEL_SERVICE_NAME).
	ServiceName string `yaml:"service_name" json:"service_name"`
}

// ExportHeaders are the headers of every export: Headers plus the token's
// Authorization.
func (t Tracing) ExportHeaders() map[string]string {
	h := maps.Clone(t.Headers)
	if t.Token != "" {
		if h == nil {
			h = map[string]string{}
		}
		h["Authorization"] = "Bearer " + t.Token
	}
	return h
}

func defaultTelemetry() Telemetry {
	return Telemetry{Tracing: Tracing{Sampler: DefaultTracingSampler, Ratio: DefaultTracingRatio,
		ServiceName: DefaultTracingServiceName}}
}

func (d *decoder) telemetry(n *node, p fpath, t *Telemetry) {
	d.object(n, p, []field{
		{"tracing", func(v *node) { d.tracing(v, p.child("tracing", "tracing"), &t.Tracing) }},
	}, "")
}

func (d *decoder) tracing(n *node, p fpath, t *Tracing) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"enabled", func(v *node) {
			if b, ok := d.boolean(v, f("enabled")); ok {
				t.Enabled = b
			}
		}},
		{"endpoint", func(v *node) { d.str(v, f("endpoint"), &t.Endpoint) }},
		{"headers", func(v *node) { d.secretMap(v, f("headers"), &t.Headers) }},
		{"token", func(v *node) {
			if s, ok := d.scalar(v, f("token"), "a string", true); ok {
				t.Token = s
			}
		}},
		{"sampler", func(v *node) { d.str(v, f("sampler"), &t.Sampler) }},
		{"ratio", func(v *node) { d.number(v, f("ratio"), &t.Ratio) }},
		{"service_name", func(v *node) { d.str(v, f("service_name"), &t.ServiceName) }},
	}, "")
}

// tracingEnvOverrides are the standard OpenTelemetry variables for traces.
var tracingEnvOverrides = []envOverride{
	{"OTEL_TRACES_EXPORTER", "telemetry.tracing.enabled", func(c *Config, v string) string {
		switch strings.TrimSpace(v) {
		case "otlp":
			c.Telemetry.Tracing.Enabled = true
		case "none":
			c.Telemetry.Tracing.Enabled = false
		default:
			return "not a traces exporter weft has (allowed: otlp, none)"
		}
		return ""
	}},
	{"OTEL_EXPORTER_OTLP_ENDPOINT", "telemetry.tracing.endpoint", func(c *Config, v string) string {
		// The base URL of every signal: traces go to its /v1/traces.
		c.Telemetry.Tracing.Endpoint = strings.TrimSuffix(v, "/") + "/v1/traces"
		return ""
	}},
	// After the base URL: the traces URL wins.
	{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "telemetry.tracing.endpoint", func(c *Config, v string) string {
		c.Telemetry.Tracing.Endpoint = v
		return ""
	}},
	{"OTEL_EXPORTER_OTLP_HEADERS", "telemetry.tracing.headers", func(c *Config, v string) string {
		return setEnvHeaders(&c.Telemetry.Tracing.Headers, v)
	}},
	{"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "telemetry.tracing.headers", func(c *Config, v string) string {
		return setEnvHeaders(&c.Telemetry.Tracing.Headers, v)
	}},
	{"OTEL_TRACES_SAMPLER", "telemetry.tracing.sampler", func(c *Config, v string) string {
		switch strings.TrimPrefix(strings.TrimSpace(v), "parentbased_") {
		case "always_on":
			c.Telemetry.Tracing.Sampler = SamplerAlways
		case "always_off":
			c.Telemetry.Tracing.Sampler = SamplerNever
		case "traceidratio":
			c.Telemetry.Tracing.Sampler = SamplerRatio
		default:
			return "not a sampler weft has (allowed: always_on, always_off, traceidratio, each also parentbased_)"
		}
		return ""
	}},
	{"OTEL_TRACES_SAMPLER_ARG", "telemetry.tracing.ratio", func(c *Config, v string) string {
		r, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil {
			return "not a number (e.g. 0.25)"
		}
		c.Telemetry.Tracing.Ratio = r
		return ""
	}},
	{"OTEL_SERVICE_NAME", "telemetry.tracing.service_name", func(c *Config, v string) string {
		c.Telemetry.Tracing.ServiceName = v
		return ""
	}},
}

// setEnvHeaders adds the W3C-baggage-style list k=v,k2=v2 of the
// OTEL_EXPORTER_OTLP_*HEADERS variables (values percent-decoded).
func setEnvHeaders(dst *map[string]string, v string) string {
	out := maps.Clone(*dst)
	if out == nil {
		out = map[string]string{}
	}
	for _, kv := range strings.Split(v, ",") {
		if strings.TrimSpace(kv) == "" {
			continue
		}
		k, val, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return "expected a list of key=value pairs separated by commas"
		}
		if dec, err := url.PathUnescape(strings.TrimSpace(val)); err == nil {
			val = dec
		}
		out[k] = val
	}
	*dst = out
	return ""
}

// tracing validates the tracing section: an endpoint is required when
// tracing is on; the sampler and its ratio must be known and in range.
func (v *validator) tracing(t Tracing) {
	const key = "telemetry.tracing"
	v.oneOf(key+".sampler", t.Sampler, "a sampler", SamplerAlways, SamplerNever, SamplerRatio)
	if (t.Ratio < 0 || t.Ratio > 1) && !v.broken(key+".ratio") {
		v.value(key+".ratio", strconv.FormatFloat(t.Ratio, 'g', -1, 64), "must be between 0 and 1 (the fraction of traces kept)")
	}
	if t.Endpoint != "" && !v.broken(key+".endpoint") {
		u, err := url.Parse(t.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.value(key+".endpoint", t.Endpoint, "not an http:// or https:// URL (the collector's OTLP/HTTP endpoint, e.g. http://localhost:4318)")
		}
	}
	if t.Enabled && t.Endpoint == "" && !v.broken(key+".endpoint") {
		v.at(key+".endpoint", "is required when tracing is enabled (or set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT)")
	}
}

// redactTracing masks the tracing section's secrets in r.
func redactTracing(r *Config) {
	t := &r.Telemetry.Tracing
	if len(t.Headers) > 0 {
		t.Headers = maps.Clone(t.Headers)
		for k := range t.Headers {
			t.Headers[k] = Mask
		}
	}
	if t.Token != "" {
		t.Token = Mask
	}
	t.Endpoint = redactURLText(t.Endpoint)
}

// The standard OpenTelemetry variables join the override table (after the
// package's own entries).
func init() { envOverrides = append(envOverrides, tracingEnvOverrides...) }
