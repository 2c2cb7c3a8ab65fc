package weft_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

// TestReadyBeforeTheRunStoreOpens: readiness is the first discovery round,
// not the run store. A run store that takes long to open (here a
// PostgreSQL address that accepts connections and never answers) does not
// hold /readyz back; Start still returns only once it opened or failed.
func TestReadyBeforeTheRunStoreOpens(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	hangUp := func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
		conns = nil
	}
	defer hangUp()

	cfg := baseConfig(t)
	cfg.Runs.Store = "postgres://weft@" + ln.Addr().String() + "/weft?sslmode=disable"
	o := planOrchestrator(t, cfg, nil, false)
	done := make(chan error, 1)
	go func() { done <- o.Start(context.Background()) }()

	deadline := time.Now().Add(10 * time.Second)
	for !o.Readiness().Ready {
		select {
		case err := <-done:
			t.Fatalf("Start returned (%v) before the orchestrator said ready", err)
		default:
		}
		if time.Now().After(deadline) {
			rd := o.Readiness()
			hangUp()
			<-done
			t.Fatalf("not ready within 10 s while the run store was opening: %+v", rd)
		}
		time.Sleep(5 * time.Millisecond)
	}
	select {
	case err := <-done:
		t.Fatalf("Start returned (%v) before the run store answered", err)
	default:
	}
	hangUp()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Start: %v (a run store that fails to open is a warning, not an error)", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Start did not return once the run store's server hung up")
	}
}
