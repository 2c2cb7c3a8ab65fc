package sandbox

// prelude runs in every VM before the program. It receives the host
// functions (registered as globals, captured here and deleted), hardens the
// realm, and defines what a program sees: tools, callTool, searchTools,
// ToolError, console, setTimeout/clearTimeout. It evaluates to the internal
// entry points the Go side keeps: start (runs the program's async function),
// settle (delivers a call result) and fire (runs a timer).
//
// Security decisions (allowed tools, call limits, sizes) are all made in Go;
// the prelude only has to stay correct when the program tampers with the
// realm, so it captures every intrinsic it uses up front and keeps its own
// tables in null-prototype objects.
const prelude = `(function (toolList, limits) {
"use strict";
const G = globalThis;
const host = {
  call: G.__weft_call, search: G.__weft_search, log: G.__weft_log,
  timer: G.__weft_timer, clear: G.__weft_clear, done: G.__weft_done, take: G.__weft_take,
};
for (const k of ["__weft_call", "__weft_search", "__weft_log", "__weft_timer", "__weft_clear", "__weft_done", "__weft_take"]) delete G[k];

const O = Object, create = O.create, freeze = O.freeze, defineProperty = O.defineProperty,
  getPrototypeOf = O.getPrototypeOf;
const apply = Reflect.apply;
const JSONparse = JSON.parse, JSONstringify = JSON.stringify;
const PromiseC = Promise, promiseThen = Promise.prototype.then;
const StringC = String, TypeErrorC = TypeError, ErrorC = Error, InternalErrorC = G.InternalError;

// outOfMemory reports whether e is how QuickJS fails an allocation: an
// InternalError, or null when it had no memory left to build even that.
// Such an error is never turned into another one (it would hide the cause).
function outOfMemory(e) {
  return e === null || (InternalErrorC !== undefined && e instanceof InternalErrorC);
}
const arrayJoin = Array.prototype.join, arrayMap = Array.prototype.map;
const fnToString = Function.prototype.toString;
const stringSlice = String.prototype.slice;

// Sizes are checked here, on the string's length, before a string is
// handed to Go (which copies it): an oversized argument, result, console
// line or error is passed as null with its length, and Go decides.
function clip(s, n) { return s.length > n ? apply(stringSlice, s, [0, n]) + "…" : s; }
function within(s, n) { return typeof s === "string" && s.length <= n; }

// No code generation from strings: eval and every Function constructor
// (also reachable as (async () => {}).constructor and the like) throw.
const disabled = function Function() {
  throw new TypeErrorC("code generation from strings is disabled in the sandbox");
};
disabled.prototype = Function.prototype;
for (const f of [function () {}, async function () {}, function* () {}, async function* () {}]) {
  defineProperty(getPrototypeOf(f), "constructor", { value: disabled, writable: false, enumerable: false, configurable: false });
}
defineProperty(G, "Function", { value: disabled, writable: false, enumerable: false, configurable: false });
delete G.eval;
if (G.Atomics) { delete G.Atomics.wait; delete G.Atomics.waitAsync; }
delete G.WebAssembly;

class ToolError extends ErrorC {
  constructor(message, tool, code) {
    super(message);
    this.name = "ToolError";
    this.tool = tool;
    this.code = code;
  }
}
freeze(ToolError.prototype);
freeze(ToolError);

const pending = create(null);
const timers = create(null);

function waitFor(id) {
  return new PromiseC(function (resolve, reject) { pending[id] = [resolve, reject]; });
}

function callTool(name, args) {
  if (args === undefined || args === null) args = {};
  let json;
  try {
    json = JSONstringify(args);
  } catch (e) {
    if (outOfMemory(e)) throw e;
    return apply(PromiseC.reject, PromiseC, [new TypeErrorC("arguments of " + StringC(name) + " are not JSON-serializable: " + (e && e.message))]);
  }
  if (typeof json !== "string") json = "null";
  name = StringC(name);
  if (name.length > limits.maxName) name = clip(name, limits.maxName);
  return waitFor(host.call(name, within(json, limits.maxArgs) ? json : null, json.length));
}

function searchTools(query, k) {
  query = StringC(query);
  if (query.length > limits.maxQuery) query = clip(query, limits.maxQuery);
  return waitFor(host.search(query, k === undefined ? 0 : +k));
}

const tools = create(null);
const servers = create(null);
for (let i = 0; i < toolList.length; i++) {
  const [server, tool, name] = toolList[i];
  if (!servers[server]) servers[server] = create(null);
  servers[server][tool] = function (args) { return callTool(name, args); };
}
for (const s in servers) tools[s] = freeze(servers[s]);
freeze(tools);

function show(v) {
  if (typeof v === "string") return v;
  if (typeof v === "function") return "[function]";
  if (typeof v === "bigint") return StringC(v) + "n";
  if (v instanceof ErrorC) return StringC(v.name) + ": " + StringC(v.message);
  try {
    const s = JSONstringify(v);
    return s === undefined ? StringC(v) : s;
  } catch (e) {
    return StringC(v);
  }
}
function logger(level) {
  return function () {
    const text = apply(arrayJoin, apply(arrayMap, arguments, [show]), [" "]);
    host.log(level, within(text, limits.maxConsole) ? text : null, text.length);
  };
}
const console = freeze({ log: logger("log"), info: logger("info"), warn: logger("warn"), error: logger("error"), debug: logger("log") });

function setTimeout(fn, ms) {
  if (typeof fn !== "function") throw new TypeErrorC("setTimeout needs a function");
  const extra = [];
  for (let i = 2; i < arguments.length; i++) extra[i - 2] = arguments[i];
  const id = host.timer(+ms || 0);
  timers[id] = [fn, extra];
  return id;
}
function clearTimeout(id) {
  if (typeof id !== "number" || !timers[id]) return;
  delete timers[id];
  host.clear(id);
}

const globals = { tools, callTool, searchTools, ToolError, console, setTimeout, clearTimeout };
for (const k in globals) defineProperty(G, k, { value: globals[k], writable: false, enumerable: false, configurable: false });

function describe(e) {
  const d = create(null);
  d.nullish = e === null || e === undefined;
  try {
    if (e instanceof ErrorC) {
      d.error = true;
      d.name = clip(StringC(e.name), 256);
      d.message = clip(StringC(e.message), limits.maxMessage);
      d.stack = typeof e.stack === "string" ? clip(e.stack, limits.maxMessage) : "";
      if (e instanceof ToolError) { d.tool = clip(StringC(e.tool), limits.maxName); d.code = clip(StringC(e.code), 256); }
    } else if (!d.nullish) {
      d.message = clip(show(e), limits.maxMessage);
    }
  } catch (x) {
    d.message = "(the thrown value could not be described)";
  }
  return JSONstringify(d);
}

// Outcome 3 means the failure could not even be described: the VM is out of memory.
function fail(outcome, e) {
  let d = null;
  try { d = describe(e); } catch (x) {}
  if (typeof d === "string") host.done(outcome, d); else host.done(3, "");
}

let started = false;
function start(fn) {
  if (started) throw new TypeErrorC("already started");
  started = true;
  mainPromise = fn();
  apply(promiseThen, mainPromise, handlers);
}

// QuickJS drops a promise job it has no memory to queue: when the program
// seems stuck, the Go side asks for the handlers to be attached again, which
// runs them if the program did settle.
let mainPromise;
function recheck() {
  if (mainPromise) apply(promiseThen, mainPromise, handlers);
}
const handlers = [
  function (v) {
    let s;
    try {
      s = JSONstringify(v);
    } catch (e) {
      fail(outOfMemory(e) ? 1 : 2, e);
      return;
    }
    if (s === undefined) s = "null";
    if (within(s, limits.maxResult)) host.done(0, s); else host.done(4, null, s.length);
  },
  function (e) { fail(1, e); },
];

function settle(id, ok) {
  const p = pending[id];
  if (!p) return;
  delete pending[id];
  const payload = host.take();
  if (ok) {
    p[0](JSONparse(payload));
  } else {
    const e = JSONparse(payload);
    p[1](new ToolError(e.message, e.tool, e.code));
  }
}

function fire(id) {
  const t = timers[id];
  if (!t) return;
  delete timers[id];
  try {
    apply(t[0], undefined, t[1]);
  } catch (e) {
    host.log("error", "uncaught exception in a setTimeout callback: " + show(e));
  }
}

// source returns the source text of the program's function, which the Go
// side compares with the whole wrapper (a program must not close it early).
function source(fn) {
  return typeof fn === "function" ? apply(fnToString, fn, []) : "";
}

return { start: start, settle: settle, fire: fire, recheck: recheck, source: source };
})`
