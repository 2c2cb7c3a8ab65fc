package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
	"github.com/weft-dev/weft/engine"
	"github.com/weft-dev/weft/source"
)

// testTools is an in-process upstream ("t") whose tools sleep, echo, fail
// a number of times, and declare output schemas. The engine calls it
// through the real call path.
type testTools struct {
	mu       sync.Mutex
	calls    map[string]int // per tool
	flaky    map[string]int // per key: calls so far
	inFlight atomic.Int32
	maxSeen  atomic.Int32
	// perTag tracks concurrency per "tag" argument of sleep.
	tagIn  map[string]int
	tagMax map[string]int
	last   map[string]string // per tool: the arguments of the last call
	// gates are the barriers of the gate tool, per tag.
	gates map[string]*gate
	// holds are the channels the hold tool waits on, per tag (hold).
	holds map[string]chan struct{}
}

// gate is a barrier: the calls of a group wait until n of them are in, then
// all go on; the next call starts a new group.
type gate struct {
	n, in int
	open  chan struct{}
}

func newTestTools() *testTools {
	return &testTools{calls: map[string]int{}, flaky: map[string]int{}, tagIn: map[string]int{}, tagMax: map[string]int{}, last: map[string]string{},
		gates: map[string]*gate{}, holds: map[string]chan struct{}{}}
}

func (u *testTools) Upstream(server string) (engine.Upstream, bool) { return u, server == "t" }

func (u *testTools) count(tool string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls[tool]
}

func (u *testTools) tagMaxSeen(tag string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.tagMax[tag]
}

func structured(v any) *source.Result {
	b, _ := json.Marshal(v)
	r := source.TextResult(string(b), false)
	r.StructuredContent = b
	return r
}

// hold makes calls of the hold tool with this tag wait until release.
func (u *testTools) hold(tag string) (release func()) {
	ch := make(chan struct{})
	u.mu.Lock()
	u.holds[tag] = ch
	u.mu.Unlock()
	return func() { close(ch) }
}

// enter counts a call of tag in flight (for tagMaxSeen); leave undoes it.
func (u *testTools) enter(tag string) (leave func()) {
	if tag == "" {
		return func() {}
	}
	u.mu.Lock()
	u.tagIn[tag]++
	u.tagMax[tag] = max(u.tagMax[tag], u.tagIn[tag])
	u.mu.Unlock()
	return func() { u.mu.Lock(); u.tagIn[tag]--; u.mu.Unlock() }
}

func (u *testTools) lastArgs(tool string) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.last[tool]
}

func (u *testTools) Call(ctx context.Context, tool string, args json.RawMessage) (*source.Result, error) {
	u.mu.Lock()
	u.calls[tool]++
	u.last[tool] = string(args)
	u.mu.Unlock()
	n := u.inFlight.Add(1)
	for {
		m := u.maxSeen.Load()
		if n <= m || u.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	defer u.inFlight.Add(-1)

	var a map[string]any
	_ = json.Unmarshal(args, &a)
	switch tool {
	case "sleep":
		ms, _ := a["ms"].(float64)
		tag, _ := a["tag"].(string)
		if tag != "" {
			u.mu.Lock()
			u.tagIn[tag]++
			u.tagMax[tag] = max(u.tagMax[tag], u.tagIn[tag])
			u.mu.Unlock()
			defer func() { u.mu.Lock(); u.tagIn[tag]--; u.mu.Unlock() }()
		}
		select {
		case <-time.After(time.Duration(ms) * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return structured(map[string]any{"value": a["value"], "ms": ms}), nil
	case "gate":
		// Waits until n calls with this tag are in flight together: a test
		// that needs steps to overlap proves it, instead of hoping sleeps do.
		tag, _ := a["tag"].(string)
		n, _ := a["n"].(float64)
		defer u.enter(tag)()
		u.mu.Lock()
		g := u.gates[tag]
		if g == nil {
			g = &gate{n: int(n), open: make(chan struct{})}
			u.gates[tag] = g
		}
		g.in++
		if g.in == g.n {
			close(g.open)
			delete(u.gates, tag)
		}
		u.mu.Unlock()
		select {
		case <-g.open:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		return structured(map[string]any{"value": a["value"]}), nil
	case "hold":
		tag, _ := a["tag"].(string)
		u.mu.Lock()
		ch := u.holds[tag]
		u.mu.Unlock()
		if ch != nil {
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return structured(map[string]any{"value": a["value"]}), nil
	case "echo":
		return source.TextResult(fmt.Sprint(a["message"]), false), nil
	case "json_text":
		return source.TextResult(`{"answer": 42, "tags": ["a", "b"]}`, false), nil
	case "flaky":
		key, _ := a["key"].(string)
		fails, _ := a["fails"].(float64)
		u.mu.Lock()
		u.flaky[key]++
		k := u.flaky[key]
		u.mu.Unlock()
		if k <= int(fails) {
			return nil, fmt.Errorf("flaky attempt %d: %w", k, source.ErrUnavailable)
		}
		return structured(map[string]any{"value": a["value"], "calls": k}), nil
	case "fail":
		return source.TextResult("it broke: "+fmt.Sprint(a["why"]), true), nil
	case "list":
		n, _ := a["n"].(float64)
		items := []any{}
		for i := range int(n) {
			items = append(items, map[string]any{"id": i + 1, "name": fmt.Sprintf("item-%d", i+1)})
		}
		return structured(map[string]any{"items": items, "total": int(n)}), nil
	case "count":
		return structured(map[string]any{"n": a["n"]}), nil
	case "noop":
		return structured(map[string]any{}), nil
	}
	return nil, fmt.Errorf("%w: %s", source.ErrUnknownTool, tool)
}

func testCatalogTools() []catalog.Tool {
	obj := func(s string) json.RawMessage { return json.RawMessage(s) }
	return []catalog.Tool{
		{Server: "t", Original: "sleep", InputSchema: obj(`{"type":"object","properties":{"ms":{"type":"integer","minimum":0},"value":{},"tag":{"type":"string"}},"required":["ms"]}`),
			OutputSchema: obj(`{"type":"object","properties":{"value":{},"ms":{"type":"number"}}}`)},
		{Server: "t", Original: "echo", InputSchema: obj(`{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`)},
		{Server: "t", Original: "json_text", InputSchema: obj(`{"type":"object"}`)},
		{Server: "t", Original: "flaky", InputSchema: obj(`{"type":"object","properties":{"key":{"type":"string"},"fails":{"type":"integer"},"value":{}},"required":["key"]}`)},
		{Server: "t", Original: "fail", InputSchema: obj(`{"type":"object","properties":{"why":{"type":"string"}}}`)},
		{Server: "t", Original: "list", InputSchema: obj(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`),
			OutputSchema: obj(`{"type":"object","properties":{"items":{"type":"array","items":{"type":"object","properties":{"id":{"type":"integer"},"name":{"type":"string"}},"required":["id","name"]}},"total":{"type":"integer"}},"required":["items","total"]}`)},
		{Server: "t", Original: "count", InputSchema: obj(`{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}`),
			OutputSchema: obj(`{"type":"object","properties":{"n":{"type":"integer"}}}`)},
		{Server: "t", Original: "noop", InputSchema: obj(`{"type":"object"}`)},
		{Server: "t", Original: "gate", InputSchema: obj(`{"type":"object","properties":{"tag":{"type":"string"},"n":{"type":"integer","minimum":1},"value":{}},"required":["tag","n"]}`),
			OutputSchema: obj(`{"type":"object","properties":{"value":{}}}`)},
		{Server: "t", Original: "hold", InputSchema: obj(`{"type":"object","properties":{"tag":{"type":"string"},"value":{}},"required":["tag"]}`),
			OutputSchema: obj(`{"type":"object","properties":{"value":{}}}`)},
	}
}

type fixedCatalog struct{ snap *catalog.Snapshot }

func (c fixedCatalog) Snapshot() *catalog.Snapshot { return c.snap }

// env is a real engine over the test upstream, plus an executor.
type env struct {
	tools *testTools
	snap  *catalog.Snapshot
	eng   *engine.Engine
	x     *Executor
}

func newEnv(t testing.TB, opts ExecutorOptions) *env {
	t.Helper()
	tools := newTestTools()
	snap := catalog.NewSnapshot(testCatalogTools())
	eng := engine.New(engine.Options{Catalog: fixedCatalog{snap}, Upstreams: tools})
	opts.Caller = eng
	return &env{tools: tools, snap: snap, eng: eng, x: NewExecutor(opts)}
}

func mustParse(t testing.TB, doc string) *Plan {
	t.Helper()
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return p
}

func (e *env) run(t testing.TB, doc string, inputs map[string]any) *Run {
	t.Helper()
	r, err := e.x.Run(context.Background(), mustParse(t, doc), inputs, RunOptions{Catalog: e.snap.View(nil)})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return r
}

func stepOf(t testing.TB, r *Run, id string) *StepRecord {
	t.Helper()
	s := r.Step(id)
	if s == nil {
		t.Fatalf("no step %q in the run", id)
	}
	return s
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// openTestStore opens a run store in a temporary directory.
func openTestStore(t testing.TB) *Store {
	t.Helper()
	s, err := OpenStore(context.Background(), t.TempDir()+"/runs.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
