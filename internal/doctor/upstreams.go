package doctor

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/weft-dev/weft"
	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/source"
)

// checkUpstreams discovers every enabled upstream on its own, in
// parallel, as weft serve does at start-up (bounded by
// limits.discovery_timeout), and reports its state, tool count and how long
// discovery took. It never uses the persisted catalog: each discovery
// writes to a temporary cache directory.
func checkUpstreams(ctx context.Context, cfg *config.Config) []Finding {
	var names []string
	for name, s := range cfg.Servers {
		if s.IsEnabled() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return []Finding{{Check: "upstreams", Status: Warn, Reason: "no upstream is configured (and none enabled): the catalog is empty and /readyz stays 503",
			Fix: "add servers to weft.yaml, or point mcp_servers_file / MCP_SERVERS_FILE at an mcp.json"}}
	}
	fs := make([]Finding, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() { fs[i] = discover(ctx, cfg, name) })
	}
	wg.Wait()
	return fs
}

// discover starts one upstream in an orchestrator of its own.
func discover(ctx context.Context, cfg *config.Config, name string) Finding {
	f := Finding{Check: "upstream " + name}
	where := ""
	if o := cfg.Servers[name].Origin; o != "" {
		where = " (" + o + ")"
	}
	c := *cfg
	tmp, err := os.MkdirTemp("", "weft-doctor-")
	if err == nil {
		defer os.RemoveAll(tmp)
		c.Cache.Dir = tmp
	}
	begin := time.Now()
	o, err := weft.New(weft.Options{Config: &c, Servers: []string{name}})
	if err != nil {
		f.Status, f.Reason, f.Fix = Fail, err.Error(), "correct servers."+name+where
		return f
	}
	defer o.Close()
	ctx, cancel := context.WithTimeout(ctx, cfg.Limits.DiscoveryTimeout.D()+5*time.Second)
	defer cancel()
	err = o.Start(ctx)
	f.Took = time.Since(begin)
	rd := o.Readiness()
	h := rd.Upstreams[name]
	took := f.Took.Round(time.Millisecond)
	switch {
	case err != nil && h.State == "":
		f.Status, f.Reason = Fail, fmt.Sprintf("discovery failed after %s: %v", took, err)
	case h.State == source.StateReady:
		f.Status, f.Reason = OK, fmt.Sprintf("ready: %d tools discovered in %s", rd.Tools, took)
		if f.Took > cfg.Limits.DiscoveryTimeout.D()/2 {
			f.Status = Warn
			f.Fix = fmt.Sprintf("discovery took over half of limits.discovery_timeout (%s): raise it, or check the upstream's start-up", cfg.Limits.DiscoveryTimeout.D())
		}
		return f
	case h.State == source.StateStarting:
		f.Status, f.Reason = Warn, fmt.Sprintf("still starting after %s: %s", took, h.Reason)
		f.Fix = fmt.Sprintf("a first npx/uvx start installs its package: run weft doctor again, or raise limits.discovery_timeout (%s); limits.start_timeout (%s) bounds the start", cfg.Limits.DiscoveryTimeout.D(), cfg.Limits.StartTimeout.D())
		return f
	default:
		f.Status, f.Reason = Fail, fmt.Sprintf("%s after %s: %s", h.State, took, h.Reason)
	}
	f.Fix = "check servers." + name + where + ": the command and args (stdio) or the url and headers (http, sse); run it by hand to see its error"
	return f
}
