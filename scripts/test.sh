#!/usr/bin/env bash
# The test command: installs the tools the end-to-end tests need, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-tools.sh
cargo test --workspace
# The API against its own OpenAPI document: generated requests, no 5xx allowed.
scripts/schemathesis.sh "${CARGO_TARGET_DIR:-target}/debug/zhongtai"
