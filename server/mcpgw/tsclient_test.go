package mcpgw_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weft-dev/weft/config"
	"github.com/weft-dev/weft/internal/testenv"
)

var (
	weftBinOnce sync.Once
	weftBinPath string
	weftBinErr  error
	weftBinOut  []byte
)

// TestMain removes the weft binary built by weftBin.
func TestMain(m *testing.M) {
	code := m.Run()
	if weftBinPath != "" {
		os.RemoveAll(filepath.Dir(weftBinPath))
	}
	os.Exit(code)
}

// weftBin builds the weft command once per test run.
func weftBin(t *testing.T) string {
	t.Helper()
	weftBinOnce.Do(func() {
		dir, err := os.MkdirTemp("", "weft-mcpgw-test")
		if err != nil {
			weftBinErr = err
			return
		}
		weftBinPath = filepath.Join(dir, "weft")
		cmd := exec.Command("go", "build", "-o", weftBinPath, "github.com/weft-dev/weft/cmd/weft")
		weftBinOut, weftBinErr = cmd.CombinedOutput()
	})
	if weftBinErr != nil {
		t.Fatalf("building weft: %v\n%s", weftBinErr, weftBinOut)
	}
	return weftBinPath
}

// emptyConfig writes a weft.yaml with no upstream and a private cache.
func emptyConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "weft.yaml")
	if err := os.WriteFile(p, []byte("servers: {}\ncache:\n  dir: "+filepath.Join(dir, "cache")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// tsOutcome is what the official TypeScript SDK client made of one call.
type tsOutcome struct {
	Name       string `json:"name"`
	IsError    bool   `json:"isError"`
	Structured bool   `json:"structured"`
	Text       string `json:"text"`
	Thrown     string `json:"thrown"`
}

// tsClient runs testdata/tsclient.mjs (the TypeScript SDK's Client) with calls.
func tsClient(t *testing.T, calls []map[string]any, target ...string) []tsOutcome {
	t.Helper()
	testenv.NPMBin(t, "mcp-inspector") // the SDK is installed with the npm test peers
	sdkDir := filepath.Join(testenv.RepoRoot(), "internal", "testenv", "npm", "node_modules", "@modelcontextprotocol", "sdk")
	in, _ := json.Marshal(calls)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", append([]string{"testdata/tsclient.mjs", sdkDir}, target...)...)
	cmd.Stdin = bytes.NewReader(in)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tsclient %v: %v\nstdout: %s\nstderr: %s", target, err, out.String(), errb.String())
	}
	var res []tsOutcome
	sc := bufio.NewScanner(&out)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var o tsOutcome
		if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
			t.Fatalf("tsclient output %q: %v", sc.Text(), err)
		}
		res = append(res, o)
	}
	if len(res) != len(calls) {
		t.Fatalf("tsclient answered %d of %d calls:\n%s\nstderr: %s", len(res), len(calls), out.String(), errb.String())
	}
	return res
}

// metaErrorCalls fail in each meta tool; want is a piece of the error text.
var metaErrorCalls = []struct {
	call map[string]any
	want string
}{
	{map[string]any{"name": "describe_tools", "arguments": map[string]any{"names": []string{"nope__x"}}}, `"code":"unknown_tool"`},
	{map[string]any{"name": "search_tools", "arguments": map[string]any{"query": ""}}, "query"},
	{map[string]any{"name": "search_tools", "arguments": map[string]any{"query": "x", "k": 500}}, "k"},
	{map[string]any{"name": "run_plan", "arguments": map[string]any{"plan": map[string]any{"steps": []any{map[string]any{"id": "a", "tool": "nope__x"}}}}}, `"code":"unknown_tool"`},
	{map[string]any{"name": "run_code", "arguments": map[string]any{"code": "return ("}}, `"kind":"syntax"`},
	{map[string]any{"name": "call_tool", "arguments": map[string]any{"name": "nope__x"}}, `"code":"unknown_tool"`},
}

// TestMetaErrorsOfficialTSClient: every meta tool's error result is valid
// for the official TypeScript SDK client (1.32.2), which checks
// structuredContent against the tool's output schema and threw -32602 on
// weft's {"error": …} results; weft's own message reaches it.
func TestMetaErrorsOfficialTSClient(t *testing.T) {
	var calls []map[string]any
	for _, c := range metaErrorCalls {
		calls = append(calls, c.call)
	}
	calls = append(calls, map[string]any{"name": "search_tools", "arguments": map[string]any{"query": "echo"}})
	check := func(t *testing.T, got []tsOutcome) {
		for i, c := range metaErrorCalls {
			o := got[i]
			if o.Thrown != "" {
				t.Errorf("%s %v: the TypeScript client threw %q", o.Name, c.call["arguments"], o.Thrown)
				continue
			}
			if !o.IsError || !strings.Contains(o.Text, c.want) {
				t.Errorf("%s %v: isError=%v text %q, want an error mentioning %s", o.Name, c.call["arguments"], o.IsError, o.Text, c.want)
			}
		}
		if last := got[len(got)-1]; last.Thrown != "" || last.IsError || !last.Structured {
			t.Errorf("search_tools success: %+v", last)
		}
	}
	t.Run("http", func(t *testing.T) {
		_, base := startWeft(t, metaConfig(), fnSource())
		check(t, tsClient(t, calls, "http", base+"/mcp"))
	})
	t.Run("stdio", func(t *testing.T) {
		check(t, tsClient(t, calls, "stdio", weftBin(t), "mcp", "-c", emptyConfig(t)))
	})
}

// TestPassthroughOfficialTSClient: the official TypeScript SDK client
// (another ecosystem's; it declares neither sampling nor elicitation, so
// its plain calls are the ones weft answers itself) accepts a passthrough
// endpoint's answers: structuredContent checked against the tool's output
// schema, a Go function's text, a tool error, and the SDK's own error for
// an unknown tool.
func TestPassthroughOfficialTSClient(t *testing.T) {
	up := newBlockingUpstream(t)
	cfg := config.Default()
	cfg.Servers = map[string]*config.Server{"up": {Name: "up", Transport: config.TransportHTTP, URL: up.url + "/"}}
	cfg.Gateway.Endpoints = []config.Endpoint{{Path: "/mcp/pt", Mode: "passthrough"}}
	_, base := startWeft(t, cfg, fnSource())
	got := tsClient(t, []map[string]any{
		{"name": "up__weather", "arguments": map[string]any{"city": "Oslo"}},
		{"name": "fn__echo", "arguments": map[string]any{"message": "hi", "count": 2}},
		{"name": "up__weather", "arguments": map[string]any{"town": "Oslo"}},
		{"name": "nope", "arguments": map[string]any{}},
	}, "http", base+"/mcp/pt")
	if o := got[0]; o.Thrown != "" || o.IsError || !o.Structured || o.Text != `{"temp":21.5}` {
		t.Errorf("weather: %+v", o)
	}
	if o := got[1]; o.Thrown != "" || o.IsError || o.Text != `"hihi"` {
		t.Errorf("echo: %+v", o)
	}
	if o := got[2]; o.Thrown != "" || !o.IsError || !strings.Contains(o.Text, "invalid_arguments") {
		t.Errorf("weather without city: %+v", o)
	}
	if o := got[3]; !strings.Contains(o.Thrown, `unknown tool "nope"`) {
		t.Errorf("unknown tool: %+v", o)
	}
}
