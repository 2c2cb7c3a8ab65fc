package mcp

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"syscall"
)

// Upstream processes must die with weft, also when weft itself is killed
// (kill -9, the OOM killer) and never gets to stop them. Two mechanisms:
//
//   - The process weft starts gets Pdeathsig = SIGKILL: the kernel kills it
//     when its parent dies. Linux ties this to the *thread* that forked the
//     child, not to the process: a Go program's threads come and go, and a
//     child forked from a thread that later exits would be killed then, in
//     the middle of weft's life. So every upstream is started from one
//     goroutine locked to its OS thread for the life of the process
//     (spawner), whose thread therefore never exits before weft does.
//   - Pdeathsig is not inherited across fork: a launcher such as npx or uvx
//     runs the real server as a grandchild, which would survive. A small
//     watchdog process in the upstream's process group waits on a pipe
//     whose only writer is weft; when weft dies the kernel closes the pipe,
//     the watchdog's read returns, and it kills the whole group — and with
//     it itself. When weft stops an upstream normally the group is killed,
//     watchdog included.

// spawner starts processes on one locked OS thread.
var spawner struct {
	once sync.Once
	reqs chan spawnReq
}

type spawnReq struct {
	cmd  *exec.Cmd
	done chan error
}

// startOnSpawnerThread starts cmd from the spawner's thread.
func startOnSpawnerThread(cmd *exec.Cmd) error {
	spawner.once.Do(func() {
		spawner.reqs = make(chan spawnReq)
		go func() {
			// Never unlocked, and the goroutine never returns: the thread
			// lives as long as the process, so Pdeathsig fires only when
			// weft dies.
			runtime.LockOSThread()
			for r := range spawner.reqs {
				r.done <- r.cmd.Start()
			}
		}()
	})
	r := spawnReq{cmd: cmd, done: make(chan error, 1)}
	spawner.reqs <- r
	return <-r.done
}

// watchdogShell is the shell the watchdog runs in ("" when there is none;
// the upstream then relies on Pdeathsig alone).
var watchdogShell = sync.OnceValue(func() string {
	p, _ := exec.LookPath("sh")
	return p
})

// watchdogScript waits for EOF on stdin, then kills the process group
// given as $1 (its own included).
const watchdogScript = `read _ ; kill -s KILL -- "-$1"`

// watchdog is the helper process guarding one upstream's process group.
type watchdog struct {
	cmd    *exec.Cmd
	pipe   *os.File      // weft's write end; closing it (or dying) fires the watchdog
	exited chan struct{} // closed once reaped
}

// startWatchdog starts the watchdog of the process group pgid (the
// upstream's pid). It returns nil when no shell is available or the group
// is already gone.
func startWatchdog(pgid int) (*watchdog, error) {
	sh := watchdogShell()
	if sh == "" {
		return nil, nil
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("watchdog pipe: %w", err)
	}
	cmd := exec.Command(sh, "-c", watchdogScript, "weft-watchdog", strconv.Itoa(pgid))
	cmd.Stdin = r
	cmd.Env = []string{} // it needs nothing
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pgid: pgid}
	err = cmd.Start()
	r.Close()
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("start watchdog: %w", err)
	}
	wd := &watchdog{cmd: cmd, pipe: w, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(wd.exited)
	}()
	return wd, nil
}
