// Block-wide exact top-k by radix select: the k largest of n keys, ties broken towards the lower
// index (the rule of a stable descending sort), written as ascending indices. One thread block
// per list; keys are read through an accessor, so they can live in global or shared memory.
#pragma once
#include <cub/block/block_scan.cuh>

#include "common.cuh"

namespace sparsescope::cuda {

// Maps a float to an unsigned key with the same order (larger float, larger key); NaN ranks
// lowest, as in the CPU builder.
__device__ __forceinline__ uint32_t orderedKey(float value) {
  if (value != value) return 0u;
  const uint32_t bits = __float_as_uint(value);
  return bits ^ ((bits >> 31) ? 0xffffffffu : 0x80000000u);
}

template <int kBlockThreads, typename KeyOf>
__device__ void selectTopKAscending(int n, int k, KeyOf keyOf, int32_t* out) {
  static_assert(kBlockThreads >= 256, "one thread per histogram bin");
  using Scan = cub::BlockScan<int, kBlockThreads>;
  __shared__ typename Scan::TempStorage scanStorage;
  __shared__ int histogram[256];
  __shared__ uint32_t chosenPrefix;
  __shared__ int chosenRemaining;
  if (k <= 0) return;

  // Four 8-bit passes find the k-th largest key (`prefix`) and how many keys equal to it to take.
  uint32_t prefix = 0, mask = 0;
  int remaining = k;
  for (int shift = 24; shift >= 0; shift -= 8) {
    for (int d = threadIdx.x; d < 256; d += kBlockThreads) histogram[d] = 0;
    __syncthreads();
    for (int i = threadIdx.x; i < n; i += kBlockThreads) {
      const uint32_t key = keyOf(i);
      const bool counted = (key & mask) == prefix;
      const unsigned voters = __ballot_sync(__activemask(), counted);
      if (counted) {
        // One atomic per distinct digit of the warp: softmax scores share a few exponents, so
        // most keys of a pass land in one or two bins and per-thread atomics there serialize.
        const uint32_t digit = (key >> shift) & 255u;
        const unsigned peers = __match_any_sync(voters, digit);
        if (__ffs(peers) - 1 == int(threadIdx.x & 31)) atomicAdd(&histogram[digit], __popc(peers));
      }
    }
    __syncthreads();
    // Thread t looks at bin 255 - t: `above` counts the keys in higher bins. The chosen bin is the
    // highest one that reaches `remaining` (bin 0 if none does).
    const int bin = 255 - int(threadIdx.x);
    const int count = bin >= 0 ? histogram[bin] : 0;
    int above;
    Scan(scanStorage).ExclusiveSum(count, above);
    if (bin >= 0 && above < remaining && (above + count >= remaining || bin == 0)) {
      chosenPrefix = prefix | (uint32_t(bin) << shift);
      chosenRemaining = remaining - above;
    }
    __syncthreads();
    prefix = chosenPrefix;
    remaining = chosenRemaining;
    mask |= 255u << shift;
  }

  // Compaction in index order keeps the output ascending and takes the lowest-index ties. Each
  // warp takes one contiguous segment: it counts the keys above and equal to `prefix` there, and
  // after one exchange of those counts writes its taken indices at (keys above before i) +
  // min(keys equal before i, remaining), ranks within 32 keys by ballot (one barrier in all,
  // where two block-wide scans per kBlockThreads keys made the compaction barrier-bound).
  constexpr int kWarps = kBlockThreads / 32;
  __shared__ int warpAbove[kWarps], warpEqual[kWarps];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int segment = (n + kBlockThreads - 1) / kBlockThreads * 32;
  const int begin = min(n, warp * segment), end = min(n, begin + segment);
  int aboveBefore = 0, equalBefore = 0;
  for (int base = begin; base < end; base += 32) {
    const int i = base + lane;
    const uint32_t key = i < end ? keyOf(i) : 0u;
    aboveBefore += __popc(__ballot_sync(0xffffffffu, i < end && key > prefix));
    equalBefore += __popc(__ballot_sync(0xffffffffu, i < end && key == prefix));
  }
  if (lane == 0) {
    warpAbove[warp] = aboveBefore;
    warpEqual[warp] = equalBefore;
  }
  __syncthreads();
  aboveBefore = equalBefore = 0;
  for (int w = 0; w < warp; ++w) {
    aboveBefore += warpAbove[w];
    equalBefore += warpEqual[w];
  }
  const unsigned lowerLanes = (1u << lane) - 1u;
  for (int base = begin; base < end; base += 32) {
    const int i = base + lane;
    const uint32_t key = i < end ? keyOf(i) : 0u;
    const unsigned above = __ballot_sync(0xffffffffu, i < end && key > prefix);
    const unsigned equal = __ballot_sync(0xffffffffu, i < end && key == prefix);
    const int equalRank = equalBefore + __popc(equal & lowerLanes);
    const bool isAbove = (above >> lane) & 1u, isEqual = (equal >> lane) & 1u;
    if (isAbove || (isEqual && equalRank < remaining))
      out[aboveBefore + __popc(above & lowerLanes) + min(equalRank, remaining)] = i;
    aboveBefore += __popc(above);
    equalBefore += __popc(equal);
  }
}

}  // namespace sparsescope::cuda
