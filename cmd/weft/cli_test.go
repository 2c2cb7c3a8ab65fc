package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/weft-dev/weft/internal/testenv"
)

var weftBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "weft-cli-test")
	if err != nil {
		panic(err)
	}
	weftBin = filepath.Join(dir, "weft")
	// Built as shipped: one static binary (nothing needs cgo).
	build := exec.Command("go", "build", "-o", weftBin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building weft: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// failingUpstream is a Go SDK MCP server whose "explode" tool reports isError.
func failingUpstream(t *testing.T) string {
	s := mcp.NewServer(&mcp.Implementation{Name: "fail", Version: "1"}, nil)
	mcp.AddTool(s, &mcp.Tool{Name: "explode", Description: "Always fails"}, func(ctx context.Context, r *mcp.CallToolRequest, in struct{}) (*mcp.CallToolResult, any, error) {
		return nil, nil, errors.New("kaboom")
	})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s }, nil))
	t.Cleanup(hs.Close)
	return hs.URL
}

// writeConfig writes a weft.yaml with the npm everything server over stdio
// and, when url is set, an HTTP upstream "fail".
func writeConfig(t *testing.T, url string) (path, cacheDir string) {
	dir := t.TempDir()
	cfg := fmt.Sprintf("servers:\n  everything:\n    command: %s\n    args: [stdio]\n", testenv.NPMBin(t, "mcp-server-everything"))
	if url != "" {
		cfg += fmt.Sprintf("  fail:\n    url: %s\n", url)
	}
	path = filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, filepath.Join(dir, "cache")
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, cacheDir string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, weftBin, args...)
	cmd.Env = append(os.Environ(), "WEFT_CACHE_DIR="+cacheDir, "WEFT_CONFIG=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{out.String(), errb.String(), code}
}

func TestCLI(t *testing.T) {
	cfgPath, cache := writeConfig(t, failingUpstream(t))
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("servers:\n  github:\n    url: https://example.com/mcp\n    timeout: 3x\n    colour: red\n"), 0o600)

	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring
		stderr string // substring
	}{
		{"version", []string{"version"}, 0, "weft ", ""},
		{"config check", []string{"config", "check", "--config", cfgPath}, 0, "everything:", "configuration OK"},
		{"config invalid", []string{"config", "check", "--config", bad}, 2, "", `bad.yaml:4: servers.github.timeout: "3x": not a duration (e.g. 30s, 2m)`},
		{"config unknown key", []string{"config", "check", "--config", bad}, 2, "", "bad.yaml:5: servers.github.colour"},
		{"config missing file", []string{"config", "check", "--config", "/nonexistent/weft.yaml"}, 2, "", "/nonexistent/weft.yaml"},
		{"tools list", []string{"tools", "list", "--config", cfgPath}, 0, "everything__get-sum", ""},
		{"tools list server", []string{"tools", "list", "--config", cfgPath, "--server", "fail"}, 0, "fail__explode", ""},
		{"tools list bad server", []string{"tools", "list", "--config", cfgPath, "--server", "nope"}, 2, "", `--server: "nope": no such server`},
		{"tools show", []string{"tools", "show", "everything__echo", "--config", cfgPath}, 0, "Echoes back the input string", ""},
		{"tools show ts", []string{"tools", "show", "everything__echo", "--typescript", "--config", cfgPath}, 0, "message", ""},
		{"tools show ts globals", []string{"tools", "show", "everything__echo", "--typescript", "--config", cfgPath}, 0, "declare function searchTools(query: string", ""},
		{"tools show unknown", []string{"tools", "show", "nope", "--config", cfgPath}, 1, "", `tool "nope": not found`},
		{"call", []string{"call", "everything__get-sum", "--args", `{"a": 2, "b": 3}`, "--config", cfgPath}, 0, "The sum of 2 and 3 is 5.", ""},
		{"call json", []string{"call", "everything__echo", "--args", `{"message": "hi"}`, "--json", "--config", cfgPath}, 0, `"text": "Echo: hi"`, ""},
		{"call tool error", []string{"call", "fail__explode", "--config", cfgPath}, 1, "kaboom", "tool fail__explode reported an error"},
		{"call bad args", []string{"call", "everything__get-sum", "--args", `{"a": "x"}`, "--config", cfgPath}, 2, "", "/a: type: got string, want number"},
		{"call malformed args", []string{"call", "everything__get-sum", "--args", `{"a": `, "--config", cfgPath}, 2, "", "--args: not valid JSON"},
		{"call unknown tool", []string{"call", "everything__nope", "--config", cfgPath}, 2, "", "everything__nope: no such tool in the catalog"},
		{"call no name", []string{"call"}, 2, "", "expected NAME"},
		{"unknown flag", []string{"tools", "list", "--bogus"}, 2, "", "unknown flag: --bogus"},
		{"bad log level", []string{"tools", "list", "--log-level", "loud", "--config", cfgPath}, 2, "", `--log-level: "loud"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, cache, c.args...)
			if r.code != c.code || !strings.Contains(r.stdout, c.stdout) || !strings.Contains(r.stderr, c.stderr) {
				t.Fatalf("weft %s\nexit %d (want %d)\nstdout: %s\nstderr: %s\nwant stdout ⊇ %q, stderr ⊇ %q", strings.Join(c.args, " "), r.code, c.code, r.stdout, r.stderr, c.stdout, c.stderr)
			}
		})
	}
	testenv.RequireNoDescendants(t)
}

// TestServe runs `weft serve`, waits for /readyz, calls a tool over REST,
// then sends SIGTERM: the process exits 0 and leaves no child behind.
func TestServe(t *testing.T) {
	cfgPath, cache := writeConfig(t, "")
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(weftBin, "serve", "--config", cfgPath, "--addr", addr)
	cmd.Env = append(os.Environ(), "WEFT_CACHE_DIR="+cache, "WEFT_CONFIG=")
	var logs bytes.Buffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	base := "http://" + addr
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready in time; logs:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Post(base+"/v1/tools/everything__echo/call", "application/json", strings.NewReader(`{"message":"served"}`))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Content []struct{ Text string } `json:"content"`
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if len(res.Content) != 1 || res.Content[0].Text != "Echo: served" {
		t.Fatalf("call: %+v", res)
	}
	children := testenv.Descendants(cmd.Process.Pid)
	if len(children) == 0 {
		t.Fatal("expected the upstream process as a child of weft serve")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("weft serve exited with %v; logs:\n%s", err, logs.String())
	}
	for _, c := range children {
		if !testenv.ProcessGone(c.PID) {
			t.Errorf("child %d (%s) survived shutdown", c.PID, c.Cmd)
		}
	}
	if !strings.Contains(logs.String(), "msg=stopped") {
		t.Fatalf("no clean stop in logs:\n%s", logs.String())
	}
}

// TestCodeAndPlanCommands runs weft exec, plan check, run and runs over the
// npm everything server.
func TestCodeAndPlanCommands(t *testing.T) {
	cfgPath, cache := writeConfig(t, "")
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	prog := write("sums.ts", `const rs: string[] = await Promise.all([1, 2].map(i => tools.everything.get_sum({a: i, b: 1})));
console.log("n", rs.length);
return rs;`)
	failing := write("fail.js", "throw new Error('nope')")
	plan := write("plan.json", `{"name": "p", "steps": [
  {"id": "a", "tool": "everything__get-sum", "args": {"a": 1, "b": 2}},
  {"id": "b", "tool": "everything__echo", "args": {"message": "{{steps.a.result}}"}}],
 "outputs": {"b": "{{steps.b.result}}"}}`)
	badPlan := write("bad.json", `{"steps": [{"id": "a", "tool": "everything__nope", "args": {}}]}`)
	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"exec ts", []string{"exec", prog, "--config", cfgPath}, 0, `"The sum of 2 and 1 is 3."`, "console.log: n 2"},
		{"exec json", []string{"exec", prog, "--json", "--config", cfgPath}, 0, `"tool": "everything__get-sum"`, ""},
		{"exec failing", []string{"exec", failing, "--config", cfgPath}, 1, "", "program failed: runtime: Error: nope"},
		{"exec bad memory", []string{"exec", prog, "--memory", "lots", "--config", cfgPath}, 2, "", `--memory: "lots": not a size`},
		{"exec missing file", []string{"exec", "/nonexistent.ts", "--config", cfgPath}, 2, "", "no such file"},
		{"plan check ok", []string{"plan", "check", plan, "--config", cfgPath}, 0, "OK (2 steps, format weft)", ""},
		{"plan check bad", []string{"plan", "check", badPlan, "--config", cfgPath}, 2, "", `steps[0].tool: no tool "everything__nope" in the catalog`},
		{"run", []string{"run", plan, "--config", cfgPath}, 0, "Echo: The sum of 1 and 2 is 3.", ""},
		{"run watch", []string{"run", plan, "--watch", "--config", cfgPath}, 0, "succeeded", "run succeeded"},
		{"run bad inputs", []string{"run", plan, "--inputs", "[1]", "--config", cfgPath}, 2, "", "--inputs"},
		{"runs list", []string{"runs", "list", "--config", cfgPath}, 0, "succeeded", ""},
		{"runs show unknown", []string{"runs", "show", "nope", "--config", cfgPath}, 1, "", `no run "nope"`},
		{"search", []string{"search", "add two numbers", "-k", "1", "--config", cfgPath}, 0, "everything__get-sum", ""},
		{"search empty", []string{"search", " ", "--config", cfgPath}, 2, "", "invalid query text"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, cache, c.args...)
			if r.code != c.code || !strings.Contains(r.stdout, c.stdout) || !strings.Contains(r.stderr, c.stderr) {
				t.Fatalf("weft %s\nexit %d (want %d)\nstdout: %s\nstderr: %s\nwant stdout ⊇ %q, stderr ⊇ %q", strings.Join(c.args, " "), r.code, c.code, r.stdout, r.stderr, c.stdout, c.stderr)
			}
		})
	}
	testenv.RequireNoDescendants(t)
}
