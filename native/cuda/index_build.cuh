// Internal interface between the index builder (index_build.cu) and its pattern-specific stages:
// the Vertical-Slash estimate + top-k (vs_estimate.cu), the Block-Sparse block choice
// (block_select.cu) and the XAttention and FlexPrefill estimates (xattention_estimate.cu,
// flexprefill_estimate.cu: the device computes what ops/xattention_index.h and
// ops/flexprefill_index.h define as masses and token scores, the host selection shared with the CPU
// builder turns them into each head's index). All pointers in jobs are device pointers.
#pragma once
#include <algorithm>
#include <vector>

#include "index_format.h"
#include "ops/head_index.h"
#include "tile_mma.cuh"

namespace sparsescope::cuda {

template <typename T>
struct EstimateJob {
  const T* q = nullptr;  // [H, N, D]
  const T* k = nullptr;  // [Hkv, N, D]
  int seqLen = 0, groupSize = 1;
  int lastQ = kMaxLastQ;       // estimate rows: the last min(lastQ, N) queries (one tile at most)
  int numHeads = 0;            // how many vertical_and_slash heads
  const int32_t* heads = nullptr;  // their query-head ids
  // Per listed head: {verticalOffset, verticalCount, slashOffset, slashCount}; the chosen columns and
  // offsets are written ascending to verticals / slashes at those offsets.
  const int32_t* selection = nullptr;
  int32_t* verticals = nullptr;
  int32_t* slashes = nullptr;
  // Scratch, allocated by the caller before timing starts (sizes from estimateScratchSizes).
  float2* rowStats = nullptr;
  float* verticalScores = nullptr;
  float* slashScores = nullptr;
  float* diagonalPartials = nullptr;
};

// Element counts of the estimate's scratch: rowStats, verticalScores, slashScores, diagonalPartials.
struct EstimateScratchSizes {
  size_t rowStats, verticalScores, slashScores, diagonalPartials;
};
EstimateScratchSizes estimateScratchSizes(int numHeads, int seqLen);

// Scores the last min(job.lastQ, N) queries against every key (fp32 softmax), sums the vertical and
// diagonal mass, forces columns < 30 and offsets < 100, and keeps the top-k of each.
template <typename T, int D>
std::string estimateVerticalSlash(const EstimateJob<T>& job);

inline constexpr int kForcedVerticals = 30;
inline constexpr int kForcedSlashes = 100;

template <typename T>
struct BlockSelectJob {
  const T* q = nullptr;
  const T* k = nullptr;
  int seqLen = 0, groupSize = 1, numKvHeads = 0;
  int numHeads = 0;                // how many block_sparse heads
  const int32_t* heads = nullptr;  // their query-head ids
  const int32_t* topK = nullptr;   // per listed head
  int32_t* chosen = nullptr;       // [numHeads][numBlocks][stride] ascending key blocks
  int32_t* chosenCount = nullptr;  // [numHeads][numBlocks]
  int stride = 0;                  // >= max top_k, <= numBlocks
  double* pooledQ = nullptr;       // scratch [numHeads][numBlocks][D]
  double* pooledK = nullptr;       // scratch [numKvHeads][D][numBlocks] (dimension-major)
};

// Mean-pools Q and K over 64-row blocks and keeps, per query block, the top_k causal key blocks
// by pooled dot product, the diagonal block always included.
template <typename T, int D>
std::string selectSparseBlocks(const BlockSelectJob<T>& job);

// Query heads with their device copies of q [H, N, D] and k [Hkv, N, D], for the method estimates.
template <typename T>
struct MethodInputs {
  const AttentionInputs& host;
  const T* q;
  const T* k;
};

// Time of the method estimates: device events of their kernels, host clock of the selection.
struct MethodTimes {
  double deviceMs = 0.0, hostMs = 0.0;
};

// The index of each listed XAttention head (ops/xattention_index.h) into out[head]: device masses,
// host xattentionKeepRow, in slabs of block rows.
template <typename T, int D>
std::string xattentionHeads(const MethodInputs<T>& inputs, HeadPatternsView patterns, int blockSize,
                            const std::vector<int32_t>& heads, std::vector<HeadIndex>& out, MethodTimes* times,
                            const CallContext& ctx);

// The index of each listed FlexPrefill head (ops/flexprefill_index.h; none dense by its fallback)
// into out[head]: device token scores, host flexprefillHeadFromScores.
template <typename T, int D>
std::string flexprefillHeads(const MethodInputs<T>& inputs, HeadPatternsView patterns, const IndexSettings& settings,
                             const std::vector<int32_t>& heads, std::vector<HeadIndex>& out, MethodTimes* times,
                             const CallContext& ctx);

// Heads per launch batch of a method estimate whose device scratch takes bytesPerHead (2 GiB in all).
inline int headsPerBatch(size_t bytesPerHead) {
  constexpr size_t kBudget = size_t(2) << 30;
  return int(std::max<size_t>(1, std::min<size_t>(1 << 20, kBudget / std::max<size_t>(bytesPerHead, 1))));
}

// Runs body(MethodInputs) on a device copy of query head `head` alone (as head 0, with its KV
// head): the single-head estimates the binding exposes for tests.
template <typename T, int D, typename Body>
std::string onOneHead(const AttentionInputs& inputs, int head, const CallContext& ctx, Body&& body) {
  AttentionInputs one = inputs;
  one.numHeads = one.numKvHeads = 1;
  const size_t elementBytes = sizeof(T);
  const size_t qBytes = inputs.rowOffset(head, 0) * elementBytes, kBytes = inputs.rowOffset(inputs.kvHeadOf(head), 0) * elementBytes;
  one.q = offsetBytes(inputs.q, qBytes);
  one.k = offsetBytes(inputs.k, kBytes);
  one.deviceQ = offsetBytes(inputs.deviceQ, qBytes);
  one.deviceK = offsetBytes(inputs.deviceK, kBytes);
  one.deviceV = nullptr;
  DeviceBuffer<T> q, k;
  SPARSESCOPE_TRY(q.upload(one.q, one.deviceQ, size_t(one.seqLen) * D, "q"));
  SPARSESCOPE_TRY(k.upload(one.k, one.deviceK, size_t(one.seqLen) * D, "k"));
  SPARSESCOPE_TRY(cancelledOrEmpty(ctx));
  return body(MethodInputs<T>{one, q.get(), k.get()});
}

}  // namespace sparsescope::cuda
