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
	"encoding/binary"
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

// ContentHash computes the hash stored in Tool.Hash: SHA-256 (24 hex
// digits) over every field but Name and Hash, each length-prefixed, tags
// in sorted order. Equal hashes mean equal tools; it is compared within a
// process only (snapshot versions, change detection, the search cache),
// never stored.
func ContentHash(t *Tool) string {
	var buf [512]byte
	return hashKey(appendContentKey(buf[:0], t))
}

// hashKey is the ContentHash of an appendContentKey encoding.
func hashKey(key []byte) string {
	sum := sha256.Sum256(key)
	var hx [24]byte
	hex.Encode(hx[:], sum[:12])
	return string(hx[:])
}

// appendContentKey appends to b the length-prefixed encoding of every
// field of t but Name and Hash that ContentHash hashes.
func appendContentKey(b []byte, t *Tool) []byte {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	raw := func(r []byte) {
		b = binary.AppendUvarint(b, uint64(len(r)))
		b = append(b, r...)
	}
	str(t.Original)
	str(t.Server)
	str(t.ServerDescription)
	str(t.Title)
	str(t.Description)
	raw(t.InputSchema)
	raw(t.OutputSchema)
	if a := t.Annotations; a == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		str(a.Title)
		for _, h := range [...]*bool{a.ReadOnlyHint, a.DestructiveHint, a.IdempotentHint, a.OpenWorldHint} {
			switch {
			case h == nil:
				b = append(b, 0)
			case *h:
				b = append(b, 1)
			default:
				b = append(b, 2)
			}
		}
	}
	b = binary.AppendUvarint(b, uint64(len(t.Examples)))
	for _, e := range t.Examples {
		raw(e)
	}
	tags := t.Tags
	if !slices.IsSorted(tags) {
		tags = slices.Sorted(slices.Values(tags))
	}
	b = binary.AppendUvarint(b, uint64(len(tags)))
	for _, g := range tags {
		str(g)
	}
	return b
}
