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
	var merged []map[uint64]uint32
	var lens [][numFields]uint32
	for i := range tools {
		s := tools[i].Server
		if s == "" {
			si.of[i] = -1
			continue
		}
		id, ok := slot[s]
		if !ok {
			id = int32(len(merged))
			slot[s] = id
			merged = append(merged, make(map[uint64]uint32))
			lens = append(lens, [numFields]uint32{})
		}
		si.of[i] = id
		for _, e := range analyses[i].entries {
			merged[id][uint64(e.term)<<8|uint64(e.field)] += uint32(e.tf)
		}
		for f := range numFields {
			lens[id][f] += uint32(analyses[i].lens[f])
		}
	}
	if len(merged) == 0 {
		return nil
	}
	docs := make([]*docTerms, len(merged))
	for id, m := range merged {
		d := &docTerms{entries: make([]tfEntry, 0, len(m))}
		for k, c := range m {
			d.entries = append(d.entries, tfEntry{term: uint32(k >> 8), field: field(k & 0xff), tf: uint16(min(c, math.MaxUint16))})
		}
		slices.SortFunc(d.entries, func(a, b tfEntry) int {
			if a.term != b.term {
				return int(a.term) - int(b.term)
			}
			return int(a.field) - int(b.field)
		})
		for f := range numFields {
			d.lens[f] = uint16(min(lens[id][f], math.MaxUint16))
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
// enabled, and the coverage re-ranking of the best candidates.
func (st *state) lexical(pq parsedQuery, qt []queryTerm, k int, keep filter, p *Params) []hit {
	n := k
	if p.Coverage > 0 && len(qt) >= p.CoverageMinTerms {
		n = max(k, p.CoverageDepth)
	}
	var hits []hit
	if si := st.servers; si == nil || p.ServerBoost == 0 {
		hits = st.lx.scoreLexical(qt, st.docs, n, keep, nil)
	} else {
		srv := si.scores(pq)
		boost := float32(p.ServerBoost)
		hits = st.lx.scoreLexical(qt, st.docs, n, keep, func(d uint32) float32 {
			if s := si.of[d]; s >= 0 {
				return boost * srv[s]
			}
			return 0
		})
	}
	return st.lx.coverageRerank(qt, hits, k, p)
}
