package mcpgw_test

import (
	"net/http"
	"testing"

	"github.com/weft-dev/weft/search/embed/embedtest"
)

// TestMCPSearchToolsDegraded checks that search_tools answers during an
// embedder outage, with the tools found lexically and "degraded" saying
// why, in structured content valid for its output schema.
func TestMCPSearchToolsDegraded(t *testing.T) {
	emb := embedtest.NewServer(32)
	defer emb.Close()
	emb.SetDown(http.StatusBadRequest) // a 400 is not retried: one request per attempt
	cfg := metaConfig()
	cfg.Search.AutoMaxTools, cfg.Search.AutoMaxTokens = 1, 1 // search, never list everything
	cfg.Search.Embedder.URL = emb.URL + "/v1"
	cfg.Search.Embedder.Model = "test-embed"
	_, url := startWeft(t, cfg, fnSource())
	cs := connect(t, url+"/mcp", "", nil)

	res := call(t, cs, "search_tools", map[string]any{"query": "echo a message", "k": 1})
	if res.IsError {
		t.Fatalf("search_tools failed during an embedder outage: %s", text(res))
	}
	out := structured(t, res)
	const want = "semantic search unavailable: embed tools: embed: endpoint answered 400: try later"
	tools, _ := out["tools"].([]any)
	if out["degraded"] != want || len(tools) != 1 || tools[0].(map[string]any)["name"] != "fn__echo" {
		t.Errorf("during the outage: %v; want fn__echo and degraded %q", out, want)
	}

	emb.SetDown(0)
	out = structured(t, call(t, cs, "search_tools", map[string]any{"query": "echo a message", "k": 1}))
	if _, has := out["degraded"]; has {
		t.Errorf("after the outage: %v", out)
	}
}
