#!/usr/bin/env bash
# Browser tests of the weft console: builds weft, starts a real `weft serve`
# with two npm MCP servers (internal/testenv/npm) and two API keys (one with
# every tool, one scoped to the memory server), and runs console.test.mjs in
# headless Debian chromium (playwright-core) with axe-core. Screenshots go to
# $WEFT_UI_ARTIFACTS (default: a temp dir, printed); with WEFT_UI_DOCS_IMG=1
# the page screenshots also refresh docs/img/console-*.png.
# Needs: go, node, npm, /usr/bin/chromium (or $WEFT_TEST_CHROMIUM), and the npm
# peers (npm ci --prefix internal/testenv/npm). Usage: ui/e2e/run.sh
# (WEFT_UI_BIN=path uses that weft binary instead of building one).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
CHROMIUM=${WEFT_TEST_CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "ui/e2e/run.sh: $CHROMIUM is missing (apt-get install chromium)" >&2; exit 1; }
BIN="$ROOT/internal/testenv/npm/node_modules/.bin"
[ -x "$BIN/mcp-server-everything" ] || { echo "ui/e2e/run.sh: npm peers missing: npm ci --prefix internal/testenv/npm" >&2; exit 1; }

E2E=ui/e2e
if ! cmp -s "$E2E/package-lock.json" "$E2E/node_modules/.weft-installed-lock.json"; then
  npm ci --prefix "$E2E" --no-audit --no-fund --loglevel=error
  cp "$E2E/package-lock.json" "$E2E/node_modules/.weft-installed-lock.json"
fi
# The sources type-check (esbuild, which bundles them, does not check types).
"$E2E/node_modules/.bin/tsc" -p ui/tsconfig.json

TMP=$(mktemp -d "${TMPDIR:-/tmp}/weft-ui-e2e.XXXXXX")
WEFT_PID=
MODEL_PID=
cleanup() {
  local rc=$?
  if [ -n "$MODEL_PID" ]; then kill "$MODEL_PID" 2>/dev/null || true; fi
  if [ -n "$WEFT_PID" ]; then
    kill "$WEFT_PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$WEFT_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$WEFT_PID" 2>/dev/null || true
  fi
  if [ "$rc" != 0 ] && [ -f "$TMP/weft.log" ]; then echo "--- weft serve log (last 40 lines)" >&2; tail -40 "$TMP/weft.log" >&2; fi
  # Keep only the screenshots (the test's artefacts), unless asked to keep all.
  [ -n "${WEFT_UI_KEEP:-}" ] || find "$TMP" -mindepth 1 -maxdepth 1 ! -name artifacts -exec rm -rf {} +
  exit "$rc"
}
trap cleanup EXIT

if [ -n "${WEFT_UI_BIN:-}" ]; then cp "$WEFT_UI_BIN" "$TMP/weft"; else go build -o "$TMP/weft" ./cmd/weft; fi
# A scripted OpenAI-compatible model (internal/modeltest) for the Ask page.
go build -o "$TMP/modelstub" ./ui/e2e/modelstub
"$TMP/modelstub" >"$TMP/model.url" 2>"$TMP/modelstub.log" &
MODEL_PID=$!
for _ in $(seq 100); do [ -s "$TMP/model.url" ] && break; sleep 0.1; done
[ -s "$TMP/model.url" ] || { echo "ui/e2e/run.sh: modelstub did not start" >&2; cat "$TMP/modelstub.log" >&2; exit 1; }
MODEL_URL=$(head -1 "$TMP/model.url")
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
ADMIN_KEY=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
NARROW_KEY=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
hash() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
cat > "$TMP/weft.yaml" <<YAML
servers:
  everything:
    command: $BIN/mcp-server-everything
    args: [stdio]
    description: MCP reference server that exercises every protocol feature
  memory:
    command: $BIN/mcp-server-memory
    env:
      MEMORY_FILE_PATH: $TMP/memory.jsonl
gateway:
  api_keys:
    - name: admin
      hash: "sha256:$(hash "$ADMIN_KEY")"
      requests_per_minute: 100000
    - name: narrow
      hash: "sha256:$(hash "$NARROW_KEY")"
      servers: [memory]
      requests_per_minute: 100000
models:
  planner:
    provider: openai-compatible
    model: scripted
    endpoint: $MODEL_URL/v1
cache:
  dir: $TMP/cache
server:
  addr: 127.0.0.1:$PORT
log:
  level: info
YAML
mkdir -p "$TMP/home"
HOME="$TMP/home" WEFT_CONFIG= "$TMP/weft" serve --config "$TMP/weft.yaml" >"$TMP/weft.log" 2>&1 &
WEFT_PID=$!
URL="http://127.0.0.1:$PORT"
ready=
for _ in $(seq 600); do
  if curl -fsS -H "Authorization: Bearer $ADMIN_KEY" "$URL/readyz" 2>/dev/null | grep -q '"memory":{"state":"ready"' &&
     curl -fsS -H "Authorization: Bearer $ADMIN_KEY" "$URL/readyz" 2>/dev/null | grep -q '"everything":{"state":"ready"'; then ready=1; break; fi
  kill -0 "$WEFT_PID" 2>/dev/null || break
  sleep 0.1
done
[ -n "$ready" ] || { echo "ui/e2e/run.sh: weft serve did not become ready with both upstreams within 60 s" >&2; exit 1; }

ART=${WEFT_UI_ARTIFACTS:-$TMP/artifacts}
mkdir -p "$ART"
echo "ui/e2e: screenshots in $ART" >&2
WEFT_URL="$URL" WEFT_ADMIN_KEY="$ADMIN_KEY" WEFT_NARROW_KEY="$NARROW_KEY" WEFT_UI_ARTIFACTS="$ART" \
  WEFT_TEST_CHROMIUM="$CHROMIUM" WEFT_UI_DOCS_DIR="${WEFT_UI_DOCS_IMG:+$ROOT/docs/img}" \
  node --test --test-reporter=spec "$E2E/console.test.mjs"
