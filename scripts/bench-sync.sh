#!/usr/bin/env bash
# Benchmark (not a test): orders per second from Jushuitan simulator pages into the lake,
# rate limits off, and the sync process's peak RSS. The simulator runs as its own process.
#   ORDERS=1000000 scripts/bench-sync.sh [extra sync flags, e.g. --no-raw]
set -euo pipefail
cd "$(dirname "$0")/.."
ORDERS=${ORDERS:-1000000}
DAYS=${DAYS:-120}
cargo build --release --workspace --quiet
BIN=$PWD/target/release/zhongtai
DIR=$(mktemp -d)
"$BIN" simulate jushuitan --port 0 --orders "$ORDERS" --days "$DAYS" --end-date 2026-11-20 \
  --unlimited --write-connector "$DIR/jst.toml" >"$DIR/sim.out" 2>"$DIR/sim.err" &
SIM=$!
trap 'kill $SIM 2>/dev/null; rm -rf "$DIR"' EXIT
for _ in $(seq 1 600); do
  grep -q '^listening on' "$DIR/sim.out" 2>/dev/null && break
  sleep 1
done
grep -q '^listening on' "$DIR/sim.out" || { echo "simulator did not start"; cat "$DIR/sim.err"; exit 1; }
head -1 "$DIR/sim.out"
export JST_APP_SECRET=sim-app-secret JST_ACCESS_TOKEN=sim-access-token JST_REFRESH_TOKEN=sim-refresh-token
"$BIN" --data-dir "$DIR" connector add "$DIR/jst.toml" >/dev/null
FROM=$(date -d "2026-11-20 - $((DAYS + 1)) days" +%F)
/usr/bin/time -v "$BIN" --data-dir "$DIR" connector sync jst-sim --from "$FROM" --to 2026-11-21 "$@" \
  >"$DIR/sync.out" 2>"$DIR/time.txt" || { cat "$DIR/sync.out" "$DIR/time.txt"; exit 1; }
cat "$DIR/sync.out"
SECS=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$DIR/time.txt")
RSS=$(awk -F': ' '/Maximum resident set size/ {print int($2/1024)}' "$DIR/time.txt")
N=$("$BIN" --data-dir "$DIR" query "select count(*) as n from orders" --format csv | tail -1)
echo "orders=$N seconds=$SECS orders_per_s=$(awk -v n="$N" -v s="$SECS" 'BEGIN{printf "%d", n/s}') peak_rss_mib=$RSS"
