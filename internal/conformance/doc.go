// Package conformance holds weft's conformance harness for the official MCP
// conformance suite (npm @modelcontextprotocol/conformance), run by
// scripts/conformance.sh:
//
//   - fixture: an MCP server (Go SDK) implementing the tools, resources,
//     prompts and completions the server scenarios exercise; weft runs in
//     passthrough mode in front of it, and the suite runs against both.
//   - client: a client program built on weft's upstream client
//     (source/mcp), for the client scenarios.
//
// baseline.txt lists the scenarios expected to fail through weft although
// they pass against the fixture directly, each with the reason.
package conformance
