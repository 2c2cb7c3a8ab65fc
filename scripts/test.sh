#!/usr/bin/env bash
# Runs weft's whole test suite on a fresh machine: installs the real peers the
# tests use (pinned npm MCP servers, redis-server), starts what must run, runs
# go vet and every test, and stops what it started. Usage: scripts/test.sh [go test flags]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '\n== %s\n' "$*" >&2; }

need() {
  command -v "$1" >/dev/null 2>&1 || { echo "scripts/test.sh: $1 is required but not installed ($2)" >&2; exit 1; }
}
need go "Go 1.26: https://go.dev/dl"
need node "Node.js 20+"
need npm "Node.js 20+"

say "npm peers (pinned in internal/testenv/npm/package-lock.json)"
# npm ci installs exactly the lockfile and never writes it (npm install may
# rewrite it, dirtying the work tree); it fails if package.json and the lockfile
# disagree. A stamp of the lockfile installed skips the reinstall on later runs.
# Packages already in npm's cache are not fetched again (--prefer-offline);
# a registry fetch that hangs is given up after 2 minutes and retried, and a
# whole install that hangs (seen: npm waiting 20 minutes on open sockets) is
# killed after 10 and run again, at most three times.
npm_ci() {
  local try
  for try in 1 2 3; do
    if timeout 600 npm ci --prefix "$1" --prefer-offline --fetch-timeout=120000 --fetch-retries=4 \
        --no-audit --no-fund --loglevel=error; then
      return 0
    fi
    echo "scripts/test.sh: npm ci --prefix $1 failed or hung (attempt $try of 3)" >&2
  done
  return 1
}
NPM_DIR=internal/testenv/npm
if ! cmp -s "$NPM_DIR/package-lock.json" "$NPM_DIR/node_modules/.weft-installed-lock.json"; then
  npm_ci "$NPM_DIR"
  cp "$NPM_DIR/package-lock.json" "$NPM_DIR/node_modules/.weft-installed-lock.json"
fi
# The console's browser-test tools (playwright-core, axe-core, typescript), likewise.
if ! cmp -s ui/e2e/package-lock.json ui/e2e/node_modules/.weft-installed-lock.json; then
  npm_ci ui/e2e
  cp ui/e2e/package-lock.json ui/e2e/node_modules/.weft-installed-lock.json
fi

say "redis-server"
if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "scripts/test.sh: redis-server is required (apt-get install redis-server)" >&2; exit 1
  fi
fi
say "chromium (the console's browser tests, ui/e2e)"
if [ ! -x "${WEFT_TEST_CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "scripts/test.sh: chromium is required (apt-get install chromium)" >&2; exit 1
  fi
fi
export WEFT_TEST_CHROMIUM="${WEFT_TEST_CHROMIUM:-/usr/bin/chromium}"

RUNDIR=$(mktemp -d "${TMPDIR:-/tmp}/weft-test.XXXXXX")
REDIS_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
  --pidfile "$RUNDIR/redis.pid" --logfile "$RUNDIR/redis.log" --dir "$RUNDIR"
cleanup() {
  local rc=$?
  if [ -f "$RUNDIR/pg/data/postmaster.pid" ]; then
    $PG_AS "$PG_BIN/pg_ctl" -D "$RUNDIR/pg/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$RUNDIR/redis.pid" ]; then
    local pid
    pid=$(cat "$RUNDIR/redis.pid")
    kill "$pid" 2>/dev/null || true
    # Wait for it to exit: it writes its log into RUNDIR while shutting down.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$RUNDIR" 2>/dev/null || { sleep 1; rm -rf "$RUNDIR" || true; }
  exit "$rc"
}
trap cleanup EXIT
for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$REDIS_PORT" ping >/dev/null || { echo "redis-server did not start:" >&2; cat "$RUNDIR/redis.log" >&2; exit 1; }
export WEFT_TEST_REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"

say "postgresql (a throw-away cluster)"
# The run store's PostgreSQL tests (WEFT_TEST_POSTGRES_URL) use a cluster of
# their own: initdb with trust auth, a free port, the socket in RUNDIR.
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$PG_BIN" ] && ! command -v initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  else
    echo "scripts/test.sh: PostgreSQL is required (apt-get install postgresql-15)" >&2; exit 1
  fi
fi
[ -n "$PG_BIN" ] || PG_BIN=$(dirname "$(command -v initdb)")
# PostgreSQL refuses to run as root: as root, the cluster belongs to the
# postgres user (created by the Debian package).
PG_AS=
mkdir -p "$RUNDIR/pg"
if [ "$(id -u)" = 0 ]; then
  PG_AS="runuser -u postgres --"
  chmod 711 "$RUNDIR"
  chown postgres "$RUNDIR/pg"
fi
PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || echo $((20000 + RANDOM % 20000)))
$PG_AS "$PG_BIN/initdb" -A trust -U weft -D "$RUNDIR/pg/data" >"$RUNDIR/pg/initdb.log" 2>&1 || { cat "$RUNDIR/pg/initdb.log" >&2; exit 1; }
$PG_AS "$PG_BIN/pg_ctl" -D "$RUNDIR/pg/data" -l "$RUNDIR/pg/log" -w -t 60 \
  -o "-p $PG_PORT -k $RUNDIR/pg -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null \
  || { echo "postgres did not start:" >&2; cat "$RUNDIR/pg/log" >&2; exit 1; }
export WEFT_TEST_POSTGRES_URL="postgres://weft@127.0.0.1:$PG_PORT/postgres?sslmode=disable"

say "promtool (Debian's prometheus package: analytics' /metrics lint)"
if ! command -v promtool >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  else
    echo "scripts/test.sh: promtool is required (apt-get install prometheus)" >&2; exit 1
  fi
fi
export WEFT_TEST_PROMTOOL="$(command -v promtool)"

say "OpenTelemetry Collector receiver (internal/testenv/otelcol, its own module)"
(cd internal/testenv/otelcol && go vet ./... && go build -o "$RUNDIR/otelcol" .)
export WEFT_TEST_OTELCOL="$RUNDIR/otelcol"

say "bubblewrap (deploy/test: the container image's contract without a Docker daemon)"
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  else
    echo "scripts/test.sh: bwrap is required (apt-get install bubblewrap)" >&2; exit 1
  fi
fi

say "go vet"
go vet ./...
# bench/search is its own module (it alone needs bleve); so is bench/ask
# (it alone needs the tokenizer).
(cd bench/search && go vet ./...)
(cd bench/ask && go vet ./...)

say "go test"
# Isolate the tests from the user's config and caches (keeping Go's own caches).
export GOCACHE="$(go env GOCACHE)" GOMODCACHE="$(go env GOMODCACHE)" GOPATH="$(go env GOPATH)"
export WEFT_CONFIG= WEFT_CACHE_DIR="$RUNDIR/cache" HOME="$RUNDIR/home"
mkdir -p "$HOME"
# One pass over every package, with the race detector on.
go test -count=1 -race -timeout 30m "$@" ./...
scripts/conformance.sh

say "deployment files (deploy/test, its own module: Dockerfile lint and image contract, kustomize overlays, Helm chart, Bicep, compose, dashboard)"
(cd deploy/test && go vet ./... && go test -count=1 -timeout 15m ./...)

say "search quality gate (weft eval search on every dev set vs search/testdata/baseline.json)"
DATA="$ROOT/../shared/toolbench-data"
[ -d "$DATA" ] || { echo "scripts/test.sh: $DATA is missing (the dev splits of the tool-retrieval benchmarks)" >&2; exit 1; }
go build -o "$RUNDIR/weft" ./cmd/weft
for set in "$DATA"/*/; do
  [ -f "$set/queries.jsonl" ] || continue
  "$RUNDIR/weft" eval search --data "$set" --baseline search/testdata/baseline.json --max-drop 0.02
done

say "console browser tests (ui/e2e: weft serve + headless chromium, playwright-core, axe-core)"
WEFT_UI_BIN="$RUNDIR/weft" ui/e2e/run.sh

say "replicas (bench/replicas -quick: three weft serve behind haproxy sharing Redis and PostgreSQL)"
if ! command -v haproxy >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null
  else
    echo "scripts/test.sh: haproxy is required (apt-get install haproxy)" >&2; exit 1
  fi
fi
go run ./bench/replicas -weft "$RUNDIR/weft" -quick
