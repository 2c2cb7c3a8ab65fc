package mcpgw

import (
	"context"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
)

// sessionClient relays upstream traffic of one call to the client session
// that made it, on the calling request's context (so that Streamable HTTP
// sends it on that request's stream). Its origin is the session: the
// upstream side relays a request that names no call only when one
// session's calls are the only ones in flight.
type sessionClient struct {
	ss  *sdk.ServerSession
	ctx context.Context
}

func (d *sessionClient) Origin() any { return d.ss }

func (d *sessionClient) NotifyProgress(_ context.Context, p *sdk.ProgressNotificationParams) error {
	return d.ss.NotifyProgress(d.ctx, p)
}

func (d *sessionClient) Log(_ context.Context, p *sdk.LoggingMessageParams) error {
	return d.ss.Log(d.ctx, p)
}

func (d *sessionClient) CreateMessage(ctx context.Context, p *sdk.CreateMessageParams) (*sdk.CreateMessageResult, error) {
	ctx, stop := bindCtx(d.ctx, ctx)
	defer stop()
	return d.ss.CreateMessage(ctx, p)
}

func (d *sessionClient) Elicit(ctx context.Context, p *sdk.ElicitParams) (*sdk.ElicitResult, error) {
	ctx, stop := bindCtx(d.ctx, ctx)
	defer stop()
	return d.ss.Elicit(ctx, p)
}

// bindCtx returns ctx, also cancelled when other ends.
func bindCtx(ctx, other context.Context) (context.Context, context.CancelFunc) {
	c, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(other, cancel)
	return c, func() { stop(); cancel() }
}

// withClient binds the calling client session to ctx for the tool calls
// made with it; withProgress passes the client's progress token on (one
// forwarded call; not the many calls of a program or plan).
func withClient(ctx context.Context, req *sdk.CallToolRequest, withProgress bool) context.Context {
	if req == nil || req.Session == nil {
		return ctx
	}
	var tok any
	if withProgress {
		tok = req.Params.GetProgressToken()
	}
	return weft.WithMCPClient(ctx, &sessionClient{ss: req.Session, ctx: ctx}, tok)
}

// forwardMeta is the _meta of a request forwarded upstream: without the
// per-request protocol fields of the client's own connection
// ("io.modelcontextprotocol/..." keys: protocol version, client info and
// capabilities) and without its progress token, which belong to the hop
// between the client and weft.
func forwardMeta(m sdk.Meta) sdk.Meta {
	if len(m) == 0 {
		return m
	}
	out := sdk.Meta{}
	for k, v := range m {
		if strings.HasPrefix(k, "io.modelcontextprotocol/") || k == "progressToken" {
			continue
		}
		out[k] = v
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
