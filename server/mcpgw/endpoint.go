package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"sync"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/config"
)

// Endpoint modes (config.Endpoint.Mode).
const (
	ModeMeta        = "meta"
	ModePassthrough = "passthrough"
)

// statelessVersion is the first MCP revision without sessions (2026-07-28):
// every request carries its protocol version and any replica can answer it.
const statelessVersion = "2026-07-28"

// mcpSessionTimeout closes session-based (2025-xx) sessions idle this long.
const mcpSessionTimeout = 30 * time.Minute

// implementation is what weft reports as serverInfo.
var implementation = &sdk.Implementation{Name: "weft", Title: "weft tool orchestrator", Version: "0.1.0"}

// MCPOptions configure an MCP endpoint.
type MCPOptions struct {
	// Logger receives the endpoint's logs (discarded if nil). For a stdio
	// server it must not write to stdout.
	Logger *slog.Logger
}

// MCP is one MCP endpoint over an orchestrator: an MCP server in meta mode
// (search_tools, describe_tools, call_tool, run_code, run_plan) or
// passthrough mode (every upstream tool, resource and prompt). The same
// value serves Streamable HTTP (Handler) and stdio (Server().Run).
type MCP struct {
	o      *weft.Orchestrator
	ep     config.Endpoint
	log    *slog.Logger
	sdkLog *slog.Logger
	srv    *sdk.Server
	filter toolFilter
	meta   *metaTools   // meta mode
	pt     *passthrough // passthrough mode

	handlerOnce sync.Once
	handler     http.Handler
}

// NewMCP builds the MCP server of endpoint ep (ep.Path is used only by
// Handler's caller). The mode defaults to meta.
func NewMCP(o *weft.Orchestrator, ep config.Endpoint, opts MCPOptions) (*MCP, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if ep.Mode == "" {
		ep.Mode = ModeMeta
	}
	m := &MCP{o: o, ep: ep, log: log.With("endpoint", ep.Path, "mode", ep.Mode), filter: toolFilter{servers: ep.Servers, tools: ep.Tools}}
	// The SDK logs every session's start and end at info; keep warnings.
	m.sdkLog = slog.New(minLevel{Handler: m.log.Handler(), min: slog.LevelWarn})
	switch ep.Mode {
	case ModeMeta:
		m.srv = sdk.NewServer(implementation, &sdk.ServerOptions{
			Logger:       m.sdkLog,
			Instructions: metaInstructions,
			Capabilities: &sdk.ServerCapabilities{Tools: &sdk.ToolCapabilities{}},
		})
		m.meta = &metaTools{m: m}
		m.meta.register()
	case ModePassthrough:
		m.pt = newPassthrough(m)
		m.srv = m.pt.server()
		m.pt.start()
	default:
		return nil, fmt.Errorf("server: endpoint %s: unknown mode %q (want meta or passthrough)", ep.Path, ep.Mode)
	}
	return m, nil
}

// Server returns the underlying MCP server (e.g. to Run it over stdio).
func (m *MCP) Server() *sdk.Server { return m.srv }

// Handler serves the endpoint over Streamable HTTP, for both protocol
// generations: requests of a 2026-07-28 (or later) client — recognised by
// their MCP-Protocol-Version header and the absence of a session id — are
// answered statelessly, so any replica over the same configuration can
// answer them; everything else goes through the session-based handler
// (2025-03-26 to 2025-11-25), whose sessions live in this process.
func (m *MCP) Handler() http.Handler {
	m.handlerOnce.Do(func() {
		get := func(*http.Request) *sdk.Server { return m.srv }
		m.handler = &versionRouter{
			stateful: sdk.NewStreamableHTTPHandler(get, &sdk.StreamableHTTPOptions{
				Logger:         m.sdkLog,
				SessionTimeout: mcpSessionTimeout,
			}),
			stateless: sdk.NewStreamableHTTPHandler(get, &sdk.StreamableHTTPOptions{
				Logger:                       m.sdkLog,
				Stateless:                    true,
				PropagateRequestCancellation: true,
			}),
		}
	})
	return m.handler
}

// Close stops forwarding upstream notifications to this endpoint.
func (m *MCP) Close() {
	if m.pt != nil {
		m.pt.close()
	}
}

// versionRouter sends each request to the handler of its protocol generation.
type versionRouter struct {
	stateful, stateless http.Handler
}

// ServeHTTP implements http.Handler.
func (v *versionRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Mcp-Session-Id") == "" && r.Header.Get("Mcp-Protocol-Version") >= statelessVersion {
		v.stateless.ServeHTTP(w, r)
		return
	}
	v.stateful.ServeHTTP(w, r)
}

// mountMCP mounts one MCP endpoint per configured gateway endpoint.
func (s *Server) mountMCP() {
	for _, ep := range s.o.Config().Gateway.Endpoints {
		m, err := NewMCP(s.o, ep, MCPOptions{Logger: s.log})
		if err != nil {
			// config validation rejects unknown modes; this is a programming error.
			s.log.Error("MCP endpoint not mounted", "path", ep.Path, "err", err)
			continue
		}
		s.mux.Handle(ep.Path, m.Handler())
	}
}

// toolFilter is an endpoint's restriction to some servers and tools.
type toolFilter struct {
	servers []string
	tools   []string // catalog names or path.Match patterns
}

// empty reports whether the filter lets every tool through.
func (f toolFilter) empty() bool { return len(f.servers) == 0 && len(f.tools) == 0 }

// allowServer reports whether the server's tools, resources and prompts may appear.
func (f toolFilter) allowServer(server string) bool {
	return len(f.servers) == 0 || slices.Contains(f.servers, server)
}

// allows reports whether t may be seen and called through the endpoint.
func (f toolFilter) allows(t *catalog.Tool) bool {
	if !f.allowServer(t.Server) {
		return false
	}
	if len(f.tools) == 0 {
		return true
	}
	for _, p := range f.tools {
		if ok, _ := path.Match(p, t.Name); ok || p == t.Name {
			return true
		}
	}
	return false
}

// allowed returns the tools of snap the filter lets through, in catalog order.
func (f toolFilter) allowed(snap *catalog.Snapshot) []*catalog.Tool {
	all := snap.Tools()
	out := make([]*catalog.Tool, 0, len(all))
	for i := range all {
		if f.allows(&all[i]) {
			out = append(out, &all[i])
		}
	}
	return out
}

// minLevel drops records below min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

// Enabled implements slog.Handler.
func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

// WithAttrs implements slog.Handler.
func (h minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{Handler: h.Handler.WithAttrs(a), min: h.min}
}

// WithGroup implements slog.Handler.
func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{Handler: h.Handler.WithGroup(name), min: h.min}
}
