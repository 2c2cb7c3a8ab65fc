package config

import (
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	env := envOf(map[string]string{"HOST": "example.com", "EMPTY": "", "PORT": "8443"})
	tests := []struct {
		in, want string
		changed  bool
		err      string
	}{
		{in: "plain", want: "plain"},
		{in: "", want: ""},
		{in: "${HOST}", want: "example.com", changed: true},
		{in: "https://${HOST}:${PORT}/mcp", want: "https://example.com:8443/mcp", changed: true},
		{in: "${env:HOST}", want: "example.com", changed: true},
		{in: "${MISSING:-fallback}", want: "fallback", changed: true},
		{in: "${EMPTY:-fallback}", want: "fallback", changed: true},
		{in: "${EMPTY}", want: "", changed: true},
		{in: "${HOST:-other}", want: "example.com", changed: true},
		{in: "${MISSING:-}", want: "", changed: true},
		{in: "${MISSING:-a:b/c d}", want: "a:b/c d", changed: true},
		{in: "$$", want: "$", changed: true},
		{in: "$${HOST}", want: "${HOST}", changed: true},
		{in: "price $5 and $HOME", want: "price $5 and $HOME"},
		{in: "trailing $", want: "trailing $"},
		{in: "${MISSING}", err: "environment variable MISSING is not set (set it, or give a default: ${MISSING:-value})"},
		{in: "${A} ${HOST} ${B}", err: "environment variables A, B are not set (set them, or give defaults: ${NAME:-value})"},
		{in: "${HOST", err: "unterminated ${ (close it with }, or write $$ for a literal $)"},
		{in: "${1X}", err: "${1X}: not a variable name (allowed: letters, digits and _, not starting with a digit)"},
		{in: "${}", err: "${}: not a variable name (allowed: letters, digits and _, not starting with a digit)"},
		{in: "${input:api-key}", err: "${input:api-key}: VS Code input variables are not supported (use ${VAR} with an environment variable)"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, changed, err := expand(tt.in, env)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("expand(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("expand(%q): %v", tt.in, err)
			}
			if got != tt.want || changed != tt.changed {
				t.Errorf("expand(%q) = %q, %v; want %q, %v", tt.in, got, changed, tt.want, tt.changed)
			}
		})
	}
}

// TestExpansionEverywhere checks that every string value is expanded:
// scalars, list items, map values, and values of typed fields.
func TestExpansionEverywhere(t *testing.T) {
	c := mustParse(t, doc(
		"servers:",
		"  gh:",
		"    url: https://${HOST}/mcp",
		"    headers:",
		"      Authorization: Bearer ${TOKEN}",
		"    timeout: ${GH_TIMEOUT:-45s}",
		"    max_concurrency: ${GH_MAX:-3}",
		"    enabled: ${GH_ON:-true}",
		"    tags: [\"${TAG}\", fixed]",
		"  local:",
		"    command: ${HOME_BIN}/tool",
		"    args: [--dir, '${DATA:-/data}', cost=$$5]",
		"    env:",
		"      KEY: ${TOKEN}",
		"log:",
		"  level: ${LEVEL:-debug}",
	), map[string]string{"HOST": "api.example.com", "TOKEN": "t0k3n", "TAG": "prod", "HOME_BIN": "/opt/bin"})
	gh, local := c.Servers["gh"], c.Servers["local"]
	checks := []struct{ name, got, want string }{
		{"url", gh.URL, "https://api.example.com/mcp"},
		{"header", gh.Headers["Authorization"], "Bearer t0k3n"},
		{"timeout", gh.Timeout.String(), "45s"},
		{"tags", strings.Join(gh.Tags, ","), "prod,fixed"},
		{"command", local.Command, "/opt/bin/tool"},
		{"args", strings.Join(local.Args, " "), "--dir /data cost=$5"},
		{"env", local.Env["KEY"], "t0k3n"},
		{"log level", c.Log.Level, "debug"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %q, want %q", ch.name, ch.got, ch.want)
		}
	}
	if gh.MaxConcurrency != 3 || !gh.IsEnabled() {
		t.Errorf("max_concurrency = %d, enabled = %v; want 3, true", gh.MaxConcurrency, gh.IsEnabled())
	}
}

// TestExpansionProblems checks the messages for missing variables: they
// name the field and the variable, quote the text as written, and never
// quote a secret (env and headers values) or an expanded value.
func TestExpansionProblems(t *testing.T) {
	tests := []struct {
		name string
		yaml []byte
		env  map[string]string
		want string
	}{
		{"missing in a plain field", doc(
			"servers:",
			"  gh:",
			"    url: https://${GH_HOST}/mcp",
		), nil, `weft.yaml:3: servers.gh.url: "https://${GH_HOST}/mcp": environment variable GH_HOST is not set (set it, or give a default: ${GH_HOST:-value})`},
		{"missing in a header is not quoted", doc(
			"servers:",
			"  gh:",
			"    url: https://example.com/mcp",
			"    headers:",
			"      Authorization: Bearer sk-literal-${GITHUB_TOKEN}",
		), nil, `weft.yaml:5: servers.gh.headers.Authorization: environment variable GITHUB_TOKEN is not set (set it, or give a default: ${GITHUB_TOKEN:-value})`},
		{"missing in env is not quoted", doc(
			"servers:",
			"  a:",
			"    command: x",
			"    env:",
			"      API_KEY: ${API_KEY}",
		), nil, `weft.yaml:5: servers.a.env.API_KEY: environment variable API_KEY is not set (set it, or give a default: ${API_KEY:-value})`},
		{"missing in a list item", doc(
			"servers:",
			"  a:",
			"    command: x",
			"    args:",
			"      - --root",
			"      - ${ROOT}",
		), nil, `weft.yaml:6: servers.a.args[1]: "${ROOT}": environment variable ROOT is not set (set it, or give a default: ${ROOT:-value})`},
		{"an expanded bad value is quoted as written", doc(
			"servers:",
			"  gh:",
			"    url: https://example.com/mcp",
			"    timeout: ${GH_TIMEOUT}",
		), map[string]string{"GH_TIMEOUT": "supersecret"}, `weft.yaml:4: servers.gh.timeout: "${GH_TIMEOUT}": not a duration (e.g. 30s, 2m)`},
		{"an expanded bad URL is quoted as written", doc(
			"servers:",
			"  gh:",
			"    url: ${GH_URL}",
		), map[string]string{"GH_URL": "ftp://user:hunter2@example.com"}, `weft.yaml:3: servers.gh.url: "${GH_URL}": not an http(s) URL (e.g. https://example.com/mcp)`},
		{"an expanded bad enum is quoted as written", doc(
			"log:",
			"  level: ${LVL}",
		), map[string]string{"LVL": "chatty"}, `weft.yaml:2: log.level: "${LVL}": not a log level (allowed: debug, info, warn, error)`},
		{"unterminated", doc(
			"log:",
			"  level: ${LVL",
		), nil, `weft.yaml:2: log.level: "${LVL": unterminated ${ (close it with }, or write $$ for a literal $)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parseErr(t, tt.yaml, tt.env)
			if got != tt.want {
				t.Errorf("error:\n%s\nwant:\n%s", got, tt.want)
			}
			for _, secret := range []string{"sk-literal", "supersecret", "hunter2"} {
				if strings.Contains(got, secret) {
					t.Errorf("error leaks %q: %s", secret, got)
				}
			}
		})
	}
}
