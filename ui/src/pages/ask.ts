// Ask: a request in natural language answered by the configured model
// (POST /v1/ask as server-sent events): candidates, model calls with their
// tokens, the plan (as a DAG coloured by its steps' progress) or the
// agent's tool calls, and the answer.
import { h, replace, json, pre, field, errorBox } from "../dom";
import { stream, ApiError } from "../api";
import { dag, stepDeps } from "../charts";
import { runView, Run } from "./runs";

interface Usage { prompt_tokens?: number; cached_tokens?: number; completion_tokens?: number }
interface AskEvent {
  type: string; model?: string; purpose?: string; usage?: Usage; tools?: string[]; all?: boolean; tool?: string; arguments?: unknown;
  answer?: string; error?: string; plan?: { steps?: Record<string, unknown>[] }; problems?: { path: string; message: string }[];
  step?: { type: string; step?: string; status?: string };
}
interface AskResult { answer: string; strategy: string; usage: Usage; turns: number; run?: Run; repairs?: number }

const noModel = () => h("p", { class: "warn", role: "alert", "data-code": "no_model" }, "No model is configured on this server (models: in weft.yaml); see docs/ask.md.");

export function askPage(root: HTMLElement, signal: AbortSignal): void {
  const req = h("textarea", { id: "ask-request", rows: 3, placeholder: "e.g. what is 2 plus 3?" });
  const strategy = h("select", { id: "ask-strategy" }, h("option", { value: "plan" }, "plan"), h("option", { value: "agent" }, "agent"));
  const events = h("ol", { class: "events" });
  const planBox = h("div");
  const answer = h("div", { "aria-live": "polite" });
  const out = h("div");
  const tokenLine = h("p", { class: "muted", id: "ask-tokens" });
  const go = async () => {
    replace(events); replace(planBox); replace(answer); replace(out, h("p", { class: "muted" }, "Asking…"));
    let prompt = 0, completion = 0, streamed = "";
    let steps: Record<string, unknown>[] = [];
    const status = new Map<string, string>();
    const drawPlan = () => {
      const ids = new Set(steps.map((st) => String(st.id)));
      replace(planBox, h("h2", null, "Plan"), h("div", { class: "dag-box", tabindex: 0, "aria-label": "The model's plan" },
        dag(steps.map((st) => ({ id: String(st.id), deps: stepDeps(st, ids), status: status.get(String(st.id)) ?? "pending" })))));
    };
    try {
      await stream("/v1/ask", { method: "POST", body: JSON.stringify({ request: req.value, strategy: strategy.value }), signal }, ({ event, data }) => {
        const e = data as AskEvent & Record<string, unknown>;
        switch (event) {
          case "result": {
            const r = data as AskResult;
            replace(answer, h("h2", null, "Answer"), h("p", { class: "answer", "data-answer": "" }, r.answer));
            tokenLine.textContent = `${r.usage.prompt_tokens ?? 0} prompt (${r.usage.cached_tokens ?? 0} cached) + ${r.usage.completion_tokens ?? 0} completion tokens · ${r.turns} model turns · strategy ${r.strategy}${r.repairs ? ` · ${r.repairs} repairs` : ""}`;
            replace(out, r.run ? [h("h2", null, "Run"), runView(r.run, false)] : null,
              h("details", null, h("summary", null, "Whole result (JSON)"), pre(json(r), "Whole result")));
            return;
          }
          case "error":
            replace(out, e.code === "no_model" ? noModel() : h("p", { class: "error", role: "alert", "data-code": String(e.code ?? "") }, `${e.code}: ${e.detail}`));
            return;
          case "answer_delta":
            streamed += e.answer ?? "";
            replace(answer, h("h2", null, "Answer"), h("p", { class: "answer" }, streamed));
            return;
          case "plan":
            steps = e.plan?.steps ?? [];
            drawPlan();
            break;
          case "step":
            if (e.step?.step && !e.step.step.includes("[") && !e.step.step.includes("/")) {
              if (e.step.type === "step_started") status.set(e.step.step, "running");
              if (e.step.type === "step_finished") status.set(e.step.step, e.step.status ?? "succeeded");
              drawPlan();
            }
            break;
        }
        if (e.usage) {
          prompt += e.usage.prompt_tokens ?? 0; completion += e.usage.completion_tokens ?? 0;
          tokenLine.textContent = `${prompt} prompt + ${completion} completion tokens so far`;
        }
        events.append(h("li", { "data-event": event }, h("span", { class: "tag" }, event),
          e.model ? ` ${e.model}` : "", e.purpose ? ` (${e.purpose})` : "",
          e.usage ? ` · ${e.usage.prompt_tokens ?? 0} prompt + ${e.usage.completion_tokens ?? 0} completion tokens` : "",
          e.tools ? ` · ${e.all ? "all " : ""}${e.tools.length} candidate tools` : "",
          e.problems?.length ? ` · ${e.problems.length} problems: ${e.problems.map((p) => p.message).join("; ")}` : "",
          e.tool ? ` · ${e.tool} ${JSON.stringify(e.arguments ?? {})}` : "",
          e.step ? ` · ${e.step.type} ${e.step.step ?? ""} ${e.step.status ?? ""}` : "",
          e.error ? ` · ${e.error}` : ""));
      });
      if (out.textContent === "Asking…") replace(out);
    } catch (err) {
      replace(out, err instanceof ApiError && err.problem.code === "no_model" ? noModel() : errorBox(err));
    }
  };
  root.append(
    h("form", { id: "ask-form", onsubmit: (e: Event) => { e.preventDefault(); void go(); } },
      h("label", { for: "ask-request" }, "Request"), req,
      h("div", { class: "row" }, field("Strategy", strategy), h("button", { type: "submit" }, "Ask"))),
    tokenLine, answer, planBox, h("h2", null, "Progress"), events, out);
}
