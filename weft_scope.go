package weft

import (
	"context"
	"path"
	"slices"
	"strings"

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

// View returns the current catalog as the caller on ctx sees it: tools
// outside its policy (engine.PolicyFrom) do not exist in the view. Every
// listing, lookup, validation and typing of the facade reads the catalog
// through it.
func (o *Orchestrator) View(ctx context.Context) *catalog.View {
	snap := o.Snapshot()
	if p := engine.PolicyFrom(ctx); p != nil {
		return snap.View(p.Allows)
	}
	return snap.View(nil)
}

// ServerVisible reports whether the caller on ctx may see server: its
// resources, resource templates, prompts and completions.
func (o *Orchestrator) ServerVisible(ctx context.Context, server string) bool {
	return engine.AllowedServer(ctx, server)
}

// WithClient returns ctx identifying the authenticated client (an API
// key's name): runs belong to it and per-client limits count by it.
func WithClient(ctx context.Context, id string) context.Context {
	return engine.WithClient(ctx, id)
}

// WithScope returns ctx limited to s (in addition to any scope already on
// ctx). Every facade method honours it: listings and searches leave out
// tools outside it, and calls to them fail with engine.CodeUnknownTool, as
// for a tool that does not exist.
func WithScope(ctx context.Context, s Scope) context.Context {
	if s.Unlimited() {
		return ctx
	}
	return engine.WithPolicy(ctx, s)
}

// AllowsServer implements engine.Policy: the server's resources, prompts and
// completions are visible when the server is in Servers (or Servers is
// empty) and, when Tools restricts names, one of its patterns can match a
// tool of the server ("memory__*", "memory__read_graph" and "*" can;
// "github__*" cannot match a tool of memory).
func (s Scope) AllowsServer(server string) bool {
	if len(s.Servers) > 0 && !slices.Contains(s.Servers, server) {
		return false
	}
	if len(s.Tools) == 0 {
		return true
	}
	prefix := server + catalog.Separator
	for _, p := range s.Tools {
		lit := p
		if i := strings.IndexAny(p, `*?[\`); i >= 0 {
			lit = p[:i]
		}
		// The pattern's literal head must agree with the server's prefix.
		if strings.HasPrefix(lit, prefix) || strings.HasPrefix(prefix, lit) {
			return true
		}
	}
	return false
}
