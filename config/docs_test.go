package config

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var fence = regexp.MustCompile("(?s)```(yaml|json|jsonc)\n(.*?)```")

// TestDocsExamples checks that every yaml, json and jsonc example in
// docs/configuration.md is a valid weft.yaml or mcp.json.
func TestDocsExamples(t *testing.T) {
	text, err := os.ReadFile(filepath.Join("..", "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "mcp.json"), []byte(`{"mcpServers": {}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"GITHUB_TOKEN": "t", "HOME": dir, "AZURE_OPENAI_API_KEY": "k"}
	env := envOf(vars)
	blocks := fence.FindAllSubmatch(text, -1)
	if len(blocks) < 10 {
		t.Fatalf("found %d examples, want at least 10", len(blocks))
	}
	for i, b := range blocks {
		lang, body := string(b[1]), b[2]
		if lang == "yaml" {
			if _, err := Parse(filepath.Join(dir, "weft.yaml"), body, env); err != nil {
				t.Errorf("example %d (yaml):\n%s\n%v", i, body, err)
			}
			continue
		}
		path := filepath.Join(dir, "example.json")
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
		vars["MCP_SERVERS_FILE"] = path
		c, err := Parse(filepath.Join(dir, "weft.yaml"), nil, env)
		delete(vars, "MCP_SERVERS_FILE")
		if err != nil || len(c.Servers) == 0 {
			t.Errorf("example %d (%s):\n%s\n%v", i, lang, body, err)
		}
	}
}
