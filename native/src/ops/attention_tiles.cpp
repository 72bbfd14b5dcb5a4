#include "attention_tiles.h"

#include <algorithm>
#include <climits>

#include "../simd.h"
#include "../thread_pool.h"

namespace sparsescope {
namespace {

constexpr int kRowStep = 6;   // query rows per register block (12 of 16 AVX2 registers hold accumulators)
constexpr int kLaneStep = 16; // keys (or head-dim elements) per register block

// scores[r][c] = sum_d queries[r][d] * keysT[d][c] for `Rows` rows: Rows x 16 keys of accumulators
// stay in registers across the head dim.
template <int Rows>
[[gnu::always_inline]] inline void scoreRows(const float* q, int padded, int headDim, const float* keysT, size_t keyStride,
                                             float* scores) {
  for (int c0 = 0; c0 < kBlock; c0 += kLaneStep) {
    f32x8 acc[Rows][2] = {};
    for (int d = 0; d < headDim; ++d) {
      const f32x8 k0 = load8(keysT + d * keyStride + c0), k1 = load8(keysT + d * keyStride + c0 + 8);
      for (int rr = 0; rr < Rows; ++rr) {
        const f32x8 qv = splat8(q[size_t(rr) * padded + d]);
        acc[rr][0] += qv * k0;
        acc[rr][1] += qv * k1;
      }
    }
    for (int rr = 0; rr < Rows; ++rr) {
      store8(scores + rr * kBlock + c0, acc[rr][0]);
      store8(scores + rr * kBlock + c0 + 8, acc[rr][1]);
    }
  }
}

// Scores of rows [0, rowCount): blocks of 6 rows, then of 2, then a single row (sampled rows often
// come alone); a 64-row group is 10 x 6 + 2 x 2.
SPARSESCOPE_HOT void scoreBlock(const float* queries, int padded, int headDim, int rowCount, const float* keysT,
                                size_t keyStride, float* scores) {
  int r0 = 0;
  for (; r0 + kRowStep <= rowCount; r0 += kRowStep)
    scoreRows<kRowStep>(queries + size_t(r0) * padded, padded, headDim, keysT, keyStride, scores + r0 * kBlock);
  for (; r0 + 2 <= rowCount; r0 += 2)
    scoreRows<2>(queries + size_t(r0) * padded, padded, headDim, keysT, keyStride, scores + r0 * kBlock);
  if (r0 < rowCount) scoreRows<1>(queries + size_t(r0) * padded, padded, headDim, keysT, keyStride, scores + r0 * kBlock);
}

// Online softmax step for each row: rescales the row's state to the new max and turns its scores
// into probabilities (relative to that max) in place. Rows that see no key keep their state.
SPARSESCOPE_HOT void softmaxStep(float* scores, int rowCount, float* rowMax, float* rowSum,
                                 float* accumulator, int padded, bool withValues) {
  for (int r = 0; r < rowCount; ++r) {
    float* s = scores + r * kBlock;
    f32x8 laneMax = splat8(kNegInf);
    for (int c = 0; c < kBlock; c += 8) {
      const f32x8 value = load8(s + c);
      laneMax = value > laneMax ? value : laneMax;
    }
    float chunkMax = kNegInf;
    for (int lane = 0; lane < 8; ++lane) chunkMax = std::max(chunkMax, laneMax[lane]);
    if (chunkMax == kNegInf) {
      for (int c = 0; c < kBlock; c += 8) store8(s + c, f32x8{});
      continue;
    }
    const float newMax = std::max(rowMax[r], chunkMax);
    const float correction = fastExp2(rowMax[r] - newMax);
    f32x8 laneSum{};
    for (int c = 0; c < kBlock; c += 8) {
      const f32x8 p = fastExp2(load8(s + c) - newMax);
      store8(s + c, p);
      laneSum += p;
    }
    float chunkSum = 0.0f;
    for (int lane = 0; lane < 8; ++lane) chunkSum += laneSum[lane];
    rowSum[r] = rowSum[r] * correction + chunkSum;
    rowMax[r] = newMax;
    if (withValues && correction != 1.0f) {
      float* acc = accumulator + size_t(r) * padded;
      for (int d = 0; d < padded; d += 8) store8(acc + d, load8(acc + d) * correction);
    }
  }
}

// accumulator[r][d] += sum_c probs[r][c] * values[c][d] for `Rows` rows: Rows x 16 head-dim
// elements of accumulators stay in registers across the 64 keys.
template <int Rows>
[[gnu::always_inline]] inline void accumulateRows(const float* probs, const float* values, int padded, float* accumulator) {
  for (int d0 = 0; d0 < padded; d0 += kLaneStep) {
    f32x8 acc[Rows][2];
    for (int rr = 0; rr < Rows; ++rr) {
      acc[rr][0] = load8(accumulator + size_t(rr) * padded + d0);
      acc[rr][1] = load8(accumulator + size_t(rr) * padded + d0 + 8);
    }
    for (int c = 0; c < kBlock; ++c) {
      const f32x8 v0 = load8(values + size_t(c) * padded + d0), v1 = load8(values + size_t(c) * padded + d0 + 8);
      for (int rr = 0; rr < Rows; ++rr) {
        const f32x8 p = splat8(probs[rr * kBlock + c]);
        acc[rr][0] += p * v0;
        acc[rr][1] += p * v1;
      }
    }
    for (int rr = 0; rr < Rows; ++rr) {
      store8(accumulator + size_t(rr) * padded + d0, acc[rr][0]);
      store8(accumulator + size_t(rr) * padded + d0 + 8, acc[rr][1]);
    }
  }
}

SPARSESCOPE_HOT void accumulateValues(const float* probs, int rowCount, const float* values, int padded,
                                      float* accumulator) {
  int r0 = 0;
  for (; r0 + kRowStep <= rowCount; r0 += kRowStep)
    accumulateRows<kRowStep>(probs + r0 * kBlock, values, padded, accumulator + size_t(r0) * padded);
  for (; r0 + 2 <= rowCount; r0 += 2) accumulateRows<2>(probs + r0 * kBlock, values, padded, accumulator + size_t(r0) * padded);
  if (r0 < rowCount) accumulateRows<1>(probs + r0 * kBlock, values, padded, accumulator + size_t(r0) * padded);
}

}  // namespace

std::vector<int32_t> denseTiles(int lastRow) {
  std::vector<int32_t> tiles;
  for (int start = 0; start <= lastRow; start += kBlock) tiles.push_back(start);
  return tiles;
}

bool TransposedKeys::build(const AttentionInputs& inputs, const CallContext& ctx) {
  headDim_ = inputs.headDim;
  stride_ = size_t(inputs.seqLen) + kBlock;
  data_.reset(new float[size_t(inputs.numKvHeads) * headDim_ * stride_]);
  const int chunksPerHead = inputs.numBlocks();
  const CallContext quiet{ctx.cancelWord, {}};
  return parallelFor(
      inputs.numKvHeads * chunksPerHead,
      [&](int task) {
        const int kvHead = task / chunksPerHead, first = (task % chunksPerHead) * kBlock;
        const int end = std::min(first + kBlock, inputs.seqLen);
        float* target = data_.get() + size_t(kvHead) * headDim_ * stride_;
        std::vector<float> row(static_cast<size_t>(headDim_));
        for (int j = first; j < end; ++j) {
          toFloat(inputs.dtype, inputs.k, inputs.rowOffset(kvHead, j), size_t(headDim_), row.data());
          for (int d = 0; d < headDim_; ++d) target[d * stride_ + j] = row[size_t(d)];
        }
        if (end == inputs.seqLen)  // the zero tail that tiles reaching past N read
          for (int d = 0; d < headDim_; ++d) std::fill(target + d * stride_ + end, target + (d + 1) * stride_, 0.0f);
      },
      quiet);
}

TileWorkspace::TileWorkspace(const AttentionInputs& inputs, const TransposedKeys& keys)
    : inputs_(inputs),
      transposedKeys_(keys),
      headDim_(inputs.headDim),
      padded_(paddedHeadDim(inputs.headDim)),
      queries_(size_t(kBlock) * padded_, 0.0f),
      gatheredKeysT_(size_t(headDim_) * kBlock, 0.0f),
      values_(size_t(kBlock) * padded_, 0.0f),
      scores_(size_t(kBlock) * kBlock, 0.0f),
      rowMax_(kBlock),
      rowSum_(kBlock),
      accumulator_(size_t(kBlock) * padded_) {}

void TileWorkspace::loadQueries(int head, const int32_t* rows, int count) {
  kvHead_ = inputs_.kvHeadOf(head);
  rowCount_ = count;
  const float scale = kLog2e / std::sqrt(float(headDim_));
  for (int r = 0; r < count; ++r) {
    float* dst = queries_.data() + size_t(r) * padded_;
    rows_[r] = rows[r];
    toFloat(inputs_.dtype, inputs_.q, inputs_.rowOffset(head, rows[r]), headDim_, dst);
    for (int d = 0; d < headDim_; ++d) dst[d] *= scale;
  }
}

void TileWorkspace::loadTile(int start, int count, bool withValues) {
  keyCount_ = count;
  for (int c = 0; c < kBlock; ++c) keyColumns_[c] = c < count ? start + c : INT_MAX;  // INT_MAX: masked by j <= i
  chunkKeysT_ = transposedKeys_.head(kvHead_) + start;  // in place: the cache's zero tail covers start + 64 > N
  chunkKeyStride_ = transposedKeys_.stride();
  if (withValues) loadValues();
}

void TileWorkspace::loadColumns(const int32_t* columns, int count, bool withValues) {
  keyCount_ = count;
  for (int c = 0; c < kBlock; ++c) keyColumns_[c] = c < count ? columns[c] : INT_MAX;
  const float* source = transposedKeys_.head(kvHead_);
  const size_t stride = transposedKeys_.stride();
  for (int d = 0; d < headDim_; ++d) {
    float* target = gatheredKeysT_.data() + size_t(d) * kBlock;
    for (int c = 0; c < count; ++c) target[c] = source[d * stride + size_t(columns[c])];
    std::fill(target + count, target + kBlock, 0.0f);
  }
  chunkKeysT_ = gatheredKeysT_.data();
  chunkKeyStride_ = kBlock;
  if (withValues) loadValues();
}

void TileWorkspace::loadValues() {
  for (int c = 0; c < kBlock; ++c) {
    float* value = values_.data() + size_t(c) * padded_;
    if (c < keyCount_) toFloat(inputs_.dtype, inputs_.v, inputs_.rowOffset(kvHead_, keyColumns_[c]), headDim_, value);
    else std::fill(value, value + headDim_, 0.0f);
  }
}

void TileWorkspace::scoreAndMask(RowWindow window) {
  float* s = scores_.data();
  scoreBlock(queries_.data(), padded_, headDim_, rowCount_, chunkKeysT_, chunkKeyStride_, s);
  for (int r = 0; r < rowCount_; ++r) {
    float* rowScores = s + r * kBlock;
    const int i = rows_[r];
    for (int c = 0; c < kBlock; ++c) {
      const int j = keyColumns_[c];
      const bool inWindow = !window.active() || j < window.nInit || j > i - window.nLocal;
      rowScores[c] = (j <= i && inWindow) ? rowScores[c] : kNegInf;
    }
  }
}

void TileWorkspace::resetSoftmax() {
  std::fill(rowMax_.begin(), rowMax_.end(), kNegInf);
  std::fill(rowSum_.begin(), rowSum_.end(), 0.0f);
  std::fill(accumulator_.begin(), accumulator_.end(), 0.0f);
}

void TileWorkspace::accumulateSoftmax(bool withValues) {
  softmaxStep(scores_.data(), rowCount_, rowMax_.data(), rowSum_.data(), accumulator_.data(), padded_, withValues);
  if (withValues) accumulateValues(scores_.data(), rowCount_, values_.data(), padded_, accumulator_.data());
}

float TileWorkspace::rowLse2(int r) const {
  return rowSum_[r] > 0.0f ? rowMax_[r] + std::log2(rowSum_[r]) : kNegInf;
}

void TileWorkspace::finishSoftmax(float* out, float* lse) const {
  for (int r = 0; r < rowCount_; ++r) {
    lse[r] = rowLse2(r) * kLn2;
    if (out == nullptr) continue;
    // A row that sees no key (possible with a stream_llm window) has output 0 and LSE -inf.
    const float inverse = rowSum_[r] > 0.0f ? 1.0f / rowSum_[r] : 0.0f;
    const float* acc = accumulator_.data() + size_t(r) * padded_;
    for (int d = 0; d < headDim_; ++d) out[size_t(r) * headDim_ + d] = acc[d] * inverse;
  }
}

std::vector<RowGroup> groupRowsByBlock(const RowSelection& rows, int seqLen) {
  std::vector<RowGroup> groups;
  const int total = rows.size(seqLen);
  for (int index = 0; index < total;) {
    const int block = rows.at(index) / kBlock;
    int end = index + 1;
    while (end < total && rows.at(end) / kBlock == block) ++end;
    groups.push_back({block, index, end - index});
    index = end;
  }
  return groups;
}

void groupRows(const RowSelection& rows, const RowGroup& group, int32_t* out) {
  for (int r = 0; r < group.count; ++r) out[r] = rows.at(group.first + r);
}

}  // namespace sparsescope
