package main

import (
	"context"
	"fmt"
	"io"

	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/search/embed/embedtest"
	"github.com/weft-dev/weft/search/eval"
	"github.com/weft-dev/weft/search/vector"
)

// hashEmbedder is a stand-in for a real embedding model (none is available
// offline): hashed bags of words, 256 dimensions. It is a weak, differently
// tokenised lexical signal, so this mode checks that fusion does no harm
// and shows how each method degrades with a poor dense side; it cannot tune
// fusion for a real model.
type hashEmbedder struct{}

// Embed implements search.Embedder.
func (hashEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = embedtest.Vector(t, 256)
	}
	return out, nil
}

// Model implements search.Embedder.
func (hashEmbedder) Model() string { return "hash-bow-256" }

// Dimensions implements search.Embedder.
func (hashEmbedder) Dimensions() int { return 256 }

func runFusion(ctx context.Context, w io.Writer, dir string) error {
	sets, err := dataSets(dir)
	if err != nil {
		return err
	}
	configs := []struct {
		name string
		fu   *search.Fusion
	}{
		{"lexical only", nil},
		{"rrf k=60 w=0.5", &search.Fusion{Method: search.FusionRRF, DenseWeight: 0.5}},
		{"rrf k=60 w=0.3", &search.Fusion{Method: search.FusionRRF, DenseWeight: 0.3}},
		{"weighted w=0.5", &search.Fusion{Method: search.FusionWeighted, DenseWeight: 0.5}},
		{"weighted w=0.3", &search.Fusion{Method: search.FusionWeighted, DenseWeight: 0.3}},
	}
	fmt.Fprintf(w, "%-13s %-16s %6s %8s\n", "set", "fusion", "R@5", "nDCG@10")
	for _, set := range sets {
		for _, c := range configs {
			opts := search.Options{}
			if c.fu != nil {
				opts = search.Options{Embedder: hashEmbedder{}, Vectors: vector.NewMemory(), Fusion: *c.fu}
			}
			r, err := eval.Run(ctx, eval.Options{Dir: set, Index: opts})
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "%-13s %-16s %6.3f %8.3f\n", r.Dataset, c.name, r.Recall[5], r.NDCG10)
		}
	}
	return nil
}
