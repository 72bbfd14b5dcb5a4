#!/usr/bin/env bash
# Queue search-array.sbatch (one task per layer shard) and, after every task succeeded, the merge
# of the shards into one config. Run from the sparsescope checkout's root.
#
#   CAPTURE=/data/llama-128k.safetensors OUT=llama.json [SHARDS=8] examples/cluster/submit-slurm.sh
#
# Env: CAPTURE, OUT (required); SHARDS (array tasks, default 8); WORK (default OUT.shards);
# SEARCH_ARGS, SPARSESCOPE (as search-array.sbatch); FORMAT (merged config's, default minference).
set -euo pipefail
: "${CAPTURE:?set CAPTURE}" "${OUT:?set OUT}"
shards=${SHARDS:-8}
export CAPTURE WORK=${WORK:-$(realpath -m "$OUT.shards")}
array=$(sbatch --parsable --array="0-$((shards - 1))" --export=ALL examples/cluster/search-array.sbatch)
sbatch --dependency="afterok:$array" --job-name=sparsescope-merge --output=sparsescope-merge-%j.log \
  --wrap "${SPARSESCOPE:-sparsescope} config merge $(printf %q "$WORK")/part-*.json --format ${FORMAT:-minference} --out $(printf %q "$OUT")"
echo "queued search array $array and its merge into $OUT"
