package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft/source"
)

func TestStdioNormal(t *testing.T) {
	cfg, _ := stdioConfig(t, "normal")
	cfg.Tags = []string{"local", "test"}
	u, _ := start(t, cfg)

	h := u.Health()
	if h.State != source.StateReady || h.PID <= 0 || h.Restarts != 0 {
		t.Fatalf("health after start = %+v", h)
	}
	tools, err := u.Tools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools {
		names = append(names, tl.Original)
	}
	slices.Sort(names)
	if want := []string{"add", "echo", "env", "fail", "hang"}; !slices.Equal(names, want) {
		t.Fatalf("tools = %v, want %v", names, want)
	}
	echo := tools[slices.IndexFunc(tools, func(tl catalogTool) bool { return tl.Original == "echo" })]
	if echo.Server != "t-normal" || echo.Title != "Echo" || echo.Description != "Echoes the message." ||
		echo.ServerDescription != "A weft test server in mode normal." || !slices.Equal(echo.Tags, []string{"local", "test"}) {
		t.Fatalf("echo = %+v", echo)
	}
	var schema struct {
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if err := json.Unmarshal(echo.InputSchema, &schema); err != nil || schema.Type != "object" ||
		schema.Properties["message"] == nil || !slices.Equal(schema.Required, []string{"message"}) {
		t.Fatalf("echo input schema = %s (%v)", echo.InputSchema, err)
	}
	if a := echo.Annotations; a == nil || !a.ReadOnly() || a.OpenWorld() || a.OpenWorldHint == nil {
		t.Fatalf("echo annotations = %+v", a)
	}
	add := tools[slices.IndexFunc(tools, func(tl catalogTool) bool { return tl.Original == "add" })]
	if !strings.Contains(string(add.OutputSchema), `"sum"`) {
		t.Fatalf("add output schema = %s", add.OutputSchema)
	}

	if got := mustText(t, u, "echo", `{"message":"hi there"}`); got != "echo: hi there" {
		t.Fatalf("echo = %q", got)
	}
	r, err := call(t, u, "add", `{"a":2,"b":40}`)
	if err != nil {
		t.Fatal(err)
	}
	if string(r.StructuredContent) != `{"sum":42}` || r.IsError {
		t.Fatalf("add = %+v (structured %s)", r, r.StructuredContent)
	}
	var block map[string]any
	if err := json.Unmarshal(r.Content[0], &block); err != nil || block["type"] != "text" {
		t.Fatalf("add content = %s", r.Content[0])
	}

	r, err = call(t, u, "fail", `{}`)
	if err != nil || !r.IsError || !strings.Contains(r.Text(), "this tool always fails") {
		t.Fatalf("fail = %+v, %v", r, err)
	}
	// No arguments at all is allowed.
	if r, err := u.Call(context.Background(), "fail", nil); err != nil || !r.IsError {
		t.Fatalf("fail without args = %+v, %v", r, err)
	}

	_, err = call(t, u, "nope", `{}`)
	if !errors.Is(err, source.ErrUnknownTool) {
		t.Fatalf("unknown tool: err = %v, want ErrUnknownTool", err)
	}
	if _, err := call(t, u, "echo", `[1]`); err == nil || !strings.Contains(err.Error(), "JSON object") {
		t.Fatalf("array args: err = %v", err)
	}

	// Concurrent calls share the one process.
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := range 32 {
		wg.Go(func() {
			msg := strconv.Itoa(i)
			r, err := call(t, u, "echo", `{"message":"`+msg+`"}`)
			if err != nil || r.Text() != "echo: "+msg {
				bad.Add(1)
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d concurrent calls failed", bad.Load())
	}
	if u.Health().PID != h.PID {
		t.Fatalf("pid changed from %d to %d", h.PID, u.Health().PID)
	}
}

func TestStdioEnvCwdAndStderr(t *testing.T) {
	cfg, _ := stdioConfig(t, "normal")
	dir := t.TempDir()
	cfg.Cwd = dir
	cfg.Env["WEFT_TEST_SECRET"] = "s3cr3t-value"
	u, logs := start(t, cfg)
	got := mustText(t, u, "env", `{"message":"WEFT_TEST_SECRET"}`)
	wd, _ := filepath.EvalSymlinks(dir)
	if got != "s3cr3t-value|"+wd && got != "s3cr3t-value|"+dir {
		t.Fatalf("env = %q, want value|%s", got, dir)
	}
	// PATH and the rest of weft's environment are inherited.
	if got := mustText(t, u, "env", `{"message":"PATH"}`); !strings.HasPrefix(got, os.Getenv("PATH")+"|") {
		t.Fatalf("PATH not inherited: %q", got)
	}
	eventually(t, 5*time.Second, "stderr line logged", func() bool {
		return strings.Contains(logs.String(), "test server ready in mode normal")
	})
	if l := logs.String(); !strings.Contains(l, "server=t-normal") || strings.Contains(l, "s3cr3t-value") {
		t.Fatalf("logs lack the server name or leak the secret:\n%s", l)
	}
}

func TestStdioCrashMidCall(t *testing.T) {
	cfg, _ := stdioConfig(t, "crash")
	u, _ := start(t, cfg)
	var changed atomic.Int32
	u.OnToolsChanged(func() { changed.Add(1) })
	pid := u.Health().PID

	// It fails when the process dies, not at its deadline (which would be
	// DeadlineExceeded).
	_, err := call(t, u, "crash", `{}`)
	if !errors.Is(err, source.ErrUnavailable) {
		t.Fatalf("crash call: err = %v, want ErrUnavailable", err)
	}

	h := waitReady(t, u, pid)
	if h.Restarts < 1 {
		t.Fatalf("restarts = %d after a crash", h.Restarts)
	}
	if got := mustText(t, u, "echo", `{"message":"back"}`); got != "echo: back" {
		t.Fatalf("echo after restart = %q", got)
	}
	eventually(t, 5*time.Second, "OnToolsChanged after restart", func() bool { return changed.Load() >= 1 })
	assertProcessGone(t, pid)
}

func TestStdioCrashReasonAndFastFail(t *testing.T) {
	cfg, _ := stdioConfig(t, "crash")
	// A long backoff keeps the upstream down long enough to observe it.
	cfg.RestartBackoff, cfg.MaxRestartBackoff = 3*time.Second, 3*time.Second
	u, _ := start(t, cfg)
	_, _ = call(t, u, "crash", `{}`)
	var h source.Health
	eventually(t, 5*time.Second, "unhealthy", func() bool {
		h = u.Health()
		return h.State == source.StateUnhealthy
	})
	if !strings.Contains(h.Reason, "exit status 3") || !strings.Contains(h.Reason, "crash: giving up") || h.PID != 0 {
		t.Fatalf("health = %+v; want exit status and stderr in the reason", h)
	}
	// While down, a call fails at once rather than waiting for the
	// restart (3s away): with a 1s budget, waiting would end in
	// DeadlineExceeded.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := u.Call(ctx, "echo", json.RawMessage(`{"message":"x"}`))
	if !errors.Is(err, source.ErrUnavailable) {
		t.Fatalf("call while down: err = %v; want ErrUnavailable at once", err)
	}
	if _, err := u.Tools(context.Background()); !errors.Is(err, source.ErrUnavailable) {
		t.Fatalf("tools while down: err = %v", err)
	}
}

func TestStdioHangCancellation(t *testing.T) {
	cfg, marker := stdioConfig(t, "hang")
	u, _ := start(t, cfg)
	other, _ := start(t, Config{Name: "other", Command: cfg.Command, Env: map[string]string{envServerMode: "normal"}})

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := u.Call(ctx, "hang", nil)
		done <- err
	}()
	// While one call hangs, the same upstream and others still answer.
	if got := mustText(t, u, "echo", `{"message":"still here"}`); got != "echo: still here" {
		t.Fatalf("echo during hang = %q", got)
	}
	if got := mustText(t, other, "echo", `{"message":"other"}`); got != "echo: other" {
		t.Fatalf("other upstream = %q", got)
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("hang: err = %v, want DeadlineExceeded", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("hang call did not return after its deadline")
	}
	// The server saw notifications/cancelled: its handler's ctx ended.
	if got := readMarker(t, marker, 5*time.Second); got != "cancelled" {
		t.Fatalf("marker = %q", got)
	}
	if h := u.Health(); h.State != source.StateReady || h.Restarts != 0 {
		t.Fatalf("health after a cancelled call = %+v", h)
	}
}

func TestStdioMalformed(t *testing.T) {
	cfg, _ := stdioConfig(t, "malformed")
	u, _ := start(t, cfg)
	pid := u.Health().PID
	_, err := call(t, u, "garble", `{}`)
	if !errors.Is(err, source.ErrProtocol) {
		t.Fatalf("garble: err = %v, want ErrProtocol", err)
	}
	t.Logf("garble: %v", err)
	waitReady(t, u, pid)
	if got := mustText(t, u, "echo", `{"message":"ok"}`); got != "echo: ok" {
		t.Fatalf("echo after restart = %q", got)
	}
	assertProcessGone(t, pid)
}

func TestStdioManyToolsPaginated(t *testing.T) {
	cfg, _ := stdioConfig(t, "many")
	u, _ := start(t, cfg)
	for round := range 2 { // the first list comes from Start, the second is fresh
		tools, err := u.Tools(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, tl := range tools {
			seen[tl.Original] = true
		}
		if len(tools) != 1005 || len(seen) != 1005 || !seen["tool_0000"] || !seen["tool_0999"] || !seen["echo"] {
			t.Fatalf("round %d: %d tools (%d distinct)", round, len(tools), len(seen))
		}
	}
	if got := mustText(t, u, "tool_0777", `{}`); got != "777" {
		t.Fatalf("tool_0777 = %q", got)
	}
}

func TestStdioListChanged(t *testing.T) {
	cfg, _ := stdioConfig(t, "listchanged")
	u, _ := start(t, cfg)
	changed := make(chan struct{}, 10)
	u.OnToolsChanged(func() { changed <- struct{}{} })
	if got := mustText(t, u, "grow", `{}`); got != "grown" {
		t.Fatalf("grow = %q", got)
	}
	select {
	case <-changed:
	case <-time.After(5 * time.Second):
		t.Fatal("no OnToolsChanged after tools/list_changed")
	}
	tools, err := u.Tools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(tools, func(tl catalogTool) bool { return tl.Original == "added" }) {
		t.Fatalf("'added' missing after list_changed: %d tools", len(tools))
	}
	if got := mustText(t, u, "added", `{}`); got != "added works" {
		t.Fatalf("added = %q", got)
	}
	if h := u.Health(); h.Restarts != 0 {
		t.Fatalf("list_changed caused a restart: %+v", h)
	}
}

func TestStdioCloseKillsGroup(t *testing.T) {
	cfg, marker := stdioConfig(t, "spawnchild")
	u, _ := start(t, cfg)
	pid := u.Health().PID
	child, err := strconv.Atoi(readMarker(t, marker, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, pgrp, ok := procStat(child); !ok || pgrp != pid {
		t.Fatalf("grandchild %d: pgrp %d, want %d", child, pgrp, pid)
	}
	// A call in flight at Close fails with ErrClosed, promptly.
	errc := make(chan error, 1)
	go func() {
		_, err := u.Call(context.Background(), "hang", nil)
		errc <- err
	}()
	readMarker(t, marker+".started", 5*time.Second) // the server is running the call
	began := time.Now()
	if err := u.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(began); d > 4*time.Second {
		t.Fatalf("Close took %s", d)
	}
	if err := <-errc; !errors.Is(err, source.ErrClosed) {
		t.Fatalf("in-flight call at Close: err = %v, want ErrClosed", err)
	}
	assertProcessGone(t, pid)
	if st, _, _, ok := procStat(child); ok && st != 'Z' {
		t.Fatalf("grandchild %d still alive (state %c)", child, st)
	}
	h := u.Health()
	if h.State != source.StateClosed || h.PID != 0 {
		t.Fatalf("health after Close = %+v", h)
	}
	if _, err := call(t, u, "echo", `{"message":"x"}`); !errors.Is(err, source.ErrClosed) {
		t.Fatalf("call after Close: %v", err)
	}
	if err := u.Start(context.Background()); !errors.Is(err, source.ErrClosed) {
		t.Fatalf("Start after Close: %v", err)
	}
	if err := u.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestStdioStartFailure(t *testing.T) {
	log, _ := newLogger(t)
	u, err := New(Config{Name: "missing", Command: "/nonexistent/weft-test-server", Env: map[string]string{"TOKEN": "hunter2-secret"},
		RestartBackoff: 10 * time.Millisecond}, log)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	err = u.Start(context.Background())
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Start = %v", err)
	}
	if h := u.Health(); h.State != source.StateUnhealthy || h.Reason == "" {
		t.Fatalf("health = %+v", h)
	}
	eventually(t, 5*time.Second, "restart attempts", func() bool { return u.Health().Restarts >= 2 })
	if _, err := call(t, u, "echo", `{}`); !errors.Is(err, source.ErrUnavailable) {
		t.Fatalf("call: %v", err)
	}
}

func TestCallBeforeStart(t *testing.T) {
	cfg, _ := stdioConfig(t, "normal")
	u, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	// A call before Start waits for the first connection as long as its
	// context allows, then fails as unavailable.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := u.Call(ctx, "echo", json.RawMessage(`{}`)); !errors.Is(err, source.ErrUnavailable) {
		t.Fatalf("call before Start: %v", err)
	}
	// Once Start runs, a waiting call goes through.
	done := make(chan error, 1)
	go func() { _, err := call(t, u, "echo", `{"message":"hi"}`); done <- err }()
	eventually(t, 5*time.Second, "the call to wait for the first connection", func() bool { return u.awaiting.Load() == 1 })
	go u.Start(context.Background())
	if err := <-done; err != nil {
		t.Fatalf("call waiting for Start: %v", err)
	}
}

func TestStdioCloseEscalatesToSIGKILL(t *testing.T) {
	cfg, _ := stdioConfig(t, "stubborn")
	u, logs := start(t, cfg)
	pid := u.Health().PID
	began := time.Now()
	u.Close()
	if d := time.Since(began); d < termGrace {
		t.Fatalf("Close took %s; want at least the %s grace after SIGTERM (ignored), then SIGKILL", d, termGrace)
	}
	if !strings.Contains(logs.String(), "did not exit after SIGTERM") {
		t.Fatalf("no SIGKILL escalation logged:\n%s", logs)
	}
	assertProcessGone(t, pid)
}

// TestStdioCrashAtStartReason: a server that dies during initialize is
// reported with its exit status and its last stderr lines (redacted), not
// with the broken pipe the SDK noticed first.
func TestStdioCrashAtStartReason(t *testing.T) {
	cfg, _ := stdioConfig(t, "crashstart")
	cfg.RestartBackoff, cfg.MaxRestartBackoff = time.Minute, time.Minute
	u, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	err = u.Start(context.Background())
	h := u.Health()
	for _, text := range []string{err.Error(), h.Reason} {
		if !strings.Contains(text, "exit status 4") || !strings.Contains(text, "fatal: cannot reach postgres://[redacted]@db:5432/app") {
			t.Errorf("reason %q: want the exit status and the stderr line", text)
		}
		if strings.Contains(text, "hunter2") || strings.Contains(text, "tk-98765") || strings.Contains(text, "client is closing") {
			t.Errorf("reason %q leaks a secret or shows the pipe error", text)
		}
	}
	if h.State != source.StateUnhealthy {
		t.Fatalf("health = %+v", h)
	}
}
