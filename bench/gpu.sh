#!/usr/bin/env bash
# npm run bench:gpu — on a machine with an NVIDIA GPU and the addon already built (builds nothing):
# PyTorch SDPA baselines (flash, cuDNN) first, then our kernels, then a table with ratios, then
# dense attention at D = 64, 96, 128 on both kernel paths (bench/gpu_head_dims.js).
# Env: SEQ_LENS (default 32768,131072), REPEATS (5), NODE (node), OUT_DIR (a temp folder).
set -euo pipefail
cd "$(dirname "$0")/.."
out_dir=${OUT_DIR:-${TMPDIR:-/tmp}/sparsescope-gpu-bench}
mkdir -p "$out_dir"
if ! python3 bench/gpu_sdpa.py > "$out_dir/sdpa.jsonl"; then
  echo "PyTorch SDPA baselines failed; the table will lack them" >&2
fi
SDPA_JSON="$out_dir/sdpa.jsonl" RESULT_JSON="$out_dir/gpu.json" "${NODE:-node}" bench/gpu.js
"${NODE:-node}" bench/gpu_head_dims.js
