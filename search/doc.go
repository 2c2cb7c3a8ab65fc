// Package search finds the few tools of a catalog snapshot that matter for a
// natural-language request.
//
// The lexical engine is always on and needs no external service: a tokenizer
// made for tool catalogs (identifier splitting, CJK bigrams, stopwords, light
// stemming) feeds a BM25F index over the fields of every tool (name words,
// title, description, parameters, server, tags, examples), each field with
// its own weight and length normalisation. Besides its words, a tool is
// indexed by their adjacent pairs (an exact phrase counts more) and their
// prefixes (a looser match for derivations the stemmer keeps apart). When an Embedder and a VectorStore
// are configured, dense retrieval runs beside it and the two rankings are
// fused (see Fusion).
//
// search/embed provides an OpenAI-compatible Embedder and a persistent
// vector cache; search/vector the in-memory VectorStore.
//
// An Index is built lazily from a catalog.Snapshot on the first search and is
// updated incrementally from later snapshots: only added or changed tools are
// re-analysed. search/eval measures the engine on data in the toolbench
// format (tools.jsonl + queries.jsonl).
package search
