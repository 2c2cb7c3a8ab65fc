package config

import (
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// validator checks a merged configuration and reports each problem at the
// origin of the value concerned.
type validator struct {
	orig  *origins
	probs *problems
}

// at reports msg about key without quoting its value.
func (v *validator) at(key, msg string) {
	o, ok := v.orig.at[key]
	if !ok {
		// A missing field: locate it at its nearest enclosing value.
		o = origin{Path: key}
		for parent := parentKey(key); parent != ""; parent = parentKey(parent) {
			if po, found := v.orig.at[parent]; found {
				o.File, o.Line = po.File, po.Line
				break
			}
		}
	}
	v.probs.add(Problem{File: o.File, Line: o.Line, Path: o.Path, Msg: msg})
}

// value reports msg about key, quoting the value as written (the text
// before ${VAR} expansion when it came from a file or variable, else
// value). Secrets are never quoted.
func (v *validator) value(key, value, msg string) {
	o, ok := v.orig.at[key]
	if ok && o.Secret {
		v.at(key, msg)
		return
	}
	if ok && o.Raw != "" {
		value = o.Raw
	}
	if strings.HasSuffix(key, "url") { // url, redis_url: mask credentials
		value = redactURLText(value)
	}
	v.at(key, quote(value)+": "+msg)
}

// parentKey strips the last ".field" or "[i]" segment of a key.
func parentKey(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i <= 0 {
		return ""
	}
	return key[:i]
}

func (v *validator) broken(key string) bool { return v.orig.broken[key] }

// transportUnclear reports whether a problem already found in the server
// at key (a bad command, url or transport, an unknown field such as a
// misspelt "comand", a server that is not a mapping) leaves its transport
// unclear. Problems in other fields do not.
func (v *validator) transportUnclear(key string) bool {
	for k := range v.orig.broken {
		if k == key {
			return true
		}
		if !strings.HasPrefix(k, key+".") {
			continue
		}
		field := strings.TrimPrefix(k, key+".")
		if i := strings.IndexAny(field, ".["); i >= 0 {
			field = field[:i]
		}
		switch field {
		case "timeout", "enabled", "max_concurrency", "description", "tags", "args", "env", "cwd", "inherit_env", "headers", "cache":
		default:
			return true
		}
	}
	return false
}

var serverName = namePattern // ^[a-zA-Z0-9_-]{1,64}$

// validate checks c, infers each server's transport, and reports problems.
func validate(c *Config, orig *origins, probs *problems) {
	v := &validator{orig: orig, probs: probs}
	names := make([]string, 0, len(c.Servers))
	for name := range c.Servers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		v.server(name, c.Servers[name])
	}

	l := c.Limits
	v.positiveDuration("limits.tool_timeout", l.ToolTimeout)
	v.positiveInt("limits.max_concurrent_tools", int64(l.MaxConcurrentTools))
	v.positiveInt("limits.requests_per_minute", int64(l.RequestsPerMinute))
	v.positiveDuration("limits.discovery_timeout", l.DiscoveryTimeout)
	v.positiveDuration("limits.start_timeout", l.StartTimeout)
	v.positiveDuration("limits.queue_timeout", l.QueueTimeout)
	switch {
	case l.MaxConcurrentToolsPerClient < 0:
		v.value("limits.max_concurrent_tools_per_client", strconv.Itoa(l.MaxConcurrentToolsPerClient),
			"must not be negative (0: half of limits.max_concurrent_tools)")
	case l.MaxConcurrentToolsPerClient > l.MaxConcurrentTools && l.MaxConcurrentTools > 0 && !v.broken("limits.max_concurrent_tools"):
		v.value("limits.max_concurrent_tools_per_client", strconv.Itoa(l.MaxConcurrentToolsPerClient),
			"must not exceed limits.max_concurrent_tools ("+strconv.Itoa(l.MaxConcurrentTools)+"): a client's share of the slots")
	}
	v.oneOf("limits.redis_fail_mode", l.RedisFailMode, "a Redis failure mode", "closed", "open")
	if l.RedisURL != "" && !v.broken("limits.redis_url") {
		if u, err := url.Parse(l.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			v.value("limits.redis_url", l.RedisURL, "not a Redis URL (e.g. redis://127.0.0.1:6379/0, rediss:// for TLS)")
		}
	}
	if c.Catalog.CacheTTL < 0 {
		v.value("catalog.cache_ttl", c.Catalog.CacheTTL.String(), "must not be negative (0 rediscovers tools at every start)")
	}
	if strings.TrimSpace(c.Cache.Dir) == "" {
		v.at("cache.dir", "must not be empty (a directory for persisted state)")
	}
	v.cache(c)
	v.analytics(c)
	if !v.broken("server.addr") {
		if msg := checkAddr(c.Server.Addr); msg != "" {
			v.value("server.addr", c.Server.Addr, msg)
		}
	}
	v.positiveDuration("server.shutdown_timeout", c.Server.ShutdownTimeout)
	v.positiveInt("server.max_body_bytes", c.Server.MaxBodyBytes)
	v.positiveDuration("server.read_timeout", c.Server.ReadTimeout)
	for i, h := range c.Server.AllowedHosts {
		if h == "" || strings.ContainsAny(h, "/:@ *") {
			v.value(fmt.Sprintf("server.allowed_hosts[%d]", i), h, "must be a host name without scheme, port or wildcard (e.g. weft.internal.example)")
		}
	}
	if c.Server.GCPercent < 0 {
		v.value("server.gc_percent", strconv.Itoa(c.Server.GCPercent), "must not be negative (0 leaves Go's default)")
	}
	v.positiveInt("search.auto_max_tools", int64(c.Search.AutoMaxTools))
	v.positiveInt("search.auto_max_tokens", int64(c.Search.AutoMaxTokens))
	if (c.Search.DenseWeight <= 0 || c.Search.DenseWeight > 1) && !v.broken("search.dense_weight") {
		v.value("search.dense_weight", strconv.FormatFloat(c.Search.DenseWeight, 'g', -1, 64), "must be greater than 0 and at most 1 (e.g. 0.3)")
	}
	v.embedder(&c.Search.Embedder)
	v.positiveDuration("code.timeout", c.Code.Timeout)
	v.positiveDuration("code.max_timeout", c.Code.MaxTimeout)
	if c.Code.Timeout > c.Code.MaxTimeout && !v.broken("code.timeout") && !v.broken("code.max_timeout") {
		v.value("code.timeout", c.Code.Timeout.String(), "must not exceed code.max_timeout ("+c.Code.MaxTimeout.String()+")")
	}
	v.positiveInt("code.memory_mb", int64(c.Code.MemoryMB))
	if c.Code.MemoryMB > 512 && !v.broken("code.memory_mb") {
		v.value("code.memory_mb", strconv.Itoa(c.Code.MemoryMB), "must be at most 512 (MiB)")
	}
	v.positiveInt("code.max_calls", int64(c.Code.MaxCalls))
	if c.Code.MaxConcurrentRuns < 0 {
		v.value("code.max_concurrent_runs", strconv.Itoa(c.Code.MaxConcurrentRuns), "must not be negative (0 = 4 per CPU)")
	}
	v.code(&c.Code)
	v.positiveInt("plans.max_concurrency", int64(c.Plans.MaxConcurrency))
	v.positiveDuration("plans.retention", c.Plans.Retention)
	v.positiveInt("plans.max_runs", int64(c.Plans.MaxRuns))
	v.positiveDuration("plans.idempotency_ttl", c.Plans.IdempotencyTTL)
	v.positiveInt("plans.max_steps", int64(c.Plans.MaxSteps))
	v.positiveInt("plans.max_depth", int64(c.Plans.MaxDepth))
	v.positiveInt("plans.max_foreach_items", int64(c.Plans.MaxForeachItems))
	v.positiveInt("plans.max_result_bytes", int64(c.Plans.MaxResultBytes))
	v.positiveInt("plans.max_record_bytes", int64(c.Plans.MaxRecordBytes))
	v.positiveInt("plans.max_run_bytes", int64(c.Plans.MaxRunBytes))
	v.positiveInt("plans.max_condition_cost", int64(c.Plans.MaxConditionCost))
	v.positiveInt("plans.max_run_condition_cost", int64(c.Plans.MaxRunConditionCost))
	if c.Plans.MaxResultBytes > c.Plans.MaxRecordBytes && !v.broken("plans.max_result_bytes") && !v.broken("plans.max_record_bytes") {
		v.value("plans.max_result_bytes", strconv.Itoa(c.Plans.MaxResultBytes), "must not exceed plans.max_record_bytes ("+strconv.Itoa(c.Plans.MaxRecordBytes)+")")
	}
	v.gateway(&c.Gateway)
	v.models(c)
	v.tracing(c.Telemetry.Tracing)
	v.runs(c.Runs)
	v.mcpNamesInScopes(c)
	v.oneOf("log.level", c.Log.Level, "a log level", "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "a log format", "text", "json")
}

func (v *validator) positiveDuration(key string, d Duration) {
	if d <= 0 && !v.broken(key) {
		v.value(key, d.String(), "must be positive (e.g. 30s, 2m)")
	}
}

func (v *validator) positiveInt(key string, n int64) {
	if n <= 0 && !v.broken(key) {
		v.value(key, strconv.FormatInt(n, 10), "must be a positive integer")
	}
}

func (v *validator) oneOf(key, value, what string, allowed ...string) {
	if !slices.Contains(allowed, value) && !v.broken(key) {
		v.value(key, value, fmt.Sprintf("not %s (allowed: %s)", what, strings.Join(allowed, ", ")))
	}
}

// checkAddr returns "" for a valid host:port listen address.
func checkAddr(addr string) string {
	const msg = "not host:port (e.g. 127.0.0.1:8080, :8080)"
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return msg
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "port must be a number from 0 to 65535 (e.g. 127.0.0.1:8080)"
	}
	return ""
}

func (v *validator) server(name string, s *Server) {
	key := "servers." + segment(name)
	switch {
	case !serverName.MatchString(name):
		v.at(key, "not a valid server name (allowed: 1 to 64 letters, digits, _ and -)")
	case strings.Contains(name, "__"):
		v.at(key, `not a valid server name: "__" separates server and tool in catalog names (use a single _ or -)`)
	}

	hasCmd, hasURL := s.Command != "", s.URL != ""
	if v.transportUnclear(key) {
		return // already reported; a consistency message would only add noise
	}
	switch s.Transport {
	case "":
		switch {
		case hasCmd && hasURL:
			v.at(key, "both command and url are set (command runs a stdio server; url reaches an http or sse server: keep one)")
			return
		case hasCmd:
			s.Transport = TransportStdio
		case hasURL:
			s.Transport = TransportHTTP
		default:
			v.at(key, "neither command nor url is set (command runs a stdio server; url reaches an http or sse server)")
			return
		}
	case TransportStdio:
		if !hasCmd {
			v.at(key, "transport stdio needs command (the program to run)")
		}
		if hasURL {
			v.value(key+".url", s.URL, "url is for http and sse servers; this server's transport is stdio")
		}
	case TransportHTTP, TransportSSE:
		if !hasURL {
			v.at(key, fmt.Sprintf("transport %s needs url (e.g. https://example.com/mcp)", s.Transport))
		}
		if hasCmd {
			v.value(key+".command", s.Command, fmt.Sprintf("command is for stdio servers; this server's transport is %s", s.Transport))
		}
	default:
		v.value(key+".transport", string(s.Transport), "not a transport (allowed: stdio, http, sse)")
		return
	}

	if s.Transport == TransportStdio {
		if len(s.Headers) > 0 {
			v.at(key+".headers", "headers are for http and sse servers; this server's transport is stdio")
		}
		for k := range s.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				v.at(key+".env."+segment(k), `not a valid environment variable name (no "=" or NUL, not empty)`)
			}
		}
		for i, e := range s.InheritEnv {
			if name := strings.TrimSuffix(e, "*"); (name == "" && e != "*") || strings.ContainsAny(name, "=*\x00") {
				v.value(fmt.Sprintf("%s.inherit_env[%d]", key, i), e, `not a variable name, a prefix ending in "*" (AWS_*) or "*"`)
			}
		}
	} else {
		for _, f := range []struct {
			name string
			set  bool
		}{{"args", len(s.Args) > 0}, {"env", len(s.Env) > 0}, {"cwd", s.Cwd != ""}, {"inherit_env", len(s.InheritEnv) > 0}} {
			if f.set {
				v.at(key+"."+f.name, fmt.Sprintf("%s is for stdio servers; this server's transport is %s", f.name, s.Transport))
			}
		}
		if hasURL {
			if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				v.value(key+".url", s.URL, "not an http(s) URL (e.g. https://example.com/mcp)")
			}
		}
		for k := range s.Headers {
			if !isToken(k) {
				v.at(key+".headers."+segment(k), "not a valid header name (allowed: letters, digits and !#$%&'*+-.^_`|~)")
			}
		}
	}
	if s.Timeout < 0 {
		v.value(key+".timeout", s.Timeout.String(), "must not be negative (0 means limits.tool_timeout)")
	}
	if s.MaxConcurrency < 0 {
		v.value(key+".max_concurrency", strconv.Itoa(s.MaxConcurrency), "must not be negative (0 means only the global limit)")
	}
}

// isToken reports whether s is an RFC 9110 token (a valid header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

var (
	apiKeyHash = bytePattern{prefix: "sha256:", min: 64, max: 64, rest: isLowerHex} // ^sha256:[0-9a-f]{64}$
	// reservedPaths are served by weft itself and cannot be MCP endpoints.
	reservedPaths = []string{"/v1", "/healthz", "/health", "/readyz", "/metrics"}
)

func (v *validator) gateway(g *Gateway) {
	paths := map[string]int{}
	for i, e := range g.Endpoints {
		key := fmt.Sprintf("gateway.endpoints[%d]", i)
		switch {
		case v.broken(key + ".path"):
		case !strings.HasPrefix(e.Path, "/") || strings.ContainsAny(e.Path, " ?#{}"):
			v.value(key+".path", e.Path, "must be a URL path starting with / (e.g. /mcp)")
		default:
			for _, r := range reservedPaths {
				if e.Path == r || strings.HasPrefix(e.Path, r+"/") {
					v.value(key+".path", e.Path, "is reserved for weft's own routes ("+strings.Join(reservedPaths, ", ")+")")
				}
			}
			if j, dup := paths[e.Path]; dup {
				v.value(key+".path", e.Path, fmt.Sprintf("is already used by gateway.endpoints[%d]", j))
			}
			paths[e.Path] = i
		}
		if e.Mode == "" {
			v.at(key+".mode", "is required (meta or passthrough)")
		} else {
			v.oneOf(key+".mode", e.Mode, "an endpoint mode", "meta", "passthrough")
		}
	}
	names := map[string]int{}
	for i, k := range g.APIKeys {
		key := fmt.Sprintf("gateway.api_keys[%d]", i)
		if k.Name == "" {
			v.at(key+".name", "is required (it names the client in logs and limits)")
		} else if j, dup := names[k.Name]; dup {
			v.value(key+".name", k.Name, fmt.Sprintf("is already used by gateway.api_keys[%d]", j))
		} else {
			names[k.Name] = i
		}
		if !apiKeyHash.MatchString(k.Hash) && !v.broken(key+".hash") {
			v.at(key+".hash", `must be "sha256:" followed by 64 lowercase hex digits (run: weft keys hash)`)
		}
		if k.RequestsPerMinute < 0 {
			v.value(key+".requests_per_minute", strconv.Itoa(k.RequestsPerMinute), "must not be negative")
		}
	}
	v.positiveInt("gateway.max_concurrent_per_client", int64(g.MaxConcurrentPerClient))
}

// mcpNamesInScopes reports endpoint and API-key scopes that name a server
// by the name an mcp.json gives it where weft uses a derived one (the
// scope would silently match nothing).
func (v *validator) mcpNamesInScopes(c *Config) {
	derived := map[string]string{}
	for name, s := range c.Servers {
		if s != nil && s.MCPName != "" {
			derived[s.MCPName] = name
		}
	}
	if len(derived) == 0 {
		return
	}
	check := func(key string, servers, tools []string) {
		for j, s := range servers {
			if n, ok := derived[s]; ok {
				v.value(fmt.Sprintf("%s.servers[%d]", key, j), s, fmt.Sprintf("is the mcp.json name of server %s: use %s", n, n))
			}
		}
		for j, p := range tools {
			for orig, n := range derived {
				if strings.HasPrefix(p, orig+"__") {
					v.value(fmt.Sprintf("%s.tools[%d]", key, j), p, fmt.Sprintf("starts with the mcp.json name of server %s: its tools are %s__<tool> (use %s)", n, n, n+strings.TrimPrefix(p, orig)))
				}
			}
		}
	}
	for i, e := range c.Gateway.Endpoints {
		check(fmt.Sprintf("gateway.endpoints[%d]", i), e.Servers, e.Tools)
	}
	for i, k := range c.Gateway.APIKeys {
		check(fmt.Sprintf("gateway.api_keys[%d]", i), k.Servers, k.Tools)
	}
}

// embedder checks search.embedder. Without a url dense retrieval is off,
// and the other fields only need to make sense once it is set.
func (v *validator) embedder(e *Embedder) {
	const key = "search.embedder"
	azure := e.AzureDeployment != ""
	if e.URL == "" {
		if (e.Model != "" || azure || e.APIKey != "") && !v.broken(key+".url") {
			v.at(key+".url", "is required when search.embedder is configured (e.g. https://api.openai.com/v1, or https://NAME.openai.azure.com for Azure OpenAI)")
		}
	} else if !v.broken(key + ".url") {
		u, err := url.Parse(e.URL)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			v.value(key+".url", e.URL, "not an http(s) URL (e.g. https://api.openai.com/v1)")
		case azure && u.Scheme != "https":
			v.value(key+".url", e.URL, "Azure OpenAI needs an https URL (e.g. https://NAME.openai.azure.com)")
		}
		if e.Model == "" && !azure && !v.broken(key+".model") {
			v.at(key+".model", "is required when url is set (the embedding model, e.g. text-embedding-3-small; for Azure OpenAI set azure_deployment)")
		}
	}
	v.oneOf(key+".auth", e.Auth, "an embedder auth method", "key", "entra")
	switch {
	case e.Auth == "entra" && !azure && !v.broken(key+".azure_deployment"):
		v.value(key+".auth", e.Auth, "Entra ID is for Azure OpenAI (set azure_deployment, or use auth: key)")
	case e.Auth == "key" && azure && e.URL != "" && e.APIKey == "" && !v.broken(key+".api_key"):
		v.at(key+".api_key", "is required for Azure OpenAI with auth: key (or set auth: entra for Entra ID)")
	}
	if azure && e.APIVersion == "" && !v.broken(key+".api_version") {
		v.at(key+".api_version", "must not be empty for Azure OpenAI (e.g. 2024-10-21)")
	}
	if e.Dimensions < 0 && !v.broken(key+".dimensions") {
		v.value(key+".dimensions", strconv.Itoa(e.Dimensions), "must not be negative (0 takes the model's)")
	}
	if e.SendDimensions && e.Dimensions == 0 && !v.broken(key+".dimensions") {
		v.at(key+".send_dimensions", "needs dimensions (the vector length to ask the model for)")
	}
	v.positiveInt(key+".batch_size", int64(e.BatchSize))
	v.positiveDuration(key+".timeout", e.Timeout)
	if e.CacheTTL < 0 && !v.broken(key+".cache_ttl") {
		v.value(key+".cache_ttl", e.CacheTTL.String(), "must not be negative (0 keeps vectors until the model changes)")
	}
}
