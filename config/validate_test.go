package config

import "testing"

// TestValidationProblems checks the exact message, line and path of every
// validation rule.
func TestValidationProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml []byte
		env  map[string]string
		want string
	}{
		{"redis url", doc(
			"limits:",
			"  redis_url: http://user:hunter2@cache:6379",
		), nil, `weft.yaml:2: limits.redis_url: "http://user:****@cache:6379": not a Redis URL (e.g. redis://127.0.0.1:6379/0, rediss:// for TLS)`},
		{"per-client slots, redis fail mode, read timeout, allowed hosts", doc(
			"limits:",
			"  max_concurrent_tools: 4",
			"  max_concurrent_tools_per_client: 5",
			"  redis_fail_mode: maybe",
			"server:",
			"  read_timeout: 0s",
			"  allowed_hosts: [weft.example, \"http://x.example\", \"*.example\"]",
		), nil, `weft.yaml:3: limits.max_concurrent_tools_per_client: "5": must not exceed limits.max_concurrent_tools (4): a client's share of the slots
weft.yaml:4: limits.redis_fail_mode: "maybe": not a Redis failure mode (allowed: closed, open)
weft.yaml:6: server.read_timeout: "0s": must be positive (e.g. 30s, 2m)
weft.yaml:7: server.allowed_hosts[1]: "http://x.example": must be a host name without scheme, port or wildcard (e.g. weft.internal.example)
weft.yaml:7: server.allowed_hosts[2]: "*.example": must be a host name without scheme, port or wildcard (e.g. weft.internal.example)`},
		{"per-client slots negative", doc(
			"limits:",
			"  max_concurrent_tools_per_client: -1",
		), nil, `weft.yaml:2: limits.max_concurrent_tools_per_client: "-1": must not be negative (0: half of limits.max_concurrent_tools)`},
		{"code and plans", doc(
			"code:",
			"  timeout: 10m",
			"  max_timeout: 1m",
			"  memory_mb: 9000",
			"  max_concurrent_runs: -1",
			"  max_concurrent_runs_per_client: -2",
			"  max_nesting: 20000",
			"plans:",
			"  max_runs: 0",
		), nil, `weft.yaml:2: code.timeout: "10m": must not exceed code.max_timeout (1m)
weft.yaml:4: code.memory_mb: "9000": must be at most 512 (MiB)
weft.yaml:5: code.max_concurrent_runs: "-1": must not be negative (0 = 4 per CPU)
weft.yaml:6: code.max_concurrent_runs_per_client: "-2": must not be negative (0 = half of the run slots or of the CPUs, whichever is smaller)
weft.yaml:7: code.max_nesting: "20000": must be at most 10000: deeper nesting can exhaust the parser's stack
weft.yaml:9: plans.max_runs: "0": must be a positive integer`},
		{"code ceilings", doc(
			"code:",
			"  memory_mb: 300",
			"  max_calls: 200",
			"  max_calls_ceiling: 150",
			"  max_concurrent_runs: 4",
			"  max_concurrent_runs_per_client: 5",
		), nil, `weft.yaml:2: code.memory_mb: "300": must not exceed code.max_memory_mb (256)
weft.yaml:3: code.max_calls: "200": must not exceed code.max_calls_ceiling (150)
weft.yaml:6: code.max_concurrent_runs_per_client: "5": must not exceed code.max_concurrent_runs (4)`},
		{"plan limits", doc(
			"plans:",
			"  max_steps: 0",
			"  max_result_bytes: 2000000",
			"  max_record_bytes: 1000000",
		), nil, `weft.yaml:2: plans.max_steps: "0": must be a positive integer
weft.yaml:3: plans.max_result_bytes: "2000000": must not exceed plans.max_record_bytes (1000000)`},
		{"gateway endpoints", doc(
			"gateway:",
			"  endpoints:",
			"    - {path: mcp, mode: meta}",
			"    - {path: /v1/mcp, mode: meta}",
			"    - {path: /x, mode: proxy}",
			"    - {path: /x}",
			"    - {path: /y, mode: meta, colour: red}",
		), nil, `weft.yaml:3: gateway.endpoints[0].path: "mcp": must be a URL path starting with / (e.g. /mcp)
weft.yaml:4: gateway.endpoints[1].path: "/v1/mcp": is reserved for weft's own routes (/v1, /healthz, /health, /readyz, /metrics)
weft.yaml:5: gateway.endpoints[2].mode: "proxy": not an endpoint mode (allowed: meta, passthrough)
weft.yaml:6: gateway.endpoints[3].path: "/x": is already used by gateway.endpoints[2]
weft.yaml:6: gateway.endpoints[3].mode: is required (meta or passthrough)
weft.yaml:7: gateway.endpoints[4].colour: unknown field (allowed: path, mode, servers, tools)`},
		{"api keys", doc(
			"gateway:",
			"  api_keys:",
			"    - {name: a, hash: \"sha256:abc\"}",
			"    - {hash: \"sha256:"+"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"+"\"}",
			"    - {name: a, hash: \"sha256:"+"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"+"\", requests_per_minute: -1}",
		), nil, `weft.yaml:3: gateway.api_keys[0].hash: must be "sha256:" followed by 64 lowercase hex digits (run: weft keys hash)
weft.yaml:4: gateway.api_keys[1].name: is required (it names the client in logs and limits)
weft.yaml:5: gateway.api_keys[2].name: "a": is already used by gateway.api_keys[0]
weft.yaml:5: gateway.api_keys[2].requests_per_minute: "-1": must not be negative`},
		{"bad duration", doc(
			"servers:",
			"  github:",
			"    url: https://example.com/mcp",
			"    timeout: 3x",
		), nil, `weft.yaml:4: servers.github.timeout: "3x": not a duration (e.g. 30s, 2m)`},
		{"bare number is not a duration", doc(
			"limits:",
			"  tool_timeout: 30",
		), nil, `weft.yaml:2: limits.tool_timeout: "30": not a duration (e.g. 30s, 2m)`},
		{"negative server timeout", doc(
			"servers:",
			"  a:",
			"    command: x",
			"    timeout: -5s",
		), nil, `weft.yaml:4: servers.a.timeout: "-5s": must not be negative (0 means limits.tool_timeout)`},
		{"zero tool timeout", doc(
			"limits:",
			"  tool_timeout: 0s",
		), nil, `weft.yaml:2: limits.tool_timeout: "0s": must be positive (e.g. 30s, 2m)`},
		{"positive ints", doc(
			"limits:",
			"  max_concurrent_tools: 0",
			"  requests_per_minute: -3",
			"server:",
			"  max_body_bytes: 0",
		), nil, `weft.yaml:2: limits.max_concurrent_tools: "0": must be a positive integer
weft.yaml:3: limits.requests_per_minute: "-3": must be a positive integer
weft.yaml:5: server.max_body_bytes: "0": must be a positive integer`},
		{"not an integer", doc(
			"limits:",
			"  max_concurrent_tools: ten",
		), nil, `weft.yaml:2: limits.max_concurrent_tools: "ten": not an integer`},
		{"negative max_concurrency", doc(
			"servers:",
			"  a:",
			"    command: x",
			"    max_concurrency: -1",
		), nil, `weft.yaml:4: servers.a.max_concurrency: "-1": must not be negative (0 means only the global limit)`},
		{"other durations", doc(
			"limits:",
			"  discovery_timeout: 0s",
			"  queue_timeout: soon",
			"catalog:",
			"  cache_ttl: -1h",
			"server:",
			"  shutdown_timeout: 0s",
		), nil, `weft.yaml:2: limits.discovery_timeout: "0s": must be positive (e.g. 30s, 2m)
weft.yaml:3: limits.queue_timeout: "soon": not a duration (e.g. 30s, 2m)
weft.yaml:5: catalog.cache_ttl: "-1h": must not be negative (0 rediscovers tools at every start)
weft.yaml:7: server.shutdown_timeout: "0s": must be positive (e.g. 30s, 2m)`},
		{"bad transport", doc(
			"servers:",
			"  a:",
			"    transport: ws",
			"    url: https://example.com",
		), nil, `weft.yaml:3: servers.a.transport: "ws": not a transport (allowed: stdio, http, sse)`},
		{"neither command nor url", doc(
			"servers:",
			"  a:",
			"    description: nothing to run",
		), nil, `weft.yaml:2: servers.a: neither command nor url is set (command runs a stdio server; url reaches an http or sse server)`},
		{"empty server", doc(
			"servers:",
			"  a:",
		), nil, `weft.yaml:2: servers.a: neither command nor url is set (command runs a stdio server; url reaches an http or sse server)`},
		{"both command and url", doc(
			"servers:",
			"  a:",
			"    command: x",
			"    url: https://example.com/mcp",
		), nil, `weft.yaml:2: servers.a: both command and url are set (command runs a stdio server; url reaches an http or sse server: keep one)`},
		{"stdio without command, with url", doc(
			"servers:",
			"  a:",
			"    transport: stdio",
			"    url: https://example.com/mcp",
		), nil, `weft.yaml:2: servers.a: transport stdio needs command (the program to run)
weft.yaml:4: servers.a.url: "https://example.com/mcp": url is for http and sse servers; this server's transport is stdio`},
		{"http without url, with command", doc(
			"servers:",
			"  a:",
			"    transport: http",
			"    command: x",
		), nil, `weft.yaml:2: servers.a: transport http needs url (e.g. https://example.com/mcp)
weft.yaml:4: servers.a.command: "x": command is for stdio servers; this server's transport is http`},
		{"sse with stdio fields", doc(
			"servers:",
			"  a:",
			"    transport: sse",
			"    url: http://localhost:9000/sse",
			"    args: [a]",
			"    env:",
			"      K: v",
			"    cwd: /tmp",
		), nil, `weft.yaml:5: servers.a.args: args is for stdio servers; this server's transport is sse
weft.yaml:6: servers.a.env: env is for stdio servers; this server's transport is sse
weft.yaml:8: servers.a.cwd: cwd is for stdio servers; this server's transport is sse`},
		{"stdio with headers", doc(
			"servers:",
			"  a:",
			"    command: x",
			"    headers:",
			"      X-Key: v",
		), nil, `weft.yaml:4: servers.a.headers: headers are for http and sse servers; this server's transport is stdio`},
		{"url not http", doc(
			"servers:",
			"  a:",
			"    url: ftp://example.com/mcp",
			"  b:",
			"    url: example.com/mcp",
			"  c:",
			"    transport: sse",
			"    url: http://",
		), nil, `weft.yaml:3: servers.a.url: "ftp://example.com/mcp": not an http(s) URL (e.g. https://example.com/mcp)
weft.yaml:5: servers.b.url: "example.com/mcp": not an http(s) URL (e.g. https://example.com/mcp)
weft.yaml:8: servers.c.url: "http://": not an http(s) URL (e.g. https://example.com/mcp)`},
		{"bad url is quoted redacted", doc(
			"servers:",
			"  a:",
			"    url: ftp://user:hunter2@example.com/mcp?api_key=s3cret&x=1",
		), nil, `weft.yaml:3: servers.a.url: "ftp://user:****@example.com/mcp?api_key=****&x=1": not an http(s) URL (e.g. https://example.com/mcp)`},
		{"bad header name", doc(
			"servers:",
			"  a:",
			"    url: https://example.com/mcp",
			"    headers:",
			"      \"Bad Header\": v",
		), nil, `weft.yaml:5: servers.a.headers."Bad Header": not a valid header name (allowed: letters, digits and !#$%&'*+-.^_` + "`" + `|~)`},
		{"bad env name", doc(
			"servers:",
			"  a:",
			"    command: x",
			"    env:",
			"      \"A=B\": v",
		), nil, `weft.yaml:5: servers.a.env."A=B": not a valid environment variable name (no "=" or NUL, not empty)`},
		{"bad inherit_env", doc(
			"servers:",
			"  a:",
			"    command: x",
			"    inherit_env: [AWS_*, \"A*B\"]",
			"  h:",
			"    url: https://h/mcp",
			"    inherit_env: [HOME]",
		), nil, `weft.yaml:4: servers.a.inherit_env[1]: "A*B": not a variable name, a prefix ending in "*" (AWS_*) or "*"
weft.yaml:7: servers.h.inherit_env: inherit_env is for stdio servers; this server's transport is http`},
		{"server names", doc(
			"servers:",
			"  \"my server\":",
			"    command: x",
			"  a__b:",
			"    command: x",
			"  "+string(make([]byte, 0))+"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:",
			"    command: x",
			"  github.com:",
			"    command: x",
		), nil, `weft.yaml:2: servers."my server": not a valid server name (allowed: 1 to 64 letters, digits, _ and -)
weft.yaml:4: servers.a__b: not a valid server name: "__" separates server and tool in catalog names (use a single _ or -)
weft.yaml:6: servers.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa: not a valid server name (allowed: 1 to 64 letters, digits, _ and -)
weft.yaml:8: servers."github.com": not a valid server name (allowed: 1 to 64 letters, digits, _ and -)`},
		{"log and analytics values", doc(
			"log:",
			"  level: verbose",
			"  format: xml",
			"analytics:",
			"  backends: [sqlite, influx, sqlite]",
			"  retention_days: 0",
			"  otlp: {push_interval: 10ms}",
		), nil, `weft.yaml:2: log.level: "verbose": not a log level (allowed: debug, info, warn, error)
weft.yaml:3: log.format: "xml": not a log format (allowed: text, json)
weft.yaml:5: analytics.backends[1]: "influx": not an analytics backend (allowed: prometheus, otlp, sqlite; /metrics is served with none of them)
weft.yaml:5: analytics.backends[2]: "sqlite": is listed twice
weft.yaml:6: analytics.retention_days: "0": must be at least 1 (days of call records kept)
weft.yaml:7: analytics.otlp.push_interval: "10ms": must be at least 1s`},
		{"otlp backend without endpoint", doc(
			"analytics:",
			"  backends: prometheus, otlp",
		), nil, `weft.yaml:1: analytics.otlp.endpoint: is required with the otlp analytics backend (or set OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT)`},
		{"addr", doc(
			"server:",
			"  addr: localhost",
		), nil, `weft.yaml:2: server.addr: "localhost": not host:port (e.g. 127.0.0.1:8080, :8080)`},
		{"addr port", doc(
			"server:",
			"  addr: \"localhost:http\"",
		), nil, `weft.yaml:2: server.addr: "localhost:http": port must be a number from 0 to 65535 (e.g. 127.0.0.1:8080)`},
		{"empty cache dir", doc(
			"cache:",
			"  dir: \"\"",
		), nil, `weft.yaml:2: cache.dir: must not be empty (a directory for persisted state)`},
		{"enabled not a boolean", doc(
			"servers:",
			"  a:",
			"    command: x",
			"    enabled: yes please",
		), nil, `weft.yaml:4: servers.a.enabled: "yes please": not a boolean (allowed: true, false)`},
		{"wrong shapes", doc(
			"servers:",
			"  a:",
			"    command: [x]",
			"    args: x",
			"    env: [x]",
			"limits: 5",
			"servers2: {}",
		), nil, `weft.yaml:3: servers.a.command: expected a string, got a list
weft.yaml:4: servers.a.args: expected a list of strings, got a value
weft.yaml:5: servers.a.env: expected a mapping, got a list
weft.yaml:6: limits: expected a mapping, got a value
weft.yaml:7: servers2: unknown field; did you mean "servers"? (allowed: servers, mcp_servers_file, limits, catalog, cache, analytics, server, search, code, plans, gateway, log, models, ask, telemetry, runs, x-* (ignored; for YAML anchors))`},
		{"null list item", doc(
			"servers:",
			"  a:",
			"    command: x",
			"    args: [a, null]",
		), nil, `weft.yaml:4: servers.a.args[1]: expected a string, got nothing (null)`},
		{"servers not a mapping", doc(
			"servers:",
			"  - a",
		), nil, `weft.yaml:2: servers: expected a mapping, got a list`},
		{"a bad field does not hide a missing command", doc(
			"servers:",
			"  a:",
			"    timeout: 1y",
		), nil, `weft.yaml:2: servers.a: neither command nor url is set (command runs a stdio server; url reaches an http or sse server)
weft.yaml:3: servers.a.timeout: "1y": not a duration (e.g. 30s, 2m)`},
		{"search embedder values", doc(
			"search:",
			"  dense_weight: 1.5",
			"  embedder:",
			"    url: ftp://x/v1?api_key=s3cret",
			"    api_key: hunter2",
			"    auth: oauth",
			"    dimensions: -1",
			"    batch_size: 0",
			"    timeout: 0s",
			"    cache_ttl: -1h",
		), nil, `weft.yaml:2: search.dense_weight: "1.5": must be greater than 0 and at most 1 (e.g. 0.3)
weft.yaml:3: search.embedder.model: is required when url is set (the embedding model, e.g. text-embedding-3-small; for Azure OpenAI set azure_deployment)
weft.yaml:4: search.embedder.url: "ftp://x/v1?api_key=****": not an http(s) URL (e.g. https://api.openai.com/v1)
weft.yaml:6: search.embedder.auth: "oauth": not an embedder auth method (allowed: key, entra)
weft.yaml:7: search.embedder.dimensions: "-1": must not be negative (0 takes the model's)
weft.yaml:8: search.embedder.batch_size: "0": must be a positive integer
weft.yaml:9: search.embedder.timeout: "0s": must be positive (e.g. 30s, 2m)
weft.yaml:10: search.embedder.cache_ttl: "-1h": must not be negative (0 keeps vectors until the model changes)`},
		{"search embedder for azure", doc(
			"search:",
			"  embedder:",
			"    url: http://res.openai.azure.com",
			"    azure_deployment: emb",
			"    api_version: \"\"",
			"    send_dimensions: true",
		), nil, `weft.yaml:2: search.embedder.api_key: is required for Azure OpenAI with auth: key (or set auth: entra for Entra ID)
weft.yaml:3: search.embedder.url: "http://res.openai.azure.com": Azure OpenAI needs an https URL (e.g. https://NAME.openai.azure.com)
weft.yaml:5: search.embedder.api_version: must not be empty for Azure OpenAI (e.g. 2024-10-21)
weft.yaml:6: search.embedder.send_dimensions: needs dimensions (the vector length to ask the model for)`},
		{"search embedder entra without azure", doc(
			"search:",
			"  embedder:",
			"    url: https://api.openai.com/v1",
			"    model: text-embedding-3-small",
			"    auth: entra",
		), nil, `weft.yaml:5: search.embedder.auth: "entra": Entra ID is for Azure OpenAI (set azure_deployment, or use auth: key)`},
		{"search embedder without url", doc(
			"search:",
			"  embedder:",
			"    model: nomic-embed-text",
		), nil, `weft.yaml:2: search.embedder.url: is required when search.embedder is configured (e.g. https://api.openai.com/v1, or https://NAME.openai.azure.com for Azure OpenAI)`},
		{"search embedder api_key is never quoted", doc(
			"search:",
			"  warm: sometimes",
			"  dense_weight: heavy",
			"  embedder:",
			"    url: https://res.openai.azure.com",
			"    azure_deployment: emb",
			"    api_key: sk-${EMB_KEY}",
			"    colour: red",
		), nil, `weft.yaml:2: search.warm: "sometimes": not a boolean (allowed: true, false)
weft.yaml:3: search.dense_weight: "heavy": not a number (e.g. 0.3)
weft.yaml:7: search.embedder.api_key: environment variable EMB_KEY is not set (set it, or give a default: ${EMB_KEY:-value})
weft.yaml:8: search.embedder.colour: unknown field (allowed: url, model, api_key, azure_deployment, api_version, auth, dimensions, send_dimensions, batch_size, timeout, cache_ttl)`},
		{"all problems at once, in line order", doc(
			"log:",
			"  level: loud",
			"servers:",
			"  a:",
			"    command: x",
			"    timeout: 1y",
			"limits:",
			"  tool_timeout: 0s",
		), map[string]string{"WEFT_ADDR": "nope"}, `weft.yaml:2: log.level: "loud": not a log level (allowed: debug, info, warn, error)
weft.yaml:6: servers.a.timeout: "1y": not a duration (e.g. 30s, 2m)
weft.yaml:8: limits.tool_timeout: "0s": must be positive (e.g. 30s, 2m)
WEFT_ADDR: "nope": not host:port (e.g. 127.0.0.1:8080, :8080)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseErr(t, tt.yaml, tt.env); got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestTransportInference checks that a server's transport is filled in
// from command or url, and kept when given.
func TestTransportInference(t *testing.T) {
	c := mustParse(t, doc(
		"servers:",
		"  s:",
		"    command: x",
		"  h:",
		"    url: https://example.com/mcp",
		"  e:",
		"    transport: sse",
		"    url: http://127.0.0.1:9/sse",
	), nil)
	for name, want := range map[string]Transport{"s": TransportStdio, "h": TransportHTTP, "e": TransportSSE} {
		if got := c.Servers[name].Transport; got != want {
			t.Errorf("servers.%s.transport = %q, want %q", name, got, want)
		}
		if got := c.Servers[name].Name; got != name {
			t.Errorf("servers.%s.Name = %q", name, got)
		}
	}
	if got := c.Servers["h"].Origin; got != "weft.yaml:4" {
		t.Errorf("Origin = %q, want weft.yaml:4", got)
	}
}
