package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
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

// hostilePrograms are what key A sends: each attacks one limit around the
// sandbox (issue 9: #1 source nesting, #3 huge arguments and memory, #4
// try/catch recursion, #11 many parallel long calls, CPU).
var hostilePrograms = []string{
	`function f(){ try { f() } catch (e) { f() } } f()`,
	`const a = []; for (;;) a.push({ x: 1 })`,
	`const big = "x".repeat(4 << 20); for (let i = 0; i < 50; i++) { try { await tools.pub.echo({ big }) } catch (e) {} } return 1`,
	`while (true) {}`,
	`await Promise.all(Array.from({ length: 64 }, () => tools.pub.slow({ ms: 60000 })))`,
	"const f = " + strings.Repeat("()=>", 5000) + "1",
	`let s = "x"; for (;;) s += s`,
	`async function f() { try { await f() } catch (e) { await f() } } await f()`,
}

type soakIn struct {
	MS   int    `json:"ms,omitempty"`
	Big  string `json:"big,omitempty"`
	Name string `json:"name,omitempty"`
}

// soakServer serves tools pub__hello, pub__echo and pub__slow behind two
// keys, A and B, with generous request limits so that only the sandbox's
// and the engine's own limits stand between the clients.
func soakServer(t *testing.T) *httptest.Server {
	t.Helper()
	pub := function.New("pub", "public tools")
	function.Must(function.Add(pub, "hello", "Say hello", func(ctx context.Context, in soakIn) (string, error) { return "hello", nil }))
	function.Must(function.Add(pub, "echo", "Echo the size of big", func(ctx context.Context, in soakIn) (int, error) { return len(in.Big), nil }))
	function.Must(function.Add(pub, "slow", "Sleep ms milliseconds", func(ctx context.Context, in soakIn) (string, error) {
		select {
		case <-time.After(time.Duration(in.MS) * time.Millisecond):
			return "slept", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}))
	cfg := config.Default()
	cfg.Servers = nil
	cfg.Cache.Dir = t.TempDir()
	cfg.Code.MaxConcurrentRuns = 8
	cfg.Limits.MaxConcurrentTools = 64
	cfg.Limits.RequestsPerMinute = 1_000_000
	o, err := weft.New(weft.Options{Config: cfg, Sources: []source.Source{pub}})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	hs := httptest.NewServer(server.New(o, server.Options{
		APIKeys:                []config.APIKey{{Name: "A", Hash: server.HashKey("key-a")}, {Name: "B", Hash: server.HashKey("key-b")}},
		RequestsPerMinute:      1_000_000,
		MaxConcurrentPerClient: 200,
	}))
	t.Cleanup(hs.Close)
	return hs
}

// post sends body to url with key and returns the status and body.
func post(ctx context.Context, url, key, body string) (int, string, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	r.Header.Set("Authorization", "Bearer "+key)
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// benign sends key B's three requests once and returns their latencies,
// failing t for any answer that is not the expected one.
func benign(t *testing.T, base string) []time.Duration {
	var out []time.Duration
	for _, c := range []struct{ path, body, want string }{
		{"/v1/code", `{"code": "return 1 + 1", "language": "js"}`, `"result":2`},
		{"/v1/code", `{"code": "return await tools.pub.hello({})"}`, `"result":"hello"`},
		{"/v1/tools/pub__hello/call", `{}`, `hello`},
	} {
		start := time.Now()
		status, body, err := post(context.Background(), base+c.path, "key-b", c.body)
		took := time.Since(start)
		if err != nil || status != http.StatusOK || !strings.Contains(body, c.want) || strings.Contains(body, `"error":{`) {
			t.Errorf("B %s: %d %v %.300s", c.path, status, err, body)
		}
		out = append(out, took)
	}
	return out
}

func percentile(d []time.Duration, p int) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

// TestSoakHostileClient runs 50 concurrent hostile programs from key A
// while key B's benign requests (a trivial program, a program calling a
// tool, a direct tool call) keep being answered: all of B's requests must
// succeed, and none may wait for A's programs to end (A's programs have a
// 30 s deadline; B's answers must come within 5 s, a correctness bound).
// The latencies with and without the load are logged (docs/benchmarks.md).
func TestSoakHostileClient(t *testing.T) {
	hs := soakServer(t)
	const aTimeoutMS, bBound, soak = 30000, 5 * time.Second, 6 * time.Second

	var baseline []time.Duration
	for range 10 {
		baseline = append(baseline, benign(t, hs.URL)...)
	}

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var mu sync.Mutex
	aOutcomes := map[string]int{}
	for i := range 50 {
		wg.Go(func() {
			for n := i; ctx.Err() == nil; n += 50 {
				prog := hostilePrograms[n%len(hostilePrograms)]
				body, _ := json.Marshal(map[string]any{"code": prog, "language": "js",
					"limits": map[string]any{"timeout_ms": aTimeoutMS, "memory_bytes": 16 << 20, "max_concurrent_calls": 64}})
				status, resp, err := post(ctx, hs.URL+"/v1/code", "key-a", string(body))
				if ctx.Err() != nil {
					return
				}
				var r struct {
					Error *struct{ Kind string } `json:"error"`
				}
				_ = json.Unmarshal([]byte(resp), &r)
				kind := fmt.Sprint(status)
				if err != nil {
					kind = "transport error"
				} else if r.Error != nil {
					kind = r.Error.Kind
				}
				mu.Lock()
				aOutcomes[kind]++
				mu.Unlock()
			}
		})
	}

	var loaded []time.Duration
	deadline := time.Now().Add(soak)
	for time.Now().Before(deadline) {
		loaded = append(loaded, benign(t, hs.URL)...)
	}
	cancel()
	wg.Wait()

	for _, d := range loaded {
		if d > bBound {
			t.Errorf("a request of B took %v beside A's programs (bound %v)", d, bBound)
		}
	}
	t.Logf("B without load: %d requests, p50 %v, p99 %v", len(baseline), percentile(baseline, 50), percentile(baseline, 99))
	t.Logf("B beside 50 hostile programs of A: %d requests, p50 %v, p99 %v, max %v", len(loaded), percentile(loaded, 50), percentile(loaded, 99), slices.Max(loaded))
	t.Logf("A's outcomes: %v", aOutcomes)
}
