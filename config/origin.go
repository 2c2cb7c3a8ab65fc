package config

import (
	"regexp"
	"strconv"
)

// origin is where a configuration value came from, so that a problem found
// after all sources are merged can still name file, line and the text as
// written.
type origin struct {
	File     string // "" for an environment variable
	Line     int
	Path     string // field path as shown to the user, or the variable name
	Raw      string // the value as written, before ${VAR} expansion
	Expanded bool   // Raw held ${...} or $$
	Secret   bool   // never quote Raw or the value
}

// origins maps canonical field paths ("servers.github.timeout") to where
// their values came from. Paths with a decoding problem are marked broken
// so that validation does not report a second, derived problem.
type origins struct {
	at     map[string]origin
	broken map[string]bool
}

func newOrigins() *origins {
	return &origins{at: map[string]origin{}, broken: map[string]bool{}}
}

// fpath is a field path in two spellings: the canonical key used by
// validation (weft.yaml names) and the path shown to the user (which for
// mcp.json uses that file's names, such as mcpServers.x.type).
type fpath struct{ key, show string }

func (p fpath) child(key, show string) fpath {
	return fpath{key: joinPath(p.key, segment(key)), show: joinPath(p.show, segment(show))}
}

func (p fpath) index(i int) fpath {
	s := "[" + strconv.Itoa(i) + "]"
	return fpath{key: p.key + s, show: p.show + s}
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

var plainSegment = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// segment quotes a map key that would make a path ambiguous.
func segment(s string) string {
	if plainSegment.MatchString(s) {
		return s
	}
	return strconv.Quote(s)
}

// quote renders a value for an error message.
func quote(s string) string { return strconv.Quote(s) }
