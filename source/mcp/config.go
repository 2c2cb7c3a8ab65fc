package mcp

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/weft-dev/weft/internal/tracing"
)

// Transports an upstream can use.
const (
	TransportStdio = "stdio" // a local process speaking newline-delimited JSON-RPC on stdin/stdout
	TransportHTTP  = "http"  // Streamable HTTP (MCP 2025-03-26 and later)
	TransportSSE   = "sse"   // the legacy HTTP+SSE transport (MCP 2024-11-05)
)

// Defaults applied by New to zero durations.
const (
	DefaultConnectTimeout    = 10 * time.Second
	DefaultStartTimeout      = 2 * time.Minute
	DefaultPingTimeout       = 10 * time.Second
	DefaultRestartBackoff    = 500 * time.Millisecond
	DefaultMaxRestartBackoff = 30 * time.Second
)

// Config describes one upstream MCP server. It is this package's own type so
// that source/mcp does not depend on the config package; the facade copies
// a config.Server into it.
type Config struct {
	// Name is the server name; it namespaces the upstream's tools.
	Name string
	// Transport is "stdio", "http" (Streamable HTTP) or "sse". When empty it
	// is inferred: "stdio" when Command is set, "http" when URL is set.
	Transport string
	// Command is the executable of a stdio upstream (looked up in PATH).
	Command string
	// Args are the command's arguments.
	Args []string
	// Env is set in the process's environment (and wins over inherited
	// values). Values never appear in errors or logs.
	Env map[string]string
	// InheritEnv names variables of weft's own environment that the
	// process inherits besides the default ones (PATH, HOME, USER, locale,
	// TMPDIR, proxies, npm_config_*…; see defaultInheritedEnv): names, or
	// prefixes ending in "*" such as "AWS_*"; "*" passes everything.
	InheritEnv []string
	// Cwd is the working directory of the process (weft's when empty).
	Cwd string
	// URL is the endpoint of an "http" or "sse" upstream.
	URL string
	// Headers are sent on every HTTP request (e.g. Authorization). Values
	// never appear in errors or logs.
	Headers map[string]string
	// Description describes the server for search; when empty, the server's
	// initialize instructions are used.
	Description string
	// Tags are attached to every tool of the server.
	Tags []string
	// ConnectTimeout bounds the steps of a connection attempt that talk to
	// a running server: initialize over HTTP, and the first tools/list.
	// Default 10s.
	ConnectTimeout time.Duration
	// StartTimeout bounds starting a stdio upstream: from starting the
	// process until it answers initialize. A first start through npx or
	// uvx installs the package, which takes tens of seconds; a process that
	// is still starting is never killed before StartTimeout. Default 2m.
	StartTimeout time.Duration
	// PingTimeout bounds the liveness ping sent after a call ended at its
	// deadline (and the periodic ping of idle HTTP sessions): an upstream
	// that does not answer it is marked unhealthy and restarted. A write to
	// a process's stdin that stays blocked this long (the process stopped
	// reading its input) has the same effect. Default 10s.
	PingTimeout time.Duration
	// RestartBackoff is the first delay before reconnecting (restarting a
	// process); it doubles on each failed attempt, with jitter, up to
	// MaxRestartBackoff. Defaults 500ms and 30s.
	RestartBackoff, MaxRestartBackoff time.Duration
	// Tracer, when set, traces each tool call as an MCP client span and
	// propagates its trace context to the upstream: in params._meta
	// (traceparent) on every transport, and in the traceparent header of
	// every HTTP request. Nil traces nothing.
	Tracer *tracing.Tracer
}

// normalize validates c and returns a copy with defaults applied.
func (c Config) normalize() (Config, error) {
	if c.Name == "" || len(c.Name) > 128 || strings.IndexFunc(c.Name, unicode.IsControl) >= 0 {
		return c, fmt.Errorf("mcp: invalid server name %q: want 1-128 printable characters", c.Name)
	}
	if c.Transport == "" {
		switch {
		case c.Command != "":
			c.Transport = TransportStdio
		case c.URL != "":
			c.Transport = TransportHTTP
		}
	}
	fail := func(msg string) (Config, error) {
		return c, fmt.Errorf("mcp %s: invalid config: %s", c.Name, msg)
	}
	switch c.Transport {
	case TransportStdio:
		if c.Command == "" {
			return fail(`transport "stdio" needs a command`)
		}
		if c.URL != "" {
			return fail(`transport "stdio" takes a command, not a url`)
		}
	case TransportHTTP, TransportSSE:
		if c.URL == "" {
			return fail(fmt.Sprintf("transport %q needs a url", c.Transport))
		}
		if c.Command != "" {
			return fail(fmt.Sprintf("transport %q takes a url, not a command", c.Transport))
		}
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fail("url must be an absolute http:// or https:// URL")
		}
	case "":
		return fail("neither command (stdio) nor url (http, sse) is set")
	default:
		return fail(fmt.Sprintf("unknown transport %q: want stdio, http or sse", c.Transport))
	}
	for k := range c.Headers {
		if k == "" {
			return fail("empty header name")
		}
	}
	for k := range c.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fail(fmt.Sprintf("invalid environment variable name %q", k))
		}
	}
	for _, p := range c.InheritEnv {
		if name := strings.TrimSuffix(p, "*"); (name == "" && p != "*") || strings.ContainsAny(name, "=*\x00") {
			return fail(fmt.Sprintf("invalid inherit_env entry %q: want a variable name, a prefix ending in \"*\", or \"*\"", p))
		}
	}
	if c.ConnectTimeout < 0 || c.StartTimeout < 0 || c.PingTimeout < 0 || c.RestartBackoff < 0 || c.MaxRestartBackoff < 0 {
		return fail("durations must not be negative")
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.PingTimeout == 0 {
		c.PingTimeout = DefaultPingTimeout
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = DefaultStartTimeout
	}
	if c.RestartBackoff == 0 {
		c.RestartBackoff = DefaultRestartBackoff
	}
	if c.MaxRestartBackoff == 0 {
		c.MaxRestartBackoff = DefaultMaxRestartBackoff
	}
	if c.MaxRestartBackoff < c.RestartBackoff {
		c.MaxRestartBackoff = c.RestartBackoff
	}
	return c, nil
}
