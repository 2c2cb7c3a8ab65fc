package engine

import (
	"context"

	"github.com/weft-dev/weft/catalog"
)

// Policy decides which tools a caller may use. Surfaces attach the policy
// of the authenticated client (or of the MCP endpoint) to the context with
// WithPolicy; every call through the engine — direct, from a code-mode
// program or a plan step — is checked against it.
type Policy interface {
	Allows(t *catalog.Tool) bool
}

type policyKey struct{}

// WithPolicy returns ctx carrying p in addition to any policy already there:
// a call must be allowed by every policy in the chain.
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

type both [2]Policy

func (b both) Allows(t *catalog.Tool) bool { return b[0].Allows(t) && b[1].Allows(t) }
