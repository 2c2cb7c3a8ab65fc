package mcpgw_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"reflect"
	"testing"
	"time"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
)

// everythingConfig is a meta endpoint over the npm reference server (stdio).
func everythingConfig(t *testing.T, endpoints ...config.Endpoint) *config.Config {
	cfg := config.Default()
	cfg.Servers = map[string]*config.Server{"everything": {
		Name: "everything", Transport: config.TransportStdio,
		Command: testenv.NPMBin(t, "mcp-server-everything"), Args: []string{"stdio"},
	}}
	if len(endpoints) > 0 {
		cfg.Gateway.Endpoints = endpoints
	}
	return cfg
}

// inspector runs the MCP Inspector CLI (another ecosystem's MCP client) and
// decodes its JSON output.
func inspector(t *testing.T, args ...string) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.NPMBin(t, "mcp-inspector"), append([]string{"--cli"}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("mcp-inspector %v: %v\nstdout: %s\nstderr: %s", args, err, out.String(), errb.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatalf("mcp-inspector %v: output is not JSON: %v\n%s", args, err, out.String())
	}
	return m
}

// inspectorChecks runs the interop checks against a target (transport
// flags): tools/list, search_tools, call_tool and run_code.
func inspectorChecks(t *testing.T, target []string) {
	run := func(args ...string) map[string]any {
		return inspector(t, append(append([]string{}, target...), args...)...)
	}

	var names []string
	for _, tl := range run("--method", "tools/list")["tools"].([]any) {
		names = append(names, tl.(map[string]any)["name"].(string))
	}
	if want := []string{"call_tool", "describe_tools", "run_code", "run_plan", "search_tools"}; !reflect.DeepEqual(names, want) {
		t.Fatalf("tools/list = %v, want %v", names, want)
	}

	res := run("--method", "tools/call", "--tool-name", "search_tools", "--tool-arg", "query=echo back a message", "k=3")
	sc := res["structuredContent"].(map[string]any)
	var echo map[string]any
	for _, h := range sc["tools"].([]any) {
		if h.(map[string]any)["name"] == "everything__echo" {
			echo = h.(map[string]any)
		}
	}
	wantEcho := map[string]any{"name": "everything__echo", "code": "tools.everything.echo", "description": "Echoes back the input string", "signature": "echo(args: { message: string }): Promise<unknown>"}
	if !reflect.DeepEqual(echo, wantEcho) {
		t.Fatalf("search_tools hit for echo = %v, want %v (all: %v)", echo, wantEcho, sc)
	}

	res = run("--method", "tools/call", "--tool-name", "call_tool", "--tool-arg", "name=everything__echo", `arguments={"message":"hi from the inspector"}`)
	want := map[string]any{"content": []any{map[string]any{"type": "text", "text": "Echo: hi from the inspector"}}}
	if !reflect.DeepEqual(res, want) {
		t.Fatalf("call_tool = %v, want %v", res, want)
	}

	res = run("--method", "tools/call", "--tool-name", "run_code", "--tool-arg",
		`code=const [a, b] = await Promise.all([tools.everything.get_sum({a: 1, b: 2}), tools.everything.get_sum({a: 3, b: 4})]); return [a, b];`)
	sc = res["structuredContent"].(map[string]any)
	if fmt.Sprint(sc["result"]) != "[The sum of 1 and 2 is 3. The sum of 3 and 4 is 7.]" || sc["error"] != nil || len(sc["calls"].([]any)) != 2 {
		t.Fatalf("run_code = %v", sc)
	}
}

// TestInspectorHTTP: the MCP Inspector CLI against weft's Streamable HTTP endpoint.
func TestInspectorHTTP(t *testing.T) {
	_, base := startWeft(t, everythingConfig(t))
	inspectorChecks(t, []string{"--transport", "http", "--server-url", base + "/mcp"})
}
