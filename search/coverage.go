package search

// Multi-aspect requests ("read the sheet, plot a bar chart, save it as PDF")
// need one tool per aspect, but plain BM25 fills the top with near-duplicates
// matching the dominant aspect. coverageRerank re-ranks the best lexical
// candidates greedily: a query term's contribution to a candidate is
// discounted by how much of that term the tools already chosen cover, so the
// next pick favours terms not yet served.

// coverageRerank re-ranks hits (best first) and returns the best k. A
// term's coverage is the largest share of it (relative to the best
// candidate's contribution) any chosen tool holds.
func (lx *lexicon) coverageRerank(qt []queryTerm, hits []hit, k int, p *Params) []hit {
	lambda := float32(p.Coverage)
	if len(hits) <= 1 || wordTerms(qt) < max(2, p.CoverageMinTerms) || lambda <= 0 {
		return hits[:min(k, len(hits))]
	}
	nt := len(qt)
	// The non-zero contributions of each candidate, flat: candidate i's
	// are sparse[off[i]:off[i+1]] (a tool matches few of a long query's
	// terms, so the greedy loop below visits only those).
	type contribution struct {
		term int32
		c    float32
	}
	sparse := make([]contribution, 0, len(hits)*4)
	off := make([]int32, len(hits)+1)
	base := make([]float32, len(hits))
	maxC := make([]float32, nt)
	for i, h := range hits {
		var sum float32
		for j, q := range qt {
			if imp := lx.impact(q.id, h.doc); imp > 0 {
				c := q.weight * lx.idf[q.id] * imp
				sparse = append(sparse, contribution{int32(j), c})
				sum += c
				maxC[j] = max(maxC[j], c)
			}
		}
		off[i+1] = int32(len(sparse))
		base[i] = h.score - sum // evidence beyond the terms (server boost)
	}
	covered := make([]float32, nt)
	used := make([]bool, len(hits))
	out := make([]hit, 0, min(k, len(hits)))
	for len(out) < cap(out) {
		best, bestScore := -1, float32(0)
		for i := range hits {
			if used[i] {
				continue
			}
			s := base[i]
			for _, e := range sparse[off[i]:off[i+1]] {
				s += e.c / (1 + lambda*covered[e.term])
			}
			if best < 0 || s > bestScore {
				best, bestScore = i, s
			}
		}
		used[best] = true
		out = append(out, hit{doc: hits[best].doc, score: bestScore})
		for _, e := range sparse[off[best]:off[best+1]] {
			covered[e.term] = max(covered[e.term], e.c/maxC[e.term])
		}
	}
	return out
}

// impact returns the BM25F impact of term id in doc (0 if absent).
func (lx *lexicon) impact(id uint32, doc uint32) float32 {
	lo, hi := lx.offsets[id], lx.offsets[id+1]
	docs := lx.docs[lo:hi]
	lo2, hi2 := 0, len(docs)
	for lo2 < hi2 {
		m := int(uint(lo2+hi2) >> 1)
		if docs[m] < doc {
			lo2 = m + 1
		} else {
			hi2 = m
		}
	}
	if lo2 < len(docs) && docs[lo2] == doc {
		return lx.impacts[int(lo)+lo2]
	}
	return 0
}

// wordTerms counts the query's word terms (not its word pairs).
func wordTerms(qt []queryTerm) int {
	n := 0
	for _, q := range qt {
		if !q.pair {
			n++
		}
	}
	return n
}
