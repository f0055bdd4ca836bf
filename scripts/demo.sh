#!/usr/bin/env bash
# Quickstart 1/2: set up (idempotent), then run the main job on the embedded default:
# render a short sequence of the built-in scene, denoise it with the bundled model,
# write images + metrics to ./demo_out (or the folder given as $1).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
exec "$ROOT/.venv/bin/ssr" demo --out "${1:-demo_out}"
