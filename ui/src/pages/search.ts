// Search playground: the same request and answer as GET /v1/search.
import { h, replace, field, errorBox } from "../dom";
import { get } from "../api";

interface Hit { name: string; score: number; matched?: string[]; description?: string; server: string; signature?: string }
interface Answer { query: string; results: Hit[]; catalog_version: string; degraded?: string }

export function searchPage(root: HTMLElement, signal: AbortSignal): void {
  const q = h("input", { type: "search", id: "search-q", required: true, placeholder: "e.g. add two numbers" });
  const k = h("input", { type: "number", id: "search-k", min: 1, max: 100, value: 10 });
  const server = h("input", { type: "text", id: "search-server", placeholder: "a,b" });
  const ro = h("input", { type: "checkbox", id: "search-ro" });
  const out = h("div", { class: "results", "aria-live": "polite" });
  const form = h("form", {
    class: "row", onsubmit: async (e: Event) => {
      e.preventDefault();
      const p = new URLSearchParams({ q: q.value, k: k.value });
      if (server.value.trim()) p.set("server", server.value.trim());
      if (ro.checked) p.set("read_only", "true");
      replace(out, h("p", { class: "muted" }, "Searching…"));
      try {
        const a = await get<Answer>("/v1/search?" + p.toString(), signal);
        replace(out,
          a.degraded ? h("p", { class: "warn" }, a.degraded) : null,
          h("p", { class: "muted" }, `${a.results.length} results · catalog ${a.catalog_version} · GET /v1/search?${p.toString()}`),
          h("table", { class: "hits" },
            h("caption", { class: "sr-only" }, "Ranked tools"),
            h("thead", null, h("tr", null, ["#", "Tool", "Score", "Matched fields", "Description"].map((c) => h("th", { scope: "col" }, c)))),
            h("tbody", null, a.results.map((r, i) => h("tr", { "data-tool": r.name },
              h("td", null, i + 1),
              h("th", { scope: "row" }, h("code", null, r.name)),
              h("td", { class: "num" }, r.score.toFixed(3)),
              h("td", null, (r.matched ?? []).map((m) => h("span", { class: "tag" }, m))),
              h("td", null, r.description?.split("\n")[0] ?? ""))))));
      } catch (err) {
        replace(out, errorBox(err));
      }
    },
  },
  field("Query", q), field("Results (k)", k), field("Servers", server),
  h("label", { class: "check" }, ro, " read-only tools only"),
  h("button", { type: "submit" }, "Search"));
  root.append(form, out);
}
