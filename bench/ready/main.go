// Command ready measures how long `weft serve` takes to be ready: from the
// exec of the process to the first 200 from /readyz, polled every
// millisecond. It needs no npm: its upstreams are this program itself (a Go
// SDK MCP server over stdio, twice, and one over Streamable HTTP) and, when
// installed, @modelcontextprotocol/server-everything run by node directly
// (never through npx).
//
//	CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /tmp/weft ./cmd/weft
//	go build -o /tmp/ready ./bench/ready
//	/tmp/ready -weft /tmp/weft -fresh 3 -runs 15
//	/tmp/ready -weft /tmp/weft-before -runs 12 -csv /tmp/b.csv   # alternate two builds,
//	/tmp/ready -weft /tmp/weft-after -runs 12 -csv /tmp/a.csv    # pool their runs
//
// The first -fresh runs start with an empty cache directory (every upstream
// is discovered; the catalog snapshot is persisted), the next -runs start
// from the catalog cache that left. Each weft is stopped with SIGTERM and
// waited for; an upstream process it leaves behind is counted and killed.
// The output is a markdown table: medians with [min–max] and, from the
// timestamps of weft's own log, where the time goes.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/weft-dev/weft/bench/internal/benchmcp"
)

func main() {
	if benchmcp.IsUpstream() {
		benchmcp.ServeUpstream("bench-ready-upstream", "echo", "reverse", "upper", "count")
		return
	}
	weftBin := flag.String("weft", "", "path to a built weft binary (required)")
	runs := flag.Int("runs", 15, "runs from the catalog cache")
	fresh := flag.Int("fresh", 3, "runs with an empty cache directory (the first one fills the cache)")
	everything := flag.String("everything", "internal/testenv/npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js",
		"server-everything's entry point, run with node (skipped when missing)")
	keep := flag.Bool("keep", false, "keep the temporary directory (config, cache, weft logs)")
	csvPath := flag.String("csv", "", "append one line per run to this file: start,ready_ms,listening_ms,catalog_ready_ms (to pool runs of several invocations)")
	flag.Parse()
	if *weftBin == "" {
		log.Fatal("-weft is required (go build -o /tmp/weft ./cmd/weft)")
	}
	if *fresh < 1 {
		log.Fatal("-fresh must be at least 1: the first run fills the catalog cache")
	}
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "weft-ready-*")
	if err != nil {
		log.Fatal(err)
	}
	if !*keep {
		defer os.RemoveAll(dir)
	}

	// The HTTP upstream lives for the whole benchmark, like a remote server.
	httpAddr := benchmcp.FreeAddr()
	hup := exec.Command(self, "upstream-http", httpAddr, dir)
	hup.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := hup.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = syscall.Kill(-hup.Process.Pid, syscall.SIGKILL); _ = hup.Wait() }()
	waitTCP(httpAddr)

	servers := fmt.Sprintf(`  go-a:
    command: %[1]s
    args: [upstream-stdio, %[2]s]
  go-b:
    command: %[1]s
    args: [upstream-stdio, %[2]s]
  go-http:
    url: http://%[3]s/mcp
`, self, dir, httpAddr)
	names := "go-a, go-b (Go SDK, stdio), go-http (Go SDK, Streamable HTTP)"
	if abs, err := filepath.Abs(*everything); err == nil {
		if _, err := os.Stat(abs); err == nil {
			node, err := exec.LookPath("node")
			if err == nil {
				servers += fmt.Sprintf("  everything:\n    command: %s\n    args: [%s, stdio]\n", node, abs)
				names += ", everything (server-everything, stdio, node)"
			}
		}
	}
	cacheDir := filepath.Join(dir, "cache")
	cfg := "servers:\n" + servers + "cache:\n  dir: " + cacheDir + "\nlog:\n  level: info\n"
	cfgPath := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		log.Fatal(err)
	}

	loadStart := loadavg()
	var freshRes, cachedRes []result
	leftovers := 0
	for i := range *fresh {
		if err := os.RemoveAll(cacheDir); err != nil {
			log.Fatal(err)
		}
		r := runOnce(*weftBin, cfgPath, dir, fmt.Sprintf("fresh-%d", i))
		leftovers += r.leftover
		freshRes = append(freshRes, r)
	}
	for i := range *runs {
		r := runOnce(*weftBin, cfgPath, dir, fmt.Sprintf("cached-%d", i))
		if !r.fromCache {
			log.Fatalf("run %d: weft did not start from the catalog cache (log %s)", i, r.logPath)
		}
		leftovers += r.leftover
		cachedRes = append(cachedRes, r)
	}
	init := initTrace(*weftBin, cfgPath, dir)
	if *csvPath != "" {
		writeCSV(*csvPath, freshRes, cachedRes)
	}

	fmt.Printf("Upstreams: %s. Load average at the start: %s; at the end: %s.\n\n", names, loadStart, loadavg())
	fmt.Println("| start | runs | exec → /readyz 200, ms | exec → \"listening\" logged, ms | \"listening\" logged → /readyz 200, ms | exec → \"catalog ready\" logged, ms |")
	fmt.Println("|---|---|---|---|---|---|")
	row := func(name string, rs []result) {
		fmt.Printf("| %s | %d | %s | %s | %s | %s |\n", name, len(rs),
			stat(rs, func(r result) float64 { return r.ready }),
			stat(rs, func(r result) float64 { return r.listening }),
			stat(rs, func(r result) float64 {
				if r.listening < 0 {
					return -1
				}
				return max(0, r.ready-r.listening)
			}),
			stat(rs, func(r result) float64 { return r.catalog }))
	}
	row("fresh (empty cache: every upstream discovered)", freshRes)
	row("from the catalog cache", cachedRes)
	fmt.Println()
	if init.total > 0 {
		fmt.Printf("Package init before main (one extra run from the cache, `GODEBUG=inittrace=1`): over %.1f ms after the Go runtime started, %.1f ms of it in init functions; the largest: %s.\n",
			init.end, init.total, strings.Join(init.top, ", "))
	}
	fmt.Printf("Log timestamps have millisecond resolution. Upstream processes left behind after SIGTERM: %d.\n", leftovers)
	if leftovers > 0 {
		os.Exit(1)
	}
}

// result is one start of weft serve; times are ms since exec.
type result struct {
	ready, listening, catalog float64
	fromCache                 bool
	leftover                  int
	logPath                   string
}

func runOnce(weftBin, cfgPath, dir, name string) result {
	addr := benchmcp.FreeAddr()
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		log.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(weftBin, "serve", "-c", cfgPath, "--addr", addr)
	cmd.Env = append(os.Environ(), "WEFT_CONFIG=", "WEFT_CACHE_DIR=", "WEFT_LOG_LEVEL=info")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	url := "http://" + addr + "/readyz"

	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	var ready time.Duration
	for tick := time.NewTicker(time.Millisecond); ; <-tick.C {
		if time.Since(t0) > 60*time.Second {
			_ = cmd.Process.Kill()
			log.Fatalf("%s: /readyz not 200 within 60 s (log %s)", name, logPath)
		}
		resp, err := client.Get(url)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			ready = time.Since(t0)
			tick.Stop()
			break
		}
	}
	stop(cmd)
	r := result{ready: ms(ready), logPath: logPath}
	r.listening, r.catalog, r.fromCache = fromLog(logPath, t0)
	r.leftover = reap(dir)
	return r
}

// writeCSV appends the runs to path.
func writeCSV(path string, fresh, cached []result) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, r := range fresh {
		fmt.Fprintf(f, "fresh,%.1f,%.1f,%.1f\n", r.ready, r.listening, r.catalog)
	}
	for _, r := range cached {
		fmt.Fprintf(f, "cached,%.1f,%.1f,%.1f\n", r.ready, r.listening, r.catalog)
	}
}

// stop ends weft with SIGTERM and waits (SIGKILL after 10 s).
func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		log.Printf("weft did not stop within 10 s of SIGTERM; killing it")
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
}

// reap kills the stdio upstreams (this program, tagged with dir) that are
// still running after weft stopped, and says how many there were. The
// long-lived HTTP upstream is not one of them.
func reap(dir string) int {
	ents, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if slices.Contains(args, "upstream-stdio") && slices.Contains(args, dir) ||
			slices.Contains(args, "stdio") && slices.ContainsFunc(args, func(a string) bool { return strings.HasSuffix(a, "server-everything/dist/index.js") }) && os.Getppid() != pid && isOrphanOf(pid) {
			n++
			log.Printf("upstream process %d (%s) outlived weft; killing it", pid, strings.Join(args, " "))
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return n
}

// isOrphanOf reports whether pid was re-parented (to init or a subreaper),
// i.e. its weft is gone — server-everything processes carry no tag.
func isOrphanOf(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 2 {
		return false
	}
	ppid, _ := strconv.Atoi(f[1])
	if ppid == 1 {
		return true
	}
	c, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid))
	return strings.TrimSpace(string(c)) != "weft"
}

// fromLog reads the "listening" and "catalog ready" lines of weft's text log
// (slog: time=2006-01-02T15:04:05.000Z07:00) as ms since t0.
func fromLog(path string, t0 time.Time) (listening, catalog float64, fromCache bool) {
	f, err := os.Open(path)
	if err != nil {
		return -1, -1, false
	}
	defer f.Close()
	listening, catalog = -1, -1
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		at := func() float64 {
			v, ok := field(line, "time")
			if !ok {
				return -1
			}
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return -1
			}
			return ms(t.Sub(t0))
		}
		switch msg, _ := field(line, "msg"); msg {
		case "listening":
			listening = at()
		case "catalog ready":
			catalog = at()
			v, _ := field(line, "from_cache")
			fromCache = v == "true"
		}
	}
	return listening, catalog, fromCache
}

// field returns the value of key=value in a slog text line.
func field(line, key string) (string, bool) {
	i := strings.Index(line, key+"=")
	if i < 0 || (i > 0 && line[i-1] != ' ') {
		return "", false
	}
	v := line[i+len(key)+1:]
	if strings.HasPrefix(v, `"`) {
		if s, err := strconv.QuotedPrefix(v); err == nil {
			u, _ := strconv.Unquote(s)
			return u, true
		}
	}
	if j := strings.IndexByte(v, ' '); j >= 0 {
		v = v[:j]
	}
	return v, true
}

type initInfo struct {
	end, total float64
	top        []string
}

// initTrace starts weft once more from the cache with GODEBUG=inittrace=1
// and sums its package init (lines "init PKG @T ms, C ms clock, …").
func initTrace(weftBin, cfgPath, dir string) initInfo {
	addr := benchmcp.FreeAddr()
	cmd := exec.Command(weftBin, "serve", "-c", cfgPath, "--addr", addr)
	cmd.Env = append(os.Environ(), "WEFT_CONFIG=", "WEFT_CACHE_DIR=", "GODEBUG=inittrace=1")
	var buf strings.Builder
	cmd.Stderr = &buf
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	for range 5000 {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		time.Sleep(time.Millisecond)
	}
	stop(cmd)
	reap(dir)
	var in initInfo
	type pkg struct {
		name  string
		clock float64
	}
	var pkgs []pkg
	for line := range strings.Lines(buf.String()) {
		f := strings.Fields(line)
		// init PKG @0.12 ms, 0.005 ms clock, 0 bytes, 0 allocs
		if len(f) < 6 || f[0] != "init" || !strings.HasPrefix(f[2], "@") {
			continue
		}
		at, _ := strconv.ParseFloat(strings.TrimPrefix(f[2], "@"), 64)
		clock, _ := strconv.ParseFloat(f[4], 64)
		in.total += clock
		in.end = max(in.end, at+clock)
		pkgs = append(pkgs, pkg{f[1], clock})
	}
	slices.SortFunc(pkgs, func(a, b pkg) int {
		switch {
		case a.clock > b.clock:
			return -1
		case a.clock < b.clock:
			return 1
		}
		return 0
	})
	for _, p := range pkgs[:min(4, len(pkgs))] {
		in.top = append(in.top, fmt.Sprintf("%s %.1f ms", p.name, p.clock))
	}
	return in
}

// stat formats median [min–max] of the valid (≥ 0) values.
func stat(rs []result, f func(result) float64) string {
	var xs []float64
	for _, r := range rs {
		if v := f(r); v >= 0 {
			xs = append(xs, v)
		}
	}
	if len(xs) == 0 {
		return "—"
	}
	slices.Sort(xs)
	med := xs[len(xs)/2]
	if len(xs)%2 == 0 {
		med = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
	}
	return fmt.Sprintf("%s [%s–%s]", num(med), num(xs[0]), num(xs[len(xs)-1]))
}

func num(v float64) string {
	if v >= 100 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func waitTCP(addr string) {
	for range 5000 {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(time.Millisecond)
	}
	log.Fatalf("upstream on %s did not come up", addr)
}
