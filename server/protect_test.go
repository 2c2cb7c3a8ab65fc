package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/server"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// slowStarted counts calls of priv__slow that have started.
var slowStarted atomic.Int64

// protectedServer serves two function sources behind API keys: "admin"
// may use everything, "reader" only the tools of server "pub".
func protectedServer(t *testing.T, opts server.Options, mutate ...func(*config.Config)) *httptest.Server {
	t.Helper()
	pub := function.New("pub", "public tools")
	function.Must(function.Add(pub, "hello", "Say hello", func(ctx context.Context, in struct{}) (string, error) { return "hello", nil }))
	priv := function.New("priv", "private tools")
	function.Must(function.Add(priv, "secret", "Return a secret", func(ctx context.Context, in struct{}) (string, error) { return "s3cr3t", nil }))
	slowStarted.Store(0)
	function.Must(function.Add(priv, "slow", "Sleep", func(ctx context.Context, in struct{ Ms int }) (string, error) {
		slowStarted.Add(1)
		time.Sleep(time.Duration(in.Ms) * time.Millisecond)
		return "ok", nil
	}))
	cfg := config.Default()
	cfg.Servers = nil
	cfg.Cache.Dir = t.TempDir()
	for _, m := range mutate {
		m(cfg)
	}
	o, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{pub, priv}})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if opts.APIKeys == nil {
		opts.APIKeys = []config.APIKey{
			{Name: "admin", Hash: server.HashKey("admin-key")},
			{Name: "reader", Hash: server.HashKey("reader-key"), Servers: []string{"pub"}},
		}
	}
	hs := httptest.NewServer(server.New(o, opts))
	t.Cleanup(hs.Close)
	return hs
}

func req(t *testing.T, method, url, key, body string, hdr ...string) (int, http.Header, string) {
	t.Helper()
	r, _ := http.NewRequest(method, url, strings.NewReader(body))
	if key != "" {
		r.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			r.Host = hdr[i+1]
			continue
		}
		r.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func TestAuthAndScopes(t *testing.T) {
	hs := protectedServer(t, server.Options{})
	u := hs.URL
	cases := []struct {
		name, method, path, key, body string
		status                        int
		contains                      string
		absent                        string
	}{
		{"health needs no key", "GET", "/healthz", "", "", 200, `"ok"`, ""},
		{"ready needs no key", "GET", "/readyz", "", "", 200, `"ready":true`, ""},
		{"missing key", "GET", "/v1/tools", "", "", 401, "missing bearer token", ""},
		{"wrong key", "GET", "/v1/tools", "nope", "", 401, "invalid API key", ""},
		{"admin sees all", "GET", "/v1/tools", "admin-key", "", 200, "priv__secret", ""},
		{"reader sees pub only", "GET", "/v1/tools", "reader-key", "", 200, "pub__hello", "priv__"},
		{"reader cannot get priv", "GET", "/v1/tools/priv__secret", "reader-key", "", 404, "unknown_tool", "s3cr3t"},
		{"reader cannot call priv", "POST", "/v1/tools/priv__secret/call", "reader-key", "{}", 404, "no such tool in the catalog", "s3cr3t"},
		{"reader calls pub", "POST", "/v1/tools/pub__hello/call", "reader-key", "{}", 200, "hello", ""},
		{"admin calls priv", "POST", "/v1/tools/priv__secret/call", "admin-key", "{}", 200, "s3cr3t", ""},
		{"reader search filtered", "GET", "/v1/search?q=secret", "reader-key", "", 200, `"results"`, "priv__"},
		{"admin search", "GET", "/v1/search?q=secret", "admin-key", "", 200, "priv__secret", ""},
		{"reader typings of priv", "GET", "/v1/typings?tools=priv__secret", "reader-key", "", 404, "unknown_tool", ""},
		{"reader code cannot reach priv", "POST", "/v1/code", "reader-key", `{"code":"return await callTool('priv__secret', {})"}`, 200, "unknown_tool", "s3cr3t"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, hdr, body := req(t, c.method, u+c.path, c.key, c.body)
			if status != c.status || !strings.Contains(body, c.contains) || (c.absent != "" && strings.Contains(body, c.absent)) {
				t.Fatalf("status %d (want %d)\nbody: %s\nwant ⊇ %q, ∌ %q", status, c.status, body, c.contains, c.absent)
			}
			if status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

func TestRateLimitPerClient(t *testing.T) {
	hs := protectedServer(t, server.Options{RequestsPerMinute: 5})
	for i := range 5 {
		if status, _, body := req(t, "GET", hs.URL+"/v1/tools", "reader-key", ""); status != 200 {
			t.Fatalf("request %d: %d %s", i, status, body)
		}
	}
	status, hdr, body := req(t, "GET", hs.URL+"/v1/tools", "reader-key", "")
	if status != 429 || hdr.Get("Retry-After") != "12" || !strings.Contains(body, "exceeded 5 requests per minute") {
		t.Fatalf("6th request: %d Retry-After=%q %s", status, hdr.Get("Retry-After"), body)
	}
	// Another client has its own budget; health checks are never limited.
	if status, _, _ := req(t, "GET", hs.URL+"/v1/tools", "admin-key", ""); status != 200 {
		t.Fatalf("admin limited by reader's budget: %d", status)
	}
	if status, _, _ := req(t, "GET", hs.URL+"/healthz", "", ""); status != 200 {
		t.Fatal("healthz rate limited")
	}
}

func TestConcurrencyPerClient(t *testing.T) {
	hs := protectedServer(t, server.Options{MaxConcurrentPerClient: 2, RequestsPerMinute: 1000})
	// Two long calls hold the client's two slots...
	held := make(chan int, 2)
	for range 2 {
		go func() {
			status, _, _ := req(t, "POST", hs.URL+"/v1/tools/priv__slow/call", "admin-key", `{"Ms":3000}`)
			held <- status
		}()
	}
	// ...(wait until both are in flight, as the server's metrics show)...
	waitInFlight(t, 2)
	// ...so further requests of that client are refused at once, while
	// another client is not affected.
	for range 4 {
		if status, hdr, body := req(t, "POST", hs.URL+"/v1/tools/pub__hello/call", "admin-key", `{}`); status != 429 || hdr.Get("Retry-After") != "1" {
			t.Fatalf("third concurrent request: %d %s", status, body)
		}
	}
	if status, _, _ := req(t, "POST", hs.URL+"/v1/tools/pub__hello/call", "reader-key", `{}`); status != 200 {
		t.Fatalf("another client: %d", status)
	}
	for range 2 {
		if s := recv(t, held); s != 200 {
			t.Fatalf("held call: %d", s)
		}
	}
}

// waitInFlight waits until n tool calls of priv__slow have started.
func waitInFlight(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if slowStarted.Load() >= int64(n) {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("only %d calls in flight", slowStarted.Load())
}

func TestHostOriginAndBodyLimits(t *testing.T) {
	hs := protectedServer(t, server.Options{AllowedOrigins: []string{"https://app.example"}, MaxJSONDepth: 8, MaxStringBytes: 100})
	cases := []struct {
		name     string
		hdr      []string
		body     string
		status   int
		contains string
	}{
		{"rebinding host", []string{"Host", "evil.example:8080"}, "{}", 403, "not a loopback name"},
		{"localhost host ok", []string{"Host", "localhost:1234"}, "{}", 200, "hello"},
		{"foreign origin", []string{"Origin", "https://evil.example"}, "{}", 403, "is not allowed"},
		{"allowed origin", []string{"Origin", "https://app.example"}, "{}", 200, "hello"},
		{"too deep", nil, `{"a":` + strings.Repeat("[", 9) + strings.Repeat("]", 9) + `}`, 400, "nesting deeper than 8"},
		{"string too long", nil, `{"a":"` + strings.Repeat("x", 101) + `"}`, 400, "longer than 100 bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, _, body := req(t, "POST", hs.URL+"/v1/tools/pub__hello/call", "admin-key", c.body, c.hdr...)
			if status != c.status || !strings.Contains(body, c.contains) {
				t.Fatalf("status %d (want %d): %s", status, c.status, body)
			}
		})
	}
}

// TestRateLimitSharedAcrossReplicas: with limits.redis_url two weft
// servers (replicas) draw a client's budget from one real Redis.
func TestRateLimitSharedAcrossReplicas(t *testing.T) {
	url := testenv.RedisURL(t)
	setRedis := func(c *config.Config) { c.Limits.RedisURL = url }
	// Budgets are keyed by client name: a name of its own per run, so that
	// budgets left in Redis by earlier runs do not count.
	key := "replica-key"
	name := fmt.Sprintf("client-%s", strconv.FormatInt(time.Now().UnixNano(), 36))
	keys := []config.APIKey{{Name: name, Hash: server.HashKey(key)}}
	a := protectedServer(t, server.Options{RequestsPerMinute: 4, APIKeys: keys}, setRedis)
	b := protectedServer(t, server.Options{RequestsPerMinute: 4, APIKeys: keys}, setRedis)
	ok := 0
	for i := range 8 {
		base := a.URL
		if i%2 == 1 {
			base = b.URL
		}
		if status, _, _ := req(t, "GET", base+"/v1/tools", key, ""); status == 200 {
			ok++
		}
	}
	if ok != 4 {
		t.Fatalf("%d of 8 requests across two replicas passed, want the shared budget of 4", ok)
	}
}
