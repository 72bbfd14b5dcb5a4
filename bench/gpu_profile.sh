#!/usr/bin/env bash
# Nsight Compute on the kernels of bench/gpu_profile.js (issue 14: what limits each kernel that
# misses its target). Writes PROFILE_DIR/profile.ncu-rep and a text summary per kernel launch
# (throughput vs peak, occupancy, warp stall reasons, tensor-pipe use, shared/L2/DRAM traffic).
# Clocks are left alone (--clock-control none), as the GPU machine's notes ask.
set -euo pipefail
cd "$(dirname "$0")/.."
node=${NODE:-node}
dir=${PROFILE_DIR:-${TMPDIR:-/tmp}/sparsescope-profile}
mkdir -p "$dir"
sections=(--section SpeedOfLight --section LaunchStats --section Occupancy --section WarpStateStats
  --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section SchedulerStats)
ncu --clock-control none --target-processes all "${sections[@]}" \
  -k 'regex:warpSpecialized|attentionKernel|rowStats|tileScores|slashCombine|select|convert|slashRanges|markSlashes' \
  -f -o "$dir/profile" "$node" bench/gpu_profile.js
ncu --import "$dir/profile.ncu-rep" --page details > "$dir/profile.txt"
ncu --import "$dir/profile.ncu-rep" --page raw --csv \
  --metrics gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active,sm__warps_active.avg.pct_of_peak_sustained_active,l1tex__data_pipe_lsu_wavefronts_mem_shared.sum,lts__t_bytes.sum,dram__bytes.sum \
  > "$dir/profile.csv" || true
echo "profile written to $dir" >&2
