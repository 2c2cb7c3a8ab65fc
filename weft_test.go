package weft_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/source"
)

// goUpstream is an in-process Go SDK MCP server with a "shout" tool, served
// over Streamable HTTP.
func goUpstream(t *testing.T) *httptest.Server {
	t.Helper()
	return httptest.NewServer(goHandler())
}

func goHandler() http.Handler {
	s := mcp.NewServer(&mcp.Implementation{Name: "go-upstream", Version: "1.0.0"}, nil)
	type in struct {
		Text string `json:"text" jsonschema:"text to shout"`
	}
	type out struct {
		Shout string `json:"shout"`
	}
	mcp.AddTool(s, &mcp.Tool{Name: "shout", Description: "Upper-cases text"}, func(ctx context.Context, r *mcp.CallToolRequest, a in) (*mcp.CallToolResult, out, error) {
		b := []rune(a.Text)
		for i, c := range b {
			if c >= 'a' && c <= 'z' {
				b[i] = c - 32
			}
		}
		return nil, out{Shout: string(b)}, nil
	})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil)
}

func baseConfig(t *testing.T) *config.Config {
	cfg := config.Default()
	cfg.Cache.Dir = t.TempDir()
	cfg.Limits.DiscoveryTimeout = config.Duration(20 * time.Second)
	cfg.Servers = map[string]*config.Server{}
	return cfg
}

func addServer(cfg *config.Config, s *config.Server) {
	cfg.Servers[s.Name] = s
}

func start(t *testing.T, cfg *config.Config) *weft.Orchestrator {
	t.Helper()
	o, err := weft.New(weft.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := o.Start(ctx); err != nil {
		o.Close()
		t.Fatal(err)
	}
	return o
}

func call(t *testing.T, o *weft.Orchestrator, name, args string) (*source.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return o.Call(ctx, name, json.RawMessage(args), weft.CallerAPI)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCatalogOverRealUpstreams runs the npm reference servers over stdio and
// a Go SDK server over Streamable HTTP; kills one upstream process while
// serving, and checks readiness, fast failure, restart, isolation of the
// other upstreams, and that no process is left after Close.
func TestCatalogOverRealUpstreams(t *testing.T) {
	cfg := baseConfig(t)
	addServer(cfg, &config.Server{Name: "everything", Transport: config.TransportStdio, Command: testenv.NPMBin(t, "mcp-server-everything"), Args: []string{"stdio"}})
	addServer(cfg, &config.Server{Name: "memory", Transport: config.TransportStdio, Command: testenv.NPMBin(t, "mcp-server-memory"),
		Env: map[string]string{"MEMORY_FILE_PATH": filepath.Join(t.TempDir(), "memory.jsonl")}})
	gs := goUpstream(t)
	defer gs.Close()
	addServer(cfg, &config.Server{Name: "go", Transport: config.TransportHTTP, URL: gs.URL})

	o := start(t, cfg)
	closed := false
	defer func() {
		if !closed {
			o.Close()
		}
	}()

	rd := o.Readiness()
	if !rd.Ready {
		t.Fatalf("not ready: %+v", rd)
	}
	for _, name := range []string{"everything__echo", "everything__get-sum", "memory__read_graph", "memory__create_entities", "go__shout"} {
		if _, err := o.Tool(context.Background(), name); err != nil {
			t.Errorf("missing %s: %v", name, err)
		}
	}
	res, err := call(t, o, "everything__get-sum", `{"a": 2, "b": 40}`)
	if err != nil || res.Text() != "The sum of 2 and 40 is 42." {
		t.Fatalf("get-sum: %v %+v", err, res)
	}
	res, err = call(t, o, "go__shout", `{"text": "hi"}`)
	if err != nil || string(res.StructuredContent) != `{"shout":"HI"}` {
		t.Fatalf("shout: %v %+v", err, res)
	}

	// Kill the everything server's process group.
	pid := rd.Upstreams["everything"].PID
	if pid == 0 {
		t.Fatalf("no pid for everything: %+v", rd.Upstreams["everything"])
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "everything to be reported down", func() bool {
		return o.Readiness().Upstreams["everything"].State != source.StateReady || o.Readiness().Upstreams["everything"].PID != pid
	})
	// Its tools fail fast with a clear error (or, if the restart already
	// happened, succeed); the others keep working.
	if _, err := call(t, o, "everything__echo", `{"message":"x"}`); err != nil {
		if e, ok := engine.AsError(err); !ok || e.Code != engine.CodeUnavailable {
			t.Fatalf("call to killed upstream: %v", err)
		}
	}
	if _, err := call(t, o, "memory__read_graph", `{}`); err != nil {
		t.Fatalf("memory while everything is down: %v", err)
	}
	waitFor(t, "everything to restart", func() bool {
		h := o.Readiness().Upstreams["everything"]
		return h.State == source.StateReady && h.PID != pid && h.Restarts >= 1
	})
	res, err = call(t, o, "everything__echo", `{"message":"back"}`)
	if err != nil || res.Text() != "Echo: back" {
		t.Fatalf("echo after restart: %v %+v", err, res)
	}
	if !testenv.ProcessGone(pid) {
		t.Fatalf("killed process %d still exists (zombie?)", pid)
	}

	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	testenv.RequireNoDescendants(t)
}

// TestStartFromCache: a second start within CATALOG_CACHE_TTL serves the
// persisted catalog at once, before upstreams are rediscovered.
func TestStartFromCache(t *testing.T) {
	cfg := baseConfig(t)
	addServer(cfg, &config.Server{Name: "everything", Transport: config.TransportStdio, Command: testenv.NPMBin(t, "mcp-server-everything"), Args: []string{"stdio"}})
	o := start(t, cfg)
	first := o.Snapshot()
	if o.Readiness().FromCache || first.Len() == 0 {
		t.Fatalf("first start: from cache %v, %d tools", o.Readiness().FromCache, first.Len())
	}
	o.Close()
	if _, err := os.Stat(filepath.Join(cfg.Cache.Dir, "catalog.json")); err != nil {
		t.Fatal(err)
	}

	o2 := start(t, cfg)
	defer o2.Close()
	rd := o2.Readiness()
	if !rd.FromCache || !rd.Ready || rd.CatalogVersion != first.Version() {
		t.Fatalf("second start: %+v (want from cache, version %s)", rd, first.Version())
	}
	// Discovery continues in the background and confirms the same catalog.
	waitFor(t, "rediscovery", func() bool { return !o2.Readiness().FromCache })
	if o2.Snapshot().Version() != first.Version() {
		t.Fatalf("version changed after rediscovery: %s vs %s", o2.Snapshot().Version(), first.Version())
	}

	// An expired cache is not used.
	o2.Close()
	cfg.Catalog.CacheTTL = config.Duration(time.Nanosecond)
	o3 := start(t, cfg)
	defer o3.Close()
	if o3.Readiness().FromCache {
		t.Fatal("expired cache was used")
	}
}

// TestUpstreamDownAtStartup: an HTTP upstream that is down when weft starts
// is reported unhealthy without blocking the others, and joins the catalog
// by itself when it comes up.
func TestUpstreamDownAtStartup(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	good := goUpstream(t)
	defer good.Close()
	cfg := baseConfig(t)
	cfg.Limits.DiscoveryTimeout = config.Duration(3 * time.Second)
	addServer(cfg, &config.Server{Name: "late", Transport: config.TransportHTTP, URL: "http://" + addr + "/mcp"})
	addServer(cfg, &config.Server{Name: "good", Transport: config.TransportHTTP, URL: good.URL})
	o := start(t, cfg)
	defer o.Close()

	rd := o.Readiness()
	if !rd.Ready || rd.Upstreams["late"].State == source.StateReady || rd.Upstreams["late"].Reason == "" {
		t.Fatalf("readiness %+v", rd)
	}
	if _, err := call(t, o, "good__shout", `{"text":"ok"}`); err != nil {
		t.Fatal(err)
	}

	// Bring the late upstream up on the same address.
	ln2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", goHandler())
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln2)
	defer srv.Close()
	waitFor(t, "late upstream to join", func() bool {
		_, err := o.Tool(context.Background(), "late__shout")
		return err == nil
	})
	res, err := call(t, o, "late__shout", `{"text":"late"}`)
	if err != nil || string(res.StructuredContent) != `{"shout":"LATE"}` {
		t.Fatalf("%v %+v", err, res)
	}
	if h := o.Readiness().Upstreams["late"]; h.State != source.StateReady {
		t.Fatalf("late: %+v", h)
	}
}

// namedUpstream serves tools with the given (possibly invalid) names; each
// answers with its own upstream name.
func namedUpstream(t *testing.T, names ...string) *httptest.Server {
	s := mcp.NewServer(&mcp.Implementation{Name: "named", Version: "1"}, &mcp.ServerOptions{Logger: nil})
	for _, n := range names {
		s.AddTool(&mcp.Tool{Name: n, InputSchema: json.RawMessage(`{"type":"object"}`)}, func(ctx context.Context, r *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: n}}}, nil
		})
	}
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(hs.Close)
	return hs
}

// TestDuplicateAndInvalidNamesAcrossUpstreams: names that collide after
// sanitising, invalid characters, non-ASCII and over-long names all get
// unique valid catalog names, deterministically, and each routes to its own
// upstream tool.
func TestDuplicateAndInvalidNamesAcrossUpstreams(t *testing.T) {
	long := strings.Repeat("really_long_tool_name_", 6)
	a := namedUpstream(t, "get weather!", "get_weather", "get.weather", "天气", long, long+"2")
	b := namedUpstream(t, "get_weather")
	cfg := baseConfig(t)
	addServer(cfg, &config.Server{Name: "alpha", Transport: config.TransportHTTP, URL: a.URL})
	addServer(cfg, &config.Server{Name: "beta", Transport: config.TransportHTTP, URL: b.URL})
	o := start(t, cfg)
	snap := o.Snapshot()
	if snap.Len() != 7 {
		t.Fatalf("%d tools, want 7", snap.Len())
	}
	seen := map[string]bool{}
	for _, tool := range snap.Tools() {
		if !catalog.ValidName(tool.Name) || seen[tool.Name] {
			t.Fatalf("invalid or duplicate name %q", tool.Name)
		}
		seen[tool.Name] = true
		res, err := call(t, o, tool.Name, `{}`)
		if err != nil || res.Text() != tool.Original {
			t.Fatalf("%s -> %v %v, want %q", tool.Name, err, res, tool.Original)
		}
	}
	if tl, _ := snap.Get("beta__get_weather"); tl == nil || tl.Original != "get_weather" {
		t.Fatal("beta__get_weather missing")
	}
	// Deterministic: a second orchestrator over the same upstreams names everything the same.
	version := snap.Version()
	o.Close()
	cfg.Cache.Dir = t.TempDir()
	o2 := start(t, cfg)
	defer o2.Close()
	if o2.Snapshot().Version() != version {
		t.Fatal("names/version differ between runs")
	}
}
