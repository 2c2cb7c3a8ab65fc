package server_test

import (
	"net/http"
	"testing"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/search/embed/embedtest"
)

// TestSearchDegradedREST checks that GET /v1/search answers during an
// embedder outage, with lexical results and "degraded" saying why, and
// leaves the field out once the embedder is back.
func TestSearchDegradedREST(t *testing.T) {
	emb := embedtest.NewServer(32)
	defer emb.Close()
	emb.SetDown(http.StatusBadRequest) // a 400 is not retried: one request per attempt
	_, hs, _ := newServer(t, func(c *config.Config) {
		c.Search.Embedder.URL = emb.URL + "/v1"
		c.Search.Embedder.Model = "test-embed"
	})
	status, _, body := do(t, "GET", hs.URL+"/v1/search?q=echo+a+message&k=1", "")
	if status != http.StatusOK {
		t.Fatalf("status %d during the outage: %v", status, body)
	}
	const want = "semantic search unavailable: embed tools: embed: endpoint answered 400: try later"
	results, _ := body["results"].([]any)
	if body["degraded"] != want || len(results) != 1 || results[0].(map[string]any)["name"] != "fn__echo" {
		t.Errorf("during the outage: %v; want fn__echo and degraded %q", body, want)
	}

	emb.SetDown(0)
	status, _, body = do(t, "GET", hs.URL+"/v1/search?q=echo+a+message&k=1", "")
	if _, has := body["degraded"]; status != http.StatusOK || has {
		t.Errorf("after the outage: status %d, %v", status, body)
	}
}
