package sandbox

import (
	"fmt"
	"testing"
	"time"
)

// hostile is one program of the security corpus and the exact way it must fail.
type hostile struct {
	name   string
	code   string
	limits Limits
	allow  []string
	// kind and msg are the expected RunError kind and message; when kind is
	// "" the run must succeed with result wantResult.
	kind, msg  string
	wantResult string
}

var fast = Limits{Timeout: 300 * time.Millisecond}

// small: memory bombs must end by the memory limit; the generous timeout
// only bounds a broken limit, so a loaded machine cannot change the outcome.
var small = Limits{MemoryBytes: 8 << 20, Timeout: 60 * time.Second}

var corpus = []hostile{
	// CPU
	{name: "infinite loop", code: `while (true) {}`, limits: fast, kind: KindTimeout, msg: "the program did not finish within 300ms (timeout)"},
	{name: "infinite for loop with catch", code: `for (;;) { try { while(true){} } catch (e) {} }`, limits: fast, kind: KindTimeout, msg: "the program did not finish within 300ms (timeout)"},
	{name: "catastrophic regex", code: `return /(a+)+$/.test("a".repeat(40) + "b")`, limits: fast, kind: KindTimeout, msg: "the program did not finish within 300ms (timeout)"},
	{name: "microtask storm", code: `for (;;) await null;`, limits: fast, kind: KindTimeout, msg: "the program did not finish within 300ms (timeout)"},
	{name: "promise chain flood", code: `let p = Promise.resolve(); const f = () => { p = p.then(f) }; f(); await new Promise(()=>{})`, limits: fast, kind: KindTimeout, msg: "the program did not finish within 300ms (timeout)"},
	{name: "timer loop", code: `await new Promise(() => { const tick = () => setTimeout(tick, 0); tick(); })`, limits: fast, kind: KindTimeout, msg: "the program did not finish within 300ms (timeout)"},
	{name: "finally keeps running", code: `try { while(true){} } finally { while(true){} }`, limits: fast, kind: KindTimeout, msg: "the program did not finish within 300ms (timeout)"},
	{name: "sort comparator spin", code: `[3,2,1].sort(() => { while(true){} })`, limits: fast, kind: KindTimeout, msg: "the program did not finish within 300ms (timeout)"},

	// Stack
	{name: "deep recursion", code: `function f() { return f() + 1 } return f()`, kind: KindRuntime, msg: "InternalError: stack overflow"},
	{name: "deep recursion async", code: `async function f(n) { return await f(n + 1) } return await f(0)`, kind: KindRuntime, msg: "InternalError: stack overflow"},
	{name: "recursive toString", code: `const o = {}; o.toString = () => "" + o; return "" + o`, kind: KindRuntime, msg: "InternalError: stack overflow"},
	{name: "proxy recursion", code: `const p = new Proxy({}, { get: (t, k) => p[k] }); return p.x`, kind: KindRuntime, msg: "InternalError: stack overflow"},

	// Memory
	{name: "string doubling", code: `let s = "x"; while (true) s += s;`, limits: small, kind: KindMemory, msg: "out of memory: string too long (the engine's maximum string length) (memory)"},
	{name: "string repeat", code: `return "x".repeat(1 << 29).length`, limits: small, kind: KindMemory, msg: "out of memory: the program exceeded its memory limit of 8388608 bytes (memory)"},
	{name: "array of objects", code: `const a = []; while (true) a.push({ x: 1 });`, limits: small, kind: KindMemory, msg: "out of memory: the program exceeded its memory limit of 8388608 bytes (memory)"},
	{name: "array in a function", code: `(() => { const a = []; while (true) a.push([1, 2, 3]); })()`, limits: small, kind: KindMemory, msg: "out of memory: the program exceeded its memory limit of 8388608 bytes (memory)"},
	{name: "big ArrayBuffer", code: `return new ArrayBuffer(1 << 30).byteLength`, limits: small, kind: KindMemory, msg: "out of memory: the program exceeded its memory limit of 8388608 bytes (memory)"},
	{name: "many ArrayBuffers", code: `const k = []; for (;;) k.push(new ArrayBuffer(1 << 20));`, limits: small, kind: KindMemory, msg: "out of memory: the program exceeded its memory limit of 8388608 bytes (memory)"},
	{name: "object with many keys", code: `const o = {}; for (let i = 0; ; i++) o["k" + i] = i;`, limits: small, kind: KindMemory, msg: "out of memory: the program exceeded its memory limit of 8388608 bytes (memory)"},
	{name: "map bomb", code: `const m = new Map(); for (let i = 0; ; i++) m.set(i, [i]);`, limits: small, kind: KindMemory, msg: "out of memory: the program exceeded its memory limit of 8388608 bytes (memory)"},
	{name: "oom caught and ignored", code: `try { const a = []; while (true) a.push({}); } catch (e) {} const b = []; while (true) b.push({});`, limits: small, kind: KindMemory, msg: "out of memory: the program exceeded its memory limit of 8388608 bytes (memory)"},
	{name: "join bomb", code: `return new Array(1 << 22).join("abcdefghijklmnop").length`, limits: small, kind: KindMemory, msg: "out of memory: the program exceeded its memory limit of 8388608 bytes (memory)"},

	// Code generation and escapes
	{name: "eval", code: `return eval("1 + 1")`, kind: KindRuntime, msg: "ReferenceError: 'eval' is not defined"},
	{name: "indirect eval", code: `return globalThis["ev" + "al"]("1")`, kind: KindRuntime, msg: "TypeError: not a function"},
	{name: "Function constructor", code: `return Function("return 1")()`, kind: KindRuntime, msg: "TypeError: code generation from strings is disabled in the sandbox"},
	{name: "function constructor chain", code: `return (function(){}).constructor("return globalThis")()`, kind: KindRuntime, msg: "TypeError: code generation from strings is disabled in the sandbox"},
	{name: "async function constructor", code: `return await (async () => {}).constructor("return 1")()`, kind: KindRuntime, msg: "TypeError: code generation from strings is disabled in the sandbox"},
	{name: "generator function constructor", code: `return (function* () {}).constructor("yield 1")().next()`, kind: KindRuntime, msg: "TypeError: code generation from strings is disabled in the sandbox"},
	{name: "async generator constructor", code: `return Object.getPrototypeOf(async function* () {}).constructor("yield 1")`, kind: KindRuntime, msg: "TypeError: code generation from strings is disabled in the sandbox"},
	{name: "constructor of constructor", code: `return tools.util.echo.constructor.constructor("return 1")()`, kind: KindRuntime, msg: "TypeError: code generation from strings is disabled in the sandbox"},
	{name: "restore Function constructor", code: `Object.defineProperty(Function.prototype, "constructor", { value: 1 })`, kind: KindRuntime, msg: "TypeError: property is not configurable"},
	{name: "Reflect.construct Function", code: `return Reflect.construct(Function, ["return 1"])()`, kind: KindRuntime, msg: "TypeError: code generation from strings is disabled in the sandbox"},
	{name: "dynamic import", code: `return await import("fs")`, kind: KindRuntime, msg: `TypeError: module normalization failed: module imports are disabled in the sandbox (import of "fs")`},
	{name: "static import", code: `import fs from "fs"; return 1`, kind: KindSyntax, msg: "expecting '(' (line 1, column 8)"},
	{name: "no host globals", code: `return [typeof std, typeof os, typeof require, typeof process, typeof fetch, typeof WebAssembly, typeof XMLHttpRequest, typeof __weft_call, typeof print, typeof setInterval]`, wantResult: `["undefined","undefined","undefined","undefined","undefined","undefined","undefined","undefined","undefined","undefined"]`},
	{name: "Atomics.wait", code: `return Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000)`, kind: KindRuntime, msg: "TypeError: not a function"},

	// Bridge abuse
	{name: "unknown tool", code: `return await callTool("nope__nothing", {})`, kind: KindRuntime, msg: `ToolError: no tool named "nope__nothing" in the catalog`},
	{name: "tool not allowed", code: `return await callTool("util__fail", {})`, allow: []string{"util__echo"}, kind: KindRuntime, msg: `ToolError: no tool named "util__fail" in the catalog`},
	{name: "not allowed is not in tools", code: `return typeof tools.util.fail + "," + typeof tools.util.echo`, allow: []string{"util__echo"}, wantResult: `"undefined,function"`},
	{name: "calls past the limit", code: `for (let i = 0; ; i++) await tools.util.echo({ i })`, limits: Limits{MaxCalls: 5}, kind: KindCallLimit, msg: "the program started more than 5 tool calls (max_calls)"},
	{name: "recursive calls past the limit", code: `async function f(n) { await tools.util.echo({n}); return f(n+1) } return await f(0)`, limits: Limits{MaxCalls: 7}, kind: KindCallLimit, msg: "the program started more than 7 tool calls (max_calls)"},
	{name: "call limit is not catchable", code: `try { for (;;) callTool("util__echo", {}) } catch (e) { return "caught" } finally { return "finally" }`, limits: Limits{MaxCalls: 3}, kind: KindCallLimit, msg: "the program started more than 3 tool calls (max_calls)"},
	{name: "prototype pollution of the bridge", code: `
Object.prototype.tool = "util__fail"; Object.prototype.allowed = true;
Object.defineProperty(Object.prototype, "1", { set() { throw new Error("hijacked") }, configurable: true });
JSON.stringify = () => '{"evil":1}'; JSON.parse = () => ({ evil: 1 });
Array.prototype.push = () => { throw new Error("hijacked") };
Function.prototype.call = Function.prototype.apply = () => { throw new Error("hijacked") };
Reflect.apply = () => { throw new Error("hijacked") };
globalThis.Promise = function () { throw new Error("hijacked") };
return await tools.util.echo({ ok: true });`, allow: []string{"util__echo"}, wantResult: `{"ok":true}`},
	{name: "pollution cannot unlock a tool", code: `Object.prototype.util__fail = true; Array.prototype.includes = () => true; return await callTool("util__fail", {})`, allow: []string{"util__echo"}, kind: KindRuntime, msg: `ToolError: no tool named "util__fail" in the catalog`},
	{name: "tools namespace is frozen", code: `tools.util.echo = () => "spoofed"; return 1`, kind: KindRuntime, msg: "TypeError: 'echo' is read-only"},
	{name: "replace callTool", code: `callTool = () => 1`, kind: KindRuntime, msg: "TypeError: 'callTool' is read-only"},
	{name: "non-object arguments", code: `return await callTool("util__echo", "rm -rf /")`, kind: KindRuntime, msg: "ToolError: arguments must be an object"},
	{name: "invalid arguments", code: `return await tools.util.sleep({ ms: "long" })`, kind: KindRuntime, msg: "ToolError: invalid arguments: /ms: type: got string, want number"},
	{name: "unserializable arguments", code: `const a = {}; a.a = a; return await tools.util.echo(a)`, kind: KindRuntime, msg: "TypeError: arguments of util__echo are not JSON-serializable: circular reference"},
	{name: "tool with no upstream", code: `return await tools.offline.nothing({})`, kind: KindRuntime, msg: `ToolError: upstream "offline" is not configured`},

	// Output bounds
	{name: "huge console output", code: `for (;;) console.log("x".repeat(1000))`, kind: KindConsoleLimit, msg: "the program wrote more than 65536 bytes to the console (max_console_bytes)"},
	{name: "huge console line", code: `console.error("y".repeat(1 << 20))`, kind: KindConsoleLimit, msg: "the program wrote more than 65536 bytes to the console (max_console_bytes)"},
	{name: "huge tool result", code: `return (await tools.util.big({ n: 9 << 20 })).length`, limits: small, kind: KindRuntime, msg: "ToolError: the tool's result (9437186 bytes) is larger than the run's memory limit (8388608 bytes)"},
	{name: "tool results filling memory", code: `const keep = []; for (;;) keep.push(await tools.util.big({ n: 1 << 20 }))`, limits: Limits{MemoryBytes: 8 << 20, MaxCalls: 100}, kind: KindMemory, msg: "out of memory: the program exceeded its memory limit of 8388608 bytes (memory)"},
	{name: "huge result", code: `return "z".repeat(2 << 20)`, kind: KindResultLimit, msg: "the result is at least 2097154 bytes, more than max_result_bytes (1048576)"},
	{name: "unserializable result", code: `return 10n`, kind: KindResult, msg: "the program's result is not JSON-serializable: TypeError: Do not know how to serialize a BigInt"},
	{name: "circular result", code: `const o = {}; o.o = o; return o`, kind: KindResult, msg: "the program's result is not JSON-serializable: TypeError: circular reference"},
	{name: "never settles", code: `await new Promise(() => {})`, kind: KindNeverSettled, msg: "the program awaits a promise that can never settle (no tool call or timer is pending)"},
	{name: "throw null", code: `throw null`, kind: KindRuntime, msg: "the program threw null or undefined"},
	{name: "too many timers", code: `for (let i = 0; i < 2000; i++) setTimeout(() => {}, 100000)`, kind: KindRuntime, msg: "TypeError: too many pending timers (at most 1000)"},
}

func TestSecurityCorpus(t *testing.T) {
	f := newFixture(t, Options{})
	for _, h := range corpus {
		t.Run(h.name, func(t *testing.T) {
			res := f.runReq(t, Request{Code: h.code, Language: JavaScript, Limits: h.limits, AllowedTools: h.allow})
			got := "ok"
			if res.Error != nil {
				got = fmt.Sprintf("%s: %s", res.Error.Kind, res.Error.Message)
			}
			if h.kind == "" {
				if res.Error != nil || string(res.Result) != h.wantResult {
					t.Errorf("got %s result %s, want result %s", got, res.Result, h.wantResult)
				}
				return
			}
			if want := h.kind + ": " + h.msg; got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
	// The same sandbox still serves normal programs correctly.
	res := f.run(t, TypeScript, `const xs: number[] = [1, 2, 3];
const rs = await Promise.all(xs.map((n) => tools.util.echo({ n })));
console.log("done");
return rs.map((r: any) => r.n).reduce((a, b) => a + b, 0);`)
	if res.Error != nil || string(res.Result) != "6" || len(res.Calls) != 3 || len(res.Console) != 1 {
		t.Fatalf("after the corpus: %+v %s", res.Error, res.Result)
	}
	if n := len(corpus); n < 40 {
		t.Errorf("corpus has %d programs, want at least 40", n)
	}
}
