// The one flash-attention kernel behind dense attention, sparse attention and recall: a block
// computes 64 query rows of one head against a list of 64-key chunks (contiguous tiles, then
// loose columns gathered 64 at a time), with an online softmax in fp32, native GQA and the
// causal / A-shape window mask. Without V it only produces the log-sum-exp (recall, map stats).
#pragma once
#include <algorithm>
#include <climits>
#include <vector>

#include "index_format.h"
#include "tile_mma.cuh"
#include "wgmma.cuh"

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
  __device__ int tileStart(int tile) const { return tileStarts ? tileStarts[tile] : tile * kTileRows; }
  __device__ int columnChunks() const { return (columnCount + kTileRows - 1) / kTileRows; }
  // Row `row` of loose-column chunk `chunk` (64 columns each), -1 past the last column.
  __device__ int gatheredKey(int chunk, int row) const {
    const int position = chunk * kTileRows + row;
    return position < columnCount ? columns[position] : -1;
  }
};

// One key chunk of a block: a contiguous tile at `start` (columnGroup < 0) or loose-column chunk
// `columnChunk` of group `columnGroup`'s list; `groups` has bit g set when group g computes it
// (0: no chunk left).
struct ChunkStep {
  int start = 0;
  int columnGroup = -1, columnChunk = 0;
  unsigned groups = 0;
};

// Walks the chunk lists of a block's groups merged: tiles by ascending start (a tile in several
// groups' lists is loaded once for all of them), then the loose columns, once for every group
// when all their lists are the same (as for neighbouring blocks of a Vertical-Slash band), else
// group after group. It lives in shared memory and thread 0 advances it (registers are the
// kernel's limit), publishing each step two chunks ahead in a ring of three.
template <int kGroups>
struct ChunkCursor {
  const ChunkList* lists;
  bool columnsShared;
  int nextTile[kGroups] = {};
  int columnGroup = 0, columnChunk = 0;

  __device__ ChunkStep advance() {
    ChunkStep step;
    int start = INT_MAX;
#pragma unroll
    for (int g = 0; g < kGroups; ++g)
      if (nextTile[g] < lists[g].tileCount) start = min(start, lists[g].tileStart(nextTile[g]));
    if (start != INT_MAX) {
      step.start = start;
#pragma unroll
      for (int g = 0; g < kGroups; ++g)
        if (nextTile[g] < lists[g].tileCount && lists[g].tileStart(nextTile[g]) == start) {
          step.groups |= 1u << g;
          ++nextTile[g];
        }
      return step;
    }
    while (columnGroup < kGroups) {
      if (columnChunk < lists[columnGroup].columnChunks()) {
        step.columnGroup = columnGroup;
        step.columnChunk = columnChunk++;
        step.groups = columnsShared ? (1u << kGroups) - 1 : 1u << columnGroup;
        return step;
      }
      columnChunk = 0;
      columnGroup = columnsShared ? kGroups : columnGroup + 1;
    }
    return step;
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

// Shared memory of the kernel: K (and V) tiles in two stages, gathered key ids, query staging for
// warpgroups past the second (the first two stage their queries in the second K and V stages),
// and 1 KiB to align the tiles for wgmma descriptors.
template <int D, bool kWithV, int kGroups>
constexpr int attentionSharedBytes() {
  return ((kWithV ? 4 : 2) + (kGroups > 2 ? kGroups - 2 : 0)) * kTileRows * D * 2 + 2 * kTileRows * int(sizeof(int)) +
         1024;
}

// kHopper: the products run on wgmma (sm_90a) instead of mma.sync; everything else is shared.
// kGroups: warpgroups per block, each owning one 64-row query block of the same head and sharing
// the key/value tiles their chunk lists have in common (ChunkCursor), which divides the L2 ->
// shared memory traffic by up to kGroups.
// kDenseLists: dense causal lists (no index) whose chunks follow from the chunk number, compiled
// without the cursor, which would cost the dense kernel registers it does not have.
// Launch bounds: 3 single-warpgroup Hopper blocks (168 registers) or one block of kGroups per SM.
template <typename T, int D, bool kWithV, bool kHopper, int kGroups, bool kDenseLists = false>
__global__ void __launch_bounds__(kThreads* kGroups, kHopper && kGroups == 1 ? 3 : 1)
    attentionKernel(const AttentionArgs<T> args) {
  static_assert(kGroups == 1 || kWithV, "query staging of several warpgroups uses the value stages");
  constexpr int kCtaThreads = kThreads * kGroups;
  extern __shared__ __align__(16) unsigned char sharedRaw[];
  unsigned char* shared = sharedRaw + ((1024 - sharedAddress(sharedRaw) % 1024) % 1024);
  T* keyTiles = reinterpret_cast<T*>(shared);                   // [2][64 * D]
  T* valueTiles = keyTiles + 2 * kTileRows * D;                 // [2][64 * D] with V
  T* extraQueryTiles = keyTiles + (kWithV ? 4 : 2) * kTileRows * D;  // [kGroups - 2][64 * D]
  int* gatheredKeys = reinterpret_cast<int*>(extraQueryTiles + (kGroups > 2 ? kGroups - 2 : 0) * kTileRows * D);

  const int N = args.seqLen;
  const int head = args.headBase + blockIdx.y;
  const int group = threadIdx.x / kThreads;
  const int lastBlock = min(args.blocks[blockIdx.x] * kGroups + kGroups - 1, (N - 1) / kTileRows);
  const int block = args.blocks[blockIdx.x] * kGroups + group;
  const int rowStart = block * kTileRows;
  const size_t kvOffset = size_t(head / args.groupSize) * N * D;
  const T* keys = args.k + kvOffset;
  const T* values = args.v + kvOffset;

  // Queries go through stages that are free until chunk 1 is loaded.
  auto queryStaging = [&](int g) {
    return g == 0 ? keyTiles + kTileRows * D
                  : (g == 1 ? valueTiles + kTileRows * D : extraQueryTiles + (g - 2) * kTileRows * D);
  };
  for (int g = 0; g < kGroups; ++g) {
    const int start = (args.blocks[blockIdx.x] * kGroups + g) * kTileRows;
    loadTileAsync<T, D, kCtaThreads>(queryStaging(g), args.q + size_t(head) * N * D,
                                     [&](int r) { return start + r < N ? start + r : -1; });
  }
  copyAsyncCommit();
  copyAsyncWait<0>();
  __syncthreads();
  QueryFragments<D> queries;
  queries.load(queryStaging(group));
  __syncthreads();

  // Each group's chunk list (a group past the last row gets an empty one), merged by the cursor.
  __shared__ __align__(16) unsigned char groupChunkBytes[sizeof(ChunkList) * kGroups];
  ChunkList* groupChunks = reinterpret_cast<ChunkList*>(groupChunkBytes);
  if (threadIdx.x < kGroups) {
    const int groupBlock = args.blocks[blockIdx.x] * kGroups + threadIdx.x;
    groupChunks[threadIdx.x] = groupBlock <= lastBlock ? ChunkList::of(args.index, head, groupBlock) : ChunkList{};
  }
  __syncthreads();
  bool sameColumns = true;
  for (int g = 1; g < kGroups; ++g) {
    sameColumns = sameColumns && groupChunks[g].columnCount == groupChunks[0].columnCount;
    for (int c = threadIdx.x; sameColumns && c < groupChunks[0].columnCount; c += kCtaThreads)
      sameColumns = groupChunks[g].columns[c] == groupChunks[0].columns[c];
  }
  const bool columnsShared = kGroups == 1 || __syncthreads_and(sameColumns);
  __shared__ __align__(16) unsigned char cursorBytes[sizeof(ChunkCursor<kGroups>)];
  __shared__ ChunkStep stepRing[3];  // step of chunk c in stepRing[c % 3]
  auto* cursor = reinterpret_cast<ChunkCursor<kGroups>*>(cursorBytes);
  const ChunkList& chunks = groupChunks[0];  // the window is per head
  auto issueChunk = [&](const ChunkStep& step, int stage) {
    if (step.columnGroup < 0) {
      auto rowOf = [&](int r) { return step.start + r < N ? step.start + r : -1; };
      loadTileAsync<T, D, kCtaThreads>(keyTiles + stage * kTileRows * D, keys, rowOf);
      if constexpr (kWithV) loadTileAsync<T, D, kCtaThreads>(valueTiles + stage * kTileRows * D, values, rowOf);
    } else {
      const ChunkList& list = groupChunks[step.columnGroup];
      if (threadIdx.x < kTileRows) gatheredKeys[stage * kTileRows + threadIdx.x] = list.gatheredKey(step.columnChunk, threadIdx.x);
      auto rowOf = [&](int r) {
        const int j = list.gatheredKey(step.columnChunk, r);
        return j < N ? j : -1;  // a malformed index never reads past the tensor
      };
      loadTileAsync<T, D, kCtaThreads>(keyTiles + stage * kTileRows * D, keys, rowOf);
      if constexpr (kWithV) loadTileAsync<T, D, kCtaThreads>(valueTiles + stage * kTileRows * D, values, rowOf);
    }
    copyAsyncCommit();
  };
  // Dense lists need no cursor: chunk c is tile c for every group with more than c tiles.
  auto stepOf = [&](int c) {
    if constexpr (kDenseLists) {
      ChunkStep step;
      step.start = c * kTileRows;
#pragma unroll
      for (int g = 0; g < kGroups; ++g)
        if (c < groupChunks[g].tileCount) step.groups |= 1u << g;
      return step;
    } else {
      return stepRing[c % 3];
    }
  };
  if (threadIdx.x == 0 && !kDenseLists) {
    *cursor = ChunkCursor<kGroups>{groupChunks, columnsShared};
    stepRing[0] = cursor->advance();
    stepRing[1] = cursor->advance();
  }
  __syncthreads();
  if (stepOf(0).groups != 0) issueChunk(stepOf(0), 0);

  float out[D / 8][4] = {};
  float rowMax[2] = {-INFINITY, -INFINITY};
  float rowSum[2] = {0.f, 0.f};  // this thread's share; summed over the quad at the end
  const bool windowed = chunks.windowInit >= 0;

  for (int chunk = 0;; ++chunk) {
    const ChunkStep step = stepOf(chunk);
    if (step.groups == 0) break;
    copyAsyncWait<0>();
    if constexpr (kHopper) asyncProxyFence();
    __syncthreads();  // chunk is in its stage, and every warp is done with the other stage
    const ChunkStep next = stepOf(chunk + 1);
    if (next.groups != 0) issueChunk(next, (chunk + 1) & 1);
    if (threadIdx.x == 0 && !kDenseLists) stepRing[(chunk + 2) % 3] = cursor->advance();
    if (!((step.groups >> group) & 1)) continue;  // not in this group's list (or no rows at all)
    const int stage = chunk & 1;

    float scores[8][4];
    if constexpr (kHopper) scoreTileHopper<T, D>(scores, queries, keyTiles + stage * kTileRows * D);
    else scoreTile<T, D>(scores, queries, keyTiles + stage * kTileRows * D);

    const bool contiguous = step.columnGroup < 0;
    const int start = contiguous ? step.start : 0;
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
    if constexpr (kWithV && kHopper) accumulateValuesHopper<T, D>(out, scores, valueTiles + stage * kTileRows * D);
    else if constexpr (kWithV) accumulateValues<T, D>(out, scores, valueTiles + stage * kTileRows * D);
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

// Whether the loaded module has the sm_90a (wgmma) code for this device, and the caller has not
// asked for the portable path (environment SPARSESCOPE_CUDA_PATH=portable).
bool hopperPathAvailable();

// Uploads a host sparse index; `view` then points at the device copies.
struct DeviceIndex {
  DeviceBuffer<int32_t> tileOffsets, tileStarts, colOffsets, columns, window;
  DeviceIndexView view;
  std::string upload(const SparseIndexView& index);
};

}  // namespace sparsescope::cuda
