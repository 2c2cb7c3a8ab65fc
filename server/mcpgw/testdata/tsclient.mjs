// tsclient.mjs runs the official MCP TypeScript SDK client against weft and
// prints one JSON line per tool call: what the client returned or threw.
//
//   node tsclient.mjs <sdk dir> http <url>
//   node tsclient.mjs <sdk dir> stdio <command> [args...]
//
// The calls (JSON array) come on stdin: [{"name": ..., "arguments": {...}}].
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [sdkDir, kind, target, ...rest] = process.argv.slice(2);
const load = (p) => import(pathToFileURL(`${sdkDir}/dist/esm/${p}`).href);
const { Client } = await load("client/index.js");
const client = new Client({ name: "weft-ts-test", version: "1" });
let transport;
if (kind === "http") {
  const { StreamableHTTPClientTransport } = await load("client/streamableHttp.js");
  transport = new StreamableHTTPClientTransport(new URL(target));
} else {
  const { StdioClientTransport } = await load("client/stdio.js");
  transport = new StdioClientTransport({ command: target, args: rest, stderr: "inherit" });
}
await client.connect(transport);
await client.listTools(); // the client checks results against these output schemas
const calls = JSON.parse(readFileSync(0, "utf8"));
for (const c of calls) {
  try {
    const res = await client.callTool(c);
    const text = (res.content ?? []).filter((b) => b.type === "text").map((b) => b.text).join("\n");
    console.log(JSON.stringify({ name: c.name, isError: res.isError === true, structured: res.structuredContent !== undefined, text }));
  } catch (e) {
    console.log(JSON.stringify({ name: c.name, thrown: String(e?.message ?? e), code: e?.code }));
  }
}
await client.close();
