package config

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Cache-tier defaults, as documented in docs/configuration.md.
const (
	DefaultCacheMemoryMaxBytes = 64 << 20
	DefaultSearchCacheTTL      = time.Hour
	DefaultToolCacheTTL        = 5 * time.Minute
)

// ServerCache marks tools of a server cacheable: their successful results
// (not errors, not results with isError) are kept for TTL and shared
// through the cache tier, keyed by the tool and its canonical arguments.
// Only tools whose result depends on nothing but their arguments belong
// here: the cached result is served to every caller allowed to call the tool.
type ServerCache struct {
	// Tools are the server's tool names (as the upstream names them) or
	// patterns ending in "*"; "*" caches every tool of the server.
	Tools []string `yaml:"tools" json:"tools"`
	// TTL is how long a result is reused. Default 5m.
	TTL Duration `yaml:"ttl" json:"ttl"`
}

// defaultCache is the cache section's defaults.
func defaultCache() Cache {
	return Cache{Dir: DefaultCacheDir(), Fallback: true, MemoryMaxBytes: DefaultCacheMemoryMaxBytes}
}

// cache decodes the cache section.
func (d *decoder) cache(n *node, p fpath, c *Cache) {
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"dir", func(v *node) { d.str(v, f("dir"), &c.Dir) }},
		{"redis_url", func(v *node) { d.str(v, f("redis_url"), &c.RedisURL) }},
		{"redis_password", func(v *node) {
			if s, ok := d.scalar(v, f("redis_password"), "a string", true); ok {
				c.RedisPassword = s
			}
		}},
		{"fallback", func(v *node) {
			if b, ok := d.boolean(v, f("fallback")); ok {
				c.Fallback = b
			}
		}},
		{"memory_max_bytes", func(v *node) { d.int64(v, f("memory_max_bytes"), &c.MemoryMaxBytes) }},
	}, "")
}

// serverCache decodes servers.<name>.cache.
func (d *decoder) serverCache(n *node, p fpath, dst **ServerCache) {
	if !d.isMap(n, p) {
		return
	}
	sc := &ServerCache{TTL: Duration(DefaultToolCacheTTL)}
	f := func(name string) fpath { return p.child(name, name) }
	d.object(n, p, []field{
		{"tools", func(v *node) { d.strList(v, f("tools"), &sc.Tools) }},
		{"ttl", func(v *node) { d.duration(v, f("ttl"), &sc.TTL) }},
	}, "")
	*dst = sc
}

// setEnvBool accepts true/false, 1/0, yes/no, on/off.
func setEnvBool(dst *bool, v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "true", "1", "yes", "on":
		*dst = true
	case "false", "0", "no", "off":
		*dst = false
	default:
		return "not a boolean (allowed: true, false, 1, 0, yes, no, on, off)"
	}
	return ""
}

// cacheEnvOverrides are the environment variables of the cache tier.
var cacheEnvOverrides = []envOverride{
	{"REDIS_URL", "cache.redis_url", func(c *Config, v string) string { c.Cache.RedisURL = v; return "" }},
	{"REDIS_PASSWORD", "cache.redis_password", func(c *Config, v string) string { c.Cache.RedisPassword = v; return "" }},
	{"REDIS_FALLBACK_ENABLED", "cache.fallback", func(c *Config, v string) string { return setEnvBool(&c.Cache.Fallback, v) }},
	{"SEARCH_CACHE_TTL", "search.cache_ttl", func(c *Config, v string) string { return setEnvDuration(&c.Search.CacheTTL, v) }},
}

// redisURLProblem returns "" for a usable Redis URL, else what is wrong.
func redisURLProblem(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return "not a Redis URL (e.g. redis://127.0.0.1:6379/0, rediss:// for TLS)"
	}
	if db := strings.Trim(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return "the path must be a database number (e.g. redis://127.0.0.1:6379/0)"
		}
	}
	return ""
}

// cache checks the cache tier's settings, search.cache_ttl and every
// servers.<name>.cache.
func (v *validator) cache(c *Config) {
	if c.Cache.RedisURL != "" && !v.broken("cache.redis_url") {
		if msg := redisURLProblem(c.Cache.RedisURL); msg != "" {
			v.value("cache.redis_url", c.Cache.RedisURL, msg)
		}
	}
	if c.Cache.RedisPassword != "" && c.Cache.RedisURL == "" && !v.broken("cache.redis_url") {
		v.at("cache.redis_password", "is set but cache.redis_url is not (the password is for the cache's Redis)")
	}
	v.positiveInt("cache.memory_max_bytes", c.Cache.MemoryMaxBytes)
	if c.Search.CacheTTL < 0 && !v.broken("search.cache_ttl") {
		v.value("search.cache_ttl", c.Search.CacheTTL.String(), "must not be negative (0 does not cache search results)")
	}
	for name, s := range c.Servers {
		if s == nil || s.Cache == nil {
			continue
		}
		key := "servers." + segment(name) + ".cache"
		if len(s.Cache.Tools) == 0 && !v.broken(key+".tools") {
			v.at(key+".tools", `is required: the tools whose results may be cached (names, patterns ending in "*", or "*")`)
		}
		for i, t := range s.Cache.Tools {
			if p := strings.TrimSuffix(t, "*"); (p == "" && t != "*") || strings.Contains(p, "*") {
				v.value(fmt.Sprintf("%s.tools[%d]", key, i), t, `not a tool name, a prefix ending in "*" (get_*) or "*"`)
			}
		}
		v.positiveDuration(key+".ttl", s.Cache.TTL)
	}
}

// Caches reports whether servers.<name>.cache marks tool (the upstream's
// name) cacheable.
func (sc *ServerCache) Caches(tool string) bool {
	if sc == nil {
		return false
	}
	for _, p := range sc.Tools {
		if p == tool || (strings.HasSuffix(p, "*") && strings.HasPrefix(tool, strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}

func init() { envOverrides = append(envOverrides, cacheEnvOverrides...) }
