package config

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// inDir writes files into a new temporary directory and makes it the
// working directory.
func inDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	return dir
}

func loadIn(t *testing.T, files map[string]string, env map[string]string) (*Config, error) {
	t.Helper()
	dir := inDir(t, files)
	return Load(LoadOptions{Env: envOf(env), HomeDir: dir})
}

func lines(s ...string) string { return strings.Join(s, "\n") + "\n" }

func TestMCPJSONClaudeDesktop(t *testing.T) {
	c, err := loadIn(t, map[string]string{
		"weft.yaml": "mcp_servers_file: mcp.json\n",
		"mcp.json": lines(
			`{`,
			`  "globalShortcut": "Ctrl+Space",`,
			`  "mcpServers": {`,
			`    "fs": {`,
			`      "command": "npx",`,
			`      "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"],`,
			`      "env": {"DEBUG": "1", "TOKEN": "${FS_TOKEN}"},`,
			`      "cwd": "/srv",`,
			`      "autoApprove": ["read_file"],`,
			`      "alwaysAllow": [],`,
			`      "timeout": 60`,
			`    },`,
			`    "remote": {"url": "https://mcp.example.com/mcp", "headers": {"Authorization": "Bearer ${API_TOKEN}"}},`,
			`    "legacy": {"type": "sse", "url": "http://127.0.0.1:3001/sse"},`,
			`    "cc": {"type": "streamable-http", "url": "https://a.example.com/mcp"},`,
			`    "cursor": {"type": "streamableHttp", "url": "https://b.example.com/mcp"},`,
			`    "off": {"command": "old-tool", "disabled": true}`,
			`  }`,
			`}`,
		),
	}, map[string]string{"FS_TOKEN": "fs-secret", "API_TOKEN": "api-secret"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	off := false
	want := map[string]*Server{
		"fs": {Name: "fs", Transport: TransportStdio, Command: "npx",
			Args: []string{"-y", "@modelcontextprotocol/server-filesystem", "/tmp"},
			Env:  map[string]string{"DEBUG": "1", "TOKEN": "fs-secret"}, Cwd: "/srv", Origin: "mcp.json:4"},
		"remote": {Name: "remote", Transport: TransportHTTP, URL: "https://mcp.example.com/mcp",
			Headers: map[string]string{"Authorization": "Bearer api-secret"}, Origin: "mcp.json:13"},
		"legacy": {Name: "legacy", Transport: TransportSSE, URL: "http://127.0.0.1:3001/sse", Origin: "mcp.json:14"},
		"cc":     {Name: "cc", Transport: TransportHTTP, URL: "https://a.example.com/mcp", Origin: "mcp.json:15"},
		"cursor": {Name: "cursor", Transport: TransportHTTP, URL: "https://b.example.com/mcp", Origin: "mcp.json:16"},
		"off":    {Name: "off", Transport: TransportStdio, Command: "old-tool", Enabled: &off, Origin: "mcp.json:17"},
	}
	if !reflect.DeepEqual(c.Servers, want) {
		for name, s := range c.Servers {
			if !reflect.DeepEqual(s, want[name]) {
				t.Errorf("server %s:\n got %+v\nwant %+v", name, s, want[name])
			}
		}
		if len(c.Servers) != len(want) {
			t.Errorf("got %d servers, want %d", len(c.Servers), len(want))
		}
	}
	var names []string
	for _, s := range c.EnabledServers() {
		names = append(names, s.Name)
	}
	if got := strings.Join(names, ","); got != "cc,cursor,fs,legacy,remote" {
		t.Errorf("EnabledServers() = %s, want cc,cursor,fs,legacy,remote", got)
	}
}

func TestMCPJSONVSCode(t *testing.T) {
	c, err := loadIn(t, map[string]string{
		"weft.yaml": "mcp_servers_file: .vscode/mcp.json\n",
		".vscode/mcp.json": lines(
			`// VS Code writes JSON with comments`,
			`{`,
			`  "inputs": [{"type": "promptString", "id": "key", "password": true}],`,
			`  "servers": {`,
			`    /* a local server */`,
			`    "mem": {"type": "stdio", "command": "npx", "args": ["-y", "server-memory"], "envFile": ".env",},`,
			`    "gh": {"type": "http", "url": "https://${env:GH_HOST}/mcp/",},`,
			`    "old": {"type": "sse", "url": "http://localhost:8000/sse"}, // trailing comma next`,
			`  },`,
			`}`,
		),
	}, map[string]string{"GH_HOST": "api.example.com"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	got := map[string]string{}
	for n, s := range c.Servers {
		got[n] = string(s.Transport) + " " + s.Command + s.URL + " " + s.Origin
	}
	want := map[string]string{
		"mem": "stdio npx .vscode/mcp.json:6",
		"gh":  "http https://api.example.com/mcp/ .vscode/mcp.json:7",
		"old": "sse http://localhost:8000/sse .vscode/mcp.json:8",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("servers:\n got %v\nwant %v", got, want)
	}
}

// TestMCPJSONPrecedence checks that weft.yaml wins over mcp.json, that
// problems of a server it replaces are not reported, and that
// MCP_SERVERS_FILE overrides mcp_servers_file.
func TestMCPJSONPrecedence(t *testing.T) {
	files := map[string]string{
		"weft.yaml": lines(
			"mcp_servers_file: a.json",
			"servers:",
			"  shared:",
			"    command: from-yaml",
		),
		"a.json": `{"mcpServers": {"shared": {"command": "from-json", "type": "bogus"}, "only_a": {"command": "a"}}}`,
		"b.json": `{"mcpServers": {"shared": {"command": "from-b"}, "only_b": {"command": "b"}}}`,
	}
	c, err := loadIn(t, files, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if got := c.Servers["shared"].Command; got != "from-yaml" {
		t.Errorf("shared.command = %q, want from-yaml (weft.yaml wins)", got)
	}
	if c.Servers["only_a"] == nil || c.MCPServersFile != "a.json" {
		t.Errorf("only_a missing or MCPServersFile = %q", c.MCPServersFile)
	}
	c, err = loadIn(t, files, map[string]string{"MCP_SERVERS_FILE": "b.json"})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if c.Servers["only_b"] == nil || c.Servers["only_a"] != nil || c.Servers["shared"].Command != "from-yaml" {
		t.Errorf("with MCP_SERVERS_FILE=b.json: servers %v", c.Servers)
	}
}

// TestMCPJSONRelativePath checks that mcp_servers_file is relative to the
// weft.yaml's directory, not the working directory.
func TestMCPJSONRelativePath(t *testing.T) {
	dir := inDir(t, map[string]string{
		"conf/weft.yaml":        "mcp_servers_file: servers/mcp.json\n",
		"conf/servers/mcp.json": `{"mcpServers": {"x": {"command": "x"}}}`,
	})
	c, err := Load(LoadOptions{Path: filepath.Join(dir, "conf", "weft.yaml"), Env: envOf(nil)})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if want := filepath.Join(dir, "conf", "servers", "mcp.json"); c.MCPServersFile != want || c.Servers["x"] == nil {
		t.Errorf("MCPServersFile = %q (want %q), servers %v", c.MCPServersFile, want, c.Servers)
	}
}

func TestMCPJSONProblems(t *testing.T) {
	tests := []struct {
		name string
		json string
		env  map[string]string
		want string
	}{
		{"syntax error with line and column", lines(
			`{`,
			`  "mcpServers": {`,
			`    "a": {"command": "x" "args": []}`,
			`  }`,
			`}`,
		), nil, `mcp.json:3:26: JSON syntax error: invalid character '"' after object key:value pair`},
		{"truncated", lines(
			`{`,
			`  "mcpServers": {`,
		), nil, `mcp.json:2:18: JSON syntax error: unexpected end of JSON input`},
		{"no servers object", `{"servers_list": {}}`, nil,
			`mcp.json:1: no "mcpServers" (Claude Desktop, Cursor, Claude Code) or "servers" (VS Code) object`},
		{"not an object", `[1, 2]`, nil, `mcp.json:1: expected a JSON object with "mcpServers" or "servers", got a list`},
		{"bad values, all reported", lines(
			`{"mcpServers": {`,
			`  "a": {"command": ["x"]},`,
			`  "b": {"type": "websocket", "url": "wss://example.com"},`,
			`  "c": {"command": "x", "args": "-y", "disabled": "nope"},`,
			`  "d e": {"command": "x", "cwd": ["/"]},`,
			`  "f": {"url": "https://example.com/mcp", "headers": {"Authorization": "Bearer ${NOPE}"}},`,
			`  "g": null,`,
			`  "h": {"command": "x", "url": "https://example.com/mcp"},`,
			`  "i": {"type": "http", "url": "${BASE}/mcp"}`,
			`}}`,
		), map[string]string{"BASE": "localhost:3000"}, `mcp.json:2: mcpServers.a.command: expected a string, got a list
mcp.json:3: mcpServers.b.type: "websocket": not a server type (allowed: stdio, http, streamable-http, streamableHttp, sse)
mcp.json:4: mcpServers.c.args: expected a list of strings, got a value
mcp.json:4: mcpServers.c.disabled: "nope": not a boolean (allowed: true, false)
mcp.json:5: mcpServers."d e".cwd: expected a string, got a list
mcp.json:6: mcpServers.f.headers.Authorization: environment variable NOPE is not set (set it, or give a default: ${NOPE:-value})
mcp.json:7: mcpServers.g: expected an object with "command" or "url", got nothing (null)
mcp.json:8: mcpServers.h: both command and url are set (command runs a stdio server; url reaches an http or sse server: keep one)
mcp.json:9: mcpServers.i.url: "${BASE}/mcp": not an http(s) URL (e.g. https://example.com/mcp)`},
		{"duplicate across sections", lines(
			`{"mcpServers": {"a": {"command": "x"}},`,
			` "servers": {"a": {"command": "y"}}}`,
		), nil, `mcp.json:2: servers.a: duplicate server (first at line 1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadIn(t, map[string]string{"weft.yaml": "mcp_servers_file: mcp.json\n", "mcp.json": tt.json}, tt.env)
			if err == nil || err.Error() != tt.want {
				t.Errorf("error:\n%v\nwant:\n%s", err, tt.want)
			}
		})
	}
}

func TestMCPJSONMissingFile(t *testing.T) {
	_, err := loadIn(t, map[string]string{"weft.yaml": "log: {level: info}\nmcp_servers_file: nope.json\n"}, nil)
	want := `weft.yaml:2: mcp_servers_file: "nope.json": no such file (looked for nope.json)`
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestStripJSONC(t *testing.T) {
	in := "{\"a\": \"// not a comment, /* nor this */\", // c\n \"b\": [1, 2,], /* x\n y */ \"c\": \"\\\",\",}"
	out := string(stripJSONC([]byte(in)))
	want := "{\"a\": \"// not a comment, /* nor this */\",     \n \"b\": [1, 2 ],     \n      \"c\": \"\\\",\" }"
	if out != want {
		t.Errorf("stripJSONC:\n got %q\nwant %q", out, want)
	}
	if len(out) != len(in) {
		t.Errorf("length changed: %d -> %d", len(in), len(out))
	}
}

// TestMCPJSONDerivedNames checks that servers whose mcp.json names are not
// valid weft names (Claude Desktop and Cursor accept any text) are imported
// under derived names, deterministically and without replacing any other
// server, and that the original names are kept in MCPName.
func TestMCPJSONDerivedNames(t *testing.T) {
	mcpJSON := lines(
		`{"mcpServers": {`,
		`  "mcp.filesystem": {"command": "fs"},`,
		`  "Sequential Thinking": {"command": "st"},`,
		`  "github": {"command": "gh-json"},`,
		`  "git.hub": {"command": "gh-dotted"},`,
		`  "a b": {"command": "ab1"},`,
		`  "a/b": {"command": "ab2"},`,
		`  "mem__ory": {"command": "mem"},`,
		`  "@scope/server-x": {"command": "x"},`,
		`  "日本語": {"command": "jp"},`,
		`  "`+strings.Repeat("long name ", 10)+`": {"command": "long"},`,
		`  "yaml.server": {"command": "from-json"}`,
		`}}`,
	)
	weftYAML := lines(
		"mcp_servers_file: mcp.json",
		"servers:",
		"  yaml_server:",
		"    command: from-yaml",
	)
	c, err := loadIn(t, map[string]string{"weft.yaml": weftYAML, "mcp.json": mcpJSON}, nil)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	hash := func(s string, n int) string {
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:])[:n]
	}
	want := map[string]struct{ mcpName, command string }{
		"mcp_filesystem":      {"mcp.filesystem", "fs"},
		"Sequential_Thinking": {"Sequential Thinking", "st"},
		"github":              {"", "gh-json"},
		"git_hub":             {"git.hub", "gh-dotted"},
		// "a b" and "a/b" both derive a_b: both get a hash of their own name.
		"a_b_" + hash("a b", 6): {"a b", "ab1"},
		"a_b_" + hash("a/b", 6): {"a/b", "ab2"},
		"mem_ory":               {"mem__ory", "mem"},
		"scope_server-x":        {"@scope/server-x", "x"},
		"server":                {"日本語", "jp"},
		strings.TrimRight(strings.Repeat("long_name_", 7)[:64], "_"): {strings.Repeat("long name ", 10), "long"},
		// weft.yaml has yaml_server: the mcp.json server keeps its own name.
		"yaml_server":                           {"", "from-yaml"},
		"yaml_server_" + hash("yaml.server", 6): {"yaml.server", "from-json"},
	}
	got := map[string]struct{ mcpName, command string }{}
	for name, s := range c.Servers {
		if s.Name != name || !validServerName(name) {
			t.Errorf("server %q: Name %q, valid %v", name, s.Name, validServerName(name))
		}
		got[name] = struct{ mcpName, command string }{s.MCPName, s.Command}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("servers:\n got %v\nwant %v", got, want)
	}

	// The same names in another order derive the same weft names.
	names := []string{"a/b", "mcp.filesystem", "a b", "a_b", "x y"}
	first := importedNames(names, func(string) bool { return false })
	slices.Reverse(names)
	if again := importedNames(names, func(string) bool { return false }); !reflect.DeepEqual(first, again) {
		t.Errorf("importedNames depends on order:\n%v\n%v", first, again)
	}
	if first["a_b"] != "a_b" || first["a b"] == "a_b" || first["a/b"] == "a_b" || first["x y"] != "x_y" {
		t.Errorf("a valid name must keep its name and others must not take it: %v", first)
	}
}

// TestMCPJSONDerivedNameProblems checks that problems of a server imported
// under a derived name point at the name as the mcp.json writes it.
func TestMCPJSONDerivedNameProblems(t *testing.T) {
	_, err := loadIn(t, map[string]string{
		"weft.yaml": "mcp_servers_file: mcp.json\n",
		"mcp.json": lines(
			`{"mcpServers": {`,
			`  "my server": {"url": "ftp://example.com"},`,
			`  "other.one": {"command": "x", "url": "https://example.com/mcp"}`,
			`}}`,
		),
	}, nil)
	want := `mcp.json:2: mcpServers."my server".url: "ftp://example.com": not an http(s) URL (e.g. https://example.com/mcp)
mcp.json:3: mcpServers."other.one": both command and url are set (command runs a stdio server; url reaches an http or sse server: keep one)`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}

// TestMCPJSONOriginalNameInScope checks that a scope naming a server by
// its mcp.json name, where weft derived another, is reported with the name
// to use (it would otherwise match nothing).
func TestMCPJSONOriginalNameInScope(t *testing.T) {
	_, err := loadIn(t, map[string]string{
		"mcp.json": `{"mcpServers": {"mcp.filesystem": {"command": "fs"}}}`,
		"weft.yaml": lines(
			"mcp_servers_file: mcp.json",
			"gateway:",
			"  endpoints:",
			"    - {path: /mcp, mode: meta, servers: [mcp.filesystem]}",
			"  api_keys:",
			`    - {name: ci, hash: "sha256:`+strings.Repeat("ab", 32)+`", tools: ["mcp.filesystem__read_*"]}`,
		),
	}, nil)
	want := `weft.yaml:4: gateway.endpoints[0].servers[0]: "mcp.filesystem": is the mcp.json name of server mcp_filesystem: use mcp_filesystem
weft.yaml:6: gateway.api_keys[0].tools[0]: "mcp.filesystem__read_*": starts with the mcp.json name of server mcp_filesystem: its tools are mcp_filesystem__<tool> (use mcp_filesystem__read_*)`
	if err == nil || err.Error() != want {
		t.Errorf("error:\n%v\nwant:\n%s", err, want)
	}
}
