package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft/source"
)

// TestStdioWedgedUpstream: an upstream that stops reading its stdin (and
// stops answering) must not hold calls past their deadlines — writes of
// large arguments included — must not disturb other upstreams, and must be
// found out and restarted.
func TestStdioWedgedUpstream(t *testing.T) {
	cfg, marker := stdioConfig(t, "wedge")
	cfg.PingTimeout = time.Second
	w, logs := start(t, cfg)
	healthy, _ := start(t, Config{Name: "healthy", Command: cfg.Command, Env: map[string]string{envServerMode: "normal"}})
	wpid := w.Health().PID

	// The server stops reading once it runs "wedge"; that call is
	// cancelled (not timed out, which would start the liveness probe now).
	ctx, cancel := context.WithCancel(context.Background())
	wedgeDone := make(chan error, 1)
	go func() { _, err := w.Call(ctx, "wedge", nil); wedgeDone <- err }()
	readMarker(t, marker, 5*time.Second)
	cancel()
	if err := <-wedgeDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("wedge: err = %v, want Canceled", err)
	}

	// Calls with 1 MiB of arguments: the first fills the pipe and blocks
	// in the write, the others queue behind it. Each must end at its own
	// deadline, while calls to the healthy upstream go on.
	const deadline = 5 * time.Second
	const bound = 2 * time.Second // scheduling slack on a loaded machine
	big := json.RawMessage(`{"message":"` + strings.Repeat("x", 1<<20) + `"}`)
	type outcome struct {
		err  error
		took time.Duration
	}
	wedged := make(chan outcome, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			began := time.Now()
			_, err := w.Call(ctx, "echo", big)
			wedged <- outcome{err, time.Since(began)}
		})
	}
	var healthyErrs sync.Map
	// The first write is blocked before any deadline passes.
	w.mu.Lock()
	pipe := w.sess.pipe
	w.mu.Unlock()
	eventually(t, deadline, "a write of the 1 MiB arguments in progress", func() bool {
		return pipe.busySince.Load() != 0 && pipe.busyBytes.Load() > 1<<20
	})
	for i := range 32 {
		wg.Go(func() {
			msg := strings.Repeat("y", i*1000)
			if got, err := call(t, healthy, "echo", `{"message":"`+msg+`"}`); err != nil || got.Text() != "echo: "+msg {
				healthyErrs.Store(i, err)
			}
		})
	}
	for range 8 {
		select {
		case o := <-wedged:
			if !errors.Is(o.err, context.DeadlineExceeded) && !errors.Is(o.err, source.ErrUnavailable) {
				t.Errorf("call to the wedged upstream: err = %v, want a timeout", o.err)
			}
			if o.took > deadline+bound {
				t.Errorf("call to the wedged upstream took %s, deadline %s", o.took, deadline)
			}
		case <-time.After(deadline + bound + time.Second):
			t.Fatal("a call to the wedged upstream did not return after its deadline")
		}
	}
	wg.Wait()
	healthyErrs.Range(func(k, v any) bool {
		t.Errorf("healthy upstream call %v failed: %v", k, v)
		return true
	})

	// The wedged upstream is found out, restarted, and answers again.
	h := waitReady(t, w, wpid)
	if h.Restarts < 1 {
		t.Fatalf("health = %+v; want a restart", h)
	}
	assertProcessGone(t, wpid)
	l := logs.String()
	if !strings.Contains(l, "stopped reading its input: a write of 10") || !strings.Contains(l, "bytes to its stdin has been blocked for") {
		t.Fatalf("logs lack the reason:\n%s", l)
	}
	if got := mustText(t, w, "echo", `{"message":"back"}`); got != "echo: back" {
		t.Fatalf("echo after the restart = %q", got)
	}
	if hh := healthy.Health(); hh.State != source.StateReady || hh.Restarts != 0 {
		t.Fatalf("healthy upstream: %+v", hh)
	}
}

// TestStdioDeafUpstream: an upstream that still reads its input but no
// longer answers anything (not even a ping) is found out by the probe that
// follows a timed-out call, and restarted.
func TestStdioDeafUpstream(t *testing.T) {
	cfg, marker := stdioConfig(t, "wedge")
	cfg.PingTimeout = 500 * time.Millisecond
	u, logs := start(t, cfg)
	pid := u.Health().PID
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := u.Call(ctx, "deafen", nil); done <- err }()
	readMarker(t, marker, 5*time.Second)
	cancel() // cancelled, not timed out: no probe yet
	<-done

	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := u.Call(ctx, "echo", json.RawMessage(`{"message":"anyone?"}`)); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("echo to a deaf upstream: err = %v, want DeadlineExceeded", err)
	}
	h := waitReady(t, u, pid)
	if h.Restarts < 1 {
		t.Fatalf("health = %+v; want a restart", h)
	}
	if l := logs.String(); !strings.Contains(l, "stopped answering: no answer to a ping within 500ms after a call timed out") {
		t.Fatalf("logs lack the reason:\n%s", l)
	}
	if got := mustText(t, u, "echo", `{"message":"back"}`); got != "echo: back" {
		t.Fatalf("echo after the restart = %q", got)
	}
}
