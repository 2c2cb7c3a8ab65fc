package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/weft-dev/weft/catalog"
)

// bleveEngine indexes each tool's name, description and parameter schema
// in an in-memory bleve index with bleve's English analyzer (stopwords,
// possessives, Porter stemming) and answers with a match query (OR of the
// query's terms, bleve's TF-IDF scoring) — bleve as an application would
// use it out of the box for this job.
type bleveEngine struct {
	idx bleve.Index
}

// Name implements eval.Engine.
func (b *bleveEngine) Name() string { return "bleve" }

type bleveDoc struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Params      string `json:"params"`
}

// Build implements eval.Engine.
func (b *bleveEngine) Build(_ context.Context, tools []catalog.Tool) error {
	m := mapping.NewIndexMapping()
	m.DefaultAnalyzer = en.AnalyzerName
	idx, err := bleve.NewMemOnly(m)
	if err != nil {
		return err
	}
	batch := idx.NewBatch()
	for i := range tools {
		t := &tools[i]
		// Give bleve the identifier words too (it would not split camelCase).
		name := strings.NewReplacer("_", " ", "-", " ", ".", " ").Replace(t.Original)
		if err := batch.Index(t.Name, bleveDoc{Name: name, Description: t.Description, Params: string(t.InputSchema)}); err != nil {
			return err
		}
	}
	if err := idx.Batch(batch); err != nil {
		return err
	}
	b.idx = idx
	return nil
}

// Rank implements eval.Engine.
func (b *bleveEngine) Rank(ctx context.Context, text string, k int) ([]string, error) {
	q := bleve.NewMatchQuery(text)
	req := bleve.NewSearchRequestOptions(q, k, 0, false)
	res, err := b.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("bleve: %w", err)
	}
	out := make([]string, len(res.Hits))
	for i, h := range res.Hits {
		out[i] = h.ID
	}
	return out, nil
}
