package search

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
)

func testTools() []catalog.Tool {
	ro := true
	return []catalog.Tool{
		{Server: "fs", Original: "read_file", Description: "Read the contents of a file from disk.",
			InputSchema: json.RawMessage(`{"type":"object","properties":{"path":{"type":"string","description":"Absolute path of the file"}}}`),
			Annotations: &catalog.Annotations{ReadOnlyHint: &ro}, Tags: []string{"files"}},
		{Server: "fs", Original: "write_file", Description: "Create or overwrite a file with new content.", Tags: []string{"files"}},
		{Server: "github", Original: "listIssues", Description: "List issues of a repository.",
			InputSchema: json.RawMessage(`{"type":"object","properties":{"repo":{"type":"string","description":"owner/name"}}}`)},
		{Server: "weather", Original: "get_forecast", Title: "Weather forecast", Description: "Daily weather forecast for a city.",
			Examples: []json.RawMessage{json.RawMessage(`{"city":"Lisbon"}`)}},
		{Server: "cn", Original: "bing_search", Description: "使用必应搜索指定的关键词"},
	}
}

func newTestIndex(t *testing.T) *Index {
	t.Helper()
	ix, err := New(catalog.NewSnapshot(testTools()), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

func names(rs []Result) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

func TestSearchRanksAndReportsFields(t *testing.T) {
	ix := newTestIndex(t)
	ctx := context.Background()
	tests := []struct {
		q     string
		first string
	}{
		{"I want to read a file", "fs__read_file"},
		{"list the open issues of my repo", "github__listIssues"},
		{"what's the weather in Lisbon tomorrow", "weather__get_forecast"},
		{"必应搜索", "cn__bing_search"},
		{"overwrite files", "fs__write_file"},
	}
	for _, tt := range tests {
		rs, err := results(ix.Search(ctx, Query{Text: tt.q}))
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) == 0 || rs[0].Name != tt.first {
			t.Errorf("%q: got %v, want %s first", tt.q, names(rs), tt.first)
		}
	}
	rs, _ := results(ix.Search(ctx, Query{Text: "weather Lisbon", K: 1, WithSchema: true, WithSignature: true}))
	r := rs[0]
	if !slices.Equal(r.Matched, []string{"title", "description", "server", "examples"}) {
		t.Errorf("matched = %v", r.Matched)
	}
	if r.Server != "weather" || r.Description == "" || r.Signature == "" || !strings.HasPrefix(r.Signature, "get_forecast(") {
		t.Errorf("result fields: %+v", r)
	}
	if rs[0].Score <= 0 {
		t.Errorf("score %v", rs[0].Score)
	}
}

func TestSearchFilters(t *testing.T) {
	ix := newTestIndex(t)
	ctx := context.Background()
	tests := []struct {
		q    Query
		want []string
	}{
		{Query{Text: "file", ReadOnly: true}, []string{"fs__read_file"}},
		{Query{Text: "file", Deny: []string{"fs__read*"}}, []string{"fs__write_file"}},
		{Query{Text: "file issues", Allow: []string{"github__*"}}, []string{"github__listIssues"}},
		{Query{Text: "file issues", Servers: []string{"github"}}, []string{"github__listIssues"}},
		{Query{Text: "file issues", Tags: []string{"files"}}, []string{"fs__read_file", "fs__write_file"}},
		{Query{Text: "file", K: 1}, []string{"fs__read_file"}},
	}
	for _, tt := range tests {
		rs, err := results(ix.Search(ctx, tt.q))
		if err != nil {
			t.Fatal(err)
		}
		got := names(rs)
		slices.Sort(got)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%+v: got %v, want %v", tt.q, got, tt.want)
		}
	}
}

func TestQueryValidation(t *testing.T) {
	ix := newTestIndex(t)
	for _, q := range []Query{
		{Text: ""}, {Text: "   "}, {Text: "ok\xff"},
		{Text: "x", K: -1}, {Text: "x", K: MaxK + 1}, {Text: "x", Allow: []string{"["}},
	} {
		_, err := ix.Search(context.Background(), q)
		var qe *QueryError
		if !errors.As(err, &qe) || qe.Reason == "" {
			t.Errorf("%.40q: got %v, want a *QueryError", q.Text, err)
		}
	}
	// Stopwords only: still searched, not an error.
	if _, err := ix.Search(context.Background(), Query{Text: "the and of"}); err != nil {
		t.Error(err)
	}
}

func TestUpdateIsIncremental(t *testing.T) {
	ix := newTestIndex(t)
	ctx := context.Background()
	if err := ix.Build(ctx); err != nil {
		t.Fatal(err)
	}
	if st := ix.Stats(); st.Analyzed != 5 || st.Tools != 5 {
		t.Fatalf("first build: %+v", st)
	}
	tools := testTools()
	tools[1].Description = "Save text to a file on disk."
	tools = append(tools[:2], tools[3:]...) // drop listIssues
	tools = append(tools, catalog.Tool{Server: "mail", Original: "send_email", Description: "Send an email."})
	ix.Update(catalog.NewSnapshot(tools))
	rs, err := results(ix.Search(ctx, Query{Text: "send email"}))
	if err != nil {
		t.Fatal(err)
	}
	if st := ix.Stats(); st.Analyzed != 2 || st.Tools != 5 {
		t.Errorf("update re-analysed %d tools (want 2: one changed, one added): %+v", st.Analyzed, st)
	}
	if len(rs) == 0 || rs[0].Name != "mail__send_email" {
		t.Errorf("new tool not found: %v", names(rs))
	}
	rs, _ = results(ix.Search(ctx, Query{Text: "issues repository"}))
	if slices.Contains(names(rs), "github__listIssues") {
		t.Error("removed tool still found")
	}
	rs, _ = results(ix.Search(ctx, Query{Text: "save text"}))
	if len(rs) == 0 || rs[0].Name != "fs__write_file" {
		t.Errorf("changed tool not re-indexed: %v", names(rs))
	}
}

func TestConcurrentSearchAndUpdate(t *testing.T) {
	ix := newTestIndex(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				if g == 0 && i%10 == 0 {
					ix.Update(catalog.NewSnapshot(testTools()[:3+i%3]))
				}
				if _, err := ix.Search(context.Background(), Query{Text: "read file"}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestShouldListAll(t *testing.T) {
	tools := catalog.NewSnapshot(testTools()).View(nil).Tools()
	if !ShouldListAllTools(tools, 30, 0) || ShouldListAllTools(tools, 3, 0) {
		t.Error("tool limit")
	}
	tok := EstimateTokens(tools)
	if !ShouldListAllTools(tools, 0, tok) || ShouldListAllTools(tools, 0, tok-1) {
		t.Errorf("token limit (estimate %d)", tok)
	}
	if !ShouldListAllTools(nil, 1, 1) {
		t.Error("no tools")
	}
}

func TestEmptyCatalog(t *testing.T) {
	ix, _ := New(nil, Options{})
	rs, err := results(ix.Search(context.Background(), Query{Text: "anything"}))
	if err != nil || len(rs) != 0 {
		t.Errorf("got %v, %v", rs, err)
	}
}

// results returns the results of a search (nil on error).
func results(r *Response, err error) ([]Result, error) {
	if err != nil {
		return nil, err
	}
	return r.Results, nil
}

// TestLongQuery checks that a query of any length is searched on its first
// MaxQueryTerms words instead of being refused.
func TestLongQuery(t *testing.T) {
	ix := newTestIndex(t)
	ctx := context.Background()
	// A real LiveMCPBench task is 18,686 characters: the request, then
	// pages of context.
	long := "What's the weather in Lisbon tomorrow? " + strings.Repeat("Background the agent may skip: lorem ipsum dolor sit amet, consectetur adipiscing. ", 250)
	if n := len([]rune(long)); n < 18000 {
		t.Fatalf("test query has %d characters", n)
	}
	rs, err := results(ix.Search(ctx, Query{Text: long, K: 3}))
	if err != nil {
		t.Fatalf("long query refused: %v", err)
	}
	if len(rs) == 0 || rs[0].Name != "weather__get_forecast" {
		t.Errorf("long query: got %v, want weather__get_forecast first", names(rs))
	}
	// Words past the bound are not searched at all.
	filler := strings.Repeat("x ", MaxQueryTerms)
	if rs, err := results(ix.Search(ctx, Query{Text: filler + "weather Lisbon"})); err != nil || len(rs) != 0 {
		t.Errorf("words after the first %d were searched: %v, %v", MaxQueryTerms, names(rs), err)
	}
	if rs, err := results(ix.Search(ctx, Query{Text: filler[:len(filler)-2] + "weather Lisbon"})); err != nil || len(rs) == 0 || rs[0].Name != "weather__get_forecast" {
		t.Errorf("word %d was not searched: %v, %v", MaxQueryTerms, names(rs), err)
	}
}

func TestLeadingText(t *testing.T) {
	for _, c := range []struct {
		text string
		n    int
		want string
	}{
		{"read a file", 5, "read a file"},
		{"read a file please", 3, "read a file "},
		{"  read,a;file", 2, "  read,a;"},
		{"getWeather2day now", 1, "getWeather2day "},
		{"必应搜索 web", 2, "必应"},
		{"", 3, ""},
		{"read", 0, ""},
	} {
		if got := leadingText(c.text, c.n); got != c.want {
			t.Errorf("leadingText(%q, %d) = %q, want %q", c.text, c.n, got, c.want)
		}
	}
}

func TestDenseRetryAfter(t *testing.T) {
	want := []time.Duration{0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for failures, w := range want {
		if got := denseRetryAfter(failures); got != w {
			t.Errorf("denseRetryAfter(%d) = %v, want %v", failures, got, w)
		}
	}
	if got := denseRetryAfter(1000); got != maxDenseRetry {
		t.Errorf("denseRetryAfter(1000) = %v", got)
	}
}

// TestQueryEmbedderOutageSkipsDense checks that during an outage searches
// stop waiting for the embedder: after a failure the next search tries
// again; after two in a row searches skip the dense side for a while
// (answering lexically, with the last error) and then try again.
func TestQueryEmbedderOutageSkipsDense(t *testing.T) {
	emb := &flakyEmbedder{}
	ix, err := New(catalog.NewSnapshot(testTools()), Options{Embedder: emb, Vectors: &mapVectors{}})
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Unix(1000, 0)
	ix.queries.now = func() time.Time { return clock }
	ctx := context.Background()
	search := func() *Response {
		t.Helper()
		r, err := ix.Search(ctx, Query{Text: "read a file"})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := search(); r.Degraded != "" || emb.calls != 2 { // tools, then the query
		t.Fatalf("healthy: degraded %q, %d embedder calls", r.Degraded, emb.calls)
	}
	emb.fail = true
	const want = "semantic search unavailable: embed query: embedder down"
	for i, wantCalls := range []int{3, 4, 4, 4} { // tried, tried, skipped, skipped
		if r := search(); r.Degraded != want || emb.calls != wantCalls || len(r.Results) == 0 {
			t.Fatalf("search %d of the outage: degraded %q, %d embedder calls (want %d), %d results", i+1, r.Degraded, emb.calls, wantCalls, len(r.Results))
		}
	}
	clock = clock.Add(denseRetryAfter(2)) // the pause after two failures is over
	emb.fail = false
	if r := search(); r.Degraded != "" || emb.calls != 5 {
		t.Fatalf("after the pause: degraded %q, %d embedder calls", r.Degraded, emb.calls)
	}
}

// flakyEmbedder embeds every text as the same vector, or fails.
type flakyEmbedder struct {
	fail  bool
	calls int
}

func (e *flakyEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	e.calls++
	if e.fail {
		return nil, errors.New("embedder down")
	}
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = []float32{1, 0}
	}
	return out, nil
}

func (e *flakyEmbedder) Model() string   { return "flaky" }
func (e *flakyEmbedder) Dimensions() int { return 2 }

// mapVectors is a VectorStore returning every stored id with score 1.
type mapVectors struct{ ids []string }

func (m *mapVectors) Upsert(_ context.Context, ids []string, _ [][]float32) error {
	m.ids = append(m.ids, ids...)
	return nil
}

func (m *mapVectors) Delete(context.Context, []string) error { return nil }

func (m *mapVectors) Search(_ context.Context, _ []float32, k int) ([]VectorHit, error) {
	var out []VectorHit
	for _, id := range m.ids[:min(k, len(m.ids))] {
		out = append(out, VectorHit{ID: id, Score: 1})
	}
	return out, nil
}

// TestSearchDoesNotWaitForABuild checks that while one search rebuilds the
// index (here: embedding the tools again after an outage, with an embedder
// that hangs), other searches answer from the current generation instead
// of waiting. Before, they queued behind the build: this test then hangs.
func TestSearchDoesNotWaitForABuild(t *testing.T) {
	emb := &blockingEmbedder{fail: true, entered: make(chan struct{}), release: make(chan struct{})}
	ix, err := New(catalog.NewSnapshot(testTools()), Options{Embedder: emb, Vectors: &mapVectors{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if r, err := ix.Search(ctx, Query{Text: "read a file"}); err != nil || r.Degraded == "" {
		t.Fatalf("first search (tools not embedded): %+v, %v", r, err)
	}
	emb.mu.Lock()
	emb.fail, emb.block = false, true
	emb.mu.Unlock()
	done := make(chan *Response)
	go func() {
		r, _ := ix.Search(ctx, Query{Text: "read a file"}) // retries the tool vectors: hangs in Embed
		done <- r
	}()
	<-emb.entered
	r, err := ix.Search(ctx, Query{Text: "read a file"})
	if err != nil || r.Degraded != "semantic search unavailable: embed tools: embedder down" || len(r.Results) == 0 || r.Results[0].Name != "fs__read_file" {
		t.Errorf("search during the build: %+v, %v", r, err)
	}
	close(emb.release)
	if r := <-done; r == nil || r.Degraded != "" {
		t.Errorf("the building search: %+v", r)
	}
}

// blockingEmbedder fails, or blocks in Embed (signalling entered) until
// release is closed, or embeds every text as the same vector.
type blockingEmbedder struct {
	mu               sync.Mutex
	fail, block      bool
	entered, release chan struct{}
}

func (e *blockingEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	e.mu.Lock()
	fail, block := e.fail, e.block
	e.block = false // block once
	e.mu.Unlock()
	if fail {
		return nil, errors.New("embedder down")
	}
	if block {
		close(e.entered)
		<-e.release
	}
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = []float32{1, 0}
	}
	return out, nil
}

func (e *blockingEmbedder) Model() string   { return "blocking" }
func (e *blockingEmbedder) Dimensions() int { return 2 }
