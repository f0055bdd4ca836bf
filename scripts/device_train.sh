#!/usr/bin/env bash
# One prepared training command for a leased GPU machine (issue 7 §4): several variants of the
# recipe trained side by side on the one GPU inside one command's wall-clock limit, bringing
# back their weights and logs.
#
# The GPU machine has Python 3.12 + CUDA PyTorch but no OpenEXR and no network, and only
# ~64 MiB of the working tree travels. So the data travels as a compact copy (`ssr compact`,
# float16 windows, ~3 MB per 16-frame sequence) and the package runs from a staged copy
# of the source (no C++ extension: training packs frames with the NumPy path, once).
# The `fast` network is far too small to fill an H100 alone, so the variants run as
# concurrent processes (each with its own clip-prefetching CPU thread).
#
# Prepare here (CPU), then run there:
#   ssr compact --data /work/data/v2_box10 --out .carry/compact --splits train --crop 128 --frames 16
#   ssr compact --data /work/data/v2_box --out .carry/compact --splits val --crop 128 --frames 16
#   a CPU dry run: MINUTES=0.2 CALIBRATE=10 DEVICE=cpu BATCH=2 CROP=64 FPS_SIZES=64x128 \
#       PYTHON=.venv/bin/python bash scripts/device_train.sh
#   device run (carry [".carry"], timeout_s 600): bash scripts/device_train.sh
#
# Steps: (1) the environment (torch, GPU, nvidia-smi) -> $OUT/env.txt; (2) every variant
# trains CALIBRATE seconds, all at once, to measure its steps per second under the same
# sharing; (3) every variant trains, all at once, for as many steps as fit in MINUTES (so
# each learning-rate schedule completes), with a time limit of MINUTES + 1 as the safety
# net; (4) the FPS harness (`ssr bench fps`, torch backend) with the first variant's model
# on the device at FPS_SIZES; (5) per variant one `<name>.tgz` (model, config, log,
# TensorBoard events) -> $OUT. At most 5 variants (8 files come back).
#
# Knobs (environment): VARIANTS ("name:extra ssr train flags", separated by ";"; default: the
# recipe and the rule-based history with 40 burn-in frames, two seeds each -- the A/B of
# docs/research-log.md at more steps than a CPU affords; a rule model needs sequences of
# clip + burn-in frames, data_tools/render/dataset_long.json), DATA, OUT, MINUTES (training budget, default 6), BATCH
# (16), CROP (96), LR (5e-4), DEVICE (cuda), CALIBRATE (40 s), FPS_SIZES. The recipe's
# other flags are those of scripts/ship_recipe.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-.carry/compact}
OUT=${OUT:-/tmp/ssr_device_out}
MINUTES=${MINUTES:-6}
BATCH=${BATCH:-16}
CROP=${CROP:-96}
LR=${LR:-5e-4}
DEVICE=${DEVICE:-cuda}
CALIBRATE=${CALIBRATE:-40}
FPS_SIZES=${FPS_SIZES:-1080x1920,1024x2048}
VARIANTS=${VARIANTS:-"recipe:--seed 0;recipe_s1:--seed 1;rule:--history rule --burn-in 40 --seed 0;rule_s1:--history rule --burn-in 40 --seed 1"}
RUNS=/tmp/ssr_device_runs
PY=${PYTHON:-python3}
mkdir -p "$OUT"
IFS=';' read -ra SPECS <<< "$VARIANTS"
if [ "${#SPECS[@]}" -gt 5 ]; then echo "device_train: at most 5 variants (8 files come back)" >&2; exit 2; fi

# (0) the package, staged as the wheel lays it out (ssr/ + ssr/data_tools, export, runtime, bench)
STAGE=/tmp/ssr_stage
rm -rf "$STAGE" "$RUNS"
mkdir -p "$STAGE/ssr" "$RUNS"
cp -r ssr/. "$STAGE/ssr/"
for part in data_tools export runtime bench; do cp -r "$part" "$STAGE/ssr/$part"; done
export PYTHONPATH="$STAGE" PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
SSR="$PY -m ssr.cli"

# (1) the environment
{
  date -u
  $PY -c "import sys, torch, ssr; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available() and torch.cuda.get_device_name(0), 'ssr from', ssr.__file__)"
  if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv; fi
  du -sh "$DATA"
  echo "variants: $VARIANTS; batch $BATCH, crop $CROP, lr $LR, $MINUTES minutes"
} 2>&1 | tee "$OUT/env.txt"

RECIPE=(--signal dual --accumulation linear --output kernel --spatial-loss relmse --preset fast --layout fast
        --view-floor 0.01 --specular-floor 0.2 --batch "$BATCH" --crop "$CROP" --lr "$LR" --device "$DEVICE"
        --no-progress --val-every 0)

# (2) calibration: every variant at once, steps per second under the same sharing (start-up not counted)
for spec in "${SPECS[@]}"; do
  name=${spec%%:*}; extra=${spec#*:}
  # shellcheck disable=SC2086  # $extra holds several flags
  $SSR train --data "$DATA" --out "$RUNS/calibrate_$name" "${RECIPE[@]}" --steps 1000000 \
      --time-limit "$($PY -c "print($CALIBRATE / 60)")" $extra > "$RUNS/calibrate_$name.log" 2>&1 &
done
wait
declare -A STEPS
for spec in "${SPECS[@]}"; do
  name=${spec%%:*}
  STEPS[$name]=$($PY -c "
import sys, torch
done = int(torch.load(sys.argv[1], map_location='cpu', weights_only=False)['step'])
print(max(20, int(done / float(sys.argv[2]) * float(sys.argv[3]) * 60 * 0.92)))
" "$RUNS/calibrate_$name/last.pt" "$CALIBRATE" "$MINUTES")
  echo "calibration: $name: ${STEPS[$name]} steps in $MINUTES minutes" | tee -a "$OUT/env.txt"
done

# (3) the runs, all at once
for spec in "${SPECS[@]}"; do
  name=${spec%%:*}; extra=${spec#*:}; steps=${STEPS[$name]}
  # shellcheck disable=SC2086
  $SSR train --data "$DATA" --out "$RUNS/$name" "${RECIPE[@]}" --steps "$steps" --checkpoint-every 500 \
      --snapshot-every $((steps / 2)) --time-limit "$($PY -c "print($MINUTES + 1)")" $extra \
      > "$RUNS/$name.log" 2>&1 &
done
wait
for spec in "${SPECS[@]}"; do name=${spec%%:*}; echo "$name: $(tail -n 1 "$RUNS/$name.log")"; done | tee -a "$OUT/env.txt"

# (4) the FPS harness on this device: the first variant's model streamed through the torch backend
# (no C++ extension there, so packing takes the NumPy path; the network-only column is the GPU)
first=${SPECS[0]%%:*}
MODEL="$RUNS/$first/model"; [ -f "$MODEL.safetensors" ] || MODEL="$RUNS/$first/last.pt"
$SSR bench fps --device "$DEVICE" --backends torch --no-peers --model "$MODEL" --sizes "$FPS_SIZES" \
    --max-seconds 10 --out "$OUT/fps" 2>&1 | tail -n 20 || true

# (5) what comes back: one archive per variant (+ env.txt and fps/report.{json,md})
for spec in "${SPECS[@]}"; do
  name=${spec%%:*}
  files=(tb config.json train.log)
  cp "$RUNS/$name.log" "$RUNS/$name/train.log"
  for file in model.safetensors model.json; do if [ -f "$RUNS/$name/$file" ]; then files+=("$file"); fi; done
  if [ ! -f "$RUNS/$name/model.safetensors" ]; then files+=(last.pt); fi
  tar czf "$OUT/$name.tgz" -C "$RUNS/$name" "${files[@]}"
done
ls -la "$OUT"
