#!/usr/bin/env bash
# Installs what the end-to-end tests need beyond Rust, idempotently:
#   - Python `deltalake` + `pyarrow`: the independent reader proving the lake is standard Delta.
#   - `s3s-fs`: a real S3-compatible server on loopback for the S3 lake test.
#   - PostgreSQL (Debian package): the shared job backend of the scale-out worker test; each
#     test starts its own throwaway server with scripts/pg-test.sh.
# Everything comes from the package registries (PyPI, crates.io) by name and version.
set -euo pipefail

PYTHON=${ZHONGTAI_PYTHON:-python3}
if ! "$PYTHON" -c 'import deltalake, pyarrow' 2>/dev/null; then
  echo "setup: installing Python deltalake and pyarrow" >&2
  "$PYTHON" -m pip install --quiet --disable-pip-version-check 'deltalake==1.6.6' 'pyarrow>=18'
fi

CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
if [ ! -x "$CARGO_BIN/s3s-fs" ]; then
  # 0.14.1 is the newest s3s-fs that builds with Rust 1.95 (later ones need 1.96); --locked
  # uses its published lockfile, so newer dependency releases cannot break the install.
  echo "setup: installing s3s-fs 0.14.1 (about 2 minutes on 2 cores)" >&2
  cargo install --quiet --locked s3s-fs@0.14.1 --features binary
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  echo "setup: installing postgresql (Debian)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
fi

# The dashboards and reports tests: headless Chromium drives the web UI (through puppeteer-core
# from tests/ui), poppler's pdftotext reads the PDFs back, openpyxl reads the Excel files.
need_apt=""
[ -x /usr/bin/chromium ] || need_apt="$need_apt chromium"
command -v pdftotext >/dev/null 2>&1 || need_apt="$need_apt poppler-utils"
if [ -n "$need_apt" ]; then
  echo "setup: installing$need_apt (Debian)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q $need_apt >/dev/null
fi
if ! "$PYTHON" -c 'import openpyxl' 2>/dev/null; then
  echo "setup: installing Python openpyxl" >&2
  "$PYTHON" -m pip install --quiet --disable-pip-version-check 'openpyxl==3.1.5'
fi
UI_DIR="$(dirname "$0")/../tests/ui"
if [ -f "$UI_DIR/package-lock.json" ] && [ ! -d "$UI_DIR/node_modules/puppeteer-core" ]; then
  echo "setup: installing puppeteer-core for the UI test (npm ci)" >&2
  (cd "$UI_DIR" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --silent --no-audit --no-fund)
fi
