// V8 isolates (isolated-vm) running the same programs as weft's sandbox, with
// an equivalent tool-call bridge: an async host function reached through an
// ivm.Reference, arguments and results crossing as JSON strings, a fresh
// isolate and context per run (64 MiB memory limit). Prints one JSON object
// with the measurements; bench/sandbox/main.go runs this and compares.
"use strict";
const ivm = require("isolated-vm");
const { performance } = require("node:perf_hooks");

// The host side of the bridge: "echo" answers at once, "sleep" after args.ms.
async function host(name, argsJSON) {
  const args = JSON.parse(argsJSON);
  if (name === "util__sleep") await new Promise((r) => setTimeout(r, args.ms));
  return '{"ok":true}';
}
const hostRef = new ivm.Reference(host);

const bridge = `
const __c = __call; delete globalThis.__call;
globalThis.callTool = (name, args) =>
  __c.apply(undefined, [name, JSON.stringify(args === undefined ? {} : args)], { result: { promise: true } }).then(JSON.parse);
globalThis.tools = Object.freeze({ util: Object.freeze({
  echo: (a) => callTool("util__echo", a),
  sleep: (a) => callTool("util__sleep", a),
}) });
`;

async function run(code) {
  const isolate = new ivm.Isolate({ memoryLimit: 64 });
  try {
    const context = await isolate.createContext();
    await context.global.set("__call", hostRef);
    await context.eval(bridge);
    const out = await context.eval(`(async function () {\n${code}\n})().then((v) => JSON.stringify(v))`, { promise: true, timeout: 30000 });
    context.release();
    return out;
  } finally {
    isolate.dispose();
  }
}

function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))];
}

async function timeRuns(code, n) {
  const ds = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await run(code);
    ds.push((performance.now() - t) * 1000); // µs
  }
  return ds;
}

async function main() {
  const p = JSON.parse(process.argv[2]);
  const n = p.n || 300;
  await timeRuns(p.trivial, 50); // warm up
  const out = {};
  const cold = await timeRuns(p.trivial, n);
  out.cold_start_p50_us = pct(cold, 50);
  out.cold_start_p99_us = pct(cold, 99);
  const base = pct(cold, 50);
  const seq = await timeRuns(p.sequential100, Math.max(20, n / 5));
  out.call_overhead_sequential_us = (pct(seq, 50) - base) / 100;
  const all = await timeRuns(p.promiseAll100, Math.max(20, n / 5));
  out.call_overhead_promise_all_us = (pct(all, 50) - base) / 100;
  const sleep = await timeRuns(p.parallelSleep, 10);
  out.parallel_sleep_20x50ms_p50_ms = pct(sleep, 50) / 1000;
  const comp = await timeRuns(p.compute, 10);
  out.compute_p50_ms = pct(comp, 50) / 1000;
  const batches = [];
  for (let b = 0; b < 10; b++) {
    const t = performance.now();
    await Promise.all(Array.from({ length: 50 }, () => run(p.concurrent)));
    batches.push(performance.now() - t);
  }
  out.concurrent_50_runs_p50_ms = pct(batches, 50);
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => { console.error(e); process.exit(1); });
