#!/usr/bin/env bash
# Everything one GPU call should do, in priority order, each step within its own time limit so that
# a slow step cannot starve the rest (a call may run 600 s, and machines are scarce; the limits
# add up to 570 s):
#   test     npm run test:gpu (correctness first: a kernel that fails makes its timings moot);
#   1m       bench/gpu_1m.js, issue 13's targets at 1M tokens, keeping the capture and config;
#   bench    npm run bench:gpu, issue 14's rows (with MInference when MINFERENCE_DIR is set);
#   profile  Nsight Compute on the index build of the 1M layer just searched (bench/gpu_profile_index.js).
# Logs and copies of what the steps wrote (bench/RESULTS.md, the 1M config and e2e.json, the bench
# JSON) go to OUT_DIR ($OUT on the device machine, else a temp folder). Needs the addon and dist/.
# Env: OUT_DIR, STEPS (test,1m,bench,profile), E2E_SCOPE (layer; head holds every head's recall),
# MINFERENCE_DIR, NODE, BENCH_COMMIT, and the steps' own.
set -uo pipefail
cd "$(dirname "$0")/.."
node=${NODE:-node}
out=${OUT_DIR:-${OUT:-${TMPDIR:-/tmp}/sparsescope-gpu-all}}
steps=",${STEPS:-test,1m,bench,profile},"
# The issues' end-to-end targets ask for mean recall 0.95: the searches hold the layer's mean.
scope=${E2E_SCOPE:-layer}
work=${TMPDIR:-/tmp}/sparsescope-gpu-all-work
mkdir -p "$out" "$work"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee "$out/device.txt"

# run NAME SECONDS COMMAND...: the step's output to NAME.log, its last lines and status to stdout.
run() {
  local name=$1 limit=$2
  shift 2
  case "$steps" in *",$name,"*) ;; *) return 0 ;; esac
  local started=$SECONDS
  timeout "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  echo "== $name: exit $rc after $((SECONDS - started)) s (limit $limit s)"
  tail -n 15 "$out/$name.log"
}

run test 120 "$node" tools/gpu-tests.js
run 1m 280 env SPARSESCOPE_OP_TIMES=1 KEEP_WORK=1 E2E_BUDGET_S="${E2E_BUDGET_S:-240}" E2E_SCOPE="$scope" UI=0 "$node" bench/gpu_1m.js --work "$work/1m"
cp "$work/1m/e2e.json" "$work/1m/e2e/config-1048576.json" "$out/" 2> /dev/null
run bench 140 env REPEATS="${REPEATS:-3}" E2E_BUDGET_S=80 E2E_SCOPE="$scope" OUT_DIR="$work/bench" bash bench/gpu.sh
cp "$work"/bench/*.json "$out/" 2> /dev/null
if command -v ncu > /dev/null && [ -f "$work/1m/e2e/demo-1048576.safetensors" ]; then
  run profile 30 ncu --clock-control none --metrics gpu__time_duration.sum --csv \
    "$node" bench/gpu_profile_index.js "$work/1m/e2e/demo-1048576.safetensors" "$work/1m/e2e/config-1048576.json"
fi
cp bench/RESULTS.md "$out/"
rm -rf "$work"
