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

  // Compaction in index order keeps the output ascending and takes the lowest-index ties.
  int equalBefore = 0, written = 0;
  for (int base = 0; base < n; base += kBlockThreads) {
    const int i = base + threadIdx.x;
    const uint32_t key = i < n ? keyOf(i) : 0u;
    const bool above = i < n && key > prefix;
    const bool equal = i < n && key == prefix;
    int equalRank, equalTotal;
    Scan(scanStorage).ExclusiveSum(equal ? 1 : 0, equalRank, equalTotal);
    __syncthreads();
    const bool take = above || (equal && equalBefore + equalRank < remaining);
    int position, taken;
    Scan(scanStorage).ExclusiveSum(take ? 1 : 0, position, taken);
    __syncthreads();
    if (take) out[written + position] = i;
    equalBefore += equalTotal;
    written += taken;
  }
}

}  // namespace sparsescope::cuda
