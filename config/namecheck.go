package config

// bytePattern matches what the regexp ^prefix[first][rest]{min-1,max-1}$
// matches for ASCII classes first and rest: a byte check instead of a
// regexp compiled in package init (a counted repetition like {1,64}
// compiles to hundreds of allocations).
type bytePattern struct {
	prefix      string
	min, max    int // length after prefix, in bytes
	first, rest func(c byte) bool
}

// MatchString reports whether s matches the pattern.
func (p bytePattern) MatchString(s string) bool {
	if len(s) < len(p.prefix) || s[:len(p.prefix)] != p.prefix {
		return false
	}
	s = s[len(p.prefix):]
	if len(s) < p.min || len(s) > p.max {
		return false
	}
	for i := 0; i < len(s); i++ {
		ok := p.rest
		if i == 0 && p.first != nil {
			ok = p.first
		}
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

// isNameByte is [a-zA-Z0-9_-].
func isNameByte(c byte) bool {
	return c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

// isLowerHex is [0-9a-f].
func isLowerHex(c byte) bool { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') }

// namePattern is ^[a-zA-Z0-9_-]{1,64}$ (server and model names).
var namePattern = bytePattern{min: 1, max: 64, rest: isNameByte}
