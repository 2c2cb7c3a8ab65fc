package cache

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// Kind names what a cache entry holds. It is part of every key, is
// checked against the value's envelope, and labels the metrics.
type Kind string

// The kinds weft caches.
const (
	KindCatalog   Kind = "catalog"   // catalog snapshots, by the sources' fingerprint
	KindEmbedding Kind = "embedding" // embedding vectors, by model and text
	KindSearch    Kind = "search"    // search results, by catalog version, query and policy
	KindPlan      Kind = "plan"      // plan step results, by owner and idempotency key
	KindTool      Kind = "tool"      // results of tools the operator marks cacheable
)

// kinds are the known kinds; metrics label any other as "other", so that
// label values stay bounded whatever keys callers build.
var kinds = [...]Kind{KindCatalog, KindEmbedding, KindSearch, KindPlan, KindTool}

// Prefix starts every key: the namespace and the key format version. A
// change to what a key means bumps the version, so old entries are never
// read as new ones.
const Prefix = "weft:v1:"

// Key returns the cache key of kind for parts: Prefix + kind + ":" + the
// hex SHA-256 of the parts (each length-prefixed, so ("ab","c") and
// ("a","bc") differ).
func Key(kind Kind, parts ...string) string {
	h := sha256.New()
	var n [8]byte
	for _, p := range parts {
		binary.LittleEndian.PutUint64(n[:], uint64(len(p)))
		h.Write(n[:])
		h.Write([]byte(p))
	}
	return Prefix + string(kind) + ":" + hex.EncodeToString(h.Sum(nil))
}

// KindOf returns the kind a key was built for ("" when key was not built
// by Key).
func KindOf(key string) Kind {
	rest, ok := strings.CutPrefix(key, Prefix)
	if !ok {
		return ""
	}
	k, _, ok := strings.Cut(rest, ":")
	if !ok {
		return ""
	}
	return Kind(k)
}

// label is the metrics label of key's kind.
func label(key string) string {
	if i := kindIndex(key); i < len(kinds) {
		return string(kinds[i])
	}
	return "other"
}

// kindIndex is the index of key's kind in kinds, len(kinds) for any other.
func kindIndex(key string) int {
	k := KindOf(key)
	for i, known := range kinds {
		if k == known {
			return i
		}
	}
	return len(kinds)
}
