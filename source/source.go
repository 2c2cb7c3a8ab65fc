// Package source defines how tools enter weft: the Source interface that an
// upstream (an MCP server, a set of Go functions) implements, the Result of a
// call, and Set, which discovers many sources in parallel, tracks their
// health and publishes catalog snapshots.
package source

import (
	"context"
	"encoding/json"
	"time"

	"github.com/weft-dev/weft/catalog"
)

// Source is one upstream of tools.
//
// Implementations must be safe for concurrent use. Tools and Call may be
// called before Start returned successfully (they then fail with an error
// wrapping ErrUnavailable) and after Close (ErrClosed).
type Source interface {
	// Name is the server name used to namespace its tools.
	Name() string
	// Start connects (starting a process for stdio upstreams). It returns
	// when the first connection attempt finished; a source that fails to
	// start keeps retrying in the background with backoff until Close.
	Start(ctx context.Context) error
	// Tools lists the upstream's tools (all pages). Catalog names are not set:
	// Server and Original are.
	Tools(ctx context.Context) ([]catalog.Tool, error)
	// Call invokes the tool with its upstream (original) name. A result with
	// IsError is a successful call whose tool reported a failure; a non-nil
	// error means the call did not complete (transport, protocol, timeout).
	Call(ctx context.Context, tool string, args json.RawMessage) (*Result, error)
	// Health reports the current state.
	Health() Health
	// Close stops the source, ending any process it started (whole process
	// group) and waiting for it.
	Close() error
}

// Notifier is implemented by sources whose tool list can change at run time
// (MCP notifications/tools/list_changed, a restarted process). The function
// is called, without arguments, whenever the list may have changed.
type Notifier interface {
	OnToolsChanged(func())
}

// State is the lifecycle state of a source.
type State string

// States of a source.
const (
	StateStarting  State = "starting"
	StateReady     State = "ready"
	StateUnhealthy State = "unhealthy"
	StateDisabled  State = "disabled"
	StateClosed    State = "closed"
)

// Health describes a source's state for /readyz and logs.
type Health struct {
	State State `json:"state"`
	// Reason says why the source is not ready (the last error).
	Reason string `json:"reason,omitempty"`
	// Since is when the source entered State.
	Since time.Time `json:"since"`
	// Restarts counts process restarts (stdio) or reconnections.
	Restarts int `json:"restarts"`
	// PID is the process id of a stdio upstream, 0 otherwise.
	PID int `json:"pid,omitempty"`
}

// Result is the outcome of a tool call, in MCP terms.
type Result struct {
	// Content is the list of MCP content blocks, each kept as raw JSON.
	Content []json.RawMessage `json:"content"`
	// StructuredContent is the structured result, if any.
	StructuredContent json.RawMessage `json:"structuredContent,omitempty"`
	// IsError is set when the tool itself reported a failure.
	IsError bool `json:"isError,omitempty"`
	// Meta is the result's _meta, if any.
	Meta json.RawMessage `json:"_meta,omitempty"`
}

// Size is the approximate encoded size of the result in bytes.
func (r *Result) Size() int {
	n := len(r.StructuredContent) + len(r.Meta)
	for _, c := range r.Content {
		n += len(c)
	}
	return n
}

// Text joins the text of every text content block, separated by newlines.
func (r *Result) Text() string {
	var out []byte
	for _, c := range r.Content {
		var block struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(c, &block) == nil && block.Type == "text" {
			if len(out) > 0 {
				out = append(out, '\n')
			}
			out = append(out, block.Text...)
		}
	}
	return string(out)
}

// TextResult builds a result holding one text block.
func TextResult(text string, isError bool) *Result {
	b, _ := json.Marshal(map[string]string{"type": "text", "text": text})
	return &Result{Content: []json.RawMessage{b}, IsError: isError}
}
