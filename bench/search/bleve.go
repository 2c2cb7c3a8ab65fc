package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/whitespace"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	bleveindex "github.com/blevesearch/bleve_index_api"
	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/search"
)

// bleveVariant selects how bleve is configured. Every variant indexes the
// same fields weft indexes (search.Fields), each as its own text field, and
// sees the same identifier splitting (search.Words) for tools and queries.
type bleveVariant string

const (
	// bleveDefault is bleve as an application would use it: bleve.New (the
	// scorch index, in memory with an empty path), bleve's default TF-IDF
	// scoring, a match query over the composite _all field.
	bleveDefault bleveVariant = "bleve"
	// bleveBM25 is bleveDefault with bleve's BM25 scoring model.
	bleveBM25 bleveVariant = "bleve-bm25"
	// bleveBM25Fields is bleveBM25 queried per field: a disjunction of match
	// queries, one per field, boosted by weft's default field weights.
	bleveBM25Fields bleveVariant = "bleve-bm25-fields"
)

// presplitAnalyzer is bleve's English analyzer ("en": possessives, lower
// case, English stopwords, Porter stemming) over text that search.Words
// has already split into words, so the tokenizer only splits at spaces.
const presplitAnalyzer = "en_presplit"

// bleveEngine evaluates bleve over weft's fields.
type bleveEngine struct {
	variant bleveVariant
	idx     bleve.Index
	fields  []string
	boosts  map[string]float64
}

// Name implements eval.Engine.
func (b *bleveEngine) Name() string { return string(b.variant) }

// words joins text's words as weft splits them.
func words(text string) string { return strings.Join(search.Words(text), " ") }

// Build implements eval.Engine.
func (b *bleveEngine) Build(_ context.Context, tools []catalog.Tool) error {
	m := mapping.NewIndexMapping()
	if err := m.AddCustomAnalyzer(presplitAnalyzer, map[string]any{
		"type":          custom.Name,
		"tokenizer":     whitespace.Name,
		"token_filters": []any{en.PossessiveName, lowercase.Name, en.StopName, porter.Name},
	}); err != nil {
		return fmt.Errorf("bleve: analyzer: %w", err)
	}
	m.DefaultAnalyzer = presplitAnalyzer
	if b.variant != bleveDefault {
		m.ScoringModel = bleveindex.BM25Scoring
	}
	idx, err := bleve.New("", m) // bleve's default index type (scorch), kept in memory
	if err != nil {
		return fmt.Errorf("bleve: new index: %w", err)
	}
	if got := indexType(idx); !strings.HasPrefix(got, "scorch.") {
		return fmt.Errorf("bleve: index type is %s, want scorch", got)
	}
	p := search.DefaultParams()
	b.boosts = map[string]float64{
		"name": p.Name.Weight, "title": p.Title.Weight, "description": p.Description.Weight,
		"parameter_names": p.ParamNames.Weight, "parameter_descriptions": p.ParamDescriptions.Weight,
		"server": p.Server.Weight, "server_description": p.ServerDescription.Weight,
		"tags": p.Tags.Weight, "examples": p.Examples.Weight,
	}
	b.fields = b.fields[:0]
	batch := idx.NewBatch()
	for i := range tools {
		doc := map[string]any{}
		for _, f := range search.Fields(&tools[i]) {
			if i == 0 {
				b.fields = append(b.fields, f.Field)
			}
			if f.Text != "" {
				doc[f.Field] = words(f.Text)
			}
		}
		if err := batch.Index(tools[i].Name, doc); err != nil {
			return fmt.Errorf("bleve: index %s: %w", tools[i].Name, err)
		}
		if batch.Size() >= 1000 {
			if err := idx.Batch(batch); err != nil {
				return fmt.Errorf("bleve: batch: %w", err)
			}
			batch = idx.NewBatch()
		}
	}
	if err := idx.Batch(batch); err != nil {
		return fmt.Errorf("bleve: batch: %w", err)
	}
	b.idx = idx
	return nil
}

// indexType reports the index implementation bleve chose.
func indexType(idx bleve.Index) string {
	adv, err := idx.Advanced()
	if err != nil {
		return "unknown"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", adv), "*")
}

// Rank implements eval.Engine.
func (b *bleveEngine) Rank(ctx context.Context, text string, k int) ([]string, error) {
	qtext := words(text)
	var q query.Query
	if b.variant == bleveBM25Fields {
		var alts []query.Query
		for _, f := range b.fields {
			if b.boosts[f] <= 0 {
				continue
			}
			mq := bleve.NewMatchQuery(qtext)
			mq.SetField(f)
			mq.SetBoost(b.boosts[f])
			alts = append(alts, mq)
		}
		q = bleve.NewDisjunctionQuery(alts...)
	} else {
		q = bleve.NewMatchQuery(qtext)
	}
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
