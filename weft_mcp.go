package weft

import "github.com/weft-dev/weft/source"

// Sources lists the names of the configured tool sources (upstreams), sorted.
func (o *Orchestrator) Sources() []string { return o.set.Names() }

// Source returns the tool source (upstream) named server. Surfaces that
// forward more of MCP than tools (the gateway's passthrough endpoints) use
// it to reach an upstream's resources, prompts and notifications.
func (o *Orchestrator) Source(server string) (source.Source, bool) { return o.set.Source(server) }
