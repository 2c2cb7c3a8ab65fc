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
	if len(hits) <= 1 || len(qt) < max(2, p.CoverageMinTerms) || lambda <= 0 {
		return hits[:min(k, len(hits))]
	}
	nt := len(qt)
	contrib := make([]float32, len(hits)*nt)
	base := make([]float32, len(hits))
	maxC := make([]float32, nt)
	for i, h := range hits {
		var sum float32
		for j, q := range qt {
			if imp := lx.impact(q.id, h.doc); imp > 0 {
				c := q.weight * lx.idf[q.id] * imp
				contrib[i*nt+j] = c
				sum += c
				maxC[j] = max(maxC[j], c)
			}
		}
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
			for j := range nt {
				if c := contrib[i*nt+j]; c > 0 {
					s += c / (1 + lambda*covered[j])
				}
			}
			if best < 0 || s > bestScore {
				best, bestScore = i, s
			}
		}
		used[best] = true
		out = append(out, hit{doc: hits[best].doc, score: bestScore})
		for j := range nt {
			if c := contrib[best*nt+j]; c > 0 {
				covered[j] = max(covered[j], c/maxC[j])
			}
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
