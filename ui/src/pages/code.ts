// Code runner: a program with the catalog's typings, run with limits
// through POST /v1/code; its result, console and a timeline of its calls.
import { h, replace, json, pre, field, errorBox, ms } from "../dom";
import { post, allTools, getText, Tool } from "../api";
import { gantt } from "../charts";

interface Call { tool: string; arguments?: unknown; start_ms: number; duration_ms: number; outcome: string; code?: string; error?: string }
interface RunErr { kind: string; message: string; line?: number; column?: number }
interface CodeResult { result: unknown; console: { level: string; text: string }[]; calls: Call[]; error?: RunErr; duration_ms: number }

const SAMPLE = `// tools.<server>.<tool>(args) calls a tool; the typings are beside the editor.
const [a, b] = await Promise.all([
  tools.everything.get_sum({ a: 2, b: 3 }),
  tools.everything.get_sum({ a: 4, b: 5 }),
]);
console.log("sums", a, b);
return { a, b };
`;

export function codePage(root: HTMLElement, signal: AbortSignal): void {
  const code = h("textarea", { id: "code-src", rows: 14, spellcheck: "false", class: "editor" });
  code.value = sessionStorage.getItem("weft.code") ?? SAMPLE;
  const lang = h("select", { id: "code-lang" }, h("option", { value: "ts" }, "TypeScript"), h("option", { value: "js" }, "JavaScript"));
  const timeout = h("input", { type: "number", id: "code-timeout", min: 100, step: 100, value: 10000 });
  const maxCalls = h("input", { type: "number", id: "code-calls", min: 1, value: 50 });
  const memory = h("input", { type: "number", id: "code-memory", min: 8, value: 64 });
  const out = h("div", { class: "results", "aria-live": "polite" });
  const insert = h("select", { id: "code-insert" }, h("option", { value: "" }, "Insert a call…"));
  let byName = new Map<string, Tool>();
  insert.addEventListener("change", () => {
    const t = byName.get(insert.value);
    insert.value = "";
    if (!t) return;
    const snippet = `const r = await callTool(${JSON.stringify(t.name)}, ${skeleton(t.input_schema)});\n`;
    const at = code.selectionStart ?? code.value.length;
    code.setRangeText(snippet, at, code.selectionEnd ?? at, "end");
    code.focus();
  });
  const typings = h("div", { class: "typings" }, h("p", { class: "muted" }, "Loading typings…"));
  const run = async () => {
    sessionStorage.setItem("weft.code", code.value);
    replace(out, h("p", { class: "muted" }, "Running…"));
    try {
      const r = await post<CodeResult>("/v1/code", {
        code: code.value, language: lang.value,
        limits: { timeout_ms: Number(timeout.value), max_calls: Number(maxCalls.value), memory_bytes: Number(memory.value) * 1024 * 1024 },
      }, signal);
      replace(out,
        h("p", { class: r.error ? "error" : "ok", role: r.error ? "alert" : "status", "data-outcome": r.error ? "error" : "ok" },
          r.error ? `${r.error.kind}: ${r.error.message}${r.error.line ? ` (line ${r.error.line}, column ${r.error.column ?? 0})` : ""}` : `Finished in ${ms(r.duration_ms)}`),
        h("h2", null, "Result"), pre(json(r.result), "Result"),
        h("h2", null, "Console"),
        r.console.length ? h("ol", { class: "console" }, r.console.map((l) => h("li", { class: "lvl-" + l.level }, h("span", { class: "tag" }, l.level), " ", l.text))) : h("p", { class: "muted" }, "No console output."),
        h("h2", null, `Tool calls (${r.calls.length})`),
        gantt(r.calls.map((c, i) => ({
          label: `${i + 1}. ${c.tool}`, status: c.outcome === "ok" ? "succeeded" : "failed",
          start: c.start_ms, end: c.start_ms + c.duration_ms,
          title: `${c.tool} ${c.outcome}${c.error ? ": " + c.error : ""} — ${ms(c.duration_ms)}\n${JSON.stringify(c.arguments)}`,
        })), r.duration_ms, "Timeline of the program's tool calls"),
        r.calls.length ? h("table", { class: "calls" },
          h("caption", { class: "sr-only" }, "Tool calls"),
          h("thead", null, h("tr", null, ["Tool", "Arguments", "Outcome", "Start", "Duration"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", null, r.calls.map((c) => h("tr", { "data-call": c.tool },
            h("th", { scope: "row" }, h("code", null, c.tool)), h("td", null, h("code", null, JSON.stringify(c.arguments))),
            h("td", null, c.outcome + (c.error ? ": " + c.error : "")), h("td", { class: "num" }, ms(c.start_ms)), h("td", { class: "num" }, ms(c.duration_ms)))))) : null);
    } catch (err) {
      replace(out, errorBox(err));
    }
  };
  code.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) { e.preventDefault(); void run(); }
  });
  root.append(
    h("div", { class: "split" },
      h("div", null,
        h("label", { for: "code-src" }, "Program (Ctrl+Enter runs it)"), code,
        h("div", { class: "row" }, h("label", { for: "code-insert", class: "sr-only" }, "Insert a call to a tool"), insert, field("Language", lang), field("Timeout (ms)", timeout), field("Max calls", maxCalls), field("Memory (MiB)", memory),
          h("button", { type: "button", id: "code-run", onclick: () => void run() }, "Run"))),
      h("aside", { "aria-label": "Typings" }, h("h2", null, "Typings"), typings)),
    out);
  allTools(signal).then(async (ts) => {
    if (ts.length === 0) { replace(typings, h("p", { class: "muted" }, "No tools visible.")); return; }
    byName = new Map(ts.map((x) => [x.name, x]));
    insert.append(...ts.map((x) => h("option", { value: x.name }, x.name)));
    const names = ts.slice(0, 200).map((t) => t.name).join(",");
    replace(typings, pre(await getText("/v1/typings?tools=" + encodeURIComponent(names), signal), "TypeScript declarations of the tools"));
  }).catch((err) => replace(typings, errorBox(err)));
}

/** skeleton is an arguments object with the schema's required properties set to empty values. */
function skeleton(schema: unknown): string {
  const s = (schema ?? {}) as { properties?: Record<string, { type?: string | string[] }>; required?: string[] };
  const empty: Record<string, string> = { string: '""', number: "0", integer: "0", boolean: "false", array: "[]", object: "{}" };
  const parts = (s.required ?? []).map((k) => {
    const ty = s.properties?.[k]?.type;
    const v = empty[Array.isArray(ty) ? ty[0] : ty ?? ""] ?? "null";
    return `${/^[A-Za-z_$][\w$]*$/.test(k) ? k : JSON.stringify(k)}: ${v}`;
  });
  return parts.length ? `{ ${parts.join(", ")} }` : "{}";
}
