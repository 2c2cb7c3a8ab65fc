package mcpgw

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/yosida95/uritemplate/v3"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/catalog"
)

// namespacedScheme prefixes resource URIs that more than one upstream lists.
const namespacedScheme = "weft://"

// namespacedURI is the exposed URI of server's resource uri when it collides.
func namespacedURI(server, uri string) string {
	return namespacedScheme + server + "/" + url.PathEscape(uri)
}

// listCtx bounds one upstream listing of a sync.
func (p *passthrough) listCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx = weft.WithScope(ctx, p.e.scope)
	if d := p.e.o.Config().Limits.DiscoveryTimeout.D(); d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return context.WithCancel(ctx)
}

// syncResources mirrors the resources and resource templates of the
// upstreams the endpoint's filter lets through. An upstream that cannot be
// listed keeps its previous entries.
func (p *passthrough) syncResources(ctx context.Context) {
	type listed struct {
		server string
		res    []*sdk.Resource
	}
	var all []listed
	byURI := map[string]int{}
	wantTemplates := map[string]*sdk.ResourceTemplate{}
	templateServer := map[string]string{}
	keep := map[string]bool{} // servers whose list failed
	o := p.e.o
	for _, server := range o.MCPServers(p.ctx) {
		caps := o.UpstreamCapabilities(p.ctx, server)
		if caps == nil || caps.Resources == nil {
			continue
		}
		lctx, cancel := p.listCtx(ctx)
		res, err := o.ListResources(lctx, server)
		if err != nil {
			cancel()
			p.e.log.Warn("listing upstream resources", "server", server, "err", err)
			keep[server] = true
			continue
		}
		all = append(all, listed{server, res})
		for _, r := range res {
			byURI[r.URI]++
		}
		tmpls, err := o.ListResourceTemplates(lctx, server)
		cancel()
		if err != nil {
			p.e.log.Warn("listing upstream resource templates", "server", server, "err", err)
			continue
		}
		for _, t := range tmpls {
			if _, dup := wantTemplates[t.URITemplate]; dup {
				p.e.log.Warn("resource template listed by two upstreams; keeping the first", "template", t.URITemplate, "server", server)
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
	if p.closed {
		p.mu.Unlock()
		return
	}
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
		p.e.srv.RemoveResources(gone...)
	}
	if len(goneT) > 0 {
		p.e.srv.RemoveResourceTemplates(goneT...)
	}
	for _, uri := range slices.Sorted(maps.Keys(wantRes)) {
		p.e.srv.AddResource(wantRes[uri], p.readResource)
	}
	for _, t := range slices.Sorted(maps.Keys(wantTemplates)) {
		p.e.srv.AddResourceTemplate(wantTemplates[t], p.readResource)
	}
}

// route finds the upstream of an exposed resource URI: a listed resource,
// a namespaced URI, a template match, or the endpoint's single server.
// Whether the caller may read it is the facade's decision.
func (p *passthrough) route(uri string) (resourceRoute, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if rt, ok := p.resources[uri]; ok {
		return rt, true
	}
	if rest, ok := strings.CutPrefix(uri, namespacedScheme); ok {
		if server, esc, ok := strings.Cut(rest, "/"); ok {
			if orig, err := url.PathUnescape(esc); err == nil {
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

// hidden reports whether err says the server does not exist for the caller.
func hidden(err error) bool {
	return errors.Is(err, weft.ErrNotFound) || errors.Is(err, weft.ErrNotMCP)
}

func (p *passthrough) readResource(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
	exposed := req.Params.URI
	rt, ok := p.route(exposed)
	if !ok {
		return nil, sdk.ResourceNotFoundError(exposed)
	}
	params := *req.Params
	params.URI = rt.uri
	params.Meta = forwardMeta(params.Meta)
	res, err := p.e.o.ReadResource(ctx, rt.server, &params)
	if hidden(err) {
		return nil, sdk.ResourceNotFoundError(exposed)
	}
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

// syncPrompts mirrors the prompts of the upstreams the endpoint's filter
// lets through.
func (p *passthrough) syncPrompts(ctx context.Context) {
	want := map[string]promptRoute{}
	wantPrompts := map[string]*sdk.Prompt{}
	keep := map[string]bool{}
	o := p.e.o
	for _, server := range o.MCPServers(p.ctx) {
		caps := o.UpstreamCapabilities(p.ctx, server)
		if caps == nil || caps.Prompts == nil {
			continue
		}
		lctx, cancel := p.listCtx(ctx)
		prompts, err := o.ListPrompts(lctx, server)
		cancel()
		if err != nil {
			p.e.log.Warn("listing upstream prompts", "server", server, "err", err)
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
	if p.closed {
		p.mu.Unlock()
		return
	}
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
		p.e.srv.RemovePrompts(gone...)
	}
	for _, name := range slices.Sorted(maps.Keys(wantPrompts)) {
		rt := want[name]
		p.e.srv.AddPrompt(wantPrompts[name], func(ctx context.Context, req *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
			params := *req.Params
			params.Name = rt.name
			params.Meta = forwardMeta(params.Meta)
			res, err := p.e.o.GetPrompt(ctx, rt.server, &params)
			if hidden(err) {
				// The SDK's own answer for a prompt it does not have.
				return nil, &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: fmt.Sprintf("unknown prompt %q", req.Params.Name)}
			}
			return res, err
		})
	}
}

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
	unknown := &jsonrpc.Error{Code: jsonrpc.CodeInvalidParams, Message: "completion: unknown prompt or resource reference"}
	if server == "" {
		return nil, unknown
	}
	res, err := p.e.o.Complete(ctx, server, &params)
	if hidden(err) {
		return nil, unknown
	}
	return res, err
}

// subscribe forwards the first subscription to a resource upstream.
func (p *passthrough) subscribe(ctx context.Context, req *sdk.SubscribeRequest) error {
	uri := req.Params.URI
	rt, ok := p.route(uri)
	if !ok || !p.e.o.ServerVisible(ctx, rt.server) {
		return sdk.ResourceNotFoundError(uri)
	}
	p.mu.Lock()
	p.subs[uri]++
	first := p.subs[uri] == 1
	p.mu.Unlock()
	if !first {
		return nil
	}
	if err := p.e.o.SubscribeResource(ctx, rt.server, rt.uri); err != nil {
		p.mu.Lock()
		p.subs[uri]--
		p.mu.Unlock()
		if hidden(err) {
			return sdk.ResourceNotFoundError(uri)
		}
		return err
	}
	return nil
}

// unsubscribe forwards the last unsubscription from a resource upstream.
func (p *passthrough) unsubscribe(ctx context.Context, req *sdk.UnsubscribeRequest) error {
	uri := req.Params.URI
	rt, ok := p.route(uri)
	if !ok || !p.e.o.ServerVisible(ctx, rt.server) {
		return sdk.ResourceNotFoundError(uri)
	}
	p.mu.Lock()
	if p.subs[uri] > 0 {
		p.subs[uri]--
	}
	last := p.subs[uri] == 0
	if last {
		delete(p.subs, uri)
	}
	p.mu.Unlock()
	if !last {
		return nil
	}
	// The endpoint, not the caller, held the upstream subscription.
	return p.e.o.UnsubscribeResource(p.ctx, rt.server, rt.uri)
}

// resourceUpdated relays an upstream's notifications/resources/updated to
// the sessions subscribed to the exposed URI (each passed the policy check
// of subscribe).
func (p *passthrough) resourceUpdated(server, uri string) {
	exposed := uri
	p.mu.Lock()
	if rt, ok := p.resources[uri]; !ok || rt.server != server {
		if _, ok := p.resources[namespacedURI(server, uri)]; ok {
			exposed = namespacedURI(server, uri)
		}
	}
	p.mu.Unlock()
	_ = p.e.srv.ResourceUpdated(context.Background(), &sdk.ResourceUpdatedNotificationParams{URI: exposed})
}
