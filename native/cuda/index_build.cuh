// Internal interface between the index builder (index_build.cu) and its pattern-specific stages:
// the Vertical-Slash estimate + top-k (vs_estimate.cu) and the Block-Sparse block choice
// (block_select.cu). All pointers are device pointers.
#pragma once
#include "index_format.h"
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

}  // namespace sparsescope::cuda
