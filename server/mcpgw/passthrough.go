package server

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source/mcp"
)

// forwarder is an upstream that can relay more of MCP than tools
// (*mcp.Upstream implements it).
type forwarder interface {
	Capabilities() *sdk.ServerCapabilities
	ListResources(ctx context.Context) ([]*sdk.Resource, error)
	ListResourceTemplates(ctx context.Context) ([]*sdk.ResourceTemplate, error)
	ReadResource(ctx context.Context, p *sdk.ReadResourceParams) (*sdk.ReadResourceResult, error)
	ListPrompts(ctx context.Context) ([]*sdk.Prompt, error)
	GetPrompt(ctx context.Context, p *sdk.GetPromptParams) (*sdk.GetPromptResult, error)
	Complete(ctx context.Context, p *sdk.CompleteParams) (*sdk.CompleteResult, error)
	Subscribe(ctx context.Context, uri string) error
	Unsubscribe(ctx context.Context, uri string) error
	SetLoggingLevel(ctx context.Context, level sdk.LoggingLevel) error
	OnResourcesChanged(func())
	OnPromptsChanged(func())
	OnResourceUpdated(func(uri string))
	OnLog(func(*sdk.LoggingMessageParams))
}

var _ forwarder = (*mcp.Upstream)(nil)

// passthrough is a passthrough endpoint: every allowed upstream tool under
// its catalog name, and the upstreams' resources, resource templates and
// prompts, kept in step with the catalog and the upstreams' list_changed
// notifications (the SDK server then tells clients with list_changed).
//
// Naming (see docs/mcp.md): an endpoint limited to exactly one server is
// transparent — tools, prompts and resource URIs keep their upstream names.
// Otherwise tools use their catalog names ("<server>__<tool>"), prompts
// are named the same way, and resource URIs stay as the upstream lists them
// unless two upstreams list the same URI, in which case each copy is
// exposed as "weft://<server>/<url-escaped URI>". A resource template's
// reads are routed to the upstream that listed the template.
type passthrough struct {
	m      *MCP
	single string // the one server of a transparent endpoint, else ""

	mu        sync.Mutex
	closed    bool
	tools     map[string]string // exposed name → tool hash
	resources map[string]resourceRoute
	templates map[string]string // URI template → server
	prompts   map[string]promptRoute
	subs      map[string]int // exposed URI → subscriber count
	hooked    map[string]bool

	syncMu sync.Mutex    // one resync at a time
	ready  chan struct{} // closed after the first full sync
	once   sync.Once
}

type resourceRoute struct{ server, uri string }
type promptRoute struct{ server, name string }

func newPassthrough(m *MCP) *passthrough {
	p := &passthrough{m: m, tools: map[string]string{}, resources: map[string]resourceRoute{},
		templates: map[string]string{}, prompts: map[string]promptRoute{}, subs: map[string]int{}, hooked: map[string]bool{}, ready: make(chan struct{})}
	if len(m.ep.Servers) == 1 {
		p.single = m.ep.Servers[0]
	}
	return p
}

// server builds the SDK server with passthrough's handlers.
func (p *passthrough) server() *sdk.Server {
	srv := sdk.NewServer(implementation, &sdk.ServerOptions{
		Logger: p.m.sdkLog,
		Capabilities: &sdk.ServerCapabilities{
			Tools:       &sdk.ToolCapabilities{ListChanged: true},
			Resources:   &sdk.ResourceCapabilities{ListChanged: true, Subscribe: true},
			Prompts:     &sdk.PromptCapabilities{ListChanged: true},
			Completions: &sdk.CompletionCapabilities{},
			Logging:     &sdk.LoggingCapabilities{},
		},
		CompletionHandler:  p.complete,
		SubscribeHandler:   p.subscribe,
		UnsubscribeHandler: p.unsubscribe,
	})
	srv.AddReceivingMiddleware(p.setLevelMiddleware)
	return srv
}

// start mirrors the current catalog's tools at once, and the upstreams'
// resources and prompts in the background (listing them waits for the
// upstreams to connect), then follows every change.
func (p *passthrough) start() {
	p.syncMu.Lock()
	p.syncTools(p.m.o.Snapshot())
	p.syncMu.Unlock()
	p.m.o.Subscribe(func(*catalog.Snapshot) { go p.sync() })
	go p.sync()
}

func (p *passthrough) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// servers lists the upstreams the endpoint exposes.
func (p *passthrough) servers() []string {
	var out []string
	for _, s := range p.m.o.Sources() {
		if p.m.filter.allowServer(s) {
			out = append(out, s)
		}
	}
	return out
}

func (p *passthrough) forwarder(server string) (forwarder, bool) {
	src, ok := p.m.o.Source(server)
	if !ok {
		return nil, false
	}
	f, ok := src.(forwarder)
	return f, ok
}

// sync brings tools, resources and prompts in line with the current
// catalog and the upstreams.
func (p *passthrough) sync() {
	p.syncMu.Lock()
	defer p.syncMu.Unlock()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return
	}
	p.syncTools(p.m.o.Snapshot())
	p.hookUpstreams()
	p.syncResources()
	p.syncPrompts()
	p.once.Do(func() { close(p.ready) })
}

// exposedName is the name a tool has on this endpoint.
func (p *passthrough) exposedName(t *catalog.Tool) string {
	if p.single != "" && t.Original != "" {
		return t.Original
	}
	return t.Name
}

func (p *passthrough) syncTools(snap *catalog.Snapshot) {
	want := map[string]*catalog.Tool{}
	for _, t := range p.m.filter.allowed(snap) {
		want[p.exposedName(t)] = t
	}
	var gone []string
	for name := range p.tools {
		if _, ok := want[name]; !ok {
			gone = append(gone, name)
		}
	}
	if len(gone) > 0 {
		slices.Sort(gone)
		p.m.srv.RemoveTools(gone...)
		for _, n := range gone {
			delete(p.tools, n)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		t := want[name]
		if p.tools[name] == t.Hash {
			continue
		}
		p.tools[name] = t.Hash
		catalogName := t.Name
		p.m.srv.AddTool(sdkTool(name, t), func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			return p.m.forwardCall(ctx, req, catalogName, req.Params.Arguments), nil
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

// hookUpstreams registers the notification callbacks of each upstream once.
func (p *passthrough) hookUpstreams() {
	for _, server := range p.servers() {
		if p.hooked[server] {
			continue
		}
		f, ok := p.forwarder(server)
		if !ok {
			continue
		}
		p.hooked[server] = true
		resync := func() { go p.sync() }
		f.OnResourcesChanged(resync)
		f.OnPromptsChanged(resync)
		f.OnResourceUpdated(func(uri string) { p.resourceUpdated(server, uri) })
		f.OnLog(func(lp *sdk.LoggingMessageParams) { p.broadcastLog(server, lp) })
	}
}
