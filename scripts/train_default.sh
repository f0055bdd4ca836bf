#!/usr/bin/env bash
# Reproduce the bundled default model and the two ablations of docs/benchmarks-history.md.
#   DATA: the default dataset (`ssr make-dataset --out $DATA`, config data_tools/render/default_dataset.json)
#   RUNS: where the three run folders go
# The three runs share one budget (same steps, batch, crop, seed); on a 2-core CPU they run
# side by side with one thread each.
set -euo pipefail
DATA="${DATA:-/work/data/ssr-default}"
RUNS="${RUNS:-/work/runs}"
STEPS="${STEPS:-6000}"
SSR="${SSR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv/bin/ssr}"
COMMON=(--data "$DATA" --preset small --steps "$STEPS" --batch 4 --crop 64 --lr "${LR:-5e-4}" --seed 0 --val-every 1000 --val-frames 0 --no-progress)
mkdir -p "$RUNS"
run() {  # name, extra flags...
  local name="$1"; shift
  local resume=()
  [ -f "$RUNS/$name/last.pt" ] && resume=(--resume)
  OMP_NUM_THREADS=1 "$SSR" train "${COMMON[@]}" --out "$RUNS/$name" "$@" "${resume[@]}" > "$RUNS/$name.log" 2>&1
}
run default &
run no-tfa --no-tfa &
run no-wp --no-warped-prev &
wait
