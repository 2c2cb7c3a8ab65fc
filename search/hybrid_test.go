package search_test

import (
	"context"
	"slices"
	"testing"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/search/embed"
	"github.com/weft-dev/weft/search/embed/embedtest"
	"github.com/weft-dev/weft/search/vector"
)

func TestHybridSearch(t *testing.T) {
	srv := embedtest.NewServer(64)
	defer srv.Close()
	client, err := embed.New(embed.Config{BaseURL: srv.URL + "/v1", Model: "test-embed"})
	if err != nil {
		t.Fatal(err)
	}
	cache, _ := embed.NewCache(client, embed.CacheOptions{})
	tools := []catalog.Tool{
		{Server: "fs", Original: "read_file", Description: "Read a file."},
		{Server: "mail", Original: "send_email", Description: "Send an email message."},
		{Server: "cal", Original: "create_event", Description: "Create a calendar event."},
	}
	for _, fu := range []search.Fusion{{}, {Method: search.FusionWeighted, DenseWeight: 0.7}} {
		ix, err := search.New(catalog.NewSnapshot(tools), search.Options{Embedder: cache, Vectors: vector.NewMemory(), Fusion: fu})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := results(ix.Search(context.Background(), search.Query{Text: "email message", K: 2}))
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 || rs[0].Name != "mail__send_email" || !slices.Contains(rs[0].Matched, "semantic") {
			t.Errorf("%v: got %+v", fu.Method, rs)
		}
		// Incremental: one added tool is embedded, nothing else.
		before := len(srv.Requests())
		tools2 := append(slices.Clone(tools), catalog.Tool{Server: "web", Original: "fetch_url", Description: "Fetch a web page."})
		ix.Update(catalog.NewSnapshot(tools2))
		rs, err = results(ix.Search(context.Background(), search.Query{Text: "fetch web page", K: 1}))
		if err != nil {
			t.Fatal(err)
		}
		if rs[0].Name != "web__fetch_url" || ix.Stats().Embedded != 1 {
			t.Errorf("after update: %v, embedded %d", rs, ix.Stats().Embedded)
		}
		if n := len(srv.Requests()) - before; n > 2 {
			t.Errorf("%d embedding requests for one new tool and one query", n)
		}
	}
	if _, err := search.New(nil, search.Options{Embedder: client}); err == nil {
		t.Error("embedder without vector store accepted")
	}
	if _, err := search.New(nil, search.Options{Fusion: search.Fusion{Method: "max"}}); err == nil {
		t.Error("unknown fusion accepted")
	}
}

// results returns the results of a search (nil on error).
func results(r *search.Response, err error) ([]search.Result, error) {
	if err != nil {
		return nil, err
	}
	return r.Results, nil
}
