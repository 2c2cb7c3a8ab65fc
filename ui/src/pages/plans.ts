// Plans: paste or load a plan, validate it (problems at their step), run
// it and watch the DAG and the Gantt timeline from the run's SSE stream.
import { h, replace, json, errorBox } from "../dom";
import { post, get, stream, ApiError, PlanProblem } from "../api";
import { dag, gantt, stepDeps, Bar } from "../charts";
import { runView, recordBars, Run } from "./runs";

const EXAMPLES: Record<string, unknown> = {
  "parallel sums": {
    version: "1", name: "parallel-sums",
    inputs: { type: "object", properties: { x: { type: "number", default: 2 }, y: { type: "number", default: 3 } } },
    steps: [
      { id: "xy", tool: "everything__get-sum", args: { a: "{{inputs.x}}", b: "{{inputs.y}}" } },
      { id: "xx", tool: "everything__get-sum", args: { a: "{{inputs.x}}", b: "{{inputs.x}}" } },
      { id: "report", tool: "everything__echo", args: { message: "{{steps.xy.result}} and {{steps.xx.result}}" } },
    ],
    outputs: { report: "{{steps.report.result}}" },
  },
  "a failing step": {
    version: "1", name: "failing-step",
    steps: [
      { id: "ok", tool: "everything__echo", args: { message: "first" } },
      { id: "boom", code: "throw new Error('boom: this step fails on purpose')", depends_on: ["ok"] },
      { id: "after", tool: "everything__echo", args: { message: "never" }, depends_on: ["boom"] },
    ],
  },
};

interface Ev { type: string; step?: string; time: string; attempt?: number; status?: string; reason?: string; error?: { code: string; message: string } }

/** stepOf maps a problem path ("steps[1].args.a" or "/steps/1/args") to the step's id. */
function stepOf(path: string, plan: { steps?: { id?: string }[] } | null): string | null {
  const m = /steps(?:\[|\/)(\d+)/.exec(path);
  if (!m || !plan?.steps) return null;
  return plan.steps[Number(m[1])]?.id ?? `#${m[1]}`;
}

export function plansPage(root: HTMLElement, signal: AbortSignal): void {
  const src = h("textarea", { id: "plan-src", rows: 22, spellcheck: "false", class: "editor" });
  src.value = sessionStorage.getItem("weft.plan") ?? json(EXAMPLES["parallel sums"]);
  const pick = h("select", { id: "plan-example" }, h("option", { value: "" }, "Load an example…"), Object.keys(EXAMPLES).map((k) => h("option", { value: k }, k)));
  pick.addEventListener("change", () => { if (pick.value) src.value = json(EXAMPLES[pick.value]); });
  const inputs = h("input", { type: "text", id: "plan-inputs", value: "{}" });
  const problems = h("div", { "aria-live": "polite" });
  const live = h("div", { class: "live" });
  const parse = (): Record<string, unknown> | null => { try { return JSON.parse(src.value); } catch { return null; } };

  const showProblems = (ps: PlanProblem[], valid: boolean) => {
    const doc = parse() as { steps?: { id?: string }[] } | null;
    replace(problems, valid ? h("p", { class: "ok", role: "status" }, "The plan is valid.") :
      h("ul", { class: "problems", role: "alert" }, ps.map((p) => {
        const st = stepOf(p.path, doc);
        return h("li", { "data-path": p.path },
          st ? h("span", { class: "tag" }, "step " + st) : null, " ",
          h("code", null, p.path || "(document)"), p.line ? ` line ${p.line}:${p.column ?? 0}` : "", ` — ${p.message}`, p.code ? ` (${p.code})` : "");
      })));
  };
  const validate = async (): Promise<boolean> => {
    sessionStorage.setItem("weft.plan", src.value);
    try {
      const r = await post<{ valid: boolean; problems: PlanProblem[] }>("/v1/plans/validate", src.value, signal);
      showProblems(r.problems, r.valid);
      return r.valid;
    } catch (err) {
      if (err instanceof ApiError && err.problem.problems) showProblems(err.problem.problems, false);
      else replace(problems, errorBox(err));
      return false;
    }
  };
  const runIt = async () => {
    if (!(await validate())) return;
    const doc = parse()!;
    let inp: unknown = {};
    try { inp = JSON.parse(inputs.value || "{}"); } catch { replace(problems, errorBox(new Error("inputs: not JSON"))); return; }
    let id: string;
    try {
      id = (await post<{ id: string }>("/v1/runs", { plan: doc, inputs: inp }, signal)).id;
    } catch (err) {
      if (err instanceof ApiError && err.problem.problems) showProblems(err.problem.problems, false);
      else replace(problems, errorBox(err));
      return;
    }
    await watchRun(id, doc, live, signal);
  };
  root.append(h("div", { class: "split plans" },
    h("div", null,
      h("div", { class: "row" }, h("label", { for: "plan-example", class: "sr-only" }, "Example plan"), pick),
      h("label", { for: "plan-src" }, "Plan (JSON or YAML)"), src,
      h("div", { class: "row" },
        h("label", { class: "field" }, h("span", null, "Inputs (JSON)"), inputs),
        h("button", { type: "button", id: "plan-validate", onclick: () => void validate() }, "Validate"),
        h("button", { type: "button", id: "plan-run", onclick: () => void runIt() }, "Run")),
      problems),
    live));
}

/** watchRun follows a run's events, redrawing its DAG and timeline, then shows its record. */
export async function watchRun(id: string, doc: Record<string, unknown>, live: HTMLElement, signal: AbortSignal): Promise<void> {
  const steps = (Array.isArray(doc.steps) ? doc.steps : []) as Record<string, unknown>[];
  const ids = new Set(steps.map((st) => String(st.id)));
  const status = new Map<string, string>(steps.map((st) => [String(st.id), "pending"]));
  const detail = new Map<string, string>();
  const bars = new Map<string, Bar>();
  let t0 = NaN, runStatus = "running";
  const head = h("p", { class: "run-status", "aria-live": "polite", "data-run": id, "data-status": runStatus }, `Run ${id}: running`);
  const dagBox = h("div", { class: "dag-box", tabindex: 0, "aria-label": "Plan DAG" });
  const ganttBox = h("div", { class: "gantt-box", tabindex: 0, "aria-label": "Plan timeline" });
  const record = h("div");
  replace(live, head, h("h2", null, "DAG"), dagBox, h("h2", null, "Timeline"), ganttBox, record);
  const draw = () => {
    replace(dagBox, dag(steps.map((st) => ({ id: String(st.id), deps: stepDeps(st, ids), status: status.get(String(st.id)) ?? "pending", detail: detail.get(String(st.id)) }))));
    replace(ganttBox, gantt([...bars.values()], isNaN(t0) ? 0 : Date.now() - t0, "Steps and attempts over time"));
    head.textContent = `Run ${id}: ${runStatus}`;
    head.dataset.status = runStatus;
  };
  draw();
  const top = (p?: string) => (p ?? "").split(/[\[/]/)[0];
  try {
    await stream(`/v1/runs/${encodeURIComponent(id)}/events`, { signal }, ({ data }) => {
      const e = data as Ev;
      const t = Date.parse(e.time);
      if (isNaN(t0)) t0 = t;
      const at = t - t0;
      const sid = top(e.step);
      switch (e.type) {
        case "step_started":
          if (e.step === sid) { status.set(sid, "running"); bars.set(sid, { label: sid, status: "running", start: at, end: NaN, attempts: [] }); }
          break;
        case "step_retry": {
          const b = bars.get(sid);
          b?.attempts?.push({ start: b.attempts.length ? b.attempts[b.attempts.length - 1].end : b.start, end: at, failed: true });
          break;
        }
        case "step_finished":
          if (e.step === sid) {
            const st = e.status ?? "succeeded";
            status.set(sid, st);
            if (e.error) detail.set(sid, `${e.error.code}: ${e.error.message}`);
            else if (e.reason) detail.set(sid, e.reason);
            const b = bars.get(sid) ?? { label: sid, status: st, start: at, end: at };
            b.status = st; b.end = at; bars.set(sid, b);
          }
          break;
        case "run_finished":
          runStatus = e.status ?? "finished";
          break;
      }
      draw();
    });
  } catch (err) {
    record.append(errorBox(err));
  }
  try {
    const run = await get<Run>(`/v1/runs/${encodeURIComponent(id)}`, signal);
    runStatus = run.status;
    for (const st of run.steps ?? []) {
      status.set(st.id, st.status);
      if (st.error) detail.set(st.id, `${st.error.code}: ${st.error.message}`);
    }
    // The record's times are exact, and a run that finished before the
    // stream was opened sends only run_finished: redraw from the record.
    bars.clear();
    for (const b of recordBars(run)) bars.set(b.label, b);
    t0 = Date.parse(run.started);
    draw();
    replace(record, runView(run, false));
  } catch (err) {
    record.append(errorBox(err));
  }
}

