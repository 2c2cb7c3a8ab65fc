package weft_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/search/embed/embedtest"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// denseTools is a small catalog of Go functions.
func denseTools(t *testing.T) source.Source {
	t.Helper()
	fn := function.New("office", "office helpers")
	type none struct{}
	ok := func(context.Context, none) (string, error) { return "ok", nil }
	for _, tool := range [][2]string{
		{"send_email", "Send an email message to a colleague"},
		{"read_calendar", "List the meetings in a calendar"},
		{"weather", "Get the weather forecast for a city"},
		{"translate", "Translate text between languages"},
		{"convert_currency", "Convert an amount between currencies"},
	} {
		if err := function.Add(fn, tool[0], tool[1], ok); err != nil {
			t.Fatal(err)
		}
	}
	return fn
}

// inputs counts the texts the embeddings server was asked for.
func inputs(reqs []embedtest.Request) int {
	n := 0
	for _, r := range reqs {
		n += len(r.Input)
	}
	return n
}

func TestDenseSearchThroughConfiguredEmbedder(t *testing.T) {
	srv := embedtest.NewServer(64)
	defer srv.Close()
	cfg := baseConfig(t)
	cfg.Search.Warm = true
	cfg.Search.Embedder.URL = srv.URL + "/v1"
	cfg.Search.Embedder.Model = "test-embed"
	cfg.Search.Embedder.APIKey = "emb-key"
	ctx := context.Background()

	o, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{denseTools(t)}, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	// search.warm: the tools are embedded in the background, before any search.
	deadline := time.Now().Add(20 * time.Second)
	for inputs(srv.Requests()) < 5 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || len(reqs[0].Input) != 5 {
		t.Fatalf("warm-up: %d requests, %d texts; want the 5 tool texts in one request", len(reqs), inputs(reqs))
	}
	if r := reqs[0]; r.Path != "/v1/embeddings" || r.Model != "test-embed" || r.Header.Get("Authorization") != "Bearer emb-key" {
		t.Errorf("warm-up request: path %q model %q auth %q", r.Path, r.Model, r.Header.Get("Authorization"))
	}

	res, err := resultsOf(o.Search(ctx, search.Query{Text: "email a colleague", K: 3}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || res[0].Name != "office__send_email" || !slices.Contains(res[0].Matched, "semantic") {
		t.Fatalf("search: %+v, want office__send_email first, matched semantically", res)
	}
	if reqs := srv.Requests(); len(reqs) != 2 || !slices.Equal(reqs[1].Input, []string{"email a colleague"}) {
		t.Errorf("query embedding: %d requests, last %q", len(reqs), reqs[len(reqs)-1].Input)
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}

	// A second orchestrator over the same cache dir (no warm-up: the first
	// search builds) reads the tool vectors from disk instead of re-embedding.
	cfg.Search.Warm = false
	o2, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{denseTools(t)}, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	defer o2.Close()
	if err := o2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	res, err = resultsOf(o2.Search(ctx, search.Query{Text: "email a colleague", K: 3}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || res[0].Name != "office__send_email" || !slices.Contains(res[0].Matched, "semantic") {
		t.Fatalf("second orchestrator: %+v", res)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("second orchestrator sent %d requests; want none (tool and query vectors cached on disk)", n-2)
	}
	// A new query is embedded, alone.
	res, err = resultsOf(o2.Search(ctx, search.Query{Text: "weather forecast in Paris", K: 3}))
	if err != nil {
		t.Fatal(err)
	}
	if reqs := srv.Requests(); len(reqs) != 3 || !slices.Equal(reqs[2].Input, []string{"weather forecast in Paris"}) {
		t.Errorf("new query: %d requests, last %q", len(reqs), reqs[len(reqs)-1].Input)
	}
	if len(res) == 0 || res[0].Name != "office__weather" || !slices.Contains(res[0].Matched, "semantic") {
		t.Errorf("weather search: %+v", res)
	}
}

func TestDenseSearchFailedWarmUpIsRetried(t *testing.T) {
	srv := embedtest.NewServer(64)
	defer srv.Close()
	srv.Fail = []int{400} // the warm-up's request
	cfg := baseConfig(t)
	cfg.Search.Warm = true
	cfg.Search.Embedder.URL = srv.URL
	cfg.Search.Embedder.Model = "test-embed"
	o, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{denseTools(t)}, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for len(srv.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// The failed warm-up does not stick: the first search builds again.
	res, err := resultsOf(o.Search(context.Background(), search.Query{Text: "translate text", K: 2}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || res[0].Name != "office__translate" || !slices.Contains(res[0].Matched, "semantic") {
		t.Errorf("search after a failed warm-up: %+v", res)
	}
}

func TestDenseEmbedderConfigErrors(t *testing.T) {
	cfg := baseConfig(t)
	cfg.Search.Embedder = config.Embedder{URL: "http://127.0.0.1:1", AzureDeployment: "emb", APIKey: "secret-key", Auth: "key"}
	_, err := weft.New(weft.Options{Config: cfg, Offline: true})
	if err == nil || !strings.Contains(err.Error(), "search.embedder: embed: Azure OpenAI endpoint") || strings.Contains(err.Error(), "secret-key") {
		t.Errorf("got %v", err)
	}
}

// resultsOf returns the results of a search (nil on error).
func resultsOf(r *search.Response, err error) ([]search.Result, error) {
	if err != nil {
		return nil, err
	}
	return r.Results, nil
}

// TestDenseSearchEmbedderOutage checks that an embedder outage does not
// fail search: the results are lexical, the response says why, and the
// degraded search is counted in the Prometheus metrics.
func TestDenseSearchEmbedderOutage(t *testing.T) {
	srv := embedtest.NewServer(64)
	defer srv.Close()
	cfg := baseConfig(t)
	cfg.Search.Embedder.URL = srv.URL + "/v1"
	cfg.Search.Embedder.Model = "test-embed"
	ctx := context.Background()
	o, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{denseTools(t)}, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	srv.SetDown(http.StatusBadRequest) // not retried by the client: one request per attempt
	resp, err := o.Search(ctx, search.Query{Text: "email a colleague", K: 3})
	if err != nil {
		t.Fatalf("search failed during an embedder outage: %v", err)
	}
	const want = "semantic search unavailable: embed tools: embed: endpoint answered 400: try later"
	if resp.Degraded != want || len(resp.Results) == 0 || resp.Results[0].Name != "office__send_email" || slices.Contains(resp.Results[0].Matched, "semantic") {
		t.Errorf("during the outage: %+v; want lexical results with Degraded %q", resp, want)
	}
	metric := func() string {
		rec := httptest.NewRecorder()
		o.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		for _, line := range strings.Split(rec.Body.String(), "\n") {
			if strings.HasPrefix(line, "weft_search_degraded_total ") {
				return line
			}
		}
		return "(missing)"
	}
	if got := metric(); got != "weft_search_degraded_total 1" {
		t.Errorf("metric: %s, want weft_search_degraded_total 1", got)
	}
	srv.SetDown(0)
	resp, err = o.Search(ctx, search.Query{Text: "email a colleague", K: 3})
	if err != nil || resp.Degraded != "" || !slices.Contains(resp.Results[0].Matched, "semantic") {
		t.Errorf("after the outage: %+v, %v", resp, err)
	}
	if got := metric(); got != "weft_search_degraded_total 1" {
		t.Errorf("metric after the outage: %s, want weft_search_degraded_total 1", got)
	}
}
