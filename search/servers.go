package search

import (
	"math"
	"slices"

	"github.com/weft-dev/weft/catalog"
)

// serverIndex scores servers as documents: the union of their tools'
// terms. It backs Params.ServerBoost.
type serverIndex struct {
	lx *lexicon
	of []int32 // tool -> server slot, -1 for tools without a server
	n  int
}

// assembleServers builds the server index, or nil when no tool has a
// server or the boost is off.
func (b *builder) assembleServers(tools []catalog.Tool, analyses []*docTerms, p *Params) *serverIndex {
	if p.ServerBoost == 0 {
		return nil
	}
	si := &serverIndex{of: make([]int32, len(tools))}
	slot := make(map[string]int32)
	var members [][]int
	for i := range tools {
		s := tools[i].Server
		if s == "" {
			si.of[i] = -1
			continue
		}
		id, ok := slot[s]
		if !ok {
			id = int32(len(members))
			slot[s] = id
			members = append(members, nil)
		}
		si.of[i] = id
		members[id] = append(members[id], i)
	}
	if len(members) == 0 {
		return nil
	}
	docs := make([]*docTerms, len(members))
	var raw []uint64
	for id, ms := range members {
		raw = raw[:0]
		var lens [numFields]int
		for _, i := range ms {
			for _, e := range analyses[i].entries {
				raw = append(raw, packEntry(e.term, e.field, e.tf))
			}
			for f := range numFields {
				lens[f] += int(analyses[i].lens[f])
			}
		}
		d := &docTerms{entries: mergeEntries(raw)}
		for f := range numFields {
			d.lens[f] = uint16(min(lens[f], math.MaxUint16))
		}
		docs[id] = d
	}
	si.lx = b.assemble(docs, p)
	si.n = len(docs)
	return si
}

// scores returns the BM25F score of every server for the query.
func (si *serverIndex) scores(pq parsedQuery) []float32 {
	out := make([]float32, si.n)
	for _, q := range si.lx.resolve(pq) {
		w := q.weight * si.lx.idf[q.id]
		ds, imps := si.lx.postings(q.id)
		for i, d := range ds {
			out[d] += w * imps[i]
		}
	}
	return out
}

// lexical runs the lexical retriever: BM25F, the server boost when
// enabled, the coverage re-ranking of the best candidates, and the relaxed
// query when too few tools match.
func (st *state) lexical(pq parsedQuery, qt []queryTerm, k int, keep filter, p *Params) []hit {
	n := k
	if p.Coverage > 0 && wordTerms(qt) >= p.CoverageMinTerms {
		n = max(k, p.CoverageDepth)
	}
	bonus := st.serverBonus(pq, p)
	hits := st.lx.scoreLexical(qt, st.docs, n, keep, bonus)
	hits = st.lx.coverageRerank(qt, hits, k, len(st.docs), p)
	if len(hits) < k && pq.relax != nil {
		hits = st.relaxed(pq, qt, hits, k, keep, bonus)
	}
	return hits
}

// serverBonus returns the server evidence of each tool for the query (nil
// when off or no tool has a server).
func (st *state) serverBonus(pq parsedQuery, p *Params) func(uint32) float32 {
	si := st.servers
	if si == nil || p.ServerBoost == 0 {
		return nil
	}
	srv := si.scores(pq)
	boost := float32(p.ServerBoost)
	return func(d uint32) float32 {
		if s := si.of[d]; s >= 0 {
			return boost * srv[s]
		}
		return 0
	}
}

// relaxed fills hits (fewer than k) with the best further tools for the
// query's terms plus its relaxed terms, after the hits already found.
func (st *state) relaxed(pq parsedQuery, qt []queryTerm, hits []hit, k int, keep filter, bonus func(uint32) float32) []hit {
	more := st.lx.resolve(*pq.relax)
	if len(more) == 0 {
		return hits
	}
	all := append(slices.Clip(qt), more...)
	seen := make(map[*catalog.Tool]bool, len(hits))
	for _, h := range hits {
		seen[st.docs[h.doc].tool] = true
	}
	extra := st.lx.scoreLexical(all, st.docs, k-len(hits), func(d *docInfo) bool {
		return !seen[d.tool] && (keep == nil || keep(d))
	}, bonus)
	return append(hits, extra...)
}
