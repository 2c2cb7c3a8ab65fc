package eval

import (
	"context"
	"math"
	"slices"
	"strings"
	"unicode"

	"github.com/weft-dev/weft/catalog"
)

// ReferenceBM25 is the plain-BM25 reference of the toolbench data, exactly
// as its README specifies: document = name + " " + description, lower-cased,
// tokens = maximal runs of Unicode letters/digits, k1 = 1.2, b = 0.75,
// idf = ln(1 + (N − df + 0.5)/(df + 0.5)), ties broken by file order. It
// validates the metric code and is the yardstick of the quality table.
type ReferenceBM25 struct {
	names    []string
	postings map[string][]refPosting
	lens     []float64
	avg      float64
}

type refPosting struct {
	doc int
	tf  float64
}

// Name implements Engine.
func (r *ReferenceBM25) Name() string { return "bm25-reference" }

func refTokens(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// Build implements Engine.
func (r *ReferenceBM25) Build(_ context.Context, tools []catalog.Tool) error {
	r.names = make([]string, len(tools))
	r.lens = make([]float64, len(tools))
	r.postings = make(map[string][]refPosting)
	total := 0.0
	for i := range tools {
		r.names[i] = tools[i].Name
		toks := refTokens(tools[i].Original + " " + tools[i].Description)
		r.lens[i] = float64(len(toks))
		total += r.lens[i]
		tf := make(map[string]float64)
		for _, t := range toks {
			tf[t]++
		}
		for t, c := range tf {
			r.postings[t] = append(r.postings[t], refPosting{doc: i, tf: c})
		}
	}
	r.avg = total / float64(max(1, len(tools)))
	return nil
}

// Rank implements Engine.
func (r *ReferenceBM25) Rank(_ context.Context, text string, k int) ([]string, error) {
	const k1, b = 1.2, 0.75
	n := float64(len(r.names))
	scores := make([]float64, len(r.names))
	for _, t := range refTokens(text) {
		ps := r.postings[t]
		df := float64(len(ps))
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		for _, p := range ps {
			scores[p.doc] += idf * p.tf * (k1 + 1) / (p.tf + k1*(1-b+b*r.lens[p.doc]/r.avg))
		}
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return a - b
	})
	out := make([]string, 0, k)
	for _, i := range order[:min(k, len(order))] {
		out = append(out, r.names[i])
	}
	return out, nil
}
