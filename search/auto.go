package search

import (
	"github.com/weft-dev/weft/catalog"
)

// ShouldListAll reports whether a caller should hand over the whole catalog
// instead of searching it ("auto" mode): true when snap has at most maxTools
// tools and its definitions (name, description, input schema) come to at
// most maxTokens tokens. A limit of 0 or less is not checked. Tokens are
// estimated at 4 bytes each, the usual rule of thumb for English and JSON.
func ShouldListAll(snap *catalog.Snapshot, maxTools, maxTokens int) bool {
	if snap == nil {
		return true
	}
	if maxTools > 0 && snap.Len() > maxTools {
		return false
	}
	if maxTokens <= 0 {
		return true
	}
	return EstimateTokens(snap) <= maxTokens
}

// EstimateTokens estimates how many model tokens the definitions of every
// tool in snap take (name, description and input schema, 4 bytes a token).
func EstimateTokens(snap *catalog.Snapshot) int {
	bytes := 0
	for i := range snap.Tools() {
		t := &snap.Tools()[i]
		bytes += len(t.Name) + len(t.Description) + len(t.InputSchema) + 16
	}
	return (bytes + 3) / 4
}
