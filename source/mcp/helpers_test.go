package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/source"
)

// logBuffer is a concurrency-safe log sink for assertions on logs.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newLogger(t *testing.T) (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// testBinary is the path of this test binary, which serves MCP in a mode.
func testBinary(t testing.TB) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// stdioConfig runs this test binary as a stdio server in mode; the marker
// file path is returned for modes that write observations.
func stdioConfig(t testing.TB, mode string) (Config, string) {
	marker := filepath.Join(t.TempDir(), "marker")
	return Config{
		Name:              "t-" + mode,
		Command:           testBinary(t),
		Env:               map[string]string{envServerMode: mode, envMarker: marker},
		ConnectTimeout:    10 * time.Second,
		RestartBackoff:    20 * time.Millisecond,
		MaxRestartBackoff: 100 * time.Millisecond,
	}, marker
}

// start creates and starts an upstream, closing it at cleanup.
func start(t *testing.T, cfg Config) (*Upstream, *logBuffer) {
	t.Helper()
	log, buf := newLogger(t)
	u, err := New(cfg, log)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { u.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := u.Start(ctx); err != nil {
		t.Fatalf("Start: %v\nlogs:\n%s", err, buf)
	}
	return u, buf
}

// call calls tool with args (a JSON object) under a 10s budget.
func call(t *testing.T, u *Upstream, tool, args string) (*source.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return u.Call(ctx, tool, json.RawMessage(args))
}

// mustText calls tool and returns the text of its result.
func mustText(t *testing.T, u *Upstream, tool, args string) string {
	t.Helper()
	r, err := call(t, u, tool, args)
	if err != nil {
		t.Fatalf("call %s: %v", tool, err)
	}
	if r.IsError {
		t.Fatalf("call %s: tool error: %s", tool, r.Text())
	}
	return r.Text()
}

// eventually polls cond every 10ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitReady waits until the upstream is ready again with a pid other than
// notPID (0: any).
func waitReady(t *testing.T, u *Upstream, notPID int) source.Health {
	t.Helper()
	var h source.Health
	eventually(t, 15*time.Second, "upstream ready", func() bool {
		h = u.Health()
		return h.State == source.StateReady && h.PID != notPID
	})
	return h
}

// procStat returns the state letter, ppid and pgrp of pid from /proc.
func procStat(pid int) (state byte, ppid, pgrp int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	// pid (comm) state ppid pgrp ...; comm may contain spaces and parens.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return 0, 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	pgrp, _ = strconv.Atoi(f[2])
	return f[0][0], ppid, pgrp, true
}

// assertProcessGone checks that pid is gone and that its process group is
// empty: kill(-pgid, 0) answers ESRCH.
//
// Orphaned grandchildren are reparented to PID 1. Where PID 1 does not reap
// orphans (some sandboxes' init processes do not), a killed grandchild stays
// a zombie and keeps the group "alive" for kill(2). Such members are dead
// and are not ours to reap, so they are accepted; any live member, or a
// zombie whose parent is this test process, fails the test.
func assertProcessGone(t *testing.T, pid int) {
	t.Helper()
	if pid <= 0 {
		t.Fatalf("no pid to check (%d)", pid)
	}
	eventually(t, 5*time.Second, "process "+strconv.Itoa(pid)+" gone", func() bool {
		err := syscall.Kill(pid, 0)
		if errors.Is(err, syscall.ESRCH) {
			return true
		}
		st, ppid, _, ok := procStat(pid)
		return !ok || (st == 'Z' && ppid != os.Getpid())
	})
	var live, dead []string
	eventually(t, 5*time.Second, "process group "+strconv.Itoa(pid)+" empty", func() bool {
		if errors.Is(syscall.Kill(-pid, 0), syscall.ESRCH) {
			return true
		}
		live, dead = live[:0], dead[:0]
		entries, _ := os.ReadDir("/proc")
		for _, e := range entries {
			p, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			st, ppid, pgrp, ok := procStat(p)
			if !ok || pgrp != pid {
				continue
			}
			if st != 'Z' || ppid == os.Getpid() {
				live = append(live, e.Name()+":"+string(st))
			} else {
				dead = append(dead, e.Name())
			}
		}
		return len(live) == 0
	})
	if len(dead) > 0 {
		t.Logf("process group %d: only zombies left, reparented to an init that does not reap (%v)", pid, dead)
	}
	assertNoZombieChildren(t)
}

// assertNoZombieChildren fails if this test process has an unreaped child.
func assertNoZombieChildren(t *testing.T) {
	t.Helper()
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, ppid, _, ok := procStat(p); ok && ppid == os.Getpid() && st == 'Z' {
			t.Errorf("zombie child %d of the test process", p)
		}
	}
}

// readMarker waits for the marker file to hold something and returns it.
func readMarker(t *testing.T, path string, d time.Duration) string {
	t.Helper()
	var s string
	eventually(t, d, "marker file "+filepath.Base(path), func() bool {
		b, err := os.ReadFile(path)
		s = string(b)
		return err == nil && len(b) > 0
	})
	return s
}

type catalogTool = catalog.Tool
