package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weft-dev/weft/catalog"
)

func TestResultShapesAndNames(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.run(t, JavaScript, `
const echo = await tools.util.echo({ a: 1 });            // structuredContent
const parsed = await tools.util.text({ text: "[1,2]" }); // text that parses as JSON
const plain = await tools.util.text({ text: "hello" });  // text that does not
const w = await tools.my_srv.get_weather({ city: "Oslo" });
const viaName = await callTool("util__text", { text: "42" });
return { echo, parsed, plain, w, viaName };`)
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	want := `{"echo":{"a":1},"parsed":[1,2],"plain":"hello","w":{"temp":21.5},"viaName":42}`
	if string(res.Result) != want {
		t.Errorf("result %s, want %s", res.Result, want)
	}
	var names []string
	for _, c := range res.Calls {
		names = append(names, c.Tool+":"+c.Outcome)
	}
	if got := strings.Join(names, ","); got != "util__echo:ok,util__text:ok,util__text:ok,my-srv__get-weather:ok,util__text:ok" {
		t.Errorf("call log %s", got)
	}
}

func TestToolErrorsAreCatchable(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.run(t, TypeScript, `
const out: string[] = [];
try { await tools.util.fail({ why: "disk full" }); } catch (e) {
  out.push(e instanceof ToolError ? "ToolError" : "other", e.tool, e.code, e.message);
}
try { await callTool("util__nope", {}); } catch (e: any) { out.push(e.code, e.message); }
try { await tools.util.sleep({}); } catch (e: any) { out.push(e.code); }
return out;`)
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	want := `["ToolError","util__fail","tool_error","it broke: disk full","unknown_tool","no tool named \"util__nope\" in the catalog","invalid_arguments"]`
	if string(res.Result) != want {
		t.Errorf("got %s\nwant %s", res.Result, want)
	}
	if c := res.Calls[0]; c.Outcome != OutcomeToolError || c.Code != CodeToolError || c.Error != "it broke: disk full" {
		t.Errorf("call record %+v", c)
	}
}

func TestUncaughtToolError(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.run(t, JavaScript, "const x = 1;\nawait tools.util.fail({ why: 'no' });\n")
	e := res.Error
	if e == nil || e.Kind != KindRuntime || e.Tool != "util__fail" || e.Code != "tool_error" || e.Message != "ToolError: it broke: no" {
		t.Fatalf("got %+v", e)
	}
}

func TestPromiseAllRunsConcurrently(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.runReq(t, Request{Language: JavaScript, Limits: Limits{MaxConcurrentCalls: 20}, Code: `
const rs = await Promise.all(Array.from({ length: 20 }, (_, i) => tools.util.sleep({ ms: 50 })));
return rs.length;`})
	if res.Error != nil || string(res.Result) != "20" {
		t.Fatalf("%+v %s", res.Error, res.Result)
	}
	if len(res.Calls) != 20 {
		t.Fatalf("%d calls", len(res.Calls))
	}
	// Every call must overlap every other: the latest start is before the earliest end.
	latestStart, earliestEnd := time.Duration(0), time.Duration(1<<62)
	for _, c := range res.Calls {
		latestStart = max(latestStart, c.Start)
		earliestEnd = min(earliestEnd, c.Start+c.Duration)
	}
	if latestStart >= earliestEnd {
		t.Errorf("calls did not overlap: last start %v, first end %v", latestStart, earliestEnd)
	}
	t.Logf("20 x 50ms calls with Promise.all: run took %v", res.Duration)
}

func TestMaxConcurrentCallsPerRun(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.runReq(t, Request{Language: JavaScript, Limits: Limits{MaxConcurrentCalls: 2}, Code: `
await Promise.all([1, 2, 3, 4].map(() => tools.util.sleep({ ms: 30 })));`})
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	// At no instant are more than 2 calls running.
	for _, a := range res.Calls {
		n := 0
		for _, b := range res.Calls {
			if b.Start <= a.Start && a.Start < b.Start+b.Duration {
				n++
			}
		}
		if n > 2 {
			t.Fatalf("%d calls running at %v", n, a.Start)
		}
	}
}

func TestSyntaxErrorPositions(t *testing.T) {
	f := newFixture(t, Options{})
	cases := []struct {
		lang      Language
		code      string
		line, col int
		msg       string
	}{
		{JavaScript, "const a = 1;\nconst b = ;\n", 2, 11, "unexpected token in expression: ';' (line 2, column 11)"},
		{TypeScript, "const a: number = 1;\nconst b: string = ;\n", 2, 19, `Unexpected ";" (line 2, column 19)`},
		{TypeScript, "let x = 1;\n  import fs from 'fs';\n", 2, 10, `Unexpected "fs" (line 2, column 10)`},
		{TypeScript, "let a = 1;\nconst s = 'é'; let = ;", 2, 22, `Unexpected ";" (line 2, column 22)`},
	}
	for _, c := range cases {
		res := f.run(t, c.lang, c.code)
		e := res.Error
		if e == nil || e.Kind != KindSyntax || e.Line != c.line || e.Column != c.col || e.Message != c.msg {
			t.Errorf("%s %q: got %+v", c.lang, c.code, e)
		}
	}
}

func TestRuntimeErrorPositions(t *testing.T) {
	f := newFixture(t, Options{})
	for _, lang := range []Language{JavaScript, TypeScript} {
		res := f.run(t, lang, "const a = 1;\n\nconst o: any = null;\nreturn o.x;\n")
		if lang == JavaScript {
			res = f.run(t, lang, "const a = 1;\n\nconst o = null;\nreturn o.x;\n")
		}
		e := res.Error
		if e == nil || e.Kind != KindRuntime || e.Message != "TypeError: cannot read property 'x' of null" || e.Line != 4 || e.Column == 0 {
			t.Errorf("%s: got %+v", lang, e)
		}
	}
}

func TestTimersAndConsole(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.run(t, JavaScript, `
const order = [];
await new Promise((resolve) => {
  setTimeout(() => order.push("b"), 20);
  const id = setTimeout(() => order.push("never"), 5);
  clearTimeout(id);
  setTimeout((x) => { order.push(x); }, 1, "a");
  setTimeout(resolve, 40);
});
console.info("info", 1, [2], null, undefined);
console.warn(new Error("w"));
return order;`)
	if res.Error != nil || string(res.Result) != `["a","b"]` {
		t.Fatalf("%+v %s", res.Error, res.Result)
	}
	want := []ConsoleLine{{"info", "info 1 [2] null undefined"}, {"warn", "Error: w"}}
	if !slices.Equal(res.Console, want) {
		t.Errorf("console %+v", res.Console)
	}
}

type fakeSearcher struct{}

func (fakeSearcher) Search(_ context.Context, q string, k int) ([]SearchHit, error) {
	if q == "boom" {
		return nil, errors.New("index not ready")
	}
	return []SearchHit{{Name: "my-srv__get-weather", Score: 2}, {Name: "util__echo", Score: 1}}[:min(k, 2)], nil
}

func TestSearchTools(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.run(t, JavaScript, `try { await searchTools("weather") } catch (e) { return [e.code, e.message] }`)
	if string(res.Result) != `["search_unavailable","search unavailable: no tool search is configured for code mode"]` {
		t.Errorf("without searcher: %+v %s", res.Error, res.Result)
	}
	f = newFixture(t, Options{Searcher: fakeSearcher{}})
	res = f.runReq(t, Request{Language: JavaScript, AllowedTools: []string{"my-srv__get-weather"}, Code: `
const hits = await searchTools("weather", 5);
return hits;`})
	want := `[{"name":"my-srv__get-weather","path":"tools.my_srv.get_weather","description":"Weather.","signature":"get_weather(args: { city: string }): Promise<{ temp?: number }>","score":2}]`
	if res.Error != nil || string(res.Result) != want {
		t.Errorf("got %+v %s\nwant %s", res.Error, res.Result, want)
	}
	res = f.run(t, JavaScript, `return await searchTools("boom")`)
	if res.Error == nil || res.Error.Message != "ToolError: search: index not ready" {
		t.Errorf("failing search: %+v", res.Error)
	}
}

func TestCallLogRedactsSecrets(t *testing.T) {
	f := newFixture(t, Options{})
	// Secret names (also key and PGPASS), and secret shapes inside ordinary
	// values (a Bearer token, a URL's password) — issue 9 #19.
	res := f.run(t, JavaScript, `await tools.util.echo({ city: "Oslo", api_key: "k1", key: "k2", PGPASS: "pg", note: "use Authorization: Bearer abcdef123456 now", dsn: "postgres://u:hunter2@db/x", nested: { Authorization: "Bearer x", password: "p", author: "me", items: [{ accessToken: "t" }] } })`)
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	got := string(res.Calls[0].Arguments)
	for _, secret := range []string{"k1", "k2", "pg", "abcdef123456", "hunter2", `"Bearer x"`, `"p"`, `"t"`} {
		if strings.Contains(got, secret) {
			t.Errorf("call log keeps %s: %s", secret, got)
		}
	}
	for _, kept := range []string{`"city":"Oslo"`, `"author":"me"`} {
		if !strings.Contains(got, kept) {
			t.Errorf("call log lost %s: %s", kept, got)
		}
	}
}

func TestCallLogRedactsBySchema(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.run(t, JavaScript, `await tools.util.login({ user: "ann", pin: "4711" })`)
	if res.Error != nil {
		t.Fatal(res.Error)
	}
	if got := string(res.Calls[0].Arguments); strings.Contains(got, "4711") || !strings.Contains(got, "ann") {
		t.Errorf("call log: %s (want pin, a writeOnly property, redacted)", got)
	}
}

func TestCancellation(t *testing.T) {
	f := newFixture(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	// Cancel once the call is in flight (compiling and starting the
	// program can take longer than any fixed delay on a loaded machine).
	before := f.up.calls.Load()
	go func() {
		for end := time.Now().Add(10 * time.Second); f.up.calls.Load() == before && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	res, err := f.sb.Run(ctx, Request{Language: JavaScript, Code: `await tools.util.sleep({ ms: 5000 })`})
	if err != nil {
		t.Fatal(err)
	}
	if res.Error == nil || res.Error.Kind != KindCanceled {
		t.Fatalf("got %+v", res.Error)
	}
	if len(res.Calls) != 1 {
		t.Fatalf("calls %+v", res.Calls)
	}
	if c := res.Calls[0]; c.Outcome != OutcomeError || c.Code != "canceled" {
		t.Errorf("call %+v", c)
	}
	ctx, cancel = context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	res, _ = f.sb.Run(ctx, Request{Language: JavaScript, Code: `while (true) {}`})
	if res.Error == nil || res.Error.Kind != KindCanceled {
		t.Fatalf("busy loop: got %+v", res.Error)
	}
}

func TestTimeoutDuringToolCall(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.runReq(t, Request{Language: JavaScript, Limits: Limits{Timeout: 100 * time.Millisecond}, Code: `await tools.util.sleep({ ms: 5000 })`})
	if res.Error == nil || res.Error.Kind != KindTimeout || res.Error.Message != "the program did not finish within 100ms (timeout)" {
		t.Fatalf("got %+v", res.Error)
	}
}

func TestLimitsResolve(t *testing.T) {
	f := newFixture(t, Options{Max: Limits{MaxCalls: 10, Timeout: time.Minute}, Defaults: Limits{MaxCalls: 3}})
	got := f.sb.Limits(Limits{MaxCalls: 50, MemoryBytes: 1 << 20})
	want := DefaultLimits
	want.MaxCalls, want.MemoryBytes = 10, 1<<20
	if got != want {
		t.Errorf("got %+v want %+v", got, want)
	}
	if got := f.sb.Limits(Limits{}); got.MaxCalls != 3 || got.Timeout != 30*time.Second {
		t.Errorf("defaults: %+v", got)
	}
	var l Limits
	if err := json.Unmarshal([]byte(`{"timeout_ms":1500,"max_calls":7}`), &l); err != nil || l.Timeout != 1500*time.Millisecond || l.MaxCalls != 7 {
		t.Errorf("unmarshal: %+v %v", l, err)
	}
	b, _ := json.Marshal(Limits{Timeout: 2 * time.Second, MaxCalls: 1})
	if string(b) != `{"timeout_ms":2000,"max_calls":1}` {
		t.Errorf("marshal %s", b)
	}
}

func TestRunResultJSON(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.run(t, JavaScript, `throw new Error("x")`)
	res.Duration = 1500 * time.Microsecond
	res.Error.Stack = ""
	b, _ := json.Marshal(res)
	want := `{"result":null,"console":[],"calls":[],"error":{"kind":"runtime","message":"Error: x","line":1,"column":16},"duration_ms":1.5}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
}

func TestTypings(t *testing.T) {
	f := newFixture(t, Options{})
	w, _ := f.cat.snap.Get("my-srv__get-weather")
	got := f.sb.Typings(context.Background(), []*catalog.Tool{w})
	want := `declare namespace tools {
  namespace my_srv {
    /** Weather. */
    function get_weather(args: { city: string }): Promise<{ temp?: number }>;
  }
}
` + globalTypings
	if got != want {
		t.Errorf("got\n%s", got)
	}
}

func TestRunRejectsBadRequests(t *testing.T) {
	f := newFixture(t, Options{})
	if _, err := f.sb.Run(context.Background(), Request{Code: "  "}); err == nil {
		t.Error("empty program accepted")
	}
	if _, err := f.sb.Run(context.Background(), Request{Code: "1", Language: "py"}); err == nil {
		t.Error("python accepted")
	}
	if _, err := New(Options{}); err == nil {
		t.Error("New without Tools accepted")
	}
}

func TestDefaultRunsPerClient(t *testing.T) {
	for _, c := range []struct{ slots, cpus, want int }{
		{8, 2, 1}, {8, 1, 1}, {32, 8, 4}, {4, 16, 2}, {1, 1, 1}, {2, 64, 1},
	} {
		if got := DefaultRunsPerClient(c.slots, c.cpus); got != c.want {
			t.Errorf("DefaultRunsPerClient(%d slots, %d cpus) = %d, want %d", c.slots, c.cpus, got, c.want)
		}
	}
}
