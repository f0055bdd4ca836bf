#!/usr/bin/env bash
# One prepared training run on a leased GPU machine (issue 7 §4), inside one command's
# wall-clock limit, bringing back the weights and the logs.
#
# The GPU machine has Python 3.12 + CUDA PyTorch but no OpenEXR and no network, and only
# ~64 MiB of the working tree travels. So the data travels as a compact copy (`ssr compact`,
# float16 windows, ~3 MB per 16-frame sequence) and the package runs from a staged copy
# of the source (no C++ extension: training packs frames with the NumPy path, once).
#
# Prepare here (CPU), then run there:
#   ssr compact --data /work/data/v2_box10 --out .carry/compact --splits train --crop 128 --frames 16
#   ssr compact --data /work/data/v2_box --out .carry/compact --splits val --crop 128 --frames 16
#   a CPU dry run: MINUTES=0.2 CALIBRATE=10 DEVICE=cpu BATCH=2 CROP=64 FPS_SIZES=64x128 \
#       PYTHON=.venv/bin/python bash scripts/device_train.sh
#   device run (carry [".carry"]): bash scripts/device_train.sh
#
# Steps: (1) the environment (torch, GPU, nvidia-smi) -> $OUT/env.txt; (2) a calibration
# run of CALIBRATE seconds measures steps per second at this batch and crop; (3) the recipe
# for as many steps as fit in MINUTES (the learning-rate schedule completes), a time limit
# of MINUTES + 1 as the safety net; (4) the FPS harness (`ssr bench fps`, torch backend)
# with the trained model on the device at FPS_SIZES; (5) the model, config, log and TensorBoard events -> $OUT.
#
# Knobs (environment): DATA, OUT, MINUTES (training budget, default 6), BATCH (16),
# CROP (96), LR (5e-4), DEVICE (cuda), CALIBRATE (40 s), FPS_SIZES, EXTRA (more `ssr train` flags,
# e.g. "--seed 1"). The recipe's other flags are those of scripts/ship_recipe.sh.
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
EXTRA=${EXTRA:-}
RUN=/tmp/ssr_device_run
PY=${PYTHON:-python3}
mkdir -p "$OUT"

# (0) the package, staged as the wheel lays it out (ssr/ + ssr/data_tools, export, runtime, bench)
STAGE=/tmp/ssr_stage
rm -rf "$STAGE" "$RUN" /tmp/ssr_calibrate
mkdir -p "$STAGE/ssr"
cp -r ssr/. "$STAGE/ssr/"
for part in data_tools export runtime bench; do cp -r "$part" "$STAGE/ssr/$part"; done
export PYTHONPATH="$STAGE" PYTHONUNBUFFERED=1
SSR="$PY -m ssr.cli"

# (1) the environment
{
  date -u
  $PY -c "import sys, torch, ssr; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.cuda.is_available() and torch.cuda.get_device_name(0), 'ssr from', ssr.__file__)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
  du -sh "$DATA"
} 2>&1 | tee "$OUT/env.txt"

RECIPE=(--signal dual --accumulation linear --output kernel --spatial-loss relmse --preset fast --layout fast
        --view-floor 0.01 --specular-floor 0.2 --batch "$BATCH" --crop "$CROP" --lr "$LR" --device "$DEVICE"
        --no-progress --val-every 0)

# (2) calibration: steps per second at this batch and crop (start-up not counted)
$SSR train --data "$DATA" --out /tmp/ssr_calibrate "${RECIPE[@]}" --steps 1000000 \
    --time-limit "$($PY -c "print($CALIBRATE / 60)")" $EXTRA 2>&1 | tail -n 3
STEPS=$($PY - "$CALIBRATE" "$MINUTES" <<'EOF'
import sys, torch
calibrate, minutes = float(sys.argv[1]), float(sys.argv[2])
done = int(torch.load("/tmp/ssr_calibrate/last.pt", map_location="cpu", weights_only=False)["step"])
print(max(20, int(done / calibrate * minutes * 60 * 0.92)))
EOF
)
echo "calibration: steps for $MINUTES minutes: $STEPS" | tee -a "$OUT/env.txt"

# (3) the run
$SSR train --data "$DATA" --out "$RUN" "${RECIPE[@]}" --steps "$STEPS" --checkpoint-every 500 \
    --snapshot-every $((STEPS / 2)) --time-limit "$($PY -c "print($MINUTES + 1)")" $EXTRA 2>&1 | tee "$OUT/train.log"

# (4) the FPS harness on this device: the trained model streamed through the torch backend
# (no C++ extension there, so packing takes the NumPy path; the network-only column is the GPU)
MODEL="$RUN/model"; [ -f "$MODEL.safetensors" ] || MODEL="$RUN/last.pt"
$SSR bench fps --device "$DEVICE" --backends torch --no-peers --model "$MODEL" --sizes "$FPS_SIZES" \
    --max-seconds 10 --out "$OUT/fps" 2>&1 | tail -n 20 || true

# (5) what comes back (at most 8 files)
for file in model.safetensors model.json config.json; do
  [ -f "$RUN/$file" ] && cp "$RUN/$file" "$OUT/"
done
[ -f "$RUN/model.safetensors" ] || cp "$RUN/last.pt" "$OUT/"
tar czf "$OUT/tb.tgz" -C "$RUN" tb
ls -la "$OUT"
