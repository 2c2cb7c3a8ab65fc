package mcp

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

func TestConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		err  string // substring; "" means valid
	}{
		{"stdio inferred", Config{Name: "a", Command: "x"}, ""},
		{"http inferred", Config{Name: "a", URL: "https://h/mcp"}, ""},
		{"sse", Config{Name: "a", Transport: "sse", URL: "http://h/sse"}, ""},
		{"no name", Config{Command: "x"}, "invalid server name"},
		{"nothing", Config{Name: "a"}, "neither command"},
		{"stdio without command", Config{Name: "a", Transport: "stdio"}, "needs a command"},
		{"stdio with url", Config{Name: "a", Transport: "stdio", Command: "x", URL: "http://h"}, "not a url"},
		{"http without url", Config{Name: "a", Transport: "http"}, "needs a url"},
		{"http with command", Config{Name: "a", Transport: "http", URL: "http://h", Command: "x"}, "not a command"},
		{"bad url", Config{Name: "a", URL: "ftp://h"}, "http:// or https://"},
		{"relative url", Config{Name: "a", URL: "/mcp"}, "http:// or https://"},
		{"bad transport", Config{Name: "a", Transport: "ws", URL: "http://h"}, `unknown transport "ws"`},
		{"negative", Config{Name: "a", Command: "x", ConnectTimeout: -1}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, nil)
			if tc.err == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("err = %v, want %q", err, tc.err)
			}
		})
	}
	c, _ := Config{Name: "a", Command: "x", RestartBackoff: time.Minute}.normalize()
	if c.ConnectTimeout != 10*time.Second || c.MaxRestartBackoff != time.Minute || c.Transport != "stdio" {
		t.Fatalf("defaults = %+v", c)
	}
}

func TestBackoff(t *testing.T) {
	base, max := 100*time.Millisecond, time.Second
	for n, want := range map[int]time.Duration{1: 100, 2: 200, 3: 400, 4: 800, 5: 1000, 50: 1000} {
		want *= time.Millisecond
		for range 50 {
			if d := backoff(n, base, max); d < want/2 || d > want {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", n, d, want/2, want)
			}
		}
	}
}

func TestRedact(t *testing.T) {
	r := newRedactor(Config{
		Env:     map[string]string{"API_TOKEN": "abcd", "MODE": "debug", "DATABASE_URL": "postgres://u:p@db/x"},
		Headers: map[string]string{"Authorization": "Bearer tok123"},
		URL:     "https://user:pw1234@h/mcp?key=qv12345",
	})
	got := r.redact("abcd debug postgres://u:p@db/x Bearer tok123 tok123 pw1234 qv12345")
	want := "[redacted] debug [redacted] [redacted] [redacted] [redacted] [redacted]"
	if got != want {
		t.Fatalf("redact = %q, want %q", got, want)
	}
}

func TestTruncate(t *testing.T) {
	if got := truncate("short", 10); got != "short" {
		t.Fatal(got)
	}
	got := truncate(strings.Repeat("héllo wörld ", 100), 500)
	if len(got) > 500 || !strings.HasSuffix(got, "wörld…") && !strings.HasSuffix(got, "héllo…") {
		t.Fatalf("truncate = %q (%d bytes)", got, len(got))
	}
}

func TestConvertResult(t *testing.T) {
	res := &sdk.CallToolResult{
		Content: []sdk.Content{
			&sdk.TextContent{Text: "hi"},
			&sdk.ImageContent{Data: []byte{1, 2}, MIMEType: "image/png"},
			&sdk.EmbeddedResource{Resource: &sdk.ResourceContents{URI: "file:///x", Text: "body"}},
		},
		StructuredContent: map[string]any{"n": 1},
		IsError:           true,
		Meta:              sdk.Meta{"trace": "t1"},
	}
	r, err := convertResult(res)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`{"type":"text","text":"hi"}`,
		`{"type":"image","mimeType":"image/png","data":"AQI="}`,
		`{"type":"resource","resource":{"uri":"file:///x","text":"body"}}`,
	}
	for i, w := range want {
		if string(r.Content[i]) != w {
			t.Errorf("content %d = %s, want %s", i, r.Content[i], w)
		}
	}
	if string(r.StructuredContent) != `{"n":1}` || string(r.Meta) != `{"trace":"t1"}` || !r.IsError || r.Text() != "hi" {
		t.Fatalf("result = %+v", r)
	}
	r, err = convertResult(&sdk.CallToolResult{})
	if err != nil || len(r.Content) != 0 || r.Content == nil || r.StructuredContent != nil || r.Meta != nil {
		t.Fatalf("empty result = %+v, %v", r, err)
	}
	b, _ := json.Marshal(r)
	if string(b) != `{"content":[]}` {
		t.Fatalf("empty result JSON = %s", b)
	}
}

func TestConvertAnnotations(t *testing.T) {
	if convertAnnotations(nil) != nil {
		t.Fatal("nil annotations")
	}
	a := convertAnnotations(&sdk.ToolAnnotations{Title: "T", DestructiveHint: ptr(false), OpenWorldHint: ptr(true)})
	if a.Title != "T" || a.ReadOnlyHint != nil || a.IdempotentHint != nil || *a.DestructiveHint || !*a.OpenWorldHint {
		t.Fatalf("annotations = %+v", a)
	}
	a = convertAnnotations(&sdk.ToolAnnotations{ReadOnlyHint: true, IdempotentHint: true})
	if !a.ReadOnly() || !a.Idempotent() || a.Destructive() || !a.OpenWorld() {
		t.Fatalf("annotations = %+v", a)
	}
}
