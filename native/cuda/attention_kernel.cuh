// The one flash-attention kernel behind dense attention, sparse attention and recall: a block
// computes 64 query rows of one head against a list of 64-key chunks (contiguous tiles, then
// loose columns gathered 64 at a time), with an online softmax in fp32, native GQA and the
// causal / A-shape window mask. Without V it only produces the log-sum-exp (recall, map stats).
#pragma once
#include <algorithm>
#include <vector>

#include "index_format.h"
#include "tile_mma.cuh"

namespace sparsescope::cuda {

// A sparse index on the device; tileOffsets == nullptr means dense causal (tiles 0..block).
struct DeviceIndexView {
  int numBlocks = 0;
  const int32_t* tileOffsets = nullptr;
  const int32_t* tileStarts = nullptr;
  const int32_t* colOffsets = nullptr;
  const int32_t* columns = nullptr;
  const int32_t* window = nullptr;
};

// The key chunks one (head, query block) visits.
struct ChunkList {
  const int32_t* tileStarts = nullptr;  // null: tiles 0, 64, 128, ...
  int tileCount = 0;
  const int32_t* columns = nullptr;
  int columnCount = 0;
  int windowInit = -1, windowLocal = -1;  // A-shape restriction, -1 when none

  __device__ static ChunkList of(const DeviceIndexView& index, int head, int block) {
    ChunkList list;
    if (index.tileOffsets == nullptr) {
      list.tileCount = block + 1;
      return list;
    }
    const int slot = head * index.numBlocks + block;
    list.tileStarts = index.tileStarts + index.tileOffsets[slot];
    list.tileCount = index.tileOffsets[slot + 1] - index.tileOffsets[slot];
    list.columns = index.columns + index.colOffsets[slot];
    list.columnCount = index.colOffsets[slot + 1] - index.colOffsets[slot];
    list.windowInit = index.window[2 * head];
    list.windowLocal = index.window[2 * head + 1];
    return list;
  }
  __device__ int count() const { return tileCount + (columnCount + kTileRows - 1) / kTileRows; }
  __device__ bool contiguous(int chunk) const { return chunk < tileCount; }
  __device__ int tileStart(int chunk) const { return tileStarts ? tileStarts[chunk] : chunk * kTileRows; }
  __device__ int gatheredKey(int chunk, int row) const {
    const int position = (chunk - tileCount) * kTileRows + row;
    return position < columnCount ? columns[position] : -1;
  }
};

template <typename T>
struct AttentionArgs {
  const T* q = nullptr;  // [H, N, D]
  const T* k = nullptr;  // [Hkv, N, D]
  const T* v = nullptr;  // [Hkv, N, D], unused without V
  int seqLen = 0;
  int groupSize = 1;             // H / Hkv
  int headBase = 0;              // blockIdx.y + headBase is the query head
  const int32_t* blocks = nullptr;  // query blocks to compute (blockIdx.x indexes it), longest first
  const int32_t* rowSlot = nullptr;  // null: output row = query row; else slot or -1 (skip) per row
  int rowsOut = 0;               // R
  float* out = nullptr;          // [H, R, D]
  float* lse = nullptr;          // [H, R]
  DeviceIndexView index;
  float scaleLog2 = 0;           // log2(e) / sqrt(D)
};

template <int D, bool kWithV>
constexpr int attentionSharedBytes() {
  return (kWithV ? 4 : 2) * kTileRows * D * 2 + 2 * kTileRows * int(sizeof(int));
}

template <typename T, int D, bool kWithV>
__global__ void __launch_bounds__(kThreads) attentionKernel(const AttentionArgs<T> args) {
  extern __shared__ __align__(16) unsigned char shared[];
  T* keyTiles = reinterpret_cast<T*>(shared);                   // [2][64 * D]
  T* valueTiles = keyTiles + 2 * kTileRows * D;                 // [2][64 * D] with V
  int* gatheredKeys = reinterpret_cast<int*>(keyTiles + (kWithV ? 4 : 2) * kTileRows * D);  // [2][64]

  const int N = args.seqLen;
  const int head = args.headBase + blockIdx.y;
  const int block = args.blocks[blockIdx.x];
  const int rowStart = block * kTileRows;
  const size_t kvOffset = size_t(head / args.groupSize) * N * D;
  const T* keys = args.k + kvOffset;
  const T* values = args.v + kvOffset;

  // Queries go through the second key stage, which is free until chunk 1 is loaded.
  loadTileAsync<T, D>(keyTiles + kTileRows * D, args.q + size_t(head) * N * D,
                      [&](int r) { return rowStart + r < N ? rowStart + r : -1; });
  copyAsyncCommit();
  copyAsyncWait<0>();
  __syncthreads();
  QueryFragments<D> queries;
  queries.load(keyTiles + kTileRows * D);
  __syncthreads();

  const ChunkList chunks = ChunkList::of(args.index, head, block);
  const int chunkCount = chunks.count();
  auto issueChunk = [&](int chunk) {
    const int stage = chunk & 1;
    if (chunks.contiguous(chunk)) {
      const int start = chunks.tileStart(chunk);
      auto rowOf = [&](int r) { return start + r < N ? start + r : -1; };
      loadTileAsync<T, D>(keyTiles + stage * kTileRows * D, keys, rowOf);
      if constexpr (kWithV) loadTileAsync<T, D>(valueTiles + stage * kTileRows * D, values, rowOf);
    } else {
      if (threadIdx.x < kTileRows) gatheredKeys[stage * kTileRows + threadIdx.x] = chunks.gatheredKey(chunk, threadIdx.x);
      auto rowOf = [&](int r) {
        const int j = chunks.gatheredKey(chunk, r);
        return j < N ? j : -1;  // a malformed index never reads past the tensor
      };
      loadTileAsync<T, D>(keyTiles + stage * kTileRows * D, keys, rowOf);
      if constexpr (kWithV) loadTileAsync<T, D>(valueTiles + stage * kTileRows * D, values, rowOf);
    }
    copyAsyncCommit();
  };
  if (chunkCount > 0) issueChunk(0);

  float out[D / 8][4] = {};
  float rowMax[2] = {-INFINITY, -INFINITY};
  float rowSum[2] = {0.f, 0.f};  // this thread's share; summed over the quad at the end
  const bool windowed = chunks.windowInit >= 0;

  for (int chunk = 0; chunk < chunkCount; ++chunk) {
    copyAsyncWait<0>();
    __syncthreads();  // chunk is in its stage, and every warp is done with the other stage
    if (chunk + 1 < chunkCount) issueChunk(chunk + 1);
    const int stage = chunk & 1;

    float scores[8][4];
    scoreTile<T, D>(scores, queries, keyTiles + stage * kTileRows * D);

    const bool contiguous = chunks.contiguous(chunk);
    const int start = contiguous ? chunks.tileStart(chunk) : 0;
    const bool needsMask = !contiguous || windowed || start + kTileRows - 1 > rowStart || start + kTileRows > N;
#pragma unroll
    for (int nt = 0; nt < 8; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        float s = scores[nt][e] * args.scaleLog2;
        if (needsMask) {
          const int i = rowStart + fragmentRow(e);
          const int column = fragmentColumn(nt, e);
          const int j = contiguous ? start + column : gatheredKeys[stage * kTileRows + column];
          bool keep = j >= 0 && j <= i && j < N;
          if (windowed) keep = keep && (j < chunks.windowInit || j > i - chunks.windowLocal);
          if (!keep) s = -INFINITY;
        }
        scores[nt][e] = s;
      }

#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float tileMax = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < 8; ++nt) tileMax = fmaxf(tileMax, fmaxf(scores[nt][2 * half], scores[nt][2 * half + 1]));
      const float newMax = fmaxf(rowMax[half], quadMax(tileMax));
      const float reference = newMax == -INFINITY ? 0.f : newMax;  // rows with nothing yet stay at 0
      const float correction = exp2f(rowMax[half] - reference);
      rowMax[half] = newMax;
      rowSum[half] *= correction;
      if constexpr (kWithV) {
#pragma unroll
        for (int dt = 0; dt < D / 8; ++dt) {
          out[dt][2 * half] *= correction;
          out[dt][2 * half + 1] *= correction;
        }
      }
#pragma unroll
      for (int nt = 0; nt < 8; ++nt)
#pragma unroll
        for (int e = 2 * half; e < 2 * half + 2; ++e) {
          const float p = exp2f(scores[nt][e] - reference);
          scores[nt][e] = p;
          rowSum[half] += p;
        }
    }
    if constexpr (kWithV) accumulateValues<T, D>(out, scores, valueTiles + stage * kTileRows * D);
  }

  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const float sum = quadSum(rowSum[half]);
    const int i = rowStart + fragmentRow(2 * half);
    if (i >= N) continue;
    const int slot = args.rowSlot ? args.rowSlot[i] : i;
    if (slot < 0) continue;
    const size_t outRow = size_t(head) * args.rowsOut + slot;
    if (lane % 4 == 0) args.lse[outRow] = sum > 0.f ? (rowMax[half] + log2f(sum)) * kLn2 : -INFINITY;
    if constexpr (kWithV) {
      const float inverse = sum > 0.f ? 1.f / sum : 0.f;
#pragma unroll
      for (int dt = 0; dt < D / 8; ++dt) {
        const float2 value = make_float2(out[dt][2 * half] * inverse, out[dt][2 * half + 1] * inverse);
        *reinterpret_cast<float2*>(args.out + outRow * D + dt * 8 + 2 * (lane % 4)) = value;
      }
    }
  }
}

// Host side: uploads inputs, runs the kernel for every query head (one launch per KV head group,
// checking cancellation between launches), downloads O (if withValues) and LSE.
struct AttentionJob {
  const AttentionInputs* inputs = nullptr;
  const RowSelection* rows = nullptr;
  const SparseIndexView* index = nullptr;  // null: dense causal
  bool withValues = true;
  float* out = nullptr;  // [H, R, D] when withValues
  float* lse = nullptr;  // [H, R]
};
std::string runAttention(const AttentionJob& job, const CallContext& ctx);

// Uploads a host sparse index; `view` then points at the device copies.
struct DeviceIndex {
  DeviceBuffer<int32_t> tileOffsets, tileStarts, colOffsets, columns, window;
  DeviceIndexView view;
  std::string upload(const SparseIndexView& index);
};

}  // namespace sparsescope::cuda
