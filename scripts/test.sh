#!/usr/bin/env bash
# Quickstart 2/2: set up (idempotent), then run the test suite. Extra args go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export SSR_REQUIRE_NATIVE=1
exec "$ROOT/.venv/bin/python" -m pytest -q "$@"
