package server

import "github.com/weft-dev/weft/server/mcpgw"

// mountMCP mounts the MCP gateway (package mcpgw): one endpoint per
// configured gateway endpoint, behind the same middleware as the REST API
// (authentication, limits, and the caller's policy on the context).
func (s *Server) mountMCP() {
	for _, ep := range s.o.Config().Gateway.Endpoints {
		m, err := mcpgw.New(s.o, ep, mcpgw.Options{Logger: s.log})
		if err != nil {
			// config validation rejects unknown modes; this is a programming error.
			s.log.Error("MCP endpoint not mounted", "path", ep.Path, "err", err)
			continue
		}
		s.mux.Handle(ep.Path, m.Handler())
	}
}
