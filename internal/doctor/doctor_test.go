package doctor

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
)

// doctorRun writes yaml to a weft.yaml and runs every check with only env
// as the environment (the runner's WEFT_CACHE_DIR and model variables
// stay out).
func doctorRun(t *testing.T, yaml string, env map[string]string) Report {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "weft.yaml")
	if !strings.Contains(yaml, "cache:") {
		yaml += "\ncache:\n  dir: " + filepath.Join(dir, "cache") + "\n"
	}
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	return Run(ctx, Options{
		Load: func() (*config.Config, error) {
			return config.Load(config.LoadOptions{Path: path, HomeDir: dir, Env: func(k string) (string, bool) {
				v, ok := env[k]
				return v, ok
			}})
		},
		Timeout: 5 * time.Second,
	})
}

// finding returns the finding of check; the test fails without one.
func finding(t *testing.T, r Report, check string) Finding {
	t.Helper()
	var found []Finding
	for _, f := range r.Findings {
		if f.Check == check {
			found = append(found, f)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d findings for %q in %+v", len(found), check, r.Findings)
	}
	return found[0]
}

func expect(t *testing.T, f Finding, st Status, reason string) {
	t.Helper()
	if f.Status != st || f.Reason != reason {
		t.Fatalf("%s: got %s %q\nwant %s %q", f.Check, f.Status, f.Reason, st, reason)
	}
	if (st == OK) != (f.Fix == "") {
		t.Fatalf("%s: status %s with fix %q", f.Check, st, f.Fix)
	}
}

// freeAddr returns a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestHealthyConfiguration(t *testing.T) {
	everything := testenv.NPMBin(t, "mcp-server-everything")
	redisURL := testenv.RedisURL(t)
	r := doctorRun(t, fmt.Sprintf(`servers:
  everything:
    command: %s
    args: [stdio]
limits:
  redis_url: %s
`, everything, redisURL), nil)
	if r.Failed() {
		t.Fatalf("failed: %+v", r.Findings)
	}
	if f := finding(t, r, "config"); f.Status != OK || !strings.HasPrefix(f.Reason, "valid (") {
		t.Fatal(f)
	}
	up := finding(t, r, "upstream everything")
	if up.Status == Fail || !strings.Contains(up.Reason, "tools discovered in") || up.Took <= 0 {
		t.Fatalf("%+v", up)
	}
	if f := finding(t, r, "redis limits.redis_url"); f.Status != OK || !strings.Contains(f.Reason, "answered PING") {
		t.Fatalf("%+v", f)
	}
	expect(t, finding(t, r, "cache dir"), OK, "cache.dir "+filepath.Join(filepath.Dir(r.Config), "cache")+" is writable")
	expect(t, finding(t, r, "timeouts"), OK, "per-tool 30s (limits.tool_timeout) ≤ code.max_timeout (5m0s); drain on SIGTERM 15s (server.shutdown_timeout); no HTTP write timeout (responses stream)")
	expect(t, finding(t, r, "credentials"), OK, "no model and no embedder configured: nothing to authenticate (weft ask is unavailable)")
	expect(t, finding(t, r, "clock"), OK, "no HTTP endpoint configured (models, embedder, http upstreams): the wall clock was not compared")
}

func TestBrokenUpstream(t *testing.T) {
	r := doctorRun(t, `servers:
  broken:
    command: /nonexistent/weft-no-such-server
limits:
  discovery_timeout: 5s
`, nil)
	if !r.Failed() {
		t.Fatal("a broken upstream did not fail")
	}
	f := finding(t, r, "upstream broken")
	if f.Status != Fail || !strings.Contains(f.Reason, "/nonexistent/weft-no-such-server") || !strings.HasPrefix(f.Fix, "check servers.broken (") {
		t.Fatalf("%+v", f)
	}
}

func TestRedisUnreachable(t *testing.T) {
	addr := freeAddr(t)
	for _, mode := range []string{"closed", "open"} {
		r := doctorRun(t, "limits:\n  redis_url: redis://"+addr+"/0\n  redis_fail_mode: "+mode+"\n", nil)
		f := finding(t, r, "redis limits.redis_url")
		fallback := "requests are refused (503) while it is unreachable (limits.redis_fail_mode: closed)"
		if mode == "open" {
			fallback = "requests are allowed without a rate limit while it is unreachable (limits.redis_fail_mode: open)"
		}
		if f.Status != Fail || !strings.HasPrefix(f.Reason, "Redis at "+addr+" is unreachable: ") || !strings.HasSuffix(f.Reason, "; "+fallback) || !r.Failed() {
			t.Fatalf("%s: %+v", mode, f)
		}
	}
}

func TestCacheDirUnwritable(t *testing.T) {
	// A path under a regular file: not writable even for root.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := doctorRun(t, "cache:\n  dir: "+file+"/weft\n", nil)
	f := finding(t, r, "cache dir")
	expect(t, f, Fail, "cache.dir "+file+"/weft cannot be created: not a directory")
	if !r.Failed() {
		t.Fatal("not failed")
	}
}

func TestInconsistentTimeouts(t *testing.T) {
	r := doctorRun(t, `servers:
  slow:
    url: http://`+freeAddr(t)+`/mcp
    timeout: 10m
limits:
  discovery_timeout: 3m
  start_timeout: 2m
`, nil)
	var got []string
	for _, f := range r.Findings {
		if f.Check == "timeouts" {
			got = append(got, string(f.Status)+": "+f.Reason)
		}
	}
	want := []string{
		"fail: servers.slow.timeout (10m0s) is longer than code.max_timeout (5m0s): a tool call inside a code-mode program is cut by the program's deadline before its own",
		"warn: servers.slow.timeout (10m0s) is over twice server.shutdown_timeout (15s): on SIGTERM, its calls still running after the drain are cut",
		"warn: limits.discovery_timeout (3m0s) is longer than limits.start_timeout (2m0s): a stdio upstream is restarted before discovery stops waiting for it",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestMissingModelKey(t *testing.T) {
	r := doctorRun(t, `models:
  planner:
    provider: azure-openai
    model: gpt-4o
    endpoint: https://example.openai.azure.com
`, nil)
	if len(r.Findings) != 1 || !r.Failed() {
		t.Fatalf("%+v", r.Findings)
	}
	f := r.Findings[0]
	if f.Check != "config" || f.Status != Fail || !strings.Contains(f.Reason, "weft.yaml:2: models.planner.api_key: is required for provider azure-openai without use_entra_id") {
		t.Fatalf("%+v", f)
	}
}

// identityEndpoint is a local App Service-style managed identity endpoint
// (IDENTITY_ENDPOINT, IDENTITY_HEADER) that fails or hands out a token.
func identityEndpoint(t *testing.T, fail bool) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if fail {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"invalid_request","error_description":"identity not found"}`)
			return
		}
		fmt.Fprintf(w, `{"access_token":"tok","expires_on":"%d","resource":"https://cognitiveservices.azure.com","token_type":"Bearer"}`, time.Now().Add(time.Hour).Unix())
	}))
	t.Cleanup(hs.Close)
	t.Setenv("IDENTITY_ENDPOINT", hs.URL+"/msi/token")
	t.Setenv("IDENTITY_HEADER", "secret")
}

func TestEntraTokenFromIdentityEndpoint(t *testing.T) {
	const yaml = `models:
  planner:
    provider: azure-openai
    model: gpt-4o
    endpoint: https://127.0.0.1:1
    use_entra_id: true
    managed_identity_client_id: 00000000-0000-0000-0000-000000000001
`
	identityEndpoint(t, true)
	r := doctorRun(t, yaml, nil)
	f := finding(t, r, "credentials models.planner")
	if f.Status != Fail || !strings.HasPrefix(f.Reason, "Entra ID (managed identity 00000000-0000-0000-0000-000000000001): no token for https://cognitiveservices.azure.com/.default: ") ||
		!strings.Contains(f.Fix, "Cognitive Services OpenAI User") || !r.Failed() {
		t.Fatalf("%+v", f)
	}
	identityEndpoint(t, false)
	r = doctorRun(t, yaml, nil)
	f = finding(t, r, "credentials models.planner")
	if f.Status != OK || !strings.HasPrefix(f.Reason, "Entra ID (managed identity 00000000-0000-0000-0000-000000000001): token acquired in ") {
		t.Fatalf("%+v", f)
	}
}

func TestClockSkew(t *testing.T) {
	for _, c := range []struct {
		skew   time.Duration
		status Status
		reason string
	}{
		{10 * time.Minute, Fail, "the wall clock is 10m0s behind %s's Date header"},
		{-2 * time.Minute, Warn, "the wall clock is 2m0s ahead of %s's Date header"},
		{0, OK, "the wall clock agrees with %s's Date header (within a second and the round trip)"},
	} {
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Date", time.Now().Add(c.skew).UTC().Format(http.TimeFormat))
		}))
		r := doctorRun(t, "models:\n  planner:\n    provider: openai-compatible\n    model: m\n    endpoint: "+hs.URL+"/v1\n", nil)
		expect(t, finding(t, r, "clock"), c.status, fmt.Sprintf(c.reason, hs.URL))
		hs.Close()
	}
}

func TestSharedServicesUnreachable(t *testing.T) {
	cache, pg, otlp := freeAddr(t), freeAddr(t), freeAddr(t)
	r := doctorRun(t, fmt.Sprintf(`cache:
  redis_url: redis://%s/0
  fallback: true
runs:
  store: postgres://weft@%s/weft
analytics:
  backends: [prometheus, otlp]
  otlp:
    endpoint: http://%s/v1/metrics
`, cache, pg, otlp), nil)
	for check, want := range map[string][2]string{
		"redis cache.redis_url":        {"Redis at " + cache + " is unreachable: ", "; the cache serves from memory alone while it is unreachable (cache.fallback: true)"},
		"postgres runs.store":          {"PostgreSQL at " + pg + " is unreachable: ", "; run records cannot be stored or read while it is unreachable"},
		"otlp analytics.otlp.endpoint": {"the OTLP receiver at " + otlp + " is unreachable: ", "; metrics pushes fail (and are retried) while it is unreachable; /metrics is unaffected"},
	} {
		f := finding(t, r, check)
		if f.Status != Fail || !strings.HasPrefix(f.Reason, want[0]) || !strings.HasSuffix(f.Reason, want[1]) {
			t.Errorf("%s: %+v", check, f)
		}
	}
}
