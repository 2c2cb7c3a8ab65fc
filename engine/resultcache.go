package engine

import (
	"context"
	"encoding/json"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source"
)

// ResultCache keeps the results of tools the operator marked cacheable
// (servers.<name>.cache in weft.yaml). The engine asks it only after the
// policy and the arguments were checked, so a cached result is served
// only to callers allowed to call the tool; only successful results (no
// error, not isError) are stored.
type ResultCache interface {
	// Cacheable reports whether tool's results may be cached. It is
	// called on every call and must not allocate.
	Cacheable(tool *catalog.Tool) bool
	// Get returns a stored result of tool for args (a result of its own:
	// the caller may keep it).
	Get(ctx context.Context, tool *catalog.Tool, args json.RawMessage) (*source.Result, bool)
	// Put stores a successful result of tool for args.
	Put(ctx context.Context, tool *catalog.Tool, args json.RawMessage, res *source.Result)
}

// cached runs a call of a cacheable tool: from the cache when it holds a
// result for the arguments, else through invoke, storing a success.
func (e *Engine) cached(ctx context.Context, rc ResultCache, tool *catalog.Tool, args json.RawMessage, o CallOptions, start time.Time) (*source.Result, error) {
	if res, ok := rc.Get(ctx, tool, args); ok {
		e.record(tool.Name, tool.Server, o.Caller, start, res, len(args), nil)
		return res, nil
	}
	res, err := e.invoke(ctx, tool, args, o, start)
	if err == nil && res != nil && !res.IsError {
		rc.Put(context.WithoutCancel(ctx), tool, args, res)
	}
	e.record(tool.Name, tool.Server, o.Caller, start, res, len(args), err)
	return res, err
}
