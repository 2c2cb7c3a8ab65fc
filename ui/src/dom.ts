// Tiny DOM helpers: build elements without innerHTML (nothing from the
// server is ever parsed as markup) and without inline styles (the CSP
// forbids them; layout is in style.css, geometry in SVG attributes).

export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;

function append(parent: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(parent, c);
    else if (c instanceof Node) parent.appendChild(c);
    else parent.appendChild(document.createTextNode(String(c)));
  }
}

function setAttrs(el: Element, attrs: Attrs | null | undefined): void {
  if (!attrs) return;
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === "style") throw new Error("dom: inline styles are forbidden by the CSP");
    else el.setAttribute(k, v === true ? "" : String(v));
  }
}

/** h builds an HTML element. Attributes named on* are event listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** s builds an SVG element. */
export function s(tag: string, attrs?: Attrs | null, ...children: Child[]): SVGElement {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** replace empties el and appends children. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** json renders a value as indented JSON. */
export function json(v: unknown): string {
  return v === undefined ? "" : JSON.stringify(v, null, 2);
}

/** pre is a preformatted, focusable (scrollable regions must be) block. */
export function pre(text: string, label: string): HTMLPreElement {
  return h("pre", { tabindex: 0, "aria-label": label }, text);
}

/** ms formats milliseconds. */
export function ms(v: number): string {
  if (!isFinite(v)) return "";
  if (v === 0) return "0 ms";
  if (v < 1) return v.toFixed(2) + " ms";
  if (v < 1000) return Math.round(v) + " ms";
  return (v / 1000).toFixed(v < 10000 ? 2 : 1) + " s";
}

/** field wraps a control in a label. */
export function field(label: string, control: HTMLElement): HTMLLabelElement {
  return h("label", { class: "field" }, h("span", null, label), control);
}

/** errorBox renders an error for the user. */
export function errorBox(err: unknown): HTMLElement {
  const msg = err instanceof Error ? err.message : String(err);
  return h("p", { class: "error", role: "alert" }, msg);
}
