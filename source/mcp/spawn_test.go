package mcp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestUpstreamDiesWithWeft: when the process that started an upstream is
// killed with SIGKILL (no chance to clean up), the upstream and the
// grandchild it started die too.
func TestUpstreamDiesWithWeft(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pids")
	launcher := exec.Command(testBinary(t))
	launcher.Env = append(os.Environ(), envLauncher+"="+out)
	launcher.Stderr = os.Stderr
	if err := launcher.Start(); err != nil {
		t.Fatal(err)
	}
	defer launcher.Process.Kill()
	pids := strings.Fields(readMarker(t, out, 20*time.Second))
	if len(pids) != 2 {
		t.Fatalf("launcher wrote %q", pids)
	}
	upstream, _ := strconv.Atoi(pids[0])
	grandchild, _ := strconv.Atoi(pids[1])
	for _, p := range []int{upstream, grandchild} {
		if st, _, pgrp, ok := procStat(p); !ok || st == 'Z' || pgrp != upstream {
			t.Fatalf("process %d: state %c, group %d, found %v; want alive in group %d", p, st, pgrp, ok, upstream)
		}
	}
	if err := launcher.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	launcher.Wait()
	for _, p := range []int{upstream, grandchild} {
		eventually(t, 10*time.Second, "process "+strconv.Itoa(p)+" to die with its launcher", func() bool {
			st, _, _, ok := procStat(p)
			return !ok || st == 'Z'
		})
	}
}
