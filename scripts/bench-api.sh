#!/usr/bin/env bash
# Benchmark (not a test): durable entry-form writes per second and latency percentiles over
# loopback, measured with wrk. Every 201 is a submission fsync'd into the journal (group
# commit) before the answer; the lake receives them in batched flushes meanwhile.
# Usage: scripts/bench-api.sh [SECONDS] [CONNECTIONS] [BINARY]   (default 20 64 target/release/zhongtai)
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-20}
CONNS=${2:-64}
BIN=${3:-${CARGO_TARGET_DIR:-target}/release/zhongtai}
command -v wrk >/dev/null || { echo "bench: installing wrk" >&2; apt-get install -y wrk >/dev/null; }
[ -x "$BIN" ] || { echo "bench: build first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work" || true
}
trap cleanup EXIT
"$BIN" --data-dir "$work" demo --orders 2000 --skus 100 --days 30 --direct --end-date 2026-11-20 >/dev/null 2>&1
export BENCH_TOKEN=$("$BIN" --data-dir "$work" token create --role operator 2>/dev/null)
"$BIN" --data-dir "$work" serve --addr 127.0.0.1:0 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for _ in $(seq 1 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/serve.out")
cat > "$work/post.lua" <<'LUA'
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
local n = 0
function request()
  n = n + 1
  local body = string.format('{"movement_id":"BENCH-%d-%d","sku_id":"SKU000001","warehouse_id":"W01","kind":"in","qty":1,"moved_at":"2026-11-20 10:00:00"}', tid, n)
  return wrk.format("POST", "/api/v1/forms/stock_movements", {
    ["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN"),
    ["Content-Type"] = "application/json",
  }, body)
end
LUA
echo "bench: $SECS s, $CONNS connections, 2 threads, POST /api/v1/forms/stock_movements on $base" >&2
wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$work/post.lua" "$base" | tee "$work/wrk.out"
sleep 3
journal=$(curl -fsS "$base/healthz")
echo "bench: server after the run: $journal"
grep -q "Non-2xx" "$work/wrk.out" && { echo "bench: some writes were refused" >&2; exit 1; } || true
