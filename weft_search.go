package weft

import (
	"context"
	"fmt"
	"sync"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/sandbox"
	"github.com/weft-dev/weft/search"
)

// searchIndex is the orchestrator's tool-search index, created on first use
// and kept current with every catalog snapshot.
type searchIndex struct {
	once sync.Once
	ix   *search.Index
	err  error
}

func (o *Orchestrator) index() (*search.Index, error) {
	o.search.once.Do(func() {
		o.search.ix, o.search.err = search.New(o.Snapshot(), o.searchOpts)
		if o.search.err == nil {
			o.Subscribe(func(s *catalog.Snapshot) { o.search.ix.Update(s) })
			// A snapshot published between New and Subscribe is picked up here.
			o.search.ix.Update(o.Snapshot())
		}
	})
	return o.search.ix, o.search.err
}

// Search returns the tools that best match q. Invalid queries fail with
// *search.QueryError. Tools outside the caller's scope (engine.PolicyFrom(ctx))
// are never returned.
func (o *Orchestrator) Search(ctx context.Context, q search.Query) ([]search.Result, error) {
	ix, err := o.index()
	if err != nil {
		return nil, fmt.Errorf("weft: search index: %w", err)
	}
	p := engine.PolicyFrom(ctx)
	if p == nil {
		return ix.Search(ctx, q)
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	k := q.K
	if k <= 0 {
		k = search.DefaultK
	}
	// Over-fetch, then keep what the caller may see.
	q.K = min(search.MaxK, max(5*k, 50))
	res, err := ix.Search(ctx, q)
	if err != nil {
		return nil, err
	}
	snap := ix.Snapshot()
	if snap == nil {
		snap = o.Snapshot()
	}
	out := res[:0]
	for _, r := range res {
		if t, ok := snap.Get(r.Name); ok && p.Allows(t) {
			out = append(out, r)
			if len(out) == k {
				break
			}
		}
	}
	return out, nil
}

// SearchAuto is Search for callers that want "the tools for this request":
// when the whole catalog is small (at most maxTools tools, or at most
// maxTokens tokens of definitions), it returns every tool (all=true)
// instead of searching.
func (o *Orchestrator) SearchAuto(ctx context.Context, q search.Query, maxTools, maxTokens int) (results []search.Result, all bool, err error) {
	snap := o.Snapshot()
	if search.ShouldListAll(snap, maxTools, maxTokens) {
		if err := q.Validate(); err != nil {
			return nil, false, err
		}
		p := engine.PolicyFrom(ctx)
		for _, t := range snap.Tools() {
			if p != nil && !p.Allows(&t) {
				continue
			}
			r := search.Result{Name: t.Name, Description: t.Description, Server: t.Server}
			if q.WithSchema {
				r.InputSchema = t.InputSchema
			}
			if q.WithSignature {
				r.Signature = catalog.TypeScriptSignature(&t)
			}
			results = append(results, r)
		}
		return results, true, nil
	}
	results, err = o.Search(ctx, q)
	return results, false, err
}

// sandboxSearcher lets code-mode programs call searchTools(query, k).
type sandboxSearcher struct{ o *Orchestrator }

func (s sandboxSearcher) Search(ctx context.Context, query string, k int) ([]sandbox.SearchHit, error) {
	res, err := s.o.Search(ctx, search.Query{Text: query, K: k})
	if err != nil {
		return nil, err
	}
	hits := make([]sandbox.SearchHit, len(res))
	for i, r := range res {
		hits[i] = sandbox.SearchHit{Name: r.Name, Score: r.Score}
	}
	return hits, nil
}
