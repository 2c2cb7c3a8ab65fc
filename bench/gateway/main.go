// Command gateway measures what weft's passthrough MCP endpoint adds to a
// tools/call, like for like with calling the upstream directly and with
// other gateways, all in the same run.
//
//	go build -o /tmp/weft ./cmd/weft
//	go run ./bench/gateway -weft /tmp/weft -runs 3             # the comparison
//	go run ./bench/gateway -weft /tmp/weft -duration 10m -rate 500 -soak
//
// Upstreams: this program itself (`gateway upstream-http ADDR` serves a Go
// SDK MCP server with an "echo" tool over Streamable HTTP, `gateway
// upstream-stdio` the same over stdio) and the real
// @modelcontextprotocol/server-everything (its "echo" tool; Streamable
// HTTP and stdio).
//
// How it compares like with like:
//   - added latency is the median (and p99) of paired per-request samples:
//     each client alternates a direct call and a call through weft, and
//     each pair's difference is one sample (never a difference of two
//     percentiles);
//   - the other gateways run stateful (supergateway --stateful keeps one
//     upstream process per session, as weft and mcp-proxy do) over the
//     same stdio upstream;
//   - CPU and RSS are those of the whole process tree (the gateway and the
//     upstream processes it spawned, reaped children included);
//   - every phase is preceded by a warm-up of the same load, not measured;
//   - weft is measured only once /readyz says ready and tools/list has the
//     tool; every gateway only once tools/list has it;
//   - -runs repeats everything; the summary gives medians with [min–max]
//     and ratios computed within each run.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"log"
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

	"github.com/weft-dev/weft/bench/internal/benchmcp"
)

func main() {
	if benchmcp.IsUpstream() {
		benchmcp.ServeUpstream("bench-upstream", "echo")
		return
	}
	weftBin := flag.String("weft", "", "path to a built weft binary (required)")
	npmBin := flag.String("npm", "internal/testenv/npm/node_modules/.bin", "npm bin dir with supergateway and mcp-proxy")
	dur := flag.Duration("duration", 5*time.Second, "duration of each measured phase (soak: total)")
	conc := flag.String("clients", "1,20", "concurrent clients per phase")
	runs := flag.Int("runs", 1, "compare: repeat the whole comparison this many times (summary: median [min–max])")
	warm := flag.Duration("warmup", time.Second, "compare: unmeasured warm-up before each phase")
	everything := flag.Bool("everything", true, "compare: also over @modelcontextprotocol/server-everything")
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
	warmup = *warm
	sum := newSummary()
	for r := 1; r <= *runs; r++ {
		fmt.Printf("\n# run %d of %d\n", r, *runs)
		runCompare(self, *weftBin, *npmBin, *dur, *conc, *everything, sum)
	}
	sum.print(*runs)
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

// waitReady waits until an MCP client at url lists the echo tool.
func waitReady(url string) {
	var last error
	for range 600 {
		cs, err := dial(url)
		if err == nil {
			lr, lerr := cs.ListTools(context.Background(), nil)
			cs.Close()
			if lerr == nil && slices.ContainsFunc(lr.Tools, func(t *sdk.Tool) bool { return t.Name == "echo" }) {
				return
			}
			err = fmt.Errorf("tools/list: %v (no echo tool yet)", lerr)
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	log.Fatalf("%s did not come up: %v", url, last)
}

// waitReadyz waits until weft's /readyz answers 200.
func waitReadyz(base string) {
	for range 600 {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	log.Fatalf("%s/readyz never answered 200", base)
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

// warmup is the unmeasured load before each measured phase.
var warmup time.Duration

func startWeft(weftBin, cfgPath string) *proc {
	addr := benchmcp.FreeAddr()
	args := append([]string{"serve", "-c", cfgPath, "--addr", addr}, weftExtra...)
	env := append([]string{"WEFT_CONFIG=", "WEFT_LOG_LEVEL=warn"}, weftEnv...)
	cmd := exec.Command(weftBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	logf, _ := os.CreateTemp("", "bench-gateway-weft-*.log")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		log.Fatalf("start weft: %v", err)
	}
	waitReadyz("http://" + addr)
	p := &proc{cmd: cmd, url: "http://" + addr + "/mcp"}
	waitReady(p.url)
	return p
}

// stats is the outcome of one load phase.
type stats struct {
	n, errs  int
	p50, p99 time.Duration
	rps      float64
	cpu      float64 // cores used by the measured process tree (0 when not measured)
	cpuMs    float64 // CPU ms of the measured process tree per call
	gwMs     float64 // CPU ms of the gateway process alone per call (its upstreams not counted)
	clientMs float64 // CPU ms of this load generator (the MCP clients) per call
	rssMB    float64 // peak RSS of the measured process tree
}

// sessions dials n client sessions to url.
func sessions(url string, n int) []*sdk.ClientSession {
	out := make([]*sdk.ClientSession, n)
	for i := range out {
		cs, err := dial(url)
		if err != nil {
			log.Fatalf("dial %s: %v", url, err)
		}
		out[i] = cs
	}
	return out
}

func closeAll(ss []*sdk.ClientSession) {
	for _, cs := range ss {
		cs.Close()
	}
}

var echoArgs = map[string]any{"message": "hello"}

func call(cs *sdk.ClientSession) error {
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "echo", Arguments: echoArgs})
	if err == nil && res.IsError {
		err = fmt.Errorf("tool error")
	}
	return err
}

// treeMeter samples the CPU and peak RSS of a process tree during a phase.
type treeMeter struct {
	pid  int
	cpu0 int64
	gw0  int64 // the gateway process alone
	peak atomic.Int64
	stop chan struct{}
	done chan struct{}
}

func meter(pid int) *treeMeter {
	m := &treeMeter{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	if pid <= 0 {
		close(m.done)
		return m
	}
	m.cpu0 = treeTicks(pid)
	m.gw0 = cpuTicks(pid, false)
	go func() {
		defer close(m.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			if r := treeRSSKB(pid); r > m.peak.Load() {
				m.peak.Store(r)
			}
			select {
			case <-m.stop:
				return
			case <-t.C:
			}
		}
	}()
	return m
}

// end returns cores used over wall, the tree's and the gateway process's
// CPU seconds, and the peak RSS in MB.
func (m *treeMeter) end(wall time.Duration) (cores, cpuSec, gwSec, rssMB float64) {
	if m.pid <= 0 {
		return 0, 0, 0, 0
	}
	close(m.stop)
	<-m.done
	cpuSec = float64(treeTicks(m.pid)-m.cpu0) / 100
	gwSec = float64(cpuTicks(m.pid, false)-m.gw0) / 100
	return cpuSec / wall.Seconds(), cpuSec, gwSec, float64(m.peak.Load()) / 1024
}

// load runs clients closed-loop (or open-loop at loadRate) tools/call
// against url for d, after a warm-up of the same load, and measures the
// process tree of pid.
func load(url string, clients int, d time.Duration, pid int) stats {
	ss := sessions(url, clients)
	defer closeAll(ss)
	if warmup > 0 {
		drive(ss, warmup)
	}
	m := meter(pid)
	self0 := selfCPU()
	begin := time.Now()
	lat, errs := drive(ss, d)
	wall := time.Since(begin)
	selfSec := (selfCPU() - self0).Seconds()
	s := stats{n: len(lat), errs: errs, rps: float64(len(lat)) / wall.Seconds()}
	var cpuSec, gwSec float64
	s.cpu, cpuSec, gwSec, s.rssMB = m.end(wall)
	if len(lat) > 0 {
		slices.Sort(lat)
		s.p50, s.p99 = lat[len(lat)/2], lat[len(lat)*99/100]
		s.cpuMs = cpuSec * 1000 / float64(len(lat))
		s.gwMs = gwSec * 1000 / float64(len(lat))
		s.clientMs = selfSec * 1000 / float64(len(lat))
	}
	return s
}

// drive calls echo from every session until d passed; latencies of the
// successful calls and the number of failures.
func drive(ss []*sdk.ClientSession, d time.Duration) ([]time.Duration, int) {
	var mu sync.Mutex
	var lat []time.Duration
	var errs atomic.Int64
	begin := time.Now()
	deadline := begin.Add(d)
	var wg sync.WaitGroup
	// Open loop: each client sends at its share of loadRate, and latency
	// counts from the scheduled send time, so a slow server is not hidden
	// by clients that wait for it (no coordinated omission).
	var interval time.Duration
	if loadRate > 0 {
		interval = time.Duration(float64(len(ss)) / float64(loadRate) * float64(time.Second))
	}
	for i, cs := range ss {
		wg.Go(func() {
			var mine []time.Duration
			next := begin
			if interval > 0 {
				next = begin.Add(interval * time.Duration(i) / time.Duration(len(ss))) // spread the clients
			}
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if interval > 0 {
					time.Sleep(time.Until(next))
					t0 = next
					next = next.Add(interval)
				}
				if err := call(cs); err != nil {
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
	return lat, int(errs.Load())
}

// pairedStats is the outcome of a paired phase.
type pairedStats struct {
	n, errs          int
	direct, through  time.Duration // p50 of each side
	added50, added99 time.Duration // p50, p99 of the per-pair differences
	cpuMs            float64       // CPU ms of weft's process tree per call through it
}

// paired runs clients that each alternate a direct call and a call through
// the gateway (which one goes first alternates too), for d after a
// warm-up; each pair's difference is one sample of the added latency.
func paired(directURL, gwURL string, clients int, d time.Duration, pid int) pairedStats {
	ds, gs := sessions(directURL, clients), sessions(gwURL, clients)
	defer closeAll(ds)
	defer closeAll(gs)
	run := func(d time.Duration) (pairedStats, time.Duration) {
		var mu sync.Mutex
		var dl, gl, diff []time.Duration
		var errs atomic.Int64
		begin := time.Now()
		deadline := begin.Add(d)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Go(func() {
				var md, mg, mdiff []time.Duration
				for n := 0; time.Now().Before(deadline); n++ {
					var td, tg time.Duration
					var err1, err2 error
					timed := func(cs *sdk.ClientSession) (time.Duration, error) {
						t0 := time.Now()
						err := call(cs)
						return time.Since(t0), err
					}
					if n%2 == 0 {
						td, err1 = timed(ds[i])
						tg, err2 = timed(gs[i])
					} else {
						tg, err2 = timed(gs[i])
						td, err1 = timed(ds[i])
					}
					if err1 != nil || err2 != nil {
						errs.Add(1)
						continue
					}
					md, mg, mdiff = append(md, td), append(mg, tg), append(mdiff, tg-td)
				}
				mu.Lock()
				dl, gl, diff = append(dl, md...), append(gl, mg...), append(diff, mdiff...)
				mu.Unlock()
			})
		}
		wg.Wait()
		wall := time.Since(begin)
		var ps pairedStats
		ps.n, ps.errs = len(diff), int(errs.Load())
		if len(diff) > 0 {
			slices.Sort(dl)
			slices.Sort(gl)
			slices.Sort(diff)
			ps.direct, ps.through = dl[len(dl)/2], gl[len(gl)/2]
			ps.added50, ps.added99 = diff[len(diff)/2], diff[len(diff)*99/100]
		}
		return ps, wall
	}
	if warmup > 0 {
		run(warmup)
	}
	m := meter(pid)
	ps, wall := run(d)
	_, cpuSec, _, _ := m.end(wall)
	if ps.n > 0 {
		ps.cpuMs = cpuSec * 1000 / float64(ps.n)
	}
	return ps
}

// treePids is pid and all its descendants.
func treePids(pid int) []int {
	parent := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
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
		pp, _ := strconv.Atoi(f[1])
		parent[pp] = append(parent[pp], n)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, parent[out[i]]...)
	}
	return out
}

// treeRSSKB is the summed resident set of pid and its descendants (kB).
func treeRSSKB(pid int) int64 {
	var sum int64
	for _, p := range treePids(pid) {
		sum += rssKB(p)
	}
	return sum
}

// treeTicks is the CPU (utime+stime, clock ticks) of pid, its live
// descendants and the children it already reaped (cutime+cstime).
func treeTicks(pid int) int64 {
	var sum int64
	for i, p := range treePids(pid) {
		sum += cpuTicks(p, i == 0)
	}
	return sum
}

// rssKB is the resident set of one process (kB).
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

// selfCPU is this process's CPU time so far (user + system): the load
// generator shares the machine with the gateway and its upstream.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuTicks is utime+stime of pid in clock ticks (USER_HZ = 100), plus
// cutime+cstime (its reaped children) when reaped is set.
func cpuTicks(pid int, reaped bool) int64 {
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
	n := u + s
	if reaped {
		cu, _ := strconv.ParseInt(f[13], 10, 64)
		cs, _ := strconv.ParseInt(f[14], 10, 64)
		n += cu + cs
	}
	return n
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d.Microseconds())/1000) }

// upstream is one upstream MCP server the comparison runs over.
type upstream struct {
	name     string
	http     func() *proc // serves Streamable HTTP at .url
	stdioCmd []string     // the same server over stdio
}

func upstreams(self, npmBin string, everything bool) []upstream {
	ups := []upstream{{
		name: "go-echo",
		http: func() *proc {
			a := benchmcp.FreeAddr()
			return start("http://"+a, nil, self, "upstream-http", a)
		},
		stdioCmd: []string{self, "upstream-stdio"},
	}}
	if everything {
		bin := filepath.Join(npmBin, "mcp-server-everything")
		if _, err := os.Stat(bin); err != nil {
			log.Fatalf("server-everything: %v (npm ci in internal/testenv/npm, or -everything=false)", err)
		}
		ups = append(ups, upstream{
			name: "server-everything",
			http: func() *proc {
				port := strings.Split(benchmcp.FreeAddr(), ":")[1]
				return start("http://127.0.0.1:"+port+"/mcp", []string{"PORT=" + port}, bin, "streamableHttp")
			},
			stdioCmd: []string{bin, "stdio"},
		})
	}
	return ups
}

func runCompare(self, weftBin, npmBin string, d time.Duration, conc string, everything bool, sum *summary) {
	dir, _ := os.MkdirTemp("", "bench-gateway")
	defer os.RemoveAll(dir)
	var counts []int
	for _, f := range strings.Split(conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			log.Fatalf("-clients: %q is not a positive number", f)
		}
		counts = append(counts, n)
	}
	fmt.Printf("# gateway benchmark: %d CPUs, %s per phase after %s warm-up, Go %s\n", runtime.NumCPU(), d, warmup, runtime.Version())
	for _, u := range upstreams(self, npmBin, everything) {
		up := u.http()
		weft := startWeft(weftBin, weftConfig(dir, "    url: "+up.url+"\n"))
		fmt.Printf("\n## %s: weft passthrough vs the same upstream called directly (Streamable HTTP, loopback; paired samples)\n", u.name)
		fmt.Println("| clients | direct p50 ms | weft p50 ms | added p50 ms | added p99 ms | weft CPU ms/call (tree) | pairs | errors |")
		fmt.Println("|---|---|---|---|---|---|---|---|")
		for _, n := range counts {
			ps := paired(up.url, weft.url, n, d, weft.cmd.Process.Pid)
			fmt.Printf("| %d | %s | %s | %s | %s | %.3f | %d | %d |\n", n, ms(ps.direct), ms(ps.through), ms(ps.added50), ms(ps.added99), ps.cpuMs, ps.n, ps.errs)
			k := fmt.Sprintf("%s, %d clients", u.name, n)
			sum.add("direct", k, "added p50 ms", float64(ps.added50.Microseconds())/1000)
			sum.add("direct", k, "added p99 ms", float64(ps.added99.Microseconds())/1000)
			sum.add("direct", k, "weft CPU ms/call", ps.cpuMs)
		}
		weft.stop()
		up.stop()

		// Other gateways wrap stdio servers: all over the same stdio upstream.
		fmt.Printf("\n## %s over stdio: weft vs other gateways (whole process trees; ratios other / weft, same run)\n", u.name)
		fmt.Println("| gateway | clients | p50 ms | p99 ms | req/s | CPU cores | CPU ms/call | peak RSS MB | req/s ratio | p50 ratio | errors |")
		fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
		args := "    command: " + u.stdioCmd[0] + "\n"
		if len(u.stdioCmd) > 1 {
			args += "    args: [" + strings.Join(u.stdioCmd[1:], ", ") + "]\n"
		}
		gws := []struct {
			name string
			p    func() *proc
		}{
			{"weft", func() *proc { return startWeft(weftBin, weftConfig(dir, args)) }},
			{"supergateway@4.0.0 --stateful", func() *proc {
				port := strings.Split(benchmcp.FreeAddr(), ":")[1]
				return start("http://127.0.0.1:"+port+"/mcp", nil, filepath.Join(npmBin, "supergateway"), "--stdio", strings.Join(u.stdioCmd, " "),
					"--outputTransport", "streamableHttp", "--stateful", "--port", port, "--logLevel", "none")
			}},
			{"mcp-proxy@6.7.19", func() *proc {
				port := strings.Split(benchmcp.FreeAddr(), ":")[1]
				return start("http://127.0.0.1:"+port+"/mcp", nil, filepath.Join(npmBin, "mcp-proxy"), append([]string{"--port", port, "--"}, u.stdioCmd...)...)
			}},
		}
		for _, n := range counts {
			var base stats
			for i, g := range gws {
				p := g.p()
				s := load(p.url, n, d, p.cmd.Process.Pid)
				p.stop()
				if i == 0 {
					base = s
				}
				fmt.Printf("| %s | %d | %s | %s | %.0f | %.2f | %.3f | %.1f | %.2f | %.2f | %d |\n", g.name, n, ms(s.p50), ms(s.p99), s.rps, s.cpu, s.cpuMs, s.rssMB,
					s.rps/base.rps, float64(s.p50)/float64(base.p50), s.errs)
				k := fmt.Sprintf("%s stdio, %d clients", u.name, n)
				sum.add(g.name, k, "req/s", s.rps)
				sum.add(g.name, k, "p50 ms", float64(s.p50.Microseconds())/1000)
				sum.add(g.name, k, "CPU ms/call", s.cpuMs)
				sum.add(g.name, k, "gateway process CPU ms/call", s.gwMs)
				sum.add(g.name, k, "load generator CPU ms/call", s.clientMs)
				sum.add(g.name, k, "peak RSS MB", s.rssMB)
				if i > 0 {
					sum.add(g.name, k, "weft req/s ÷ its req/s", base.rps/s.rps)
				}
			}
		}
	}
}

// summary collects each run's numbers for the medians over runs.
type summary struct {
	keys []string
	vals map[string][]float64
}

func newSummary() *summary { return &summary{vals: map[string][]float64{}} }

func (s *summary) add(who, phase, metric string, v float64) {
	k := who + "\x00" + phase + "\x00" + metric
	if _, ok := s.vals[k]; !ok {
		s.keys = append(s.keys, k)
	}
	s.vals[k] = append(s.vals[k], v)
}

func (s *summary) print(runs int) {
	fmt.Printf("\n# summary over %d run(s): median [min–max]\n", runs)
	fmt.Println("| vs / gateway | phase | metric | median | range |")
	fmt.Println("|---|---|---|---|---|")
	for _, k := range s.keys {
		v := slices.Clone(s.vals[k])
		slices.Sort(v)
		f := strings.Split(k, "\x00")
		fmt.Printf("| %s | %s | %s | %.3g | %.3g–%.3g |\n", f[0], f[1], f[2], v[len(v)/2], v[0], v[len(v)-1])
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
