package testenv

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Proc is a process seen in /proc.
type Proc struct {
	PID, PPID int
	State     string // R, S, Z (zombie), ...
	Cmd       string
}

// Descendants lists every live or zombie descendant of pid.
func Descendants(pid int) []Proc {
	entries, _ := os.ReadDir("/proc")
	children := map[int][]Proc{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may contain spaces and parens.
		s := string(b)
		open, close := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || close < 0 {
			continue
		}
		f := strings.Fields(s[close+1:])
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		children[ppid] = append(children[ppid], Proc{PID: n, PPID: ppid, State: f[0], Cmd: s[open+1 : close]})
	}
	var out []Proc
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			out = append(out, c)
			walk(c.PID)
		}
	}
	walk(pid)
	return out
}

// RequireNoDescendants fails the test if the test process still has child
// processes (live or zombie) after a short grace period.
func RequireNoDescendants(t testing.TB) {
	t.Helper()
	var left []Proc
	for range 50 {
		left = Descendants(os.Getpid())
		if len(left) == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("leaked processes: %+v", left)
}

// ProcessGone reports whether pid no longer exists (not even as a zombie).
func ProcessGone(pid int) bool {
	_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
	return os.IsNotExist(err)
}
