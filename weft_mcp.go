package weft

import (
	"context"
	"errors"
	"fmt"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/source/mcp"
)

// This file is the facade's MCP-specific surface: what an MCP gateway
// (server/mcpgw) needs beyond tools — upstream resources, resource
// templates, prompts, completions, subscriptions, logging levels and
// upstream notifications. Every method that answers a caller enforces the
// caller's policy from ctx (ServerVisible): a server the caller may not see
// behaves exactly like a server that does not exist (ErrNotFound).

// Sources lists the names of the configured tool sources (upstreams), sorted.
func (o *Orchestrator) Sources() []string { return o.set.Names() }

// ErrNotMCP is wrapped by the MCP methods when the named source is not an
// MCP upstream (e.g. Go functions), so it has no resources or prompts.
var ErrNotMCP = errors.New("not an MCP upstream")

// forwarder is what the facade needs of an MCP upstream (*mcp.Upstream).
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
	OnSession(func())
}

var _ forwarder = (*mcp.Upstream)(nil)

// upstream returns the MCP upstream named server if the caller on ctx may
// see it.
func (o *Orchestrator) upstream(ctx context.Context, server string) (forwarder, error) {
	if !o.ServerVisible(ctx, server) {
		return nil, fmt.Errorf("server %q: %w", server, ErrNotFound)
	}
	src, ok := o.set.Source(server)
	if !ok {
		return nil, fmt.Errorf("server %q: %w", server, ErrNotFound)
	}
	f, ok := src.(forwarder)
	if !ok {
		return nil, fmt.Errorf("server %q: %w", server, ErrNotMCP)
	}
	return f, nil
}

// MCPServers lists, sorted, the MCP upstreams the caller on ctx may see.
func (o *Orchestrator) MCPServers(ctx context.Context) []string {
	var out []string
	for _, name := range o.set.Names() {
		if _, err := o.upstream(ctx, name); err == nil {
			out = append(out, name)
		}
	}
	return out
}

// UpstreamCapabilities returns what the MCP upstream server announced in
// its current session: nil when it is not connected, not an MCP upstream,
// or not visible to the caller on ctx.
func (o *Orchestrator) UpstreamCapabilities(ctx context.Context, server string) *sdk.ServerCapabilities {
	f, err := o.upstream(ctx, server)
	if err != nil {
		return nil
	}
	return f.Capabilities()
}

// ListResources lists every resource of the MCP upstream server.
func (o *Orchestrator) ListResources(ctx context.Context, server string) ([]*sdk.Resource, error) {
	f, err := o.upstream(ctx, server)
	if err != nil {
		return nil, err
	}
	return f.ListResources(ctx)
}

// ListResourceTemplates lists every resource template of the MCP upstream server.
func (o *Orchestrator) ListResourceTemplates(ctx context.Context, server string) ([]*sdk.ResourceTemplate, error) {
	f, err := o.upstream(ctx, server)
	if err != nil {
		return nil, err
	}
	return f.ListResourceTemplates(ctx)
}

// ReadResource reads a resource of the MCP upstream server by its upstream URI.
func (o *Orchestrator) ReadResource(ctx context.Context, server string, p *sdk.ReadResourceParams) (*sdk.ReadResourceResult, error) {
	f, err := o.upstream(ctx, server)
	if err != nil {
		return nil, err
	}
	return f.ReadResource(ctx, p)
}

// ListPrompts lists every prompt of the MCP upstream server.
func (o *Orchestrator) ListPrompts(ctx context.Context, server string) ([]*sdk.Prompt, error) {
	f, err := o.upstream(ctx, server)
	if err != nil {
		return nil, err
	}
	return f.ListPrompts(ctx)
}

// GetPrompt gets a prompt of the MCP upstream server by its upstream name.
func (o *Orchestrator) GetPrompt(ctx context.Context, server string, p *sdk.GetPromptParams) (*sdk.GetPromptResult, error) {
	f, err := o.upstream(ctx, server)
	if err != nil {
		return nil, err
	}
	return f.GetPrompt(ctx, p)
}

// Complete asks the MCP upstream server for argument completions.
func (o *Orchestrator) Complete(ctx context.Context, server string, p *sdk.CompleteParams) (*sdk.CompleteResult, error) {
	f, err := o.upstream(ctx, server)
	if err != nil {
		return nil, err
	}
	return f.Complete(ctx, p)
}

// SubscribeResource subscribes to updates of a resource (by upstream URI)
// of the MCP upstream server; updates arrive through WatchUpstreams.
func (o *Orchestrator) SubscribeResource(ctx context.Context, server, uri string) error {
	f, err := o.upstream(ctx, server)
	if err != nil {
		return err
	}
	return f.Subscribe(ctx, uri)
}

// UnsubscribeResource ends a subscription made with SubscribeResource.
func (o *Orchestrator) UnsubscribeResource(ctx context.Context, server, uri string) error {
	f, err := o.upstream(ctx, server)
	if err != nil {
		return err
	}
	return f.Unsubscribe(ctx, uri)
}

// SetUpstreamLogLevel sets the level of the log messages the MCP upstream
// server sends. One upstream session serves every client: the last level
// set wins.
func (o *Orchestrator) SetUpstreamLogLevel(ctx context.Context, server string, level sdk.LoggingLevel) error {
	f, err := o.upstream(ctx, server)
	if err != nil {
		return err
	}
	return f.SetLoggingLevel(ctx, level)
}

// UpstreamEvents are callbacks for what MCP upstreams announce. Each names
// the upstream; nil callbacks are skipped. They run on the upstream's
// notification goroutines and must not block for long.
type UpstreamEvents struct {
	// Connected: a session with the upstream became current (first
	// connection or reconnection); its capabilities, resources and prompts
	// may differ from the previous session's.
	Connected func(server string)
	// ResourcesChanged: notifications/resources/list_changed.
	ResourcesChanged func(server string)
	// PromptsChanged: notifications/prompts/list_changed.
	PromptsChanged func(server string)
	// ResourceUpdated: notifications/resources/updated for a subscribed URI.
	ResourceUpdated func(server, uri string)
	// Log: a log message that no forwarded call could be identified as the
	// cause of. It belongs to no client: surfaces show it to the operator only.
	Log func(server string, p *sdk.LoggingMessageParams)
}

// WatchUpstreams registers ev for every MCP upstream. Notifications are not
// filtered by any caller's policy: a surface relays them only to clients
// that may see the server (e.g. subscribers that passed SubscribeResource).
func (o *Orchestrator) WatchUpstreams(ev UpstreamEvents) {
	for _, name := range o.set.Names() {
		src, _ := o.set.Source(name)
		f, ok := src.(forwarder)
		if !ok {
			continue
		}
		if ev.Connected != nil {
			f.OnSession(func() { ev.Connected(name) })
		}
		if ev.ResourcesChanged != nil {
			f.OnResourcesChanged(func() { ev.ResourcesChanged(name) })
		}
		if ev.PromptsChanged != nil {
			f.OnPromptsChanged(func() { ev.PromptsChanged(name) })
		}
		if ev.ResourceUpdated != nil {
			f.OnResourceUpdated(func(uri string) { ev.ResourceUpdated(name, uri) })
		}
		if ev.Log != nil {
			f.OnLog(func(p *sdk.LoggingMessageParams) { ev.Log(name, p) })
		}
	}
}

// MCPClient is the MCP client on whose behalf a tool call is made: what an
// upstream sends in the course of the call (progress, log messages,
// sampling and elicitation requests) is relayed to it. A gateway wraps its
// client session in one per call.
type MCPClient = mcp.Downstream

// WithMCPClient returns ctx whose tool calls (Call, and calls of code-mode
// programs and plans run with it) relay upstream traffic to c.
// progressToken is c's own token for the call (nil if it asked for none).
// Upstream requests that cannot be attributed to one client's call are
// refused, never relayed to a guess.
func WithMCPClient(ctx context.Context, c MCPClient, progressToken any) context.Context {
	return mcp.WithDownstream(ctx, c, progressToken)
}
