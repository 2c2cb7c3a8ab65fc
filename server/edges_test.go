package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/server"
)

// serve runs srv on a real listener (with the connection-level handling of
// Server.Serve, unlike httptest) and returns its address.
func serve(t *testing.T, srv *server.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return ln.Addr().String()
}

// problemOf decodes a problem+json body, failing the test when the
// response is not one.
func problemOf(t *testing.T, contentType, body string) map[string]any {
	t.Helper()
	if contentType != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json: %.300s", contentType, body)
	}
	var p map[string]any
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("problem is not JSON: %.300s", body)
	}
	return p
}

// TestMetricsBoundedLabels (issue 9 #9): calls of thousands of random
// 30 KB names (and requests with made-up methods) leave /metrics small:
// unknown names are one "unknown" label, methods outside the standard ones
// one "OTHER" label, routes are patterns.
func TestMetricsBoundedLabels(t *testing.T) {
	_, hs, _ := newServer(t, nil)
	long := strings.Repeat("n", 30_000)
	for i := range 300 {
		status, _, body := req(t, "POST", fmt.Sprintf("%s/v1/tools/%s%d/call", hs.URL, long, i), "", `{}`)
		if status != 404 {
			t.Fatalf("unknown tool: %d %.200s", status, body)
		}
		if len(body) > 2000 {
			t.Fatalf("the error echoes the name: %d bytes", len(body))
		}
		req(t, fmt.Sprintf("M%d", i), hs.URL+"/v1/tools", "", "")
	}
	req(t, "POST", hs.URL+"/v1/tools/fn__echo/call", "", `{"message":"m"}`)
	status, _, metrics := req(t, "GET", hs.URL+"/metrics", "", "")
	if status != 200 {
		t.Fatal(status)
	}
	if len(metrics) > 200_000 || strings.Contains(metrics, "nnnnnnnnnn") || strings.Contains(metrics, `method="M1"`) {
		t.Fatalf("/metrics is %d bytes and carries caller-chosen names", len(metrics))
	}
	for _, want := range []string{
		`weft_tool_calls_total{caller="rest",code="unknown_tool",outcome="error",server="none",tool="unknown"} 300`,
		`weft_tool_calls_total{caller="rest",code="",outcome="ok",server="fn",tool="fn__echo"} 1`,
		`weft_http_request_duration_seconds_count{method="POST",route="POST /v1/tools/{name}/call",status="404"} 300`,
		`weft_http_request_duration_seconds_count{method="OTHER",route="unmatched",status="405"} 300`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestReadyzDetailsNeedAKey (issue 9 #18): an anonymous probe learns only
// ready or not (and a terse reason); upstream details (process ids, stderr)
// need an API key, and cover only the servers the key may see.
func TestReadyzDetailsNeedAKey(t *testing.T) {
	hs := protectedServer(t, server.Options{})
	status, _, body := req(t, "GET", hs.URL+"/readyz", "", "")
	if status != 200 || body != "{\"ready\":true}\n" {
		t.Fatalf("anonymous: %d %s", status, body)
	}
	if _, _, body := req(t, "GET", hs.URL+"/readyz", "wrong-key", ""); body != "{\"ready\":true}\n" {
		t.Fatalf("wrong key: %s", body)
	}
	_, _, body = req(t, "GET", hs.URL+"/readyz", "admin-key", "")
	var rd weft.Readiness
	if err := json.Unmarshal([]byte(body), &rd); err != nil || len(rd.Upstreams) != 2 || rd.Tools == 0 {
		t.Fatalf("admin: %v %s", err, body)
	}
	_, _, body = req(t, "GET", hs.URL+"/readyz", "reader-key", "")
	rd = weft.Readiness{}
	if err := json.Unmarshal([]byte(body), &rd); err != nil || len(rd.Upstreams) != 1 || rd.Upstreams["pub"].State == "" {
		t.Fatalf("reader (scope: pub): %v %s", err, body)
	}
}

// TestReadyzWithoutKeys: a server without API keys shows details to
// loopback clients only (a --insecure server's other clients get the
// terse answer).
func TestReadyzWithoutKeys(t *testing.T) {
	_, hs, srv := newServer(t, nil)
	if _, _, body := req(t, "GET", hs.URL+"/readyz", "", ""); !strings.Contains(body, `"upstreams"`) {
		t.Fatalf("loopback client: %s", body)
	}
	r := httptest.NewRequest("GET", "/readyz", nil)
	r.RemoteAddr, r.Host = "203.0.113.7:40000", "198.51.100.1:8080"
	w := httptest.NewRecorder()
	srv.ServeHTTP(w, r)
	if w.Code != 200 || w.Body.String() != "{\"ready\":true}\n" {
		t.Fatalf("remote client: %d %s", w.Code, w.Body)
	}
}

// TestErrorsAreProblems (issue 9 #20): every error is problem+json, says
// where the input is wrong, and echoes input clipped.
func TestErrorsAreProblems(t *testing.T) {
	_, hs, _ := newServer(t, func(c *config.Config) { c.Server.MaxBodyBytes = 1 << 20 })
	huge := strings.Repeat("t", 100_000)
	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
		detail                   []string
	}{
		{"number out of range", "POST", "/v1/tools/fn__echo/call", "{\n  \"message\": \"x\", \"count\": 1e999}", 400, "invalid_json",
			[]string{"number 1e999 out of range", "line 2, column 28"}},
		{"negative number out of range", "POST", "/v1/code", `{"code": "1", "limits": {"timeout_ms": -2e400}}`, 400, "invalid_json",
			[]string{"number -2e400 out of range", "line 1, column 40"}},
		{"invalid UTF-8 rejected", "POST", "/v1/tools/fn__echo/call", "{\"message\": \"caf\xe9\"}", 400, "invalid_json",
			[]string{"not valid UTF-8: byte 0xe9 at line 1, column 17"}},
		{"invalid UTF-8 in a query", "GET", "/v1/search?q=caf%E9", "", 400, "invalid_query", []string{`query parameter "q" is not valid UTF-8`}},
		{"invalid UTF-8 in the path", "GET", "/v1/tools/caf%E9", "", 400, "invalid_query", []string{"path is not valid UTF-8 (byte 0xe9 at offset 13"}},
		{"syntax error position", "POST", "/v1/tools/fn__echo/call", "{\"message\": \"a\",\n}", 400, "invalid_json",
			[]string{"line 2, column 1"}},
		{"non-canonical path not redirected", "GET", "//v1//tools", "", 404, "not_found", []string{"did you mean /v1/tools?"}},
		{"dot segments", "GET", "/v1/./tools/../tools", "", 404, "not_found", []string{"did you mean /v1/tools?"}},
		{"MCP transport error", "GET", "/mcp", "", 400, "bad_request", []string{"text/event-stream"}},
		{"MCP missing session", "DELETE", "/mcp", "", 400, "bad_request", []string{"Mcp-Session-Id"}},
		{"unknown run status filter", "GET", "/v1/runs?status=done", "", 400, "invalid_query",
			[]string{`status: "done": not a run status (allowed: running, succeeded, failed, canceled, interrupted)`}},
		{"100 KB run id", "GET", "/v1/runs/" + huge, "", 404, "unknown_run", []string{"no run", "…(+"}},
		{"100 KB typings name", "GET", "/v1/typings?tools=" + huge, "", 404, "unknown_tool", []string{"…(+"}},
		{"100 KB tool name, get", "GET", "/v1/tools/" + huge, "", 404, "unknown_tool", []string{"no such tool in the catalog", "…(+"}},
		{"100 KB tool name, call", "POST", "/v1/tools/" + huge + "/call", "{}", 404, "unknown_tool", []string{"no such tool in the catalog", "…(+"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := req(t, c.method, hs.URL+c.path, "", c.body)
			p := problemOf(t, hdr.Get("Content-Type"), body)
			if status != c.status || p["code"] != c.code {
				t.Fatalf("%d %v, want %d %s: %.400s", status, p["code"], c.status, c.code, body)
			}
			for _, want := range c.detail {
				if !strings.Contains(p["detail"].(string), want) {
					t.Fatalf("detail %q lacks %q", p["detail"], want)
				}
			}
			if len(body) > 2000 {
				t.Fatalf("%d bytes: input echoed unclipped", len(body))
			}
		})
	}
}

// rawExchange writes a raw request to addr and returns the raw response.
func rawExchange(t *testing.T, addr, request string) (*http.Response, string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second)) // a correctness bound
	go io.WriteString(c, request)                   // may be cut short by the server's answer
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("reading the response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestTransportErrorsAreProblems (issue 9 #20): what net/http answers
// before any handler runs — headers too large, a negative Content-Length,
// an unknown transfer encoding — is problem+json too.
func TestTransportErrorsAreProblems(t *testing.T) {
	o, _, _ := newServer(t, nil)
	addr := serve(t, server.New(o, server.Options{}))
	cases := []struct {
		name, request string
		status        int
		code          string
	}{
		{"431", "GET /v1/tools HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + strings.Repeat("b", 2<<20) + "\r\n\r\n", 431, "request_header_fields_too_large"},
		{"negative Content-Length", "POST /v1/tools/fn__echo/call HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n{}", 400, "bad_request"},
		{"unknown transfer encoding", "POST /v1/tools/fn__echo/call HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: rot13\r\n\r\n{}", 501, "not_implemented"},
		{"missing Host", "GET /v1/tools HTTP/1.1\r\n\r\n", 400, "bad_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := rawExchange(t, addr, c.request)
			p := problemOf(t, resp.Header.Get("Content-Type"), body)
			if resp.StatusCode != c.status || p["code"] != c.code || p["detail"] == "" {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
		})
	}
	// A normal request on the same server is untouched.
	resp, body := rawExchange(t, addr, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
	if resp.StatusCode != 200 || !strings.Contains(body, `"ok"`) {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
}

// TestSlowBodiesEnd (issue 9 #20): connections that send their body too
// slowly end with 408 at server.read_timeout instead of being held;
// server-sent event streams outlive the read timeout.
func TestSlowBodiesEnd(t *testing.T) {
	o, _, _ := newServer(t, nil)
	const readTimeout = 300 * time.Millisecond
	addr := serve(t, server.New(o, server.Options{ReadTimeout: readTimeout, RequestsPerMinute: 100000, MaxConcurrentPerClient: 1000}))

	// A stream longer than the read timeout: the events of a run whose
	// step sleeps 4 read timeouts.
	base := "http://" + addr
	status, _, body := req(t, "POST", base+"/v1/runs", "", `{"plan": {"steps":[{"id":"s","tool":"fn__sleep","args":{"ms":1200}}]}}`)
	if status != 202 {
		t.Fatalf("start run: %d %s", status, body)
	}
	var run struct{ ID string }
	json.Unmarshal([]byte(body), &run)
	stream := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/v1/runs/" + run.ID + "/events")
		if err != nil {
			stream <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		stream <- fmt.Sprint(string(b), err)
	}()

	const conns = 50
	type result struct {
		status int
		err    error
		took   time.Duration
	}
	results := make(chan result, conns)
	for range conns {
		go func() {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				results <- result{err: err}
				return
			}
			defer c.Close()
			start := time.Now()
			c.SetDeadline(start.Add(readTimeout + 10*time.Second)) // a correctness bound
			// Headers promise 100 bytes; 10 arrive; the rest never does.
			io.WriteString(c, "POST /v1/tools/fn__echo/call HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"message\"")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				results <- result{err: err}
				return
			}
			resp.Body.Close()
			results <- result{status: resp.StatusCode, took: time.Since(start)}
		}()
	}
	for range conns {
		r := <-results
		if r.err != nil || r.status != http.StatusRequestTimeout {
			t.Fatalf("slow body: status %d, err %v; want 408", r.status, r.err)
		}
		if r.took > readTimeout+5*time.Second {
			t.Fatalf("slow body held %s, beyond the read timeout (%s) + 5 s", r.took, readTimeout)
		}
	}
	if got := <-stream; !strings.Contains(got, "event: run_finished") || !strings.Contains(got, `"status":"succeeded"`) || !strings.HasSuffix(got, "<nil>") {
		t.Fatalf("event stream cut: %s", got)
	}
}

// TestAllowedHosts (issue 9 #20): the names in server.allowed_hosts are
// answered, other names are refused (DNS rebinding), whatever the request's
// own Host and Origin say.
func TestAllowedHosts(t *testing.T) {
	_, hs, _ := newServer(t, func(c *config.Config) { c.Server.AllowedHosts = []string{"weft.internal.example"} })
	cases := []struct {
		hdr    []string
		status int
	}{
		{[]string{"Host", "weft.internal.example:8080"}, 200},
		{[]string{"Host", "localhost"}, 200},
		{[]string{"Host", "evil.example", "Origin", "http://evil.example"}, 403},
		{[]string{"Host", "weft.internal.example.evil.example"}, 403},
	}
	for _, c := range cases {
		status, hdr, body := req(t, "GET", hs.URL+"/v1/tools", "", "", c.hdr...)
		if status != c.status {
			t.Fatalf("%v: %d %s", c.hdr, status, body)
		}
		if status == 403 {
			if p := problemOf(t, hdr.Get("Content-Type"), body); p["code"] != "forbidden_host" {
				t.Fatalf("%v: %s", c.hdr, body)
			}
		}
	}
}

// TestMCPOutlivesReadTimeout: an MCP call whose answer comes later than
// server.read_timeout (streamed as server-sent events after the request
// body was read) is not cut by the read deadline.
func TestMCPOutlivesReadTimeout(t *testing.T) {
	o, _, _ := newServer(t, nil)
	const readTimeout = 300 * time.Millisecond
	addr := serve(t, server.New(o, server.Options{ReadTimeout: readTimeout}))
	c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil)
	cs, err := c.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: "http://" + addr + "/mcp"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "call_tool",
		Arguments: map[string]any{"name": "fn__sleep", "arguments": map[string]any{"ms": 4 * readTimeout.Milliseconds()}}})
	if err != nil || res.IsError {
		t.Fatalf("call_tool across the read timeout: %v %+v", err, res)
	}
	if b, _ := json.Marshal(res.Content); !strings.Contains(string(b), "done") {
		t.Fatalf("result %s", b)
	}
}
