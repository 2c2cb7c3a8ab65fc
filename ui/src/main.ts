// The console's shell: the API key form, navigation and a hash router.
import "./style.css";
import { h, replace } from "./dom";
import { getKey, setKey } from "./api";
import { catalogPage } from "./pages/catalog";
import { searchPage } from "./pages/search";
import { codePage } from "./pages/code";
import { plansPage } from "./pages/plans";
import { runsPage } from "./pages/runs";
import { healthPage } from "./pages/health";
import { askPage } from "./pages/ask";

/** A page renders into root; it stops its work when signal aborts. */
export type Page = (root: HTMLElement, signal: AbortSignal, arg: string) => void | Promise<void>;

const pages: { path: string; title: string; page: Page }[] = [
  { path: "catalog", title: "Catalog", page: catalogPage },
  { path: "search", title: "Search", page: searchPage },
  { path: "code", title: "Code", page: codePage },
  { path: "plans", title: "Plans", page: plansPage },
  { path: "runs", title: "Runs", page: runsPage },
  { path: "health", title: "Health", page: healthPage },
  { path: "ask", title: "Ask", page: askPage },
];

function keyForm(): HTMLElement {
  const input = h("input", { type: "password", id: "api-key", autocomplete: "off", placeholder: "API key", value: getKey() });
  const state = h("span", { class: "key-state", "aria-live": "polite" }, getKey() ? "key set" : "no key");
  const form = h("form", {
    class: "key", onsubmit: (e: Event) => {
      e.preventDefault();
      setKey(input.value.trim());
      state.textContent = getKey() ? "key set" : "no key";
      route();
    },
  },
  h("label", { for: "api-key", class: "sr-only" }, "API key"),
  input,
  h("button", { type: "submit" }, "Use key"),
  h("button", { type: "button", onclick: () => { input.value = ""; setKey(""); state.textContent = "no key"; route(); } }, "Forget"),
  state);
  return form;
}

const nav = h("nav", { "aria-label": "Console pages" },
  h("ul", null, pages.map((p) => h("li", null, h("a", { href: "#/" + p.path, "data-page": p.path }, p.title)))));
const main = h("main", { id: "main", tabindex: -1 });
let current: AbortController | null = null;

function route(): void {
  const [, name = "catalog", ...rest] = location.hash.replace(/^#/, "").split("/");
  const p = pages.find((x) => x.path === name) ?? pages[0];
  for (const a of nav.querySelectorAll("a")) {
    if (a.dataset.page === p.path) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  current?.abort();
  current = new AbortController();
  document.title = p.title + " · weft console";
  const root = h("section", { class: "page", "aria-labelledby": "page-title" }, h("h1", { id: "page-title" }, p.title));
  replace(main, root);
  void Promise.resolve(p.page(root, current.signal, decodeURIComponent(rest.join("/")))).catch((err) => {
    if (!(err instanceof DOMException && err.name === "AbortError")) root.append(h("p", { class: "error", role: "alert" }, String(err?.message ?? err)));
  });
}

replace(document.getElementById("app")!,
  h("header", null, h("a", { class: "brand", href: "#/catalog" }, "weft"), nav, keyForm()),
  main);
window.addEventListener("hashchange", route);
route();
