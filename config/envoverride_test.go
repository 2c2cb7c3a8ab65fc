package config

import (
	"reflect"
	"testing"
	"time"
)

func TestEnvOverrides(t *testing.T) {
	env := map[string]string{
		"TOOL_TIMEOUT":         "45s",
		"MAX_CONCURRENT_TOOLS": "3",
		"REQUESTS_PER_MINUTE":  "600",
		"CATALOG_CACHE_TTL":    "2h",
		"WEFT_ADDR":            "0.0.0.0:9000",
		"WEFT_CACHE_DIR":       "/data/weft",
		"WEFT_LOG_LEVEL":       "debug",
		"ANALYTICS_BACKEND":    "prometheus",
		"EMBEDDING_CACHE_TTL":  "48h",
	}
	// The file sets every field too: the environment wins.
	c := mustParse(t, doc(
		"limits:",
		"  tool_timeout: 10s",
		"  max_concurrent_tools: 1",
		"  requests_per_minute: 1",
		"catalog: {cache_ttl: 1h}",
		"server: {addr: \"127.0.0.1:1\"}",
		"cache: {dir: /nope}",
		"log: {level: error}",
		"analytics: {backends: none}",
		"search: {embedder: {cache_ttl: 1h}}",
	), env)
	got := []any{c.Limits.ToolTimeout.D(), c.Limits.MaxConcurrentTools, c.Limits.RequestsPerMinute,
		c.Catalog.CacheTTL.D(), c.Server.Addr, c.Cache.Dir, c.Log.Level, c.Analytics.Backends, c.Search.Embedder.CacheTTL.D()}
	want := []any{45 * time.Second, 3, 600, 2 * time.Hour, "0.0.0.0:9000", "/data/weft", "debug", []string{"prometheus"}, 48 * time.Hour}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
}

func TestEnvOverrideValues(t *testing.T) {
	tests := []struct {
		name, value string
		get         func(*Config) any
		want        any
	}{
		{"TOOL_TIMEOUT", "30", func(c *Config) any { return c.Limits.ToolTimeout.D() }, 30 * time.Second},
		{"TOOL_TIMEOUT", "2m", func(c *Config) any { return c.Limits.ToolTimeout.D() }, 2 * time.Minute},
		{"TOOL_TIMEOUT", "", func(c *Config) any { return c.Limits.ToolTimeout.D() }, 30 * time.Second},
		{"CATALOG_CACHE_TTL", "3600", func(c *Config) any { return c.Catalog.CacheTTL.D() }, time.Hour},
		{"CATALOG_CACHE_TTL", "0", func(c *Config) any { return c.Catalog.CacheTTL.D() }, time.Duration(0)},
		{"MAX_CONCURRENT_TOOLS", " 7 ", func(c *Config) any { return c.Limits.MaxConcurrentTools }, 7},
		{"MAX_CONCURRENT_TOOLS_PER_CLIENT", "2", func(c *Config) any { return c.Limits.MaxConcurrentToolsPerClient }, 2},
		{"GOGC", "50", func(c *Config) any { return c.Server.GCPercent }, 0},
		{"EMBEDDING_CACHE_TTL", "3600", func(c *Config) any { return c.Search.Embedder.CacheTTL.D() }, time.Hour},
		{"EMBEDDING_CACHE_TTL", "0", func(c *Config) any { return c.Search.Embedder.CacheTTL.D() }, time.Duration(0)},
		{"EMBEDDING_CACHE_TTL", "", func(c *Config) any { return c.Search.Embedder.CacheTTL.D() }, 7 * 24 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			c := mustParse(t, nil, map[string]string{tt.name: tt.value})
			if got := tt.get(c); got != tt.want {
				t.Errorf("%s=%q: got %v, want %v", tt.name, tt.value, got, tt.want)
			}
		})
	}
}

func TestEnvOverrideProblems(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TOOL_TIMEOUT": "abc"}, `TOOL_TIMEOUT: "abc": not a duration (e.g. 30s, 2m)`},
		{map[string]string{"TOOL_TIMEOUT": "0"}, `TOOL_TIMEOUT: "0": must be positive (e.g. 30s, 2m)`},
		{map[string]string{"TOOL_TIMEOUT": "-5s"}, `TOOL_TIMEOUT: "-5s": must be positive (e.g. 30s, 2m)`},
		{map[string]string{"CATALOG_CACHE_TTL": "daily"}, `CATALOG_CACHE_TTL: "daily": not a duration (e.g. 30s, 2m)`},
		{map[string]string{"MAX_CONCURRENT_TOOLS": "many"}, `MAX_CONCURRENT_TOOLS: "many": not an integer`},
		{map[string]string{"MAX_CONCURRENT_TOOLS": "0"}, `MAX_CONCURRENT_TOOLS: "0": must be a positive integer`},
		{map[string]string{"REQUESTS_PER_MINUTE": "1.5"}, `REQUESTS_PER_MINUTE: "1.5": not an integer`},
		{map[string]string{"WEFT_ADDR": "8080"}, `WEFT_ADDR: "8080": not host:port (e.g. 127.0.0.1:8080, :8080)`},
		{map[string]string{"WEFT_LOG_LEVEL": "trace"}, `WEFT_LOG_LEVEL: "trace": not a log level (allowed: debug, info, warn, error)`},
		{map[string]string{"ANALYTICS_BACKEND": "statsd"}, `analytics.backends[0]: "statsd": not an analytics backend (allowed: prometheus, otlp, sqlite; /metrics is served with none of them)`},
		{map[string]string{"EMBEDDING_CACHE_TTL": "monthly"}, `EMBEDDING_CACHE_TTL: "monthly": not a duration (e.g. 30s, 2m)`},
		{map[string]string{"EMBEDDING_CACHE_TTL": "-1h"}, `EMBEDDING_CACHE_TTL: "-1h": must not be negative (0 keeps vectors until the model changes)`},
		{map[string]string{"MCP_SERVERS_FILE": "/nonexistent/mcp.json"}, `MCP_SERVERS_FILE: "/nonexistent/mcp.json": no such file (looked for /nonexistent/mcp.json)`},
		{map[string]string{"TOOL_TIMEOUT": "x", "MAX_CONCURRENT_TOOLS": "y"}, `TOOL_TIMEOUT: "x": not a duration (e.g. 30s, 2m)
MAX_CONCURRENT_TOOLS: "y": not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := parseErr(t, nil, tt.env); got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestEnvOverrideBadValueKeepsFileValue checks that a bad variable is
// reported and the file's own value is still validated.
func TestEnvOverrideBadValueKeepsFileValue(t *testing.T) {
	got := parseErr(t, doc(
		"limits:",
		"  tool_timeout: 0s",
	), map[string]string{"TOOL_TIMEOUT": "abc"})
	want := `weft.yaml:2: limits.tool_timeout: "0s": must be positive (e.g. 30s, 2m)
TOOL_TIMEOUT: "abc": not a duration (e.g. 30s, 2m)`
	if got != want {
		t.Errorf("error:\n%s\nwant:\n%s", got, want)
	}
}

func TestEnvOverridesList(t *testing.T) {
	want := []string{"TOOL_TIMEOUT", "MAX_CONCURRENT_TOOLS", "MAX_CONCURRENT_TOOLS_PER_CLIENT", "REQUESTS_PER_MINUTE", "MCP_SERVERS_FILE",
		"CATALOG_CACHE_TTL", "WEFT_ADDR", "WEFT_CACHE_DIR", "WEFT_LOG_LEVEL", "GOGC", "EMBEDDING_CACHE_TTL",
		"ANALYTICS_BACKEND", "ANALYTICS_DB_PATH", "ANALYTICS_DB_RETENTION_DAYS", "OTEL_EXPORTER_OTLP_ENDPOINT",
		"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
		"OTLP_TOKEN", "OTLP_INSTANCE_ID", "OTEL_METRIC_EXPORT_INTERVAL", "OTLP_PUSH_INTERVAL",
		"REDIS_URL", "REDIS_PASSWORD", "REDIS_FALLBACK_ENABLED", "SEARCH_CACHE_TTL",
		"RUNS_STORE", "RUNS_LEASE", "WEFT_REPLICA_ID",
		"OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS",
		"OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG", "OTEL_SERVICE_NAME",
		"PLANNER_PROVIDER", "PLANNER_MODEL", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY", "AZURE_OPENAI_USE_AD", "AZURE_OPENAI_API_VERSION",
		"OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "USE_SMALL_MODEL", "SMALL_MODEL_BACKEND", "WORKER_MODEL", "OLLAMA_API_URL",
		"AZURE_SMALL_MODEL_ENDPOINT", "AZURE_SMALL_MODEL_KEY", "AZURE_SMALL_MODEL_USE_AD"}
	if got := EnvOverrides(); !reflect.DeepEqual(got, want) {
		t.Errorf("EnvOverrides() = %v, want %v", got, want)
	}
}
