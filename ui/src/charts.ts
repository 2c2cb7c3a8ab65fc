// SVG charts: a plan's DAG coloured by step status and a Gantt timeline
// of steps (plans, runs) or tool calls (code). Geometry is in SVG
// attributes, colours in style.css (classes st-<status>).
import { h, s, ms } from "./dom";

export interface DagStep {
  id: string;
  deps: string[];
  status: string;
  detail?: string;
}

/** stepDeps lists the steps a plan step depends on: depends_on plus every steps.<id> reference. */
export function stepDeps(step: Record<string, unknown>, ids: Set<string>): string[] {
  const deps = new Set<string>(Array.isArray(step.depends_on) ? (step.depends_on as string[]) : []);
  const { id: _id, plan: _nested, ...rest } = step;
  const text = JSON.stringify(rest);
  const re = /steps\.([A-Za-z_][A-Za-z0-9_-]*)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) if (ids.has(m[1]) && m[1] !== step.id) deps.add(m[1]);
  return [...deps];
}

const NW = 150, NH = 44, GX = 60, GY = 18;

/** dag draws steps in layers (a step one layer right of its last dependency). */
export function dag(steps: DagStep[]): SVGElement {
  const byId = new Map(steps.map((st) => [st.id, st]));
  const layer = new Map<string, number>();
  const depth = (id: string, seen: Set<string>): number => {
    if (layer.has(id)) return layer.get(id)!;
    if (seen.has(id)) return 0;
    seen.add(id);
    const st = byId.get(id);
    let d = 0;
    for (const dep of st?.deps ?? []) if (byId.has(dep)) d = Math.max(d, depth(dep, seen) + 1);
    layer.set(id, d);
    return d;
  };
  steps.forEach((st) => depth(st.id, new Set()));
  const cols: string[][] = [];
  for (const st of steps) (cols[layer.get(st.id)!] ??= []).push(st.id);
  const pos = new Map<string, { x: number; y: number }>();
  cols.forEach((col, ci) => col.forEach((id, ri) => pos.set(id, { x: 10 + ci * (NW + GX), y: 10 + ri * (NH + GY) })));
  const width = 20 + Math.max(1, cols.length) * (NW + GX) - GX;
  const height = 20 + Math.max(1, ...cols.map((c) => c.length)) * (NH + GY) - GY;
  const edges = steps.flatMap((st) => st.deps.filter((d) => pos.has(d)).map((d) => {
    const a = pos.get(d)!, b = pos.get(st.id)!;
    const x1 = a.x + NW, y1 = a.y + NH / 2, x2 = b.x - 4, y2 = b.y + NH / 2, mx = (x1 + x2) / 2;
    return s("path", { class: "edge", d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, "marker-end": "url(#arrow)" });
  }));
  const nodes = steps.map((st) => {
    const p = pos.get(st.id)!;
    return s("g", { class: "node st-" + st.status, "data-step": st.id, "data-status": st.status, transform: `translate(${p.x},${p.y})` },
      s("title", null, `${st.id}: ${st.status}${st.detail ? " — " + st.detail : ""}`),
      s("rect", { width: NW, height: NH, rx: 6 }),
      s("text", { x: 10, y: 18, class: "node-id" }, clip(st.id, 18)),
      s("text", { x: 10, y: 35, class: "node-status" }, st.status));
  });
  return s("svg", { class: "dag", width, height, viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Plan DAG: " + steps.map((st) => `${st.id} ${st.status}`).join(", ") },
    s("defs", null, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      s("path", { d: "M0,0 L10,5 L0,10 z", class: "arrowhead" }))),
    edges, nodes);
}

export interface Bar {
  label: string;
  status: string;
  start: number; // ms from the origin
  end: number; // ms from the origin; NaN while running
  title?: string;
  /** Attempts are drawn as segments inside the bar. */
  attempts?: { start: number; end: number; failed: boolean }[];
}

const LABEL = 130, ROW = 24, W = 680;

/** gantt draws bars on a shared time axis (now is used for open bars). */
export function gantt(bars: Bar[], now: number, caption: string): HTMLElement {
  if (bars.length === 0) return h("p", { class: "muted" }, "Nothing to show yet.");
  const ends = bars.map((b) => (isFinite(b.end) ? b.end : now));
  const span = Math.max(1, ...ends, ...bars.map((b) => b.start));
  const scale = (W - LABEL - 70) / span;
  const height = 26 + bars.length * ROW;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => {
    const x = LABEL + f * span * scale;
    return s("g", null, s("line", { class: "tick", x1: x, x2: x, y1: 16, y2: height }), s("text", { class: "tick-label", x, y: 12, "text-anchor": "middle" }, ms(f * span)));
  });
  const rows = bars.map((b, i) => {
    const y = 22 + i * ROW, end = isFinite(b.end) ? b.end : now;
    const x = LABEL + b.start * scale, w = Math.max(2, (end - b.start) * scale);
    const segs = (b.attempts ?? []).filter((a) => a.failed).map((a) =>
      s("rect", { class: "attempt-failed", x: LABEL + a.start * scale, y: y + 3, width: Math.max(2, (a.end - a.start) * scale), height: ROW - 12 }));
    return s("g", { class: "bar st-" + b.status, "data-bar": b.label, "data-status": b.status },
      s("title", null, b.title ?? `${b.label}: ${b.status}, ${ms(end - b.start)}`),
      s("text", { class: "bar-label", x: 4, y: y + 13 }, clip(b.label, 20)),
      s("rect", { x, y, width: w, height: ROW - 6, rx: 3 }),
      segs,
      s("text", { class: "bar-time", x: x + w + 4, y: y + 13 }, isFinite(b.end) ? ms(end - b.start) : "running"));
  });
  return h("figure", { class: "gantt" },
    s("svg", { width: W, height, viewBox: `0 0 ${W} ${height}`, role: "img", "aria-label": caption + ": " + bars.map((b) => `${b.label} ${b.status}`).join(", ") }, ticks, rows),
    h("figcaption", null, caption));
}

function clip(t: string, n: number): string {
  return t.length > n ? t.slice(0, n - 1) + "…" : t;
}
