package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/server"
	"github.com/weft-dev/weft/source"
	"github.com/weft-dev/weft/source/function"
)

// Calls of priv__hold report their start (with the client named in their
// arguments) on holdStarted and return when they take a token from
// holdRelease[client] ("", "admin" or "ops"). protectedServer makes them anew.
var (
	holdStarted chan string
	holdRelease map[string]chan struct{}
)

type holdIn struct {
	Client string `json:"client,omitempty"`
}

// waitHeld waits for n priv__hold calls to start and returns their clients.
func waitHeld(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	timeout := time.After(10 * time.Second) // a correctness bound, not a measurement
	for len(got) < n {
		select {
		case c := <-holdStarted:
			got = append(got, c)
		case <-timeout:
			t.Fatalf("only %d of %d held calls started: %v", len(got), n, got)
		}
	}
	return got
}

// protectedServer serves two function sources behind API keys: "admin"
// may use everything, "reader" only the tools of server "pub".
func protectedServer(t *testing.T, opts server.Options, mutate ...func(*config.Config)) *httptest.Server {
	t.Helper()
	pub := function.New("pub", "public tools")
	function.Must(function.Add(pub, "hello", "Say hello", func(ctx context.Context, in struct{}) (string, error) { return "hello", nil }))
	priv := function.New("priv", "private tools")
	function.Must(function.Add(priv, "secret", "Return a secret", func(ctx context.Context, in struct{}) (string, error) { return "s3cr3t", nil }))
	started := make(chan string, 100)
	release := map[string]chan struct{}{"": make(chan struct{}), "admin": make(chan struct{}), "ops": make(chan struct{})}
	holdStarted, holdRelease = started, release
	function.Must(function.Add(priv, "hold", "Hold until released", func(ctx context.Context, in holdIn) (string, error) {
		started <- in.Client
		select {
		case <-release[in.Client]:
			return "ok", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
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
			{Name: "ops", Hash: server.HashKey("ops-key")},
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
		{"health alias needs no key", "GET", "/health", "", "", 200, `"ok"`, ""},
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
	// Two held calls hold the client's two request slots...
	held := make(chan int, 2)
	for range 2 {
		go func() {
			status, _, _ := req(t, "POST", hs.URL+"/v1/tools/priv__hold/call", "admin-key", `{}`)
			held <- status
		}()
	}
	waitHeld(t, 2)
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
	holdRelease[""] <- struct{}{}
	holdRelease[""] <- struct{}{}
	for range 2 {
		if s := <-held; s != 200 {
			t.Fatalf("held call: %d", s)
		}
	}
}

// TestToolSlotsPerClient (issue 9 #11): one code-mode request of one key
// with 8 parallel long calls takes only its share of the engine's tool-call
// slots; another key's call still starts at once instead of waiting for a
// global slot (and getting 503 after queue_timeout).
func TestToolSlotsPerClient(t *testing.T) {
	hs := protectedServer(t, server.Options{RequestsPerMinute: 1000}, func(c *config.Config) {
		c.Limits.MaxConcurrentTools = 4
		c.Limits.MaxConcurrentToolsPerClient = 2
		c.Limits.QueueTimeout = config.Duration(time.Minute)
	})
	program := `{"code":"await Promise.all(Array.from({length: 8}, () => callTool('priv__hold', {client: 'admin'}))); return 'all done'"}`
	done := make(chan string, 1)
	go func() {
		status, _, body := req(t, "POST", hs.URL+"/v1/code", "admin-key", program)
		done <- fmt.Sprint(status, " ", body)
	}()
	if got := waitHeld(t, 2); got[0] != "admin" || got[1] != "admin" {
		t.Fatalf("started %v", got)
	}
	// admin's other 6 calls wait on admin's own slots: a second key's call
	// of the same tool starts while they wait.
	other := make(chan int, 1)
	go func() {
		status, _, _ := req(t, "POST", hs.URL+"/v1/tools/priv__hold/call", "ops-key", `{"client":"ops"}`)
		other <- status
	}()
	if got := waitHeld(t, 1); got[0] != "ops" {
		t.Fatalf("a queued call of admin started (%v) before ops's: admin holds more than its share", got)
	}
	select {
	case c := <-holdStarted:
		t.Fatalf("a call of %s started beyond admin's share", c)
	default:
	}
	holdRelease["ops"] <- struct{}{}
	if s := <-other; s != 200 {
		t.Fatalf("ops's call: %d", s)
	}
	// admin's 8 calls run, two at a time.
	for i := range 8 {
		holdRelease["admin"] <- struct{}{}
		if i < 6 {
			waitHeld(t, 1)
		}
	}
	if got := <-done; !strings.HasPrefix(got, "200 ") || !strings.Contains(got, `"result":"all done"`) {
		t.Fatalf("admin's program: %s", got)
	}
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
