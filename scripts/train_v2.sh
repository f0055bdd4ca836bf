#!/usr/bin/env bash
# Reproduce the issue-7/10 runs of BENCHMARKS.md section 5 on dataset v2 (scene-held-out).
#   DATA: dataset v2 (`ssr make-dataset --config data_tools/render/dataset_v2.json --out $DATA`;
#         training starts on the finished sequences: --skip-incomplete, and --resume rescans)
#   RUNS: where the run folders go
#   WHAT: which runs (default: main; also rae, no-tfa, no-wp: the baselines/ablations, stopped
#         at STOP steps of the same 5000-step schedule, compared with main's snapshot there)
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
COMMON=(--data "$DATA" --steps "$STEPS" --batch 4 --crop 64 --lr "${LR:-5e-4}" --seed 0 --val-every 500
        --val-frames 8 --checkpoint-every 50 --skip-incomplete --no-progress)
mkdir -p "$RUNS"
run() {  # name, last step (0: the whole schedule), model flags...
  local name="$1" stop="$2"; shift 2
  local args=("${COMMON[@]}" --out "$RUNS/$name" "$@")
  # a resumed run takes its configuration from <run>/config.json
  [ -f "$RUNS/$name/last.pt" ] && args=(--data "$DATA" --out "$RUNS/$name" --resume --skip-incomplete --no-progress)
  [ "$stop" -gt 0 ] && args+=(--stop-after "$stop")
  OMP_NUM_THREADS=1 "$SSR" train "${args[@]}" >> "$RUNS/$name.log" 2>&1
}
for name in ${WHAT//,/ }; do
  case "$name" in
    main) run main 0 "${RECIPE[@]}" & ;;
    rae) run rae "$STOP" --arch rae --preset lean --spatial-loss relmse & ;;
    no-tfa) run no-tfa "$STOP" "${RECIPE[@]}" --no-tfa & ;;
    no-wp) run no-wp "$STOP" "${RECIPE[@]}" --no-warped-prev & ;;
    *) echo "train_v2.sh: unknown run $name (main, rae, no-tfa, no-wp)" >&2; exit 2 ;;
  esac
done
wait
