package search

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/search/synthetic"
)

func benchIndex(b *testing.B, n int) (*Index, []string) {
	b.Helper()
	ix, err := New(catalog.NewSnapshot(synthetic.Tools(n, 1)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := ix.Build(context.Background()); err != nil {
		b.Fatal(err)
	}
	return ix, synthetic.Queries(1000, 2)
}

func BenchmarkSearch(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("tools=%d", n), func(b *testing.B) {
			ix, qs := benchIndex(b, n)
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := ix.Search(ctx, Query{Text: qs[i%len(qs)], K: 10}); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10_000} {
		b.Run(fmt.Sprintf("tools=%d", n), func(b *testing.B) {
			snap := catalog.NewSnapshot(synthetic.Tools(n, 1))
			b.ReportAllocs()
			for b.Loop() {
				ix, _ := New(snap, Options{})
				if err := ix.Build(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUpdate measures an incremental update: 1% of 10,000 tools changed.
func BenchmarkUpdate(b *testing.B) {
	tools := synthetic.Tools(10_000, 1)
	snap := catalog.NewSnapshot(tools)
	changed := append([]catalog.Tool(nil), tools...)
	for i := 0; i < len(changed); i += 100 {
		changed[i].Description += " Changed."
	}
	snap2 := catalog.NewSnapshot(changed)
	ix, _ := New(snap, Options{})
	ix.Build(context.Background())
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if i%2 == 0 {
			ix.Update(snap2)
		} else {
			ix.Update(snap)
		}
		i++
		if err := ix.Build(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ix.Stats().Analyzed), "analyzed/op")
}

// BenchmarkHeap reports the live heap of a built 10,000-tool index
// (the snapshot's own tools excluded).
func BenchmarkHeap(b *testing.B) {
	snap := catalog.NewSnapshot(synthetic.Tools(10_000, 1))
	for b.Loop() {
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		ix, _ := New(snap, Options{})
		ix.Build(context.Background())
		runtime.GC()
		runtime.ReadMemStats(&m1)
		b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/(1<<20), "MiB")
		runtime.KeepAlive(ix)
	}
}
