#!/usr/bin/env bash
# Benchmark of the reconciliation + analytics suite against DuckDB (see BENCHMARKS.md).
# Usage: scripts/bench-recon.sh ORDERS [ROUNDS]   (release build; installs duckdb and pyarrow from PyPI)
set -euo pipefail
cd "$(dirname "$0")/.."
orders=${1:-1000000}
rounds=${2:-5}
bin=target/release/zhongtai
data=${BENCH_DATA:-${TMPDIR:-/tmp}/zhongtai-bench-$orders}
python3 -c "import duckdb, pyarrow" 2>/dev/null || pip install --quiet duckdb pyarrow
cargo build --release
if [ ! -d "$data/lake/orders" ]; then
  "$bin" --data-dir "$data" demo --orders "$orders" --direct --anomalies --end-date 2026-11-24
fi
suite=$(mktemp -d)
trap 'rm -rf "$suite"' EXIT
# The reconciliation checks, compiled exactly as `zhongtai reconcile` runs them.
"$bin" --data-dir "$data" reconcile --as-of 2026-11-24 --print-sql | awk -v dir="$suite" '
  /^-- check: / { f = dir "/check_" $3 ".sql"; next } { print > f }'
cp scripts/bench-suite/*.sql "$suite/"
# Metrics from the metrics layer, compiled as `zhongtai metrics` runs them (when present).
if [ -f scripts/bench-suite/metrics.list ]; then
  while read -r name args; do
    [ -z "$name" ] && continue
    # shellcheck disable=SC2086
    "$bin" --data-dir "$data" metrics "$name" $args --sql > "$suite/metric_${name}.sql"
  done < scripts/bench-suite/metrics.list
fi
sed -i 's/;[[:space:]]*$//' "$suite"/*.sql
python3 scripts/bench-recon.py --bin "$bin" --data "$data" --rounds "$rounds" "$suite"/*.sql
