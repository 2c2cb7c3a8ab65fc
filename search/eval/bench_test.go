package eval

import (
	"context"
	"path/filepath"
	"testing"
)

// BenchmarkDevQueries measures weft's query latency on each dev set's
// queries (the latency side of bench/search's comparison with bleve):
// go test ./search/eval -run XXX -bench DevQueries -cpu 1
func BenchmarkDevQueries(b *testing.B) {
	for _, dir := range devSets(b) {
		b.Run(filepath.Base(dir), func(b *testing.B) {
			ds, err := loadDataset(dir, "dev")
			if err != nil {
				b.Fatal(err)
			}
			eng := &IndexEngine{}
			ctx := context.Background()
			if err := eng.Build(ctx, ds.tools); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := eng.Rank(ctx, ds.queries[i%len(ds.queries)].text, 10); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
