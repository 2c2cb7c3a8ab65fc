// Package catalog owns weft's view of every tool: the Tool record, the naming
// rules that make every tool name unique and valid, immutable versioned
// Snapshots, argument validation against a tool's input schema, and rendering
// a tool as a compact TypeScript signature.
//
// Nothing in weft mutates a Tool in place: sources report tools, NewSnapshot
// names and orders them, and everybody else reads the resulting Snapshot.
package catalog

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
)

// Annotations are the MCP behaviour hints of a tool. Pointer fields are
// unset when the upstream did not say; use the accessor methods for the
// protocol's defaults.
type Annotations struct {
	Title           string `json:"title,omitempty"`
	ReadOnlyHint    *bool  `json:"readOnlyHint,omitempty"`
	DestructiveHint *bool  `json:"destructiveHint,omitempty"`
	IdempotentHint  *bool  `json:"idempotentHint,omitempty"`
	OpenWorldHint   *bool  `json:"openWorldHint,omitempty"`
}

// ReadOnly reports whether the tool declares it does not modify its environment (default false).
func (a *Annotations) ReadOnly() bool { return a != nil && a.ReadOnlyHint != nil && *a.ReadOnlyHint }

// Destructive reports whether the tool may perform destructive updates (default true unless read-only).
func (a *Annotations) Destructive() bool {
	if a.ReadOnly() {
		return false
	}
	return a == nil || a.DestructiveHint == nil || *a.DestructiveHint
}

// Idempotent reports whether repeated calls with the same arguments have no further effect (default false).
func (a *Annotations) Idempotent() bool {
	return a.ReadOnly() || (a != nil && a.IdempotentHint != nil && *a.IdempotentHint)
}

// OpenWorld reports whether the tool talks to an open world of external entities (default true).
func (a *Annotations) OpenWorld() bool {
	return a == nil || a.OpenWorldHint == nil || *a.OpenWorldHint
}

// Tool is one callable tool as weft knows it. Sources fill every field but
// Name and Hash; NewSnapshot assigns both.
type Tool struct {
	// Name is the catalog name, unique in a snapshot and always matching
	// ^[a-zA-Z0-9_-]{1,64}$ (see MakeName).
	Name string `json:"name"`
	// Original is the tool's name at its upstream, used when calling it.
	Original string `json:"original"`
	// Server is the name of the source (upstream) the tool comes from.
	Server string `json:"server"`
	// ServerDescription describes the upstream (from its initialize instructions or config), if known.
	ServerDescription string `json:"server_description,omitempty"`
	Title             string `json:"title,omitempty"`
	Description       string `json:"description,omitempty"`
	// InputSchema is the JSON Schema of the arguments object (draft-07 or 2020-12).
	InputSchema json.RawMessage `json:"input_schema,omitempty"`
	// OutputSchema is the JSON Schema of the structured result, if declared.
	OutputSchema json.RawMessage `json:"output_schema,omitempty"`
	Annotations  *Annotations    `json:"annotations,omitempty"`
	// Examples are example argument objects, if the source knows any.
	Examples []json.RawMessage `json:"examples,omitempty"`
	Tags     []string          `json:"tags,omitempty"`
	// Hash is a content hash over everything above but Name, so a snapshot
	// can tell which tools changed.
	Hash string `json:"hash"`
}

// DisplayTitle is the human-readable title: Title, else the annotations' title, else Original.
func (t *Tool) DisplayTitle() string {
	switch {
	case t.Title != "":
		return t.Title
	case t.Annotations != nil && t.Annotations.Title != "":
		return t.Annotations.Title
	}
	return t.Original
}

// ContentHash computes the hash stored in Tool.Hash.
func ContentHash(t *Tool) string {
	c := *t
	c.Name, c.Hash = "", ""
	c.Tags = slices.Clone(c.Tags)
	slices.Sort(c.Tags)
	b, _ := json.Marshal(&c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:12])
}
