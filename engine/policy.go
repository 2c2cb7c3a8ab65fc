package engine

import (
	"context"

	"github.com/weft-dev/weft/catalog"
)

// Policy decides what a caller may see and use: which tools, and which
// servers' resources, prompts and completions. It is attached to the
// request context once, at the edge (the API key's scope, the MCP
// endpoint's filter), with WithPolicy. The engine enforces it for every
// call — direct, from a code-mode program or a plan step — and the facade
// (weft.Orchestrator) for every listing, search, validation, typing,
// resource, prompt and completion. No surface re-implements it: a tool the
// policy hides behaves exactly like a tool that does not exist.
type Policy interface {
	// Allows reports whether the caller may see and call t.
	Allows(t *catalog.Tool) bool
	// AllowsServer reports whether the caller may see the server at all:
	// its resources, resource templates, prompts and completions.
	AllowsServer(server string) bool
}

type policyKey struct{}

// WithPolicy returns ctx carrying p in addition to any policy already there:
// a tool or server must be allowed by every policy in the chain.
func WithPolicy(ctx context.Context, p Policy) context.Context {
	if p == nil {
		return ctx
	}
	if prev, ok := ctx.Value(policyKey{}).(Policy); ok {
		p = both{prev, p}
	}
	return context.WithValue(ctx, policyKey{}, p)
}

// PolicyFrom returns the policy carried by ctx (nil: everything allowed).
func PolicyFrom(ctx context.Context) Policy {
	p, _ := ctx.Value(policyKey{}).(Policy)
	return p
}

// Allowed reports whether ctx's policy allows t.
func Allowed(ctx context.Context, t *catalog.Tool) bool {
	p := PolicyFrom(ctx)
	return p == nil || p.Allows(t)
}

// AllowedServer reports whether ctx's policy allows the server.
func AllowedServer(ctx context.Context, server string) bool {
	p := PolicyFrom(ctx)
	return p == nil || p.AllowsServer(server)
}

type both [2]Policy

func (b both) Allows(t *catalog.Tool) bool { return b[0].Allows(t) && b[1].Allows(t) }

func (b both) AllowsServer(s string) bool { return b[0].AllowsServer(s) && b[1].AllowsServer(s) }

type clientKey struct{}

// WithClient returns ctx carrying the identity of the authenticated client
// (an API key's name). Runs belong to the client that started them, and
// per-client limits (tool-call and code-run slots) are counted by it. The
// empty identity is the local operator (CLI, Go API, a server without API
// keys): one tenant.
func WithClient(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, clientKey{}, id)
}

// ClientFrom returns the client identity carried by ctx ("" if none).
func ClientFrom(ctx context.Context) string {
	id, _ := ctx.Value(clientKey{}).(string)
	return id
}
