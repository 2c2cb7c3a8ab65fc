package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// MaxNameLen is the longest tool name weft hands out; MCP clients and model
// APIs commonly reject longer ones.
const MaxNameLen = 64

// Separator joins a server name and a tool name in a catalog name.
const Separator = "__"

// ValidName reports whether s is usable as a catalog tool name: 1 to
// MaxNameLen bytes of [a-zA-Z0-9_-] (what ^[a-zA-Z0-9_-]{1,64}$ matches; no
// regexp, whose compile was most of this package's init).
func ValidName(s string) bool { return len(s) >= 1 && len(s) <= MaxNameLen && clean(s) }

// Sanitize maps s onto the allowed alphabet [a-zA-Z0-9_-]: every other rune
// (dots, spaces, slashes, non-ASCII) becomes '_', and runs of '_' created this
// way are collapsed. An empty result becomes "tool".
func Sanitize(s string) string {
	if clean(s) {
		// Nothing to replace: only the trim applies (no allocation).
		if out := strings.Trim(s, "_"); out != "" {
			return out
		}
		return "tool"
	}
	var b strings.Builder
	lastUnderscore := false
	for _, r := range s {
		ok := r == '-' || r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			if !lastUnderscore {
				b.WriteByte('_')
			}
			lastUnderscore = true
			continue
		}
		b.WriteRune(r)
		lastUnderscore = r == '_'
	}
	out := strings.Trim(b.String(), "_")
	if out == "" {
		return "tool"
	}
	return out
}

// MakeName builds the catalog name of a tool: "<server>__<tool>", both parts
// sanitized. When the result is longer than MaxNameLen it is shortened
// deterministically: the start of the name is kept and an 8-hex-digit hash of
// the full (unshortened) name is appended, so different long names stay
// different.
func MakeName(server, tool string) string {
	if server == "" {
		return fitName(Sanitize(tool), server, tool)
	}
	return fitName(Sanitize(server)+Separator+Sanitize(tool), server, tool)
}

// clean reports whether every byte of s is in [a-zA-Z0-9_-].
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
			return false
		}
	}
	return true
}

// fitName returns name if it fits, else a prefix of it plus "_" and a short
// hash of server+"\x00"+tool.
func fitName(name, server, tool string) string {
	if len(name) <= MaxNameLen {
		return name
	}
	h := shortHash(server+"\x00"+tool, 8)
	return strings.TrimRight(name[:MaxNameLen-len(h)-1], "_-") + "_" + h
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// withSuffix makes a variant of name distinct from it for collision
// resolution: name + "_" + hash(key), kept within MaxNameLen.
func withSuffix(name, key string) string {
	h := shortHash(key, 6)
	if len(name)+1+len(h) > MaxNameLen {
		name = strings.TrimRight(name[:MaxNameLen-len(h)-1], "_-")
	}
	return name + "_" + h
}
