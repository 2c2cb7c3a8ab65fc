// Runs: the run history (status, duration, filters); one run's DAG,
// timeline, step results and errors; cancel a running run.
import { h, replace, json, pre, field, errorBox, ms } from "../dom";
import { get, post } from "../api";
import { dag, gantt, stepDeps, Bar } from "../charts";
import { watchRun } from "./plans";

interface StepErr { code: string; message: string }
interface StepRec { id: string; kind?: string; tool?: string; status: string; reason?: string; result?: unknown; error?: StepErr; started?: string; finished?: string; attempts?: { number: number; started: string; finished: string; error?: StepErr }[] }
/** Run is a run record as GET /v1/runs/{id} returns it. */
export interface Run { id: string; name?: string; status: string; plan?: Record<string, unknown>; started: string; finished?: string; steps: StepRec[]; outputs?: Record<string, unknown>; error?: string }
interface Summary { id: string; name?: string; status: string; started: string; finished?: string; steps: number; failed: number; error?: string }

const STATUSES = ["running", "succeeded", "failed", "canceled", "interrupted"];

function duration(a: string, b?: string): number {
  return b ? Date.parse(b) - Date.parse(a) : NaN;
}

/** runView renders a finished (or running) run's record. */
/** recordBars is a run record's timeline: one bar per step that started, with its attempts. */
export function recordBars(run: Run): Bar[] {
  const t0 = Date.parse(run.started);
  return run.steps.filter((st) => st.started).map((st) => ({
    label: st.id, status: st.status, start: Date.parse(st.started!) - t0,
    end: st.finished ? Date.parse(st.finished) - t0 : NaN,
    attempts: (st.attempts ?? []).map((a) => ({ start: Date.parse(a.started) - t0, end: Date.parse(a.finished) - t0, failed: !!a.error })),
  }));
}

export function runView(run: Run, withDag: boolean): HTMLElement {
  const t0 = Date.parse(run.started);
  const bars = recordBars(run);
  const steps = (Array.isArray(run.plan?.steps) ? run.plan!.steps : []) as Record<string, unknown>[];
  const ids = new Set(steps.map((st) => String(st.id)));
  const rec = new Map(run.steps.map((st) => [st.id, st]));
  return h("div", { class: "run", "data-run": run.id, "data-status": run.status },
    h("p", null, h("span", { class: "badge st-" + run.status }, run.status), ` ${run.name ?? ""} · started ${new Date(run.started).toLocaleString()} · ${ms(duration(run.started, run.finished))}`),
    run.error ? h("p", { class: "error" }, run.error) : null,
    withDag && steps.length ? [h("h2", null, "DAG"), h("div", { class: "dag-box", tabindex: 0, "aria-label": "Plan DAG" },
      dag(steps.map((st) => ({ id: String(st.id), deps: stepDeps(st, ids), status: rec.get(String(st.id))?.status ?? "pending" }))))] : null,
    withDag ? [h("h2", null, "Timeline"), h("div", { class: "gantt-box", tabindex: 0, "aria-label": "Run timeline" }, gantt(bars, Date.now() - t0, "Steps and attempts over time"))] : null,
    h("h2", null, "Steps"),
    h("table", { class: "steps" },
      h("caption", { class: "sr-only" }, "Steps of the run"),
      h("thead", null, h("tr", null, ["Step", "Runs", "Status", "Duration", "Attempts", "Result or error"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, run.steps.map((st) => h("tr", { "data-step": st.id, "data-status": st.status },
        h("th", { scope: "row" }, st.id),
        h("td", null, h("code", null, st.tool ?? st.kind ?? "")),
        h("td", null, h("span", { class: "badge st-" + st.status }, st.status)),
        h("td", { class: "num" }, st.started ? ms(duration(st.started, st.finished)) : ""),
        h("td", { class: "num" }, st.attempts?.length ?? 0),
        h("td", { class: st.error ? "step-error" : "" },
          st.error ? `${st.error.code}: ${st.error.message}` : st.reason ? st.reason : h("code", null, JSON.stringify(st.result) ?? "")))))),
    run.outputs ? [h("h2", null, "Outputs"), pre(json(run.outputs), "Outputs of the run")] : null);
}

async function openRun(root: HTMLElement, id: string, signal: AbortSignal): Promise<void> {
  const box = h("div");
  root.append(h("p", null, h("a", { href: "#/runs" }, "← all runs")), box);
  const run = await get<Run>(`/v1/runs/${encodeURIComponent(id)}`, signal);
  if (run.status === "running") {
    const cancel = h("button", {
      type: "button", id: "run-cancel", onclick: async () => {
        try { await post(`/v1/runs/${encodeURIComponent(id)}/cancel`, {}, signal); cancel.disabled = true; } catch (err) { box.prepend(errorBox(err)); }
      },
    }, "Cancel run");
    const live = h("div");
    replace(box, cancel, live);
    await watchRun(id, run.plan ?? {}, live, signal);
    cancel.disabled = true;
    return;
  }
  replace(box, runView(run, true));
}

export async function runsPage(root: HTMLElement, signal: AbortSignal, arg: string): Promise<void> {
  if (arg) return openRun(root, arg, signal);
  const status = h("select", { id: "runs-status" }, h("option", { value: "" }, "any"), STATUSES.map((st) => h("option", { value: st }, st)));
  const text = h("input", { type: "search", id: "runs-filter", placeholder: "id or name" });
  const out = h("div", { "aria-live": "polite" });
  let runs: Summary[] = [];
  const show = () => {
    const q = text.value.trim().toLowerCase();
    const shown = runs.filter((r) => !q || r.id.toLowerCase().includes(q) || (r.name ?? "").toLowerCase().includes(q));
    replace(out, shown.length === 0 ? h("p", { class: "muted" }, "No runs.") : h("table", { class: "runs" },
      h("caption", { class: "sr-only" }, "Runs, newest first"),
      h("thead", null, h("tr", null, ["Run", "Plan", "Status", "Started", "Duration", "Steps", "Failed", "Error"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", null, shown.map((r) => h("tr", { "data-run": r.id, "data-status": r.status },
        h("th", { scope: "row" }, h("a", { href: "#/runs/" + encodeURIComponent(r.id) }, r.id)),
        h("td", null, r.name ?? ""),
        h("td", null, h("span", { class: "badge st-" + r.status }, r.status)),
        h("td", null, new Date(r.started).toLocaleString()),
        h("td", { class: "num" }, ms(duration(r.started, r.finished))),
        h("td", { class: "num" }, r.steps), h("td", { class: "num" }, r.failed),
        h("td", { class: "reason" }, r.error ?? ""))))));
  };
  const load = async () => {
    try {
      runs = (await get<{ runs: Summary[] }>("/v1/runs?limit=200" + (status.value ? "&status=" + status.value : ""), signal)).runs;
      show();
    } catch (err) {
      replace(out, errorBox(err));
    }
  };
  status.addEventListener("change", () => void load());
  text.addEventListener("input", show);
  root.append(h("div", { class: "row" }, field("Status", status), field("Filter", text),
    h("button", { type: "button", onclick: () => void load() }, "Refresh")), out);
  await load();
}
