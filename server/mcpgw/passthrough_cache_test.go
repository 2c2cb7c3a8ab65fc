package mcpgw_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/server"
)

// listedAll lists tools, resources and prompts of a passthrough session.
// Tools must be there at once (the catalog came from the cache); resources
// and prompts need the upstream's session, so when they are still missing
// the test waits for the list_changed notification that must follow.
func listedAll(t *testing.T, cs *mcp.ClientSession, changed <-chan string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tl, err := cs.ListTools(ctx, nil)
	if err != nil || len(tl.Tools) == 0 {
		t.Fatalf("tools/list from a warm cache: %d tools, %v", len(tl.Tools), err)
	}
	if r := call(t, cs, "everything__echo", map[string]any{"message": "cached"}); r.IsError || text(r) != "Echo: cached" {
		t.Fatalf("everything__echo from a warm cache: %v %q", r.IsError, text(r))
	}
	for _, what := range []string{"resources", "prompts"} {
		for {
			n := 0
			switch what {
			case "resources":
				rl, err := cs.ListResources(ctx, nil)
				if err != nil {
					t.Fatalf("resources/list: %v", err)
				}
				n = len(rl.Resources)
			case "prompts":
				pl, err := cs.ListPrompts(ctx, nil)
				if err != nil {
					t.Fatalf("prompts/list: %v", err)
				}
				n = len(pl.Prompts)
			}
			if n > 0 {
				break
			}
			select {
			case <-changed:
			case <-ctx.Done():
				t.Fatalf("%s: still none, and no list_changed, once the upstream was ready", what)
			}
		}
	}
}

// notified returns client options that report resource and prompt list_changed.
func notified() (*mcp.ClientOptions, <-chan string) {
	ch := make(chan string, 64)
	send := func(s string) {
		select {
		case ch <- s:
		default:
		}
	}
	return &mcp.ClientOptions{
		ResourceListChangedHandler: func(context.Context, *mcp.ResourceListChangedRequest) { send("resources") },
		PromptListChangedHandler:   func(context.Context, *mcp.PromptListChangedRequest) { send("prompts") },
	}, ch
}

// TestPassthroughFromWarmCacheHTTP: weft serve mounts its endpoints before
// Start loads the catalog cache; the passthrough endpoint must still list
// the cached tools, and the upstream's resources and prompts once it is up
// (before: tools 0 in most cached starts, resources and prompts always 0).
func TestPassthroughFromWarmCacheHTTP(t *testing.T) {
	cfg := everythingConfig(t, config.Endpoint{Path: "/mcp/pt", Mode: "passthrough"})
	cfg.Cache.Dir = t.TempDir()
	cfg.Limits.RequestsPerMinute = 1_000_000
	// First run: discover and persist the catalog.
	o, err := weft.New(weft.Options{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(context.Background()); err != nil || o.Snapshot().Len() == 0 {
		t.Fatalf("first start: %v, %d tools", err, o.Snapshot().Len())
	}
	o.Close()
	for i := range 3 {
		t.Run(fmt.Sprint("restart", i), func(t *testing.T) {
			o, err := weft.New(weft.Options{Config: cfg})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { o.Close() })
			hs := httptest.NewServer(server.New(o, server.Options{})) // as weft serve: before Start
			t.Cleanup(hs.Close)
			if err := o.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !o.Readiness().FromCache {
				t.Fatal("the catalog did not come from the cache")
			}
			opts, changed := notified()
			listedAll(t, connect(t, hs.URL+"/mcp/pt", "2025-11-25", opts), changed)
		})
	}
}

// TestPassthroughFromWarmCacheStdio: the same for weft mcp --mode passthrough.
func TestPassthroughFromWarmCacheStdio(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "weft.yaml")
	yaml := fmt.Sprintf("servers:\n  everything:\n    command: %s\n    args: [stdio]\ncache:\n  dir: %s\n",
		testenv.NPMBin(t, "mcp-server-everything"), filepath.Join(dir, "cache"))
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := weftBin(t)
	for i := range 3 {
		t.Run(fmt.Sprint("start", i), func(t *testing.T) {
			opts, changed := notified()
			c := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, opts)
			cmd := exec.Command(bin, "mcp", "--mode", "passthrough", "-c", cfgPath)
			// The config file's cache.dir must decide, not a WEFT_CACHE_DIR
			// the test runner exported (scripts/test.sh does).
			cmd.Env = append(os.Environ(), "WEFT_CACHE_DIR=")
			cmd.Stderr = os.Stderr
			cs, err := c.Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer cs.Close()
			listedAll(t, cs, changed)
			if _, err := os.Stat(filepath.Join(dir, "cache", "catalog.json")); err != nil {
				t.Fatalf("no catalog cache after a run: %v", err)
			}
		})
	}
}
