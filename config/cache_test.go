package config

import (
	"strings"
	"testing"
	"time"
)

func TestCacheSection(t *testing.T) {
	c := mustParse(t, doc(
		"cache:",
		"  dir: /tmp/w",
		"  redis_url: rediss://cache.example:6380/2",
		"  redis_password: ${PW}",
		"  fallback: false",
		"  memory_max_bytes: 1048576",
		"search:",
		"  cache_ttl: 10m",
		"servers:",
		"  wx:",
		"    url: https://wx.example/mcp",
		"    cache: {tools: [forecast, get_*], ttl: 30s}",
		"  fs:",
		"    command: fs",
		"    cache: {tools: ['*']}",
	), map[string]string{"PW": "s3cret"})
	if c.Cache.RedisURL != "rediss://cache.example:6380/2" || c.Cache.RedisPassword != "s3cret" || c.Cache.Fallback ||
		c.Cache.MemoryMaxBytes != 1<<20 || c.Search.CacheTTL.D() != 10*time.Minute {
		t.Fatalf("cache = %+v, search.cache_ttl = %s", c.Cache, c.Search.CacheTTL)
	}
	wx := c.Servers["wx"].Cache
	if wx == nil || wx.TTL.D() != 30*time.Second || !wx.Caches("forecast") || !wx.Caches("get_alerts") || wx.Caches("set_alert") {
		t.Fatalf("servers.wx.cache = %+v", wx)
	}
	if fs := c.Servers["fs"].Cache; fs.TTL.D() != DefaultToolCacheTTL || !fs.Caches("anything") {
		t.Fatalf("servers.fs.cache = %+v", fs)
	}
	if (*ServerCache)(nil).Caches("x") {
		t.Fatal("a server without cache caches")
	}
	// weft config check masks the password and the URL's userinfo, and
	// shows the server's cache.
	y, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	out := string(y)
	if strings.Contains(out, "s3cret") || !strings.Contains(out, "redis_password: '****'") && !strings.Contains(out, `redis_password: "****"`) {
		t.Fatalf("config check output does not mask the password:\n%s", out)
	}
	if !strings.Contains(out, "- get_*") || !strings.Contains(out, "fallback: false") {
		t.Fatalf("config check output lacks the cache settings:\n%s", out)
	}
	c2 := mustParse(t, doc("cache:", "  redis_url: redis://user:pw@r:6379/0"), nil)
	if r := c2.Redacted(); r.Cache.RedisURL != "redis://user:****@r:6379/0" {
		t.Fatalf("redacted url %q", r.Cache.RedisURL)
	}
	// The original is untouched by redaction.
	if c.Redacted(); c.Cache.RedisPassword != "s3cret" || &c.Servers["wx"].Cache.Tools[0] == &c.Redacted().Servers["wx"].Cache.Tools[0] {
		t.Fatal("Redacted changed or shared the original")
	}
}

func TestCacheEnv(t *testing.T) {
	c := mustParse(t, nil, map[string]string{
		"REDIS_URL": "redis://r:6379/0", "REDIS_PASSWORD": "pw", "REDIS_FALLBACK_ENABLED": "false", "SEARCH_CACHE_TTL": "120",
	})
	if c.Cache.RedisURL != "redis://r:6379/0" || c.Cache.RedisPassword != "pw" || c.Cache.Fallback || c.Search.CacheTTL.D() != 2*time.Minute {
		t.Fatalf("cache = %+v, search.cache_ttl %s", c.Cache, c.Search.CacheTTL)
	}
	for _, on := range []string{"true", "1", "yes", "ON"} {
		if c := mustParse(t, doc("cache: {fallback: false}"), map[string]string{"REDIS_FALLBACK_ENABLED": on}); !c.Cache.Fallback {
			t.Errorf("REDIS_FALLBACK_ENABLED=%s left the fallback off", on)
		}
	}
	d := mustParse(t, nil, nil)
	if !d.Cache.Fallback || d.Cache.RedisURL != "" || d.Search.CacheTTL.D() != time.Hour || d.Search.Embedder.CacheTTL.D() != 7*24*time.Hour {
		t.Fatalf("defaults: cache %+v, search.cache_ttl %s, embedder cache_ttl %s", d.Cache, d.Search.CacheTTL, d.Search.Embedder.CacheTTL)
	}
}

func TestCacheProblems(t *testing.T) {
	got := parseErr(t, doc(
		"cache:",
		"  redis_url: http://r:6379",
		"  memory_max_bytes: 0",
		"search:",
		"  cache_ttl: -1s",
		"servers:",
		"  a:",
		"    command: a",
		"    cache: {ttl: 0s}",
		"  b:",
		"    command: b",
		"    cache: {tools: ['', 'x*y'], ttl: 1m}",
	), map[string]string{"REDIS_FALLBACK_ENABLED": "maybe"})
	want := []string{
		`weft.yaml:2: cache.redis_url: "http://r:6379": not a Redis URL (e.g. redis://127.0.0.1:6379/0, rediss:// for TLS)`,
		`weft.yaml:3: cache.memory_max_bytes: "0": must be a positive integer`,
		`weft.yaml:5: search.cache_ttl: "-1s": must not be negative (0 does not cache search results)`,
		`weft.yaml:9: servers.a.cache.tools: is required: the tools whose results may be cached (names, patterns ending in "*", or "*")`,
		`weft.yaml:9: servers.a.cache.ttl: "0s": must be positive (e.g. 30s, 2m)`,
		`weft.yaml:12: servers.b.cache.tools[0]: "": not a tool name, a prefix ending in "*" (get_*) or "*"`,
		`weft.yaml:12: servers.b.cache.tools[1]: "x*y": not a tool name, a prefix ending in "*" (get_*) or "*"`,
		`REDIS_FALLBACK_ENABLED: "maybe": not a boolean (allowed: true, false, 1, 0, yes, no, on, off)`,
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("missing %q in:\n%s", w, got)
		}
	}
	if got := parseErr(t, doc("cache:", "  redis_password: x"), nil); !strings.Contains(got, "cache.redis_password: is set but cache.redis_url is not") {
		t.Errorf("password without url: %s", got)
	}
	if got := parseErr(t, doc("cache:", "  redis_url: redis://r:6379/db"), nil); !strings.Contains(got, "the path must be a database number") {
		t.Errorf("bad db: %s", got)
	}
}
