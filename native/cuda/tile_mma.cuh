// Warp-level building blocks shared by the attention, estimate and pooled-map kernels: a block of
// 4 warps owns 64 query rows (16 per warp); key tiles are 64 rows of D elements in swizzled
// shared memory, loaded with cp.async (rows given by an index function, so contiguous tiles and
// gathered loose columns use one path).
#pragma once
#include "common.cuh"

namespace sparsescope::cuda {

inline constexpr int kTileRows = 64;
inline constexpr int kWarps = 4;
inline constexpr int kThreads = kWarps * 32;
inline constexpr float kLog2e = 1.4426950408889634f;
inline constexpr float kLn2 = 0.6931471805599453f;

// Asynchronously loads tile rows rowOf(r) (r < 64; a negative row writes zeros) of a [*, D]
// tensor into a swizzled [64][D] shared tile, with all kCtaThreads threads. Caller commits and waits.
template <typename T, int D, int kCtaThreads = kThreads, typename RowOf>
__device__ __forceinline__ void loadTileAsync(T* tile, const T* tensor, RowOf rowOf) {
  constexpr int kChunks = D / 8;
  for (int idx = threadIdx.x; idx < kTileRows * kChunks; idx += kCtaThreads) {
    const int row = idx / kChunks, chunk = idx % kChunks;
    const int source = rowOf(row);
    const bool valid = source >= 0;
    copyAsync16(tile + swizzledOffset<D>(row, chunk), tensor + size_t(valid ? source : 0) * D + chunk * 8, valid);
  }
}

// A fragments of this warp's 16 rows of a [64][D] shared tile (the queries), kept in registers.
template <int D>
struct QueryFragments {
  uint32_t a[D / 16][4];

  template <typename T>
  __device__ __forceinline__ void load(const T* tile) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32 % kWarps;
    const int row = warp * 16 + (lane % 8) + ((lane / 8) & 1) * 8;
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) loadMatrixX4(a[kk], tile + swizzledOffset<D>(row, kk * 2 + lane / 16));
  }
};

// scores[nt][e] += q_row . k_col for this warp's 16 rows and the tile's 64 keys, in the mma
// C layout: row = 16*warp + lane/4 + 8*(e/2), key column = 8*nt + 2*(lane%4) + (e%2).
template <typename T, int D>
__device__ __forceinline__ void accumulateScores(float (&scores)[8][4], const QueryFragments<D>& q, const T* keyTile) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
    for (int np = 0; np < 4; ++np) {
      uint32_t b[4];
      const int key = np * 16 + (lane / 16) * 8 + (lane % 8);
      loadMatrixX4(b, keyTile + swizzledOffset<D>(key, kk * 2 + ((lane / 8) & 1)));
      mma16816<T>(scores[2 * np], q.a[kk], b[0], b[1]);
      mma16816<T>(scores[2 * np + 1], q.a[kk], b[2], b[3]);
    }
  }
}

__device__ __forceinline__ void zeroScores(float (&scores)[8][4]) {
#pragma unroll
  for (int nt = 0; nt < 8; ++nt)
#pragma unroll
    for (int e = 0; e < 4; ++e) scores[nt][e] = 0.f;
}

// scores[nt][e] = q_row . k_col (layout as accumulateScores).
template <typename T, int D>
__device__ __forceinline__ void scoreTile(float (&scores)[8][4], const QueryFragments<D>& q, const T* keyTile) {
  zeroScores(scores);
  accumulateScores<T, D>(scores, q, keyTile);
}

// The C layout of two adjacent score n-tiles is the A layout of one 16-key k-step: packs the
// probabilities of a 64-key (or 128-key) tile into the A fragments of its 4 (or 8) k-steps.
template <typename T, int kSteps>
__device__ __forceinline__ void packProbabilities(uint32_t (&a)[kSteps][4], const float (&probabilities)[2 * kSteps][4]) {
#pragma unroll
  for (int kk = 0; kk < kSteps; ++kk) {
    a[kk][0] = ElementTraits<T>::pack(probabilities[2 * kk][0], probabilities[2 * kk][1]);
    a[kk][1] = ElementTraits<T>::pack(probabilities[2 * kk][2], probabilities[2 * kk][3]);
    a[kk][2] = ElementTraits<T>::pack(probabilities[2 * kk + 1][0], probabilities[2 * kk + 1][1]);
    a[kk][3] = ElementTraits<T>::pack(probabilities[2 * kk + 1][2], probabilities[2 * kk + 1][3]);
  }
}

// out[dt] += probabilities (16 x 64, C layout of scoreTile) x valueTile (64 x D).
template <typename T, int D>
__device__ __forceinline__ void accumulateValues(float (&out)[D / 8][4], const float (&probabilities)[8][4],
                                                 const T* valueTile) {
  const int lane = threadIdx.x % 32;
  uint32_t a[4][4];
  packProbabilities<T>(a, probabilities);
#pragma unroll
  for (int kk = 0; kk < 4; ++kk) {
#pragma unroll
    for (int dp = 0; dp < D / 16; ++dp) {
      uint32_t b[4];
      const int key = kk * 16 + (lane % 8) + ((lane / 8) & 1) * 8;
      loadMatrixX4Transposed(b, valueTile + swizzledOffset<D>(key, dp * 2 + lane / 16));
      mma16816<T>(out[2 * dp], a[kk], b[0], b[1]);
      mma16816<T>(out[2 * dp + 1], a[kk], b[2], b[3]);
    }
  }
}

// Running maximum and sum of exp2 of this thread's two rows (half = e / 2 of the C layout) over
// masked log2-unit scores (-inf: masked); combineQuad() leaves each row's totals in its 4 lanes.
struct RowStats {
  float max[2] = {-INFINITY, -INFINITY}, sum[2] = {0.f, 0.f};

  __device__ __forceinline__ void add(const float (&scores)[8][4]);
  __device__ __forceinline__ void combineQuad();
};

// Position of element e of n-tile nt of this thread in its warpgroup's 64-row score tile.
__device__ __forceinline__ int fragmentRow(int e) {
  return (threadIdx.x / 32 % kWarps) * 16 + (threadIdx.x % 32) / 4 + (e / 2) * 8;
}
__device__ __forceinline__ int fragmentColumn(int nt, int e) { return nt * 8 + 2 * (threadIdx.x % 4) + (e % 2); }

// Reduces over the 4 lanes of a quad (the lanes sharing one row in the C layout).
__device__ __forceinline__ float quadMax(float value) {
  value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, 1));
  return fmaxf(value, __shfl_xor_sync(0xffffffffu, value, 2));
}
__device__ __forceinline__ float quadSum(float value) {
  value += __shfl_xor_sync(0xffffffffu, value, 1);
  return value + __shfl_xor_sync(0xffffffffu, value, 2);
}

__device__ __forceinline__ void RowStats::add(const float (&scores)[8][4]) {
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    float tileMax = -INFINITY;
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) tileMax = fmaxf(tileMax, fmaxf(scores[nt][2 * half], scores[nt][2 * half + 1]));
    const float newMax = fmaxf(max[half], tileMax);
    if (newMax == -INFINITY) continue;
    sum[half] *= exp2f(max[half] - newMax);
#pragma unroll
    for (int nt = 0; nt < 8; ++nt) sum[half] += exp2f(scores[nt][2 * half] - newMax) + exp2f(scores[nt][2 * half + 1] - newMax);
    max[half] = newMax;
  }
}

__device__ __forceinline__ void RowStats::combineQuad() {
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const float quadMaximum = quadMax(max[half]);
    const float scaled = quadMaximum == -INFINITY ? 0.f : sum[half] * exp2f(max[half] - quadMaximum);
    max[half] = quadMaximum;
    sum[half] = quadSum(scaled);
  }
}

}  // namespace sparsescope::cuda
