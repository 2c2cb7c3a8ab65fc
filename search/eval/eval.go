package search

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/weft-dev/weft/catalog"
)

// Engine is a retriever Evaluate can measure: weft's Index (the default),
// the plain-BM25 reference, or another library in a side-by-side benchmark.
type Engine interface {
	// Name identifies the engine in reports.
	Name() string
	// Build indexes tools, given in the data set's file order, each with
	// its catalog Name set.
	Build(ctx context.Context, tools []catalog.Tool) error
	// Rank returns the catalog names of the k best tools for text, best first.
	Rank(ctx context.Context, text string, k int) ([]string, error)
}

// EvalOptions configure Evaluate.
type EvalOptions struct {
	// Dir is a folder in the toolbench format (tools.jsonl, queries.jsonl).
	Dir string
	// Split selects queries: "dev" (default), "test" or "all".
	Split string
	// K are the Recall cutoffs (default 1, 5, 10). nDCG and MRR are at 10.
	K []int
	// Engine is the retriever to measure; nil means a weft Index with Index.
	Engine Engine
	// Index configures the default engine.
	Index Options
}

// Evaluate measures a retriever on a toolbench data set: Recall@K, nDCG@10,
// MRR@10 with binary relevance, per-query latency and index build time.
func Evaluate(ctx context.Context, opts EvalOptions) (*Report, error) {
	split := opts.Split
	switch split {
	case "":
		split = "dev"
	case "dev", "test", "all":
	default:
		return nil, fmt.Errorf("search: split %q is unknown; use dev, test or all", split)
	}
	ks := opts.K
	if len(ks) == 0 {
		ks = []int{1, 5, 10}
	}
	for _, k := range ks {
		if k <= 0 || k > MaxK {
			return nil, fmt.Errorf("search: recall cutoff %d is outside 1..%d", k, MaxK)
		}
	}
	ds, err := loadDataset(opts.Dir, split)
	if err != nil {
		return nil, err
	}
	eng := opts.Engine
	if eng == nil {
		eng = &IndexEngine{Options: opts.Index}
	}
	depth := max(10, slices.Max(ks))

	start := time.Now()
	if err := eng.Build(ctx, ds.tools); err != nil {
		return nil, fmt.Errorf("search: build %s: %w", eng.Name(), err)
	}
	r := &Report{
		Dataset: ds.name, Dir: opts.Dir, Split: split, Engine: eng.Name(),
		Tools: len(ds.tools), Queries: len(ds.queries), MissingRelevant: ds.missing,
		BuildTime: time.Since(start), Recall: make(map[int]float64, len(ks)),
	}
	lat := make([]time.Duration, len(ds.queries))
	for i, q := range ds.queries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		ranked, err := eng.Rank(ctx, q.text, depth)
		lat[i] = time.Since(t0)
		if err != nil {
			return nil, fmt.Errorf("search: query %s: %w", q.id, err)
		}
		for _, k := range ks {
			r.Recall[k] += recallAt(ranked, q.relevant, k)
		}
		r.NDCG10 += ndcgAt(ranked, q.relevant, 10)
		r.MRR10 += mrrAt(ranked, q.relevant, 10)
	}
	n := float64(len(ds.queries))
	for k := range r.Recall {
		r.Recall[k] /= n
	}
	r.NDCG10 /= n
	r.MRR10 /= n
	slices.Sort(lat)
	r.LatencyP50 = percentile(lat, 0.50)
	r.LatencyP99 = percentile(lat, 0.99)
	return r, nil
}

func recallAt(ranked []string, rel map[string]bool, k int) float64 {
	hit := 0
	for _, n := range ranked[:min(k, len(ranked))] {
		if rel[n] {
			hit++
		}
	}
	return float64(hit) / float64(len(rel))
}

func ndcgAt(ranked []string, rel map[string]bool, k int) float64 {
	var dcg, idcg float64
	for i, n := range ranked[:min(k, len(ranked))] {
		if rel[n] {
			dcg += 1 / math.Log2(float64(i+2))
		}
	}
	for i := range min(k, len(rel)) {
		idcg += 1 / math.Log2(float64(i+2))
	}
	return dcg / idcg
}

func mrrAt(ranked []string, rel map[string]bool, k int) float64 {
	for i, n := range ranked[:min(k, len(ranked))] {
		if rel[n] {
			return 1 / float64(i+1)
		}
	}
	return 0
}

// percentile returns the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// IndexEngine evaluates weft's Index.
type IndexEngine struct {
	// Options configure the index.
	Options Options
	ix      *Index
}

// Name implements Engine.
func (e *IndexEngine) Name() string {
	if e.Options.Embedder != nil {
		return "weft-hybrid"
	}
	return "weft"
}

// Build implements Engine.
func (e *IndexEngine) Build(ctx context.Context, tools []catalog.Tool) error {
	ix, err := New(catalog.NewSnapshot(tools), e.Options)
	if err != nil {
		return err
	}
	e.ix = ix
	return ix.Build(ctx)
}

// Rank implements Engine.
func (e *IndexEngine) Rank(ctx context.Context, text string, k int) ([]string, error) {
	res, err := e.ix.Search(ctx, Query{Text: text, K: k})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(res))
	for i, r := range res {
		out[i] = r.Name
	}
	return out, nil
}

// Index returns the built index (nil before Build).
func (e *IndexEngine) Index() *Index { return e.ix }
