// Flash attention behind dense attention, sparse attention and recall: 64 query rows of one head
// against a list of 64-key chunks (contiguous tiles, then loose columns gathered 64 at a time),
// with an online softmax in fp32, native GQA and the causal / A-shape window mask. Without V it
// only produces the log-sum-exp (recall, map stats). This file holds the pieces both kernels
// share (chunk lists, mask, softmax, epilogue) and the one-warpgroup kernel; the Hopper kernel
// for attention with values is in attention_hopper.cuh.
#pragma once
#include <algorithm>
#include <climits>
#include <vector>

#include "index_format.h"
#include "tile_mma.cuh"
#include "wgmma.cuh"

namespace sparsescope::cuda {

// The key chunks one (head, query block) visits. Host code walks them too (the Hopper launch
// plans its step width from them, see attention.cu).
struct ChunkList {
  const int32_t* tileStarts = nullptr;  // null: tiles 0, 64, 128, ...
  int tileCount = 0;
  const int32_t* columns = nullptr;
  int columnCount = 0;
  int windowInit = -1, windowLocal = -1;  // A-shape restriction, -1 when none

  __host__ __device__ static ChunkList of(const SparseIndexView& index, int head, int block) {
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
  __host__ __device__ int tileStart(int tile) const { return tileStarts ? tileStarts[tile] : tile * kTileRows; }
  __host__ __device__ int columnChunks() const { return (columnCount + kTileRows - 1) / kTileRows; }
  // Row `row` of loose-column chunk `chunk` (64 columns each), -1 past the last column.
  __device__ int gatheredKey(int chunk, int row) const {
    const int position = chunk * kTileRows + row;
    return position < columnCount ? columns[position] : -1;
  }
};

// One key chunk of a block: a contiguous tile at `start` (columnGroup < 0) or loose-column chunk
// `columnChunk` of group `columnGroup`'s list; `groups` has bit g set when group g computes it
// (0: no chunk left). A wide step (only from ChunkCursor<_, true>) also covers the next 64 keys:
// the tile at start + 64, or loose-column chunk columnChunk + 1.
struct ChunkStep {
  int start = 0;
  int columnGroup = -1, columnChunk = 0;
  unsigned groups = 0;
  bool wide = false;
};

// Walks the chunk lists of a block's groups merged: tiles by ascending start (a tile in several
// groups' lists is loaded once for all of them), then the loose columns, once for every group
// when all their lists are the same (as for neighbouring blocks of a Vertical-Slash band), else
// alternating between the groups' lists so that every group has work while the other's chunks
// stream by. It lives in shared memory and one thread advances it (registers are the kernels' limit).
// kPairs: a step takes two chunks at once (wide) where it can: a tile and the adjacent one when
// exactly the same groups have both next in their lists, or two loose-column chunks of a list.
template <int kGroups, bool kPairs = false>
struct ChunkCursor {
  const ChunkList* lists;
  bool columnsShared;
  int nextTile[kGroups] = {};
  int nextColumnChunk[kGroups] = {};
  int columnTurn = 0;  // the group whose loose-column chunk is tried next

  __host__ __device__ ChunkStep advance() {
    ChunkStep step;
    int start = INT_MAX;
#pragma unroll
    for (int g = 0; g < kGroups; ++g)
      if (nextTile[g] < lists[g].tileCount) start = min(start, lists[g].tileStart(nextTile[g]));
    if (start != INT_MAX) {
      step.start = start;
      bool pair = kPairs;
#pragma unroll
      for (int g = 0; g < kGroups; ++g) {
        const bool inStep = hasTile(g, nextTile[g], start);
        if (inStep) step.groups |= 1u << g;
        // A group that needs the adjacent tile but not this one would miss it in a wide step.
        pair = pair && inStep == hasTile(g, nextTile[g] + int(inStep), start + kTileRows);
      }
      step.wide = pair;
#pragma unroll
      for (int g = 0; g < kGroups; ++g)
        if ((step.groups >> g) & 1) nextTile[g] += pair ? 2 : 1;
      return step;
    }
    const int listsWalked = columnsShared ? 1 : kGroups;
    for (int tried = 0; tried < listsWalked; ++tried) {
      const int g = columnTurn;
      columnTurn = (columnTurn + 1) % listsWalked;
      if (nextColumnChunk[g] < lists[g].columnChunks()) {
        step.columnGroup = g;
        step.columnChunk = nextColumnChunk[g];
        step.wide = kPairs && step.columnChunk + 1 < lists[g].columnChunks();
        nextColumnChunk[g] += step.wide ? 2 : 1;
        step.groups = columnsShared ? (1u << kGroups) - 1 : 1u << g;
        return step;
      }
    }
    return step;
  }

 private:
  __host__ __device__ bool hasTile(int g, int tile, int start) const {
    return tile < lists[g].tileCount && lists[g].tileStart(tile) == start;
  }
};

template <typename T>
struct AttentionArgs {
  const T* q = nullptr;  // [H, N, D]
  const T* k = nullptr;  // [Hkv, N, D]
  const T* v = nullptr;  // [Hkv, N, D], unused without V
  int seqLen = 0;
  int groupSize = 1;             // H / Hkv
  int headBase = 0;              // blockIdx.x + headBase is the query head
  const int32_t* blocks = nullptr;  // first query block / blocks per CTA, per blockIdx.y; longest first
  const int32_t* rowSlot = nullptr;  // null: output row = query row; else slot or -1 (skip) per row
  int rowsOut = 0;               // R
  float* out = nullptr;          // [H, R, D]
  float* lse = nullptr;          // [H, R]
  SparseIndexView index;         // device pointers; tileOffsets == nullptr means dense causal
  float scaleLog2 = 0;           // log2(e) / sqrt(D)
};

// Masks what a chunk may not attend in one 64-row score tile of 8 kTiles keys (C layout): keys
// after the row (causal), past N, gathered slots past the list end, and keys outside an A-shape
// window. Contiguous chunks start at `start`; gathered ones take key ids from `gathered`.
struct TileMask {
  int rowStart = 0, seqLen = 0, windowInit = -1, windowLocal = -1;

  template <int kTiles, typename KeyOf>
  __device__ __forceinline__ void apply(float (&scores)[kTiles][4], bool contiguous, int start, KeyOf gathered) const {
    constexpr int kKeys = 8 * kTiles;
    const bool windowed = windowInit >= 0;
    // Nothing to mask when every key of the chunk precedes the block's first row. Gathered keys
    // ascend (the addon checks it), so the chunk's last one decides; -1 marks a partial chunk.
    if (!windowed) {
      const int lastKey = contiguous ? start + kKeys - 1 : gathered(kKeys - 1);
      if (lastKey >= 0 && lastKey <= rowStart && lastKey < seqLen) return;
    }
#pragma unroll
    for (int nt = 0; nt < kTiles; ++nt)
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int i = rowStart + fragmentRow(e);
        const int column = fragmentColumn(nt, e);
        const int j = contiguous ? start + column : gathered(column);
        bool keep = j >= 0 && j <= i && j < seqLen;
        if (windowed) keep = keep && (j < windowInit || j > i - windowLocal);
        if (!keep) scores[nt][e] = -INFINITY;
      }
  }
};

// 2^x on the special-function unit alone (flushing results below 2^-126 to 0): exp2f adds
// denormal handling around it, and the exponentials are the softmax's bottleneck.
__device__ __forceinline__ float fastExp2(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Online softmax state of this thread's two rows (e / 2 = half) of a warpgroup's 64 rows.
struct OnlineSoftmax {
  float rowMax[2] = {-INFINITY, -INFINITY};  // in log2 units (scores x scaleLog2)
  float rowSum[2] = {0.f, 0.f};  // this thread's share; summed over the quad at the end

  // Turns masked raw scores (kTiles n-tiles: 64 or 128 keys) into probabilities
  // exp2(score x scaleLog2 - max) in place (one FFMA and one exponential each) and returns, per
  // half, the factor that rescales everything accumulated so far to the new running maximum.
  template <int kTiles>
  __device__ __forceinline__ void update(float (&scores)[kTiles][4], float scaleLog2, float (&correction)[2]) {
#pragma unroll
    for (int half = 0; half < 2; ++half) {
      float tileMax = -INFINITY;
#pragma unroll
      for (int nt = 0; nt < kTiles; ++nt) tileMax = fmaxf(tileMax, fmaxf(scores[nt][2 * half], scores[nt][2 * half + 1]));
      const float newMax = fmaxf(rowMax[half], quadMax(tileMax) * scaleLog2);
      const float reference = newMax == -INFINITY ? 0.f : newMax;  // rows with nothing yet stay at 0
      correction[half] = fastExp2(rowMax[half] - reference);
      rowMax[half] = newMax;
      rowSum[half] *= correction[half];
#pragma unroll
      for (int nt = 0; nt < kTiles; ++nt)
#pragma unroll
        for (int e = 2 * half; e < 2 * half + 2; ++e) {
          const float p = fastExp2(fmaf(scores[nt][e], scaleLog2, -reference));
          scores[nt][e] = p;
          rowSum[half] += p;
        }
    }
  }
};

template <int D>
__device__ __forceinline__ void rescale(float (&out)[D / 8][4], const float (&correction)[2]) {
#pragma unroll
  for (int dt = 0; dt < D / 8; ++dt)
#pragma unroll
    for (int e = 0; e < 4; ++e) out[dt][e] *= correction[e / 2];
}

// Writes this thread's rows of a finished warpgroup: log-sum-exp (natural log) and, with V, O.
template <typename T, int D, bool kWithV>
__device__ __forceinline__ void writeRows(const AttentionArgs<T>& args, int head, int rowStart,
                                          const OnlineSoftmax& softmax, const float (&out)[D / 8][4]) {
  const int lane = threadIdx.x % 32;
#pragma unroll
  for (int half = 0; half < 2; ++half) {
    const float sum = quadSum(softmax.rowSum[half]);
    const int i = rowStart + fragmentRow(2 * half);
    if (i >= args.seqLen) continue;
    const int slot = args.rowSlot ? args.rowSlot[i] : i;
    if (slot < 0) continue;
    const size_t outRow = size_t(head) * args.rowsOut + slot;
    if (lane % 4 == 0) args.lse[outRow] = sum > 0.f ? (softmax.rowMax[half] + log2f(sum)) * kLn2 : -INFINITY;
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

// Loads chunk `step` of a block's list into a K (and V) stage with all kLoaders threads
// (threadIdx.x < kLoaders); gathered rows past the list or past N are zero-filled. Caller commits.
template <typename T, int D, bool kWithV, int kLoaders>
__device__ __forceinline__ void loadChunkAsync(T* keyTile, T* valueTile, const T* keys, const T* values,
                                               const ChunkStep& step, const ChunkList* lists, int seqLen) {
  if (step.columnGroup < 0) {
    auto rowOf = [&](int r) { return step.start + r < seqLen ? step.start + r : -1; };
    loadTileAsync<T, D, kLoaders>(keyTile, keys, rowOf);
    if constexpr (kWithV) loadTileAsync<T, D, kLoaders>(valueTile, values, rowOf);
  } else {
    const ChunkList& list = lists[step.columnGroup];
    auto rowOf = [&](int r) {
      const int j = list.gatheredKey(step.columnChunk, r);
      return j < seqLen ? j : -1;  // a malformed index never reads past the tensor
    };
    loadTileAsync<T, D, kLoaders>(keyTile, keys, rowOf);
    if constexpr (kWithV) loadTileAsync<T, D, kLoaders>(valueTile, values, rowOf);
  }
}

// Shared memory of the one-warpgroup kernel: K (and V) tiles in two stages (the queries are staged
// in the second key stage), gathered key ids, and 1 KiB to align the tiles for wgmma descriptors.
template <int D, bool kWithV>
constexpr int attentionSharedBytes() {
  return (kWithV ? 4 : 2) * kTileRows * D * 2 + 2 * kTileRows * int(sizeof(int)) + 1024;
}

// One warpgroup computes one 64-row query block against its chunk list with a two-stage cp.async
// pipeline and a block barrier per chunk. It is the portable path (kHopper false: mma.sync, sm_80+)
// and the Hopper path of the log-sum-exp-only pass (kWithV false); Hopper attention with values
// runs the warp-specialized kernel of attention_hopper.cuh.
template <typename T, int D, bool kWithV, bool kHopper>
__global__ void __launch_bounds__(kThreads, kHopper ? 3 : 1) attentionKernel(const AttentionArgs<T> args) {
  static_assert(!(kWithV && kHopper), "Hopper attention with values runs attention_hopper.cuh");
  extern __shared__ __align__(16) unsigned char sharedRaw[];
  unsigned char* shared = sharedRaw + ((1024 - sharedAddress(sharedRaw) % 1024) % 1024);
  T* keyTiles = reinterpret_cast<T*>(shared);                    // [2][64 * D]
  T* valueTiles = keyTiles + 2 * kTileRows * D;                  // [2][64 * D] with V
  int* gatheredKeys = reinterpret_cast<int*>(keyTiles + (kWithV ? 4 : 2) * kTileRows * D);  // [2][64]

  const int N = args.seqLen;
  const int head = args.headBase + blockIdx.x;
  const int block = args.blocks[blockIdx.y];
  const int rowStart = block * kTileRows;
  const size_t kvOffset = size_t(head / args.groupSize) * N * D;
  const T* keys = args.k + kvOffset;
  const T* values = args.v + kvOffset;

  // The queries go through the second key stage, which is free until chunk 1 is loaded.
  loadTileAsync<T, D>(keyTiles + kTileRows * D, args.q + size_t(head) * N * D,
                      [&](int r) { return rowStart + r < N ? rowStart + r : -1; });
  copyAsyncCommit();
  copyAsyncWait<0>();
  __syncthreads();
  QueryFragments<D> queries;
  queries.load(keyTiles + kTileRows * D);
  __syncthreads();

  __shared__ __align__(16) unsigned char chunkListBytes[sizeof(ChunkList)];
  __shared__ __align__(16) unsigned char cursorBytes[sizeof(ChunkCursor<1>)];
  __shared__ ChunkStep stepRing[3];  // step of chunk c in stepRing[c % 3], published two ahead
  ChunkList* chunks = reinterpret_cast<ChunkList*>(chunkListBytes);
  auto* cursor = reinterpret_cast<ChunkCursor<1>*>(cursorBytes);
  if (threadIdx.x == 0) {
    *chunks = ChunkList::of(args.index, head, block);
    *cursor = ChunkCursor<1>{chunks, true};
    stepRing[0] = cursor->advance();
    stepRing[1] = cursor->advance();
  }
  __syncthreads();
  auto issueChunk = [&](const ChunkStep& step, int stage) {
    if (step.columnGroup >= 0 && threadIdx.x < kTileRows)
      gatheredKeys[stage * kTileRows + threadIdx.x] = chunks->gatheredKey(step.columnChunk, threadIdx.x);
    loadChunkAsync<T, D, kWithV, kThreads>(keyTiles + stage * kTileRows * D, valueTiles + stage * kTileRows * D,
                                           keys, values, step, chunks, N);
    copyAsyncCommit();
  };
  if (stepRing[0].groups != 0) issueChunk(stepRing[0], 0);

  float out[D / 8][4] = {};
  OnlineSoftmax softmax;
  const TileMask mask{rowStart, N, chunks->windowInit, chunks->windowLocal};

  for (int chunk = 0;; ++chunk) {
    const ChunkStep step = stepRing[chunk % 3];
    if (step.groups == 0) break;
    copyAsyncWait<0>();
    if constexpr (kHopper) asyncProxyFence();
    __syncthreads();  // chunk is in its stage, and every warp is done with the other stage
    const ChunkStep next = stepRing[(chunk + 1) % 3];
    if (next.groups != 0) issueChunk(next, (chunk + 1) & 1);
    if (threadIdx.x == 0) stepRing[(chunk + 2) % 3] = cursor->advance();
    const int stage = chunk & 1;

    float scores[8][4];
    if constexpr (kHopper) scoreTileHopper<T, D>(scores, queries, keyTiles + stage * kTileRows * D);
    else scoreTile<T, D>(scores, queries, keyTiles + stage * kTileRows * D);
    mask.apply(scores, step.columnGroup < 0, step.start,
               [&](int column) { return gatheredKeys[stage * kTileRows + column]; });
    float correction[2];
    softmax.update(scores, args.scaleLog2, correction);
    if constexpr (kWithV) {
      rescale<D>(out, correction);
      accumulateValues<T, D>(out, scores, valueTiles + stage * kTileRows * D);
    }
  }
  writeRows<T, D, kWithV>(args, head, rowStart, softmax, out);
}

// Host side: uploads inputs, runs the kernel for every query head (one launch per KV head group,
// checking cancellation between launches), downloads O (if withValues) and LSE.
struct AttentionJob {
  const AttentionInputs* inputs = nullptr;
  const RowSelection* rows = nullptr;
  const SparseIndexView* index = nullptr;  // null: dense causal
  bool withValues = true;
  float* out = nullptr;  // [H, R, D] when withValues; null: O stays on the device (not copied back)
  float* lse = nullptr;  // [H, R]
  DeviceBuffer<float>* keptOut = nullptr;  // when set (with values): O [H, R, D] is moved here, not freed
};
std::string runAttention(const AttentionJob& job, const CallContext& ctx);

// Whether the loaded module has the sm_90a (wgmma) code for this device, and the caller has not
// asked for the portable path (environment SPARSESCOPE_CUDA_PATH=portable).
bool hopperPathAvailable();

// Uploads a host sparse index; `view` then points at the device copies.
struct DeviceIndex {
  DeviceBuffer<int32_t> tileOffsets, tileStarts, colOffsets, columns, window;
  SparseIndexView view;  // the device copies
  std::string upload(const SparseIndexView& index);
};

}  // namespace sparsescope::cuda
