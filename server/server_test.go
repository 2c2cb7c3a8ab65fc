package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/server"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

type echoIn struct {
	Message string `json:"message" jsonschema:"text to echo"`
	Count   int    `json:"count,omitempty" jsonschema:"repeat count"`
}

type sleepIn struct {
	Ms int `json:"ms"`
}

// sleepStarted receives a value when a call of fn__sleep starts (newServer
// makes it anew for each server).
var sleepStarted chan struct{}

// newServer builds a real orchestrator over a Go function source and serves it.
func newServer(t *testing.T, mutate func(*config.Config)) (*weft.Orchestrator, *httptest.Server, *server.Server) {
	t.Helper()
	started := make(chan struct{}, 100)
	sleepStarted = started
	fn := function.New("fn", "test functions")
	function.Must(function.Add(fn, "echo", "Echo a message", func(ctx context.Context, in echoIn) (string, error) {
		return strings.Repeat(in.Message, max(in.Count, 1)), nil
	}))
	function.Must(function.Add(fn, "fail", "Always fails", func(ctx context.Context, in struct{}) (string, error) {
		return "", errors.New("it broke")
	}))
	function.Must(function.Add(fn, "sleep", "Sleep", func(ctx context.Context, in sleepIn) (string, error) {
		select {
		case started <- struct{}{}:
		default:
		}
		select {
		case <-time.After(time.Duration(in.Ms) * time.Millisecond):
			return "done", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}))
	cfg := config.Default()
	cfg.Servers = nil
	cfg.Cache.Dir = t.TempDir()
	if mutate != nil {
		mutate(cfg)
	}
	o, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{fn}})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	srv := server.New(o, server.Options{MaxBodyBytes: 1024, RequestsPerMinute: 100000, MaxConcurrentPerClient: 1000})
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return o, hs, srv
}

func do(t *testing.T, method, url, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: body is not JSON: %q", method, url, b)
	}
	return resp.StatusCode, resp.Header, m
}

func TestREST(t *testing.T) {
	_, hs, _ := newServer(t, func(c *config.Config) { c.Limits.ToolTimeout = config.Duration(100 * time.Millisecond) })
	u := hs.URL
	cases := []struct {
		name, method, path, body string
		status                   int
		contentType              string
		check                    func(t *testing.T, m map[string]any)
	}{
		{"healthz", "GET", "/healthz", "", 200, "application/json", func(t *testing.T, m map[string]any) {
			if m["status"] != "ok" {
				t.Fatal(m)
			}
		}},
		{"health (alias of healthz)", "GET", "/health", "", 200, "application/json", func(t *testing.T, m map[string]any) {
			if m["status"] != "ok" || m["uptime_s"] == nil {
				t.Fatal(m)
			}
		}},
		{"readyz", "GET", "/readyz", "", 200, "application/json", func(t *testing.T, m map[string]any) {
			if m["ready"] != true || m["tools"] != 3.0 {
				t.Fatal(m)
			}
			if up := m["upstreams"].(map[string]any)["fn"].(map[string]any); up["state"] != "ready" {
				t.Fatal(up)
			}
		}},
		{"list", "GET", "/v1/tools", "", 200, "application/json", func(t *testing.T, m map[string]any) {
			tools := m["tools"].([]any)
			if len(tools) != 3 || tools[0].(map[string]any)["name"] != "fn__echo" || m["next_cursor"] != nil {
				t.Fatal(m)
			}
		}},
		{"get", "GET", "/v1/tools/fn__echo", "", 200, "application/json", func(t *testing.T, m map[string]any) {
			if m["original"] != "echo" || m["signature"] == "" || m["input_schema"] == nil {
				t.Fatal(m)
			}
		}},
		{"call", "POST", "/v1/tools/fn__echo/call", `{"message":"ab","count":2}`, 200, "application/json", func(t *testing.T, m map[string]any) {
			c := m["content"].([]any)[0].(map[string]any)
			if c["text"] != `"abab"` || m["isError"] != nil {
				t.Fatal(m)
			}
		}},
		{"tool error intact", "POST", "/v1/tools/fn__fail/call", `{}`, 200, "application/json", func(t *testing.T, m map[string]any) {
			if m["isError"] != true || m["content"].([]any)[0].(map[string]any)["text"] != "it broke" {
				t.Fatal(m)
			}
		}},
		{"unknown tool get", "GET", "/v1/tools/nope", "", 404, "application/problem+json", nil},
		{"unknown tool call", "POST", "/v1/tools/nope/call", `{}`, 404, "application/problem+json", func(t *testing.T, m map[string]any) {
			if m["code"] != "unknown_tool" || m["detail"] != "nope: no such tool in the catalog" {
				t.Fatal(m)
			}
		}},
		{"malformed json", "POST", "/v1/tools/fn__echo/call", "{\n  \"message\": ", 400, "application/problem+json", func(t *testing.T, m map[string]any) {
			if m["code"] != "invalid_json" || !strings.Contains(m["detail"].(string), "line 2") {
				t.Fatal(m)
			}
		}},
		{"schema violation", "POST", "/v1/tools/fn__echo/call", `{"count":"x"}`, 400, "application/problem+json", func(t *testing.T, m map[string]any) {
			probs := m["problems"].([]any)
			if m["code"] != "invalid_arguments" || len(probs) != 2 {
				t.Fatal(m)
			}
			if p := probs[0].(map[string]any); p["path"] != "" || p["rule"] != "required: missing property 'message'" {
				t.Fatal(p)
			}
			if p := probs[1].(map[string]any); p["path"] != "/count" || p["rule"] != "type: got string, want integer" {
				t.Fatal(p)
			}
		}},
		{"args not an object", "POST", "/v1/tools/fn__echo/call", `[1,2]`, 400, "application/problem+json", nil},
		{"timeout", "POST", "/v1/tools/fn__sleep/call", `{"ms":5000}`, 504, "application/problem+json", func(t *testing.T, m map[string]any) {
			if m["code"] != "timeout" {
				t.Fatal(m)
			}
		}},
		{"body too large", "POST", "/v1/tools/fn__echo/call", `{"message":"` + strings.Repeat("x", 2000) + `"}`, 413, "application/problem+json", nil},
		{"bad limit", "GET", "/v1/tools?limit=0", "", 400, "application/problem+json", nil},
		{"bad cursor", "GET", "/v1/tools?cursor=!!!", "", 400, "application/problem+json", nil},
		{"no route", "GET", "/v2/nothing", "", 404, "application/problem+json", nil},
		{"wrong method", "DELETE", "/v1/tools/fn__echo", "", 405, "application/problem+json", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, u+c.path, strings.NewReader(c.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.status, b)
			}
			if c.contentType != "" && resp.Header.Get("Content-Type") != c.contentType {
				t.Fatalf("content type %q, want %q", resp.Header.Get("Content-Type"), c.contentType)
			}
			if c.check != nil {
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatalf("not JSON: %s", b)
				}
				c.check(t, m)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	_, hs, _ := newServer(t, nil)
	var names []string
	cursor := ""
	for page := 0; page < 5; page++ {
		url := hs.URL + "/v1/tools?limit=2"
		if cursor != "" {
			url += "&cursor=" + cursor
		}
		_, _, m := do(t, "GET", url, "")
		for _, tl := range m["tools"].([]any) {
			names = append(names, tl.(map[string]any)["name"].(string))
		}
		next, _ := m["next_cursor"].(string)
		if next == "" {
			break
		}
		cursor = next
	}
	if strings.Join(names, ",") != "fn__echo,fn__fail,fn__sleep" {
		t.Fatalf("pages gave %v", names)
	}
}

// TestBadInputLosesNothing: a burst of malformed requests does not disturb
// concurrent good ones.
func TestBadInputLosesNothing(t *testing.T) {
	_, hs, _ := newServer(t, nil)
	var wg sync.WaitGroup
	bad := []string{`{`, `nul`, `"x"`, `{"message":1}`, strings.Repeat("[", 5000)}
	errs := make(chan string, 200)
	for i := range 100 {
		wg.Go(func() {
			if i%2 == 0 {
				resp, err := http.Post(hs.URL+"/v1/tools/fn__echo/call", "application/json", strings.NewReader(bad[i%len(bad)]))
				if err != nil {
					errs <- err.Error()
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 400 && resp.StatusCode != 413 {
					errs <- "bad input got " + resp.Status
				}
				return
			}
			resp, err := http.Post(hs.URL+"/v1/tools/fn__echo/call", "application/json", strings.NewReader(`{"message":"ok"}`))
			if err != nil {
				errs <- err.Error()
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`\"ok\"`)) {
				errs <- "good input got " + resp.Status + " " + string(b)
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestGracefulShutdownDrains: on shutdown, in-flight calls finish and
// /readyz turns 503 meanwhile; new connections are refused afterwards.
func TestGracefulShutdownDrains(t *testing.T) {
	o, _, _ := newServer(t, nil)
	srv := server.New(o, server.Options{ShutdownTimeout: 5 * time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln, nil) }()
	base := "http://" + ln.Addr().String()

	result := make(chan string, 1)
	go func() {
		resp, err := http.Post(base+"/v1/tools/fn__sleep/call", "application/json", strings.NewReader(`{"ms":300}`))
		if err != nil {
			result <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		result <- resp.Status + " " + string(b)
	}()
	<-sleepStarted // the call is in flight
	cancel()
	if got := <-result; !strings.HasPrefix(got, "200 OK") || !strings.Contains(got, `\"done\"`) {
		t.Fatalf("in-flight call: %s", got)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Fatal("server still accepting after shutdown")
	}
}

func TestMetrics(t *testing.T) {
	_, hs, _ := newServer(t, nil)
	do(t, "POST", hs.URL+"/v1/tools/fn__echo/call", `{"message":"m"}`)
	do(t, "POST", hs.URL+"/v1/tools/fn__fail/call", `{}`)
	resp, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`weft_tool_calls_total{caller="rest",code="",outcome="ok",server="fn",tool="fn__echo"} 1`,
		`weft_tool_calls_total{caller="rest",code="",outcome="tool_error",server="fn",tool="fn__fail"} 1`,
		`weft_tool_call_duration_seconds_count{outcome="ok",server="fn"} 1`,
		`weft_http_request_duration_seconds_count{method="POST",route="POST /v1/tools/{name}/call",status="200"} 2`,
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}
