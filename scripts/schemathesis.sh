#!/usr/bin/env bash
# Property-based API testing: schemathesis (PyPI) generates requests from the OpenAPI document
# of a running server and fails on any 5xx or on responses that break the document.
# Usage: scripts/schemathesis.sh [ZHONGTAI_BINARY] (default target/debug/zhongtai).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-${CARGO_TARGET_DIR:-target}/debug/zhongtai}
PYTHON=${ZHONGTAI_PYTHON:-python3}
EXAMPLES=${SCHEMATHESIS_EXAMPLES:-15}
if ! "$PYTHON" -c 'import schemathesis' 2>/dev/null; then
  echo "schemathesis: installing schemathesis 4.32.5" >&2
  "$PYTHON" -m pip install --quiet --disable-pip-version-check 'schemathesis==4.32.5'
fi
work=$(mktemp -d)
server=""
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ] && [ -f "$work/serve.err" ]; then
    echo "schemathesis: failed; the server's log (last 40 lines):" >&2
    tail -n 40 "$work/serve.err" >&2
  fi
  # The server flushes its journal into the lake on SIGTERM: wait for it before deleting the
  # folder it writes to (else rm races the final flush and fails).
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work" || true
  exit "$rc"
}
trap cleanup EXIT
"$BIN" --data-dir "$work" demo --orders 400 --skus 30 --days 15 --direct --end-date 2026-11-20 >/dev/null 2>&1
token=$("$BIN" --data-dir "$work" token create --role admin 2>/dev/null)
"$BIN" --data-dir "$work" serve --addr 127.0.0.1:0 --query-timeout-s 5 > "$work/serve.out" 2> "$work/serve.err" &
server=$!
for _ in $(seq 1 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
base=$(sed -n 's/^listening on //p' "$work/serve.out")
[ -n "$base" ] || { echo "schemathesis: the server did not start" >&2; cat "$work/serve.err" >&2; exit 1; }
echo "schemathesis: $EXAMPLES examples per operation against $base" >&2
"$PYTHON" -m schemathesis.cli run "$base/api/v1/openapi.json" \
  --header "Authorization: Bearer $token" \
  --checks not_a_server_error \
  --max-examples "$EXAMPLES" \
  --exclude-path-regex '^/api/v1/(recon/runs|jobs)$' \
  --seed 42 \
  --suppress-health-check all
# Every 5xx would have failed above; the server must also still be alive.
curl -fsS "$base/healthz" >/dev/null
