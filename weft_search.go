package weft

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/sandbox"
	"github.com/weft-dev/weft/search"
	"github.com/weft-dev/weft/search/embed"
	"github.com/weft-dev/weft/search/vector"
)

// searchIndex is the orchestrator's tool-search index, created on first use
// and kept current with every catalog snapshot.
type searchIndex struct {
	once sync.Once
	ix   *search.Index
	err  error

	// vectors caches tool vectors under cache.dir/embeddings (nil without
	// an embedder); closed by Close.
	vectors *embed.Cache
	// warm is the background build started by Start with search.warm.
	warmCancel context.CancelFunc
	warmDone   chan struct{}
}

// searchOptions builds the search options of cfg: fusion weights, and with
// search.embedder.url the embedder (behind a vector cache persisted in
// cache.dir/embeddings) and an in-memory vector store.
func searchOptions(cfg *config.Config, tier *cacheTier) (search.Options, *embed.Cache, error) {
	opts := search.Options{Fusion: search.Fusion{DenseWeight: cfg.Search.DenseWeight}}
	e := cfg.Search.Embedder
	if !e.Enabled() {
		return opts, nil, nil
	}
	ec := embed.Config{
		BaseURL:         e.URL,
		Model:           e.Model,
		AzureDeployment: e.AzureDeployment,
		APIVersion:      e.APIVersion,
		Dimensions:      e.Dimensions,
		SendDimensions:  e.SendDimensions,
		BatchSize:       e.BatchSize,
		Timeout:         e.Timeout.D(),
	}
	if e.AzureDeployment != "" && e.Auth == "entra" {
		// Managed identity, workload identity, Azure CLI, or a service
		// principal from AZURE_* variables, tried in that SDK's order.
		cred, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return opts, nil, fmt.Errorf("search.embedder: Entra ID credential: %w", err)
		}
		ec.Credential = cred
	} else {
		ec.APIKey = e.APIKey
	}
	client, err := embed.New(ec)
	if err != nil {
		return opts, nil, fmt.Errorf("search.embedder: %w", err)
	}
	cache, err := embed.NewCache(client, embed.CacheOptions{
		Dir: filepath.Join(cfg.Cache.Dir, "embeddings"),
		TTL: e.CacheTTL.D(),
		// With Redis, vectors are shared by every replica.
		Shared: tier.embeddingStore(),
	})
	if err != nil {
		return opts, nil, fmt.Errorf("search.embedder: %w", err)
	}
	opts.Embedder = cache
	opts.Vectors = vector.NewMemory()
	return opts, cache, nil
}

// warmSearch builds the search index in the background (search.warm), so
// that the first search does not pay for it. Failures are logged; the
// first search then tries again.
func (o *Orchestrator) warmSearch() {
	if o.search.warmCancel != nil {
		return // already started
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	o.search.warmCancel, o.search.warmDone = cancel, done
	go func() {
		defer close(done)
		ix, err := o.index()
		if err == nil {
			err = ix.Build(ctx)
		}
		switch {
		case err != nil && ctx.Err() == nil:
			o.log.Warn("search: background index build failed; the first search will retry", "err", err)
		case err == nil:
			st := ix.Stats()
			o.log.Info("search: index built", "tools", st.Tools, "embedded", st.Embedded, "took", st.BuildTime)
		}
	}()
}

// closeSearch stops a background build and closes the vector cache.
func (o *Orchestrator) closeSearch() error {
	if o.search.warmCancel != nil {
		o.search.warmCancel()
		<-o.search.warmDone
	}
	if o.search.vectors == nil {
		return nil
	}
	if err := o.search.vectors.Close(); err != nil {
		return fmt.Errorf("weft: close embedding cache: %w", err)
	}
	return nil
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

// Search returns the tools that best match q, best first. Invalid queries
// fail with *search.QueryError. Tools outside the caller's policy
// (engine.PolicyFrom(ctx)) do not exist for the search: they are filtered
// before ranking. When semantic search is configured but unavailable (the
// embedder is down), the results are lexical, Response.Degraded says why,
// and the search is counted in weft_search_degraded_total.
func (o *Orchestrator) Search(ctx context.Context, q search.Query) (*search.Response, error) {
	ix, err := o.index()
	if err != nil {
		return nil, fmt.Errorf("weft: search index: %w", err)
	}
	withPolicy(ctx, &q)
	// Health-aware ranking runs after the answer cache: health changes by
	// the minute, the cached answer does not.
	resp, err := search.RankByHealth(q, o.healthFactor(), func(q search.Query) (*search.Response, error) {
		return o.cachedSearch(ctx, ix, q)
	})
	if err != nil {
		return nil, err
	}
	if resp.Degraded != "" {
		o.metrics.SearchDegraded()
	}
	return resp, nil
}

// withPolicy narrows q to the tools ctx's policy allows.
func withPolicy(ctx context.Context, q *search.Query) {
	p := engine.PolicyFrom(ctx)
	if p == nil {
		return
	}
	if prev := q.Visible; prev != nil {
		q.Visible = func(t *catalog.Tool) bool { return prev(t) && p.Allows(t) }
		return
	}
	q.Visible = p.Allows
}

// SearchAuto is Search for callers that want "the tools for this request":
// when the tools the caller may see and the query's filters select are few
// (at most maxTools tools, or at most maxTokens tokens of definitions), it
// returns all of them (all=true) instead of searching.
func (o *Orchestrator) SearchAuto(ctx context.Context, q search.Query, maxTools, maxTokens int) (resp *search.Response, all bool, err error) {
	if err := q.Validate(); err != nil {
		return nil, false, err
	}
	withPolicy(ctx, &q)
	var selected []*catalog.Tool
	for _, t := range o.Snapshot().View(q.Match).Tools() {
		selected = append(selected, t)
	}
	if search.ShouldListAllTools(selected, maxTools, maxTokens) {
		resp = &search.Response{Results: make([]search.Result, 0, len(selected))}
		for _, t := range selected {
			r := search.Result{Name: t.Name, Description: t.Description, Server: t.Server}
			if q.WithSchema {
				r.InputSchema = t.InputSchema
			}
			if q.WithSignature {
				r.Signature = catalog.TypeScriptSignature(t)
			}
			resp.Results = append(resp.Results, r)
		}
		return resp, true, nil
	}
	resp, err = o.Search(ctx, q)
	return resp, false, err
}

// sandboxSearcher lets code-mode programs call searchTools(query, k).
type sandboxSearcher struct{ o *Orchestrator }

func (s sandboxSearcher) Search(ctx context.Context, query string, k int) ([]sandbox.SearchHit, error) {
	res, err := s.o.Search(ctx, search.Query{Text: query, K: k})
	if err != nil {
		return nil, err
	}
	hits := make([]sandbox.SearchHit, len(res.Results))
	for i, r := range res.Results {
		hits[i] = sandbox.SearchHit{Name: r.Name, Score: r.Score}
	}
	return hits, nil
}
