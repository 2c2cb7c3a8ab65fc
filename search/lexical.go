package search

import (
	"math"
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
	prefix bool // a word-prefix term (Params.Prefix)
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
// times that, and a pair with a dropped word is dropped; word prefixes
// (Params.Prefix) weigh Prefix times that and go where their word goes.
// Known words' stems (and stopwords, as stopStem) are read from stems, and
// only the word pairs and prefixes that are terms of known are kept
// (either may be nil).
func parseQuery(text string, p *Params, stems map[string]string, known *lexicon) parsedQuery {
	sc := parsePool.Get().(*parseScratch)
	defer parsePool.Put(sc)
	an := analyzer{stems: stems, readOnly: true, known: known, bigrams: p.Bigram > 0, prefixLen: p.prefixLen(),
		buf: sc.buf[:0], pair: sc.pair[:0], pfx: sc.pfx[:0]}
	terms := sc.terms[:0]
	an.terms(text, false, func(t string) { terms = append(terms, t) })
	if len(terms) == 0 {
		an.terms(text, true, func(t string) { terms = append(terms, t) })
	}
	sc.buf, sc.pair, sc.pfx = an.buf, an.pair, an.pfx
	// kinds[i] is first a request-word mark, then the kind of terms[i].
	kinds := sc.kinds[:0]
	content := 0
	for _, t := range terms {
		req := isWordTerm(t) && requestStems[t]
		if !req && isWordTerm(t) {
			content++
		}
		kinds = append(kinds, b2u(req))
	}
	// A request word is dropped (or relaxed) when the query has other
	// words; its prefix goes with it, and so does a pair it is part of.
	lastReq, prevReq := false, false // the last two words were request words
	for i, t := range terms {
		kind := uint8(termMain)
		switch {
		case isPrefixTerm(t):
			kind = kinds[i-1] // its word's (emitted right before it)
		case isBigramTerm(t):
			if content > 0 && (lastReq || prevReq) {
				kind = termSkip
			}
		default:
			prevReq, lastReq = lastReq, kinds[i] == 1
			if content > 0 && lastReq {
				kind = termSkip
				if p.Relax {
					kind = termRelax
				}
			}
		}
		kinds[i] = kind
	}
	// counts[i] is how often terms[i] occurs (kinds other than termSkip)
	// at its first occurrence, 0 at the others.
	counts := countTerms(terms, kinds, sc)
	nmain, nrelax := 0, 0
	for i, c := range counts {
		switch {
		case c == 0:
		case kinds[i] == termMain:
			nmain++
		default:
			nrelax++
		}
	}
	pq := parsedQuery{terms: make([]string, 0, nmain), weights: make([]float32, 0, nmain)}
	var relax *parsedQuery
	if nrelax > 0 {
		relax = &parsedQuery{terms: make([]string, 0, nrelax), weights: make([]float32, 0, nrelax)}
	}
	for i, t := range terms {
		c := counts[i]
		if c == 0 {
			continue
		}
		w := float32(1)
		if c > 1 {
			w = float32(math.Pow(float64(c), p.QueryTFPower))
		}
		switch {
		case isBigramTerm(t):
			w *= float32(p.Bigram)
		case isPrefixTerm(t):
			w *= float32(p.Prefix)
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

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// linearCount is the number of terms up to which countTerms compares them
// pairwise instead of hashing them.
const linearCount = 48

// countTerms returns, for each term not of kind termSkip, how often it
// occurs at its first such occurrence and 0 at its repeats (and at skipped
// terms), in sc.counts.
func countTerms(terms []string, kinds []uint8, sc *parseScratch) []int32 {
	counts := sc.counts[:0]
	if len(terms) <= linearCount {
	next:
		for i, t := range terms {
			counts = append(counts, 0)
			if kinds[i] == termSkip {
				continue
			}
			for j := range i {
				if counts[j] > 0 && terms[j] == t {
					counts[j]++
					continue next
				}
			}
			counts[i] = 1
		}
	} else {
		first := sc.first
		for i, t := range terms {
			counts = append(counts, 0)
			if kinds[i] == termSkip {
				continue
			}
			if j, ok := first[t]; ok {
				counts[j]++
				continue
			}
			first[t] = int32(i)
			counts[i] = 1
		}
		clear(first)
	}
	sc.counts = counts
	return counts
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
	pfx    []byte
	terms  []string
	kinds  []uint8
	counts []int32
	first  map[string]int32 // countTerms' index of long queries
}

var parsePool = sync.Pool{New: func() any { return &parseScratch{first: make(map[string]int32)} }}

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
			out = append(out, queryTerm{id: id, weight: pq.weights[i], pair: isBigramTerm(t), prefix: isPrefixTerm(t)})
		}
	}
	return out
}

// accumulator holds per-tool score sums for one query; pooled.
type accumulator struct {
	acc     []float32
	fields  []uint16 // fields matched per tool; non-zero marks a touched tool
	touched []uint32
	top     topK
	// slot and found are contributions' (coverage re-ranking).
	slot  []int32
	found []found
}

var accPool = sync.Pool{New: func() any { return new(accumulator) }}

// scoreLexical returns the k best tools for the query terms among those
// accepted by keep (nil keeps all). bonus, when non-nil, is added to the
// score of every matching tool (the server-level evidence).
func (lx *lexicon) scoreLexical(qt []queryTerm, docs []docInfo, k int, keep filter, bonus func(doc uint32) float32) []hit {
	a := accPool.Get().(*accumulator)
	defer accPool.Put(a)
	if len(a.acc) < len(docs) {
		a.acc, a.fields = make([]float32, len(docs)), make([]uint16, len(docs))
	}
	acc, fields := a.acc[:len(docs)], a.fields[:len(docs)]
	touched := a.touched[:0]
	for _, q := range qt {
		w := q.weight * lx.idf[q.id]
		lo, hi := lx.offsets[q.id], lx.offsets[q.id+1]
		ds, imps, masks := lx.docs[lo:hi], lx.impacts[lo:hi], lx.masks[lo:hi]
		for i, d := range ds {
			if fields[d] == 0 {
				touched = append(touched, d)
			}
			acc[d] += w * imps[i]
			fields[d] |= masks[i]
		}
	}
	a.top.reset(k)
	for _, d := range touched {
		s, f := acc[d], fields[d]
		acc[d], fields[d] = 0, 0
		if s <= 0 {
			continue
		}
		if bonus != nil {
			s += bonus(d)
		}
		h := hit{doc: d, score: s, fields: f}
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
	return fieldNamesOf(mask, buf)
}

// fieldNamesOf returns the names of the fields in mask, appended to *buf.
func fieldNamesOf(mask uint16, buf *[]string) []string {
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
