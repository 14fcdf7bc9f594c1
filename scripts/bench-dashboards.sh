#!/usr/bin/env bash
# Benchmark (not a test): dashboard API latency and report generation time on a big lake.
#   - every built-in dashboard: the cold request (every panel computed), then N warm requests
#     (served by the table-version cache); p50 / p95 / max of the warm ones;
#   - the monthly finance report as PDF, XLSX and HTML through `zhongtai report` (wall time).
# Usage: scripts/bench-dashboards.sh DATA_DIR [WARM_REQUESTS] [BINARY]
#   DATA_DIR holds a lake, e.g. from `zhongtai --data-dir D demo --orders 10000000 --direct`.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?usage: scripts/bench-dashboards.sh DATA_DIR [WARM_REQUESTS] [BINARY]}
N=${2:-200}
BIN=${3:-${CARGO_TARGET_DIR:-target}/release/zhongtai}
[ -x "$BIN" ] || { echo "bench: build first: cargo build --release" >&2; exit 1; }
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work" || true
}
trap cleanup EXIT
TOKEN=$("$BIN" --data-dir "$DATA" token create --role manager 2>/dev/null)
"$BIN" --data-dir "$DATA" serve --addr 127.0.0.1:0 --workers 0 --query-timeout-s 600 --query-memory-mb 8192 \
  > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for _ in $(seq 1 300); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/serve.out")
echo "bench: $("$BIN" --version), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), lake $DATA" >&2
printf '| dashboard | panels | cold (s) | warm p50 (ms) | warm p95 (ms) | warm max (ms) | bytes |\n|---|---:|---:|---:|---:|---:|---:|\n'
for id in sales products warehouse purchasing logistics finance; do
  url="$base/api/v1/dashboards/$id"
  cold=$(curl -s -o "$work/$id.json" -w '%{time_total}' -H "Authorization: Bearer $TOKEN" "$url")
  panels=$(python3 -c "import json,sys; d=json.load(open('$work/$id.json')); print(len(d['panels']), sum(1 for p in d['panels'] if p['error']))")
  for _ in $(seq 1 "$N"); do
    curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "$url"
  done > "$work/$id.times"
  python3 - "$work/$id.times" "$id" "$cold" "$panels" "$(stat -c %s "$work/$id.json")" <<'PY'
import sys
t = sorted(float(x) * 1000 for x in open(sys.argv[1]))
p = lambda q: t[min(len(t) - 1, int(q * len(t)))]
panels, errors = sys.argv[4].split()
note = f" ({errors} failed)" if errors != "0" else ""
print(f"| {sys.argv[2]} | {panels}{note} | {float(sys.argv[3]):.2f} | {p(0.5):.1f} | {p(0.95):.1f} | {t[-1]:.1f} | {sys.argv[5]} |")
PY
done
kill "$server"; wait "$server" 2>/dev/null || true; server=""
echo
printf '| report | format | wall (s) | size (KB) |\n|---|---|---:|---:|\n'
to=$("$BIN" --data-dir "$DATA" query "SELECT CAST(MAX(order_date) AS VARCHAR) AS d FROM orders" --format csv | tail -1)
from=$(python3 -c "import datetime,sys; d=datetime.date.fromisoformat('$to'); print(d.replace(day=1))")
for fmt in pdf xlsx html; do
  s=$(date +%s.%N)
  "$BIN" --data-dir "$DATA" report monthly-finance --format "$fmt" --from "$from" --to "$to" -o "$work/f.$fmt" 2>"$work/report.err"
  e=$(date +%s.%N)
  printf '| monthly-finance %s — %s | %s | %.1f | %d |\n' "$from" "$to" "$fmt" "$(echo "$e - $s" | bc)" $(( $(stat -c %s "$work/f.$fmt") / 1024 ))
done
s=$(date +%s.%N)
"$BIN" --data-dir "$DATA" report sales-by-shop --format pdf --from "$to" --to "$to" -o "$work/s.pdf" 2>"$work/report.err"
e=$(date +%s.%N)
printf '| sales-by-shop %s (one day: every order line) | pdf | %.1f | %d |\n' "$to" "$(echo "$e - $s" | bc)" $(( $(stat -c %s "$work/s.pdf") / 1024 ))
cat "$work/report.err" >&2
