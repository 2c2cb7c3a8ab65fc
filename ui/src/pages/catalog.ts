// Catalog: upstreams with their state, and every tool the key may see.
import { h, replace, json, pre, field, errorBox, ms } from "../dom";
import { get, allTools, Tool, ToolHealth, ApiError } from "../api";

interface Upstream { state: string; reason?: string; since?: string; restarts?: number; pid?: number }
interface Ready { ready: boolean; reason?: string; tools?: number; catalog_version?: string; upstreams?: Record<string, Upstream> }

export async function readiness(signal: AbortSignal): Promise<Ready> {
  const res = await fetch("/readyz", { headers: authHeaders(), signal });
  return res.json();
}

function authHeaders(): HeadersInit {
  const k = sessionStorage.getItem("weft.key");
  return k ? { Authorization: "Bearer " + k } : {};
}

export function upstreamTable(rd: Ready): HTMLElement {
  const ups = Object.entries(rd.upstreams ?? {}).sort(([a], [b]) => a.localeCompare(b));
  if (ups.length === 0) return h("p", { class: "muted" }, rd.reason ? `Not ready: ${rd.reason}` : "No upstream visible with this key.");
  return h("table", { class: "upstreams" },
    h("caption", null, `Upstreams (${rd.ready ? "ready" : "not ready"})`),
    h("thead", null, h("tr", null, ["Server", "State", "Restarts", "Since", "PID", "Reason"].map((c) => h("th", { scope: "col" }, c)))),
    h("tbody", null, ups.map(([name, u]) => h("tr", { "data-server": name },
      h("th", { scope: "row" }, name),
      h("td", null, h("span", { class: "badge st-" + u.state }, u.state)),
      h("td", null, u.restarts ?? 0),
      h("td", null, u.since ? new Date(u.since).toLocaleTimeString() : ""),
      h("td", null, u.pid ?? ""),
      h("td", { class: "reason" }, u.reason ?? "")))));
}

/** healthBadge shows a health score (0..1) as a labelled badge. */
export function healthBadge(hl?: ToolHealth): HTMLElement | null {
  if (!hl) return null;
  const cls = hl.down ? "st-failed" : hl.score >= 0.9 ? "st-succeeded" : hl.score >= 0.6 ? "st-canceled" : "st-failed";
  return h("span", { class: "badge " + cls, title: "health score" }, hl.down ? "down" : `health ${hl.score.toFixed(2)}`);
}

function healthFacts(hl?: ToolHealth): string {
  if (!hl) return "unknown";
  return `score ${hl.score.toFixed(2)} (success ${(hl.success * 100).toFixed(0)}% × latency ${hl.latency.toFixed(2)} × rating ${hl.rating.toFixed(2)}) · ` +
    `${hl.calls} calls, ${hl.failures} failed · mean ${ms(hl.mean_latency_ms)}` + (hl.ratings ? ` · ${hl.ratings} ratings, mean ${hl.rating_mean?.toFixed(1)}` : "") + (hl.down ? " · upstream down" : "");
}

function toolDetails(t: Tool): HTMLDetailsElement {
  const body = h("div", { class: "tool-body" });
  const d = h("details", { class: "tool", "data-tool": t.name },
    h("summary", null, h("code", null, t.name), " ", healthBadge(t.health), " ", h("span", { class: "muted" }, t.description?.split("\n")[0] ?? "")),
    body);
  let loaded = false;
  d.addEventListener("toggle", async () => {
    if (!d.open || loaded) return;
    loaded = true;
    replace(body, h("p", { class: "muted" }, "Loading…"));
    try {
      const full = await get<Tool>("/v1/tools/" + encodeURIComponent(t.name));
      const ann = full.annotations ?? {};
      replace(body,
        h("p", null, full.description ?? ""),
        h("dl", { class: "facts" },
          h("dt", null, "Server"), h("dd", null, full.server),
          h("dt", null, "Upstream name"), h("dd", null, full.original ?? ""),
          h("dt", null, "Health"), h("dd", { class: "health-facts" }, healthFacts(full.health)),
          h("dt", null, "Annotations"), h("dd", null, Object.keys(ann).length ? Object.entries(ann).map(([k, v]) => h("span", { class: "tag" }, `${k}: ${JSON.stringify(v)}`)) : "none"),
          full.tags?.length ? [h("dt", null, "Tags"), h("dd", null, full.tags.join(", "))] : null),
        h("h3", null, "TypeScript signature"), pre(full.signature ?? "", "TypeScript signature of " + t.name),
        h("h3", null, "Input schema"), pre(json(full.input_schema ?? {}), "Input schema of " + t.name),
        full.output_schema ? [h("h3", null, "Output schema"), pre(json(full.output_schema), "Output schema of " + t.name)] : null);
    } catch (err) {
      replace(body, errorBox(err));
    }
  });
  return d;
}

export async function catalogPage(root: HTMLElement, signal: AbortSignal): Promise<void> {
  const ups = h("div", { class: "card" }, h("p", { class: "muted" }, "Loading upstreams…"));
  const filter = h("input", { type: "search", id: "tool-filter", placeholder: "name, server or words of the description" });
  const count = h("p", { class: "muted", "aria-live": "polite" });
  const list = h("div", { class: "tools" });
  root.append(ups, h("h2", null, "Tools"), field("Filter", filter), count, list);
  readiness(signal).then((rd) => replace(ups, upstreamTable(rd))).catch((err) => replace(ups, errorBox(err)));
  let tools: Tool[];
  try {
    tools = await allTools(signal);
  } catch (err) {
    replace(list, errorBox(err instanceof ApiError && err.status === 401 ? new Error("This page needs an API key: type it above.") : err));
    return;
  }
  const show = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = tools.filter((t) => !q || [t.name, t.server, t.title ?? "", t.description ?? ""].some((x) => x.toLowerCase().includes(q)));
    count.textContent = `${shown.length} of ${tools.length} tools`;
    replace(list, shown.map(toolDetails));
  };
  filter.addEventListener("input", show);
  show();
}
