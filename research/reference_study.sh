#!/usr/bin/env bash
# The reference-quality study of issue 7 (docs/rendering.md, "Reference quality"): does a
# model trained on clean (256-spp) references beat one trained on noisy (32-spp) references
# with the noise2noise loss, at the same steps? Both are scored on a held-out bathroom
# sequence with a 512-spp reference.
#   DATA: where the two small datasets go (default ../data/refstudy, beside the checkout)
#   RUNS: where the two runs and the report go (default ../runs/refstudy)
#   STEPS: training steps per run (default 1000)
# Resumable: finished frames are not re-rendered, a run with a last.pt resumes.
# Render cost per frame: the logs (<DATA>/*.log) print seconds per sequence.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${DATA:-$ROOT/../data/refstudy}"
RUNS="${RUNS:-$ROOT/../runs/refstudy}"
STEPS="${STEPS:-1000}"
SSR="${SSR:-$ROOT/.venv/bin/ssr}"
mkdir -p "$DATA" "$RUNS"
"$SSR" make-dataset --config "$ROOT/data_tools/render/reference_study_clean.json" --out "$DATA/clean" \
    --splits train,test --no-progress >> "$DATA/clean.log" 2>&1
"$SSR" make-dataset --config "$ROOT/data_tools/render/reference_study_noisy.json" --out "$DATA/noisy" \
    --splits train --no-progress >> "$DATA/noisy.log" 2>&1
for name in clean noisy; do
  [ -f "$RUNS/$name/model.safetensors" ] && continue
  if [ -f "$RUNS/$name/last.pt" ]; then
    args=(--data "$DATA/$name" --out "$RUNS/$name" --resume --no-progress)
  else  # the same recipe, seed and steps for both: only the reference differs
    args=(--data "$DATA/$name" --out "$RUNS/$name" --preset fast --layout fast --signal dual --accumulation linear
          --output kernel --spatial-loss relmse --steps "$STEPS" --batch 4 --crop 64 --lr 5e-4 --seed 0
          --checkpoint-every 50 --no-progress)
  fi
  OMP_NUM_THREADS=1 "$SSR" train "${args[@]}" >> "$RUNS/$name.log" 2>&1
done
"$SSR" bench quality --data "$DATA/clean" --split test --model "$RUNS/clean/model" \
    --variants "noisy=$RUNS/noisy/model" --no-vdp --out "$RUNS/bench" > "$RUNS/bench.log" 2>&1
echo "report: $RUNS/bench/report.md"
