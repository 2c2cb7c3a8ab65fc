// Command sandbox benchmarks weft's code-mode sandbox (QuickJS in Go) side
// by side with V8 isolates (the npm package isolated-vm) running the same
// programs over an equivalent tool-call bridge, and prints a Markdown table
// with the ratios.
//
//	(cd bench/sandbox/node && npm install)   # once: builds isolated-vm 5.0.4
//	go run ./bench/sandbox [-n 300] [-node=false]
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/sandbox"
	"github.com/weft-dev/weft/source"
)

// programs are run by both sides, verbatim.
var programs = map[string]string{
	"trivial":       `return 1`,
	"sequential100": `for (let i = 0; i < 100; i++) await tools.util.echo({ i }); return 1`,
	"promiseAll100": `await Promise.all(Array.from({ length: 100 }, (_, i) => tools.util.echo({ i }))); return 1`,
	"parallelSleep": `return (await Promise.all(Array.from({ length: 20 }, () => tools.util.sleep({ ms: 50 })))).length`,
	"compute":       `let s = 0; for (let i = 0; i < 3000000; i++) s += i % 7; return s`,
	"concurrent":    `const rs = await Promise.all([1,2,3,4,5].map((i) => tools.util.echo({ i }))); let s = 0; for (let i = 0; i < 10000; i++) s += i % 7; return rs.length + s`,
}

// hostTools mirrors the Node side's host function: echo answers at once,
// sleep after args.ms milliseconds.
type hostTools struct{ snap *catalog.Snapshot }

var okResult = &source.Result{StructuredContent: json.RawMessage(`{"ok":true}`)}

func (h hostTools) Snapshot() *catalog.Snapshot { return h.snap }

func (h hostTools) Call(ctx context.Context, name string, args json.RawMessage) (*source.Result, error) {
	if name == "util__sleep" {
		var a struct{ MS float64 }
		_ = json.Unmarshal(args, &a)
		select {
		case <-time.After(time.Duration(a.MS * float64(time.Millisecond))):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return okResult, nil
}

func (h hostTools) callOriginal(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	return h.Call(ctx, "util__"+tool, args)
}

type engineUpstream struct{ h hostTools }

func (u engineUpstream) Upstream(string) (engine.Upstream, bool) { return u, true }
func (u engineUpstream) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	return u.h.callOriginal(ctx, tool, args)
}

type staticCatalog struct{ s *catalog.Snapshot }

func (c staticCatalog) Snapshot() *catalog.Snapshot { return c.s }

func pct(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func us(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }

func main() {
	n := flag.Int("n", 300, "runs per latency measurement")
	withNode := flag.Bool("node", true, "also run the isolated-vm side (needs npm install in bench/sandbox/node)")
	flag.Parse()

	obj := json.RawMessage(`{"type":"object"}`)
	snap := catalog.NewSnapshot([]catalog.Tool{
		{Server: "util", Original: "echo", InputSchema: obj},
		{Server: "util", Original: "sleep", InputSchema: obj},
	})
	h := hostTools{snap}
	direct, err := sandbox.New(sandbox.Options{Tools: h, MaxConcurrentRuns: 64})
	if err != nil {
		log.Fatal(err)
	}
	cat := staticCatalog{snap}
	eng := engine.New(engine.Options{Catalog: cat, Upstreams: engineUpstream{h}})
	viaEngine, err := sandbox.New(sandbox.Options{Tools: sandbox.EngineTools{Catalog: cat, Engine: eng}, MaxConcurrentRuns: 64})
	if err != nil {
		log.Fatal(err)
	}

	timeRuns := func(sb *sandbox.Sandbox, code string, lang sandbox.Language, runs int) []time.Duration {
		var ds []time.Duration
		for range runs {
			t := time.Now()
			res, err := sb.Run(context.Background(), sandbox.Request{Code: code, Language: lang,
				Limits: sandbox.Limits{MaxConcurrentCalls: 64}})
			if err != nil || res.Error != nil {
				log.Fatalf("%s: %v %v", code, err, res.Error)
			}
			ds = append(ds, time.Since(t))
		}
		return ds
	}

	timeRuns(direct, programs["trivial"], sandbox.JavaScript, 50) // warm up
	m := map[string]float64{}
	cold := timeRuns(direct, programs["trivial"], sandbox.JavaScript, *n)
	m["cold_start_p50_us"], m["cold_start_p99_us"] = us(pct(cold, 50)), us(pct(cold, 99))
	coldTS := timeRuns(direct, programs["trivial"], sandbox.TypeScript, *n)
	m["cold_start_ts_p50_us"] = us(pct(coldTS, 50))
	base := pct(cold, 50)
	seq := timeRuns(direct, programs["sequential100"], sandbox.JavaScript, max(20, *n/5))
	m["call_overhead_sequential_us"] = us(pct(seq, 50)-base) / 100
	seqE := timeRuns(viaEngine, programs["sequential100"], sandbox.JavaScript, max(20, *n/5))
	m["call_overhead_engine_us"] = us(pct(seqE, 50)-base) / 100
	all := timeRuns(direct, programs["promiseAll100"], sandbox.JavaScript, max(20, *n/5))
	m["call_overhead_promise_all_us"] = us(pct(all, 50)-base) / 100
	m["parallel_sleep_20x50ms_p50_ms"] = us(pct(timeRuns(direct, programs["parallelSleep"], sandbox.JavaScript, 10), 50)) / 1e3
	m["compute_p50_ms"] = us(pct(timeRuns(direct, programs["compute"], sandbox.JavaScript, 10), 50)) / 1e3
	var batches []time.Duration
	for range 10 {
		t := time.Now()
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() { timeRuns(direct, programs["concurrent"], sandbox.JavaScript, 1) })
		}
		wg.Wait()
		batches = append(batches, time.Since(t))
	}
	m["concurrent_50_runs_p50_ms"] = us(pct(batches, 50)) / 1e3

	v8 := map[string]float64{}
	if *withNode {
		dir := nodeDir()
		p, _ := json.Marshal(map[string]any{"n": *n, "trivial": programs["trivial"], "sequential100": programs["sequential100"],
			"promiseAll100": programs["promiseAll100"], "parallelSleep": programs["parallelSleep"], "compute": programs["compute"],
			"concurrent": programs["concurrent"]})
		cmd := exec.Command("node", "bench.js", string(p))
		cmd.Dir = dir
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			log.Fatalf("isolated-vm side: %v (run npm install in %s)", err, dir)
		}
		if err := json.Unmarshal(out, &v8); err != nil {
			log.Fatalf("isolated-vm output %q: %v", out, err)
		}
	}

	nodeVersion, _ := exec.Command("node", "--version").Output()
	fmt.Printf("GOMAXPROCS=%d, %s, node %s\n", runtime.GOMAXPROCS(0), runtime.Version(), string(nodeVersion))
	fmt.Println("| measurement | weft (QuickJS) | V8 (isolated-vm 5.0.4) | weft / V8 |")
	fmt.Println("|---|---:|---:|---:|")
	rows := []struct{ key, label, unit string }{
		{"cold_start_p50_us", "cold start p50 (new VM, bindings, `return 1`), JS", "µs"},
		{"cold_start_p99_us", "cold start p99, JS", "µs"},
		{"cold_start_ts_p50_us", "cold start p50, TypeScript (esbuild transform included)", "µs"},
		{"call_overhead_sequential_us", "overhead per tool call, 100 sequential awaits", "µs"},
		{"call_overhead_promise_all_us", "overhead per tool call, 100 in Promise.all", "µs"},
		{"call_overhead_engine_us", "overhead per tool call through engine.Engine, sequential", "µs"},
		{"parallel_sleep_20x50ms_p50_ms", "20 tool calls of 50 ms with Promise.all, wall p50", "ms"},
		{"compute_p50_ms", "CPU-bound loop (3M iterations) p50", "ms"},
		{"concurrent_50_runs_p50_ms", "50 concurrent runs (5 calls + 10k-iteration loop each), wall p50", "ms"},
	}
	for _, r := range rows {
		w := fmt.Sprintf("%.1f %s", m[r.key], r.unit)
		v, ratio := "—", "—"
		if x, ok := v8[r.key]; ok && x > 0 {
			v, ratio = fmt.Sprintf("%.1f %s", x, r.unit), fmt.Sprintf("%.2f×", m[r.key]/x)
		}
		fmt.Printf("| %s | %s | %s | %s |\n", r.label, w, v, ratio)
	}
}

// nodeDir finds bench/sandbox/node from the repository root or this directory.
func nodeDir() string {
	for _, d := range []string{"bench/sandbox/node", "node"} {
		if _, err := os.Stat(filepath.Join(d, "bench.js")); err == nil {
			return d
		}
	}
	return "bench/sandbox/node"
}
