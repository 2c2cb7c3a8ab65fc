package server

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/yosida95/uritemplate/v3"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source/mcp"
)

// namespacedScheme prefixes resource URIs that more than one upstream lists.
const namespacedScheme = "weft://"

// namespacedURI is the exposed URI of server's resource uri when it collides.
func namespacedURI(server, uri string) string {
	return namespacedScheme + server + "/" + url.PathEscape(uri)
}

// syncResources mirrors the upstreams' resources and resource templates.
// An upstream that cannot be listed keeps its previous entries.
func (p *passthrough) syncResources() {
	ctx := context.Background()
	type listed struct {
		server string
		res    []*sdk.Resource
	}
	var all []listed
	byURI := map[string]int{}
	wantTemplates := map[string]*sdk.ResourceTemplate{}
	templateServer := map[string]string{}
	keep := map[string]bool{} // servers whose list failed
	for _, server := range p.servers() {
		f, ok := p.forwarder(server)
		if !ok || !hasResources(f.Capabilities()) {
			continue
		}
		res, err := f.ListResources(ctx)
		if err != nil {
			p.m.log.Warn("listing upstream resources", "server", server, "err", err)
			keep[server] = true
			continue
		}
		all = append(all, listed{server, res})
		for _, r := range res {
			byURI[r.URI]++
		}
		tmpls, err := f.ListResourceTemplates(ctx)
		if err != nil {
			p.m.log.Warn("listing upstream resource templates", "server", server, "err", err)
			continue
		}
		for _, t := range tmpls {
			if _, dup := wantTemplates[t.URITemplate]; dup {
				p.m.log.Warn("resource template listed by two upstreams; keeping the first", "template", t.URITemplate, "server", server)
				continue
			}
			wantTemplates[t.URITemplate], templateServer[t.URITemplate] = t, server
		}
	}
	want := map[string]resourceRoute{}
	wantRes := map[string]*sdk.Resource{}
	for _, l := range all {
		for _, r := range l.res {
			exposed := r.URI
			if byURI[r.URI] > 1 {
				exposed = namespacedURI(l.server, r.URI)
			}
			cp := *r
			cp.URI = exposed
			want[exposed], wantRes[exposed] = resourceRoute{server: l.server, uri: r.URI}, &cp
		}
	}
	p.mu.Lock()
	var gone []string
	for uri, rt := range p.resources {
		if _, ok := want[uri]; !ok && !keep[rt.server] {
			gone = append(gone, uri)
			delete(p.resources, uri)
		}
	}
	var goneT []string
	for t, server := range p.templates {
		if _, ok := wantTemplates[t]; !ok && !keep[server] {
			goneT = append(goneT, t)
			delete(p.templates, t)
		}
	}
	maps.Copy(p.resources, want)
	maps.Copy(p.templates, templateServer)
	p.mu.Unlock()
	if len(gone) > 0 {
		p.m.srv.RemoveResources(gone...)
	}
	if len(goneT) > 0 {
		p.m.srv.RemoveResourceTemplates(goneT...)
	}
	for _, uri := range slices.Sorted(maps.Keys(wantRes)) {
		p.m.srv.AddResource(wantRes[uri], p.readResource)
	}
	for _, t := range slices.Sorted(maps.Keys(wantTemplates)) {
		p.m.srv.AddResourceTemplate(wantTemplates[t], p.readResource)
	}
}

// route finds the upstream of an exposed resource URI: a listed resource,
// a namespaced URI, a template match, or the endpoint's single server.
func (p *passthrough) route(uri string) (resourceRoute, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rt, ok := p.resources[uri]; ok {
		return rt, true
	}
	if rest, ok := strings.CutPrefix(uri, namespacedScheme); ok {
		if server, esc, ok := strings.Cut(rest, "/"); ok {
			if orig, err := url.PathUnescape(esc); err == nil && p.m.filter.allowServer(server) {
				return resourceRoute{server: server, uri: orig}, true
			}
		}
	}
	for _, t := range slices.Sorted(maps.Keys(p.templates)) {
		if tmpl, err := uritemplate.New(t); err == nil && tmpl.Regexp().MatchString(uri) {
			return resourceRoute{server: p.templates[t], uri: uri}, true
		}
	}
	if p.single != "" {
		return resourceRoute{server: p.single, uri: uri}, true
	}
	return resourceRoute{}, false
}

func (p *passthrough) readResource(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
	exposed := req.Params.URI
	rt, ok := p.route(exposed)
	if !ok {
		return nil, sdk.ResourceNotFoundError(exposed)
	}
	f, ok := p.forwarder(rt.server)
	if !ok {
		return nil, sdk.ResourceNotFoundError(exposed)
	}
	params := *req.Params
	params.URI = rt.uri
	params.Meta = forwardMeta(params.Meta)
	res, err := f.ReadResource(ctx, &params)
	if err != nil {
		return nil, err
	}
	if rt.uri != exposed {
		cp := *res
		cp.Contents = make([]*sdk.ResourceContents, len(res.Contents))
		for i, c := range res.Contents {
			cc := *c
			if cc.URI == rt.uri {
				cc.URI = exposed
			}
			cp.Contents[i] = &cc
		}
		res = &cp
	}
	return res, nil
}

// syncPrompts mirrors the upstreams' prompts.
func (p *passthrough) syncPrompts() {
	ctx := context.Background()
	want := map[string]promptRoute{}
	wantPrompts := map[string]*sdk.Prompt{}
	keep := map[string]bool{}
	for _, server := range p.servers() {
		f, ok := p.forwarder(server)
		if !ok || f.Capabilities() == nil || f.Capabilities().Prompts == nil {
			continue
		}
		prompts, err := f.ListPrompts(ctx)
		if err != nil {
			p.m.log.Warn("listing upstream prompts", "server", server, "err", err)
			keep[server] = true
			continue
		}
		for _, pr := range prompts {
			name := pr.Name
			if p.single == "" {
				name = catalog.MakeName(server, pr.Name)
			}
			cp := *pr
			cp.Name = name
			want[name], wantPrompts[name] = promptRoute{server: server, name: pr.Name}, &cp
		}
	}
	p.mu.Lock()
	var gone []string
	for name, rt := range p.prompts {
		if _, ok := want[name]; !ok && !keep[rt.server] {
			gone = append(gone, name)
			delete(p.prompts, name)
		}
	}
	maps.Copy(p.prompts, want)
	p.mu.Unlock()
	if len(gone) > 0 {
		p.m.srv.RemovePrompts(gone...)
	}
	for _, name := range slices.Sorted(maps.Keys(wantPrompts)) {
		rt := want[name]
		p.m.srv.AddPrompt(wantPrompts[name], func(ctx context.Context, req *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
			f, ok := p.forwarder(rt.server)
			if !ok {
				return nil, fmt.Errorf("prompt %q: upstream %s is gone", name, rt.server)
			}
			params := *req.Params
			params.Name = rt.name
			params.Meta = forwardMeta(params.Meta)
			return f.GetPrompt(ctx, &params)
		})
	}
}

func hasResources(c *sdk.ServerCapabilities) bool { return c != nil && c.Resources != nil }

// complete routes completion/complete by the prompt or resource template it refers to.
func (p *passthrough) complete(ctx context.Context, req *sdk.CompleteRequest) (*sdk.CompleteResult, error) {
	params := *req.Params
	params.Meta = forwardMeta(params.Meta)
	var server string
	if params.Ref != nil {
		ref := *params.Ref
		switch ref.Type {
		case "ref/prompt":
			p.mu.Lock()
			rt, ok := p.prompts[ref.Name]
			p.mu.Unlock()
			if ok {
				server, ref.Name = rt.server, rt.name
			}
		case "ref/resource":
			p.mu.Lock()
			server = p.templates[ref.URI]
			p.mu.Unlock()
			if server == "" {
				if rt, ok := p.route(ref.URI); ok {
					server, ref.URI = rt.server, rt.uri
				}
			}
		}
		params.Ref = &ref
	}
	if server == "" {
		server = p.single
	}
	f, ok := p.forwarder(server)
	if !ok {
		return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "completion: unknown prompt or resource reference"}
	}
	return f.Complete(ctx, &params)
}

// subscribe forwards the first subscription to a resource upstream.
func (p *passthrough) subscribe(ctx context.Context, req *sdk.SubscribeRequest) error {
	uri := req.Params.URI
	rt, ok := p.route(uri)
	if !ok {
		return sdk.ResourceNotFoundError(uri)
	}
	p.mu.Lock()
	p.subs[uri]++
	first := p.subs[uri] == 1
	p.mu.Unlock()
	if !first {
		return nil
	}
	f, ok := p.forwarder(rt.server)
	if !ok {
		return sdk.ResourceNotFoundError(uri)
	}
	if err := f.Subscribe(ctx, rt.uri); err != nil {
		p.mu.Lock()
		p.subs[uri]--
		p.mu.Unlock()
		return err
	}
	return nil
}

// unsubscribe forwards the last unsubscription from a resource upstream.
func (p *passthrough) unsubscribe(ctx context.Context, req *sdk.UnsubscribeRequest) error {
	uri := req.Params.URI
	p.mu.Lock()
	if p.subs[uri] > 0 {
		p.subs[uri]--
	}
	last := p.subs[uri] == 0
	if last {
		delete(p.subs, uri)
	}
	p.mu.Unlock()
	rt, ok := p.route(uri)
	if !last || !ok {
		return nil
	}
	if f, ok := p.forwarder(rt.server); ok {
		return f.Unsubscribe(ctx, rt.uri)
	}
	return nil
}

// resourceUpdated relays an upstream's notifications/resources/updated to
// the clients subscribed to the exposed URI.
func (p *passthrough) resourceUpdated(server, uri string) {
	exposed := uri
	p.mu.Lock()
	if rt, ok := p.resources[uri]; !ok || rt.server != server {
		if _, ok := p.resources[namespacedURI(server, uri)]; ok {
			exposed = namespacedURI(server, uri)
		}
	}
	p.mu.Unlock()
	_ = p.m.srv.ResourceUpdated(context.Background(), &sdk.ResourceUpdatedNotificationParams{URI: exposed})
}

// broadcastLog sends an upstream's log message (outside any call) to every
// session of the endpoint; the SDK drops it for sessions whose level is higher.
func (p *passthrough) broadcastLog(server string, lp *sdk.LoggingMessageParams) {
	cp := *lp
	if cp.Logger == "" {
		cp.Logger = server
	}
	for ss := range p.m.srv.Sessions() {
		_ = ss.Log(context.Background(), &cp)
	}
}

// setLevelMiddleware forwards logging/setLevel to the endpoint's upstreams
// (the last level set wins: one upstream session serves every client), and
// makes list requests wait for the first mirror of resources and prompts.
func (p *passthrough) setLevelMiddleware(next sdk.MethodHandler) sdk.MethodHandler {
	return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
		switch method {
		case "resources/list", "resources/templates/list", "prompts/list", "resources/read", "prompts/get":
			select {
			case <-p.ready:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		res, err := next(ctx, method, req)
		if method == "logging/setLevel" && err == nil {
			if r, ok := req.(*sdk.ServerRequest[*sdk.SetLoggingLevelParams]); ok && r.Params != nil {
				for _, server := range p.servers() {
					if f, ok := p.forwarder(server); ok && f.Capabilities() != nil && f.Capabilities().Logging != nil {
						if ferr := f.SetLoggingLevel(ctx, r.Params.Level); ferr != nil {
							p.m.log.Warn("forwarding logging/setLevel", "server", server, "err", ferr)
						}
					}
				}
			}
		}
		return res, err
	}
}

// sessionDownstream relays upstream traffic of one forwarded call to the
// client session that made it, on the calling request's context (so that
// Streamable HTTP sends it on that request's stream).
type sessionDownstream struct {
	ss  *sdk.ServerSession
	ctx context.Context
}

func (d *sessionDownstream) NotifyProgress(_ context.Context, p *sdk.ProgressNotificationParams) error {
	return d.ss.NotifyProgress(d.ctx, p)
}

func (d *sessionDownstream) Log(_ context.Context, p *sdk.LoggingMessageParams) error {
	return d.ss.Log(d.ctx, p)
}

func (d *sessionDownstream) CreateMessage(ctx context.Context, p *sdk.CreateMessageParams) (*sdk.CreateMessageResult, error) {
	ctx, stop := bindCtx(d.ctx, ctx)
	defer stop()
	return d.ss.CreateMessage(ctx, p)
}

func (d *sessionDownstream) Elicit(ctx context.Context, p *sdk.ElicitParams) (*sdk.ElicitResult, error) {
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

// withDownstream binds the calling client to ctx for the upstream call.
func withDownstream(ctx context.Context, req *sdk.CallToolRequest) context.Context {
	if req == nil || req.Session == nil {
		return ctx
	}
	return mcp.WithDownstream(ctx, &sessionDownstream{ss: req.Session, ctx: ctx}, req.Params.GetProgressToken())
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
