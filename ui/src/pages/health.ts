// Health: per server and per tool calls, failures, latency and call rate,
// from weft's own Prometheus metrics (/metrics), narrowed to the tools and
// servers the key may see; upstream states from /readyz.
import { h, s, replace, errorBox, ms } from "../dom";
import { allTools, getText, ApiError, Tool } from "../api";
import { readiness, upstreamTable, healthBadge } from "./catalog";

interface Sample { name: string; labels: Record<string, string>; value: number }

/** parseMetrics reads the Prometheus text format (only what the page needs). */
export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    let l: RegExpExecArray | null;
    while ((l = re.exec(m[2] ?? ""))) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

interface Stat { calls: number; failures: number; sum: number; count: number; buckets: [number, number][] }

function quantile(st: Stat, q: number): number {
  if (st.count === 0) return NaN;
  const bs = [...st.buckets].sort((a, b) => a[0] - b[0]);
  for (const [le, c] of bs) if (c >= q * st.count) return le * 1000;
  return NaN;
}

function bars(rows: [string, number, string][], caption: string, cls: string): HTMLElement {
  if (rows.length === 0) return h("p", { class: "muted" }, `${caption}: no data yet.`);
  const max = Math.max(1e-9, ...rows.map((r) => r[1]));
  const W = 640, L = 220, R = 24;
  const svg = s("svg", { width: W, height: 8 + rows.length * R, viewBox: `0 0 ${W} ${8 + rows.length * R}`, role: "img", "aria-label": caption + ": " + rows.map((r) => `${r[0]} ${r[2]}`).join(", ") },
    rows.map(([label, v, text], i) => s("g", { class: "hbar " + cls },
      s("text", { class: "bar-label", x: 4, y: 18 + i * R }, label.length > 30 ? label.slice(0, 29) + "…" : label),
      s("rect", { x: L, y: 6 + i * R, height: R - 8, width: Math.max(1, ((W - L - 90) * v) / max), rx: 2 }),
      s("text", { class: "bar-time", x: L + Math.max(1, ((W - L - 90) * v) / max) + 4, y: 18 + i * R }, text))));
  return h("figure", { class: "chart" }, svg, h("figcaption", null, caption));
}

export async function healthPage(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const ups = h("div", { class: "card" });
  const body = h("div", { "aria-live": "polite" }, h("p", { class: "muted" }, "Loading metrics…"));
  root.append(ups, body, h("p", { class: "muted" }, "Calls and failures from /metrics (weft_tool_calls_total, weft_tool_call_duration_seconds by server); per-tool latency and health scores from GET /v1/tools; the call rate is measured between refreshes (every 5 s)."));
  readiness(signal).then((rd) => replace(ups, upstreamTable(rd))).catch((err) => replace(ups, errorBox(err)));
  let visible: Set<string>;
  let catalog = new Map<string, Tool>();
  try {
    catalog = new Map((await allTools(signal)).map((t) => [t.name, t]));
    visible = new Set(catalog.keys());
  } catch (err) {
    replace(body, errorBox(err instanceof ApiError && err.status === 401 ? new Error("This page needs an API key: type it above.") : err));
    return;
  }
  const servers = new Set([...visible].map((n) => n.split("__")[0]));
  let prev: { at: number; calls: Map<string, number> } | null = null;
  const refresh = async () => {
    // Health scores and per-tool latency come with the catalog (GET /v1/tools).
    catalog = new Map((await allTools(signal)).map((t) => [t.name, t]));
    const samples = parseMetrics(await getText("/metrics", signal));
    const tools = new Map<string, Stat>(), srv = new Map<string, Stat>();
    const stat = (m: Map<string, Stat>, k: string) => m.get(k) ?? (m.set(k, { calls: 0, failures: 0, sum: 0, count: 0, buckets: [] }), m.get(k)!);
    const bucketAcc = new Map<string, Map<number, number>>();
    for (const x of samples) {
      if (x.name === "weft_tool_calls_total" && visible.has(x.labels.tool)) {
        const t = stat(tools, x.labels.tool), sv = stat(srv, x.labels.server);
        t.calls += x.value; sv.calls += x.value;
        if (x.labels.outcome !== "ok") { t.failures += x.value; sv.failures += x.value; }
      } else if (x.name.startsWith("weft_tool_call_duration_seconds") && servers.has(x.labels.server)) {
        const sv = stat(srv, x.labels.server);
        if (x.name.endsWith("_sum")) sv.sum += x.value;
        else if (x.name.endsWith("_count")) sv.count += x.value;
        else if (x.name.endsWith("_bucket")) {
          const acc = bucketAcc.get(x.labels.server) ?? new Map<number, number>();
          const le = x.labels.le === "+Inf" ? Infinity : Number(x.labels.le);
          acc.set(le, (acc.get(le) ?? 0) + x.value);
          bucketAcc.set(x.labels.server, acc);
        }
      }
    }
    for (const [k, acc] of bucketAcc) stat(srv, k).buckets = [...acc.entries()];
    const now = Date.now();
    const rate = (name: string, calls: number) => prev ? (calls - (prev.calls.get(name) ?? 0)) / ((now - prev.at) / 60000) : NaN;
    const toolRows = [...tools.entries()].sort((a, b) => b[1].calls - a[1].calls);
    const srvRows = [...srv.entries()].sort((a, b) => a[0].localeCompare(b[0]));
    replace(body,
      h("h2", null, "Servers"),
      h("table", { class: "health-servers" },
        h("caption", { class: "sr-only" }, "Per server"),
        h("thead", null, h("tr", null, ["Server", "Calls", "Failures", "Mean latency", "p50 ≤", "p95 ≤", "Calls/min"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, srvRows.map(([name, st]) => h("tr", { "data-server": name },
          h("th", { scope: "row" }, name), h("td", { class: "num" }, st.calls), h("td", { class: "num" }, st.failures),
          h("td", { class: "num" }, st.count ? ms((st.sum / st.count) * 1000) : ""),
          h("td", { class: "num" }, ms(quantile(st, 0.5))), h("td", { class: "num" }, ms(quantile(st, 0.95))),
          h("td", { class: "num" }, isFinite(rate("s:" + name, st.calls)) ? rate("s:" + name, st.calls).toFixed(1) : "…"))))),
      bars(srvRows.filter(([, st]) => st.count).map(([n, st]) => [n, st.sum / st.count, ms((st.sum / st.count) * 1000)]), "Mean call latency per server", "lat"),
      h("h2", null, "Tools"),
      bars(toolRows.map(([n, st]) => [n, st.calls, `${st.calls} calls`]), "Calls per tool", "calls"),
      bars(toolRows.filter(([, st]) => st.failures).map(([n, st]) => [n, st.failures, `${st.failures} failed (${Math.round((100 * st.failures) / st.calls)}%)`]), "Failures per tool", "fail"),
      bars(toolRows.filter(([n]) => catalog.get(n)?.health?.calls).map(([n]) => { const hl = catalog.get(n)!.health!; return [n, hl.mean_latency_ms, ms(hl.mean_latency_ms)]; }), "Mean latency per tool (recency-weighted)", "lat"),
      h("table", { class: "health-tools" },
        h("caption", { class: "sr-only" }, "Per tool"),
        h("thead", null, h("tr", null, ["Tool", "Calls", "Failures", "Calls/min", "Mean latency", "Health"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, toolRows.map(([name, st]) => h("tr", { "data-tool": name },
          h("th", { scope: "row" }, h("code", null, name)), h("td", { class: "num" }, st.calls), h("td", { class: "num" }, st.failures),
          h("td", { class: "num" }, isFinite(rate(name, st.calls)) ? rate(name, st.calls).toFixed(1) : "…"),
          h("td", { class: "num" }, catalog.get(name)?.health?.calls ? ms(catalog.get(name)!.health!.mean_latency_ms) : ""),
          h("td", null, healthBadge(catalog.get(name)?.health)))))));
    const calls = new Map<string, number>();
    for (const [n, st] of tools) calls.set(n, st.calls);
    for (const [n, st] of srv) calls.set("s:" + n, st.calls);
    prev = { at: now, calls };
  };
  await refresh();
  const timer = setInterval(() => refresh().catch((err) => { if (!signal.aborted) body.prepend(errorBox(err)); }), 5000);
  signal.addEventListener("abort", () => clearInterval(timer));
}
