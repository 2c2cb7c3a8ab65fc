package mcpgw

import (
	"bytes"
	"encoding/json"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/source"
)

// errorResult is a tool execution error: isError, with the error as JSON
// text — {"error": {"code", "message", "problems"}} — and no
// structuredContent. Structured content must conform to the tool's output
// schema, which describes successful results; clients that check it (the
// TypeScript SDK does) accept an error result only without it. The code
// and problems stay machine-readable in the text.
func errorResult(code, msg string, problems any) *sdk.CallToolResult {
	e := map[string]any{"code": code, "message": msg}
	if problems != nil && !isEmptySlice(problems) {
		e["problems"] = problems
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(map[string]any{"error": e}); err != nil {
		buf.Reset()
		buf.WriteString(`{"error":{"code":"internal","message":"encoding the error failed"}}`)
	}
	return &sdk.CallToolResult{
		Content: []sdk.Content{&sdk.TextContent{Text: strings.TrimRight(buf.String(), "\n")}},
		IsError: true,
	}
}

func isEmptySlice(v any) bool {
	b, err := json.Marshal(v)
	return err == nil && (string(b) == "[]" || string(b) == "null")
}

// toSDKResult converts an engine result, keeping every content block,
// structuredContent, isError and _meta as the upstream sent them.
func toSDKResult(r *source.Result) (*sdk.CallToolResult, error) {
	out := &sdk.CallToolResult{IsError: r.IsError, Content: make([]sdk.Content, 0, len(r.Content))}
	if len(r.StructuredContent) > 0 {
		out.StructuredContent = r.StructuredContent
	}
	if len(r.Meta) > 0 {
		if err := json.Unmarshal(r.Meta, &out.Meta); err != nil {
			return nil, err
		}
	}
	var other []json.RawMessage // blocks that need the SDK's own decoding
	for _, raw := range r.Content {
		if c, ok := plainText(raw); ok {
			out.Content = append(out.Content, c)
			continue
		}
		other = append(other, raw)
		out.Content = append(out.Content, nil) // filled below, in order
	}
	if len(other) > 0 {
		// Images, audio, resources, annotated blocks: let the SDK decode
		// them (its decoder is costly per call, hence the text fast path).
		b, err := json.Marshal(map[string]any{"content": other})
		if err != nil {
			return nil, err
		}
		var dec sdk.CallToolResult
		if err := json.Unmarshal(b, &dec); err != nil {
			return nil, err
		}
		j := 0
		for i, c := range out.Content {
			if c == nil {
				out.Content[i] = dec.Content[j]
				j++
			}
		}
	}
	return out, nil
}

// plainText decodes a content block that is just {"type":"text","text":…}.
func plainText(raw json.RawMessage) (sdk.Content, bool) {
	var b struct {
		Type        string          `json:"type"`
		Text        *string         `json:"text"`
		Annotations json.RawMessage `json:"annotations"`
		Meta        json.RawMessage `json:"_meta"`
	}
	if json.Unmarshal(raw, &b) != nil || b.Type != "text" || b.Text == nil || len(b.Annotations) > 0 || len(b.Meta) > 0 {
		return nil, false
	}
	return &sdk.TextContent{Text: *b.Text}, true
}

// firstParagraph shortens a description to its first paragraph.
func firstParagraph(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.Index(s, "\n\n"); i > 0 {
		s = strings.TrimSpace(s[:i])
	}
	return s
}
