// Ask: a request in natural language answered by the configured model
// (POST /v1/ask as server-sent events): the plan or agent turns, tokens.
import { h, replace, json, pre, field, errorBox } from "../dom";
import { stream, ApiError } from "../api";

interface Usage { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number; [k: string]: unknown }
interface AskEvent { type: string; model?: string; purpose?: string; usage?: Usage; tools?: string[]; tool?: string; arguments?: unknown; answer?: string; error?: string; plan?: unknown; step?: { type: string; step?: string; status?: string } }

export function askPage(root: HTMLElement, signal: AbortSignal): void {
  const req = h("textarea", { id: "ask-request", rows: 4, placeholder: "e.g. add 2 and 3, then echo the sum" });
  const strategy = h("select", { id: "ask-strategy" }, h("option", { value: "plan" }, "plan"), h("option", { value: "agent" }, "agent"));
  const events = h("ol", { class: "events" });
  const out = h("div", { "aria-live": "polite" });
  let tokens = 0;
  const tokenLine = h("p", { class: "muted" });
  const go = async () => {
    replace(events); replace(out, h("p", { class: "muted" }, "Asking…")); tokens = 0; tokenLine.textContent = "";
    try {
      await stream("/v1/ask", { method: "POST", body: JSON.stringify({ request: req.value, strategy: strategy.value }), signal }, ({ event, data }) => {
        const e = data as AskEvent & Record<string, unknown>;
        if (event === "result") {
          replace(out, h("h2", null, "Answer"), pre(typeof e.answer === "string" ? e.answer : json(e), "Answer"), h("details", null, h("summary", null, "Whole result"), pre(json(e), "Whole result")));
          return;
        }
        if (event === "error") {
          replace(out, e.code === "no_model"
            ? h("p", { class: "warn", role: "alert", "data-code": "no_model" }, "No model is configured on this server (models: in weft.yaml); see docs/ask.md.")
            : h("p", { class: "error", role: "alert", "data-code": String(e.code ?? "") }, `${e.code}: ${e.detail}`));
          return;
        }
        if (e.usage?.total_tokens) { tokens += e.usage.total_tokens; tokenLine.textContent = `${tokens} tokens so far`; }
        events.append(h("li", null, h("span", { class: "tag" }, event),
          e.model ? ` ${e.model}` : "", e.purpose ? ` (${e.purpose})` : "",
          e.usage ? ` · ${e.usage.prompt_tokens ?? 0} prompt + ${e.usage.completion_tokens ?? 0} completion tokens` : "",
          e.tools ? ` · ${e.tools.length} candidate tools` : "",
          e.tool ? ` · ${e.tool} ${JSON.stringify(e.arguments ?? {})}` : "",
          e.step ? ` · ${e.step.type} ${e.step.step ?? ""} ${e.step.status ?? ""}` : "",
          e.error ? ` · ${e.error}` : ""));
      });
    } catch (err) {
      replace(out, err instanceof ApiError && err.problem.code === "no_model"
        ? h("p", { class: "warn", role: "alert", "data-code": "no_model" }, "No model is configured on this server (models: in weft.yaml); see docs/ask.md.")
        : errorBox(err));
    }
  };
  root.append(
    h("form", { id: "ask-form", onsubmit: (e: Event) => { e.preventDefault(); void go(); } },
      h("label", { for: "ask-request" }, "Request"), req,
      h("div", { class: "row" }, field("Strategy", strategy), h("button", { type: "submit" }, "Ask"))),
    tokenLine, h("h2", null, "Progress"), events, out);
}
