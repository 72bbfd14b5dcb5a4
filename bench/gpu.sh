#!/usr/bin/env bash
# npm run bench:gpu: on a machine with an NVIDIA GPU and the addon already built (builds nothing),
# one call on one card, in this order:
#   1. bench/gpu_sdpa.py      PyTorch SDPA baselines (flash, cuDNN);
#   2. bench/gpu.js           our kernels: dense on both paths, VS on the band index, index build,
#                             VS on the estimated index, A-shape (random inputs);
#   3. bench/gpu_minference.py  when MINFERENCE_DIR names a MInference checkout
#                             (bench/minference-checkout.sh makes one): its Triton VS kernel on
#                             the same inputs and index as step 2's band row, outputs compared;
#   4. bench/gpu_head_dims.js dense per head dim (writes its own section of bench/RESULTS.md);
#   5. bench/gpu_e2e.js       index build on a structured capture (sparsescope demo), then search
#                             and bench end to end (needs dist/; E2E=0 skips it);
#   6. bench/gpu_report.js    the table with ratios and targets, printed and written to the "gpu"
#                             section of bench/RESULTS.md (also once before step 5).
# A step that fails or is skipped shows as such in the table; the exit status is non-zero if one
# failed. Env: SEQ_LENS (32768,131072), REPEATS (5), MINFERENCE_DIR, E2E (1), E2E_SEQ (131072),
# E2E_BUDGET_S (270), NODE (node), PYTHON (python3), OUT_DIR (a temp folder), BENCH_COMMIT (the
# commit to name when there is no git here).
set -uo pipefail
cd "$(dirname "$0")/.."
node=${NODE:-node}
python=${PYTHON:-python3}
out_dir=${OUT_DIR:-${TMPDIR:-/tmp}/sparsescope-gpu-bench}
mkdir -p "$out_dir"
# Nothing from an earlier run may be reported as this run's.
rm -rf "$out_dir/sdpa.jsonl" "$out_dir/gpu.json" "$out_dir/minference.json" "$out_dir/e2e.json" "$out_dir/band" "$out_dir/e2e-work"
steps="$out_dir/steps.tsv"
: > "$steps"
if [ "${npm_lifecycle_event:-}" = bench:gpu ]; then export BENCH_COMMAND="npm run bench:gpu"; else export BENCH_COMMAND="bash bench/gpu.sh"; fi
failed=0

# step NAME COMMAND...: runs it and records "NAME<TAB>ok|failed (exit N)<TAB>seconds".
step() {
  local name=$1
  shift
  local started=$SECONDS
  echo "== bench:gpu: $name" >&2
  "$@"
  local rc=$?
  if [ "$rc" -eq 0 ]; then
    printf '%s\tok\t%s\n' "$name" "$((SECONDS - started))" >> "$steps"
  else
    printf '%s\tfailed (exit %s)\t%s\n' "$name" "$rc" "$((SECONDS - started))" >> "$steps"
    failed=1
  fi
}
skip() {
  printf '%s\tnot run: %s\n' "$1" "$2" >> "$steps"
  echo "== bench:gpu: $1 not run: $2" >&2
}
sdpa() { "$python" bench/gpu_sdpa.py > "$out_dir/sdpa.jsonl"; }
ours() { SDPA_JSON="$out_dir/sdpa.jsonl" RESULT_JSON="$out_dir/gpu.json" "$node" bench/gpu.js; }

step sdpa sdpa

minference_dir=${MINFERENCE_DIR:-}
if [ -z "$minference_dir" ]; then
  skip minference "MINFERENCE_DIR is not set"
  minference_dir=
elif [ ! -f "$minference_dir/minference/ops/pit_sparse_flash_attention_v2.py" ]; then
  skip minference "MINFERENCE_DIR=$minference_dir holds no minference/ops/pit_sparse_flash_attention_v2.py (bench/minference-checkout.sh makes that checkout)"
  minference_dir=
else
  export MINFERENCE_EXPORT="$out_dir/band"
fi

step ours ours

if [ -n "$minference_dir" ]; then
  if [ -f "$out_dir/band/meta.json" ]; then
    step minference "$python" bench/gpu_minference.py --inputs "$out_dir/band" --out "$out_dir/minference.json" --minference "$minference_dir"
  else
    skip minference "bench/gpu.js exported no band inputs"
  fi
  rm -rf "$out_dir/band"
fi

step head-dims "$node" bench/gpu_head_dims.js

if [ "${E2E:-1}" = 0 ]; then
  skip e2e "E2E=0"
elif [ ! -f dist/electron/cli/main.js ]; then
  skip e2e "dist/ is not built (npm run build): this step goes through the sparsescope command"
else
  # The section first without this step, so that a run stopped during it still leaves the rest.
  "$node" bench/gpu_report.js --dir "$out_dir" --pending e2e > /dev/null
  budget=${E2E_BUDGET_S:-270}
  step e2e timeout "$((budget + 30))" env E2E_BUDGET_S="$budget" "$node" bench/gpu_e2e.js --out "$out_dir/e2e.json" --work "$out_dir/e2e-work"
  rm -rf "$out_dir/e2e-work"
fi

step report "$node" bench/gpu_report.js --dir "$out_dir"
echo "bench:gpu: step results in $out_dir (steps.tsv, sdpa.jsonl, gpu.json, minference.json, e2e.json)" >&2
exit "$failed"
