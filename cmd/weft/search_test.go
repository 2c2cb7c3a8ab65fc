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

// TestEvalSearchLongQuery runs weft eval search on a data set with a query
// as long as a real LiveMCPBench task (18,686 characters): it is searched
// on its leading part and the evaluation completes.
func TestEvalSearchLongQuery(t *testing.T) {
	dir := t.TempDir()
	tools := `{"id": "t1", "name": "read_file", "description": "Read a file from disk.", "server": "fs"}
{"id": "t2", "name": "send_email", "description": "Send an email message.", "server": "mail"}
`
	long := "Send an email to my colleague about the meeting. " + strings.Repeat("Background the agent may skip: lorem ipsum dolor sit amet. ", 400)
	long = long[:18686]
	queries := fmt.Sprintf(`{"id": "short", "query": "read the file notes.txt", "relevant": ["t1"], "split": "dev"}
{"id": "long", "query": %q, "relevant": ["t2"], "split": "dev"}
`, long)
	if err := os.WriteFile(dir+"/tools.jsonl", []byte(tools), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir+"/queries.jsonl", []byte(queries), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, t.TempDir(), "eval", "search", "--data", dir)
	if r.code != 0 || !strings.Contains(r.stdout, "2 queries") || !strings.Contains(r.stdout, "Recall@1   1.000") || strings.Contains(r.stdout, "FAILED") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
}
