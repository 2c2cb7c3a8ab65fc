package mcp

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Why weft drives exec.Cmd itself instead of using the SDK's
// mcp.CommandTransport:
//
//   - CommandTransport signals only the direct child. Launchers such as npx,
//     uvx or a shell wrapper start the real server as a grandchild, which
//     would survive as an orphan. weft starts every upstream in its own
//     process group (Setpgid) and signals the whole group.
//   - CommandTransport reaps the process only inside Close, so a crashed
//     server stays a zombie and nobody learns that it died until the next
//     call fails. weft waits on the process from the start, so an exit is
//     noticed at once, reported with its status and last stderr lines, and
//     triggers a restart.
//   - CommandTransport uses Cmd.StdoutPipe, which Cmd.Wait closes while the
//     SDK may still be reading; and it leaves stderr to the caller anyway.
//   - Its shutdown waits 5s after closing stdin before SIGTERM; weft's
//     budget is ~2s in total.
//   - It leaves the environment (exec's default: all of weft's, secrets
//     included) and dying with weft to the caller; weft passes a minimal
//     environment (env.go) and ties the process group's life to its own
//     (spawn.go).
//
// So weft creates the three pipes with os.Pipe, starts the command, hands
// stdin/stdout to the SDK through mcp.IOTransport, and keeps stderr and the
// process lifecycle to itself.

const (
	// stderrMaxLine bounds one logged stderr line; the rest is dropped.
	stderrMaxLine = 4096
	// stderrTail is how many recent stderr lines a crash reason quotes.
	stderrTail = 5
	// termGrace is how long Close waits after SIGTERM before SIGKILL.
	termGrace = 2 * time.Second
)

// process is one running stdio upstream.
type process struct {
	cmd    *exec.Cmd
	pid    int
	stdin  *os.File // our write end of the child's stdin
	stdout *os.File // our read end of the child's stdout
	stderr *os.File // our read end of the child's stderr

	exited     chan struct{} // closed once Wait returned
	waitErr    error         // set before exited is closed
	stderrDone chan struct{} // closed when the stderr reader finished

	tailMu sync.Mutex
	tail   []string

	watchdog *watchdog // nil without one (spawn.go)

	stopOnce sync.Once
}

// startProcess starts cfg.Command in its own process group.
func startProcess(cfg Config, log *slog.Logger, red *redactor) (*process, error) {
	cmd := exec.Command(cfg.Command, cfg.Args...)
	cmd.Env = childEnv(os.Environ(), cfg.InheritEnv, cfg.Env)
	cmd.Dir = cfg.Cwd
	cmd.SysProcAttr = upstreamProcAttr()

	var files []*os.File // every pipe end, closed on failure
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	pipe := func() (r, w *os.File, err error) {
		r, w, err = os.Pipe()
		if err == nil {
			files = append(files, r, w)
		}
		return r, w, err
	}
	inR, inW, err := pipe()
	if err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	outR, outW, err := pipe()
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	errR, errW, err := pipe()
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("pipe: %w", err)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inR, outW, errW
	if err := startOnSpawnerThread(cmd); err != nil {
		closeAll()
		return nil, fmt.Errorf("start %s: %s", cfg.Command, red.redact(err.Error()))
	}
	// The child has its copies; ours must go so that EOF is seen when the
	// child (and its descendants) close theirs.
	inR.Close()
	outW.Close()
	errW.Close()

	p := &process{
		cmd:        cmd,
		pid:        cmd.Process.Pid,
		stdin:      inW,
		stdout:     outR,
		stderr:     errR,
		exited:     make(chan struct{}),
		stderrDone: make(chan struct{}),
	}
	go func() {
		p.waitErr = cmd.Wait()
		close(p.exited)
	}()
	go p.readStderr(log, red)
	wd, err := startWatchdog(p.pid)
	if err != nil && !p.hasExited() { // a process that is gone needs no watchdog
		log.Warn("no watchdog for the upstream's process group: its descendants may outlive weft if weft is killed", "pid", p.pid, "error", err)
	}
	p.watchdog = wd
	return p, nil
}

// hasExited reports whether the process has exited (and was reaped).
func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// readStderr logs the child's stderr line by line and keeps the last lines
// for crash reports.
func (p *process) readStderr(log *slog.Logger, red *redactor) {
	defer close(p.stderrDone)
	r := bufio.NewReaderSize(p.stderr, stderrMaxLine)
	for {
		line, isPrefix, err := r.ReadLine()
		if len(line) > 0 {
			text := red.redact(strings.TrimRight(string(line), "\r"))
			if isPrefix {
				text += " …(truncated)"
				for isPrefix && err == nil {
					_, isPrefix, err = r.ReadLine()
				}
			}
			log.Info("upstream stderr", "pid", p.pid, "line", text)
			p.tailMu.Lock()
			p.tail = append(p.tail, text)
			if len(p.tail) > stderrTail {
				p.tail = p.tail[len(p.tail)-stderrTail:]
			}
			p.tailMu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

// exitReason describes how the process ended, with its last stderr lines.
func (p *process) exitReason() string {
	reason := "process exited"
	select {
	case <-p.exited:
		if p.waitErr != nil {
			reason = "process exited: " + p.waitErr.Error()
		} else {
			reason = "process exited: exit status 0"
		}
	default:
	}
	return reason + p.stderrTail()
}

// runningReason describes a problem of a process that is still running,
// with its last stderr lines.
func (p *process) runningReason(what string) string {
	return what + " (process " + strconv.Itoa(p.pid) + " still running)" + p.stderrTail()
}

// stderrTail is "; stderr: " and the last stderr lines, or "".
func (p *process) stderrTail() string {
	p.tailMu.Lock()
	defer p.tailMu.Unlock()
	if len(p.tail) == 0 {
		return ""
	}
	return "; stderr: " + strings.Join(p.tail, " | ")
}

// stop ends the process group and reaps the process: stdin is closed (the
// polite MCP stdio shutdown), the group gets SIGTERM, and whatever is left
// after termGrace gets SIGKILL. It returns when the process was reaped and
// our pipe ends are closed. Safe to call more than once and after the
// process exited on its own (its remaining group members are killed then).
func (p *process) stop(log *slog.Logger) {
	p.stopOnce.Do(func() {
		p.stdin.Close()
		select {
		case <-p.exited:
		default:
			p.signalGroup(syscall.SIGTERM, log)
			t := time.NewTimer(termGrace)
			select {
			case <-p.exited:
			case <-t.C:
				log.Warn("upstream did not exit after SIGTERM; killing", "pid", p.pid, "grace", termGrace)
			}
			t.Stop()
		}
		// Always: descendants may ignore SIGTERM or outlive the leader.
		p.signalGroup(syscall.SIGKILL, log)
		select {
		case <-p.exited:
		case <-time.After(5 * time.Second):
			log.Error("upstream process not reaped 5s after SIGKILL", "pid", p.pid)
		}
		if wd := p.watchdog; wd != nil { // killed with the group
			select {
			case <-wd.exited:
			case <-time.After(5 * time.Second):
				log.Error("upstream watchdog not reaped 5s after SIGKILL", "pid", wd.cmd.Process.Pid)
			}
			wd.pipe.Close()
		}
		// Descendants are dead, so stderr reaches EOF; bound the wait anyway.
		select {
		case <-p.stderrDone:
		case <-time.After(time.Second):
		}
		p.stdout.Close()
		p.stderr.Close()
	})
}

// signalGroup signals the process group led by the process.
func (p *process) signalGroup(sig syscall.Signal, log *slog.Logger) {
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		log.Warn("signal upstream process group", "pgid", p.pid, "signal", sig.String(), "error", err)
	}
}
