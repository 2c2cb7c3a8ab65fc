package mcpgw

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/catalog"
)

// passthrough is a passthrough endpoint: every upstream tool the caller may
// see under its catalog name, and the upstreams' resources, resource
// templates and prompts.
//
// The SDK server holds what the endpoint's filter lets through, kept in
// step with the live catalog and the upstreams (catalog snapshots, upstream
// (re)connections and their list_changed notifications; the SDK then tells
// clients with list_changed). Each request is answered for its caller: the
// listings keep only what the caller's policy lets it see, and reads, gets,
// completions, subscriptions and calls go through the facade, which
// enforces that policy.
//
// Naming (see docs/mcp.md): an endpoint limited to exactly one server is
// transparent — tools, prompts and resource URIs keep their upstream names.
// Otherwise tools use their catalog names ("<server>__<tool>"), prompts
// are named the same way, and resource URIs stay as the upstream lists them
// unless two upstreams list the same URI, in which case each copy is
// exposed as "weft://<server>/<url-escaped URI>". A resource template's
// reads are routed to the upstream that listed the template.
type passthrough struct {
	e        *Endpoint
	sessions *httpSessions   // its session-based HTTP sessions
	single   string          // the one server of a transparent endpoint, else ""
	ctx      context.Context // the endpoint's own view: its filter, no caller

	toolsMu   sync.Mutex // one tools sync at a time
	mu        sync.Mutex
	closed    bool
	tools     map[string]toolRoute // exposed name → catalog tool
	toolsAt   string               // catalog version tools mirror
	resources map[string]resourceRoute
	templates map[string]string // URI template → server
	prompts   map[string]promptRoute
	subs      map[string]int // exposed URI → subscriber count

	// Synchronisation: every event bumps want; the sync loop mirrors the
	// upstreams and then stores in done the want it started from. A list
	// request waits until done reaches the want it saw, so it answers from
	// a mirror at least as fresh as every event received before it.
	want   atomic.Uint64
	kick   chan struct{}
	doneMu sync.Mutex
	done   uint64
	synced *sync.Cond
	stop   context.CancelFunc
}

type toolRoute struct{ name, hash string }
type resourceRoute struct{ server, uri string }
type promptRoute struct{ server, name string }

func newPassthrough(e *Endpoint) *passthrough {
	p := &passthrough{e: e, tools: map[string]toolRoute{}, resources: map[string]resourceRoute{},
		templates: map[string]string{}, prompts: map[string]promptRoute{}, subs: map[string]int{}, kick: make(chan struct{}, 1)}
	p.synced = sync.NewCond(&p.doneMu)
	p.sessions = newHTTPSessions(p)
	if len(e.ep.Servers) == 1 {
		p.single = e.ep.Servers[0]
	}
	p.ctx = weft.WithScope(context.Background(), e.scope)
	return p
}

// server builds the SDK server with passthrough's handlers.
func (p *passthrough) server() *sdk.Server {
	srv := sdk.NewServer(implementation, &sdk.ServerOptions{
		Logger: p.e.sdkLog,
		Capabilities: &sdk.ServerCapabilities{
			Tools:       &sdk.ToolCapabilities{ListChanged: true},
			Resources:   &sdk.ResourceCapabilities{ListChanged: true, Subscribe: true},
			Prompts:     &sdk.PromptCapabilities{ListChanged: true},
			Completions: &sdk.CompletionCapabilities{},
			Logging:     &sdk.LoggingCapabilities{},
		},
		InitializedHandler: func(_ context.Context, req *sdk.InitializedRequest) { p.sessions.initialized(req.Session) },
		CompletionHandler:  p.complete,
		SubscribeHandler:   p.subscribe,
		UnsubscribeHandler: p.unsubscribe,
	})
	// Outermost first: the caller's context, then the caller's view of it.
	srv.AddReceivingMiddleware(p.e.policyMiddleware, p.callerMiddleware)
	return srv
}

// start mirrors the catalog's tools at once and everything in the
// background, then follows the catalog and the upstreams.
func (p *passthrough) start() {
	lctx, cancel := context.WithCancel(context.Background())
	p.stop = cancel
	p.syncTools()
	o := p.e.o
	o.Subscribe(func(*catalog.Snapshot) { p.changed() })
	o.WatchUpstreams(weft.UpstreamEvents{
		Connected:        func(string) { p.changed() },
		ResourcesChanged: func(string) { p.changed() },
		PromptsChanged:   func(string) { p.changed() },
		ResourceUpdated:  p.resourceUpdated,
		Log:              p.operatorLog,
	})
	p.changed()
	go p.loop(lctx)
}

func (p *passthrough) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.sessions.close()
	if p.stop != nil {
		p.stop()
	}
}

// changed records an event and wakes the sync loop. It never blocks.
func (p *passthrough) changed() {
	p.want.Add(1)
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// loop mirrors the catalog and the upstreams after every event.
func (p *passthrough) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			p.doneMu.Lock()
			p.done = ^uint64(0) // release waiters
			p.synced.Broadcast()
			p.doneMu.Unlock()
			return
		case <-p.kick:
		}
		target := p.want.Load()
		p.syncTools()
		p.syncResources(ctx)
		p.syncPrompts(ctx)
		p.doneMu.Lock()
		p.done = max(p.done, target)
		p.synced.Broadcast()
		p.doneMu.Unlock()
	}
}

// await waits until the mirror covers every event seen so far, or ctx ends.
func (p *passthrough) await(ctx context.Context) error {
	want := p.want.Load()
	stop := context.AfterFunc(ctx, func() {
		p.doneMu.Lock()
		p.synced.Broadcast()
		p.doneMu.Unlock()
	})
	defer stop()
	p.doneMu.Lock()
	defer p.doneMu.Unlock()
	for p.done < want {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		p.synced.Wait()
	}
	return nil
}

// exposedName is the name a tool has on this endpoint.
func (p *passthrough) exposedName(t *catalog.Tool) string {
	if p.single != "" && t.Original != "" {
		return t.Original
	}
	return t.Name
}

// syncTools mirrors the tools of the current catalog that the endpoint's
// filter lets through (one sync at a time: the sync loop, or a request that
// found the mirror behind the catalog).
func (p *passthrough) syncTools() {
	p.toolsMu.Lock()
	defer p.toolsMu.Unlock()
	p.mu.Lock()
	closed, at := p.closed, p.toolsAt
	p.mu.Unlock()
	view := p.e.o.View(p.ctx)
	if closed || (at != "" && view.Version() == at) {
		return
	}
	want := map[string]*catalog.Tool{}
	for _, t := range view.Tools() {
		want[p.exposedName(t)] = t
	}
	var gone []string
	var added []string
	p.mu.Lock()
	for name := range p.tools {
		if _, ok := want[name]; !ok {
			gone = append(gone, name)
			delete(p.tools, name)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		t := want[name]
		if p.tools[name].hash == t.Hash {
			continue
		}
		p.tools[name] = toolRoute{name: t.Name, hash: t.Hash}
		added = append(added, name)
	}
	p.toolsAt = view.Version()
	p.mu.Unlock()
	if len(gone) > 0 {
		slices.Sort(gone)
		p.e.srv.RemoveTools(gone...)
	}
	for _, name := range added {
		catalogName := want[name].Name
		p.e.srv.AddTool(sdkTool(name, want[name]), func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return p.e.forwardCall(ctx, req, catalogName, req.Params.Arguments), nil
		})
	}
}

// sdkTool renders a catalog tool for tools/list, schemas and annotations intact.
func sdkTool(name string, t *catalog.Tool) *sdk.Tool {
	in := t.InputSchema
	var probe struct {
		Type any `json:"type"`
	}
	if len(in) == 0 || json.Unmarshal(in, &probe) != nil || probe.Type != "object" {
		in = json.RawMessage(`{"type":"object"}`) // the SDK (and the spec) want an object schema
	}
	st := &sdk.Tool{Name: name, Title: t.Title, Description: t.Description, InputSchema: in}
	if len(t.OutputSchema) > 0 {
		st.OutputSchema = t.OutputSchema
	}
	if a := t.Annotations; a != nil {
		st.Annotations = &sdk.ToolAnnotations{Title: a.Title, DestructiveHint: a.DestructiveHint, OpenWorldHint: a.OpenWorldHint}
		if a.ReadOnlyHint != nil {
			st.Annotations.ReadOnlyHint = *a.ReadOnlyHint
		}
		if a.IdempotentHint != nil {
			st.Annotations.IdempotentHint = *a.IdempotentHint
		}
	}
	return st
}

// callerMiddleware answers each request for its caller: tool requests see
// the live catalog, list requests wait for the mirror to cover every event
// seen so far and keep only what the caller may see, and logging/setLevel
// is forwarded to the upstreams the caller may see.
func (p *passthrough) callerMiddleware(next sdk.MethodHandler) sdk.MethodHandler {
	return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
		switch method {
		case "tools/list", "tools/call":
			p.syncTools() // no-op unless the catalog moved on
		}
		switch method {
		case "tools/list", "resources/list", "resources/templates/list", "prompts/list",
			"resources/read", "prompts/get", "completion/complete", "resources/subscribe":
			if err := p.await(ctx); err != nil {
				return nil, err
			}
		}
		if r, ok := req.(*sdk.CallToolRequest); ok && r.Params != nil {
			// A tool the caller may not see does not exist for it: the
			// SDK's own answer for an unknown tool, not an engine error.
			if rt, ok := p.toolRoute(r.Params.Name); ok {
				if _, visible := p.e.o.View(ctx).Get(rt.name); !visible {
					return nil, unknownTool(r.Params.Name)
				}
			}
		}
		res, err := next(ctx, method, req)
		if err != nil {
			return res, err
		}
		switch r := res.(type) {
		case *sdk.ListToolsResult:
			view := p.e.o.View(ctx)
			r.Tools = slices.DeleteFunc(slices.Clone(r.Tools), func(t *sdk.Tool) bool {
				rt, ok := p.toolRoute(t.Name)
				if !ok {
					return true
				}
				_, visible := view.Get(rt.name)
				return !visible
			})
		case *sdk.ListResourcesResult:
			r.Resources = slices.DeleteFunc(slices.Clone(r.Resources), func(x *sdk.Resource) bool {
				rt, ok := p.resourceRoute(x.URI)
				return !ok || !p.e.o.ServerVisible(ctx, rt.server)
			})
		case *sdk.ListResourceTemplatesResult:
			r.ResourceTemplates = slices.DeleteFunc(slices.Clone(r.ResourceTemplates), func(x *sdk.ResourceTemplate) bool {
				p.mu.Lock()
				server, ok := p.templates[x.URITemplate]
				p.mu.Unlock()
				return !ok || !p.e.o.ServerVisible(ctx, server)
			})
		case *sdk.ListPromptsResult:
			r.Prompts = slices.DeleteFunc(slices.Clone(r.Prompts), func(x *sdk.Prompt) bool {
				p.mu.Lock()
				rt, ok := p.prompts[x.Name]
				p.mu.Unlock()
				return !ok || !p.e.o.ServerVisible(ctx, rt.server)
			})
		}
		if method == "logging/setLevel" {
			if r, ok := req.(*sdk.ServerRequest[*sdk.SetLoggingLevelParams]); ok && r.Params != nil {
				for _, server := range p.e.o.MCPServers(ctx) {
					if caps := p.e.o.UpstreamCapabilities(ctx, server); caps == nil || caps.Logging == nil {
						continue
					}
					if ferr := p.e.o.SetUpstreamLogLevel(ctx, server, r.Params.Level); ferr != nil {
						p.e.log.Warn("forwarding logging/setLevel", "server", server, "err", ferr)
					}
				}
			}
		}
		return res, nil
	}
}

// unknownTool is the SDK's answer to a call of a tool it does not have.
func unknownTool(name string) error {
	return &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown tool %q", name)}
}

func (p *passthrough) toolRoute(exposed string) (toolRoute, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rt, ok := p.tools[exposed]
	return rt, ok
}

func (p *passthrough) resourceRoute(exposed string) (resourceRoute, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	rt, ok := p.resources[exposed]
	return rt, ok
}

// operatorLog writes an upstream's log message that no call could be
// identified as the cause of to the endpoint's log: it belongs to no
// client, and relaying it to every session would leak it across tenants.
func (p *passthrough) operatorLog(server string, lp *sdk.LoggingMessageParams) {
	data, _ := json.Marshal(lp.Data)
	p.e.log.Info("upstream log message", "server", server, "level", lp.Level, "logger", lp.Logger, "data", string(data))
}
