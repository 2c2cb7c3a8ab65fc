package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"modernc.org/quickjs"
)

// TestSourcesThatCrashedTheParser: programs that made esbuild's (or
// QuickJS's) parser recurse until the Go stack overflowed — which kills the
// process — now fail with a clear source_limit error naming where, and the
// same sandbox then runs a normal program. (issue 9 #1)
func TestSourcesThatCrashedTheParser(t *testing.T) {
	f := newFixture(t, Options{})
	cases := []struct {
		name, code string
		lang       Language
		kind       string
		line, col  int
	}{
		{"nested arrows", "const f = " + strings.Repeat("()=>", 50000) + "1", TypeScript, KindSourceLimit, 1, 4007},
		{"nested parentheses ts", "return " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000), TypeScript, KindSourceLimit, 1, 1008},
		{"nested parentheses js", "return " + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000), JavaScript, KindSourceLimit, 1, 1008},
		{"nested brackets on lines", strings.Repeat("[\n", 5000) + strings.Repeat("]", 5000), JavaScript, KindSourceLimit, 1001, 1},
		{"prefix operators", "return " + strings.Repeat("!", 100000) + "1", TypeScript, KindSourceLimit, 1, 1008},
		{"typeof chain", "return " + strings.Repeat("typeof ", 20000) + "1", TypeScript, KindSourceLimit, 1, 7008},
		{"if chain", strings.Repeat("if(a)", 20000) + "b", TypeScript, KindSourceLimit, 1, 4998},
		{"template nesting", "return " + strings.Repeat("`${", 20000) + "1" + strings.Repeat("}`", 20000), TypeScript, KindSourceLimit, 1, 3009},
		{"too large", "return 1;" + strings.Repeat(" ", 300<<10), TypeScript, KindSourceLimit, 0, 0},
		{"500k parentheses", "return " + strings.Repeat("(", 500000) + "1" + strings.Repeat(")", 500000), TypeScript, KindSourceLimit, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := f.runReq(t, Request{Code: c.code, Language: c.lang, Limits: Limits{Timeout: 5 * time.Second}})
			if res.Error == nil || res.Error.Kind != c.kind || res.Error.Line != c.line || res.Error.Column != c.col {
				t.Fatalf("got %+v, want kind %s at %d:%d", res.Error, c.kind, c.line, c.col)
			}
		})
	}
	if res := f.run(t, TypeScript, `const f = (a: number) => () => a + 1; return f(1)()`); res.Error != nil || string(res.Result) != "2" {
		t.Fatalf("normal program after the corpus: %+v %s", res.Error, res.Result)
	}
}

// TestSourceScanAcceptsOrdinaryPrograms: the pre-scan must not reject what
// JavaScript allows: regular expressions and strings holding brackets,
// template substitutions, object literals, division after a bracket.
func TestSourceScanAcceptsOrdinaryPrograms(t *testing.T) {
	f := newFixture(t, Options{})
	for _, c := range []struct{ code, want string }{
		{`return /[}\]]/.test("}") && /\/}/.source.length === 3`, `true`},
		{"const s = `a${ {x: `}${1}`}.x }b`; return s", `"a}1b"`},
		{`const o = {a: 1}; const x = [4][0] / 2 / 1; return o.a + x`, `3`},
		{`if (true) {} /* } */ // }` + "\n" + `return "}" + '{' + "\"}"`, `"}{\"}"`},
		{`let n = 0; for (const c of "(((") n++; return (n)`, `3`},
		{"const re = (x) => x / 2; if (re(4)) /x}/.test('x}'); return re(8)", `4`},
		{"const o = { in: 8, of: 4 }; const r = o.in / 2 / (o.of / 2); return [r, typeof o.in]", `[2,"number"]`},
	} {
		res := f.run(t, JavaScript, c.code)
		if res.Error != nil || string(res.Result) != c.want {
			t.Errorf("%s: %+v %s, want %s", c.code, res.Error, res.Result, c.want)
		}
	}
}

// TestTransformTimeCountsAgainstTheDeadline: a program the source limits
// allow (here raised) but whose transform is slow ends at its deadline with
// a timeout instead of compiling for seconds outside it. (issue 9 #1)
func TestTransformTimeCountsAgainstTheDeadline(t *testing.T) {
	f := newFixture(t, Options{MaxNesting: 1 << 20, MaxSourceBytes: 1 << 20})
	code := "const f = " + strings.Repeat("()=>", 20000) + "1; return 1"
	start := time.Now()
	res := f.runReq(t, Request{Code: code, Language: TypeScript, Limits: Limits{Timeout: time.Second}})
	took := time.Since(start)
	if res.Error == nil || res.Error.Kind != KindTimeout {
		t.Fatalf("got %+v, want a timeout", res.Error)
	}
	if took > 3*time.Second {
		t.Fatalf("the run took %v with a 1s timeout", took)
	}
}

// TestRecursionInCatchHoldsTheDeadline: a stack overflow builds a backtrace
// over every frame, and recursing again from catch (or finally) makes
// nearly every call overflow; QuickJS checked for the deadline only every
// 10,000 calls, 15–100 s late. The run must end at its deadline. (issue 9 #4)
func TestRecursionInCatchHoldsTheDeadline(t *testing.T) {
	f := newFixture(t, Options{})
	for _, code := range []string{
		`function f(){ try { f() } catch (e) { f() } } f()`,
		`function f(){ try { f() } finally { f() } } f()`,
		`async function f(){ try { await f() } catch (e) { await f() } } await f()`,
		`function f(){ try { f() } catch (e) { try { f() } catch (e2) { f() } } } f()`,
	} {
		start := time.Now()
		res := f.runReq(t, Request{Code: code, Language: JavaScript, Limits: Limits{Timeout: time.Second}})
		took := time.Since(start)
		if res.Error == nil || res.Error.Kind != KindTimeout {
			t.Errorf("%s: got %+v, want a timeout", code, res.Error)
		}
		if took > 5*time.Second { // a correctness bound (before the fix: 15–100 s); -race is slow
			t.Errorf("%s: the run took %v with a 1s timeout", code, took)
		}
	}
}

// TestWatchdogReachesTheVM guards the watchdog's access to QuickJS's
// interrupt countdown, which a new version of modernc.org/quickjs could move.
func TestWatchdogReachesTheVM(t *testing.T) {
	vm, err := quickjs.NewVM()
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	w := newWatchdog(vm)
	defer w.stop()
	if !w.available() {
		t.Fatal("the watchdog cannot find the VM's interrupt countdown")
	}
	if _, err := vm.Eval("[1, 2].map((x) => x + 1)", quickjs.EvalGlobal); err != nil {
		t.Fatal(err)
	}
	if c := *countdownOf(vm); c <= 0 || c >= 10000 {
		t.Fatalf("interrupt countdown reads %d, want 1..9999 after a few calls", c)
	}
}

// TestProgramCannotCloseItsWrapper: the program is the body of an async
// function; a program that closes that function and goes on at the top
// level is a syntax error, in JavaScript and TypeScript. (issue 9 #22)
func TestProgramCannotCloseItsWrapper(t *testing.T) {
	f := newFixture(t, Options{})
	for _, lang := range []Language{JavaScript, TypeScript} {
		for _, code := range []string{
			"return 1 }); globalThis.escaped = 1; (async function () {",
			"return 1 }, globalThis.escaped = 1, async function () {",
			"return 1 } (globalThis.escaped = 1), function () {",
		} {
			res := f.runReq(t, Request{Code: code, Language: lang})
			if res.Error == nil || res.Error.Kind != KindSyntax {
				t.Errorf("%s %q: got %+v %s, want a syntax error", lang, code, res.Error, res.Result)
				continue
			}
			if !strings.Contains(res.Error.Message, "cannot close more brackets than it opens") {
				t.Errorf("%s %q: message %q", lang, code, res.Error.Message)
			}
		}
	}
}

// TestWrapperCheckBehindTheScan: should the pre-scan ever be fooled, the
// compiled function's source text must still be the whole wrapper.
func TestWrapperCheckBehindTheScan(t *testing.T) {
	f := newFixture(t, Options{})
	r := newRun(context.Background(), f.sb, Request{Code: "return 1 }, async function () {", Language: JavaScript}, f.sb.Limits(Limits{}), time.Now())
	prog, rerr := compile(r.req.Code, JavaScript)
	if rerr != nil {
		t.Fatal(rerr)
	}
	r.prog = prog
	defer func() {
		r.cancel()
		r.wd.stop()
		r.vm.Close()
	}()
	if err := r.setup(); err != nil {
		t.Fatal(err)
	}
	rerr = r.startProgram()
	if rerr == nil || rerr.Kind != KindSyntax || !strings.Contains(rerr.Message, "closes the function it is the body of") {
		t.Fatalf("got %+v, want the wrapper check's syntax error", rerr)
	}
}

// TestOutOfMemoryIsReportedAsMemory: QuickJS silently drops a promise job it
// cannot allocate at the memory limit, and the program then waits forever;
// that was reported as never_settled (seen with the trim of 10 below before
// the prelude grew; which trim hits the window depends on the heap layout,
// so the test sweeps them). Each run must either finish or report the
// memory limit. (issue 9 #22)
func TestOutOfMemoryIsReportedAsMemory(t *testing.T) {
	f := newFixture(t, Options{})
	memory := 0
	for k := 0; k < 16; k++ {
		code := fmt.Sprintf(`const a = []; try { for (;;) a.push({}) } catch (e) {} a.length = a.length - %d; await null; return 2`, k)
		res := f.runReq(t, Request{Code: code, Language: JavaScript, Limits: Limits{MemoryBytes: 8 << 20, Timeout: 20 * time.Second}})
		switch {
		case res.Error == nil && string(res.Result) == "2":
		case res.Error != nil && res.Error.Kind == KindMemory && res.Error.Message == "out of memory: the program exceeded its memory limit of 8388608 bytes (memory)":
			memory++
		default:
			t.Errorf("trim %d: got %+v %s, want 2 or the memory limit", k, res.Error, res.Result)
		}
	}
	if memory == 0 {
		t.Error("no run reached the memory limit: the sweep no longer tests anything")
	}
}

// TestClearTimeoutFreesItsSlot: at most 1000 timers may be pending, and a
// cleared timer is no longer pending. (issue 9 #22)
func TestClearTimeoutFreesItsSlot(t *testing.T) {
	f := newFixture(t, Options{})
	res := f.run(t, JavaScript, `for (let i = 0; i < 3000; i++) clearTimeout(setTimeout(() => {}, 100000)); await new Promise((r) => setTimeout(r, 1)); return "ok"`)
	if res.Error != nil || string(res.Result) != `"ok"` {
		t.Fatalf("got %+v %s", res.Error, res.Result)
	}
	res = f.run(t, JavaScript, `const ids = []; for (let i = 0; i < 1001; i++) ids.push(setTimeout(() => {}, 100000)); return ids.length`)
	if res.Error == nil || res.Error.Kind != KindRuntime || !strings.Contains(res.Error.Message, "too many pending timers (at most 1000)") {
		t.Fatalf("1001 pending timers: got %+v %s", res.Error, res.Result)
	}
}

// totalAlloc is the Go heap's cumulative allocation so far.
func totalAlloc() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// TestHugeArgumentsStayInTheVM: 100 calls with 4 MiB arguments (to a real
// tool and an unknown one) took weft to 2.5 GB and answered 419 MB: every
// argument was copied into Go and kept in the call log. Arguments over
// max_argument_bytes are refused before they are copied, the log keeps
// at most 4 KiB of any argument, and the answer stays small. (issue 9 #3)
func TestHugeArgumentsStayInTheVM(t *testing.T) {
	f := newFixture(t, Options{})
	code := `const big = "x".repeat(2 << 20); const out = [];
for (let i = 0; i < 20; i++) {
  for (const name of ["util__echo", "nope__missing"]) {
    try { await callTool(name, { big }); out.push("ok") } catch (e) { out.push(e.code) }
  }
}
return out.filter((c) => c === "arguments_too_large").length + "," + out.filter((c) => c === "unknown_tool").length`
	before := totalAlloc()
	res := f.runReq(t, Request{Code: code, Language: JavaScript, Limits: Limits{MemoryBytes: 64 << 20, Timeout: 5 * time.Minute}})
	grew := totalAlloc() - before
	if res.Error != nil || string(res.Result) != `"20,20"` {
		t.Fatalf("got %+v %s", res.Error, res.Result)
	}
	b, _ := json.Marshal(res)
	if len(b) > 256<<10 {
		t.Errorf("the answer is %d bytes", len(b))
	}
	if grew > 16<<20 {
		t.Errorf("the Go heap allocated %d MiB for 80 MiB of arguments that should never leave the VM", grew>>20)
	}
	if res.Calls[0].Code != CodeArgumentsTooLarge || !strings.Contains(string(res.Calls[0].Arguments), "omitted") {
		t.Errorf("first call: %+v %s", res.Calls[0], res.Calls[0].Arguments)
	}
	// Under the limit, a large argument reaches the tool, and the log keeps 4 KiB of it.
	res = f.run(t, JavaScript, `const r = await tools.util.echo({ s: "y".repeat(100000) }); return r.s.length`)
	if res.Error != nil || string(res.Result) != "100000" {
		t.Fatalf("100 kB argument: %+v %s", res.Error, res.Result)
	}
	if n := len(res.Calls[0].Arguments); n > maxLoggedArgs+100 || !strings.Contains(string(res.Calls[0].Arguments), "truncated") {
		t.Errorf("logged arguments: %d bytes %.80s", n, res.Calls[0].Arguments)
	}
}

// TestHugeResultStaysInTheVM: a result over max_result_bytes is refused on
// its length, before it is copied into Go. (issue 9 #3)
func TestHugeResultStaysInTheVM(t *testing.T) {
	f := newFixture(t, Options{})
	before := totalAlloc()
	res := f.runReq(t, Request{Code: `return "x".repeat(8 << 20)`, Language: JavaScript, Limits: Limits{MemoryBytes: 64 << 20, Timeout: 5 * time.Minute}})
	grew := totalAlloc() - before
	if res.Error == nil || res.Error.Kind != KindResultLimit || res.Error.Message != "the result is at least 8388610 bytes, more than max_result_bytes (1048576)" {
		t.Fatalf("got %+v", res.Error)
	}
	if grew > 4<<20 {
		t.Errorf("the Go heap allocated %d MiB for an 8 MiB result that should never leave the VM", grew>>20)
	}
	// The same holds for an error message and for console output.
	res = f.runReq(t, Request{Code: `throw new Error("e".repeat(8 << 20))`, Language: JavaScript, Limits: Limits{MemoryBytes: 64 << 20, Timeout: 5 * time.Minute}})
	if res.Error == nil || res.Error.Kind != KindRuntime || len(res.Error.Message) > maxErrorMessage+64 {
		t.Fatalf("huge error: kind %v, %d bytes of message", res.Error.Kind, len(res.Error.Message))
	}
	res = f.runReq(t, Request{Code: `console.log("c".repeat(8 << 20))`, Language: JavaScript, Limits: Limits{MemoryBytes: 64 << 20, Timeout: 5 * time.Minute}})
	if res.Error == nil || res.Error.Kind != KindConsoleLimit {
		t.Fatalf("huge console line: %+v", res.Error)
	}
}

// TestOutOfMemoryInTheBridgeIsMemory: an allocation failure while the
// prelude serialized a call's arguments was reported as "TypeError:
// arguments of … are not JSON-serializable: out of memory". (issue 9 #22)
func TestOutOfMemoryInTheBridgeIsMemory(t *testing.T) {
	f := newFixture(t, Options{})
	code := `const a = []; for (;;) a.push(await tools.util.echo({ a: "x".repeat(1000) }))`
	memory := 0
	for m := int64(250_000); m <= 450_000; m += 25_000 {
		res := f.runReq(t, Request{Code: code, Language: JavaScript, Limits: Limits{MemoryBytes: m}})
		switch {
		case res.Error != nil && res.Error.Kind == KindMemory:
			memory++
		case res.Error != nil && res.Error.Kind == KindCallLimit:
		default:
			t.Errorf("memory %d: got %+v, want the memory or the call limit", m, res.Error)
		}
	}
	if memory == 0 {
		t.Error("no run reached the memory limit: the sweep no longer tests anything")
	}
}
