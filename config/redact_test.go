package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://example.com/mcp", "https://example.com/mcp"},
		{"https://user:pa55@example.com/mcp", "https://user:****@example.com/mcp"},
		{"https://ghp_token@example.com/mcp", "https://****@example.com/mcp"},
		{"https://example.com/mcp?api_key=k1&page=2&access_token=t&client_secret=s&Password=p&sig=x&sign=y",
			"https://example.com/mcp?api_key=****&page=2&access_token=****&client_secret=****&Password=****&sig=****&sign=****"}, // over-masking is safe
		{"https://example.com/mcp?key=a&flag#frag", "https://example.com/mcp?key=****&flag#frag"},
		{"https://u:p@example.com/a@b?token=1", "https://u:****@example.com/a@b?token=****"},
		{"", ""},
		{"%zz", "%zz"},
	}
	for _, tt := range tests {
		if got := redactURLText(tt.in); got != tt.want {
			t.Errorf("redactURLText(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func secretConfig(t *testing.T) *Config {
	t.Helper()
	return mustParse(t, doc(
		"servers:",
		"  gh:",
		"    url: https://bot:${PASS}@example.com/mcp?token=${TOKEN}&v=2",
		"    headers:",
		"      Authorization: Bearer ${TOKEN}",
		"  local:",
		"    command: tool",
		"    args: [--verbose]",
		"    env:",
		"      API_KEY: ${TOKEN}",
		"      EMPTY: \"\"",
		"    enabled: true",
		"    tags: [a]",
		"search:",
		"  embedder:",
		"    url: https://emb.example/v1?key=${TOKEN}",
		"    model: m",
		"    api_key: ${TOKEN}",
		"limits:",
		"  redis_url: redis://:${PASS}@cache:6379/0",
		"code:",
		"  timeout: 10s",
		"  memory_mb: 32",
		"plans:",
		"  max_concurrency: 4",
		"  retention: 48h",
		"gateway:",
		"  endpoints:",
		"    - {path: /mcp, mode: meta}",
		"    - {path: /mcp/gh, mode: passthrough, servers: [gh], tools: [gh__get_*]}",
		"  api_keys:",
		"    - {name: ci, hash: \"sha256:"+strings.Repeat("ab", 32)+"\", servers: [local], requests_per_minute: 30}",
		"  allowed_origins: [https://app.example]",
		"  max_concurrent_per_client: 8",
	), map[string]string{"TOKEN": "tok-123", "PASS": "pw-456"})
}

func TestRedacted(t *testing.T) {
	c := secretConfig(t)
	r := c.Redacted()
	if got := r.Servers["gh"].URL; got != "https://bot:****@example.com/mcp?token=****&v=2" {
		t.Errorf("url = %q", got)
	}
	if got := r.Servers["gh"].Headers["Authorization"]; got != Mask {
		t.Errorf("header = %q, want %q", got, Mask)
	}
	if got := r.Servers["local"].Env; !reflect.DeepEqual(got, map[string]string{"API_KEY": Mask, "EMPTY": Mask}) {
		t.Errorf("env = %v", got)
	}
	if e := r.Search.Embedder; e.APIKey != Mask || e.URL != "https://emb.example/v1?key=****" || e.Model != "m" {
		t.Errorf("embedder = %+v", e)
	}
	if got := r.Limits.RedisURL; got != "redis://:****@cache:6379/0" {
		t.Errorf("redis_url = %q", got)
	}
	if e := c.Search.Embedder; e.APIKey != "tok-123" || e.URL != "https://emb.example/v1?key=tok-123" {
		t.Errorf("Redacted changed the original embedder: %+v", e)
	}
	if r := Default().Redacted(); r.Search.Embedder.APIKey != "" {
		t.Errorf("an unset api_key is printed as %q", r.Search.Embedder.APIKey)
	}
	// A deep copy: changing the copy leaves the original alone.
	r.Servers["local"].Args[0] = "changed"
	r.Servers["local"].Tags[0] = "changed"
	*r.Servers["local"].Enabled = false
	r.Servers["new"] = &Server{}
	l := c.Servers["local"]
	if l.Args[0] != "--verbose" || l.Tags[0] != "a" || !l.IsEnabled() || len(c.Servers) != 2 {
		t.Errorf("Redacted shares memory with the original: %+v", l)
	}
	if c.Servers["local"].Env["API_KEY"] != "tok-123" || c.Servers["gh"].URL != "https://bot:pw-456@example.com/mcp?token=tok-123&v=2" {
		t.Errorf("Redacted changed the original")
	}
}

// TestYAMLOutput checks that the printed configuration masks secrets and
// reads back as the same configuration.
func TestYAMLOutput(t *testing.T) {
	c := secretConfig(t)
	out, err := c.YAML()
	if err != nil {
		t.Fatalf("YAML: %v", err)
	}
	for _, secret := range []string{"tok-123", "pw-456"} {
		if strings.Contains(string(out), secret) {
			t.Errorf("YAML output leaks %q:\n%s", secret, out)
		}
	}
	back, err := Parse("weft.yaml", out, envOf(nil))
	if err != nil {
		t.Fatalf("re-parse YAML output: %v\n%s", err, out)
	}
	want := c.Redacted()
	for name, s := range back.Servers {
		if s.Origin == "" || want.Servers[name] == nil {
			t.Errorf("server %s: no origin, or not in the original", name)
			continue
		}
		s.Origin = want.Servers[name].Origin // lines differ, by design
	}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("YAML output does not read back:\n got %+v\nwant %+v\n%s", back, want, out)
	}
	if !strings.HasPrefix(string(out), "servers:\n  gh:\n") {
		t.Errorf("YAML output does not start with the sorted servers:\n%s", out)
	}
}

// TestYAMLOutputEverySection checks that every section of Config is
// printed, so that `weft config check` shows the whole configuration.
func TestYAMLOutputEverySection(t *testing.T) {
	out, err := Default().YAML()
	if err != nil {
		t.Fatalf("YAML: %v", err)
	}
	var top []string
	for _, line := range strings.Split(string(out), "\n") {
		if key, _, ok := strings.Cut(line, ":"); ok && key != "" && !strings.HasPrefix(key, " ") {
			top = append(top, key)
		}
	}
	var want []string
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		if tag, _, _ := strings.Cut(ct.Field(i).Tag.Get("yaml"), ","); tag != "-" && tag != "mcp_servers_file" {
			want = append(want, tag)
		}
	}
	if !reflect.DeepEqual(top, want) {
		t.Errorf("top-level sections printed: %v\nwant (Config's order): %v\n%s", top, want, out)
	}
}

// TestYAMLOutputEveryField checks that the printing types have a field for
// every weft.yaml field of the types they print, so that a field added to
// the configuration is not left out of `weft config check`.
func TestYAMLOutputEveryField(t *testing.T) {
	tags := func(typ reflect.Type) []string {
		var out []string
		for i := range typ.NumField() {
			if tag, _, _ := strings.Cut(typ.Field(i).Tag.Get("yaml"), ","); tag != "-" && tag != "" {
				out = append(out, tag)
			}
		}
		slices.Sort(out)
		return out
	}
	for _, pair := range [][2]reflect.Type{
		{reflect.TypeFor[Server](), reflect.TypeFor[yamlServer]()},
		{reflect.TypeFor[Gateway](), reflect.TypeFor[yamlGateway]()},
		{reflect.TypeFor[Endpoint](), reflect.TypeFor[yamlEndpoint]()},
		{reflect.TypeFor[APIKey](), reflect.TypeFor[yamlAPIKey]()},
	} {
		if got, want := tags(pair[1]), tags(pair[0]); !slices.Equal(got, want) {
			t.Errorf("%s prints %v, want every field of %s: %v", pair[1].Name(), got, pair[0].Name(), want)
		}
	}
}
