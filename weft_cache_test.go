package weft_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/plan"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/search/embed/embedtest"
	"github.com/weft-dev/weft/source"
)

// countingUpstream is an MCP server over Streamable HTTP whose tools say
// how many times they ran: stamp (marked cacheable by the tests), tick,
// and purge_accounts (a tool a restricted scope must never see).
type countingUpstream struct {
	srv          *httptest.Server
	stamps, tick atomic.Int64
}

func newCountingUpstream(t *testing.T) *countingUpstream {
	t.Helper()
	u := &countingUpstream{}
	s := mcp.NewServer(&mcp.Implementation{Name: "counting", Version: "1.0.0"}, nil)
	type in struct {
		X int `json:"x,omitempty"`
		Y int `json:"y,omitempty"`
	}
	type out struct {
		N int64 `json:"n"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "stamp", Description: "Stamps a document with a sequence number"},
		func(context.Context, *mcp.CallToolRequest, in) (*mcp.CallToolResult, out, error) {
			return nil, out{N: u.stamps.Add(1)}, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "tick", Description: "Advances the clock by one tick"},
		func(context.Context, *mcp.CallToolRequest, in) (*mcp.CallToolResult, out, error) {
			return nil, out{N: u.tick.Add(1)}, nil
		})
	mcp.AddTool(s, &mcp.Tool{Name: "purge_accounts", Description: "Deletes every user account permanently"},
		func(context.Context, *mcp.CallToolRequest, in) (*mcp.CallToolResult, out, error) {
			return nil, out{}, nil
		})
	u.srv = httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(u.srv.Close)
	return u
}

// replicaConfig is the configuration of one replica: its own cache
// directory, the shared Redis, the counting upstream as server name with
// stamp cacheable.
func replicaConfig(t *testing.T, name, url string) *config.Config {
	cfg := baseConfig(t)
	cfg.Cache.RedisURL = testenv.RedisURL(t)
	addServer(cfg, &config.Server{Name: name, Transport: config.TransportHTTP, URL: url,
		Cache: &config.ServerCache{Tools: []string{"stamp"}, TTL: config.Duration(time.Minute)}})
	return cfg
}

// metricValue returns the value of the sample line starting with series
// on o's /metrics, or 0.
func metricValue(t *testing.T, o *weft.Orchestrator, series string) float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	o.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for line := range strings.Lines(rec.Body.String()) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			var v float64
			fmt.Sscan(rest, &v)
			return v
		}
	}
	return 0
}

func resultNames(r *search.Response) []string {
	var out []string
	for _, x := range r.Results {
		out = append(out, x.Name)
	}
	return out
}

// TestReplicasShareTheCacheTier: two orchestrators (two replicas: own
// cache.dir, own memory) sharing one real Redis. The second serves the
// catalog the first discovered from Redis; a cacheable tool's result, an
// idempotency key's result and search answers computed by one are used by
// the other; a search answer cached for one scope is never served to
// another.
func TestReplicasShareTheCacheTier(t *testing.T) {
	up := newCountingUpstream(t)
	name := fmt.Sprintf("cnt%d", time.Now().UnixNano()%1_000_000_000_000) // fresh keys in a Redis shared by runs
	a := start(t, replicaConfig(t, name, up.srv.URL))
	defer a.Close()
	b := start(t, replicaConfig(t, name, up.srv.URL))
	defer b.Close()
	ctx := context.Background()

	// Catalog: b found a's snapshot in Redis (the catalog kind's only L2 hit).
	if got := metricValue(t, b, `weft_cache_requests_total{kind="catalog",result="hit",tier="l2"}`); got != 1 {
		t.Errorf("b: catalog L2 hits %v, want 1", got)
	}
	if _, err := b.Tool(ctx, name+"__stamp"); err != nil {
		t.Fatal(err)
	}

	// A cacheable tool: b gets a's result for the same arguments however
	// they are spelt; other arguments, and a tool not marked, run.
	stamp := func(o *weft.Orchestrator, args string) string {
		t.Helper()
		res, err := o.Call(ctx, name+"__stamp", json.RawMessage(args), weft.CallerAPI)
		if err != nil {
			t.Fatal(err)
		}
		return string(res.StructuredContent)
	}
	if got := stamp(a, `{"x":1,"y":2}`); got != `{"n":1}` {
		t.Fatalf("a: %s", got)
	}
	if got := stamp(b, `{ "y": 2, "x": 1 }`); got != `{"n":1}` {
		t.Fatalf("b: %s, want a's cached result", got)
	}
	if got := stamp(b, `{"x":2}`); got != `{"n":2}` {
		t.Fatalf("b, other arguments: %s", got)
	}
	if n := up.stamps.Load(); n != 2 {
		t.Fatalf("upstream ran stamp %d times, want 2", n)
	}
	for range 2 {
		if _, err := b.Call(ctx, name+"__tick", nil, weft.CallerAPI); err != nil {
			t.Fatal(err)
		}
	}
	if n := up.tick.Load(); n != 2 {
		t.Fatalf("tick (not cacheable) ran %d times, want 2", n)
	}

	// Plan idempotency: the key's result, stored by a, is reused by b.
	doc := fmt.Sprintf(`{"steps":[{"id":"w","tool":"%s__tick","args":{},"idempotency_key":"tick-%s"}]}`, name, name)
	for i, o := range []*weft.Orchestrator{a, b} {
		run, err := o.RunPlan(ctx, parsePlan(t, o, doc), nil, plan.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"", "cache"}[i]
		if s := run.Step("w"); s.Status != plan.StepSucceeded || s.Reused != want {
			t.Fatalf("replica %d: step %+v, want reused %q", i+1, s, want)
		}
	}
	if n := up.tick.Load(); n != 3 {
		t.Fatalf("tick ran %d times, want 3 (the idempotent step once)", n)
	}

	// Search: answers are shared, per scope.
	q := search.Query{Text: "delete user accounts", K: 3}
	restricted := weft.WithScope(ctx, weft.Scope{Tools: []string{name + "__stamp", name + "__tick"}})
	purge := name + "__purge_accounts"
	check := func(o *weft.Orchestrator, ctx context.Context, wantPurge bool, who string) {
		t.Helper()
		r, err := o.Search(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if got := slices.Contains(resultNames(r), purge); got != wantPurge {
			t.Fatalf("%s: results %v; %s present: %v, want %v", who, resultNames(r), purge, got, wantPurge)
		}
	}
	check(b, restricted, false, "b, restricted (computed)")
	check(a, ctx, true, "a, unrestricted (computed: the restricted answer is not this caller's)")
	check(b, ctx, true, "b, unrestricted (a's answer, from Redis)")
	check(a, restricted, false, "a, restricted (b's answer, from Redis)")
	check(a, restricted, false, "a, restricted (from memory)")
	for who, o := range map[string]*weft.Orchestrator{"a": a, "b": b} {
		if got := metricValue(t, o, `weft_cache_requests_total{kind="search",result="hit",tier="l2"}`); got != 1 {
			t.Errorf("%s: search L2 hits %v, want 1", who, got)
		}
	}
	if got := metricValue(t, a, `weft_cache_requests_total{kind="search",result="hit",tier="l1"}`); got != 1 {
		t.Errorf("a: search L1 hits %v, want 1", got)
	}
}

// TestConcurrentSearchesSearchOnce: identical searches arriving together
// are answered by one search — the query is embedded once — and every
// caller gets the answer.
func TestConcurrentSearchesSearchOnce(t *testing.T) {
	srv := embedtest.NewServer(64)
	defer srv.Close()
	cfg := baseConfig(t)
	cfg.Search.Embedder.URL = srv.URL + "/v1"
	cfg.Search.Embedder.Model = "test-embed"
	o, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{denseTools(t)}, Offline: true})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	ctx := context.Background()
	if err := o.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := o.Search(ctx, search.Query{Text: "warm up the index"}); err != nil {
		t.Fatal(err)
	}
	before := len(srv.Requests())
	const n = 20
	var ready, done sync.WaitGroup
	ready.Add(n)
	gate := make(chan struct{})
	errs := make(chan error, n)
	for range n {
		done.Go(func() {
			ready.Done()
			<-gate
			r, err := o.Search(ctx, search.Query{Text: "email a colleague", K: 3})
			if err == nil && (len(r.Results) == 0 || r.Results[0].Name != "office__send_email") {
				err = fmt.Errorf("results %v", resultNames(r))
			}
			errs <- err
		})
	}
	ready.Wait()
	close(gate)
	done.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := len(srv.Requests()) - before; got != 1 {
		t.Fatalf("%d embedding requests for %d identical concurrent searches, want 1", got, n)
	}
	if got := metricValue(t, o, `weft_cache_loads_total{kind="search"}`); got != 2 {
		t.Fatalf("weft_cache_loads_total{kind=search} %v, want 2 (warm-up, then one for all %d)", got, n)
	}
}
