#!/usr/bin/env bash
# Quickstart 2/2: set up (idempotent), then run the test suite. Extra args go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
# the C API (libssr_pack) and its C test program, under ctest
cmake -S "$ROOT" -B "$ROOT/build/c-api" -DSSR_PYTHON=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$ROOT/build/c-api" -j 2 >/dev/null
ctest --test-dir "$ROOT/build/c-api" --output-on-failure
export SSR_REQUIRE_NATIVE=1
exec "$ROOT/.venv/bin/python" -m pytest -q "$@"
