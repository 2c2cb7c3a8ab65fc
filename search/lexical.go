package search

import (
	"math"
	"strings"
	"sync"

	"github.com/weft-dev/weft/catalog"
)

// docInfo is what the index keeps per tool besides its postings.
type docInfo struct {
	tool *catalog.Tool
}

// queryTerm is one distinct, known query term with its weight.
type queryTerm struct {
	id     uint32
	weight float32
}

// parsedQuery is the analysed query: distinct terms and their weights, and
// the relaxed terms (Params.Relax) added only when the terms leave fewer
// results than wanted.
type parsedQuery struct {
	terms   []string
	weights []float32
	relax   *parsedQuery
}

// parseQuery analyses text. Stopwords are dropped unless the query has
// nothing else; request phrasing ("I want", "please") is dropped when other
// terms remain (with Params.Relax it becomes the relaxed terms). Repeated
// terms weigh count^QueryTFPower; word pairs (Params.Bigram) weigh Bigram
// times that, and a pair with a dropped word is dropped.
func parseQuery(text string, p *Params) parsedQuery {
	an := analyzer{bigrams: p.Bigram > 0}
	var terms []string
	an.terms(text, false, func(t string) { terms = append(terms, t) })
	if len(terms) == 0 {
		an.terms(text, true, func(t string) { terms = append(terms, t) })
	}
	content := 0
	for _, t := range terms {
		if !requestStems[t] && !isBigramTerm(t) {
			content++
		}
	}
	counts := make(map[string]int, len(terms))
	var main, relax []string
	dropped := false // the last word was a dropped request word
	for _, t := range terms {
		toRelax := false
		if isBigramTerm(t) {
			if dropped || content > 0 && requestStems[t[1:strings.IndexByte(t, ' ')]] {
				continue
			}
		} else if dropped = content > 0 && requestStems[t]; dropped {
			if !p.Relax {
				continue
			}
			toRelax = true
		}
		if counts[t] == 0 {
			if toRelax {
				relax = append(relax, t)
			} else {
				main = append(main, t)
			}
		}
		counts[t]++
	}
	weigh := func(ts []string) parsedQuery {
		pt := parsedQuery{terms: ts, weights: make([]float32, len(ts))}
		for i, t := range ts {
			pt.weights[i] = float32(math.Pow(float64(counts[t]), p.QueryTFPower))
			if isBigramTerm(t) {
				pt.weights[i] *= float32(p.Bigram)
			}
		}
		return pt
	}
	pq := weigh(main)
	if len(relax) > 0 {
		r := weigh(relax)
		pq.relax = &r
	}
	return pq
}

// requestStems are the terms (stems) of requestWords: queries are matched
// after stemming, so "please" is dropped as "pleas" and "provide" as "provid".
var requestStems = func() map[string]bool {
	m := make(map[string]bool, len(requestWords))
	for w := range requestWords {
		m[stem(w)] = true
	}
	return m
}()

// resolve maps the query's terms onto the lexicon, dropping unknown ones.
func (lx *lexicon) resolve(pq parsedQuery) []queryTerm {
	out := make([]queryTerm, 0, len(pq.terms))
	for i, t := range pq.terms {
		if id, ok := lx.termIndex[t]; ok {
			out = append(out, queryTerm{id: id, weight: pq.weights[i]})
		}
	}
	return out
}

// accumulator holds per-tool score sums for one query; pooled.
type accumulator struct {
	acc     []float32
	touched []uint32
	top     topK
}

var accPool = sync.Pool{New: func() any { return new(accumulator) }}

// scoreLexical returns the k best tools for the query terms among those
// accepted by keep (nil keeps all). bonus, when non-nil, is added to the
// score of every matching tool (the server-level evidence).
func (lx *lexicon) scoreLexical(qt []queryTerm, docs []docInfo, k int, keep filter, bonus func(doc uint32) float32) []hit {
	a := accPool.Get().(*accumulator)
	defer accPool.Put(a)
	if len(a.acc) < len(docs) {
		a.acc = make([]float32, len(docs))
	}
	acc := a.acc[:len(docs)]
	touched := a.touched[:0]
	for _, q := range qt {
		w := q.weight * lx.idf[q.id]
		ds, imps := lx.postings(q.id)
		for i, d := range ds {
			if acc[d] == 0 {
				touched = append(touched, d)
			}
			acc[d] += w * imps[i]
		}
	}
	a.top.reset(k)
	for _, d := range touched {
		s := acc[d]
		acc[d] = 0
		if s <= 0 {
			continue
		}
		if bonus != nil {
			s += bonus(d)
		}
		h := hit{doc: d, score: s}
		if a.top.full() && !worse(a.top.min(), h) {
			continue
		}
		if keep != nil && !keep(&docs[d]) {
			continue
		}
		a.top.push(h)
	}
	a.touched = touched
	return a.top.sorted()
}

// matchedFields returns the fields of doc that contain a query term.
func (lx *lexicon) matchedFields(qt []queryTerm, doc uint32) []string {
	var mask uint16
	for _, q := range qt {
		mask |= lx.fieldMask(q.id, doc)
	}
	var out []string
	for f := range numFields {
		if mask&(1<<f) != 0 {
			out = append(out, fieldNames[f])
		}
	}
	return out
}
