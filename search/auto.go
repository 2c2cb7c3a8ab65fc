package search

import (
	"github.com/weft-dev/weft/catalog"
)

// ShouldListAllTools reports whether a caller should hand over every one of
// tools instead of searching them ("auto" mode): true when there are at most
// maxTools tools and their definitions (name, description, input schema)
// come to at most maxTokens tokens. A limit of 0 or less is not checked.
// Tokens are estimated at 4 bytes each, the usual rule of thumb for English
// and JSON.
func ShouldListAllTools(tools []*catalog.Tool, maxTools, maxTokens int) bool {
	if maxTools > 0 && len(tools) > maxTools {
		return false
	}
	if maxTokens <= 0 {
		return true
	}
	return EstimateTokens(tools) <= maxTokens
}

// EstimateTokens estimates how many model tokens the definitions of tools
// take (name, description and input schema, 4 bytes a token).
func EstimateTokens(tools []*catalog.Tool) int {
	bytes := 0
	for _, t := range tools {
		bytes += len(t.Name) + len(t.Description) + len(t.InputSchema) + 16
		if bytes > 1<<40 {
			break
		}
	}
	return (bytes + 3) / 4
}
