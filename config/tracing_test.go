package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestTracingDefaultsOff(t *testing.T) {
	c := mustParse(t, nil, nil)
	want := Tracing{Sampler: SamplerAlways, Ratio: 1, ServiceName: "weft"}
	if !reflect.DeepEqual(c.Telemetry.Tracing, want) {
		t.Errorf("default tracing = %+v, want %+v", c.Telemetry.Tracing, want)
	}
}

func TestTracingFile(t *testing.T) {
	c := mustParse(t, doc(
		"telemetry:",
		"  tracing:",
		"    enabled: true",
		"    endpoint: http://collector:4318",
		"    headers: {X-Tenant: t1}",
		"    token: s3cret",
		"    sampler: ratio",
		"    ratio: 0.25",
		"    service_name: weft-eu",
	), nil)
	tr := c.Telemetry.Tracing
	if !tr.Enabled || tr.Endpoint != "http://collector:4318" || tr.Sampler != SamplerRatio || tr.Ratio != 0.25 || tr.ServiceName != "weft-eu" {
		t.Errorf("tracing = %+v", tr)
	}
	want := map[string]string{"X-Tenant": "t1", "Authorization": "Bearer s3cret"}
	if got := tr.ExportHeaders(); !reflect.DeepEqual(got, want) {
		t.Errorf("ExportHeaders = %v, want %v", got, want)
	}
	out, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if s := string(out); strings.Contains(s, "s3cret") || strings.Contains(s, "t1") || !strings.Contains(s, `token: "****"`) {
		t.Errorf("config check output shows a tracing secret or no masked token:\n%s", s)
	}
}

func TestTracingEnv(t *testing.T) {
	c := mustParse(t, nil, map[string]string{
		"OTEL_TRACES_EXPORTER":        "otlp",
		"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318/",
		"OTEL_EXPORTER_OTLP_HEADERS":  "api-key=abc%20def,x-b=2",
		"OTEL_TRACES_SAMPLER":         "parentbased_traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":     "0.1",
		"OTEL_SERVICE_NAME":           "svc",
	})
	tr := c.Telemetry.Tracing
	want := Tracing{Enabled: true, Endpoint: "http://otel:4318/v1/traces", Headers: map[string]string{"api-key": "abc def", "x-b": "2"},
		Sampler: SamplerRatio, Ratio: 0.1, ServiceName: "svc"}
	if !reflect.DeepEqual(tr, want) {
		t.Errorf("tracing = %+v\nwant      %+v", tr, want)
	}
	// The traces URL wins over the base URL.
	c = mustParse(t, nil, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom"})
	if got := c.Telemetry.Tracing.Endpoint; got != "http://b:4318/custom" {
		t.Errorf("endpoint = %q, want the traces URL", got)
	}
	c = mustParse(t, doc("telemetry: {tracing: {enabled: true, endpoint: 'http://x:1'}}"), map[string]string{"OTEL_TRACES_EXPORTER": "none"})
	if c.Telemetry.Tracing.Enabled {
		t.Error("OTEL_TRACES_EXPORTER=none left tracing on")
	}
}

func TestTracingProblems(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		env  map[string]string
		want string
	}{
		{"no endpoint", doc("telemetry:", "  tracing:", "    enabled: true"), nil,
			"weft.yaml:2: telemetry.tracing.endpoint: is required when tracing is enabled (or set OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT)"},
		{"bad sampler", doc("telemetry:", "  tracing:", "    sampler: sometimes"), nil,
			`weft.yaml:3: telemetry.tracing.sampler: "sometimes": not a sampler (allowed: always, never, ratio)`},
		{"ratio out of range", doc("telemetry:", "  tracing:", "    ratio: 1.5"), nil,
			`weft.yaml:3: telemetry.tracing.ratio: "1.5": must be between 0 and 1 (the fraction of traces kept)`},
		{"endpoint not a URL", doc("telemetry:", "  tracing:", "    endpoint: collector:4318"), nil,
			`weft.yaml:3: telemetry.tracing.endpoint: "collector:4318": not an http:// or https:// URL (the collector's OTLP/HTTP endpoint, e.g. http://localhost:4318)`},
		{"unknown field", doc("telemetry:", "  tracing:", "    sample: never"), nil,
			`weft.yaml:3: telemetry.tracing.sample: unknown field; did you mean "sampler"? (allowed: enabled, endpoint, headers, token, sampler, ratio, service_name)`},
		{"bad env sampler", nil, map[string]string{"OTEL_TRACES_SAMPLER": "jaeger_remote"},
			`OTEL_TRACES_SAMPLER: "jaeger_remote": not a sampler weft has (allowed: always_on, always_off, traceidratio, each also parentbased_)`},
		{"bad env exporter", nil, map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"},
			`OTEL_TRACES_EXPORTER: "zipkin": not a traces exporter weft has (allowed: otlp, none)`},
		{"bad env ratio", nil, map[string]string{"OTEL_TRACES_SAMPLER_ARG": "half"},
			`OTEL_TRACES_SAMPLER_ARG: "half": not a number (e.g. 0.25)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseErr(t, tt.data, tt.env); got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
