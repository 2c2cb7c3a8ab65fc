package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/weft-dev/weft/server"
)

// TestConsole: /ui serves the embedded console without a key, with the
// strict CSP on every asset; the Host and Origin checks apply; unknown
// files are problems; the data routes still need a key.
func TestConsole(t *testing.T) {
	hs := protectedServer(t, server.Options{})
	cases := []struct {
		name, path string
		hdr        []string
		status     int
		ctype      string
		contains   string
	}{
		{"index", "/ui/", nil, 200, "text/html; charset=utf-8", `<script defer src="app.js"></script>`},
		{"index by name", "/ui/index.html", nil, 200, "text/html; charset=utf-8", `<link rel="stylesheet" href="app.css">`},
		{"script", "/ui/app.js", nil, 200, "text/javascript; charset=utf-8", "sessionStorage"},
		{"stylesheet", "/ui/app.css", nil, 200, "text/css; charset=utf-8", "prefers-color-scheme"},
		{"unknown file", "/ui/nope.js", nil, 404, "application/problem+json", "no console file nope.js"},
		{"foreign origin", "/ui/", []string{"Origin", "https://evil.example"}, 403, "application/problem+json", "is not allowed"},
		{"rebinding host", "/ui/app.js", []string{"Host", "evil.example"}, 403, "application/problem+json", "not a loopback name"},
		{"data needs a key", "/v1/tools", nil, 401, "application/problem+json", "missing bearer token"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, h, body := req(t, "GET", hs.URL+c.path, "", "", c.hdr...)
			if status != c.status || h.Get("Content-Type") != c.ctype || !strings.Contains(body, c.contains) {
				t.Fatalf("GET %s: %d %q (want %d %q containing %q): %.300s", c.path, status, h.Get("Content-Type"), c.status, c.ctype, c.contains, body)
			}
			if status != 200 {
				return
			}
			csp := h.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self';", "frame-ancestors 'none'", "object-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe") {
				t.Errorf("CSP %q allows unsafe sources", csp)
			}
			if h.Get("X-Content-Type-Options") != "nosniff" || h.Get("X-Frame-Options") != "DENY" {
				t.Errorf("headers: %v", h)
			}
			// A revalidation with the ETag is a 304.
			st, _, _ := req(t, "GET", hs.URL+c.path, "", "", "If-None-Match", h.Get("ETag"))
			if st != http.StatusNotModified {
				t.Errorf("If-None-Match %s: %d, want 304", h.Get("ETag"), st)
			}
		})
	}
	// /ui redirects to /ui/ (a relative app.js must resolve under /ui/).
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(hs.URL + "/ui")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/ui/" {
		t.Fatalf("GET /ui: %d Location %q, want 301 /ui/", resp.StatusCode, resp.Header.Get("Location"))
	}
}
