package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testenv"
	"github.com/weft-dev/weft/source"
)

// checkEverything runs the checks shared by every transport of the
// reference "everything" server.
func checkEverything(t *testing.T, u *Upstream) {
	t.Helper()
	tools, err := u.Tools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]catalogTool{}
	for _, tl := range tools {
		names[tl.Original] = tl
	}
	for _, want := range []string{"echo", "get-sum", "get-env", "get-tiny-image", "get-structured-content", "trigger-long-running-operation"} {
		if _, ok := names[want]; !ok {
			t.Errorf("tool %q missing from %d tools", want, len(tools))
		}
	}
	echo := names["echo"]
	if echo.Title != "Echo Tool" || echo.Description != "Echoes back the input string" {
		t.Errorf("echo = %+v", echo)
	}
	if a := echo.Annotations; a == nil || !a.ReadOnly() || a.Destructive() || !a.Idempotent() || a.OpenWorld() {
		t.Errorf("echo annotations = %+v", a)
	}
	if d := echo.ServerDescription; d == "" || len(d) > 500 {
		t.Errorf("server description (%d bytes) = %q", len(d), d)
	}
	if got := mustText(t, u, "echo", `{"message":"hello, weft"}`); got != "Echo: hello, weft" {
		t.Errorf("echo = %q", got)
	}
	if got := mustText(t, u, "get-sum", `{"a":2,"b":40}`); got != "The sum of 2 and 40 is 42." {
		t.Errorf("get-sum = %q", got)
	}
	if got := mustText(t, u, "get-sum", `{"a":0.5,"b":-3}`); got != "The sum of 0.5 and -3 is -2.5." {
		t.Errorf("get-sum = %q", got)
	}
	r, err := call(t, u, "get-tiny-image", `{}`)
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, c := range r.Content {
		var b struct {
			Type     string `json:"type"`
			MimeType string `json:"mimeType"`
		}
		json.Unmarshal(c, &b)
		kinds = append(kinds, b.Type+":"+b.MimeType)
	}
	if !slices.Contains(kinds, "image:image/png") {
		t.Errorf("get-tiny-image content = %v", kinds)
	}
	if _, err := call(t, u, "no-such-tool", `{}`); !errors.Is(err, source.ErrUnknownTool) {
		t.Errorf("unknown tool: %v", err)
	}
	// The TypeScript server validates arguments and reports a tool error.
	r, err = call(t, u, "get-sum", `{"a":"two"}`)
	if err != nil || !r.IsError {
		t.Errorf("bad arguments: %+v, %v", r, err)
	}
}

func TestEverythingStdio(t *testing.T) {
	bin := testenv.NPMBin(t, "mcp-server-everything")
	u, _ := start(t, Config{Name: "everything", Command: bin, Args: []string{"stdio"}})
	checkEverything(t, u)
	pid := u.Health().PID
	u.Close()
	assertProcessGone(t, pid)
}

func TestEverythingStreamableHTTP(t *testing.T) {
	url := testenv.EverythingHTTP(t)
	u, _ := start(t, Config{Name: "everything-http", URL: url,
		Headers: map[string]string{"X-Weft-Test": "1"}})
	if h := u.Health(); h.State != source.StateReady || h.PID != 0 {
		t.Fatalf("health = %+v", h)
	}
	checkEverything(t, u)
}

func TestEverythingViaNPXCloseKillsTree(t *testing.T) {
	testenv.NPMBin(t, "mcp-server-everything") // fails the test when not installed
	npx, err := exec.LookPath("npx")
	if err != nil {
		t.Fatalf("npx is not on PATH: %v", err)
	}
	u, _ := start(t, Config{
		Name:    "everything-npx",
		Command: npx,
		Args:    []string{"--offline", "--no-install", "mcp-server-everything", "stdio"},
		Cwd:     filepath.Join(testenv.RepoRoot(), "internal", "testenv", "npm"),
		Env:     map[string]string{"npm_config_update_notifier": "false"},
	})
	if got := mustText(t, u, "echo", `{"message":"via npx"}`); got != "Echo: via npx" {
		t.Fatalf("echo = %q", got)
	}
	pid := u.Health().PID
	// npx runs the server as a descendant: the group has more than the leader.
	var members []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, _, pgrp, ok := procStat(p); ok && pgrp == pid && st != 'Z' {
			members = append(members, p)
		}
	}
	if len(members) < 2 {
		t.Fatalf("process group %d has %d live members (%v); want npx and its node child", pid, len(members), members)
	}
	t.Logf("process group %d: %v", pid, members)
	began := time.Now()
	u.Close()
	t.Logf("Close took %s", time.Since(began))
	assertProcessGone(t, pid)
	for _, p := range members {
		if st, _, _, ok := procStat(p); ok && st != 'Z' {
			t.Errorf("group member %d still alive (state %c)", p, st)
		}
	}
}

func TestMemoryStdio(t *testing.T) {
	bin := testenv.NPMBin(t, "mcp-server-memory")
	file := filepath.Join(t.TempDir(), "memory.jsonl")
	u, _ := start(t, Config{Name: "memory", Command: bin, Env: map[string]string{"MEMORY_FILE_PATH": file}})
	tools, err := u.Tools(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range tools {
		names = append(names, tl.Original)
	}
	slices.Sort(names)
	want := []string{"add_observations", "create_entities", "create_relations", "delete_entities",
		"delete_observations", "delete_relations", "open_nodes", "read_graph", "search_nodes"}
	if !slices.Equal(names, want) {
		t.Fatalf("tools = %v, want %v", names, want)
	}
	if _, err := call(t, u, "create_entities",
		`{"entities":[{"name":"weft","entityType":"project","observations":["written in Go"]}]}`); err != nil {
		t.Fatal(err)
	}
	r, err := call(t, u, "search_nodes", `{"query":"weft"}`)
	if err != nil {
		t.Fatal(err)
	}
	var graph struct {
		Entities []struct {
			Name         string   `json:"name"`
			EntityType   string   `json:"entityType"`
			Observations []string `json:"observations"`
		} `json:"entities"`
	}
	if err := json.Unmarshal(r.StructuredContent, &graph); err != nil {
		t.Fatalf("structured content %s: %v", r.StructuredContent, err)
	}
	if len(graph.Entities) != 1 || graph.Entities[0].Name != "weft" || graph.Entities[0].EntityType != "project" ||
		!slices.Equal(graph.Entities[0].Observations, []string{"written in Go"}) {
		t.Fatalf("search_nodes = %s", r.StructuredContent)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), `"name":"weft"`) {
		t.Fatalf("memory file: %q, %v", b, err)
	}
}
