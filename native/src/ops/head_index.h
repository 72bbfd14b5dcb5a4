// What the index builders share (sparse_index.cpp and the method estimates beside it, CPU and
// CUDA): one head's part of the index per 64-row query block, entry counting, the deterministic
// top-k, and the expansion of a method's kept key blocks (B rows x B keys, B a multiple of 64)
// into the kernel's 64-wide tiles.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "../attention_inputs.h"
#include "../index_format.h"

namespace sparsescope {

// What one head contributes to the index, per 64-row query block.
struct HeadIndex {
  std::vector<std::vector<int32_t>> tiles;    // per block
  std::vector<std::vector<int32_t>> columns;  // per block
  std::vector<int32_t> verticals, slashes;
  int32_t window[2] = {-1, -1};
  double density = 0.0;
};

struct BlockRows {
  int first, end;  // query rows [first, end) of the block, end clipped to N
};
inline BlockRows blockRows(int block, int seqLen) { return {block * kBlock, std::min(block * kBlock + kBlock, seqLen)}; }

// Causal entries (j <= i, j < N) of the block's rows inside tile [start, start + 64).
int64_t tileEntries(int start, BlockRows rows, int seqLen);
inline int64_t columnEntries(int column, BlockRows rows) { return std::max(0, rows.end - std::max(column, rows.first)); }
inline double densityOf(int64_t entries, int seqLen) { return double(entries) / (double(seqLen) * (double(seqLen) + 1) / 2); }

// The methods' ranking order: the higher score first, NaN lowest, ties to the lower index.
template <typename Score, typename Index>
bool rankedBefore(Score x, Index xIndex, Score y, Index yIndex) {
  const auto rank = [](Score score) { return std::isnan(score) ? -std::numeric_limits<Score>::infinity() : score; };
  const Score rx = rank(x), ry = rank(y);
  return rx != ry ? rx > ry : xIndex < yIndex;
}

// Indices of the `count` largest scores (rankedBefore); returned ascending.
template <typename Score>
std::vector<int32_t> topIndices(const std::vector<Score>& scores, int count) {
  std::vector<int32_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = int32_t(i);
  const auto chosenEnd = order.begin() + std::min<size_t>(size_t(std::max(count, 0)), order.size());
  std::partial_sort(order.begin(), chosenEnd, order.end(),
                    [&](int32_t x, int32_t y) { return rankedBefore(scores[size_t(x)], x, scores[size_t(y)], y); });
  std::vector<int32_t> chosen(order.begin(), chosenEnd);
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

// Indices in descending score order (rankedBefore).
std::vector<int32_t> descendingOrder(const std::vector<double>& scores);

// A method's choice: kept[m] = ascending key blocks n <= m of query block m, blocks of
// `blockSize` rows and keys. Each 64-row query block inside block m reads the 64-wide tiles of
// those key blocks that start at or before its last row.
HeadIndex headOfKeptBlocks(const std::vector<std::vector<int32_t>>& kept, int blockSize, int seqLen);

// The index of all heads, in head order (releases each head as it goes).
void assembleIndex(std::vector<HeadIndex>& heads, int seqLen, SparseIndex* index);
// The inverse, per head, so a builder can replace some heads of an index built elsewhere.
std::vector<HeadIndex> splitIndex(const SparseIndex& index);

// Rows [first, first + count) of head `head` of a [heads, N, D] tensor in fp32, rows past N zero.
std::vector<float> rowsAsFloat(const AttentionInputs& inputs, const void* tensor, int head, int first, int count);

// Blocks of `blockSize` covering N rows.
inline int methodBlocks(int seqLen, int blockSize) { return (seqLen + blockSize - 1) / blockSize; }
// "" when a method block size fits the kernel (a multiple of 64, at most 1024), else why not.
std::string checkMethodBlockSize(const char* what, int blockSize);

}  // namespace sparsescope
