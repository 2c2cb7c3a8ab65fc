package config

import (
	"path/filepath"
	"reflect"
	"testing"
)

// TestExamples loads examples/weft.yaml and examples/mcp.json (through
// MCP_SERVERS_FILE) and checks they describe the same two servers.
func TestExamples(t *testing.T) {
	dir := filepath.Join("..", "examples")
	fromYAML, err := Load(LoadOptions{Path: filepath.Join(dir, "weft.yaml"), Env: envOf(nil)})
	if err != nil {
		t.Fatalf("examples/weft.yaml: %v", err)
	}
	fromJSON, err := Parse("defaults.yaml", nil, envOf(map[string]string{"MCP_SERVERS_FILE": filepath.Join(dir, "mcp.json")}))
	if err != nil {
		t.Fatalf("examples/mcp.json: %v", err)
	}
	for _, c := range []*Config{fromYAML, fromJSON} {
		var names []string
		for _, s := range c.EnabledServers() {
			names = append(names, s.Name)
		}
		if !reflect.DeepEqual(names, []string{"everything", "memory"}) {
			t.Errorf("%s: servers %v, want [everything memory]", c.Path, names)
		}
		mem := c.Servers["memory"]
		if got := mem.Env["MEMORY_FILE_PATH"]; got != "/tmp/weft-memory.jsonl" {
			t.Errorf("%s: MEMORY_FILE_PATH = %q, want the default /tmp/weft-memory.jsonl", c.Path, got)
		}
		ev := c.Servers["everything"]
		if ev.Command != "npx" || !reflect.DeepEqual(ev.Args, []string{"-y", "@modelcontextprotocol/server-everything@2026.8.31", "stdio"}) {
			t.Errorf("%s: everything = %s %v", c.Path, ev.Command, ev.Args)
		}
		if !reflect.DeepEqual(mem.Args, []string{"-y", "@modelcontextprotocol/server-memory@2026.8.31"}) {
			t.Errorf("%s: memory args = %v", c.Path, mem.Args)
		}
	}
	c, err := Load(LoadOptions{Path: filepath.Join(dir, "weft.yaml"), Env: envOf(map[string]string{"WEFT_MEMORY_FILE": "/data/m.jsonl"})})
	if err != nil || c.Servers["memory"].Env["MEMORY_FILE_PATH"] != "/data/m.jsonl" {
		t.Errorf("WEFT_MEMORY_FILE not used: %v", err)
	}
}
