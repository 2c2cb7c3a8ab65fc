package sandbox

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source"
)

// noopTools answers every call at once, so benchmarks measure the sandbox
// and its bridge rather than a tool.
type noopTools struct{ snap *catalog.Snapshot }

var noopResult = &source.Result{StructuredContent: json.RawMessage(`{"ok":true}`)}

func (n noopTools) Snapshot() *catalog.Snapshot { return n.snap }
func (n noopTools) Call(context.Context, string, json.RawMessage) (*source.Result, error) {
	return noopResult, nil
}

func benchSandbox(b *testing.B, engine bool) *Sandbox {
	if engine {
		return newFixture(b, Options{MaxConcurrentRuns: 64}).sb
	}
	sb, err := New(Options{Tools: noopTools{catalog.NewSnapshot(testTools())}, MaxConcurrentRuns: 64})
	if err != nil {
		b.Fatal(err)
	}
	return sb
}

func mustRun(b *testing.B, sb *Sandbox, req Request) *RunResult {
	res, err := sb.Run(context.Background(), req)
	if err != nil {
		b.Fatal(err)
	}
	if res.Error != nil {
		b.Fatalf("%s: %v", req.Code, res.Error)
	}
	return res
}

// reportPercentiles adds p50 and p99 metrics (µs) of the per-run durations.
func reportPercentiles(b *testing.B, ds []time.Duration) {
	slices.Sort(ds)
	if len(ds) == 0 {
		return
	}
	b.ReportMetric(float64(ds[len(ds)/2].Nanoseconds())/1e3, "p50-µs")
	b.ReportMetric(float64(ds[len(ds)*99/100].Nanoseconds())/1e3, "p99-µs")
}

// BenchmarkColdStart: a new VM with all bindings, running a trivial program.
func BenchmarkColdStart(b *testing.B) {
	for _, lang := range []Language{JavaScript, TypeScript} {
		b.Run(string(lang), func(b *testing.B) {
			sb := benchSandbox(b, false)
			req := Request{Code: `return 1`, Language: lang}
			var ds []time.Duration
			for b.Loop() {
				t := time.Now()
				mustRun(b, sb, req)
				ds = append(ds, time.Since(t))
			}
			reportPercentiles(b, ds)
		})
	}
}

// BenchmarkToolCallOverhead: the cost a tool call adds to a program, from
// `await tools.x.y(args)` to the awaited value, for a tool that answers at
// once. ns/call = (run with 100 sequential calls - run with none) / 100.
func BenchmarkToolCallOverhead(b *testing.B) {
	for _, mode := range []struct {
		name   string
		engine bool
		code   string
	}{
		{"sequential/direct", false, `for (let i = 0; i < 100; i++) await tools.util.echo({ i }); return 1`},
		{"sequential/engine", true, `for (let i = 0; i < 100; i++) await tools.util.echo({ i }); return 1`},
		{"promise_all/direct", false, `await Promise.all(Array.from({ length: 100 }, (_, i) => tools.util.echo({ i }))); return 1`},
	} {
		b.Run(mode.name, func(b *testing.B) {
			sb := benchSandbox(b, mode.engine)
			base := Request{Code: `return 1`, Language: JavaScript}
			var baseline time.Duration
			const n = 50
			for range n {
				t := time.Now()
				mustRun(b, sb, base)
				baseline += time.Since(t)
			}
			baseline /= n
			req := Request{Code: mode.code, Language: JavaScript, Limits: Limits{MaxCalls: 100, MaxConcurrentCalls: 64}}
			start := time.Now()
			runs := 0
			for b.Loop() {
				mustRun(b, sb, req)
				runs++
			}
			per := (time.Since(start)/time.Duration(runs) - baseline) / 100
			b.ReportMetric(float64(per.Nanoseconds()), "ns/call")
		})
	}
}

// BenchmarkConcurrentRuns: 50 runs at once, each making 5 tool calls and a
// little computation; ns/op is the time for all 50.
func BenchmarkConcurrentRuns(b *testing.B) {
	sb := benchSandbox(b, false)
	req := Request{Language: JavaScript, Code: `
const rs = await Promise.all([1, 2, 3, 4, 5].map((i) => tools.util.echo({ i })));
let s = 0; for (let i = 0; i < 10000; i++) s += i % 7;
return rs.length + s;`}
	for b.Loop() {
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { mustRun(b, sb, req) })
		}
		wg.Wait()
	}
}

// BenchmarkParallelSleepCalls: 20 tool calls of 50 ms each with Promise.all.
func BenchmarkParallelSleepCalls(b *testing.B) {
	sb := benchSandbox(b, true)
	req := Request{Language: JavaScript, Limits: Limits{MaxConcurrentCalls: 20},
		Code: `return (await Promise.all(Array.from({ length: 20 }, () => tools.util.sleep({ ms: 50 })))).length`}
	var ds []time.Duration
	for b.Loop() {
		res := mustRun(b, sb, req)
		ds = append(ds, res.Duration)
	}
	reportPercentiles(b, ds)
}
