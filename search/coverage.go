package search

import (
	"cmp"
	"slices"
)

// Multi-aspect requests ("read the sheet, plot a bar chart, save it as PDF")
// need one tool per aspect, but plain BM25 fills the top with near-duplicates
// matching the dominant aspect. coverageRerank re-ranks the best lexical
// candidates greedily: a query term's contribution to a candidate is
// discounted by how much of that term the tools already chosen cover, so the
// next pick favours terms not yet served.

// coverageRerank re-ranks hits (best first) among ndocs tools and returns
// the best k. A
// term's coverage is the largest share of it (relative to the best
// candidate's contribution) any chosen tool holds.
func (lx *lexicon) coverageRerank(qt []queryTerm, hits []hit, k, ndocs int, p *Params) []hit {
	lambda := float32(p.Coverage)
	if len(hits) <= 1 || wordTerms(qt) < max(2, p.CoverageMinTerms) || lambda <= 0 {
		return hits[:min(k, len(hits))]
	}
	nt := len(qt)
	// The non-zero contributions of each candidate (a tool matches few of
	// a long query's terms, so the greedy loop below visits only those).
	sparse, off := lx.contributions(qt, hits, ndocs)
	base := make([]float32, len(hits))
	maxC := make([]float32, nt)
	for i, h := range hits {
		var sum float32
		for _, e := range sparse[off[i]:off[i+1]] {
			sum += e.c
			maxC[e.term] = max(maxC[e.term], e.c)
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
			for _, e := range sparse[off[i]:off[i+1]] {
				s += e.c / (1 + lambda*covered[e.term])
			}
			if best < 0 || s > bestScore {
				best, bestScore = i, s
			}
		}
		used[best] = true
		out = append(out, hit{doc: hits[best].doc, score: bestScore, fields: hits[best].fields})
		for _, e := range sparse[off[best]:off[best+1]] {
			covered[e.term] = max(covered[e.term], e.c/maxC[e.term])
		}
	}
	return out
}

// contribution is the score a query term gives a candidate.
type contribution struct {
	term int32 // index in the query terms
	c    float32
}

// found is a contribution to one hit.
type found struct {
	hit int32
	contribution
}

// contributions returns the non-zero contributions of the query terms to
// each hit, flat: hit i's are sparse[off[i]:off[i+1]], in query term order.
// ndocs is the number of tools. A term with few postings is matched by
// looking each posting up in a table of the hits; one with many by binary
// searches of its postings for the hits in document order, each resuming
// where the last one ended.
func (lx *lexicon) contributions(qt []queryTerm, hits []hit, ndocs int) (sparse []contribution, off []int32) {
	a := accPool.Get().(*accumulator)
	defer accPool.Put(a)
	if len(a.slot) < ndocs {
		a.slot = make([]int32, ndocs)
	}
	slot := a.slot[:ndocs] // tool -> hit index + 1, 0 for tools not hit
	for i, h := range hits {
		slot[h.doc] = int32(i) + 1
	}
	var order []int32   // hit indexes in document order, when needed
	var sorted []uint32 // their documents
	all := a.found[:0]
	count := make([]int32, len(hits))
	for j, q := range qt {
		lo, hi := lx.offsets[q.id], lx.offsets[q.id+1]
		docs, imps := lx.docs[lo:hi], lx.impacts[lo:hi]
		w := q.weight * lx.idf[q.id]
		if len(docs) <= 8*len(hits) {
			for p, d := range docs {
				if i := slot[d]; i != 0 {
					all = append(all, found{i - 1, contribution{int32(j), w * imps[p]}})
					count[i-1]++
				}
			}
			continue
		}
		if order == nil {
			order = make([]int32, len(hits))
			for i := range order {
				order[i] = int32(i)
			}
			slices.SortFunc(order, func(a, b int32) int { return cmp.Compare(hits[a].doc, hits[b].doc) })
			sorted = make([]uint32, len(hits))
			for i, h := range order {
				sorted[i] = hits[h].doc
			}
		}
		p := 0
		for k, d := range sorted {
			n, ok := slices.BinarySearch(docs[p:], d)
			p += n
			if p == len(docs) {
				break
			}
			if ok {
				all = append(all, found{order[k], contribution{int32(j), w * imps[p]}})
				count[order[k]]++
			}
		}
	}
	for _, h := range hits {
		slot[h.doc] = 0
	}
	off = make([]int32, len(hits)+1)
	for i, c := range count {
		off[i+1] = off[i] + c
	}
	sparse = make([]contribution, len(all))
	fill := slices.Clone(off[:len(hits)])
	for _, f := range all { // term by term: each hit's in query term order
		sparse[fill[f.hit]] = f.contribution
		fill[f.hit]++
	}
	a.found = all[:0]
	return sparse, off
}

// wordTerms counts the query's word terms (not its word pairs or prefixes).
func wordTerms(qt []queryTerm) int {
	n := 0
	for _, q := range qt {
		if !q.pair && !q.prefix {
			n++
		}
	}
	return n
}
