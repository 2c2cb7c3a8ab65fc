// Package config owns weft's configuration: the weft.yaml model, its
// defaults, ${VAR} expansion, environment overrides, import of standard
// mcp.json files, and validation with precise, located error messages.
// It is the only package that reads environment variables.
package config

import "time"

// Config is the whole effective configuration.
type Config struct {
	// Servers are the upstream tool sources, by name.
	Servers map[string]*Server `yaml:"servers" json:"servers"`
	// MCPServersFile is a path to an mcp.json (Claude Desktop / Cursor /
	// Claude Code "mcpServers", or VS Code "servers") whose servers are added
	// to Servers. Env: MCP_SERVERS_FILE.
	MCPServersFile string `yaml:"mcp_servers_file" json:"mcp_servers_file,omitempty"`
	// Limits bound tool calls.
	Limits Limits `yaml:"limits" json:"limits"`
	// Catalog holds catalog settings.
	Catalog Catalog `yaml:"catalog" json:"catalog"`
	// Cache holds where persisted state lives.
	Cache Cache `yaml:"cache" json:"cache"`
	// Analytics selects the analytics backend.
	Analytics Analytics `yaml:"analytics" json:"analytics"`
	// Server configures the HTTP listener.
	Server HTTP `yaml:"server" json:"server"`
	// Log configures logging.
	Log Log `yaml:"log" json:"log"`

	// Path is the file the configuration was loaded from ("" for defaults only).
	Path string `yaml:"-" json:"path,omitempty"`
}

// Transport names an upstream transport.
type Transport string

// Transports.
const (
	TransportStdio Transport = "stdio"
	TransportHTTP  Transport = "http" // Streamable HTTP
	TransportSSE   Transport = "sse"  // legacy HTTP+SSE (2024-11-05)
)

// Server is one upstream MCP server.
type Server struct {
	// Name is the map key (set by the loader).
	Name string `yaml:"-" json:"name"`
	// Transport; inferred when empty: "stdio" with Command, "http" with URL.
	Transport Transport `yaml:"transport" json:"transport"`
	// stdio
	Command string            `yaml:"command" json:"command,omitempty"`
	Args    []string          `yaml:"args" json:"args,omitempty"`
	Env     map[string]string `yaml:"env" json:"env,omitempty"`
	Cwd     string            `yaml:"cwd" json:"cwd,omitempty"`
	// http / sse
	URL     string            `yaml:"url" json:"url,omitempty"`
	Headers map[string]string `yaml:"headers" json:"headers,omitempty"`
	// Timeout per tool call; 0 means Limits.ToolTimeout.
	Timeout Duration `yaml:"timeout" json:"timeout,omitempty"`
	// Enabled defaults to true.
	Enabled *bool `yaml:"enabled" json:"enabled,omitempty"`
	// MaxConcurrency bounds concurrent calls to this upstream; 0 means only the global limit.
	MaxConcurrency int `yaml:"max_concurrency" json:"max_concurrency,omitempty"`
	// Description describes the server for search (optional).
	Description string `yaml:"description" json:"description,omitempty"`
	// Tags are added to every tool of the server.
	Tags []string `yaml:"tags" json:"tags,omitempty"`
	// Origin is where the server was defined, as "file:line" (set by the
	// loader), for messages about the server at run time.
	Origin string `yaml:"-" json:"origin,omitempty"`
}

// IsEnabled reports whether the server is enabled (default true).
func (s *Server) IsEnabled() bool { return s.Enabled == nil || *s.Enabled }

// Limits bound tool calls.
type Limits struct {
	// ToolTimeout is the default per-call timeout. Env: TOOL_TIMEOUT. Default 30s.
	ToolTimeout Duration `yaml:"tool_timeout" json:"tool_timeout"`
	// MaxConcurrentTools bounds concurrent tool calls process-wide. Env: MAX_CONCURRENT_TOOLS. Default 10.
	MaxConcurrentTools int `yaml:"max_concurrent_tools" json:"max_concurrent_tools"`
	// RequestsPerMinute is the per-client request rate (enforced by the gateway). Env: REQUESTS_PER_MINUTE. Default 60.
	RequestsPerMinute int `yaml:"requests_per_minute" json:"requests_per_minute"`
	// DiscoveryTimeout bounds each upstream's connect + tools/list. Default 10s.
	DiscoveryTimeout Duration `yaml:"discovery_timeout" json:"discovery_timeout"`
	// QueueTimeout bounds how long a call waits for a concurrency slot. Default 10s.
	QueueTimeout Duration `yaml:"queue_timeout" json:"queue_timeout"`
}

// Catalog settings.
type Catalog struct {
	// CacheTTL is how long a persisted catalog snapshot is used at start-up. Env: CATALOG_CACHE_TTL. Default 24h.
	CacheTTL Duration `yaml:"cache_ttl" json:"cache_ttl"`
}

// Cache settings.
type Cache struct {
	// Dir holds persisted state (catalog snapshot, embeddings). Env: WEFT_CACHE_DIR. Default: the user cache dir + "/weft".
	Dir string `yaml:"dir" json:"dir"`
}

// Analytics settings.
type Analytics struct {
	// Backend is "memory" (default for now), "sqlite", "prometheus", "otlp" or "none". Env: ANALYTICS_BACKEND.
	Backend string `yaml:"backend" json:"backend"`
}

// HTTP server settings.
type HTTP struct {
	// Addr to listen on. Env: WEFT_ADDR. Default 127.0.0.1:8080.
	Addr string `yaml:"addr" json:"addr"`
	// ShutdownTimeout bounds draining in-flight requests on SIGTERM. Default 15s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout" json:"shutdown_timeout"`
	// MaxBodyBytes bounds request bodies. Default 4 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes" json:"max_body_bytes"`
}

// Log settings.
type Log struct {
	// Level: debug, info, warn, error. Env: WEFT_LOG_LEVEL. Default info.
	Level string `yaml:"level" json:"level"`
	// Format: text or json. Default text.
	Format string `yaml:"format" json:"format"`
}

// Duration is a time.Duration written as "30s", "2m", "1h30m" in YAML and JSON.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
