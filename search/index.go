package search

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weft-dev/weft/catalog"
)

// Options configure an Index. The zero value is a lexical-only index with
// DefaultParams.
type Options struct {
	// Params are the lexical ranking parameters; nil means DefaultParams().
	Params *Params
	// Embedder turns text into vectors. Nil disables dense retrieval.
	Embedder Embedder
	// Vectors stores the tool vectors; required when Embedder is set
	// (search/vector.NewMemory is the in-memory default).
	Vectors VectorStore
	// Fusion combines lexical and dense rankings; the zero value is
	// DefaultFusion().
	Fusion Fusion
	// QueryEmbedTimeout bounds embedding a query (retries included); 0
	// means DefaultQueryEmbedTimeout. When the embedder fails or is too
	// slow, the search answers from the lexical engine alone and says so
	// in Response.Degraded.
	QueryEmbedTimeout time.Duration
}

// DefaultQueryEmbedTimeout is the default Options.QueryEmbedTimeout.
const DefaultQueryEmbedTimeout = 5 * time.Second

// maxDenseRetry caps denseRetryAfter.
const maxDenseRetry = 30 * time.Second

// denseRetryAfter is how long a generation whose tool vectors could not be
// computed (the embedder was down) serves lexical results before a search
// tries to embed the tools again, after the given number of failures in a
// row: at once after the first (a failed warm-up does not stick), then 1 s
// doubling to maxDenseRetry, so that an outage costs a search the wait for
// the embedder at most that often.
func denseRetryAfter(failures int) time.Duration {
	if failures <= 1 {
		return 0
	}
	return min(maxDenseRetry, time.Second<<min(failures-2, 10))
}

// Index answers searches over one catalog snapshot at a time. It is built
// lazily on the first search (or by Build) and updated incrementally by
// Update. An Index is safe for concurrent use.
type Index struct {
	opts   Options
	params Params

	mu      sync.Mutex // serialises builds
	pending *catalog.Snapshot
	b       *builder
	st      atomic.Pointer[state]
	// queries is the health of the dense side at query time.
	queries denseHealth
}

// state is one built, immutable generation of the index.
type state struct {
	snap *catalog.Snapshot
	docs []docInfo
	lx   *lexicon
	// servers backs Params.ServerBoost; nil when off or no tool has a server.
	servers *serverIndex
	dense   bool              // tool vectors are in opts.Vectors
	byName  map[string]uint32 // catalog name -> doc, when dense
	// denseErr is why an index with an Embedder has no tool vectors in
	// this generation (the embedder or the vector store failed at
	// denseAt); searches are lexical until a later build succeeds.
	denseErr      error
	denseAt       time.Time
	denseFailures int // failures in a row, this one included
	stats         Stats
	// stems are the stems of the words of this generation's tools (and
	// the stopwords, as stopStem), read by query analysis (the builder
	// copies the map before changing it).
	stems map[string]string
}

// Stats describe the current generation of an Index.
type Stats struct {
	// Version is the snapshot version indexed.
	Version string `json:"version"`
	// Tools is the number of tools indexed.
	Tools int `json:"tools"`
	// Terms is the number of distinct terms.
	Terms int `json:"terms"`
	// Postings is the number of (term, tool) pairs.
	Postings int `json:"postings"`
	// Analyzed is how many tools the last build had to (re)analyse; the
	// rest were reused from the previous generation by content hash.
	Analyzed int `json:"analyzed"`
	// Embedded is how many tool vectors the last build computed.
	Embedded int `json:"embedded"`
	// BuildTime is how long the last build took.
	BuildTime time.Duration `json:"build_time_ns"`
}

// New returns an index over snap (which may be nil: an empty catalog). Nothing
// is built until the first Search or Build.
func New(snap *catalog.Snapshot, opts Options) (*Index, error) {
	if opts.Embedder != nil && opts.Vectors == nil {
		return nil, fmt.Errorf("search: an Embedder needs a VectorStore (search/vector.NewMemory is the default)")
	}
	if err := opts.Fusion.validate(); err != nil {
		return nil, err
	}
	ix := &Index{opts: opts, params: DefaultParams(), b: newBuilder(), queries: denseHealth{now: time.Now}}
	if opts.Params != nil {
		ix.params = *opts.Params
	}
	ix.b.an.bigrams = ix.params.Bigram > 0
	ix.b.an.prefixLen = ix.params.prefixLen()
	if snap == nil {
		snap = catalog.NewSnapshot(nil)
	}
	ix.pending = snap
	return ix, nil
}

// Update replaces the indexed snapshot. It returns at once: the new
// generation is built on the next Search (or Build), re-analysing only the
// tools that were added or changed; searches keep using the previous
// generation until then.
func (ix *Index) Update(snap *catalog.Snapshot) {
	if snap == nil {
		snap = catalog.NewSnapshot(nil)
	}
	ix.mu.Lock()
	ix.pending = snap
	ix.mu.Unlock()
}

// Build builds the pending snapshot now (for example in the background at
// start-up) instead of on the first search. It waits for a build in
// progress.
func (ix *Index) Build(ctx context.Context) error {
	_, err := ix.current(ctx, true)
	return err
}

// Stats describes the current generation (zero before the first build).
func (ix *Index) Stats() Stats {
	if st := ix.st.Load(); st != nil {
		return st.stats
	}
	return Stats{}
}

// Snapshot returns the snapshot of the current generation (nil before the
// first build).
func (ix *Index) Snapshot() *catalog.Snapshot {
	if st := ix.st.Load(); st != nil {
		return st.snap
	}
	return nil
}

// current returns the generation to search, building the pending snapshot
// first. Unless wait is set, it does not wait for another caller's build
// when there is a generation to answer from: builds embed tools, which
// takes as long as the embedder does (much longer during an outage).
func (ix *Index) current(ctx context.Context, wait bool) (*state, error) {
	if st := ix.st.Load(); st != nil && !wait {
		if !ix.mu.TryLock() {
			return st, nil
		}
	} else {
		ix.mu.Lock()
	}
	defer ix.mu.Unlock()
	st := ix.st.Load() // under mu: the generation the next build follows
	if ix.pending == nil {
		if st == nil || st.denseErr == nil || time.Since(st.denseAt) < denseRetryAfter(st.denseFailures) {
			return st, nil
		}
		ix.pending = st.snap // the tool vectors are missing: try again
	}
	next, err := ix.build(ctx, ix.pending, st)
	if err != nil {
		if st != nil {
			// Keep serving the previous generation; retry on the next call.
			return st, nil
		}
		return nil, err
	}
	ix.pending = nil
	ix.st.Store(next)
	return next, nil
}

// build makes the generation of snap, reusing prev's analyses.
func (ix *Index) build(ctx context.Context, snap *catalog.Snapshot, prev *state) (*state, error) {
	start := time.Now()
	var prevSnap *catalog.Snapshot
	if prev != nil {
		prevSnap = prev.snap
	}
	added, removed := snap.Changed(prevSnap)
	tools := snap.Tools()
	docs := make([]docInfo, len(tools))
	analyses := make([]*docTerms, len(tools))
	analyzed := 0
	for i := range tools {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		t := &tools[i]
		docs[i] = docInfo{tool: t}
		if _, ok := ix.b.cache[t.Hash]; !ok {
			analyzed++
		}
		analyses[i] = ix.b.analyze(t)
	}
	ix.b.prune(snap)
	st := &state{snap: snap, docs: docs, lx: ix.b.assemble(analyses, &ix.params)}
	st.servers = ix.b.assembleServers(tools, analyses, &ix.params)
	st.stems, ix.b.an.shared = ix.b.an.stems, true
	if ix.opts.Embedder != nil {
		n, err := ix.syncVectors(ctx, tools, added, removed, prevSnap == nil || prev == nil || !prev.dense)
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			// The lexical generation is good: serve it, and try the tool
			// vectors again after denseRetryAfter.
			st.denseErr, st.denseAt, st.denseFailures = err, time.Now(), 1
			if prev != nil && prev.denseErr != nil {
				st.denseFailures = prev.denseFailures + 1
			}
		default:
			st.dense = true
			st.byName = make(map[string]uint32, len(tools))
			for i := range tools {
				st.byName[tools[i].Name] = uint32(i)
			}
			st.stats.Embedded = n
		}
	}
	st.stats.Version = snap.Version()
	st.stats.Tools = len(tools)
	st.stats.Terms = len(st.lx.idf)
	st.stats.Postings = len(st.lx.docs)
	st.stats.Analyzed = analyzed
	st.stats.BuildTime = time.Since(start)
	return st, nil
}

// signatureOf renders a tool's compact TypeScript signature.
var signatureOf = catalog.TypeScriptSignature

// Search returns the tools best matching q, best first. An invalid query
// yields a *QueryError. A text longer than MaxQueryTerms words is searched
// on its leading part. When the index has an Embedder that fails (or
// takes longer than Options.QueryEmbedTimeout), the results come from the
// lexical engine alone and Response.Degraded says why: an embedder outage
// never fails a search.
func (ix *Index) Search(ctx context.Context, q Query) (*Response, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	st, err := ix.current(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("search: build index: %w", err)
	}
	resp := &Response{Results: []Result{}}
	if st.denseErr != nil {
		resp.Degraded = degraded(st.denseErr)
	}
	k := min(q.k(), len(st.docs))
	if k == 0 {
		return resp, nil
	}
	keep := compileFilter(&q)
	text := leadingText(q.Text, MaxQueryTerms)
	pq := parseQuery(text, &ix.params, st.stems, st.lx)
	qt := st.lx.resolve(pq)
	var hits []hit
	var semantic map[uint32]bool
	if st.dense {
		if derr := ix.queries.down(); derr != nil {
			resp.Degraded = degraded(derr)
			hits = st.lexical(pq, qt, k, keep, &ix.params)
		} else if hits, semantic, err = ix.hybrid(ctx, st, text, pq, k, keep); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("search: %w", ctx.Err())
			}
			ix.queries.fail(err)
			resp.Degraded = degraded(err)
			hits = st.lexical(pq, qt, k, keep, &ix.params)
		} else {
			ix.queries.ok()
		}
	} else {
		hits = st.lexical(pq, qt, k, keep, &ix.params)
	}
	out := make([]Result, len(hits))
	matched := make([]string, 0, 4*len(hits))
	for i, h := range hits {
		t := st.docs[h.doc].tool
		r := Result{
			Name:        t.Name,
			Score:       float64(h.score),
			Matched:     fieldNamesOf(h.fields, &matched),
			Description: t.Description,
			Server:      t.Server,
		}
		if h.fields == 0 {
			r.Matched = st.lx.matchedFields(qt, h.doc, &matched)
		}
		if semantic[h.doc] {
			r.Matched = append(r.Matched, "semantic")
		}
		if q.WithSchema {
			r.InputSchema = t.InputSchema
		}
		if q.WithSignature {
			r.Signature = signatureOf(t)
		}
		out[i] = r
	}
	resp.Results = out
	return resp, nil
}

// degraded is Response.Degraded for a failure of the dense side.
func degraded(err error) string {
	return "semantic search unavailable: " + strings.TrimPrefix(err.Error(), "search: ")
}
