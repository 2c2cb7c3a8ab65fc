// Command gateway measures what weft's passthrough MCP endpoint adds to a
// tools/call, against calling the upstream directly in the same run, and
// the same load through another gateway (supergateway or mcp-proxy).
//
//	go build -o /tmp/weft ./cmd/weft
//	go run ./bench/gateway -weft /tmp/weft                      # latency/throughput/RSS
//	go run ./bench/gateway -weft /tmp/weft -duration 10m -rate 500 -soak
//
// The upstream is this program itself: `gateway upstream-http ADDR` serves
// a Go SDK MCP server with an "echo" tool over Streamable HTTP, and
// `gateway upstream-stdio` the same over stdio (for the other gateways,
// which wrap stdio servers, and for the soak, whose weft spawns it).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

func main() {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "upstream-") {
		serveUpstream(os.Args[1], os.Args[2:])
		return
	}
	weftBin := flag.String("weft", "", "path to a built weft binary (required)")
	npmBin := flag.String("npm", "internal/testenv/npm/node_modules/.bin", "npm bin dir with supergateway and mcp-proxy")
	dur := flag.Duration("duration", 5*time.Second, "duration of each measured phase (soak: total)")
	conc := flag.String("clients", "1,200", "concurrent clients per phase")
	soak := flag.Bool("soak", false, "soak mode: fixed request rate through weft over a stdio upstream")
	rate := flag.Int("rate", 500, "soak: requests per second")
	openRate := flag.Int("open-rate", 0, "compare: drive each phase open-loop at this total request rate (0: closed loop, as fast as clients go)")
	pprofAddr := flag.String("pprof", "", "pass --pprof ADDR to the weft under test (to profile it while the benchmark runs)")
	weftGOGC := flag.String("weft-gogc", "", "GOGC for the weft under test only (default: inherited)")
	flag.Parse()
	loadRate = *openRate
	if *pprofAddr != "" {
		weftExtra = append(weftExtra, "--pprof", *pprofAddr)
	}
	if *weftGOGC != "" {
		weftEnv = append(weftEnv, "GOGC="+*weftGOGC)
	}
	if *weftBin == "" {
		log.Fatal("-weft is required (go build -o /tmp/weft ./cmd/weft)")
	}
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	if *soak {
		runSoak(self, *weftBin, *dur, *rate)
		return
	}
	runCompare(self, *weftBin, *npmBin, *dur, *conc)
}

// serveUpstream runs the benchmark's upstream MCP server.
func serveUpstream(mode string, args []string) {
	srv := sdk.NewServer(&sdk.Implementation{Name: "bench-upstream", Version: "1"}, nil)
	srv.AddTool(&sdk.Tool{Name: "echo", Description: "Echo a message", InputSchema: json.RawMessage(`{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`)},
		func(_ context.Context, req *sdk.CallToolRequest) (*sdk.CallToolResult, error) {
			var in struct{ Message string }
			_ = json.Unmarshal(req.Params.Arguments, &in)
			return &sdk.CallToolResult{Content: []sdk.Content{&sdk.TextContent{Text: in.Message}}}, nil
		})
	switch mode {
	case "upstream-stdio":
		if err := srv.Run(context.Background(), &sdk.StdioTransport{}); err != nil {
			log.Print(err)
		}
	case "upstream-http":
		h := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return srv }, nil)
		log.Fatal(http.ListenAndServe(args[0], h))
	}
}

// proc is a started child process.
type proc struct {
	cmd *exec.Cmd
	url string
}

func (p *proc) stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

func start(url string, env []string, name string, args ...string) *proc {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, _ := os.CreateTemp("", "bench-gateway-*.log")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		log.Fatalf("start %s: %v", name, err)
	}
	p := &proc{cmd: cmd, url: url}
	waitReady(url)
	return p
}

// waitReady waits until an MCP client can list tools at url.
func waitReady(url string) {
	for range 300 {
		if cs, err := dial(url); err == nil {
			cs.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatalf("%s did not come up", url)
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

var httpClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1000, MaxConnsPerHost: 0}}

func dial(url string) (*sdk.ClientSession, error) {
	c := sdk.NewClient(&sdk.Implementation{Name: "bench", Version: "1"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return c.Connect(ctx, &sdk.StreamableClientTransport{Endpoint: url, HTTPClient: httpClient, MaxRetries: -1}, &sdk.ClientSessionOptions{ProtocolVersion: "2025-11-25"})
}

// weftConfig writes a weft.yaml with one upstream and a transparent passthrough endpoint.
func weftConfig(dir, upstream string) string {
	cfg := "servers:\n  up:\n" + upstream + `
limits:
  requests_per_minute: 100000000
  max_concurrent_tools: 1000
gateway:
  max_concurrent_per_client: 100000
  endpoints:
    - path: /mcp
      mode: passthrough
      servers: [up]
cache:
  dir: ` + filepath.Join(dir, "cache") + "\n"
	path := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		log.Fatal(err)
	}
	return path
}

// weftExtra are extra arguments for weft serve (e.g. --pprof).
var weftExtra []string

// weftEnv is extra environment for the weft under test.
var weftEnv []string

// loadRate, when positive, makes load phases open-loop at this total rate.
var loadRate int

func startWeft(weftBin, cfgPath string) *proc {
	addr := freeAddr()
	args := append([]string{"serve", "-c", cfgPath, "--addr", addr}, weftExtra...)
	env := append([]string{"WEFT_CONFIG=", "WEFT_LOG_LEVEL=warn"}, weftEnv...)
	return start("http://"+addr+"/mcp", env, weftBin, args...)
}

// stats is the outcome of one load phase.
type stats struct {
	n, errs  int
	p50, p99 time.Duration
	rps      float64
	cpu      float64 // cores used by the measured process (0 when not measured)
	rssMB    float64 // peak RSS of the measured process
}

// load runs clients closed-loop tools/call against url for d and measures pid.
func load(url string, clients int, d time.Duration, pid int) stats {
	sessions := make([]*sdk.ClientSession, clients)
	for i := range sessions {
		cs, err := dial(url)
		if err != nil {
			log.Fatalf("dial %s: %v", url, err)
		}
		sessions[i] = cs
	}
	defer func() {
		for _, cs := range sessions {
			cs.Close()
		}
	}()
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	var peak atomic.Int64
	stopRSS := make(chan struct{})
	go func() {
		for {
			select {
			case <-stopRSS:
				return
			case <-time.After(100 * time.Millisecond):
				if r := rssKB(pid); r > peak.Load() {
					peak.Store(r)
				}
			}
		}
	}()
	cpu0 := cpuTicks(pid)
	begin := time.Now()
	deadline := begin.Add(d)
	var wg sync.WaitGroup
	// Open loop: each client sends at its share of loadRate, and latency
	// counts from the scheduled send time, so a slow server is not hidden
	// by clients that wait for it (no coordinated omission).
	var interval time.Duration
	if loadRate > 0 {
		interval = time.Duration(float64(clients) / float64(loadRate) * float64(time.Second))
	}
	for i, cs := range sessions {
		wg.Go(func() {
			var mine []time.Duration
			args := map[string]any{"message": "hello"}
			next := begin
			if interval > 0 {
				next = begin.Add(interval * time.Duration(i) / time.Duration(clients)) // spread the clients
			}
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if interval > 0 {
					time.Sleep(time.Until(next))
					t0 = next
					next = next.Add(interval)
				}
				res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "echo", Arguments: args})
				if err != nil || res.IsError {
					errs.Add(1)
					continue
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	wall := time.Since(begin)
	close(stopRSS)
	slices.Sort(lat)
	s := stats{n: len(lat), errs: int(errs.Load()), rps: float64(len(lat)) / wall.Seconds(), rssMB: float64(peak.Load()) / 1024}
	if len(lat) > 0 {
		s.p50, s.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
	}
	if pid > 0 {
		s.cpu = float64(cpuTicks(pid)-cpu0) / 100 / wall.Seconds()
	}
	return s
}

// rssKB is the resident set of pid and its descendants' group leader only (kB).
func rssKB(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			return n
		}
	}
	return 0
}

// cpuTicks is utime+stime of pid in clock ticks (USER_HZ = 100).
func cpuTicks(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Microseconds())/1000) }

func runCompare(self, weftBin, npmBin string, d time.Duration, conc string) {
	dir, _ := os.MkdirTemp("", "bench-gateway")
	defer os.RemoveAll(dir)
	upAddr := freeAddr()
	up := start("http://"+upAddr, nil, self, "upstream-http", upAddr)
	defer up.stop()
	weft := startWeft(weftBin, weftConfig(dir, "    url: "+up.url+"\n"))
	defer weft.stop()

	fmt.Printf("# gateway benchmark: %d CPUs, %s per phase, Go %s\n", runtime.NumCPU(), d, runtime.Version())
	fmt.Println("\n## weft passthrough vs direct, Streamable HTTP upstream on loopback")
	fmt.Println("| clients | direct p50 ms | direct p99 ms | weft p50 ms | weft p99 ms | added p50 ms | added p99 ms | weft req/s | weft CPU cores | weft req/s per core | weft RSS MB | errors |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, f := range strings.Split(conc, ",") {
		n, _ := strconv.Atoi(f)
		direct := load(up.url, n, d, 0)
		through := load(weft.url, n, d, weft.cmd.Process.Pid)
		fmt.Printf("| %d | %s | %s | %s | %s | %s | %s | %.0f | %.2f | %.0f | %.1f | %d |\n", n,
			ms(direct.p50), ms(direct.p99), ms(through.p50), ms(through.p99),
			ms(through.p50-direct.p50), ms(through.p99-direct.p99),
			through.rps, through.cpu, through.rps/max(through.cpu, 0.01), through.rssMB, direct.errs+through.errs)
	}

	// Other gateways wrap stdio servers: compare over the same stdio upstream.
	fmt.Println("\n## same load over a stdio upstream: weft vs other gateways (ratios: other / weft)")
	fmt.Println("| gateway | clients | p50 ms | p99 ms | req/s | RSS MB | p50 ratio | p99 ratio | req/s ratio | errors |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	weftStdio := startWeft(weftBin, weftConfig(dir, fmt.Sprintf("    command: %s\n    args: [upstream-stdio]\n", self)))
	defer weftStdio.stop()
	gws := []struct {
		name string
		p    func() *proc
	}{
		{"weft", func() *proc { return weftStdio }},
		{"supergateway@4.0.0", func() *proc {
			port := strings.Split(freeAddr(), ":")[1]
			return start("http://127.0.0.1:"+port+"/mcp", nil, filepath.Join(npmBin, "supergateway"), "--stdio", self+" upstream-stdio", "--outputTransport", "streamableHttp", "--port", port, "--logLevel", "none")
		}},
		{"mcp-proxy@6.7.19", func() *proc {
			port := strings.Split(freeAddr(), ":")[1]
			return start("http://127.0.0.1:"+port+"/mcp", nil, filepath.Join(npmBin, "mcp-proxy"), "--port", port, "--", self, "upstream-stdio")
		}},
	}
	for _, f := range strings.Split(conc, ",") {
		n, _ := strconv.Atoi(f)
		var base stats
		for i, g := range gws {
			p := g.p()
			s := load(p.url, n, d, p.cmd.Process.Pid)
			if i == 0 {
				base = s
			} else {
				p.stop()
			}
			fmt.Printf("| %s | %d | %s | %s | %.0f | %.1f | %.2f | %.2f | %.2f | %d |\n", g.name, n, ms(s.p50), ms(s.p99), s.rps, s.rssMB,
				float64(s.p50)/float64(base.p50), float64(s.p99)/float64(base.p99), s.rps/base.rps, s.errs)
		}
	}
}

// runSoak drives weft (over a stdio upstream it spawns) at a fixed rate and
// reports errors, RSS, goroutines and upstream processes over time.
func runSoak(self, weftBin string, d time.Duration, rate int) {
	dir, _ := os.MkdirTemp("", "bench-gateway")
	defer os.RemoveAll(dir)
	weft := startWeft(weftBin, weftConfig(dir, fmt.Sprintf("    command: %s\n    args: [upstream-stdio]\n", self)))
	pid := weft.cmd.Process.Pid
	base := strings.TrimSuffix(weft.url, "/mcp")
	const clients = 64
	sessions := make([]*sdk.ClientSession, clients)
	for i := range sessions {
		cs, err := dial(weft.url)
		if err != nil {
			log.Fatal(err)
		}
		sessions[i] = cs
	}
	fmt.Printf("# soak: %d req/s for %s through weft passthrough (stdio upstream), %d client sessions\n", rate, d, clients)
	fmt.Println("| t | requests | errors | weft RSS MB | goroutines | OS threads | upstream processes |")
	fmt.Println("|---|---|---|---|---|---|---|")
	var ok, errs atomic.Int64
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	report := time.NewTicker(d / 10)
	defer report.Stop()
	end := time.After(d)
	begin := time.Now()
	var wg sync.WaitGroup
	next := 0
	row := func() {
		fmt.Printf("| %s | %d | %d | %.1f | %s | %d | %d |\n", time.Since(begin).Round(time.Second), ok.Load(), errs.Load(), float64(rssKB(pid))/1024, goroutines(base), threads(pid), len(children(pid)))
	}
	row()
loop:
	for {
		select {
		case <-tick.C:
			cs := sessions[next%clients]
			next++
			wg.Go(func() {
				res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "echo", Arguments: map[string]any{"message": "soak"}})
				if err != nil || res.IsError {
					errs.Add(1)
					return
				}
				ok.Add(1)
			})
		case <-report.C:
			row()
		case <-end:
			break loop
		}
	}
	wg.Wait()
	row()
	kids := children(pid)
	for _, cs := range sessions {
		cs.Close()
	}
	weft.stop()
	var leaked []int
	for _, k := range kids {
		if syscall.Kill(k, 0) == nil {
			leaked = append(leaked, k)
		}
	}
	fmt.Printf("\nupstream processes before shutdown: %v; still alive after weft exited: %d\n", kids, len(leaked))
}

// goroutines reads go_goroutines from weft's /metrics ("?" if absent).
func goroutines(base string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_goroutines "); ok {
			return v
		}
	}
	return "?"
}

// threads is the number of OS threads of pid.
func threads(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Threads:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(v))
			return n
		}
	}
	return 0
}

// children lists the pids whose parent is pid.
func children(pid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		if pp, _ := strconv.Atoi(f[1]); pp == pid {
			out = append(out, n)
		}
	}
	return out
}
