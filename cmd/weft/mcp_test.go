package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/internal/testenv"
)

// inspect runs the MCP Inspector CLI against `weft mcp` over stdio.
func inspect(t *testing.T, cfgPath, cacheDir string, args ...string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	argv := append([]string{"--cli", "-e", "WEFT_CACHE_DIR=" + cacheDir, weftBin, "mcp", "-c", cfgPath}, args...)
	cmd := exec.CommandContext(ctx, testenv.NPMBin(t, "mcp-inspector"), argv...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	// Exit status 5 is the inspector's "the tool returned isError".
	if err := cmd.Run(); err != nil && cmd.ProcessState.ExitCode() != 5 {
		t.Fatalf("mcp-inspector %v: %v\nstdout: %s\nstderr: %s", args, err, out.String(), errb.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("mcp-inspector %v: stdout is not one JSON document (did weft log to stdout?): %v\n%s", args, err, out.String())
	}
	return m
}

// TestMCPStdioInspector: the MCP Inspector CLI lists weft's meta tools and
// calls search_tools, call_tool and run_code over stdio (weft mcp).
func TestMCPStdioInspector(t *testing.T) {
	cfgPath, cacheDir := writeConfig(t, "")
	run := func(args ...string) map[string]any { return inspect(t, cfgPath, cacheDir, args...) }

	var names []string
	for _, tl := range run("--method", "tools/list")["tools"].([]any) {
		names = append(names, tl.(map[string]any)["name"].(string))
	}
	if want := []string{"call_tool", "describe_tools", "run_code", "run_plan", "search_tools"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("tools/list = %v, want %v", names, want)
	}

	res := run("--method", "tools/call", "--tool-name", "search_tools", "--tool-arg", "query=add two numbers")
	var sum map[string]any
	for _, h := range res["structuredContent"].(map[string]any)["tools"].([]any) {
		if h.(map[string]any)["name"] == "everything__get-sum" {
			sum = h.(map[string]any)
		}
	}
	wantSum := map[string]any{"name": "everything__get-sum", "code": "tools.everything.get_sum", "description": "Returns the sum of two numbers", "signature": "get_sum(args: { a: number; b: number }): Promise<unknown>"}
	if !reflect.DeepEqual(sum, wantSum) {
		t.Fatalf("search_tools hit = %v, want %v", sum, wantSum)
	}

	res = run("--method", "tools/call", "--tool-name", "call_tool", "--tool-arg", "name=everything__echo", `arguments={"message":"over stdio"}`)
	if want := map[string]any{"content": []any{map[string]any{"type": "text", "text": "Echo: over stdio"}}}; !reflect.DeepEqual(res, want) {
		t.Fatalf("call_tool = %v, want %v", res, want)
	}
	res = run("--method", "tools/call", "--tool-name", "call_tool", "--tool-arg", "name=everything__nope")
	// An error result: its JSON as text, no structuredContent (which clients
	// check against the output schema of successful results).
	if res["isError"] != true || res["structuredContent"] != nil || !strings.Contains(fmt.Sprint(res["content"]), `{"error":{"code":"unknown_tool","message":"everything__nope: no such tool in the catalog; use search_tools to find tool names"}}`) {
		t.Fatalf("call_tool of an unknown tool = %v", res)
	}

	res = run("--method", "tools/call", "--tool-name", "run_code", "--tool-arg", `code=return await tools.everything.get_sum({a: 20, b: 22});`)
	sc := res["structuredContent"].(map[string]any)
	if sc["result"] != "The sum of 20 and 22 is 42." || sc["error"] != nil {
		t.Fatalf("run_code = %v", sc)
	}
}

// TestMCPFlags: bad flags are usage errors.
func TestMCPFlags(t *testing.T) {
	cfgPath, cacheDir := writeConfig(t, "")
	for _, tc := range []struct{ args, msg string }{
		{"--mode nope", `--mode: "nope": must be meta or passthrough`},
		{"--endpoint /x", `--endpoint: "/x" is not in gateway.endpoints (have: /mcp)`},
		{"--servers ghost", `--servers: "ghost" is not a configured server`},
	} {
		args := append([]string{"mcp", "-c", cfgPath}, splitArgs(tc.args)...)
		r := run(t, cacheDir, args...)
		if r.code != 2 || !bytes.Contains([]byte(r.stderr), []byte(tc.msg)) {
			t.Errorf("weft %v: exit %d, stderr %q; want 2 and %q", args, r.code, r.stderr, tc.msg)
		}
	}
}

func splitArgs(s string) []string { return bytes2strings(bytes.Fields([]byte(s))) }

func bytes2strings(b [][]byte) []string {
	out := make([]string, len(b))
	for i, x := range b {
		out[i] = string(x)
	}
	return out
}
