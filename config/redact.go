package config

import (
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Mask replaces a secret in Redacted output.
const Mask = "****"

// secretQueryKeys are substrings of query parameter names whose values are
// treated as secrets.
var secretQueryKeys = []string{"token", "key", "secret", "password", "sig"}

// Redacted returns a deep copy of c that is safe to print or log: values of
// env and headers and the embedder's api_key become "****", and in URLs the userinfo and the values of
// query parameters whose names contain token, key, secret, password or sig
// are masked. Args are copied as they are: secrets belong in env or headers.
func (c *Config) Redacted() *Config {
	out := c.clone()
	for _, s := range out.Servers {
		for k := range s.Env {
			s.Env[k] = Mask
		}
		for k := range s.Headers {
			s.Headers[k] = Mask
		}
		s.URL = redactURLText(s.URL)
	}
	if out.Search.Embedder.APIKey != "" {
		out.Search.Embedder.APIKey = Mask
	}
	out.Search.Embedder.URL = redactURLText(out.Search.Embedder.URL)
	out.Limits.RedisURL = redactURLText(out.Limits.RedisURL)
	out.Cache.RedisURL = redactURLText(out.Cache.RedisURL)
	if out.Cache.RedisPassword != "" {
		out.Cache.RedisPassword = Mask
	}
	redactTracing(out)
	out.Runs.Store = redactURLText(out.Runs.Store)
	redactAnalytics(out)
	for _, m := range out.Models {
		if m.APIKey != "" {
			m.APIKey = Mask
		}
		m.Endpoint = redactURLText(m.Endpoint)
	}
	return out
}

// clone returns a deep copy of c.
func (c *Config) clone() *Config {
	out := *c
	out.Servers = make(map[string]*Server, len(c.Servers))
	for name, s := range c.Servers {
		if s == nil {
			continue
		}
		cp := *s
		cp.Args = slices.Clone(s.Args)
		cp.Tags = slices.Clone(s.Tags)
		cp.InheritEnv = slices.Clone(s.InheritEnv)
		cp.Env = maps.Clone(s.Env)
		cp.Headers = maps.Clone(s.Headers)
		if s.Enabled != nil {
			e := *s.Enabled
			cp.Enabled = &e
		}
		if s.Cache != nil {
			sc := *s.Cache
			sc.Tools = slices.Clone(s.Cache.Tools)
			cp.Cache = &sc
		}
		out.Servers[name] = &cp
	}
	g := &out.Gateway
	g.Endpoints = slices.Clone(g.Endpoints)
	for i := range g.Endpoints {
		g.Endpoints[i].Servers = slices.Clone(g.Endpoints[i].Servers)
		g.Endpoints[i].Tools = slices.Clone(g.Endpoints[i].Tools)
	}
	g.APIKeys = slices.Clone(g.APIKeys)
	for i := range g.APIKeys {
		g.APIKeys[i].Servers = slices.Clone(g.APIKeys[i].Servers)
		g.APIKeys[i].Tools = slices.Clone(g.APIKeys[i].Tools)
	}
	g.AllowedOrigins = slices.Clone(g.AllowedOrigins)
	if c.Models != nil {
		out.Models = make(map[string]*Model, len(c.Models))
		for name, m := range c.Models {
			if m != nil {
				cp := *m
				out.Models[name] = &cp
			}
		}
	}
	return &out
}

// redactURLText masks the userinfo and secret-looking query values of a
// URL, keeping everything else (and the order of parameters) as written.
// Text that does not parse as a URL is returned unchanged.
func redactURLText(s string) string {
	if s == "" {
		return s
	}
	if _, err := url.Parse(s); err != nil {
		return s
	}
	rest, frag, hasFrag := strings.Cut(s, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	if i := strings.Index(rest, "://"); i >= 0 {
		authStart := i + 3
		authEnd := len(rest)
		if j := strings.IndexByte(rest[authStart:], '/'); j >= 0 {
			authEnd = authStart + j
		}
		auth := rest[authStart:authEnd]
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			user, _, hasPassword := strings.Cut(auth[:at], ":")
			masked := Mask
			if hasPassword {
				masked = user + ":" + Mask
			}
			rest = rest[:authStart] + masked + auth[at:] + rest[authEnd:]
		}
	}
	if hasQuery {
		parts := strings.Split(query, "&")
		for i, part := range parts {
			name, _, hasValue := strings.Cut(part, "=")
			if hasValue && isSecretParam(name) {
				parts[i] = name + "=" + Mask
			}
		}
		rest += "?" + strings.Join(parts, "&")
	}
	if hasFrag {
		rest += "#" + frag
	}
	return rest
}

func isSecretParam(name string) bool {
	if n, err := url.QueryUnescape(name); err == nil {
		name = n
	}
	name = strings.ToLower(name)
	for _, k := range secretQueryKeys {
		if strings.Contains(name, k) {
			return true
		}
	}
	return false
}
