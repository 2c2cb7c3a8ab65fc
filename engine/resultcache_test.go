package engine_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
)

// mapResults is a ResultCache over a map that caches the tools named in
// cacheable and counts what the engine asks of it.
type mapResults struct {
	cacheable map[string]bool
	mu        sync.Mutex
	m         map[string]*source.Result
	gets      int
	puts      int
}

func (c *mapResults) Cacheable(t *catalog.Tool) bool { return c.cacheable[t.Name] }
func (c *mapResults) Get(_ context.Context, t *catalog.Tool, args json.RawMessage) (*source.Result, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gets++
	r, ok := c.m[t.Name+string(args)]
	return r, ok
}
func (c *mapResults) Put(_ context.Context, t *catalog.Tool, args json.RawMessage, res *source.Result) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.puts++
	// Stored marked, so that a result served from the cache is recognisable.
	c.m[t.Name+string(args)] = source.TextResult("cached: "+res.Text(), false)
}

func TestResultCache(t *testing.T) {
	rc := &mapResults{cacheable: map[string]bool{"alpha__sleep": true, "alpha__fail": true}, m: map[string]*source.Result{}}
	f := newFixture(t, engine.Options{Results: rc})
	ctx := context.Background()
	args := json.RawMessage(`{"ms":0,"msg":"x"}`)
	res, err := f.eng.Call(ctx, "alpha__sleep", args)
	if err != nil || !strings.Contains(res.Text(), "slept x") || strings.HasPrefix(res.Text(), "cached") {
		t.Fatalf("first call: %v %v", res, err)
	}
	res, err = f.eng.Call(ctx, "alpha__sleep", args)
	if err != nil || !strings.HasPrefix(res.Text(), "cached: ") || !strings.Contains(res.Text(), "slept x") {
		t.Fatalf("second call not served from the cache: %q %v", res.Text(), err)
	}
	// Other arguments: a miss.
	if res, _ := f.eng.Call(ctx, "alpha__sleep", json.RawMessage(`{"ms":0,"msg":"y"}`)); !strings.Contains(res.Text(), "slept y") || strings.HasPrefix(res.Text(), "cached") {
		t.Fatalf("other arguments: %q", res.Text())
	}
	// A tool the operator did not mark is never looked up.
	gets := rc.gets
	f.eng.Call(ctx, "beta__sleep", args)
	f.eng.Call(ctx, "beta__sleep", args)
	if rc.gets != gets {
		t.Fatal("a tool not marked cacheable was looked up")
	}
	// Tool errors and invalid arguments are not stored.
	puts := rc.puts
	if res, err := f.eng.Call(ctx, "alpha__fail", nil); err != nil || !res.IsError {
		t.Fatalf("fail: %v %v", res, err)
	}
	if _, err := f.eng.Call(ctx, "alpha__sleep", json.RawMessage(`{"ms":"no"}`)); err == nil {
		t.Fatal("invalid arguments accepted")
	}
	if rc.puts != puts {
		t.Fatalf("%d results stored for a tool error and invalid arguments", rc.puts-puts)
	}
	// A caller whose policy hides the tool never reaches the cache.
	gets = rc.gets
	hidden := engine.WithPolicy(ctx, denyAll{})
	if _, err := f.eng.Call(hidden, "alpha__sleep", args); err == nil {
		t.Fatal("a hidden tool was served")
	}
	if rc.gets != gets {
		t.Fatal("the cache was consulted for a tool the caller may not call")
	}
	// Every call, cached or not, is one event.
	if n := len(f.rec.Events()); n != 8 {
		t.Fatalf("%d events, want 8", n)
	}
}

type denyAll struct{}

func (denyAll) Allows(*catalog.Tool) bool { return false }
func (denyAll) AllowsServer(string) bool  { return false }

// neverCacheable is a ResultCache that marks no tool cacheable.
type neverCacheable struct{ mapResults }

func (*neverCacheable) Cacheable(*catalog.Tool) bool { return false }

// TestResultCacheCostsNoAllocation: a call of a tool the result cache
// does not mark allocates exactly what a call without a result cache does.
func TestResultCacheCostsNoAllocation(t *testing.T) {
	up := &echoUpstream{res: source.TextResult("ok", false)}
	snap := catalog.NewSnapshot([]catalog.Tool{{Server: "s", Original: "echo", InputSchema: json.RawMessage(`{"type":"object"}`)}})
	allocs := func(rc engine.ResultCache) float64 {
		eng := engine.New(engine.Options{Catalog: staticCatalog{snap},
			Upstreams: engine.UpstreamsFunc(func(string) (engine.Upstream, bool) { return up, true }), Results: rc})
		ctx := context.Background()
		return testing.AllocsPerRun(200, func() {
			if _, err := eng.Call(ctx, "s__echo", benchArgs); err != nil {
				t.Fatal(err)
			}
		})
	}
	without, with := allocs(nil), allocs(&neverCacheable{})
	if with != without {
		t.Fatalf("%v allocations per call with a result cache that caches nothing, %v without", with, without)
	}
}
