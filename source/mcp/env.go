package mcp

import (
	"slices"
	"strings"

	"github.com/weft-dev/weft/internal/redact"
)

// defaultInheritedEnv are the variables of weft's environment a stdio
// upstream gets without asking. The official MCP SDKs' stdio launchers
// (TypeScript getDefaultEnvironment, Python get_default_environment) pass
// HOME, LOGNAME, PATH, SHELL, TERM and USER only; weft adds what a launcher
// such as npx or uvx needs to work on a real machine — locale and time
// zone, the temporary and XDG directories, proxies and extra CA
// certificates to reach a package registry — and npm's own npm_config_*
// settings (see inheritedByDefault). Everything else, in particular weft's
// own credentials (AZURE_OPENAI_API_KEY, cloud and CI tokens), stays out
// unless Config.InheritEnv names it.
var defaultInheritedEnv = []string{
	"HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER",
	"LANG", "LANGUAGE", "LC_*", "TZ", "TMPDIR",
	"XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_RUNTIME_DIR",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "no_proxy", "all_proxy",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS",
}

// inheritedByDefault reports whether the variable name is passed to every
// stdio upstream: a name of defaultInheritedEnv, or an npm setting
// (npm_config_*, NPM_CONFIG_*) whose name does not look secret (npm's
// _auth and _authToken settings are credentials).
func inheritedByDefault(name string) bool {
	if matchEnv(defaultInheritedEnv, name) {
		return true
	}
	if strings.HasPrefix(strings.ToLower(name), "npm_config_") {
		return !redact.SecretName(name)
	}
	return false
}

// matchEnv reports whether name matches one of patterns: a name, a prefix
// ending in "*" ("AWS_*"), or "*" for every name.
func matchEnv(patterns []string, name string) bool {
	for _, p := range patterns {
		if prefix, ok := strings.CutSuffix(p, "*"); ok {
			if strings.HasPrefix(name, prefix) {
				return true
			}
		} else if p == name {
			return true
		}
	}
	return false
}

// childEnv builds a stdio upstream's environment from weft's (environ, as
// os.Environ returns it): the variables inherited by default, those
// matching inherit, then extra (the server's configured env), which wins.
// Shell function exports ("BASH_FUNC_x%%=() { …") are never passed on, as
// the SDKs' launchers do not. The result is sorted by name.
func childEnv(environ, inherit []string, extra map[string]string) []string {
	vals := map[string]string{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || strings.HasPrefix(value, "()") {
			continue
		}
		if inheritedByDefault(name) || matchEnv(inherit, name) {
			vals[name] = value
		}
	}
	for k, v := range extra {
		vals[k] = v
	}
	out := make([]string, 0, len(vals))
	for k, v := range vals {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}
