// Command replicas proves that weft scales out as stateless replicas: it
// starts redis-server, a throw-away PostgreSQL cluster, three `weft serve`
// replicas sharing them and haproxy in front (round robin, no sticky
// sessions), then measures and checks, printing every number:
//
//   - throughput of tool calls through haproxy with 1 replica behind it and
//     with 3 (the same load, the same run);
//   - REQUESTS_PER_MINUTE holds globally: a key allowed N requests a minute
//     gets N through haproxy, not 3×N;
//   - the catalog and the embeddings one replica computed are used by the
//     others (cache hit rates from /metrics; embedding requests counted by
//     the embedder stand-in this program serves);
//   - stateless MCP (protocol 2026-07-28) requests land on every replica
//     (haproxy's per-server request counts);
//   - an async run started through replica A is read, followed over SSE
//     and canceled through replica B;
//   - a replica SIGKILLed under load: the survivors keep serving and its
//     run is marked interrupted once its lease expired;
//   - Redis stopped and restarted under load: requests keep succeeding and
//     the fallback and recovery show in /metrics.
//
// Usage (from the repository root):
//
//	go build -o /tmp/weft ./cmd/weft
//	go run ./bench/replicas -weft /tmp/weft            # full run
//	go run ./bench/replicas -weft /tmp/weft -quick     # CI: ≤ 2 minutes
//
// It needs redis-server, PostgreSQL's initdb/pg_ctl (postgresql-15) and
// haproxy on the machine; as root, PostgreSQL runs as the postgres user.
// The exit status is 1 when a check failed.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

var (
	weftBin  = flag.String("weft", "", "the weft binary (default: go build ./cmd/weft into the run directory)")
	quick    = flag.Bool("quick", false, "short phases (CI)")
	conc     = flag.Int("c", 16, "concurrent clients in load phases")
	phaseDur = flag.Duration("d", 10*time.Second, "length of each throughput phase (-quick: 3s)")
	keep     = flag.Bool("keep", false, "keep the run directory (logs)")
)

const (
	benchKey   = "bench-key"   // unlimited in practice
	limitedKey = "limited-key" // limitedRPM requests a minute
	limitedRPM = 30
	lease      = 3 * time.Second
)

// failed counts failed checks.
var failed atomic.Int32

func check(ok bool, format string, args ...any) {
	mark := "ok  "
	if !ok {
		mark = "FAIL"
		failed.Add(1)
	}
	fmt.Printf("  [%s] %s\n", mark, fmt.Sprintf(format, args...))
}

func main() {
	log.SetFlags(0)
	flag.Parse()
	if *quick && *phaseDur == 10*time.Second {
		*phaseDur = 3 * time.Second
	}
	dir, err := os.MkdirTemp("", "weft-replicas-")
	if err != nil {
		log.Fatal(err)
	}
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
		if !*keep {
			os.RemoveAll(dir)
		} else {
			fmt.Println("run directory kept:", dir)
		}
	}
	defer cleanup()
	fatal := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "replicas: "+format+"\n", args...)
		cleanup()
		os.Exit(2)
	}
	if *weftBin == "" {
		*weftBin = filepath.Join(dir, "weft")
		if out, err := exec.Command("go", "build", "-o", *weftBin, "./cmd/weft").CombinedOutput(); err != nil {
			fatal("go build ./cmd/weft: %v\n%s", err, out)
		}
	}
	start := time.Now()

	// Shared components.
	redis, err := startRedis(dir)
	if err != nil {
		fatal("%v", err)
	}
	cleanups = append(cleanups, redis.stop)
	pgURL, stopPG, err := startPostgres(dir)
	if err != nil {
		fatal("%v", err)
	}
	cleanups = append(cleanups, stopPG)
	up := startUpstream()
	cleanups = append(cleanups, up.close)

	// Three replicas.
	cfgPath := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfgPath, []byte(weftConfig(up.mcpURL, up.embedURL, redis.url, pgURL)), 0o600); err != nil {
		fatal("%v", err)
	}
	reps := make([]*replica, 3)
	for i := range reps {
		reps[i] = &replica{name: string(rune('a' + i)), port: freePort(), dir: dir, cfg: cfgPath}
	}
	for _, r := range reps {
		if err := r.start(); err != nil {
			fatal("%v", err)
		}
		cleanups = append(cleanups, r.stop)
	}
	for _, r := range reps {
		if err := r.waitReady(60 * time.Second); err != nil {
			fatal("%v", err)
		}
	}
	hp, err := startHAProxy(dir, reps)
	if err != nil {
		fatal("%v", err)
	}
	cleanups = append(cleanups, hp.stop)
	fmt.Printf("# weft replicas: 3 × weft serve, redis-server %s, PostgreSQL %s, haproxy :%d (all :%d, one :%d)\n",
		redis.url, pgURL, hp.port, hp.port, hp.singlePort)
	fmt.Printf("# load: %d concurrent clients, %s per phase\n", *conc, *phaseDur)

	// 1. Throughput, 1 vs 3 replicas behind haproxy (the same requests).
	fmt.Println("\n## throughput: POST /v1/tools/up__echo/call through haproxy")
	load(hp.singleURL(), *conc, *phaseDur/2, nil, false) // warm-up
	one := load(hp.singleURL(), *conc, *phaseDur, nil, false)
	three := load(hp.url(), *conc, *phaseDur, nil, false)
	fmt.Printf("  1 replica : %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n", one.rate(), ms(one.pct(50)), ms(one.pct(99)), one.errors)
	fmt.Printf("  3 replicas: %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n", three.rate(), ms(three.pct(50)), ms(three.pct(99)), three.errors)
	fmt.Printf("  ratio 3/1 : %.2f (on %d CPUs shared with everything else on the machine)\n", three.rate()/one.rate(), numCPU())
	check(one.errors == 0 && three.errors == 0, "no errors under load")

	// 2. The rate limit is global.
	fmt.Println("\n## REQUESTS_PER_MINUTE is global")
	var allowed, limited int
	for range 3 * limitedRPM {
		code, _ := call(hp.url(), limitedKey, "up__echo", `{"message":"x"}`)
		switch code {
		case 200:
			allowed++
		case 429:
			limited++
		}
	}
	fmt.Printf("  %d requests of a key allowed %d/min through 3 replicas: %d answered, %d refused (429)\n", 3*limitedRPM, limitedRPM, allowed, limited)
	check(allowed == limitedRPM && limited == 2*limitedRPM, "exactly %d allowed (one budget shared by the replicas, not 3×%d)", limitedRPM, limitedRPM)

	// 3. Catalog and embeddings shared through Redis.
	fmt.Println("\n## catalog and embeddings computed once")
	for _, r := range reps {
		for _, q := range []string{"echo a message", "sleep for a while", "add two numbers"} {
			if code, body := get(r.url()+"/v1/search?q="+strings.ReplaceAll(q, " ", "+"), benchKey); code != 200 {
				check(false, "search on replica %s: %d %s", r.name, code, body)
			}
		}
	}
	texts := up.embedded.Load()
	fmt.Printf("  texts embedded by the embedder stand-in: %d (%d tools and 3 queries; each replica indexed and searched)\n", texts, len(upstreamTools))
	check(texts <= int64(len(upstreamTools)+3), "no text embedded twice across 3 replicas")
	for _, r := range reps {
		m := r.metrics()
		fmt.Printf("  replica %s: cache hit rate %s\n", r.name, hitRates(m))
	}

	// 4. Stateless MCP lands on any replica.
	fmt.Println("\n## stateless MCP (2026-07-28) through haproxy")
	before := hp.requests()
	n, errs, version := mcpCalls(hp.url()+"/mcp", 60)
	after := hp.requests()
	var spread []string
	landed := 0
	for _, r := range reps {
		d := after[r.name] - before[r.name]
		spread = append(spread, fmt.Sprintf("%s=%d", r.name, d))
		if d > 0 {
			landed++
		}
	}
	fmt.Printf("  protocol %s: %d tools/call, %d errors; requests per replica: %s\n", version, n, errs, strings.Join(spread, " "))
	check(version == "2026-07-28" && errs == 0 && landed == 3, "every replica answered stateless MCP requests")

	// 5. A run started through A, read, followed and canceled through B.
	fmt.Println("\n## async run: started through A, followed and canceled through B")
	a, b, c := reps[0], reps[1], reps[2]
	id := startRun(a.url(), 120000)
	code, body := get(b.url()+"/v1/runs/"+id, benchKey)
	check(code == 200 && strings.Contains(body, `"status":"running"`), "B reads A's running run (%d)", code)
	events := follow(b.url()+"/v1/runs/"+id+"/events", benchKey)
	first := <-events
	t0 := time.Now()
	code, _ = post(b.url()+"/v1/runs/"+id+"/cancel", benchKey, "")
	var last string
	for e := range events {
		last = e
	}
	fmt.Printf("  first event through B: %s; cancel through B: %d; stream ended %s later with %s\n", first, code, time.Since(t0).Round(time.Millisecond), last)
	check(code == 202 && strings.Contains(last, `"status":"canceled"`), "canceled through B, B's stream ends with run_finished canceled")

	// 6. SIGKILL one replica under load.
	fmt.Println("\n## replica c SIGKILLed under load")
	orphan := startRun(c.url(), 600000)
	var killed time.Time
	settled := make(chan time.Duration, 1) // from the kill to the run seen interrupted
	res := load(hp.url(), *conc, *phaseDur, func(elapsed time.Duration) {
		if killed.IsZero() && elapsed > *phaseDur/3 {
			killed = time.Now()
			c.kill()
			go func() {
				for deadline := killed.Add(lease + 30*time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
					_, body := get(a.url()+"/v1/runs/"+orphan, benchKey)
					if strings.Contains(body, `"status":"interrupted"`) {
						settled <- time.Since(killed)
						return
					}
				}
				settled <- -1
			}()
		}
	}, false)
	fmt.Printf("  %d requests during the phase, %d failed (%.2f%%), %.0f req/s\n", res.n, res.errors, 100*float64(res.errors)/float64(max(res.n, 1)), res.rate())
	if res.errors > 0 {
		fmt.Printf("  failures: %s\n", res.errorSample())
	}
	check(res.errors*100 <= res.n, "the survivors kept serving (≤ 1%% failed)")
	took := <-settled
	fmt.Printf("  c's run seen interrupted through a %s after the kill (lease %s; -1: never)\n", took.Round(100*time.Millisecond), lease)
	check(took >= lease-lease/3 && took <= lease+30*time.Second, "the dead replica's run was marked interrupted once its lease expired, not before")

	// 7. Redis stopped and restarted under load.
	fmt.Println("\n## Redis stopped and restarted under load")
	mBefore := sumMetrics(reps[:2])
	res = load(hp.url(), *conc, *phaseDur, func(elapsed time.Duration) {
		switch {
		case elapsed > *phaseDur/4 && redis.running():
			if elapsed < *phaseDur/2 {
				redis.stop()
				for _, r := range reps[:2] {
					code, body := get(r.url()+"/v1/search?q=redis+is+down+"+r.name, benchKey)
					fmt.Printf("  a search on %s while Redis is down: %d %.60s\n", r.name, code, body)
				}
			}
		case elapsed > 3**phaseDur/4 && !redis.running():
			if err := redis.start(); err != nil {
				log.Print(err)
			}
		}
	}, true)
	// The cache tier's probe notices Redis is back (with backoff).
	mAfter := sumMetrics(reps[:2])
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) &&
		mAfter["weft_cache_recoveries_total"] <= mBefore["weft_cache_recoveries_total"]; {
		time.Sleep(250 * time.Millisecond)
		mAfter = sumMetrics(reps[:2])
	}
	fb, rec := mAfter["weft_cache_fallback_total"]-mBefore["weft_cache_fallback_total"], mAfter["weft_cache_recoveries_total"]-mBefore["weft_cache_recoveries_total"]
	fmt.Printf("  %d requests, %d failed (%.2f%%); weft_cache_fallback_total +%.0f, weft_cache_recoveries_total +%.0f\n",
		res.n, res.errors, 100*float64(res.errors)/float64(max(res.n, 1)), fb, rec)
	if res.errors > 0 {
		fmt.Printf("  failures: %s\n", res.errorSample())
	}
	check(res.errors*100 <= res.n, "requests kept succeeding without Redis (≤ 1%% failed)")
	check(fb > 0 && rec > 0, "the fallback and the recovery show in /metrics")

	fmt.Printf("\n# done in %s; %d check(s) failed\n", time.Since(start).Round(time.Second), failed.Load())
	if failed.Load() > 0 {
		cleanup()
		os.Exit(1)
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func numCPU() int {
	out, err := exec.Command("nproc").Output()
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return n
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func keyHash(k string) string {
	s := sha256.Sum256([]byte(k))
	return "sha256:" + hex.EncodeToString(s[:])
}

func weftConfig(mcpURL, embedURL, redisURL, pgURL string) string {
	return fmt.Sprintf(`servers:
  up:
    transport: http
    url: %s
limits:
  requests_per_minute: 100000000
  redis_url: %s
  redis_fail_mode: open
cache:
  redis_url: %s
runs:
  store: %s
  lease: %s
search:
  warm: true
  embedder:
    url: %s
    model: stand-in
    api_key: bench
gateway:
  max_concurrent_per_client: 1000
  api_keys:
    - name: bench
      hash: %s
    - name: limited
      hash: %s
      requests_per_minute: %d
log:
  level: warn
`, mcpURL, redisURL, redisURL, pgURL, lease, embedURL, keyHash(benchKey), keyHash(limitedKey), limitedRPM)
}

// replica is one weft serve process.
type replica struct {
	name, dir, cfg string
	port           int
	cmd            *exec.Cmd
}

func (r *replica) url() string { return fmt.Sprintf("http://127.0.0.1:%d", r.port) }

func (r *replica) start() error {
	logf, err := os.Create(filepath.Join(r.dir, "weft-"+r.name+".log"))
	if err != nil {
		return err
	}
	r.cmd = exec.Command(*weftBin, "serve", "--config", r.cfg, "--addr", fmt.Sprintf("127.0.0.1:%d", r.port))
	r.cmd.Env = append(os.Environ(), "WEFT_REPLICA_ID=replica-"+r.name, "WEFT_CACHE_DIR="+filepath.Join(r.dir, "cache-"+r.name), "WEFT_CONFIG=")
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("start replica %s: %w", r.name, err)
	}
	return nil
}

func (r *replica) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if code, _ := get(r.url()+"/readyz", benchKey); code == 200 {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	b, _ := os.ReadFile(filepath.Join(r.dir, "weft-"+r.name+".log"))
	return fmt.Errorf("replica %s not ready after %s:\n%s", r.name, timeout, b)
}

func (r *replica) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Signal(syscall.SIGKILL)
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

func (r *replica) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = r.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = r.cmd.Process.Kill()
			<-done
		}
		r.cmd = nil
	}
}

// metrics reads a replica's /metrics as name{labels} → value.
func (r *replica) metrics() map[string]float64 {
	_, body := get(r.url()+"/metrics", benchKey)
	m := map[string]float64{}
	for _, line := range strings.Split(body, "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			m[line[:i]] += v
		}
	}
	return m
}

// sumMetrics sums the metrics of replicas by name (labels dropped).
func sumMetrics(rs []*replica) map[string]float64 {
	out := map[string]float64{}
	for _, r := range rs {
		for k, v := range r.metrics() {
			name, _, _ := strings.Cut(k, "{")
			out[name] += v
		}
	}
	return out
}

// hitRates renders the cache hit rate per tier and kind.
func hitRates(m map[string]float64) string {
	type key struct{ tier, kind string }
	hits, total := map[key]float64{}, map[key]float64{}
	for k, v := range m {
		if !strings.HasPrefix(k, "weft_cache_requests_total{") {
			continue
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(strings.TrimSuffix(strings.TrimPrefix(k, "weft_cache_requests_total{"), "}"), ",") {
			n, val, _ := strings.Cut(kv, "=")
			labels[n] = strings.Trim(val, `"`)
		}
		kk := key{labels["tier"], labels["kind"]}
		total[kk] += v
		if labels["result"] == "hit" {
			hits[kk] += v
		}
	}
	var parts []string
	for k, t := range total {
		if t > 0 {
			parts = append(parts, fmt.Sprintf("%s/%s %.0f%% of %.0f", k.tier, k.kind, 100*hits[k]/t, t))
		}
	}
	slices.Sort(parts)
	if len(parts) == 0 {
		return "(no cache metrics)"
	}
	return strings.Join(parts, ", ")
}

// HTTP helpers.

var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

func do(method, url, key, body string) (int, string) {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func get(url, key string) (int, string)        { return do("GET", url, key, "") }
func post(url, key, body string) (int, string) { return do("POST", url, key, body) }

func call(base, key, tool, args string) (int, string) {
	return post(base+"/v1/tools/"+tool+"/call", key, args)
}

// startRun starts a plan whose one step sleeps ms milliseconds; it returns the run id.
func startRun(base string, ms int) string {
	code, body := post(base+"/v1/runs", benchKey, fmt.Sprintf(`{"plan":{"steps":[{"id":"s","tool":"up__sleep","args":{"ms":%d}}]}}`, ms))
	var r struct{ ID string }
	if err := json.Unmarshal([]byte(body), &r); err != nil || code != 202 {
		check(false, "start a run: %d %s", code, body)
	}
	return r.ID
}

// follow streams the data lines of a server-sent event stream.
func follow(url, key string) <-chan string {
	ch := make(chan string)
	go func() {
		defer close(ch)
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := (&http.Client{Timeout: 5 * time.Minute}).Do(req)
		if err != nil {
			ch <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				ch <- d
			}
		}
	}()
	return ch
}

// result is one load phase.
type result struct {
	n, errors int
	dur       time.Duration
	lat       []time.Duration
	sample    map[string]int // error answers by code and first bytes
}

// errorSample renders the most common failures.
func (r result) errorSample() string {
	var parts []string
	for k, n := range r.sample {
		parts = append(parts, fmt.Sprintf("%d× %s", n, k))
	}
	slices.Sort(parts)
	if len(parts) > 3 {
		parts = parts[:3]
	}
	return strings.Join(parts, "; ")
}

func (r result) rate() float64 { return float64(r.n) / r.dur.Seconds() }

func (r result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, len(r.lat)*p/100)]
}

// load runs c clients calling the echo tool through base for d; tick is
// called about every 50 ms with the time elapsed. With searches, every
// fourth request is a search for a query not asked before (it goes to the
// cache tier: memory, then Redis).
func load(base string, c int, d time.Duration, tick func(time.Duration), searches bool) result {
	var mu sync.Mutex
	res := result{sample: map[string]int{}}
	start := time.Now()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			n, errs := 0, 0
			for j := 0; ; j++ {
				select {
				case <-stop:
					mu.Lock()
					res.n += n
					res.errors += errs
					res.lat = append(res.lat, lat...)
					mu.Unlock()
					return
				default:
				}
				t := time.Now()
				var code int
				var body string
				if searches && j%4 == 3 {
					code, body = get(fmt.Sprintf("%s/v1/search?q=echo+message+%d+%d", base, i, j), benchKey)
				} else {
					code, body = call(base, benchKey, "up__echo", fmt.Sprintf(`{"message":"m%d-%d"}`, i, j))
				}
				lat = append(lat, time.Since(t))
				n++
				if code != 200 {
					errs++
					mu.Lock()
					res.sample[fmt.Sprintf("%d %.300s", code, body)]++
					mu.Unlock()
				}
			}
		}()
	}
	for time.Since(start) < d {
		time.Sleep(50 * time.Millisecond)
		if tick != nil {
			tick(time.Since(start))
		}
	}
	close(stop)
	wg.Wait()
	res.dur = time.Since(start)
	slices.Sort(res.lat)
	return res
}

// mcpCalls makes n tools/call requests with the MCP Go SDK's client (the
// newest protocol it speaks) through url; it returns the calls made, the
// failures and the negotiated protocol version.
func mcpCalls(url string, n int) (int, int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hc := &http.Client{Transport: bearer{benchKey, http.DefaultTransport}}
	c := sdk.NewClient(&sdk.Implementation{Name: "bench-replicas", Version: "1"}, nil)
	cs, err := c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: url, HTTPClient: hc}, nil)
	if err != nil {
		check(false, "MCP connect: %v", err)
		return 0, n, ""
	}
	defer cs.Close()
	version := cs.InitializeResult().ProtocolVersion
	errs := 0
	for i := range n {
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "call_tool", Arguments: map[string]any{"name": "up__echo", "arguments": map[string]any{"message": fmt.Sprint(i)}}})
		if err != nil || res.IsError {
			errs++
		}
	}
	return n, errs, version
}

type bearer struct {
	key  string
	next http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.key)
	return b.next.RoundTrip(r)
}

// upstream is the MCP server the replicas share (echo, sleep and add over
// Streamable HTTP) and an OpenAI-compatible /v1/embeddings stand-in that
// counts the texts it embeds.
type upstream struct {
	mcpURL, embedURL string
	embedded         atomic.Int64
	srv              *http.Server
}

var upstreamTools = []string{"echo", "sleep", "add"}

func startUpstream() *upstream {
	u := &upstream{}
	s := sdk.NewServer(&sdk.Implementation{Name: "bench-upstream", Version: "1"}, nil)
	s.AddTool(&sdk.Tool{Name: "echo", Description: "Echo a message back", InputSchema: json.RawMessage(`{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`)},
		func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			var in struct{ Message string }
			_ = json.Unmarshal(req.Params.Arguments, &in)
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: in.Message}}}, nil
		})
	s.AddTool(&sdk.Tool{Name: "sleep", Description: "Sleep for a number of milliseconds", InputSchema: json.RawMessage(`{"type":"object","properties":{"ms":{"type":"integer"}},"required":["ms"]}`)},
		func(ctx context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			var in struct{ Ms int }
			_ = json.Unmarshal(req.Params.Arguments, &in)
			select {
			case <-time.After(time.Duration(in.Ms) * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: "slept"}}}, nil
		})
	s.AddTool(&sdk.Tool{Name: "add", Description: "Add two numbers", InputSchema: json.RawMessage(`{"type":"object","properties":{"a":{"type":"number"},"b":{"type":"number"}}}`)},
		func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			var in struct{ A, B float64 }
			_ = json.Unmarshal(req.Params.Arguments, &in)
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: fmt.Sprint(in.A + in.B)}}}, nil
		})
	mux := http.NewServeMux()
	// Session-based: weft pings an upstream after a canceled call, and a
	// stateless Go SDK server refuses a ping without the 2026-07-28 _meta.
	mux.Handle("/mcp", sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s }, nil))
	mux.HandleFunc("POST /v1/embeddings", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Input []string `json:"input"`
			Model string   `json:"model"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		u.embedded.Add(int64(len(req.Input)))
		type item struct {
			Object    string    `json:"object"`
			Index     int       `json:"index"`
			Embedding []float64 `json:"embedding"`
		}
		out := struct {
			Object string         `json:"object"`
			Data   []item         `json:"data"`
			Model  string         `json:"model"`
			Usage  map[string]int `json:"usage"`
		}{Object: "list", Model: req.Model, Usage: map[string]int{"prompt_tokens": len(req.Input), "total_tokens": len(req.Input)}}
		for i, text := range req.Input {
			h := sha256.Sum256([]byte(text))
			v := make([]float64, 16)
			for j := range v {
				v[j] = float64(h[j])/255 - 0.5
			}
			out.Data = append(out.Data, item{Object: "embedding", Index: i, Embedding: v})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(out)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	u.srv = &http.Server{Handler: mux}
	go func() { _ = u.srv.Serve(ln) }()
	base := "http://" + ln.Addr().String()
	u.mcpURL, u.embedURL = base+"/mcp", base+"/v1"
	return u
}

func (u *upstream) close() { _ = u.srv.Close() }

// redisServer is a redis-server child process that can be stopped and
// started again on the same port.
type redisServer struct {
	url, dir string
	port     int
	mu       sync.Mutex
	cmd      *exec.Cmd
}

func startRedis(dir string) (*redisServer, error) {
	r := &redisServer{port: freePort(), dir: dir}
	r.url = fmt.Sprintf("redis://127.0.0.1:%d/0", r.port)
	return r, r.start()
}

func (r *redisServer) start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", r.dir)
	if err := r.cmd.Start(); err != nil {
		return fmt.Errorf("redis-server: %w", err)
	}
	for range 100 {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", r.port)); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("redis-server did not listen on %d", r.port)
}

func (r *redisServer) running() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cmd != nil
}

func (r *redisServer) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// startPostgres starts a throw-away cluster (as the postgres user when
// running as root) and returns its URL.
func startPostgres(dir string) (string, func(), error) {
	bin := ""
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		slices.Sort(m)
		bin = filepath.Dir(m[len(m)-1])
	} else if p, err := exec.LookPath("initdb"); err == nil {
		bin = filepath.Dir(p)
	} else {
		return "", nil, fmt.Errorf("initdb not found: apt-get install postgresql-15")
	}
	pgdir := filepath.Join(dir, "pg")
	if err := os.MkdirAll(pgdir, 0o700); err != nil {
		return "", nil, err
	}
	as := func(name string, args ...string) *exec.Cmd { return exec.Command(filepath.Join(bin, name), args...) }
	if os.Geteuid() == 0 {
		_ = os.Chmod(dir, 0o711)
		if out, err := exec.Command("chown", "postgres", pgdir).CombinedOutput(); err != nil {
			return "", nil, fmt.Errorf("chown postgres: %v %s", err, out)
		}
		as = func(name string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...)
		}
	}
	data := filepath.Join(pgdir, "data")
	if out, err := as("initdb", "-A", "trust", "-U", "weft", "-D", data).CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	port := freePort()
	if out, err := as("pg_ctl", "-D", data, "-l", filepath.Join(pgdir, "log"), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", port, pgdir), "start").CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("pg_ctl start: %v\n%s", err, out)
	}
	stop := func() { _ = as("pg_ctl", "-D", data, "-m", "immediate", "-w", "stop").Run() }
	return fmt.Sprintf("postgres://weft@127.0.0.1:%d/postgres?sslmode=disable", port), stop, nil
}

// haproxy fronts the replicas: "all" balances over the three, "single"
// sends everything to the first (the 1-replica baseline through the same
// proxy).
type haproxy struct {
	port, singlePort, statsPort int
	cmd                         *exec.Cmd
}

func (h *haproxy) url() string       { return fmt.Sprintf("http://127.0.0.1:%d", h.port) }
func (h *haproxy) singleURL() string { return fmt.Sprintf("http://127.0.0.1:%d", h.singlePort) }

func startHAProxy(dir string, reps []*replica) (*haproxy, error) {
	if _, err := exec.LookPath("haproxy"); err != nil {
		return nil, fmt.Errorf("haproxy not found: apt-get install haproxy")
	}
	h := &haproxy{port: freePort(), singlePort: freePort(), statsPort: freePort()}
	var b bytes.Buffer
	fmt.Fprintf(&b, `global
  maxconn 4096
defaults
  mode http
  timeout connect 2s
  timeout client 5m
  timeout server 5m
  retries 3
  option redispatch
  retry-on conn-failure empty-response response-timeout
frontend all
  bind 127.0.0.1:%d
  default_backend replicas
frontend single
  bind 127.0.0.1:%d
  default_backend one
frontend stats
  bind 127.0.0.1:%d
  stats enable
  stats uri /stats
backend replicas
  balance roundrobin
  option httpchk
  http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1
`, h.port, h.singlePort, h.statsPort)
	for _, r := range reps {
		fmt.Fprintf(&b, "  server %s 127.0.0.1:%d check inter 500ms fall 2 rise 2\n", r.name, r.port)
	}
	fmt.Fprintf(&b, "backend one\n  server %s 127.0.0.1:%d\n", reps[0].name, reps[0].port)
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, b.Bytes(), 0o600); err != nil {
		return nil, err
	}
	logf, _ := os.Create(filepath.Join(dir, "haproxy.log"))
	h.cmd = exec.Command("haproxy", "-db", "-f", cfg)
	h.cmd.Stdout, h.cmd.Stderr = logf, logf
	if err := h.cmd.Start(); err != nil {
		return nil, fmt.Errorf("haproxy: %w", err)
	}
	for range 100 {
		if code, _ := get(h.url()+"/healthz", benchKey); code == 200 {
			return h, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	b2, _ := os.ReadFile(filepath.Join(dir, "haproxy.log"))
	return nil, fmt.Errorf("haproxy did not answer:\n%s", b2)
}

func (h *haproxy) stop() {
	if h.cmd != nil && h.cmd.Process != nil {
		_ = h.cmd.Process.Kill()
		_ = h.cmd.Wait()
	}
}

// requests reads the HTTP requests each server of the "replicas" backend
// received (haproxy's CSV stats, column req_tot).
func (h *haproxy) requests() map[string]int {
	_, body := get(fmt.Sprintf("http://127.0.0.1:%d/stats;csv", h.statsPort), "")
	out := map[string]int{}
	lines := strings.Split(body, "\n")
	if len(lines) == 0 {
		return out
	}
	header := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	col := slices.Index(header, "req_tot")
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) > col && col >= 0 && f[0] == "replicas" && f[1] != "BACKEND" && f[1] != "FRONTEND" {
			out[f[1]], _ = strconv.Atoi(f[col])
		}
	}
	return out
}
