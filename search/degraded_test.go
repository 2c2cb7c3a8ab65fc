package search_test

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"testing"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/search/embed"
	"github.com/weft-dev/weft/search/embed/embedtest"
	"github.com/weft-dev/weft/search/vector"
)

func degradedTools() []catalog.Tool {
	return []catalog.Tool{
		{Server: "fs", Original: "read_file", Description: "Read a file."},
		{Server: "mail", Original: "send_email", Description: "Send an email message."},
		{Server: "cal", Original: "create_event", Description: "Create a calendar event."},
	}
}

// hybridIndex returns an index over degradedTools whose embedder is the
// test server srv (no retries, so a failure is one request).
func hybridIndex(t *testing.T, srv *embedtest.Server) *search.Index {
	t.Helper()
	client, err := embed.New(embed.Config{BaseURL: srv.URL + "/v1", Model: "test-embed", MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := search.New(catalog.NewSnapshot(degradedTools()), search.Options{Embedder: client, Vectors: vector.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// lexicalResults is what a lexical-only index answers for q.
func lexicalResults(t *testing.T, q search.Query) []search.Result {
	t.Helper()
	ix, err := search.New(catalog.NewSnapshot(degradedTools()), search.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return r.Results
}

// TestEmbedderOutageAtQueryFallsBack checks that a search whose query
// cannot be embedded answers with the lexical results and says why.
func TestEmbedderOutageAtQueryFallsBack(t *testing.T) {
	srv := embedtest.NewServer(64)
	defer srv.Close()
	ix := hybridIndex(t, srv)
	ctx := context.Background()
	q := search.Query{Text: "send an email message", K: 2}
	r, err := ix.Search(ctx, q)
	if err != nil || r.Degraded != "" || len(r.Results) == 0 || !slices.Contains(r.Results[0].Matched, "semantic") {
		t.Fatalf("healthy embedder: %+v, %v", r, err)
	}

	srv.SetDown(http.StatusServiceUnavailable)
	r, err = ix.Search(ctx, q)
	if err != nil {
		t.Fatalf("search failed during an embedder outage: %v", err)
	}
	want := "semantic search unavailable: embed query: embed: endpoint answered 503: try later"
	if r.Degraded != want {
		t.Errorf("Degraded = %q, want %q", r.Degraded, want)
	}
	if lex := lexicalResults(t, q); !reflect.DeepEqual(r.Results, lex) {
		t.Errorf("results during the outage:\n got %+v\nwant the lexical ones %+v", r.Results, lex)
	}

	srv.SetDown(0)
	r, err = ix.Search(ctx, q)
	if err != nil || r.Degraded != "" || !slices.Contains(r.Results[0].Matched, "semantic") {
		t.Errorf("after the outage: %+v, %v", r, err)
	}
}

// TestEmbedderOutageAtBuildFallsBack checks that an index whose tools
// cannot be embedded serves lexical results instead of failing.
func TestEmbedderOutageAtBuildFallsBack(t *testing.T) {
	srv := embedtest.NewServer(64)
	defer srv.Close()
	srv.SetDown(http.StatusInternalServerError)
	ix := hybridIndex(t, srv)
	q := search.Query{Text: "create a calendar event", K: 3}
	r, err := ix.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search failed when the tools could not be embedded: %v", err)
	}
	want := "semantic search unavailable: embed tools: embed: endpoint answered 500: try later"
	if r.Degraded != want {
		t.Errorf("Degraded = %q, want %q", r.Degraded, want)
	}
	if lex := lexicalResults(t, q); !reflect.DeepEqual(r.Results, lex) {
		t.Errorf("results:\n got %+v\nwant the lexical ones %+v", r.Results, lex)
	}
	// Only the build tried the embedder: the query is not embedded
	// against an index without tool vectors.
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d embedding requests, want 1 (the build's)", n)
	}

	// After one failure the next search tries the tool vectors again: once
	// the embedder is back, search is hybrid again.
	srv.SetDown(0)
	r, err = ix.Search(context.Background(), q)
	if err != nil || r.Degraded != "" || len(r.Results) == 0 || !slices.Contains(r.Results[0].Matched, "semantic") {
		t.Errorf("after the outage: %+v, %v", r, err)
	}
}
