#!/usr/bin/env bash
# The shipped recipe (issue 7, docs/benchmarks-history.md sections 13 and 18): the `fast` layout filtering radiance
# beside irradiance (--signal dual) on box-filtered albedo, demodulated with a specular floor
# (--specular-floor, section 18), native-pixel-stage capable.
#
#   DATA   dataset v2 as rendered (`ssr make-dataset --config data_tools/render/dataset_v2.json
#          --out $DATA`, pixel-centre albedo as that config says)
#   BOX    its box-albedo conversion (scripts/box_albedo.py; what `--albedo-filter box` renders)
#   EXTRA  optional extra training sequences (`ssr make-dataset --config
#          data_tools/render/dataset_v2_extra.json --out $EXTRA`), box-converted to EXTRA_BOX
#   RUNS   run folders; HELDOUT / ALL name the two runs (default dual_box, dual_box_all)
#   SPECULAR_FLOOR  --specular-floor of a fresh held-out run (default 0.2; the fine-tune keeps it)
#   TEMPORAL_LOSS  --temporal-loss of a fresh held-out run (smape or relmse; a fine-tune keeps
#          its base run's: --init carries the architecture, the loss comes from this variable
#          only for the heldout stage)
#   STAGE  comma-separated, in order:
#          convert  DATA -> BOX, EXTRA -> EXTRA_BOX (resumable: re-run as the render progresses)
#          heldout  train on BOX's train split only (the test scenes stay unseen): $RUNS/$HELDOUT
#          all      fine-tune that model FT_STEPS steps (lr FT_LR; VIEW_FLOOR: --view-floor) on every finished sequence (train +
#                   test + EXTRA_BOX), the bundled-model candidate: $RUNS/$ALL (data: links in
#                   $BOX_ALL)
#          bench    score the held-out model on the test split against OIDN: $BENCH
#          install  copy $RUNS/$ALL/model into ssr/weights/default.*
# Every training stage resumes from <run>/last.pt; --stop-after via STOP (0: run to the end).
# The fine-tune keeps the held-out run's losses (ssr train --init carries them over).
#
# The bundled model of 2026-12-06 (docs/benchmarks-history.md section 18): BOX holding the first 10 training
# sequences of dataset v2 and the 8 test sequences, then
#   HELDOUT=spec02 ALL=ship_spec STEPS=6000 STOP=3000 STAGE=heldout bash scripts/ship_recipe.sh
#   HELDOUT=spec02 ALL=ship_spec STAGE=all,install bash scripts/ship_recipe.sh
# (the one before it, 2026-12-05, section 15: HELDOUT=ctrl10 ALL=ship10 SPECULAR_FLOOR=0)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="${DATA:-/work/data/v2}"
BOX="${BOX:-/work/data/v2_box}"
BOX_ALL="${BOX_ALL:-/work/data/v2_box_all}"
EXTRA="${EXTRA:-/work/data/v2x}"
EXTRA_BOX="${EXTRA_BOX:-/work/data/v2x_box}"
HELDOUT="${HELDOUT:-dual_box}"
ALL="${ALL:-dual_box_all}"
RUNS="${RUNS:-/work/runs}"
BENCH="${BENCH:-/work/bench/s13_ship}"
STEPS="${STEPS:-6000}"
FT_STEPS="${FT_STEPS:-1500}"
FT_LR="${FT_LR:-2.5e-4}"
VIEW_FLOOR="${VIEW_FLOOR:-}"   # empty: the held-out model's own (ssr train --view-floor)
TEMPORAL_LOSS="${TEMPORAL_LOSS:-smape}"   # ssr train --temporal-loss of a fresh held-out run
SPECULAR_FLOOR="${SPECULAR_FLOOR:-0.2}"   # ssr train --specular-floor of a fresh held-out run
STOP="${STOP:-0}"
THREADS="${THREADS:-1}"
STAGE="${STAGE:-convert,heldout}"
SSR="${SSR:-$ROOT/.venv/bin/ssr}"
PY="${PY:-$ROOT/.venv/bin/python}"
RECIPE=(--preset fast --layout fast --signal dual --accumulation linear --output kernel --spatial-loss relmse
        --temporal-loss "$TEMPORAL_LOSS" --specular-floor "$SPECULAR_FLOOR")
COMMON=(--batch 4 --crop 64 --val-every 500 --val-frames 8 --checkpoint-every 50 --snapshot-every 1500 --skip-incomplete --no-progress)
mkdir -p "$RUNS"

train() {  # run name, dataset, then the flags of a fresh run
  local name="$1" data="$2"; shift 2
  local args=(--data "$data" --out "$RUNS/$name" "$@")
  # a resumed run takes its configuration from <run>/config.json (and rescans the data)
  [ -f "$RUNS/$name/last.pt" ] && args=(--data "$data" --out "$RUNS/$name" --resume --skip-incomplete --no-progress)
  [ "$STOP" -gt 0 ] && args+=(--stop-after "$STOP")
  OMP_NUM_THREADS="$THREADS" "$SSR" train "${args[@]}" >> "$RUNS/$name.log" 2>&1
}

for stage in ${STAGE//,/ }; do
  case "$stage" in
    convert)
      "$PY" "$ROOT/scripts/box_albedo.py" "$DATA" "$BOX"
      if [ -d "$EXTRA" ]; then "$PY" "$ROOT/scripts/box_albedo.py" "$EXTRA" "$EXTRA_BOX"; fi ;;
    heldout) train "$HELDOUT" "$BOX" "${RECIPE[@]}" "${COMMON[@]}" --steps "$STEPS" \
                   --lr 5e-4 --seed 0 ;;
    all)
      mkdir -p "$BOX_ALL/train"
      for seq in "$BOX"/train/* "$BOX"/test/* "$EXTRA_BOX"/train/*; do
        if [ -d "$seq" ]; then ln -sfn "$seq" "$BOX_ALL/train/$(basename "$seq")"; fi
      done
      ln -sfn "$BOX/val" "$BOX_ALL/val"
      floor=(); if [ -n "$VIEW_FLOOR" ]; then floor=(--view-floor "$VIEW_FLOOR"); fi
      init="$RUNS/$HELDOUT/model"   # a run stopped early (STOP) has no model yet: its last checkpoint
      [ -f "$init.safetensors" ] || init="$RUNS/$HELDOUT/last.pt"
      train "$ALL" "$BOX_ALL" --init "$init" "${COMMON[@]}" "${floor[@]}" \
            --steps "$FT_STEPS" --lr "$FT_LR" --seed 1 ;;
    bench) "$SSR" bench quality --data "$BOX" --split test --skip-incomplete --model "$RUNS/$HELDOUT/model" \
                 --variants "bundled=$ROOT/ssr/weights/default" --methods ssr,oidn_high,input --no-vdp --no-flip \
                 --out "$BENCH" ;;
    install)
      cp "$RUNS/$ALL/model.safetensors" "$ROOT/ssr/weights/default.safetensors"
      cp "$RUNS/$ALL/model.json" "$ROOT/ssr/weights/default.json" ;;
    *) echo "ship_recipe.sh: unknown stage $stage (convert, heldout, all, bench, install)" >&2; exit 2 ;;
  esac
done
