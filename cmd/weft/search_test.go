package main_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/weft-dev/weft/search/embed/embedtest"
)

// TestSearchEmbedderOutage runs weft search with an embedder that is down:
// the results are lexical, and a note on stderr says why.
func TestSearchEmbedderOutage(t *testing.T) {
	emb := embedtest.NewServer(32)
	defer emb.Close()
	emb.SetDown(http.StatusBadRequest) // not retried by the client
	cfg, cache := writeConfig(t, "")
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "search:\n  embedder:\n    url: %s/v1\n    model: test-embed\n", emb.URL)
	f.Close()
	r := run(t, cache, "search", "add two numbers", "-k", "1", "--config", cfg)
	const note = "note: semantic search unavailable: embed tools: embed: endpoint answered 400: try later; these results are lexical only\n"
	if r.code != 0 || !strings.Contains(r.stdout, "everything__get-sum") || !strings.Contains(r.stderr, note) {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s\nwant everything__get-sum and %q", r.code, r.stdout, r.stderr, note)
	}
}
