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
	// Analytics selects the analytics backends (config/analytics.go).
	Analytics Analytics `yaml:"analytics" json:"analytics"`
	// Server configures the HTTP listener.
	Server HTTP `yaml:"server" json:"server"`
	// Search tunes tool search.
	Search Search `yaml:"search" json:"search"`
	// Code holds code-mode defaults and maxima.
	Code Code `yaml:"code" json:"code"`
	// Plans holds plan execution and run-record settings.
	Plans Plans `yaml:"plans" json:"plans"`
	// Gateway holds MCP endpoints and client authentication.
	Gateway Gateway `yaml:"gateway" json:"gateway"`
	// Log configures logging.
	Log Log `yaml:"log" json:"log"`
	// Models are the named language models of `weft ask` (planner,
	// worker, ...); none: ask is unavailable, everything else works.
	Models map[string]*Model `yaml:"models" json:"models,omitempty"`
	// Ask holds the settings and per-request budgets of `weft ask`.
	Ask Ask `yaml:"ask" json:"ask"`
	// Telemetry holds OpenTelemetry settings (tracing).
	Telemetry Telemetry `yaml:"telemetry" json:"telemetry"`
	// Runs says where run records live (SQLite file or PostgreSQL) and the replicas' lease.
	Runs Runs `yaml:"runs" json:"runs"`

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
	// InheritEnv names variables of weft's environment the process
	// inherits besides the default ones (PATH, HOME, USER, locale, TMPDIR,
	// proxies, npm_config_*, …): names, prefixes ending in "*", or "*" for
	// all. Everything else (weft's own keys and tokens) stays out.
	InheritEnv []string `yaml:"inherit_env" json:"inherit_env,omitempty"`
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
	// Cache marks tools whose successful results may be cached (nil: none).
	Cache *ServerCache `yaml:"cache" json:"cache,omitempty"`
	// Origin is where the server was defined, as "file:line" (set by the
	// loader), for messages about the server at run time.
	Origin string `yaml:"-" json:"origin,omitempty"`
	// MCPName is the server's name in the mcp.json it was imported from,
	// when that name is not a valid weft server name (for example
	// "mcp.filesystem") and Name was derived from it (mcp_filesystem; see
	// docs/configuration.md). Empty otherwise.
	MCPName string `yaml:"-" json:"mcp_name,omitempty"`
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
	// DiscoveryTimeout bounds how long start-up waits for each upstream
	// (connect + tools/list) and each later tools/list. An upstream still
	// starting at that point goes on starting in the background. Default 10s.
	DiscoveryTimeout Duration `yaml:"discovery_timeout" json:"discovery_timeout"`
	// StartTimeout bounds starting a stdio upstream: from starting the
	// process until it answers initialize. It is generous because the first
	// start through npx or uvx installs the package. Default 2m.
	StartTimeout Duration `yaml:"start_timeout" json:"start_timeout"`
	// RedisURL, when set (redis://[:password@]host:port/db), keeps the
	// per-client request budgets in Redis so that every replica shares them.
	// Default: in memory, per process.
	RedisURL string `yaml:"redis_url" json:"redis_url,omitempty"`
	// QueueTimeout bounds how long a call waits for a concurrency slot. Default 10s.
	QueueTimeout Duration `yaml:"queue_timeout" json:"queue_timeout"`
	// MaxConcurrentToolsPerClient bounds the concurrent tool calls of one
	// client (an API key; the local operator and every caller of a server
	// without API keys are one client), so that one client cannot take
	// every slot of max_concurrent_tools. A client at its bound queues on
	// its own slots. Env: MAX_CONCURRENT_TOOLS_PER_CLIENT. Default (0):
	// half of max_concurrent_tools, rounded up.
	MaxConcurrentToolsPerClient int `yaml:"max_concurrent_tools_per_client" json:"max_concurrent_tools_per_client"`
	// RedisFailMode says what happens to a request whose rate limit cannot
	// be checked because Redis (limits.redis_url) is unreachable: "closed"
	// refuses it (503), "open" lets it through. Either way the failure is
	// counted (weft_rate_limiter_failures_total) and logged. Default closed.
	RedisFailMode string `yaml:"redis_fail_mode" json:"redis_fail_mode"`
}

// ToolsPerClient returns the effective MaxConcurrentToolsPerClient: the
// configured value, or half of MaxConcurrentTools (rounded up) when 0.
func (l Limits) ToolsPerClient() int {
	if l.MaxConcurrentToolsPerClient > 0 {
		return l.MaxConcurrentToolsPerClient
	}
	return (l.MaxConcurrentTools + 1) / 2
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
	// RedisURL, when set, adds Redis as a second cache tier shared by every
	// replica (catalog snapshots, embeddings, search results, plan
	// idempotency results, cacheable tool results); rediss:// uses TLS with
	// certificate verification. Env: REDIS_URL. Default: memory only.
	RedisURL string `yaml:"redis_url,omitempty" json:"redis_url,omitempty"`
	// RedisPassword authenticates to RedisURL when the URL has none. A
	// secret. Env: REDIS_PASSWORD.
	RedisPassword string `yaml:"redis_password,omitempty" json:"redis_password,omitempty"`
	// Fallback serves from memory alone while Redis is unreachable (one
	// warning, a metric, automatic recovery); false makes the requests
	// that need Redis fail. Env: REDIS_FALLBACK_ENABLED. Default true.
	Fallback bool `yaml:"fallback" json:"fallback"`
	// MemoryMaxBytes bounds the in-memory tier. Default 64 MiB.
	MemoryMaxBytes int64 `yaml:"memory_max_bytes" json:"memory_max_bytes"`
}

// HTTP server settings.
type HTTP struct {
	// Addr to listen on. Env: WEFT_ADDR. Default 127.0.0.1:8080.
	Addr string `yaml:"addr" json:"addr"`
	// ShutdownTimeout bounds draining in-flight requests on SIGTERM. Default 15s.
	ShutdownTimeout Duration `yaml:"shutdown_timeout" json:"shutdown_timeout"`
	// GCPercent is the garbage collector's target (like GOGC) that weft
	// serve sets: the MCP SDK allocates a 32 KiB buffer per JSON message, so
	// a server trades a little memory for much less GC work. 0 leaves Go's
	// default; a set GOGC environment variable wins. Default 400.
	GCPercent int `yaml:"gc_percent" json:"gc_percent"`
	// MaxBodyBytes bounds request bodies. Default 4 MiB.
	MaxBodyBytes int64 `yaml:"max_body_bytes" json:"max_body_bytes"`
	// ReadTimeout bounds reading one request, headers and body: a client
	// that sends its body slower ends with 408. Responses (streams of
	// server-sent events included) are not bounded by it. Default 30s.
	ReadTimeout Duration `yaml:"read_timeout" json:"read_timeout"`
	// AllowedHosts are the host names (Host header, port ignored) the
	// server answers besides IP addresses and, on a loopback address,
	// localhost: the defence against DNS rebinding. Needed when a server
	// without API keys (--insecure) is reached by name; with API keys and
	// no list, any name is accepted. Default: none.
	AllowedHosts []string `yaml:"allowed_hosts,omitempty" json:"allowed_hosts,omitempty"`
	// ReplicaID names this replica in shared run records (runs.store on
	// PostgreSQL). Env: WEFT_REPLICA_ID. Default: hostname-pid-random.
	ReplicaID string `yaml:"replica_id,omitempty" json:"replica_id,omitempty"`
}

// Search settings.
type Search struct {
	// AutoMaxTools: "auto" callers (the MCP search_tools meta-tool) get the
	// whole catalog instead of a search when it has at most this many tools. Default 30.
	AutoMaxTools int `yaml:"auto_max_tools" json:"auto_max_tools"`
	// AutoMaxTokens: ... or when all definitions together are at most this many tokens. Default 4000.
	AutoMaxTokens int `yaml:"auto_max_tokens" json:"auto_max_tokens"`
	// Warm builds the search index (and embeds the tools) in the background
	// at start-up instead of on the first search. Default false.
	Warm bool `yaml:"warm" json:"warm"`
	// DenseWeight is the dense retriever's share in hybrid fusion, in
	// (0, 1]; the lexical side gets the rest. Default 0.3.
	DenseWeight float64 `yaml:"dense_weight" json:"dense_weight"`
	// Embedder configures dense retrieval; without a URL search is lexical only.
	Embedder Embedder `yaml:"embedder" json:"embedder"`
	// CacheTTL is how long a search's results are reused for the same
	// catalog version, query and caller policy; 0 disables. Env: SEARCH_CACHE_TTL. Default 1h.
	CacheTTL Duration `yaml:"cache_ttl" json:"cache_ttl"`
}

// Embedder is an OpenAI-compatible /embeddings endpoint: OpenAI, Azure
// OpenAI, Ollama, text-embeddings-inference, vLLM.
type Embedder struct {
	// URL is the API root (https://api.openai.com/v1,
	// http://localhost:11434/v1); for Azure OpenAI, the resource endpoint
	// (https://NAME.openai.azure.com). Empty disables dense retrieval.
	URL string `yaml:"url" json:"url,omitempty"`
	// Model is the embedding model; for Azure it defaults to AzureDeployment.
	Model string `yaml:"model" json:"model,omitempty"`
	// APIKey authenticates (Bearer, or api-key for Azure). A secret.
	APIKey string `yaml:"api_key" json:"api_key,omitempty"`
	// AzureDeployment selects Azure OpenAI and names the deployment.
	AzureDeployment string `yaml:"azure_deployment" json:"azure_deployment,omitempty"`
	// APIVersion is Azure OpenAI's api-version. Default 2024-10-21.
	APIVersion string `yaml:"api_version" json:"api_version"`
	// Auth is how Azure OpenAI is authenticated: "key" (APIKey, default) or
	// "entra" (Entra ID through the Azure identity SDK's
	// DefaultAzureCredential: managed identity, workload identity, Azure CLI,
	// service principal from AZURE_* variables).
	Auth string `yaml:"auth" json:"auth"`
	// Dimensions is the vector length, checked on every vector; 0 takes the model's.
	Dimensions int `yaml:"dimensions" json:"dimensions"`
	// SendDimensions asks the model for Dimensions (text-embedding-3-* can shorten vectors).
	SendDimensions bool `yaml:"send_dimensions" json:"send_dimensions"`
	// BatchSize is the number of texts per request. Default 64.
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// Timeout bounds each request attempt. Default 30s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// CacheTTL expires cached tool vectors (kept under cache.dir/embeddings);
	// 0 keeps them until the model changes. Env: EMBEDDING_CACHE_TTL. Default 168h (7 days).
	CacheTTL Duration `yaml:"cache_ttl" json:"cache_ttl"`
}

// Enabled reports whether dense retrieval is configured (URL is set).
func (e *Embedder) Enabled() bool { return e.URL != "" }

// Code holds the code-mode (sandbox) defaults and maxima.
type Code struct {
	// Timeout is the default wall-clock limit of a program. Default 30s.
	Timeout Duration `yaml:"timeout" json:"timeout"`
	// MaxTimeout caps what a request may ask for. Default 5m.
	MaxTimeout Duration `yaml:"max_timeout" json:"max_timeout"`
	// MemoryMB is the default memory limit of a program's VM, in MiB. Default 64.
	MemoryMB int `yaml:"memory_mb" json:"memory_mb"`
	// MaxCalls is the default number of tool calls a program may make. Default 100.
	MaxCalls int `yaml:"max_calls" json:"max_calls"`
	// MaxConcurrentRuns bounds programs running at once; 0 means 4 per CPU.
	MaxConcurrentRuns int `yaml:"max_concurrent_runs" json:"max_concurrent_runs"`
	// MaxConcurrentRunsPerClient bounds the programs one client (API key)
	// runs at once; 0 means half of the run slots or of the CPUs, whichever
	// is smaller (at least 1). Freed slots
	// go to the waiting client that holds the fewest.
	MaxConcurrentRunsPerClient int `yaml:"max_concurrent_runs_per_client" json:"max_concurrent_runs_per_client"`
	// MaxMemoryMB is the largest VM memory limit a request may ask for, in
	// MiB (larger requests are clamped to it). Default 256.
	MaxMemoryMB int `yaml:"max_memory_mb" json:"max_memory_mb"`
	// MaxCallsCeiling is the largest max_calls a request may ask for
	// (larger requests are clamped to it). Default 1000.
	MaxCallsCeiling int `yaml:"max_calls_ceiling" json:"max_calls_ceiling"`
	// MaxSourceKB bounds a program's source, in KiB. Default 256.
	MaxSourceKB int `yaml:"max_source_kb" json:"max_source_kb"`
	// MaxNesting bounds how deeply a program nests (brackets, arrow
	// functions, operator and statement chains). Default 1000.
	MaxNesting int `yaml:"max_nesting" json:"max_nesting"`
}

// Plans holds plan execution and run-record settings.
type Plans struct {
	// MaxConcurrency bounds concurrent steps per run. Default 16.
	MaxConcurrency int `yaml:"max_concurrency" json:"max_concurrency"`
	// Retention drops run records older than this. Default 720h (30 days).
	Retention Duration `yaml:"retention" json:"retention"`
	// MaxRuns keeps at most this many run records. Default 10000.
	MaxRuns int `yaml:"max_runs" json:"max_runs"`
	// IdempotencyTTL is how long a step's result is reused for its idempotency key. Default 24h.
	IdempotencyTTL Duration `yaml:"idempotency_ttl" json:"idempotency_ttl"`
	// MaxSteps bounds the steps of a plan (nested plans included) and the
	// step records of a run. Default 1000.
	MaxSteps int `yaml:"max_steps" json:"max_steps"`
	// MaxDepth bounds how deeply plans nest. Default 8.
	MaxDepth int `yaml:"max_depth" json:"max_depth"`
	// MaxForeachItems bounds the foreach elements of one run, over all its
	// foreach steps. Default 10000.
	MaxForeachItems int `yaml:"max_foreach_items" json:"max_foreach_items"`
	// MaxResultBytes bounds one result as a run record stores it; a larger
	// result is stored as a preview with its size. Default 1048576 (1 MiB).
	MaxResultBytes int `yaml:"max_result_bytes" json:"max_result_bytes"`
	// MaxRecordBytes bounds the results one run record stores in all.
	// Default 8388608 (8 MiB).
	MaxRecordBytes int `yaml:"max_record_bytes" json:"max_record_bytes"`
	// MaxRunBytes bounds the result bytes a run holds in memory; the step
	// that goes past it fails. Default 67108864 (64 MiB).
	MaxRunBytes int `yaml:"max_run_bytes" json:"max_run_bytes"`
	// MaxConditionCost bounds the CEL cost of evaluating one when
	// condition. Default 100000.
	MaxConditionCost int `yaml:"max_condition_cost" json:"max_condition_cost"`
	// MaxRunConditionCost bounds the CEL cost of all condition evaluations
	// of one run together. Default 10000000.
	MaxRunConditionCost int `yaml:"max_run_condition_cost" json:"max_run_condition_cost"`
}

// Gateway holds the MCP endpoints and client authentication of weft serve.
type Gateway struct {
	// Endpoints are the MCP endpoints served over Streamable HTTP. Default:
	// one meta-mode endpoint at /mcp.
	Endpoints []Endpoint `yaml:"endpoints" json:"endpoints"`
	// APIKeys authenticate clients (Authorization: Bearer <key>). When
	// empty, no authentication is required (and weft serve refuses a
	// non-loopback address unless --insecure).
	APIKeys []APIKey `yaml:"api_keys" json:"api_keys,omitempty"`
	// AllowedOrigins lists the browser origins allowed to call /mcp and
	// /v1 (besides same-host requests); "*" allows any.
	AllowedOrigins []string `yaml:"allowed_origins" json:"allowed_origins,omitempty"`
	// MaxConcurrentPerClient bounds requests in flight per API key (or per
	// client address without keys). Default 32.
	MaxConcurrentPerClient int `yaml:"max_concurrent_per_client" json:"max_concurrent_per_client"`
}

// Endpoint is one MCP endpoint.
type Endpoint struct {
	// Path is the URL path, e.g. /mcp.
	Path string `yaml:"path" json:"path"`
	// Mode is "meta" (search_tools, describe_tools, call_tool, run_code,
	// run_plan) or "passthrough" (every upstream tool, resources, prompts...).
	Mode string `yaml:"mode" json:"mode"`
	// Servers limits the endpoint to these upstreams (all when empty).
	Servers []string `yaml:"servers" json:"servers,omitempty"`
	// Tools limits the endpoint to these catalog tool names or patterns
	// ("github__*"), all when empty.
	Tools []string `yaml:"tools" json:"tools,omitempty"`
}

// APIKey is one client credential. The key itself is never stored: Hash is
// "sha256:<hex of the key>" (see `weft keys hash`).
type APIKey struct {
	// Name identifies the client in logs, metrics and rate limits.
	Name string `yaml:"name" json:"name"`
	// Hash is "sha256:" + the hex SHA-256 of the key.
	Hash string `yaml:"hash" json:"hash"`
	// Servers and Tools restrict what the key may use (all when empty).
	Servers []string `yaml:"servers" json:"servers,omitempty"`
	Tools   []string `yaml:"tools" json:"tools,omitempty"`
	// RequestsPerMinute overrides limits.requests_per_minute for this key.
	RequestsPerMinute int `yaml:"requests_per_minute" json:"requests_per_minute,omitempty"`
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
