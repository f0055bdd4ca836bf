#!/usr/bin/env bash
# Reproduce the issue-7/10 runs of docs/benchmarks-history.md section 5 on dataset v2 (scene-held-out).
#   DATA: dataset v2 (`ssr make-dataset --config data_tools/render/dataset_v2.json --out $DATA`;
#         training starts on the finished sequences: --skip-incomplete, and --resume rescans)
#   RUNS: where the run folders go
#   WHAT: which runs (default: main; also rae, no-tfa, no-wp: the baselines/ablations, stopped
#         at STOP steps of the same 5000-step schedule, compared with main's snapshot there;
#         v3: the fast layout with a 1/8 scale, dual signal and colour augmentation on a
#         V3_STEPS schedule (default 12000), meant to be resumed over several sessions)
# Every run resumes from <run>/last.pt when it exists. One CPU thread per run.
set -euo pipefail
DATA="${DATA:-/work/data/v2}"
RUNS="${RUNS:-/work/runs}"
STEPS="${STEPS:-5000}"
STOP="${STOP:-1500}"
WHAT="${WHAT:-main}"
SSR="${SSR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv/bin/ssr}"
# the shipped recipe (docs/training.md): lean widths, linear accumulation, kernel output, noise2noise relMSE
RECIPE=(--preset lean --accumulation linear --output kernel --spatial-loss relmse)
# issue 7, 2026-12-03: the fast layout (native-stage capable but for --signal dual) and the three changes A/B-tested
# one by one in docs/benchmarks-history.md section 9
RECIPE_V3=(--preset fast --layout fast --levels 4 --signal dual --color-augment --accumulation linear --output kernel
           --spatial-loss relmse)
COMMON=(--data "$DATA" --batch 4 --crop 64 --lr "${LR:-5e-4}" --seed 0 --val-every 500
        --val-frames 8 --checkpoint-every 50 --skip-incomplete --no-progress)
mkdir -p "$RUNS"
run() {  # name, last step (0: the whole schedule), model flags...
  local name="$1" stop="$2"; shift 2
  local args=("${COMMON[@]}" --steps "${RUN_STEPS:-$STEPS}" --out "$RUNS/$name" "$@")
  # a resumed run takes its configuration from <run>/config.json
  [ -f "$RUNS/$name/last.pt" ] && args=(--data "$DATA" --out "$RUNS/$name" --resume --skip-incomplete --no-progress)
  [ "$stop" -gt 0 ] && args+=(--stop-after "$stop")
  OMP_NUM_THREADS=1 "$SSR" train "${args[@]}" >> "$RUNS/$name.log" 2>&1
}
for name in ${WHAT//,/ }; do
  case "$name" in
    main) run main 0 "${RECIPE[@]}" & ;;
    v3) RUN_STEPS="${V3_STEPS:-12000}" run v3 0 "${RECIPE_V3[@]}" & ;;
    rae) run rae "$STOP" --arch rae --preset lean --spatial-loss relmse & ;;
    no-tfa) run no-tfa "$STOP" "${RECIPE[@]}" --no-tfa & ;;
    no-wp) run no-wp "$STOP" "${RECIPE[@]}" --no-warped-prev & ;;
    *) echo "train_v2.sh: unknown run $name (main, v3, rae, no-tfa, no-wp)" >&2; exit 2 ;;
  esac
done
wait
