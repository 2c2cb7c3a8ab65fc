package engine_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
)

// echoUpstream is an in-process upstream whose call costs next to nothing,
// so the benchmarks below measure the engine's own overhead.
type echoUpstream struct{ res *source.Result }

func (u *echoUpstream) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	return u.res, nil
}

type staticCatalog struct{ s *catalog.Snapshot }

func (c staticCatalog) Snapshot() *catalog.Snapshot { return c.s }

func benchSetup(b *testing.B, rec engine.Recorder) (*engine.Engine, *echoUpstream) {
	return benchSetupWith(b, rec, 0)
}

func benchSetupWith(b *testing.B, rec engine.Recorder, perClient int) (*engine.Engine, *echoUpstream) {
	up := &echoUpstream{res: source.TextResult("ok", false)}
	snap := catalog.NewSnapshot([]catalog.Tool{{
		Server: "bench", Original: "echo",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"message":{"type":"string"},"count":{"type":"integer","minimum":0}},"required":["message"]}`),
	}})
	eng := engine.New(engine.Options{
		Catalog:                staticCatalog{snap},
		Upstreams:              engine.UpstreamsFunc(func(string) (engine.Upstream, bool) { return up, true }),
		Timeout:                30 * time.Second,
		MaxConcurrent:          10,
		MaxConcurrentPerClient: perClient,
		Servers:                map[string]engine.ServerLimits{"bench": {MaxConcurrency: 10}},
		Recorder:               rec,
	})
	return eng, up
}

var benchArgs = json.RawMessage(`{"message":"hello","count":3}`)

// BenchmarkUpstreamDirect is the baseline: the upstream called directly.
func BenchmarkUpstreamDirect(b *testing.B) {
	_, up := benchSetup(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := up.Call(ctx, "echo", benchArgs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEngineCall is the full call path (lookup, validation, global and
// per-upstream limits, timeout, classification, event) over the same upstream.
func BenchmarkEngineCall(b *testing.B) {
	eng, _ := benchSetup(b, discardEvents{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eng.Call(ctx, "bench__echo", benchArgs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEngineCallParallel is the full call path under parallel load.
func BenchmarkEngineCallParallel(b *testing.B) {
	eng, _ := benchSetup(b, discardEvents{})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := eng.Call(ctx, "bench__echo", benchArgs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkEngineCallPerClient is BenchmarkEngineCallParallel with per-client
// slots (5 of the 10 global ones), the configuration weft runs with: the
// cost of the client's own semaphore on the hot path.
func BenchmarkEngineCallPerClient(b *testing.B) {
	eng, _ := benchSetupWith(b, discardEvents{}, 5)
	ctx := engine.WithClient(context.Background(), "bench-client")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := eng.Call(ctx, "bench__echo", benchArgs); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// watchingUpstream does with its context what source/mcp's upstream does
// (context.AfterFunc to bind the call to the caller, stopped on return) and
// waits on Done: the engine's deadline context as real upstreams use it.
type watchingUpstream struct{ res *source.Result }

func (u *watchingUpstream) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	stop := context.AfterFunc(ctx, func() {})
	defer stop()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	default:
		return u.res, nil
	}
}

// BenchmarkEngineCallWatching is BenchmarkEngineCall over an upstream that
// hooks and reads the call's context (AfterFunc, Done), under a caller's
// cancelable context, as the gateway's calls are.
func BenchmarkEngineCallWatching(b *testing.B) {
	w := &watchingUpstream{res: source.TextResult("ok", false)}
	snap := catalog.NewSnapshot([]catalog.Tool{{
		Server: "bench", Original: "echo",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"message":{"type":"string"},"count":{"type":"integer","minimum":0}},"required":["message"]}`),
	}})
	eng := engine.New(engine.Options{
		Catalog:   staticCatalog{snap},
		Upstreams: engine.UpstreamsFunc(func(string) (engine.Upstream, bool) { return w, true }),
		Timeout:   30 * time.Second, MaxConcurrent: 10,
		Recorder: discardEvents{},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := eng.Call(ctx, "bench__echo", benchArgs); err != nil {
			b.Fatal(err)
		}
	}
}
