package search

import (
	"math"
	"slices"

	"github.com/weft-dev/weft/catalog"
)

// tfEntry is the frequency of one term in one field of a tool.
type tfEntry struct {
	term  uint32 // id in the builder's dictionary
	field field
	tf    uint16
}

// docTerms is the analysis of one tool: its term frequencies per field
// (sorted by term, then field) and its field lengths. It depends only on the
// tool's content, so it is cached by content hash across updates.
type docTerms struct {
	entries []tfEntry
	lens    [numFields]uint16
}

// builder owns the term dictionary and the per-tool analyses. It is used
// under the Index's update lock only.
type builder struct {
	ids   map[string]uint32
	terms []string
	an    *analyzer
	cache map[string]*docTerms // tool hash -> analysis

	scratch []uint64
}

// mergeEntries sorts raw — packed (term<<8|field)<<16|count values — and
// returns the (term, field, summed count) entries in a new, exactly sized
// slice.
func mergeEntries(raw []uint64) []tfEntry {
	slices.Sort(raw)
	n := 0
	for i := range raw {
		if i == 0 || raw[i]>>16 != raw[i-1]>>16 {
			n++
		}
	}
	out := make([]tfEntry, 0, n)
	for i := 0; i < len(raw); {
		key, tf := raw[i]>>16, 0
		for ; i < len(raw) && raw[i]>>16 == key; i++ {
			tf += int(raw[i] & 0xffff)
		}
		out = append(out, tfEntry{term: uint32(key >> 8), field: field(key & 0xff), tf: uint16(min(tf, math.MaxUint16))})
	}
	return out
}

// packEntry packs a (term, field, count) for mergeEntries.
func packEntry(term uint32, f field, count uint16) uint64 {
	return (uint64(term)<<8|uint64(f))<<16 | uint64(count)
}

func newBuilder() *builder {
	return &builder{ids: make(map[string]uint32), an: newAnalyzer(), cache: make(map[string]*docTerms)}
}

func (b *builder) termID(t string) uint32 {
	if id, ok := b.ids[t]; ok {
		return id
	}
	id := uint32(len(b.terms))
	b.ids[t] = id
	b.terms = append(b.terms, t)
	return id
}

// pairFields are the fields whose word pairs are indexed (Params.Bigram):
// the ones that say what a tool does. Pairs of the long, repetitive fields
// (parameter descriptions, server descriptions, examples) would double the
// index and add nothing measurable.
var pairFields uint16 = 1<<fieldName | 1<<fieldTitle | 1<<fieldDescription

// analyze returns the analysis of t, from the cache when its hash is known.
func (b *builder) analyze(t *catalog.Tool) *docTerms {
	if t.Hash != "" {
		if d, ok := b.cache[t.Hash]; ok {
			return d
		}
	}
	texts := fieldTexts(t)
	d := &docTerms{}
	raw := b.scratch[:0]
	pairs := b.an.bigrams
	defer func() { b.an.bigrams = pairs }()
	for f := range numFields {
		n := 0
		b.an.bigrams = pairs && pairFields&(1<<f) != 0
		b.an.terms(texts[f], false, func(term string) {
			if isWordTerm(term) {
				n++ // a field's length counts its words, not their pairs or prefixes
			}
			raw = append(raw, packEntry(b.termID(term), f, 1))
		})
		d.lens[f] = uint16(min(n, math.MaxUint16))
	}
	d.entries = mergeEntries(raw)
	b.scratch = raw
	if t.Hash != "" {
		b.cache[t.Hash] = d
	}
	return d
}

// prune drops cached analyses of tools not in snap.
func (b *builder) prune(snap *catalog.Snapshot) {
	if len(b.cache) <= snap.Len() {
		return
	}
	keep := make(map[string]bool, snap.Len())
	for i := range snap.Tools() {
		keep[snap.Tools()[i].Hash] = true
	}
	for h := range b.cache {
		if !keep[h] {
			delete(b.cache, h)
		}
	}
}

// lexicon is the immutable lexical index of one snapshot: a BM25F impact
// per (term, tool), laid out as one flat postings array per term.
type lexicon struct {
	termIndex map[string]uint32 // term -> posting list
	terms     []string          // posting list -> term
	offsets   []uint32          // posting list i is [offsets[i], offsets[i+1])
	docs      []uint32          // tool index in the snapshot
	impacts   []float32         // tf~/(k1+tf~)
	masks     []uint16          // fields the term occurs in
	idf       []float32
}

// assemble builds the lexicon of the analysed tools under params p.
func (b *builder) assemble(analyses []*docTerms, p *Params) *lexicon {
	n := len(analyses)
	fp := p.fields()
	var avg [numFields]float64
	for _, d := range analyses {
		for f := range numFields {
			avg[f] += float64(d.lens[f])
		}
	}
	for f := range avg {
		avg[f] = max(avg[f]/float64(max(n, 1)), 1e-9)
	}

	// Local ids for the terms in use, and posting-list sizes.
	local := make([]int32, len(b.terms))
	for i := range local {
		local[i] = -1
	}
	var counts []uint32
	var used []uint32
	for _, d := range analyses {
		last := uint32(math.MaxUint32)
		for _, e := range d.entries {
			if e.term == last {
				continue
			}
			last = e.term
			if local[e.term] < 0 {
				local[e.term] = int32(len(counts))
				counts = append(counts, 0)
				used = append(used, e.term)
			}
			counts[local[e.term]]++
		}
	}
	lx := &lexicon{
		termIndex: make(map[string]uint32, len(used)),
		terms:     make([]string, len(used)),
		offsets:   make([]uint32, len(counts)+1),
		idf:       make([]float32, len(counts)),
	}
	for i, g := range used {
		lx.termIndex[b.terms[g]] = uint32(i)
		lx.terms[i] = b.terms[g]
		df := float64(counts[i])
		lx.idf[i] = float32(math.Log(1 + (float64(n)-df+0.5)/(df+0.5)))
		lx.offsets[i+1] = lx.offsets[i] + counts[i]
	}
	total := lx.offsets[len(counts)]
	lx.docs = make([]uint32, total)
	lx.impacts = make([]float32, total)
	lx.masks = make([]uint16, total)
	fill := slices.Clone(lx.offsets[:len(counts)])

	var norm [numFields]float64
	for doc, d := range analyses {
		for f := range numFields {
			norm[f] = fp[f].Weight / (1 - fp[f].B + fp[f].B*float64(d.lens[f])/avg[f])
		}
		for i := 0; i < len(d.entries); {
			term := d.entries[i].term
			var w float64
			var mask uint16
			for ; i < len(d.entries) && d.entries[i].term == term; i++ {
				e := d.entries[i]
				w += norm[e.field] * float64(e.tf)
				mask |= 1 << e.field
			}
			l := local[term]
			at := fill[l]
			fill[l]++
			lx.docs[at] = uint32(doc)
			lx.impacts[at] = float32(w / (p.K1 + w))
			lx.masks[at] = mask
		}
	}
	return lx
}

// postings returns the posting list of local term id.
func (lx *lexicon) postings(id uint32) (docs []uint32, impacts []float32) {
	lo, hi := lx.offsets[id], lx.offsets[id+1]
	return lx.docs[lo:hi], lx.impacts[lo:hi]
}

// fieldMask returns the fields term id occurs in for doc (0 if none).
func (lx *lexicon) fieldMask(id uint32, doc uint32) uint16 {
	lo, hi := lx.offsets[id], lx.offsets[id+1]
	docs := lx.docs[lo:hi]
	if i, ok := slices.BinarySearch(docs, doc); ok {
		return lx.masks[int(lo)+i]
	}
	return 0
}
