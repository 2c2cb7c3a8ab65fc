package config

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
)

// Server names in an mcp.json are free text for the clients that write it
// (Claude Desktop and Cursor accept "mcp.filesystem" or "Sequential
// Thinking"), but a weft server name is the prefix of its tools' catalog
// names (<server>__<tool>), so it must be 1 to 64 letters, digits, _ and -,
// without "__". importedNames gives every mcp.json server a weft name:
//
//  1. A name that is already valid is kept.
//  2. Otherwise every run of other characters (and of "_") becomes one "_",
//     "_" and "-" are trimmed from both ends, and the result is cut to 64
//     bytes; a name with nothing left becomes "server".
//     "mcp.filesystem" → mcp_filesystem, "Sequential Thinking" →
//     Sequential_Thinking.
//  3. A derived name that another server already has — in weft.yaml, kept
//     under rule 1, or derived from a different mcp.json name — instead gets
//     "_" and the first 6 hex digits of the SHA-256 of the name as written
//     (more digits in the unlikely case that is taken too), so that no
//     server silently replaces another.
//
// The result depends only on the names, not on their order in the file.

// validServerName reports whether name can be a weft server name.
func validServerName(name string) bool {
	return serverName.MatchString(name) && !strings.Contains(name, "__")
}

// baseServerName applies rule 2.
func baseServerName(name string) string {
	var b strings.Builder
	gap := false
	for _, r := range name {
		if r == '-' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9') {
			if gap && b.Len() > 0 {
				b.WriteByte('_')
			}
			gap = false
			b.WriteRune(r)
			continue
		}
		gap = true
	}
	return fitServerName(strings.Trim(b.String(), "-"), 64)
}

// fitServerName cuts s to n bytes without a trailing "_" or "-"; an empty
// result is "server".
func fitServerName(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	s = strings.TrimRight(s, "_-")
	if s == "" {
		return "server"
	}
	return s
}

// importedNames maps every mcp.json server name in originals to its weft
// name. taken reports names weft.yaml defines.
func importedNames(originals []string, taken func(string) bool) map[string]string {
	out := make(map[string]string, len(originals))
	used := map[string]bool{}
	byBase := map[string][]string{}
	for _, o := range originals {
		if validServerName(o) {
			out[o] = o
			used[o] = true
			continue
		}
		b := baseServerName(o)
		byBase[b] = append(byBase[b], o)
	}
	bases := make([]string, 0, len(byBase))
	for b := range byBase {
		bases = append(bases, b)
	}
	slices.Sort(bases)
	for _, b := range bases {
		group := byBase[b]
		if len(group) == 1 && !used[b] && !taken(b) {
			out[group[0]] = b
			used[b] = true
		}
	}
	for _, b := range bases {
		group := slices.Sorted(slices.Values(byBase[b]))
		if _, done := out[group[0]]; done {
			continue
		}
		for _, o := range group {
			sum := sha256.Sum256([]byte(o))
			h := hex.EncodeToString(sum[:])
			for n := 6; ; n += 2 {
				name := fitServerName(b, 64-1-n) + "_" + h[:n]
				if !used[name] && !taken(name) {
					out[o] = name
					used[name] = true
					break
				}
			}
		}
	}
	return out
}
