package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestDefault(t *testing.T) {
	c := Default()
	checks := []struct {
		name      string
		got, want any
	}{
		{"tool_timeout", c.Limits.ToolTimeout.D(), 30 * time.Second},
		{"max_concurrent_tools", c.Limits.MaxConcurrentTools, 10},
		{"requests_per_minute", c.Limits.RequestsPerMinute, 60},
		{"discovery_timeout", c.Limits.DiscoveryTimeout.D(), 10 * time.Second},
		{"queue_timeout", c.Limits.QueueTimeout.D(), 10 * time.Second},
		{"cache_ttl", c.Catalog.CacheTTL.D(), 24 * time.Hour},
		{"cache.dir", c.Cache.Dir, DefaultCacheDir()},
		{"analytics.backends", strings.Join(c.Analytics.Backends, ","), "prometheus,sqlite"},
		{"server.addr", c.Server.Addr, "127.0.0.1:8080"},
		{"server.shutdown_timeout", c.Server.ShutdownTimeout.D(), 15 * time.Second},
		{"server.max_body_bytes", c.Server.MaxBodyBytes, int64(4 << 20)},
		{"log.level", c.Log.Level, "info"},
		{"log.format", c.Log.Format, "text"},
		{"servers", len(c.Servers), 0},
		{"search.warm", c.Search.Warm, false},
		{"search.dense_weight", c.Search.DenseWeight, 0.3},
		{"search.embedder", c.Search.Embedder, Embedder{APIVersion: "2024-10-21", Auth: "key", BatchSize: 64,
			Timeout: Duration(30 * time.Second), CacheTTL: Duration(7 * 24 * time.Hour)}},
		{"search.cache_ttl", c.Search.CacheTTL.D(), time.Hour},
		{"cache.fallback", c.Cache.Fallback, true},
		{"cache.memory_max_bytes", c.Cache.MemoryMaxBytes, int64(64 << 20)},
		{"search.embedder.Enabled", c.Search.Embedder.Enabled(), false},
	}
	for _, ch := range checks {
		if !reflect.DeepEqual(ch.got, ch.want) {
			t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
		}
	}
	if c.Servers == nil {
		t.Error("Servers is nil, want an empty map")
	}
}

// TestParseEmpty checks that an empty or comment-only file gives the
// defaults.
func TestParseEmpty(t *testing.T) {
	for _, data := range []string{"", "# nothing here\n", "---\n", "servers:\n"} {
		c := mustParse(t, []byte(data), nil)
		want := Default()
		want.Path = "weft.yaml"
		if !reflect.DeepEqual(c, want) {
			t.Errorf("Parse(%q) = %+v, want the defaults", data, c)
		}
	}
}

func TestParseFull(t *testing.T) {
	c := mustParse(t, doc(
		"servers:",
		"  fs:",
		"    command: npx",
		"    args: [-y, server-fs, /tmp]",
		"    env: {A: \"1\", B: two}",
		"    cwd: /srv",
		"    inherit_env: [AWS_*, KUBECONFIG]",
		"    timeout: 1m30s",
		"    enabled: false",
		"    max_concurrency: 2",
		"    description: files",
		"    tags: [fs, local]",
		"limits:",
		"  tool_timeout: 45s",
		"  max_concurrent_tools: 20",
		"  requests_per_minute: 120",
		"  discovery_timeout: 5s",
		"  start_timeout: 3m",
		"  queue_timeout: 2s",
		"  max_concurrent_tools_per_client: 4",
		"  redis_fail_mode: open",
		"catalog: {cache_ttl: 1h}",
		"cache: {dir: /var/cache/weft}",
		"analytics: {backends: [prometheus], db_path: /var/lib/weft/a.db, retention_days: 7}",
		"server:",
		"  addr: \":9090\"",
		"  shutdown_timeout: 5s",
		"  max_body_bytes: 1024",
		"  gc_percent: 200",
		"  read_timeout: 1m",
		"  allowed_hosts: [weft.internal.example]",
		"log: {level: debug, format: json}",
		"search:",
		"  auto_max_tools: 5",
		"  auto_max_tokens: 100",
		"  warm: true",
		"  dense_weight: 0.45",
		"  embedder:",
		"    url: https://res.openai.azure.com",
		"    model: text-embedding-3-small",
		"    api_key: ${EMB_KEY}",
		"    azure_deployment: emb",
		"    api_version: 2025-01-01",
		"    auth: key",
		"    dimensions: 512",
		"    send_dimensions: true",
		"    batch_size: 16",
		"    timeout: 10s",
		"    cache_ttl: 24h",
		"code: {timeout: 10s, max_timeout: 1m, memory_mb: 32, max_calls: 7, max_concurrent_runs: 3, max_concurrent_runs_per_client: 2, max_memory_mb: 128, max_calls_ceiling: 50, max_source_kb: 64, max_nesting: 200}",
		"plans: {max_concurrency: 4, retention: 48h, max_runs: 9, idempotency_ttl: 1h, max_steps: 50, max_depth: 2,",
		"  max_foreach_items: 60, max_result_bytes: 1000, max_record_bytes: 5000, max_run_bytes: 9000, max_condition_cost: 70,",
		"  max_run_condition_cost: 700}",
		"gateway:",
		"  endpoints:",
		"    - {path: /mcp, mode: meta}",
		"    - {path: /mcp/all, mode: passthrough, servers: [fs], tools: [\"fs__*\"]}",
		"  api_keys:",
		"    - {name: ci, hash: \"sha256:"+strings.Repeat("ab", 32)+"\", servers: [fs], requests_per_minute: 10}",
		"  allowed_origins: [\"https://app.example\"]",
		"  max_concurrent_per_client: 8",
	), map[string]string{"EMB_KEY": "k-1"})
	enabled := false
	want := &Config{
		Servers: map[string]*Server{"fs": {
			Name: "fs", Transport: TransportStdio, Command: "npx", Args: []string{"-y", "server-fs", "/tmp"},
			Env: map[string]string{"A": "1", "B": "two"}, Cwd: "/srv", InheritEnv: []string{"AWS_*", "KUBECONFIG"}, Timeout: Duration(90 * time.Second),
			Enabled: &enabled, MaxConcurrency: 2, Description: "files", Tags: []string{"fs", "local"},
			Origin: "weft.yaml:2",
		}},
		Limits: Limits{
			ToolTimeout: Duration(45 * time.Second), MaxConcurrentTools: 20, RequestsPerMinute: 120,
			DiscoveryTimeout: Duration(5 * time.Second), StartTimeout: Duration(3 * time.Minute), QueueTimeout: Duration(2 * time.Second),
			MaxConcurrentToolsPerClient: 4, RedisFailMode: "open",
		},
		Catalog:   Catalog{CacheTTL: Duration(time.Hour)},
		Cache:     Cache{Dir: "/var/cache/weft", Fallback: true, MemoryMaxBytes: DefaultCacheMemoryMaxBytes},
		Analytics: Analytics{Backends: []string{"prometheus"}, DBPath: "/var/lib/weft/a.db", RetentionDays: 7, OTLP: AnalyticsOTLP{PushInterval: Duration(DefaultOTLPPushInterval)}},
		Server: HTTP{Addr: ":9090", ShutdownTimeout: Duration(5 * time.Second), MaxBodyBytes: 1024, GCPercent: 200,
			ReadTimeout: Duration(time.Minute), AllowedHosts: []string{"weft.internal.example"}},
		Log:       Log{Level: "debug", Format: "json"},
		Ask:       defaultAsk(),
		Telemetry: defaultTelemetry(),
		Runs:      defaultRuns(),
		Search: Search{AutoMaxTools: 5, AutoMaxTokens: 100, Warm: true, DenseWeight: 0.45, CacheTTL: Duration(time.Hour), Embedder: Embedder{
			URL: "https://res.openai.azure.com", Model: "text-embedding-3-small", APIKey: "k-1", AzureDeployment: "emb",
			APIVersion: "2025-01-01", Auth: "key", Dimensions: 512, SendDimensions: true, BatchSize: 16,
			Timeout: Duration(10 * time.Second), CacheTTL: Duration(24 * time.Hour),
		}},
		Code: Code{Timeout: Duration(10 * time.Second), MaxTimeout: Duration(time.Minute), MemoryMB: 32, MaxCalls: 7,
			MaxConcurrentRuns: 3, MaxConcurrentRunsPerClient: 2, MaxMemoryMB: 128, MaxCallsCeiling: 50, MaxSourceKB: 64, MaxNesting: 200},
		Plans: Plans{MaxConcurrency: 4, Retention: Duration(48 * time.Hour), MaxRuns: 9, IdempotencyTTL: Duration(time.Hour),
			MaxSteps: 50, MaxDepth: 2, MaxForeachItems: 60, MaxResultBytes: 1000, MaxRecordBytes: 5000, MaxRunBytes: 9000, MaxConditionCost: 70,
			MaxRunConditionCost: 700},
		Gateway: Gateway{
			Endpoints:      []Endpoint{{Path: "/mcp", Mode: "meta"}, {Path: "/mcp/all", Mode: "passthrough", Servers: []string{"fs"}, Tools: []string{"fs__*"}}},
			APIKeys:        []APIKey{{Name: "ci", Hash: "sha256:" + strings.Repeat("ab", 32), Servers: []string{"fs"}, RequestsPerMinute: 10}},
			AllowedOrigins: []string{"https://app.example"}, MaxConcurrentPerClient: 8,
		},
		Path: "weft.yaml",
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse:\n got %+v\nwant %+v", c, want)
	}
	if got := c.EnabledServers(); len(got) != 0 {
		t.Errorf("EnabledServers() = %v, want none (fs is disabled)", got)
	}
}

// TestStructureProblems covers unknown keys, duplicates, syntax errors and
// YAML features.
func TestStructureProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml []byte
		want string
	}{
		{"unknown top-level key", doc(
			"limit:",
			"  tool_timeout: 5s",
		), `weft.yaml:1: limit: unknown field; did you mean "limits"? (allowed: servers, mcp_servers_file, limits, catalog, cache, analytics, server, search, code, plans, gateway, log, models, ask, telemetry, runs, x-* (ignored; for YAML anchors))`},
		{"unknown nested keys, all reported", doc(
			"servers:",
			"  gh:",
			"    comand: x",
			"    urll: https://example.com",
			"limits:",
			"  timeout: 5s",
			"log:",
			"  colour: true",
		), `weft.yaml:3: servers.gh.comand: unknown field; did you mean "command"? (allowed: transport, command, args, env, cwd, inherit_env, url, headers, timeout, enabled, max_concurrency, description, tags, cache)
weft.yaml:4: servers.gh.urll: unknown field; did you mean "url"? (allowed: transport, command, args, env, cwd, inherit_env, url, headers, timeout, enabled, max_concurrency, description, tags, cache)
weft.yaml:6: limits.timeout: unknown field (allowed: tool_timeout, max_concurrent_tools, requests_per_minute, discovery_timeout, start_timeout, queue_timeout, redis_url, max_concurrent_tools_per_client, redis_fail_mode)
weft.yaml:8: log.colour: unknown field (allowed: level, format)`},
		{"duplicate keys", doc(
			"log:",
			"  level: info",
			"  level: debug",
		), `weft.yaml:3:3: YAML syntax error: mapping key "level" already defined at [2:3]`},
		{"syntax error", doc(
			"servers:",
			"  a: {command: x",
		), `weft.yaml:2:6: YAML syntax error: could not find flow mapping end token '}'`},
		{"tab indentation", doc(
			"servers:",
			"\ta: {}",
		), `weft.yaml:2:1: YAML syntax error: found character '	' that cannot start any token`},
		{"second document", doc(
			"log: {level: info}",
			"---",
			"log: {level: debug}",
		), `weft.yaml:3: a second YAML document (---) is not allowed; put everything in one`},
		{"unknown alias", doc(
			"servers:",
			"  a: *nope",
		), `weft.yaml:2: alias *nope refers to no anchor &nope defined above it
weft.yaml:2: servers.a: neither command nor url is set (command runs a stdio server; url reaches an http or sse server)`},
		{"not a mapping at all", doc(
			"- a",
			"- b",
		), `weft.yaml:1: expected a mapping, got a list`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseErr(t, tt.yaml, nil); got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

// TestAnchorsAndMerge checks that x-* keys hold anchors and that merge
// keys fill in without overriding.
func TestAnchorsAndMerge(t *testing.T) {
	c := mustParse(t, doc(
		"x-npx: &npx",
		"  command: npx",
		"  timeout: 10s",
		"  tags: [npm]",
		"servers:",
		"  a:",
		"    <<: *npx",
		"    args: [-y, pkg-a]",
		"  b:",
		"    <<: *npx",
		"    timeout: 20s",
		"    args: [-y, pkg-b]",
	), nil)
	a, b := c.Servers["a"], c.Servers["b"]
	if a.Command != "npx" || a.Timeout.D() != 10*time.Second || len(a.Tags) != 1 {
		t.Errorf("a = %+v, want command npx, timeout 10s, tags [npm]", a)
	}
	if b.Command != "npx" || b.Timeout.D() != 20*time.Second || b.Args[1] != "pkg-b" {
		t.Errorf("b = %+v, want command npx, timeout 20s (explicit wins), args [-y pkg-b]", b)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "weft.yaml", Line: 14, Path: "servers.github.timeout", Msg: `"3x": not a duration (e.g. 30s, 2m)`},
			`weft.yaml:14: servers.github.timeout: "3x": not a duration (e.g. 30s, 2m)`},
		{Problem{File: "mcp.json", Line: 3, Col: 7, Msg: "JSON syntax error: x"}, "mcp.json:3:7: JSON syntax error: x"},
		{Problem{File: "weft.yaml", Msg: "no such file"}, "weft.yaml: no such file"},
		{Problem{Path: "TOOL_TIMEOUT", Msg: `"abc": not a duration (e.g. 30s, 2m)`}, `TOOL_TIMEOUT: "abc": not a duration (e.g. 30s, 2m)`},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
	e := &Error{Problems: []Problem{tests[0].p, tests[3].p}}
	if got, want := e.Error(), tests[0].want+"\n"+tests[3].want; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
