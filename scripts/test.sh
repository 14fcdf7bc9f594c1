#!/usr/bin/env bash
# The test command: installs the tools the end-to-end tests need, then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup-test-tools.sh
cargo test --workspace
