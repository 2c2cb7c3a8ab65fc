package config

import (
	"strconv"
	"strings"
	"time"
)

// envOverride is one environment variable that overrides a field.
type envOverride struct {
	name string                                 // the variable
	key  string                                 // the field it sets
	set  func(c *Config, v string) (msg string) // "" on success
}

// EnvOverrides returns, in the order they apply, the environment variables
// that override fields of weft.yaml. They apply after the file and before
// validation; an unset or empty variable changes nothing.
func EnvOverrides() []string {
	names := make([]string, len(envOverrides))
	for i, o := range envOverrides {
		names[i] = o.name
	}
	return append(names, modelEnvNames...)
}

var envOverrides = []envOverride{
	{"TOOL_TIMEOUT", "limits.tool_timeout", func(c *Config, v string) string {
		return setEnvDuration(&c.Limits.ToolTimeout, v)
	}},
	{"MAX_CONCURRENT_TOOLS", "limits.max_concurrent_tools", func(c *Config, v string) string {
		return setEnvInt(&c.Limits.MaxConcurrentTools, v)
	}},
	{"MAX_CONCURRENT_TOOLS_PER_CLIENT", "limits.max_concurrent_tools_per_client", func(c *Config, v string) string {
		return setEnvInt(&c.Limits.MaxConcurrentToolsPerClient, v)
	}},
	{"REQUESTS_PER_MINUTE", "limits.requests_per_minute", func(c *Config, v string) string {
		return setEnvInt(&c.Limits.RequestsPerMinute, v)
	}},
	{"MCP_SERVERS_FILE", "mcp_servers_file", func(c *Config, v string) string { c.MCPServersFile = v; return "" }},
	{"CATALOG_CACHE_TTL", "catalog.cache_ttl", func(c *Config, v string) string {
		return setEnvDuration(&c.Catalog.CacheTTL, v)
	}},
	{"WEFT_ADDR", "server.addr", func(c *Config, v string) string { c.Server.Addr = v; return "" }},
	{"WEFT_CACHE_DIR", "cache.dir", func(c *Config, v string) string { c.Cache.Dir = v; return "" }},
	{"WEFT_LOG_LEVEL", "log.level", func(c *Config, v string) string { c.Log.Level = v; return "" }},
	// The Go runtime applies GOGC itself; when it is set, weft leaves the
	// collector alone.
	{"GOGC", "server.gc_percent", func(c *Config, v string) string { c.Server.GCPercent = 0; return "" }},
	{"EMBEDDING_CACHE_TTL", "search.embedder.cache_ttl", func(c *Config, v string) string {
		return setEnvDuration(&c.Search.Embedder.CacheTTL, v)
	}},
}

// applyEnv applies the environment overrides to c.
func applyEnv(c *Config, env func(string) (string, bool), orig *origins, probs *problems) {
	for _, o := range envOverrides {
		v, ok := env(o.name)
		if !ok || v == "" {
			continue
		}
		if msg := o.set(c, v); msg != "" {
			// The field keeps its file or default value, validated as usual.
			probs.add(Problem{Path: o.name, Msg: quote(v) + ": " + msg})
			continue
		}
		orig.at[o.key] = origin{Path: o.name, Raw: v}
		delete(orig.broken, o.key)
	}
	applyModelEnv(c, env, orig, probs)
}

// setEnvDuration accepts a duration ("30s") or a bare number of seconds
// ("30"), as the tools weft replaces did.
func setEnvDuration(dst *Duration, v string) string {
	if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
		*dst = Duration(time.Duration(n) * time.Second)
		return ""
	}
	d, err := ParseDuration(v)
	if err != nil {
		return durationHint
	}
	*dst = d
	return ""
}

func setEnvInt(dst *int, v string) string {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		return "not an integer"
	}
	*dst = n
	return ""
}
