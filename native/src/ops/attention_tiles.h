// The tile machinery every attention-like op shares (dense and sparse attention, recall, pooled
// map, the vertical-slash estimate), so each computed score entry costs the same in all of them.
//
// A task takes up to 64 query rows of one head (fp32, pre-scaled so q.k lands in log2 units) and
// visits key chunks of up to 64 keys of its kv head: contiguous 64-wide tiles or gathered loose
// columns. Each chunk gives a 64 x 64 block of masked scores (causal j <= i, j < N, and the
// stream_llm window) that a consumer turns into online-softmax state, recall sums or map cells.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <vector>

#include "../attention_inputs.h"
#include "../call_context.h"

namespace sparsescope {

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2 = 0.69314718055994531f;
inline constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Head dim rounded up to a multiple of 16: the value kernel works in 16-float chunks.
inline int paddedHeadDim(int headDim) { return (headDim + 15) / 16 * 16; }

// Extra restriction of a row's keys for stream_llm: j < nInit or i - nLocal < j. Inactive: nInit < 0.
struct RowWindow {
  int nInit = -1;
  int nLocal = -1;
  bool active() const { return nInit >= 0; }
};

// The keys one query block computes: ascending tile starts (tile = [s, s+64) clipped to N) and
// ascending loose columns.
struct KeySet {
  std::span<const int32_t> tiles;
  std::span<const int32_t> columns;
  RowWindow window;
};

// Tile starts 0, 64, ... up to lastRow: the dense causal key set of rows <= lastRow.
std::vector<int32_t> denseTiles(int lastRow);

// The keys of every kv head converted once per op to fp32 and transposed to [D][N + 64] (the 64
// tail columns zero), so tasks score tiles in place and gather loose columns without converting
// each key again for every query block. Same size as K in fp32: O(N D), never O(N^2).
class TransposedKeys {
 public:
  // Fills the cache in parallel; false when cancelled (ctx's progress is not used).
  bool build(const AttentionInputs& inputs, const CallContext& ctx);
  const float* head(int kvHead) const { return data_.get() + size_t(kvHead) * headDim_ * stride_; }
  size_t stride() const { return stride_; }

 private:
  std::unique_ptr<float[]> data_;  // uninitialised except the zero tails: every other element is written
  int headDim_ = 0;
  size_t stride_ = 0;
};

// Scratch of one task; sized for the inputs' head dim, reused across its chunks.
class TileWorkspace {
 public:
  TileWorkspace(const AttentionInputs& inputs, const TransposedKeys& keys);

  // Loads rows[0..count) (ascending, count <= 64) of query head `head`.
  void loadQueries(int head, const int32_t* rows, int count);
  int rowCount() const { return rowCount_; }
  int row(int r) const { return rows_[r]; }
  int lastRow() const { return rows_[rowCount_ - 1]; }

  // Visits the chunks of `keys` the loaded rows can see (keys <= lastRow()); for each, `consume()`
  // runs with scores() holding the masked log2-unit scores [64 rows][64 keys] and key(c) its columns.
  template <class Consume>
  void forEachChunk(const KeySet& keys, bool withValues, Consume&& consume);
  // Same over the contiguous columns [begin, end) (clipped to lastRow()).
  template <class Consume>
  void forEachChunkInRange(int begin, int end, RowWindow window, bool withValues, Consume&& consume);

  float* scores() { return scores_.data(); }
  int key(int c) const { return keyColumns_[c]; }
  int keyCount() const { return keyCount_; }

  // Online softmax over the chunks seen so far (consumer for attention and for LSE-only passes).
  void resetSoftmax();
  void accumulateSoftmax(bool withValues);
  // Writes normalised outputs (row stride `headDim`) if `out`, and natural-log LSE per row.
  void finishSoftmax(float* out, float* lse) const;
  // log2-unit LSE of row r after the softmax passes.
  float rowLse2(int r) const;

 private:
  void loadTile(int start, int count, bool withValues);
  void loadColumns(const int32_t* columns, int count, bool withValues);
  void loadValues();  // V rows of the current chunk's keys
  void scoreAndMask(RowWindow window);

  const AttentionInputs& inputs_;
  const TransposedKeys& transposedKeys_;
  int headDim_;
  int padded_;
  int kvHead_ = 0;
  int rowCount_ = 0;
  int32_t rows_[kBlock] = {};
  int keyCount_ = 0;
  int32_t keyColumns_[kBlock] = {};
  std::vector<float> queries_;     // [64][padded]
  std::vector<float> gatheredKeysT_;  // [headDim][64], loose columns
  const float* chunkKeysT_ = nullptr;  // the current chunk's keys, [headDim][chunkKeyStride_]
  size_t chunkKeyStride_ = 0;
  std::vector<float> values_;      // [64][padded]
  std::vector<float> scores_;      // [64][64]
  std::vector<float> rowMax_;      // [64]
  std::vector<float> rowSum_;      // [64]
  std::vector<float> accumulator_; // [64][padded]
};

template <class Consume>
void TileWorkspace::forEachChunk(const KeySet& keys, bool withValues, Consume&& consume) {
  const int last = lastRow();
  for (const int32_t start : keys.tiles) {
    if (start > last) break;
    loadTile(start, std::min(kBlock, inputs_.seqLen - start), withValues);
    scoreAndMask(keys.window);
    consume();
  }
  size_t begin = 0;
  while (begin < keys.columns.size() && keys.columns[begin] <= last) {
    size_t end = begin;
    while (end < keys.columns.size() && end - begin < size_t(kBlock) && keys.columns[end] <= last) ++end;
    loadColumns(keys.columns.data() + begin, int(end - begin), withValues);
    scoreAndMask(keys.window);
    consume();
    begin = end;
  }
}

template <class Consume>
void TileWorkspace::forEachChunkInRange(int begin, int end, RowWindow window, bool withValues, Consume&& consume) {
  const int stop = std::min(end, lastRow() + 1);
  for (int start = begin; start < stop; start += kBlock) {
    loadTile(start, std::min(kBlock, stop - start), withValues);
    scoreAndMask(window);
    consume();
  }
}

// Up to 64 ascending query rows of a RowSelection: the unit of work of every op. Sparse ops group
// by 64-row query block (their key sets are per block); dense attention may group across blocks.
struct RowGroup {
  int block;  // query block of the first row
  int first;  // index into the selection (output row position)
  int count;  // <= 64
};
std::vector<RowGroup> groupRowsByBlock(const RowSelection& rows, int seqLen);

// The row numbers of a group, materialised (the selection may be "all rows").
void groupRows(const RowSelection& rows, const RowGroup& group, int32_t* out);

}  // namespace sparsescope
