// The REST client: every request carries the API key typed once and kept
// in sessionStorage; errors are the API's problem documents.

const KEY = "weft.key";

export function getKey(): string {
  return sessionStorage.getItem(KEY) ?? "";
}

export function setKey(k: string): void {
  if (k) sessionStorage.setItem(KEY, k);
  else sessionStorage.removeItem(KEY);
}

/** Problem is an RFC 9457 problem document from the API. */
export interface Problem {
  status: number;
  code?: string;
  detail?: string;
  title?: string;
  problems?: PlanProblem[];
  [k: string]: unknown;
}

export interface PlanProblem {
  path: string;
  line?: number;
  column?: number;
  code?: string;
  message: string;
}

/** ApiError is a failed request. */
export class ApiError extends Error {
  constructor(public status: number, public problem: Problem) {
    super(`${status} ${problem.code ?? problem.title ?? ""}: ${problem.detail ?? ""}`.trim());
  }
}

function headers(extra?: HeadersInit): Headers {
  const hs = new Headers(extra);
  const k = getKey();
  if (k) hs.set("Authorization", "Bearer " + k);
  return hs;
}

async function fail(res: Response): Promise<never> {
  let p: Problem = { status: res.status };
  try {
    p = await res.json();
  } catch {
    p.detail = res.statusText;
  }
  throw new ApiError(res.status, p);
}

/** get fetches JSON. */
export async function get<T>(path: string, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, { headers: headers({ Accept: "application/json" }), signal });
  if (!res.ok) return fail(res);
  return res.json();
}

/** getText fetches text. */
export async function getText(path: string, signal?: AbortSignal): Promise<string> {
  const res = await fetch(path, { headers: headers(), signal });
  if (!res.ok) return fail(res);
  return res.text();
}

/** post sends JSON and returns JSON; okStatuses beyond 2xx are returned, not thrown. */
export async function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(path, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json", Accept: "application/json" }),
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal,
  });
  if (!res.ok) return fail(res);
  return res.json();
}

/** SSEvent is one server-sent event. */
export interface SSEvent {
  event: string;
  data: unknown;
}

/**
 * stream reads server-sent events with fetch (EventSource cannot send the
 * Authorization header), calling onEvent for each until the stream ends.
 */
export async function stream(path: string, init: { method?: string; body?: string; signal?: AbortSignal }, onEvent: (e: SSEvent) => void): Promise<void> {
  const res = await fetch(path, {
    method: init.method ?? "GET",
    headers: headers({ Accept: "text/event-stream", ...(init.body ? { "Content-Type": "application/json" } : {}) }),
    body: init.body,
    signal: init.signal,
  });
  if (!res.ok) return fail(res);
  if (!res.body) throw new Error("the response has no body to stream");
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += value;
    let i: number;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
      }
      if (data.length === 0) continue;
      let parsed: unknown = data.join("\n");
      try {
        parsed = JSON.parse(parsed as string);
      } catch {
        /* keep the text */
      }
      onEvent({ event, data: parsed });
    }
  }
}

/** Tool is a catalog entry as /v1/tools returns it. */
export interface Tool {
  name: string;
  original?: string;
  server: string;
  server_description?: string;
  title?: string;
  description?: string;
  input_schema?: unknown;
  output_schema?: unknown;
  annotations?: Record<string, unknown>;
  tags?: string[];
  signature?: string;
  health?: ToolHealth;
}

/** ToolHealth is a tool's health score (docs/operations.md, "Health scores"). */
export interface ToolHealth {
  score: number;
  success: number;
  latency: number;
  rating: number;
  calls: number;
  failures: number;
  mean_latency_ms: number;
  ratings?: number;
  rating_mean?: number;
  down?: boolean;
}

/** allTools pages through /v1/tools. */
export async function allTools(signal?: AbortSignal): Promise<Tool[]> {
  const out: Tool[] = [];
  let cursor = "";
  for (let i = 0; i < 100; i++) {
    const page = await get<{ tools: Tool[]; next_cursor?: string }>(
      "/v1/tools?limit=1000" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""), signal);
    out.push(...page.tools);
    if (!page.next_cursor) break;
    cursor = page.next_cursor;
  }
  return out;
}
