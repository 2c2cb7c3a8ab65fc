package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigCheckMCPJSONNames runs weft config check on an mcp.json with
// server names Claude Desktop and Cursor accept but weft cannot use as they
// are: the servers are imported under derived names, the mapping is shown,
// and every section of the configuration is printed.
func TestConfigCheckMCPJSONNames(t *testing.T) {
	dir := t.TempDir()
	mcpJSON := `{"mcpServers": {
  "mcp.filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
  "Sequential Thinking": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-sequential-thinking"]},
  "memory": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]}
}}`
	if err := os.WriteFile(filepath.Join(dir, "mcp.json"), []byte(mcpJSON), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfg, []byte("mcp_servers_file: mcp.json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, filepath.Join(dir, "cache"), "config", "check", "--config", cfg)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	wantErr := "configuration OK: " + cfg + ", 3 server(s) enabled\n" +
		"mcp.json server names imported under valid weft names (their tools are <name>__<tool>):\n" +
		"  \"Sequential Thinking\" → Sequential_Thinking\n" +
		"  \"mcp.filesystem\" → mcp_filesystem\n"
	if r.stderr != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.stderr, wantErr)
	}
	for _, want := range []string{"servers:\n  Sequential_Thinking:\n", "\n  mcp_filesystem:\n", "\n  memory:\n", "\ncode:\n", "\nplans:\n", "\ngateway:\n", "\nlog:\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
}
