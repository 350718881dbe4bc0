#!/usr/bin/env bash
# The GPU path, checked on a CUDA machine (never needed by the tests or CI):
#   1. the unit tests;
#   2. every section at `smoke`, on the GPU and again on the CPU (CUDA hidden);
#   3. Parts III-IV at `cpu`, on the GPU and again on the CPU;
# then each section's time on both, and whether every verdict agrees (`helpers.book.compare`).
#
#   scripts/gpu_check.sh        (or: make gpu-check)
#
# PY=/path/to/python runs it in an environment that already has a CUDA build of torch and the
# book's packages (make's set-up makes .venv otherwise). Each device gets its own cache under
# $GPU_CHECK_CACHE (default .cache/gpu-check) for stores, SAEs and executed sections; the npm
# packages and converted models, which no device changes, are shared with the book's cache.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
[ -x "$PY" ] || make .venv/.ready
"$PY" -c 'import sys, torch
sys.exit(None if torch.cuda.is_available() else "error: torch sees no CUDA device here; run this on a GPU machine.")'
CACHE=${GPU_CHECK_CACHE:-.cache/gpu-check}
BOOK_CACHE=$("$PY" -c 'from helpers.book.paths import cache_root; print(cache_root())')
PART_III_IV="lm_activations lm_and_saes predicting_error modeling_activations error_components reducing_nonlinear_error controls"

for device in cuda cpu; do
  mkdir -p "$BOOK_CACHE/npm" "$BOOK_CACHE/models" "$CACHE/$device"
  for shared in npm models; do ln -sfn "$(realpath "$BOOK_CACHE/$shared")" "$CACHE/$device/$shared"; done
done

status=0
build() {  # build DEVICE PROFILE [SECTION ...]: execute, no rendering; the whole output goes to a log
  local device=$1 profile=$2
  shift 2
  local hide=() only=()
  [ "$device" = cpu ] && hide=(CUDA_VISIBLE_DEVICES=)
  [ $# -gt 0 ] && only=(--only "$@")
  local log="$CACHE/$device-$profile.log"
  echo "== $profile on $device (log: $log)"
  env "${hide[@]}" DARKMATTER_CACHE="$CACHE/$device" "$PY" -m helpers.build --profile "$profile" \
    --no-render "${only[@]}" > "$log" 2>&1 || status=1
  grep -a "executed in\|unchanged\|error" "$log" || true
}

echo "== unit tests"
"$PY" -m pytest -q tests/book tests/toys tests/toy_saes tests/lm tests/dark_matter tests/bench || status=1
build cuda smoke
build cpu smoke
build cuda cpu $PART_III_IV
build cpu cpu $PART_III_IV

for profile in smoke cpu; do
  echo "== $profile: CUDA against CPU (metrics within 1e-3 relative; verdicts equal)"
  "$PY" -m helpers.book.compare "$CACHE/cpu/book/$profile-seed0/results" \
    "$CACHE/cuda/book/$profile-seed0/results" --rtol 1e-3 | tail -n 1 || status=1
done
exit $status
