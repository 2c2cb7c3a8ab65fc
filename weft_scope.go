package weft

import (
	"context"
	"path"
	"slices"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
)

// Scope limits the tools a client (an API key) or an MCP endpoint may see
// and call: a tool is in scope when its server is in Servers (or Servers is
// empty) and its catalog name matches one of Tools (path.Match patterns
// such as "github__*"; empty: all). Scope implements engine.Policy.
type Scope struct {
	Servers []string
	Tools   []string
}

// Allows implements engine.Policy.
func (s Scope) Allows(t *catalog.Tool) bool {
	if len(s.Servers) > 0 && !slices.Contains(s.Servers, t.Server) {
		return false
	}
	if len(s.Tools) == 0 {
		return true
	}
	for _, p := range s.Tools {
		if ok, _ := path.Match(p, t.Name); ok {
			return true
		}
	}
	return false
}

// Unlimited reports whether the scope allows every tool.
func (s Scope) Unlimited() bool { return len(s.Servers) == 0 && len(s.Tools) == 0 }

// WithScope returns ctx limited to s (in addition to any scope already on
// ctx). Every facade method honours it: listings and searches leave out
// tools outside it, and calls to them fail with engine.CodeForbidden.
func WithScope(ctx context.Context, s Scope) context.Context {
	if s.Unlimited() {
		return ctx
	}
	return engine.WithPolicy(ctx, s)
}
