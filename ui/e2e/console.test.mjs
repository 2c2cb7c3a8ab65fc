// Browser tests of the weft console against a real `weft serve` (started by
// run.sh): every page in headless chromium, axe-core on each, the flows of
// issue 14 (search, code, plans, runs, cancel, scopes), screenshots.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const AXE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const URL = need("WEFT_URL"), ADMIN = need("WEFT_ADMIN_KEY"), NARROW = need("WEFT_NARROW_KEY");
const ART = need("WEFT_UI_ARTIFACTS"), DOCS = process.env.WEFT_UI_DOCS_DIR || "";
const T = 30_000; // bound on any one wait (correctness bound, not a timing claim)

function need(name) {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set: run ui/e2e/run.sh`);
  return v;
}

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.WEFT_TEST_CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
});
after(async () => { await browser?.close(); });

/** open starts a tab with the console, the key typed into its form; errors collects console errors. */
async function open(key, opts = {}) {
  const ctx = await browser.newContext({ viewport: opts.viewport ?? { width: 1280, height: 800 }, colorScheme: opts.colorScheme ?? "light" });
  const page = await ctx.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push("pageerror: " + e.message));
  // The Ask page requests nothing until asked: no 401 before the key is typed.
  await page.goto(URL + "/ui/#/" + (key ? "ask" : "catalog"));
  if (key) {
    await page.fill("#api-key", key);
    await page.click("form.key button[type=submit]");
    await page.waitForSelector(".key-state:text('key set')", { timeout: T });
  }
  return { ctx, page, errors };
}

async function go(page, name) {
  await page.evaluate((n) => { location.hash = "#/" + n; }, name);
  await page.waitForFunction((n) => document.querySelector(`nav a[data-page="${n}"]`)?.getAttribute("aria-current") === "page", name, { timeout: T });
}

/** axe runs axe-core on the page; it fails on serious or critical violations. */
async function axe(page, what) {
  await page.evaluate(AXE); // evaluated through DevTools: the page's CSP does not apply to it
  const res = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  const bad = res.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")}`), [], `axe on ${what}`);
}

async function shot(page, name, docs = true, fullPage = false) {
  const file = `console-${name}.png`;
  await page.screenshot({ path: path.join(ART, file), fullPage });
  if (docs && DOCS) fs.copyFileSync(path.join(ART, file), path.join(DOCS, file));
}

async function api(key, p, init = {}) {
  const res = await fetch(URL + p, { ...init, headers: { Authorization: "Bearer " + key, "Content-Type": "application/json", ...(init.headers ?? {}) } });
  return { status: res.status, body: await res.json() };
}

test("/ui is served with a strict CSP, public, and /v1 still needs a key", async () => {
  const res = await fetch(URL + "/ui/");
  assert.equal(res.status, 200);
  const csp = res.headers.get("content-security-policy");
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self';/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal((await fetch(URL + "/v1/tools")).status, 401);
  const foreign = await fetch(URL + "/ui/", { headers: { Origin: "http://evil.example" } });
  assert.equal(foreign.status, 403, "a foreign Origin is refused on /ui as on the API");
});

test("every page loads without console errors and passes axe (light, 1280×800)", async () => {
  const { ctx, page, errors } = await open(ADMIN);
  try {
    await go(page, "catalog");
    await page.waitForSelector('details.tool[data-tool="everything__get-sum"]', { timeout: T });
    await page.waitForSelector('.upstreams tr[data-server="everything"]', { timeout: T });
    await page.click('details.tool[data-tool="everything__get-sum"] summary');
    await page.waitForSelector('details.tool[data-tool="everything__get-sum"] pre[aria-label^="TypeScript signature"]', { timeout: T });
    const sig = await page.textContent('details.tool[data-tool="everything__get-sum"] pre[aria-label^="TypeScript signature"]');
    assert.match(sig, /a: number/);
    assert.match(await page.textContent('details.tool[data-tool="everything__get-sum"] .health-facts'), /^score \d\.\d\d \(success \d+% × latency/);
    await page.fill("#tool-filter", "memory");
    await page.waitForFunction(() => [...document.querySelectorAll("details.tool")].every((d) => d.dataset.tool.startsWith("memory__") || d.textContent.toLowerCase().includes("memory")), null, { timeout: T });
    await page.fill("#tool-filter", "");
    await axe(page, "catalog");
    await shot(page, "catalog");
    for (const name of ["search", "code", "plans", "runs", "health", "ask"]) {
      await go(page, name);
      if (name === "code") await page.waitForSelector('pre[aria-label="TypeScript declarations of the tools"]', { timeout: T });
      if (name === "health") await page.waitForSelector("table.health-servers", { timeout: T });
      if (name === "runs") await page.waitForSelector("#runs-status", { timeout: T });
      await axe(page, name);
      if (["search", "code", "plans", "runs", "health"].includes(name)) continue; // screenshotted with data below
      await shot(page, name);
    }
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test("search shows the same ranked tools as /v1/search, with matched fields", async () => {
  const { ctx, page, errors } = await open(ADMIN);
  try {
    await go(page, "search");
    await page.fill("#search-q", "add two numbers");
    await page.click("form.row button[type=submit]");
    await page.waitForSelector("table.hits tbody tr", { timeout: T });
    const shown = await page.$$eval("table.hits tbody tr", (rows) => rows.map((r) => r.dataset.tool));
    const { body } = await api(ADMIN, "/v1/search?q=" + encodeURIComponent("add two numbers") + "&k=10");
    assert.deepEqual(shown, body.results.map((r) => r.name));
    assert.equal(shown[0], "everything__get-sum");
    const matched = await page.textContent('table.hits tr[data-tool="everything__get-sum"] td:nth-child(4)');
    assert.ok(matched.length > 0, "matched fields shown");
    await shot(page, "search");
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test("a program runs and shows its calls, console and timeline", async () => {
  const { ctx, page, errors } = await open(ADMIN);
  try {
    await go(page, "code");
    await page.waitForSelector('pre[aria-label="TypeScript declarations of the tools"]', { timeout: T });
    await page.click("#code-run");
    await page.waitForSelector("[data-outcome]", { timeout: T });
    assert.equal(await page.getAttribute("[data-outcome]", "data-outcome"), "ok");
    assert.deepEqual(await page.$$eval("table.calls tbody tr", (rs) => rs.map((r) => r.dataset.call)), ["everything__get-sum", "everything__get-sum"]);
    assert.equal(await page.locator("figure.gantt g.bar.st-succeeded").count(), 2);
    assert.match(await page.textContent("ol.console"), /sums The sum of 2 and 3 is 5\. The sum of 4 and 5 is 9\./);
    assert.match(await page.textContent('pre[aria-label="Result"]'), /"a": "The sum of 2 and 3 is 5\."/);
    await shot(page, "code", true, true);
    // "Insert a call" writes a callTool with the tool's required arguments at the cursor.
    await page.fill("#code-src", "");
    await page.selectOption("#code-insert", "everything__get-sum");
    assert.equal(await page.inputValue("#code-src"), 'const r = await callTool("everything__get-sum", { a: 0, b: 0 });\n');
    await page.keyboard.type("return r;");
    await page.click("#code-run");
    await page.waitForSelector('table.calls tr[data-call="everything__get-sum"]', { timeout: T });
    assert.match(await page.textContent('pre[aria-label="Result"]'), /The sum of 0 and 0 is 0\./);
    // A program error is shown with its position, not thrown away.
    await page.fill("#code-src", "const x = 1;\nthrow new Error('nope');");
    await page.click("#code-run");
    await page.waitForSelector('[data-outcome="error"]', { timeout: T });
    assert.match(await page.textContent('[data-outcome="error"]'), /runtime: .*nope.*line 2/);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test("a plan runs: its DAG and timeline reach succeeded; a failing step shows its error", async () => {
  const { ctx, page, errors } = await open(ADMIN);
  try {
    await go(page, "plans");
    await page.selectOption("#plan-example", "parallel sums");
    await page.click("#plan-validate");
    await page.waitForSelector("p.ok:text('The plan is valid.')", { timeout: T });
    await page.click("#plan-run");
    await page.waitForSelector('.run-status[data-status="succeeded"]', { timeout: T });
    await page.waitForSelector('div.run[data-status="succeeded"]', { timeout: T });
    assert.deepEqual(await page.$$eval("svg.dag g.node", (ns) => ns.map((n) => `${n.dataset.step}:${n.dataset.status}`)), ["xy:succeeded", "xx:succeeded", "report:succeeded"]);
    assert.deepEqual(await page.$$eval("figure.gantt g.bar", (bs) => bs.map((b) => b.dataset.status)), ["succeeded", "succeeded", "succeeded"]);
    assert.equal(await page.locator("svg.dag path.edge").count(), 2);
    await shot(page, "plans", true, true);

    await page.selectOption("#plan-example", "a failing step");
    await page.click("#plan-run");
    await page.waitForSelector('div.run[data-status="failed"]', { timeout: T });
    assert.equal(await page.getAttribute('svg.dag g.node[data-step="boom"]', "data-status"), "failed");
    assert.equal(await page.getAttribute('svg.dag g.node[data-step="ok"]', "data-status"), "succeeded");
    assert.equal(await page.getAttribute('svg.dag g.node[data-step="after"]', "data-status"), "skipped");
    assert.match(await page.textContent('table.steps tr[data-step="boom"] td.step-error'), /boom: this step fails on purpose/);
    await shot(page, "plans-failed", true, true);

    // Validation problems are shown at their step.
    await page.fill("#plan-src", JSON.stringify({ version: "1", steps: [{ id: "a", tool: "everything__echo", args: { message: "x" } }, { id: "b", tool: "everything__no-such-tool", args: {} }] }));
    await page.click("#plan-validate");
    await page.waitForSelector("ul.problems li", { timeout: T });
    assert.match(await page.textContent("ul.problems"), /step b/);
    assert.deepEqual(errors.filter((e) => !/status of 400/.test(e)), []); // the 400 of an invalid plan is the API's answer
  } finally {
    await ctx.close();
  }
});

test("runs: history with filter, open a run's timeline, cancel a running one", async () => {
  const slow = { version: "1", name: "slow", steps: [{ id: "wait", code: "await new Promise((r) => setTimeout(r, 25000)); return 1;" }] };
  const started = await api(ADMIN, "/v1/runs", { method: "POST", body: JSON.stringify({ plan: slow }) });
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const id = started.body.id;
  const { ctx, page, errors } = await open(ADMIN);
  try {
    await go(page, "runs");
    await page.waitForSelector(`table.runs tr[data-run="${id}"][data-status="running"]`, { timeout: T });
    await page.selectOption("#runs-status", "succeeded");
    await page.waitForFunction(() => { const rs = [...document.querySelectorAll("table.runs tbody tr")]; return rs.length > 0 && rs.every((r) => r.dataset.status === "succeeded"); }, null, { timeout: T });
    await page.selectOption("#runs-status", "");
    await page.waitForSelector(`table.runs tr[data-run="${id}"]`, { timeout: T });
    await page.click(`table.runs tr[data-run="${id}"] a`);
    await page.waitForSelector("#run-cancel", { timeout: T });
    await page.waitForSelector('svg.dag g.node[data-step="wait"][data-status="running"]', { timeout: T });
    await shot(page, "run-running");
    await page.click("#run-cancel");
    await page.waitForSelector(`div.run[data-status="canceled"]`, { timeout: T });
    assert.equal((await api(ADMIN, "/v1/runs/" + id)).body.status, "canceled");
    await go(page, "runs");
    await page.waitForSelector(`table.runs tr[data-run="${id}"][data-status="canceled"]`, { timeout: T });
    await shot(page, "runs");
    // A finished run opens with its DAG, timeline and step table.
    const done = (await api(ADMIN, "/v1/runs?status=succeeded&limit=1")).body.runs[0];
    await go(page, "runs");
    await page.evaluate((rid) => { location.hash = "#/runs/" + rid; }, done.id);
    await page.waitForSelector(`div.run[data-run="${done.id}"] figure.gantt`, { timeout: T });
    await shot(page, "run", true, true);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test("a key scoped to one server sees none of the others' tools, metrics or runs", async () => {
  const adminRuns = (await api(ADMIN, "/v1/runs?limit=5")).body.runs;
  assert.ok(adminRuns.length > 0, "the admin key has runs (earlier tests)");
  const { ctx, page, errors } = await open(NARROW);
  try {
    await go(page, "catalog");
    await page.waitForSelector("details.tool", { timeout: T });
    await page.waitForSelector(".upstreams", { timeout: T });
    const tools = await page.$$eval("details.tool", (ds) => ds.map((d) => d.dataset.tool));
    assert.ok(tools.length > 0 && tools.every((t) => t.startsWith("memory__")), tools.join(","));
    assert.deepEqual(await page.$$eval(".upstreams tbody tr", (rs) => rs.map((r) => r.dataset.server)), ["memory"]);
    await go(page, "search");
    await page.fill("#search-q", "add two numbers");
    await page.click("form.row button[type=submit]");
    await page.waitForFunction(() => document.querySelector("table.hits") || document.querySelector(".results .muted:not(:empty)"), null, { timeout: T });
    await page.waitForSelector("table.hits", { timeout: T });
    const hits = await page.$$eval("table.hits tbody tr", (rs) => rs.map((r) => r.dataset.tool));
    assert.ok(hits.every((t) => t.startsWith("memory__")), hits.join(","));
    await go(page, "health");
    await page.waitForSelector("table.health-servers", { timeout: T });
    const servers = await page.$$eval("table.health-servers tbody tr", (rs) => rs.map((r) => r.dataset.server));
    assert.ok(!servers.includes("everything"), servers.join(","));
    assert.equal(await page.locator('table.health-tools tr[data-tool^="everything__"]').count(), 0);
    await go(page, "runs");
    await page.waitForSelector("#runs-status", { timeout: T });
    await page.waitForFunction(() => document.querySelector("table.runs") || document.querySelector("main p.muted")?.textContent === "No runs.", null, { timeout: T });
    for (const r of adminRuns) assert.equal(await page.locator(`tr[data-run="${r.id}"]`).count(), 0, `run ${r.id} of another key is listed`);
    await shot(page, "scoped-key-runs", false);
    assert.deepEqual(errors, []);
    // Another key's run opens as "no such run".
    await page.evaluate((rid) => { location.hash = "#/runs/" + rid; }, adminRuns[0].id);
    await page.waitForSelector("p.error", { timeout: T });
    assert.match(await page.textContent("p.error"), /404 unknown_run/);
  } finally {
    await ctx.close();
  }
});

test("without a key the console shows nothing but asks for one", async () => {
  const { ctx, page } = await open("");
  try {
    await page.waitForSelector("p.error", { timeout: T });
    assert.match(await page.textContent("p.error"), /needs an API key/);
    assert.equal(await page.locator("details.tool").count(), 0);
  } finally {
    await ctx.close();
  }
});

test("ask (a scripted model): the plan as a DAG, its run, tokens and the answer", async () => {
  const { ctx, page, errors } = await open(ADMIN);
  try {
    await go(page, "ask");
    await page.fill("#ask-request", "what is 2 plus 3?");
    await page.click("#ask-form button[type=submit]");
    await page.waitForSelector("p.answer[data-answer]", { timeout: T });
    assert.equal(await page.textContent("p.answer[data-answer]"), "2 + 3 = 5.");
    assert.equal(await page.getAttribute('svg.dag g.node[data-step="sum"]', "data-status"), "succeeded");
    assert.equal(await page.getAttribute('table.steps tr[data-step="sum"]', "data-status"), "succeeded");
    // modelstub: 900 prompt (512 cached) + 40 completion for the plan, 300 + 12 for the answer.
    assert.match(await page.textContent("#ask-tokens"), /^1200 prompt \(512 cached\) \+ 52 completion tokens · 2 model turns · strategy plan/);
    const kinds = await page.$$eval("ol.events li", (ls) => ls.map((l) => l.dataset.event));
    for (const k of ["candidates", "model_call", "plan", "step"]) assert.ok(kinds.includes(k), `event ${k} shown: ${kinds.join(",")}`);
    await axe(page, "ask");
    await shot(page, "ask", true, true);
    assert.deepEqual(errors, []);
  } finally {
    await ctx.close();
  }
});

test("narrow window, keyboard and dark mode", async () => {
  const narrow = await open(ADMIN, { viewport: { width: 390, height: 800 } });
  try {
    for (const name of ["catalog", "search", "code", "plans", "runs", "health", "ask"]) {
      await go(narrow.page, name);
      if (name === "catalog") await narrow.page.waitForSelector("details.tool", { timeout: T });
      const [sw, iw] = await narrow.page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      assert.ok(sw <= iw, `${name}: the page scrolls sideways at 390 px (${sw} > ${iw})`);
    }
    await go(narrow.page, "runs");
    await narrow.page.waitForSelector("table.runs", { timeout: T });
    let [sw, iw] = await narrow.page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(sw <= iw, `runs table: the page scrolls sideways at 390 px (${sw} > ${iw})`);
    await go(narrow.page, "plans");
    await narrow.page.selectOption("#plan-example", "parallel sums");
    await narrow.page.click("#plan-run");
    await narrow.page.waitForSelector('div.run[data-status="succeeded"]', { timeout: T });
    [sw, iw] = await narrow.page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(sw <= iw, `finished plan: the page scrolls sideways at 390 px (${sw} > ${iw})`);
    await go(narrow.page, "catalog");
    await narrow.page.waitForSelector("details.tool", { timeout: T });
    await shot(narrow.page, "narrow");
    assert.deepEqual(narrow.errors, []);
  } finally {
    await narrow.ctx.close();
  }
  const kb = await open(ADMIN);
  try {
    await go(kb.page, "catalog");
    await kb.page.reload(); // a fresh load; the key stays in sessionStorage
    await kb.page.waitForSelector("details.tool", { timeout: T });
    await kb.page.keyboard.press("Tab");
    assert.equal(await kb.page.evaluate(() => { const a = document.activeElement; return a?.className || `${a?.tagName} ${a?.id} ${a?.textContent?.slice(0, 40)}`; }), "skip");
    // Tab to the Search link and follow it with Enter.
    for (let i = 0; i < 20; i++) {
      await kb.page.keyboard.press("Tab");
      if (await kb.page.evaluate(() => document.activeElement?.getAttribute("data-page") === "search")) break;
    }
    await kb.page.keyboard.press("Enter");
    await kb.page.waitForSelector("#search-q", { timeout: T });
    await kb.page.focus("#search-q");
    await kb.page.keyboard.type("echo a message");
    await kb.page.keyboard.press("Enter");
    await kb.page.waitForSelector('table.hits tr[data-tool="everything__echo"]', { timeout: T });
  } finally {
    await kb.ctx.close();
  }
  // Health after the calls of the tests above: per tool and per server, with a call rate.
  const hl = await open(ADMIN);
  try {
    await go(hl.page, "health");
    await hl.page.waitForSelector('table.health-tools tr[data-tool="everything__get-sum"]', { timeout: T });
    const calls = Number(await hl.page.textContent('table.health-tools tr[data-tool="everything__get-sum"] td:nth-child(2)'));
    assert.ok(calls >= 4, `everything__get-sum calls shown: ${calls}`); // 2 from the program, 2+ per parallel-sums run
    assert.ok(Number(await hl.page.textContent('table.health-servers tr[data-server="everything"] td:nth-child(2)')) >= calls);
    assert.match(await hl.page.textContent('table.health-tools tr[data-tool="everything__get-sum"] td:nth-child(6)'), /^health [01]\.\d\d$/);
    assert.match(await hl.page.textContent('table.health-tools tr[data-tool="everything__get-sum"] td:nth-child(5)'), /\d+(\.\d+)? m?s$/);
    await hl.page.waitForFunction(() => /\d/.test(document.querySelector('table.health-tools tr[data-tool="everything__get-sum"] td:nth-child(4)')?.textContent ?? ""), null, { timeout: T });
    await shot(hl.page, "health", true, true);
    assert.deepEqual(hl.errors, []);
  } finally {
    await hl.ctx.close();
  }
  const dark = await open(ADMIN, { colorScheme: "dark" });
  try {
    await go(dark.page, "catalog");
    await dark.page.waitForSelector("details.tool", { timeout: T });
    await axe(dark.page, "catalog (dark)");
    await go(dark.page, "plans");
    await dark.page.selectOption("#plan-example", "parallel sums");
    await dark.page.click("#plan-run");
    await dark.page.waitForSelector('div.run[data-status="succeeded"]', { timeout: T });
    await axe(dark.page, "plans (dark)");
    await shot(dark.page, "dark");
    assert.deepEqual(dark.errors, []);
  } finally {
    await dark.ctx.close();
  }
});
