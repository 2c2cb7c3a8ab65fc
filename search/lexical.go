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
	pair   bool // a word-pair term (Params.Bigram)
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
// times that, and a pair with a dropped word is dropped. Known words' stems
// are read from stems, and only the word pairs that are terms of known are
// kept (either may be nil).
func parseQuery(text string, p *Params, stems map[string]string, known *lexicon) parsedQuery {
	sc := parsePool.Get().(*parseScratch)
	defer parsePool.Put(sc)
	an := analyzer{stems: stems, readOnly: true, known: known, bigrams: p.Bigram > 0, buf: sc.buf[:0], pair: sc.pair[:0]}
	terms := sc.terms[:0]
	an.terms(text, false, func(t string) { terms = append(terms, t) })
	if len(terms) == 0 {
		an.terms(text, true, func(t string) { terms = append(terms, t) })
	}
	sc.buf, sc.pair = an.buf, an.pair
	content := 0
	for _, t := range terms {
		if !requestStems[t] && !isBigramTerm(t) {
			content++
		}
	}
	counts := sc.counts
	clear(counts)
	nmain, nrelax := 0, 0
	dropped := false // the last word was a dropped request word
	kinds := sc.kinds[:0]
	for _, t := range terms {
		kind := uint8(termMain)
		if isBigramTerm(t) {
			if dropped || content > 0 && requestStems[t[1:strings.IndexByte(t, ' ')]] {
				kind = termSkip
			}
		} else if dropped = content > 0 && requestStems[t]; dropped {
			kind = termSkip
			if p.Relax {
				kind = termRelax
			}
		}
		kinds = append(kinds, kind)
		if kind == termSkip {
			continue
		}
		if counts[t] == 0 {
			if kind == termMain {
				nmain++
			} else {
				nrelax++
			}
		}
		counts[t]++
	}
	pq := parsedQuery{terms: make([]string, 0, nmain), weights: make([]float32, 0, nmain)}
	var relax *parsedQuery
	if nrelax > 0 {
		relax = &parsedQuery{terms: make([]string, 0, nrelax), weights: make([]float32, 0, nrelax)}
	}
	for i, t := range terms {
		c := counts[t]
		if kinds[i] == termSkip || c == 0 {
			continue
		}
		counts[t] = 0 // taken
		w := float32(1)
		if c > 1 {
			w = float32(math.Pow(float64(c), p.QueryTFPower))
		}
		if isBigramTerm(t) {
			w *= float32(p.Bigram)
		}
		into := &pq
		if kinds[i] == termRelax {
			into = relax
		}
		into.terms = append(into.terms, t)
		into.weights = append(into.weights, w)
	}
	pq.relax = relax
	clear(terms) // drop the references before pooling
	sc.terms, sc.kinds = terms[:0], kinds[:0]
	return pq
}

// Kinds of query terms in parseQuery.
const (
	termMain  = iota // searched
	termRelax        // searched by the relaxed query only
	termSkip         // not searched
)

// parseScratch is parseQuery's pooled working memory.
type parseScratch struct {
	buf    []byte
	pair   []byte
	terms  []string
	kinds  []uint8
	counts map[string]int
}

var parsePool = sync.Pool{New: func() any { return &parseScratch{counts: make(map[string]int)} }}

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
			out = append(out, queryTerm{id: id, weight: pq.weights[i], pair: isBigramTerm(t)})
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

// matchedFields returns the fields of doc that contain a query term,
// appended to *buf (one backing array for a whole result list).
func (lx *lexicon) matchedFields(qt []queryTerm, doc uint32, buf *[]string) []string {
	var mask uint16
	for _, q := range qt {
		if !q.pair { // a pair's fields are its words' fields
			mask |= lx.fieldMask(q.id, doc)
		}
	}
	if mask == 0 {
		return nil
	}
	start := len(*buf)
	for f := range numFields {
		if mask&(1<<f) != 0 {
			*buf = append(*buf, fieldNames[f])
		}
	}
	return (*buf)[start:len(*buf):len(*buf)]
}
