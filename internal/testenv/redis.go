package testenv

import (
	"bufio"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// RedisServer is a redis-server of a test's own on a free loopback port,
// which the test may stop and start again on the same port (to take Redis
// away under load). A missing redis-server fails the test.
type RedisServer struct {
	t    *testing.T
	port int
	mu   sync.Mutex
	cmd  *exec.Cmd
}

// StartRedis starts a RedisServer and stops it at the test's end.
func StartRedis(t *testing.T) *RedisServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &RedisServer{t: t, port: ln.Addr().(*net.TCPAddr).Port}
	ln.Close()
	r.Start()
	t.Cleanup(r.Stop)
	return r
}

// Addr is the server's host:port.
func (r *RedisServer) Addr() string { return "127.0.0.1:" + strconv.Itoa(r.port) }

// URL is the server's redis:// URL (database 0).
func (r *RedisServer) URL() string { return "redis://" + r.Addr() + "/0" }

// Start runs redis-server and returns once it accepts connections.
func (r *RedisServer) Start() {
	t := r.t
	t.Helper()
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("redis-server (required for this test; scripts/test.sh installs it): %v", err)
	}
	r.mu.Lock()
	r.cmd = cmd
	r.mu.Unlock()
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), "Ready to accept connections") {
				ready <- true
				io.Copy(io.Discard, out)
				return
			}
		}
		ready <- false
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatal("redis-server exited before accepting connections")
		}
	case <-time.After(10 * time.Second): // a correctness bound
		t.Fatal("redis-server did not accept connections within 10 s")
	}
}

// Stop kills redis-server and waits for it to exit; stopping a stopped
// server does nothing.
func (r *RedisServer) Stop() {
	r.mu.Lock()
	cmd := r.cmd
	r.cmd = nil
	r.mu.Unlock()
	if cmd != nil {
		cmd.Process.Kill()
		cmd.Wait()
	}
}
