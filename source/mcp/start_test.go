package mcp

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source"
)

// TestNPXFirstStartEmptyCache starts a reference server through `npx -y`
// with an empty npm cache, as on a fresh machine: npx installs the package
// from the registry first, which takes longer than the discovery timeout.
// The process must not be killed mid-install; the upstream reports that it
// is still starting and reaches ready once the install is done, without a
// restart.
func TestNPXFirstStartEmptyCache(t *testing.T) {
	npx, err := exec.LookPath("npx")
	if err != nil {
		t.Fatalf("npx is not on PATH: %v", err)
	}
	log, logs := newLogger(t)
	u, err := New(Config{
		Name:    "memory",
		Command: npx,
		Args:    []string{"-y", "@modelcontextprotocol/server-memory@2026.8.31"},
		Env: map[string]string{
			"npm_config_cache":           t.TempDir(), // empty: npx must install
			"npm_config_update_notifier": "false",
			"MEMORY_FILE_PATH":           filepath.Join(t.TempDir(), "memory.jsonl"),
		},
		Cwd:            t.TempDir(),
		ConnectTimeout: 2 * time.Second,
		StartTimeout:   80 * time.Second,
	}, log)
	if err != nil {
		t.Fatal(err)
	}
	set, err := source.NewSet([]source.Source{u}, source.SetOptions{DiscoveryTimeout: 2 * time.Second, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	ready := make(chan *catalog.Snapshot, 16)
	set.Subscribe(func(s *catalog.Snapshot) {
		if _, ok := s.Get("memory__create_entities"); ok {
			ready <- s
		}
	})
	if err := set.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if h := set.Health()["memory"]; h.State != source.StateReady {
		// Still installing after the discovery timeout: reported as such.
		if h.State != source.StateStarting || !strings.Contains(h.Reason, "waiting for its initialize answer") {
			t.Fatalf("health while installing = %+v", h)
		}
		t.Logf("after the discovery timeout: %+v", h)
		// The log says what is going on and what to change.
		if l := logs.String(); !strings.Contains(l, "upstream still starting; discovery goes on in the background") ||
			!strings.Contains(l, "limits.discovery_timeout") || !strings.Contains(l, "limits.start_timeout") {
			t.Fatalf("log lacks the still-starting line and its hint:\n%s", l)
		}
	}
	select {
	case <-ready:
	case <-time.After(85 * time.Second):
		t.Fatalf("memory never became ready: %+v\nlogs:\n%s", set.Health()["memory"], logs)
	}
	h := set.Health()["memory"]
	if h.State != source.StateReady || h.Restarts != 0 {
		t.Fatalf("health = %+v; want ready without a restart (npx killed mid-install)", h)
	}
	if got := mustText(t, u, "read_graph", `{}`); !strings.Contains(got, "entities") {
		t.Fatalf("read_graph = %q", got)
	}
	if _, err := os.Stat(filepath.Join(u.cfg.Env["npm_config_cache"], "_npx")); err != nil {
		t.Fatalf("npx did not install into the empty cache: %v", err)
	}
}

// TestStartTimeoutSaysWhatToChange: a process that never answers
// initialize is stopped after StartTimeout (not the shorter
// ConnectTimeout), with an error naming the setting to raise and its last
// stderr lines.
func TestStartTimeoutSaysWhatToChange(t *testing.T) {
	u, err := New(Config{Name: "silent", Command: "sh", Args: []string{"-c", "echo still installing >&2; exec sleep 60"},
		ConnectTimeout: 50 * time.Millisecond, StartTimeout: 700 * time.Millisecond, RestartBackoff: time.Minute}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	err = u.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "initialize: no answer within the start timeout 700ms") ||
		!strings.Contains(err.Error(), "raise limits.start_timeout") || !strings.Contains(err.Error(), "stderr: still installing") {
		t.Fatalf("Start = %v", err)
	}
	if h := u.Health(); h.State != source.StateUnhealthy || h.Reason != err.Error() {
		t.Fatalf("health = %+v", h)
	}
}
