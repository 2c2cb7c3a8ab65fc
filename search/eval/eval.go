// Package eval measures tool retrievers on labelled data in the toolbench
// format (tools.jsonl + queries.jsonl): Recall@k, nDCG@10 and MRR@10 with
// binary relevance, per-query latency and index build time.
//
// It is the harness behind `weft eval search`, the search quality gate
// (testdata/baseline.json of package search) and the side-by-side
// benchmarks of bench/search. The retriever is an Engine: weft's
// search.Index (IndexEngine, the default), the plain-BM25 reference of the
// data (ReferenceBM25), or any other library.
package eval

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/search"
)

// Engine is a retriever Run can measure: weft's Index (the default), the
// plain-BM25 reference, or another library in a side-by-side benchmark.
type Engine interface {
	// Name identifies the engine in reports.
	Name() string
	// Build indexes tools, given in the data set's file order, each with
	// its catalog Name set.
	Build(ctx context.Context, tools []catalog.Tool) error
	// Rank returns the catalog names of the k best tools for text, best first.
	Rank(ctx context.Context, text string, k int) ([]string, error)
}

// Options configure Run.
type Options struct {
	// Dir is a folder in the toolbench format (tools.jsonl, queries.jsonl).
	Dir string
	// Split selects queries: "dev" (default), "test" or "all".
	Split string
	// K are the Recall cutoffs (default 1, 5, 10). nDCG and MRR are at 10.
	K []int
	// Engine is the retriever to measure; nil means a weft Index with Index.
	Engine Engine
	// Index configures the default engine.
	Index search.Options
	// Folds, when above 1, splits the split's queries into Folds parts by
	// a hash of their id (the same parts on every run) and measures only
	// part Fold (0-based): tune on one part, check on the others.
	Folds int
	// Fold is the part measured when Folds > 1.
	Fold int
	// Passes is how many times the queries are run (default 1). The
	// quality metrics come from the first pass; the latency percentiles
	// are over every pass's queries, which steadies them on small sets.
	Passes int
}

// Run measures a retriever on a toolbench data set: Recall@K, nDCG@10,
// MRR@10 with binary relevance, per-query latency and index build time.
//
// A query the engine fails on does not end the evaluation: it is listed in
// Report.Failed and counts as a miss (it stays in every mean), so a
// retriever cannot improve its numbers by refusing queries. Run fails only
// when the data cannot be read, the index cannot be built, or ctx ends.
func Run(ctx context.Context, opts Options) (*Report, error) {
	split := opts.Split
	switch split {
	case "":
		split = "dev"
	case "dev", "test", "all":
	default:
		return nil, fmt.Errorf("eval: split %q is unknown; use dev, test or all", split)
	}
	ks := opts.K
	if len(ks) == 0 {
		ks = []int{1, 5, 10}
	}
	for _, k := range ks {
		if k <= 0 || k > search.MaxK {
			return nil, fmt.Errorf("eval: recall cutoff %d is outside 1..%d", k, search.MaxK)
		}
	}
	if opts.Folds > 1 && (opts.Fold < 0 || opts.Fold >= opts.Folds) {
		return nil, fmt.Errorf("eval: fold %d is outside 0..%d", opts.Fold, opts.Folds-1)
	}
	ds, err := loadDataset(opts.Dir, split)
	if err != nil {
		return nil, err
	}
	if opts.Folds > 1 {
		ds.queries = slices.DeleteFunc(ds.queries, func(q evalQuery) bool { return foldOf(q.id, opts.Folds) != opts.Fold })
		if len(ds.queries) == 0 {
			return nil, fmt.Errorf("eval: %s has no queries in fold %d of %d", opts.Dir, opts.Fold, opts.Folds)
		}
	}
	eng := opts.Engine
	if eng == nil {
		eng = &IndexEngine{Options: opts.Index}
	}
	depth := max(10, slices.Max(ks))

	start := time.Now()
	if err := eng.Build(ctx, ds.tools); err != nil {
		return nil, fmt.Errorf("eval: build %s over %s: %w", eng.Name(), opts.Dir, err)
	}
	r := &Report{
		Dataset: ds.name, Dir: opts.Dir, Split: split, Engine: eng.Name(),
		Tools: len(ds.tools), Queries: len(ds.queries), MissingRelevant: ds.missing,
		BuildTime: time.Since(start), Recall: make(map[int]float64, len(ks)),
	}
	lat := make([]time.Duration, 0, len(ds.queries))
	for _, q := range ds.queries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t0 := time.Now()
		ranked, err := eng.Rank(ctx, q.text, depth)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			r.Failed = append(r.Failed, FailedQuery{ID: q.id, Chars: len([]rune(q.text)), Error: err.Error()})
			continue
		}
		lat = append(lat, time.Since(t0))
		for _, k := range ks {
			r.Recall[k] += recallAt(ranked, q.relevant, k)
		}
		r.NDCG10 += ndcgAt(ranked, q.relevant, 10)
		r.MRR10 += mrrAt(ranked, q.relevant, 10)
	}
	for range opts.Passes - 1 {
		for _, q := range ds.queries {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			t0 := time.Now()
			if _, err := eng.Rank(ctx, q.text, depth); err == nil {
				lat = append(lat, time.Since(t0))
			}
		}
	}
	n := float64(len(ds.queries))
	for _, k := range ks {
		r.Recall[k] /= n
	}
	r.NDCG10 /= n
	r.MRR10 /= n
	slices.Sort(lat)
	r.LatencyP50 = percentile(lat, 0.50)
	r.LatencyP99 = percentile(lat, 0.99)
	return r, nil
}

// foldOf assigns a query id to one of n folds (FNV-1a of the id).
func foldOf(id string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return int(h % uint32(n))
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

// IndexEngine evaluates weft's search.Index.
type IndexEngine struct {
	// Options configure the index.
	Options search.Options
	ix      *search.Index
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
	ix, err := search.New(catalog.NewSnapshot(tools), e.Options)
	if err != nil {
		return err
	}
	e.ix = ix
	return ix.Build(ctx)
}

// Rank implements Engine.
func (e *IndexEngine) Rank(ctx context.Context, text string, k int) ([]string, error) {
	res, err := e.ix.Search(ctx, search.Query{Text: text, K: k})
	if err != nil {
		return nil, err
	}
	out := make([]string, len(res.Results))
	for i, r := range res.Results {
		out[i] = r.Name
	}
	return out, nil
}

// Index returns the built index (nil before Build).
func (e *IndexEngine) Index() *search.Index { return e.ix }
