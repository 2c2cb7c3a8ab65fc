package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
)

// testUpstream is an in-process upstream whose tools echo, sleep and fail.
// It is routed through a real engine.Engine, so every call takes weft's one
// call path (validation, limits, timeouts, events).
type testUpstream struct {
	calls atomic.Int64
}

func (u *testUpstream) Upstream(server string) (engine.Upstream, bool) {
	if server == "util" || server == "my-srv" {
		return u, true
	}
	return nil, false
}

func (u *testUpstream) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	u.calls.Add(1)
	var a map[string]any
	_ = json.Unmarshal(args, &a)
	switch tool {
	case "echo", "login":
		return &source.Result{Content: []json.RawMessage{json.RawMessage(`{"type":"text","text":"echoed"}`)}, StructuredContent: args}, nil
	case "text":
		return source.TextResult(fmt.Sprint(a["text"]), false), nil
	case "sleep":
		ms, _ := a["ms"].(float64)
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return source.TextResult(fmt.Sprintf(`{"slept":%v}`, ms), false), nil
	case "fail":
		return source.TextResult("it broke: "+fmt.Sprint(a["why"]), true), nil
	case "big":
		n, _ := a["n"].(float64)
		return source.TextResult(strings.Repeat("x", int(n)), false), nil
	case "get-weather":
		return &source.Result{StructuredContent: json.RawMessage(`{"temp":21.5}`)}, nil
	}
	return nil, fmt.Errorf("%w: %s", source.ErrUnknownTool, tool)
}

type staticCatalog struct{ snap *catalog.Snapshot }

func (c staticCatalog) Snapshot() *catalog.Snapshot { return c.snap }

var obj = json.RawMessage(`{"type":"object"}`)

func testTools() []catalog.Tool {
	return []catalog.Tool{
		{Server: "util", Original: "echo", Description: "Echoes its arguments as structured content.", InputSchema: obj},
		{Server: "util", Original: "login", Description: "Logs in (echoes its arguments).", InputSchema: json.RawMessage(`{"type":"object","properties":{"user":{"type":"string"},"pin":{"type":"string","writeOnly":true}}}`)},
		{Server: "util", Original: "text", Description: "Returns args.text as text.", InputSchema: json.RawMessage(`{"type":"object","properties":{"text":{}},"required":["text"]}`)},
		{Server: "util", Original: "sleep", Description: "Sleeps ms milliseconds.", InputSchema: json.RawMessage(`{"type":"object","properties":{"ms":{"type":"number"}},"required":["ms"]}`)},
		{Server: "util", Original: "fail", Description: "Always reports an error.", InputSchema: obj},
		{Server: "util", Original: "big", Description: "Returns n bytes of text.", InputSchema: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer"}}}`)},
		{Server: "my-srv", Original: "get-weather", Description: "Weather.", InputSchema: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
			OutputSchema: json.RawMessage(`{"type":"object","properties":{"temp":{"type":"number"}}}`)},
		{Server: "offline", Original: "nothing", Description: "Its upstream is not configured.", InputSchema: obj},
	}
}

type fixture struct {
	sb  *Sandbox
	up  *testUpstream
	eng *engine.Engine
	cat staticCatalog
}

func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	up := &testUpstream{}
	cat := staticCatalog{catalog.NewSnapshot(testTools())}
	eng := engine.New(engine.Options{Catalog: cat, Upstreams: up, Timeout: 10 * time.Second})
	opts.Tools = EngineTools{Catalog: cat, Engine: eng}
	sb, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sb: sb, up: up, eng: eng, cat: cat}
}

func (f *fixture) run(t testing.TB, lang Language, code string) *RunResult {
	t.Helper()
	return f.runReq(t, Request{Code: code, Language: lang})
}

func (f *fixture) runReq(t testing.TB, req Request) *RunResult {
	t.Helper()
	res, err := f.sb.Run(context.Background(), req)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}
