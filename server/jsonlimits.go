package server

import "fmt"

// jsonLimitProblem scans a JSON document (without decoding it) and
// reports the first nesting deeper than maxDepth or string longer than
// maxString bytes, or "" when the document is within both limits.
// Malformed JSON is left to the decoder that reads the body next.
func jsonLimitProblem(b []byte, maxDepth, maxString int) string {
	depth := 0
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
			if maxDepth > 0 && depth > maxDepth {
				return fmt.Sprintf("JSON nesting deeper than %d levels (at byte %d)", maxDepth, i)
			}
		case '}', ']':
			depth--
		case '"':
			start := i
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] == '\\' {
					i++
				}
			}
			if maxString > 0 && i-start-1 > maxString {
				return fmt.Sprintf("JSON string longer than %d bytes (at byte %d)", maxString, start)
			}
		}
	}
	return ""
}
