package doctor

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/weft-dev/weft/config"
)

// toolTimeout is one upstream's effective per-call timeout and the
// setting it comes from.
type toolTimeout struct {
	d   time.Duration
	key string
}

// toolTimeouts returns the effective per-call timeout of every enabled
// upstream, longest first, or limits.tool_timeout alone without upstreams.
func toolTimeouts(cfg *config.Config) []toolTimeout {
	var ts []toolTimeout
	for name, s := range cfg.Servers {
		if !s.IsEnabled() {
			continue
		}
		if s.Timeout > 0 {
			ts = append(ts, toolTimeout{s.Timeout.D(), "servers." + name + ".timeout"})
		} else {
			ts = append(ts, toolTimeout{cfg.Limits.ToolTimeout.D(), "limits.tool_timeout"})
		}
	}
	if len(ts) == 0 {
		ts = append(ts, toolTimeout{cfg.Limits.ToolTimeout.D(), "limits.tool_timeout"})
	}
	slices.SortFunc(ts, func(a, b toolTimeout) int {
		if a.d != b.d {
			return int(b.d - a.d)
		}
		return strings.Compare(a.key, b.key)
	})
	return slices.Compact(ts)
}

// checkTimeouts checks that the bounds nest: a tool call (per-tool
// timeout) fits in the requests that make it (a program: code.max_timeout;
// an ask: ask.deadline), and what is in flight fits in the drain on
// SIGTERM (server.shutdown_timeout). weft sets no HTTP write timeout:
// responses stream (server-sent events) for as long as their request runs.
func checkTimeouts(cfg *config.Config) []Finding {
	var fs []Finding
	add := func(st Status, reason, fix string) {
		fs = append(fs, Finding{Check: "timeouts", Status: st, Reason: reason, Fix: fix})
	}
	longest := toolTimeouts(cfg)[0]
	if mt := cfg.Code.MaxTimeout.D(); longest.d > mt {
		add(Fail, fmt.Sprintf("%s (%s) is longer than code.max_timeout (%s): a tool call inside a code-mode program is cut by the program's deadline before its own", longest.key, longest.d, mt),
			fmt.Sprintf("lower %s to at most %s, or raise code.max_timeout", longest.key, mt))
	}
	if len(cfg.Models) > 0 {
		if dl := cfg.Ask.Deadline.D(); longest.d > dl {
			add(Fail, fmt.Sprintf("%s (%s) is longer than ask.deadline (%s): a tool call of weft ask is cut by the request's deadline before its own", longest.key, longest.d, dl),
				fmt.Sprintf("lower %s to at most %s, or raise ask.deadline", longest.key, dl))
		}
		names := make([]string, 0, len(cfg.Models))
		for n := range cfg.Models {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			if mt, dl := cfg.Models[n].Timeout.D(), cfg.Ask.Deadline.D(); mt > dl {
				add(Warn, fmt.Sprintf("models.%s.timeout (%s) is longer than ask.deadline (%s): a slow model call ends at the request's deadline, not its own", n, mt, dl),
					fmt.Sprintf("lower models.%s.timeout to at most %s", n, dl))
			}
		}
	}
	if sd := cfg.Server.ShutdownTimeout.D(); longest.d > 2*sd && longest.key != "limits.tool_timeout" {
		// The defaults (30s calls, 15s drain) cut only the longest calls;
		// an upstream set far beyond the drain loses most of its calls.
		add(Warn, fmt.Sprintf("%s (%s) is over twice server.shutdown_timeout (%s): on SIGTERM, its calls still running after the drain are cut", longest.key, longest.d, sd),
			fmt.Sprintf("raise server.shutdown_timeout towards %s (and the orchestrator's grace period, e.g. Kubernetes terminationGracePeriodSeconds, above it)", longest.d))
	}
	if dt, st := cfg.Limits.DiscoveryTimeout.D(), cfg.Limits.StartTimeout.D(); dt > st {
		add(Warn, fmt.Sprintf("limits.discovery_timeout (%s) is longer than limits.start_timeout (%s): a stdio upstream is restarted before discovery stops waiting for it", dt, st),
			fmt.Sprintf("raise limits.start_timeout to at least %s", dt))
	}
	if len(fs) == 0 {
		add(OK, fmt.Sprintf("per-tool %s (%s) ≤ code.max_timeout (%s); drain on SIGTERM %s (server.shutdown_timeout); no HTTP write timeout (responses stream)",
			longest.d, longest.key, cfg.Code.MaxTimeout.D(), cfg.Server.ShutdownTimeout.D()), "")
	}
	return fs
}

// checkCacheDir checks that cache.dir exists (or can be made) and is
// writable: the catalog snapshot, embeddings and run records live there.
func checkCacheDir(cfg *config.Config) Finding {
	begin := time.Now()
	dir := cfg.Cache.Dir
	f := Finding{Check: "cache dir"}
	fix := "make " + dir + " writable by weft's user, or point cache.dir / WEFT_CACHE_DIR at a writable volume (in a container: the volume mounted at /var/cache/weft)"
	if err := os.MkdirAll(dir, 0o750); err != nil {
		f.Status, f.Reason, f.Fix = Fail, fmt.Sprintf("cache.dir %s cannot be created: %v", dir, unwrapPath(err)), fix
		return f
	}
	tmp, err := os.CreateTemp(dir, ".weft-doctor-*")
	if err != nil {
		f.Status, f.Reason, f.Fix = Fail, fmt.Sprintf("cache.dir %s is not writable: %v", dir, unwrapPath(err)), fix
		return f
	}
	tmp.Close()
	os.Remove(tmp.Name())
	f.Status, f.Reason, f.Took = OK, "cache.dir "+filepath.Clean(dir)+" is writable", time.Since(begin)
	return f
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
