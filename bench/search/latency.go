package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/search/synthetic"
)

// runLatency measures, per catalog size: index build time (median of
// builds), live heap of the built index, and single-query latency
// percentiles over nq synthetic requests.
func runLatency(ctx context.Context, w io.Writer, sizes []int, nq, builds int) error {
	fmt.Fprintf(w, "GOMAXPROCS=%d\n", runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "%8s %10s %10s %10s %10s %10s %10s\n", "tools", "build", "heap MiB", "p50", "p90", "p99", "mean")
	qs := synthetic.Queries(nq, 7)
	for _, n := range sizes {
		snap := catalog.NewSnapshot(synthetic.Tools(n, 1))
		var buildTimes []time.Duration
		var ix *search.Index
		var heap float64
		for b := range max(1, builds) {
			ix = nil
			runtime.GC()
			var m0 runtime.MemStats
			runtime.ReadMemStats(&m0)
			start := time.Now()
			var err error
			ix, err = search.New(snap, search.Options{})
			if err != nil {
				return err
			}
			if err := ix.Build(ctx); err != nil {
				return err
			}
			buildTimes = append(buildTimes, time.Since(start))
			if b == 0 {
				runtime.GC()
				var m1 runtime.MemStats
				runtime.ReadMemStats(&m1)
				heap = float64(m1.HeapAlloc-m0.HeapAlloc) / (1 << 20)
			}
		}
		// Warm up, then measure.
		for _, q := range qs[:min(200, len(qs))] {
			ix.Search(ctx, search.Query{Text: q, K: 10})
		}
		lat := make([]time.Duration, len(qs))
		var total time.Duration
		for i, q := range qs {
			t0 := time.Now()
			if _, err := ix.Search(ctx, search.Query{Text: q, K: 10}); err != nil {
				return err
			}
			lat[i] = time.Since(t0)
			total += lat[i]
		}
		slices.Sort(lat)
		slices.Sort(buildTimes)
		fmt.Fprintf(w, "%8d %10s %10.1f %10s %10s %10s %10s\n", n, round(buildTimes[len(buildTimes)/2]), heap,
			round(pct(lat, 0.5)), round(pct(lat, 0.9)), round(pct(lat, 0.99)), round(total/time.Duration(len(lat))))
	}
	return nil
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func round(d time.Duration) time.Duration {
	switch {
	case d > time.Second:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(100 * time.Nanosecond)
}
