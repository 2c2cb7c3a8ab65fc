package mcp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// This file exposes the rest of MCP — resources, prompts, completion,
// logging, progress, sampling and elicitation — so that a gateway can
// forward them between its own clients ("downstreams") and the upstream.
//
// One upstream session is shared by every downstream client, so what the
// upstream sends must be attributed to the call that caused it, never
// guessed: another client may be another tenant. Progress notifications
// are routed by progress token (each forwarded call gets a token of its
// own). Log messages and sampling/elicitation requests go to the call whose
// token they carry in _meta.progressToken; without one, to the client
// whose calls are the only ones in flight on the upstream (then no other
// client can be their cause). When calls of several clients are in flight
// (or none), a sampling or elicitation request is refused with
// ErrNoDownstream and a log message goes to the OnLog callbacks (the
// operator's log), not to a client.

// Downstream is the client on whose behalf a tool call is made. A
// *sdk.ServerSession has these methods; a gateway usually wraps one to bind
// the calling request's context.
type Downstream interface {
	// Origin identifies the client (e.g. its *sdk.ServerSession): calls
	// with equal origins belong to the same client. It must be comparable.
	Origin() any
	NotifyProgress(ctx context.Context, p *sdk.ProgressNotificationParams) error
	Log(ctx context.Context, p *sdk.LoggingMessageParams) error
	CreateMessage(ctx context.Context, p *sdk.CreateMessageParams) (*sdk.CreateMessageResult, error)
	Elicit(ctx context.Context, p *sdk.ElicitParams) (*sdk.ElicitResult, error)
}

type downstreamKey struct{}

type downstreamCall struct {
	d     Downstream
	token any // the downstream's progress token, nil if it wants none

	mu       sync.Mutex
	progress float64   // the last progress forwarded
	total    float64   // its total, when the upstream gave one
	lastAt   time.Time // when it was forwarded
}

// progressSettle bounds how long a finished call waits for the progress
// notifications its upstream sent before the result.
const progressSettle = 100 * time.Millisecond

// settle waits, briefly, for progress notifications that the upstream sent
// before its result but that are still on their way through the SDK (it
// hands results over as soon as they are read, and dispatches
// notifications asynchronously), so that they reach the client before the
// result does. It waits while the last progress is short of a declared
// total or arrived within the last 2 ms, and at most progressSettle.
func (dc *downstreamCall) settle() {
	deadline := time.Now().Add(progressSettle)
	time.Sleep(time.Millisecond) // let queued notifications be dispatched
	for time.Now().Before(deadline) {
		dc.mu.Lock()
		incomplete := dc.total > 0 && dc.progress < dc.total
		recent := time.Since(dc.lastAt) < 2*time.Millisecond
		dc.mu.Unlock()
		if !incomplete && !recent {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// WithDownstream returns a context whose tool calls (Call) relay the
// upstream's progress, log messages, sampling and elicitation requests to d.
// progressToken is d's own token for the call (nil if it asked for none).
// The context passes unchanged through weft's engine.
func WithDownstream(ctx context.Context, d Downstream, progressToken any) context.Context {
	return context.WithValue(ctx, downstreamKey{}, &downstreamCall{d: d, token: progressToken})
}

func downstreamFrom(ctx context.Context) *downstreamCall {
	dc, _ := ctx.Value(downstreamKey{}).(*downstreamCall)
	return dc
}

// ErrNoDownstream is returned to an upstream's sampling or elicitation
// request that cannot be attributed to one client's call: none is in
// flight, or calls of several clients are and the request names none of
// them (by progress token).
var ErrNoDownstream = errors.New("cannot tell which client's call the request belongs to; refusing to relay it")

// relay tracks the downstream calls in flight and the upstream's
// notification callbacks.
type relay struct {
	mu        sync.Mutex
	next      uint64
	progress  map[string]*downstreamCall // upstream token → downstream
	active    []*downstreamCall          // in start order
	onRes     []func()
	onPrompts []func()
	onUpdated []func(uri string)
	onLog     []func(*sdk.LoggingMessageParams)
	onSession []func()
}

// begin registers a forwarded call; it returns the progress token to send
// upstream ("" for none) and the function ending the registration.
func (r *relay) begin(dc *downstreamCall) (string, func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active = append(r.active, dc)
	tok := ""
	if dc.token != nil {
		r.next++
		tok = "weft-" + strconv.FormatUint(r.next, 10)
		if r.progress == nil {
			r.progress = map[string]*downstreamCall{}
		}
		r.progress[tok] = dc
	}
	return tok, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if i := slices.Index(r.active, dc); i >= 0 {
			r.active = slices.Delete(r.active, i, i+1)
		}
		if tok != "" {
			delete(r.progress, tok) // Call settled its progress first
		}
	}
}

// owner returns the downstream an upstream message with meta belongs to:
// the call whose upstream progress token it carries, else the client whose
// calls are the only ones in flight (its most recent call). nil when that
// cannot be told.
func (r *relay) owner(meta sdk.Meta) Downstream {
	if tok, ok := meta["progressToken"]; ok {
		if dc := r.progressFor(tok); dc != nil {
			return dc.d
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.active) == 0 {
		return nil
	}
	origin := r.active[0].d.Origin()
	for _, dc := range r.active[1:] {
		if dc.d.Origin() != origin {
			return nil // several clients: any of them may be the cause
		}
	}
	return r.active[len(r.active)-1].d
}

func (r *relay) progressFor(tok any) *downstreamCall {
	s, ok := tok.(string)
	if !ok {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.progress[s]
}

// clientHandlers fills the SDK client options that relay upstream traffic.
func (u *Upstream) clientHandlers(o *sdk.ClientOptions) {
	r := &u.relay
	o.ProgressNotificationHandler = func(ctx context.Context, req *sdk.ProgressNotificationClientRequest) {
		dc := r.progressFor(req.Params.ProgressToken)
		if dc == nil {
			return
		}
		p := *req.Params
		p.ProgressToken = dc.token
		_ = dc.d.NotifyProgress(ctx, &p)
		dc.mu.Lock()
		dc.progress, dc.total, dc.lastAt = p.Progress, p.Total, time.Now()
		dc.mu.Unlock()
	}
	o.LoggingMessageHandler = func(ctx context.Context, req *sdk.LoggingMessageRequest) {
		if d := r.owner(req.Params.Meta); d != nil {
			_ = d.Log(ctx, req.Params)
			return
		}
		r.mu.Lock()
		fs := slices.Clone(r.onLog)
		r.mu.Unlock()
		for _, f := range fs {
			f(req.Params)
		}
	}
	o.CreateMessageHandler = func(ctx context.Context, req *sdk.CreateMessageRequest) (*sdk.CreateMessageResult, error) {
		d := r.owner(req.Params.Meta)
		if d == nil {
			return nil, fmt.Errorf("mcp %s: sampling: %w", u.cfg.Name, ErrNoDownstream)
		}
		return d.CreateMessage(ctx, req.Params)
	}
	o.ElicitationHandler = func(ctx context.Context, req *sdk.ElicitRequest) (*sdk.ElicitResult, error) {
		d := r.owner(req.Params.Meta)
		if d == nil {
			return nil, fmt.Errorf("mcp %s: elicitation: %w", u.cfg.Name, ErrNoDownstream)
		}
		return d.Elicit(ctx, req.Params)
	}
	o.ResourceListChangedHandler = func(context.Context, *sdk.ResourceListChangedRequest) { r.fire(&r.onRes) }
	o.PromptListChangedHandler = func(context.Context, *sdk.PromptListChangedRequest) { r.fire(&r.onPrompts) }
	o.ResourceUpdatedHandler = func(_ context.Context, req *sdk.ResourceUpdatedNotificationRequest) {
		r.mu.Lock()
		fs := slices.Clone(r.onUpdated)
		r.mu.Unlock()
		for _, f := range fs {
			f(req.Params.URI)
		}
	}
}

func (r *relay) fire(list *[]func()) {
	r.mu.Lock()
	fs := slices.Clone(*list)
	r.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

// OnSession registers f to be called whenever a session with the upstream
// becomes current (the first connection and every reconnection): its
// capabilities, resources and prompts may have changed.
func (u *Upstream) OnSession(f func()) {
	u.relay.mu.Lock()
	defer u.relay.mu.Unlock()
	u.relay.onSession = append(u.relay.onSession, f)
}

// sessionReady runs the OnSession callbacks in the background (it is called
// with the upstream's lock held).
func (r *relay) sessionReady() { go r.fire(&r.onSession) }

// OnResourcesChanged registers f for the upstream's notifications/resources/list_changed.
func (u *Upstream) OnResourcesChanged(f func()) {
	u.relay.mu.Lock()
	defer u.relay.mu.Unlock()
	u.relay.onRes = append(u.relay.onRes, f)
}

// OnPromptsChanged registers f for the upstream's notifications/prompts/list_changed.
func (u *Upstream) OnPromptsChanged(f func()) {
	u.relay.mu.Lock()
	defer u.relay.mu.Unlock()
	u.relay.onPrompts = append(u.relay.onPrompts, f)
}

// OnResourceUpdated registers f for the upstream's notifications/resources/updated.
func (u *Upstream) OnResourceUpdated(f func(uri string)) {
	u.relay.mu.Lock()
	defer u.relay.mu.Unlock()
	u.relay.onUpdated = append(u.relay.onUpdated, f)
}

// OnLog registers f for log messages the upstream sends outside any
// forwarded call.
func (u *Upstream) OnLog(f func(*sdk.LoggingMessageParams)) {
	u.relay.mu.Lock()
	defer u.relay.mu.Unlock()
	u.relay.onLog = append(u.relay.onLog, f)
}

// Capabilities returns the capabilities the upstream announced in its
// current session (nil when not connected).
func (u *Upstream) Capabilities() *sdk.ServerCapabilities {
	u.mu.Lock()
	s := u.sess
	u.mu.Unlock()
	if s == nil || s.cs == nil {
		return nil
	}
	if res := s.cs.InitializeResult(); res != nil {
		return res.Capabilities
	}
	return nil
}

// with runs f on the current session, bound to both ctx and the session's
// life. Errors the upstream answered with (*jsonrpc.Error) are returned
// unwrapped so that a gateway can relay them as they are.
func (u *Upstream) with(ctx context.Context, op string, f func(context.Context, *sdk.ClientSession) error) error {
	u.awaitFirst(ctx)
	s, err := u.current(op)
	if err != nil {
		return err
	}
	cctx, stop := bind(ctx, s.ctx)
	defer stop()
	if err := f(cctx, s.cs); err != nil {
		if we := u.rpcError(err); we != nil && ctx.Err() == nil {
			return we
		}
		return u.callError(ctx, s, op, "", err)
	}
	return nil
}

// ListResources lists every resource of the upstream (all pages).
func (u *Upstream) ListResources(ctx context.Context) ([]*sdk.Resource, error) {
	var out []*sdk.Resource
	err := u.with(ctx, "list resources", func(ctx context.Context, cs *sdk.ClientSession) error {
		for r, err := range cs.Resources(ctx, nil) {
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// ListResourceTemplates lists every resource template of the upstream.
func (u *Upstream) ListResourceTemplates(ctx context.Context) ([]*sdk.ResourceTemplate, error) {
	var out []*sdk.ResourceTemplate
	err := u.with(ctx, "list resource templates", func(ctx context.Context, cs *sdk.ClientSession) error {
		for r, err := range cs.ResourceTemplates(ctx, nil) {
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// ReadResource reads a resource by its upstream URI.
func (u *Upstream) ReadResource(ctx context.Context, p *sdk.ReadResourceParams) (*sdk.ReadResourceResult, error) {
	var res *sdk.ReadResourceResult
	err := u.with(ctx, "read resource", func(ctx context.Context, cs *sdk.ClientSession) (err error) {
		res, err = cs.ReadResource(ctx, p)
		return err
	})
	return res, err
}

// ListPrompts lists every prompt of the upstream.
func (u *Upstream) ListPrompts(ctx context.Context) ([]*sdk.Prompt, error) {
	var out []*sdk.Prompt
	err := u.with(ctx, "list prompts", func(ctx context.Context, cs *sdk.ClientSession) error {
		for p, err := range cs.Prompts(ctx, nil) {
			if err != nil {
				return err
			}
			out = append(out, p)
		}
		return nil
	})
	return out, err
}

// GetPrompt gets a prompt by its upstream name.
func (u *Upstream) GetPrompt(ctx context.Context, p *sdk.GetPromptParams) (*sdk.GetPromptResult, error) {
	var res *sdk.GetPromptResult
	err := u.with(ctx, "get prompt", func(ctx context.Context, cs *sdk.ClientSession) (err error) {
		res, err = cs.GetPrompt(ctx, p)
		return err
	})
	return res, err
}

// Complete asks the upstream for argument completions.
func (u *Upstream) Complete(ctx context.Context, p *sdk.CompleteParams) (*sdk.CompleteResult, error) {
	var res *sdk.CompleteResult
	err := u.with(ctx, "complete", func(ctx context.Context, cs *sdk.ClientSession) (err error) {
		res, err = cs.Complete(ctx, p)
		return err
	})
	return res, err
}

// Subscribe subscribes to updates of a resource (by upstream URI).
func (u *Upstream) Subscribe(ctx context.Context, uri string) error {
	return u.with(ctx, "subscribe", func(ctx context.Context, cs *sdk.ClientSession) error {
		return cs.Subscribe(ctx, &sdk.SubscribeParams{URI: uri})
	})
}

// Unsubscribe ends a subscription made with Subscribe.
func (u *Upstream) Unsubscribe(ctx context.Context, uri string) error {
	return u.with(ctx, "unsubscribe", func(ctx context.Context, cs *sdk.ClientSession) error {
		return cs.Unsubscribe(ctx, &sdk.UnsubscribeParams{URI: uri})
	})
}

// SetLoggingLevel sets the level of the log messages the upstream sends.
func (u *Upstream) SetLoggingLevel(ctx context.Context, level sdk.LoggingLevel) error {
	return u.with(ctx, "set logging level", func(ctx context.Context, cs *sdk.ClientSession) error {
		return cs.SetLoggingLevel(ctx, &sdk.SetLoggingLevelParams{Level: level})
	})
}

// rpcError returns the JSON-RPC error the upstream answered with (its
// message redacted), or nil.
func (u *Upstream) rpcError(err error) *jsonrpc.Error {
	var we *jsonrpc.Error
	if !errors.As(err, &we) {
		return nil
	}
	return &jsonrpc.Error{Code: we.Code, Message: u.red.redact(we.Message), Data: we.Data}
}
