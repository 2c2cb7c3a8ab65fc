package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source"
)

const (
	// maxToolPages guards against a server that never stops paginating.
	maxToolPages = 10000
	// maxServerDescription bounds a ServerDescription taken from the
	// server's initialize instructions.
	maxServerDescription = 500
)

// listTools fetches every page of tools/list and converts the tools.
func (u *Upstream) listTools(ctx context.Context, s *session) ([]catalog.Tool, error) {
	desc := u.cfg.Description
	if desc == "" {
		desc = truncate(strings.TrimSpace(s.instructions), maxServerDescription)
	}
	var out []catalog.Tool
	seen := map[string]bool{}
	cursors := map[string]bool{}
	params := &sdk.ListToolsParams{}
	for page := 0; ; page++ {
		if page == maxToolPages {
			return nil, fmt.Errorf("%w: tools/list did not end after %d pages", source.ErrProtocol, maxToolPages)
		}
		res, err := s.cs.ListTools(ctx, params)
		if err != nil {
			return nil, err
		}
		for _, t := range res.Tools {
			if t == nil {
				continue
			}
			if seen[t.Name] {
				u.log.Warn("upstream listed a tool twice; keeping the first", "tool", t.Name)
				continue
			}
			seen[t.Name] = true
			ct, err := convertTool(t, u.cfg.Name, desc, u.cfg.Tags)
			if err != nil {
				return nil, fmt.Errorf("%w: tool %q: %v", source.ErrProtocol, t.Name, err)
			}
			out = append(out, ct)
		}
		if res.NextCursor == "" {
			return out, nil
		}
		if cursors[res.NextCursor] {
			return nil, fmt.Errorf("%w: tools/list returned the same cursor twice", source.ErrProtocol)
		}
		cursors[res.NextCursor] = true
		params = &sdk.ListToolsParams{Cursor: res.NextCursor}
	}
}

// convertTool maps an MCP tool to a catalog tool (Name and Hash unset).
func convertTool(t *sdk.Tool, server, serverDesc string, tags []string) (catalog.Tool, error) {
	in, err := rawJSON(t.InputSchema)
	if err != nil {
		return catalog.Tool{}, fmt.Errorf("input schema: %w", err)
	}
	out, err := rawJSON(t.OutputSchema)
	if err != nil {
		return catalog.Tool{}, fmt.Errorf("output schema: %w", err)
	}
	return catalog.Tool{
		Original:          t.Name,
		Server:            server,
		ServerDescription: serverDesc,
		Title:             t.Title,
		Description:       t.Description,
		InputSchema:       in,
		OutputSchema:      out,
		Annotations:       convertAnnotations(t.Annotations),
		Tags:              slices.Clone(tags),
	}, nil
}

// convertAnnotations maps MCP tool annotations. The SDK decodes readOnlyHint
// and idempotentHint into plain bools, so "false" and "absent" look alike;
// both mean the protocol default (false), so false maps to unset.
func convertAnnotations(a *sdk.ToolAnnotations) *catalog.Annotations {
	if a == nil {
		return nil
	}
	c := &catalog.Annotations{Title: a.Title}
	if a.ReadOnlyHint {
		c.ReadOnlyHint = ptr(true)
	}
	if a.IdempotentHint {
		c.IdempotentHint = ptr(true)
	}
	if a.DestructiveHint != nil {
		c.DestructiveHint = ptr(*a.DestructiveHint)
	}
	if a.OpenWorldHint != nil {
		c.OpenWorldHint = ptr(*a.OpenWorldHint)
	}
	return c
}

// convertResult maps a CallToolResult, keeping every content block as raw JSON.
func convertResult(res *sdk.CallToolResult) (*source.Result, error) {
	if res == nil {
		return nil, fmt.Errorf("empty result")
	}
	r := &source.Result{IsError: res.IsError, Content: make([]json.RawMessage, 0, len(res.Content))}
	for i, c := range res.Content {
		if c == nil {
			return nil, fmt.Errorf("content block %d is null", i)
		}
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("content block %d: %w", i, err)
		}
		r.Content = append(r.Content, b)
	}
	var err error
	if r.StructuredContent, err = rawJSON(res.StructuredContent); err != nil {
		return nil, fmt.Errorf("structured content: %w", err)
	}
	if len(res.Meta) > 0 {
		if r.Meta, err = json.Marshal(res.Meta); err != nil {
			return nil, fmt.Errorf("_meta: %w", err)
		}
	}
	return r, nil
}

// rawJSON marshals v, keeping nil (and JSON null) as nil.
func rawJSON(v any) (json.RawMessage, error) {
	if v == nil {
		return nil, nil
	}
	if r, ok := v.(json.RawMessage); ok {
		if len(r) == 0 || string(r) == "null" {
			return nil, nil
		}
		return slices.Clone(r), nil
	}
	b, err := json.Marshal(v)
	if err != nil || string(b) == "null" {
		return nil, err
	}
	return b, nil
}

// truncate shortens s to at most n bytes on a word boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if i := strings.LastIndexAny(s[:cut], " \n\t"); i > cut/2 {
		cut = i
	}
	return strings.TrimSpace(s[:cut]) + "…"
}

func trimSpace(b []byte) []byte { return bytes.TrimSpace(b) }

func ptr[T any](v T) *T { return &v }
