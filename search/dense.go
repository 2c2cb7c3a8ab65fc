package search

import (
	"context"
	"fmt"
	"strings"

	"github.com/weft-dev/weft/catalog"
)

// Embedder turns texts into vectors of a fixed dimension. search/embed
// provides an OpenAI-compatible implementation.
type Embedder interface {
	// Embed returns one vector per text, in order.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Model names the embedding model (part of cache keys).
	Model() string
	// Dimensions is the length of every vector (0 if not known until the first call).
	Dimensions() int
}

// VectorHit is one nearest neighbour found by a VectorStore.
type VectorHit struct {
	// ID is the tool's catalog name.
	ID string
	// Score is the similarity (cosine for the in-memory store), higher is closer.
	Score float32
}

// VectorStore holds tool vectors and finds the nearest ones. search/vector
// provides the in-memory exact-cosine default.
type VectorStore interface {
	// Upsert stores vecs under ids, replacing existing ones.
	Upsert(ctx context.Context, ids []string, vecs [][]float32) error
	// Delete removes ids (unknown ids are ignored).
	Delete(ctx context.Context, ids []string) error
	// Search returns up to k hits for q, best first.
	Search(ctx context.Context, q []float32, k int) ([]VectorHit, error)
}

// EmbeddingText is the text embedded for a tool: its title or name, its
// description and its parameter names.
func EmbeddingText(t *catalog.Tool) string {
	f := fieldTexts(t)
	var b strings.Builder
	b.WriteString(t.DisplayTitle())
	if t.Server != "" {
		b.WriteString(" (")
		b.WriteString(t.Server)
		b.WriteString(")")
	}
	if f[fieldDescription] != "" {
		b.WriteString(": ")
		b.WriteString(f[fieldDescription])
	}
	if f[fieldParamNames] != "" {
		b.WriteString("\nParameters: ")
		b.WriteString(strings.TrimSpace(f[fieldParamNames]))
	}
	return b.String()
}

// syncVectors brings the vector store in line with tools: embeds the added
// (or all, when full) tools and deletes the removed ones. It returns how
// many tools were embedded.
func (ix *Index) syncVectors(ctx context.Context, tools []catalog.Tool, added, removed []string, full bool) (int, error) {
	byName := make(map[string]*catalog.Tool, len(tools))
	for i := range tools {
		byName[tools[i].Name] = &tools[i]
	}
	names := added
	if full {
		names = make([]string, len(tools))
		for i := range tools {
			names[i] = tools[i].Name
		}
	}
	if len(removed) > 0 {
		if err := ix.opts.Vectors.Delete(ctx, removed); err != nil {
			return 0, fmt.Errorf("search: delete tool vectors: %w", err)
		}
	}
	if len(names) == 0 {
		return 0, nil
	}
	texts := make([]string, len(names))
	for i, n := range names {
		texts[i] = EmbeddingText(byName[n])
	}
	vecs, err := ix.opts.Embedder.Embed(ctx, texts)
	if err != nil {
		return 0, fmt.Errorf("search: embed tools: %w", err)
	}
	if len(vecs) != len(texts) {
		return 0, fmt.Errorf("search: embedder returned %d vectors for %d tools", len(vecs), len(texts))
	}
	if err := ix.opts.Vectors.Upsert(ctx, names, vecs); err != nil {
		return 0, fmt.Errorf("search: store tool vectors: %w", err)
	}
	return len(names), nil
}

// hybrid runs the lexical and dense retrievers and fuses their rankings.
// It returns the fused hits and the tools the dense side contributed.
func (ix *Index) hybrid(ctx context.Context, st *state, text string, pq parsedQuery, k int, keep filter) ([]hit, map[uint32]bool, error) {
	fu := ix.opts.Fusion.withDefaults()
	n := max(k, fu.Candidates)
	lex := st.lexical(pq, st.lx.resolve(pq), n, keep, &ix.params)
	timeout := ix.opts.QueryEmbedTimeout
	if timeout <= 0 {
		timeout = DefaultQueryEmbedTimeout
	}
	ectx, cancel := context.WithTimeout(ctx, timeout)
	qv, err := ix.opts.Embedder.Embed(ectx, []string{text})
	timedOut := ctx.Err() == nil && ectx.Err() != nil
	cancel()
	if err != nil {
		if timedOut {
			return nil, nil, fmt.Errorf("search: embed query: no answer within %s", timeout)
		}
		return nil, nil, fmt.Errorf("search: embed query: %w", err)
	}
	if len(qv) != 1 {
		return nil, nil, fmt.Errorf("search: embed query: got %d vectors, want 1", len(qv))
	}
	vh, err := ix.opts.Vectors.Search(ctx, qv[0], n+n/2)
	if err != nil {
		return nil, nil, fmt.Errorf("search: vector search: %w", err)
	}
	dense := make([]hit, 0, n)
	for _, h := range vh {
		i, ok := st.byName[h.ID]
		if !ok || (keep != nil && !keep(&st.docs[i])) {
			continue
		}
		dense = append(dense, hit{doc: i, score: h.Score})
		if len(dense) == n {
			break
		}
	}
	semantic := make(map[uint32]bool, len(dense))
	for _, h := range dense {
		semantic[h.doc] = true
	}
	return fu.fuse(lex, dense, k), semantic, nil
}
