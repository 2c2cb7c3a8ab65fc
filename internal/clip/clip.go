// Package clip shortens untrusted input before weft echoes it back in an
// error, a log line or a metric: a 100 KB tool name must not come back
// three times in one error response. It is the one helper every surface
// uses for that.
package clip

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Max is the longest echo, in bytes, before the marker.
const Max = 128

// String returns s when it is at most Max bytes of valid UTF-8; otherwise
// its first Max bytes (cut at a rune boundary, invalid bytes replaced)
// followed by a marker that says how much was left out, e.g.
// "aaaa…(+99872 bytes)".
func String(s string) string { return N(s, Max) }

// N is String with a bound of its own (n <= 0: Max).
func N(s string, n int) string {
	if n <= 0 {
		n = Max
	}
	if len(s) <= n {
		if utf8.ValidString(s) {
			return s
		}
		return strings.ToValidUTF8(s, "\uFFFD")
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(+%d bytes)", strings.ToValidUTF8(s[:cut], "\uFFFD"), len(s)-cut)
}
