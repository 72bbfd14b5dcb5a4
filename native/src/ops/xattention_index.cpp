#include "xattention_index.h"

#include <algorithm>
#include <cmath>

namespace sparsescope {
namespace {

// Group r of the queries with its S rows reversed (q[rS + S-1-t] at slot t) and group c of the
// keys in order, both as S*D vectors: their dot product is the antidiagonal sum.
struct Groups {
  int count = 0, width = 0;
  std::vector<float> values;  // [count][width]
  const float* at(int g) const { return values.data() + size_t(g) * width; }
};

Groups groupsOf(const AttentionInputs& inputs, const void* tensor, int head, int stride, bool reversed) {
  const int D = inputs.headDim, count = (inputs.seqLen + stride - 1) / stride;
  const std::vector<float> rows = rowsAsFloat(inputs, tensor, head, 0, count * stride);
  Groups groups{count, stride * D, std::vector<float>(size_t(count) * stride * D)};
  for (int g = 0; g < count; ++g)
    for (int t = 0; t < stride; ++t) {
      const int row = g * stride + (reversed ? stride - 1 - t : t);
      std::copy_n(rows.data() + size_t(row) * D, D, groups.values.data() + (size_t(g) * stride + t) * D);
    }
  return groups;
}

float dot(const float* x, const float* y, int width) {
  float sum = 0.0f;
  for (int i = 0; i < width; ++i) sum += x[i] * y[i];
  return sum;
}

}  // namespace

std::string checkXAttention(int thresholdThousandths, int stride, int blockSize) {
  if (thresholdThousandths > 1000) return "xattention threshold " + std::to_string(thresholdThousandths) + " exceeds 1000 thousandths";
  if (stride < 1 || stride > blockSize || blockSize % stride != 0)
    return "xattention stride " + std::to_string(stride) + " must divide the block size " + std::to_string(blockSize);
  return "";
}

namespace {

// The masses of one query block at a time, from the head's groups (O(N x D) floats, never M x M).
class BlockRowMasses {
 public:
  BlockRowMasses(const AttentionInputs& inputs, int head, int stride, int blockSize)
      : M_(methodBlocks(inputs.seqLen, blockSize)),
        groupsPerBlock_(blockSize / stride),
        queries_(groupsOf(inputs, inputs.q, head, stride, true)),
        keys_(groupsOf(inputs, inputs.k, inputs.kvHeadOf(head), stride, false)),
        scale_(1.0f / (std::sqrt(float(inputs.headDim)) * float(stride))),
        scores_(size_t(queries_.count)) {}

  int blocks() const { return M_; }

  // row[n] for n <= m, the masses of query block m (row holds M entries; those above m are 0).
  void compute(int m, double* row) {
    std::fill(row, row + M_, 0.0);
    const int first = m * groupsPerBlock_, end = std::min(queries_.count, first + groupsPerBlock_);
    for (int r = first; r < end; ++r) {
      float rowMax = -INFINITY;
      for (int c = 0; c <= r; ++c) {
        scores_[size_t(c)] = dot(queries_.at(r), keys_.at(c), queries_.width) * scale_;
        rowMax = std::max(rowMax, scores_[size_t(c)]);
      }
      float sum = 0.0f;
      for (int c = 0; c <= r; ++c) sum += (scores_[size_t(c)] = std::exp(scores_[size_t(c)] - rowMax));
      for (int c = 0; c <= r; ++c) row[c / groupsPerBlock_] += double(scores_[size_t(c)] / sum);
    }
  }

 private:
  int M_, groupsPerBlock_;
  Groups queries_, keys_;
  float scale_;
  std::vector<float> scores_;
};

}  // namespace

std::vector<double> xattentionMasses(const AttentionInputs& inputs, int head, int stride, int blockSize) {
  BlockRowMasses rows(inputs, head, stride, blockSize);
  const int M = rows.blocks();
  std::vector<double> masses(size_t(M) * M, 0.0);
  for (int m = 0; m < M; ++m) rows.compute(m, masses.data() + size_t(m) * M);
  return masses;
}

std::vector<int32_t> xattentionKeepRow(const double* row, int m, int thresholdThousandths) {
  double total = 0.0;
  for (int n = 0; n <= m; ++n) total += row[n];
  const double required = total * thresholdThousandths / 1000.0;
  std::vector<int32_t> blocks{0};
  if (m > 0) blocks.push_back(m);
  double cumulative = row[0] + (m > 0 ? row[m] : 0.0);
  const std::vector<double> others(row + 1, row + std::max(1, m));  // blocks 1 .. m-1
  for (const int32_t at : descendingOrder(others)) {
    if (!(cumulative < required)) break;
    blocks.push_back(at + 1);
    cumulative += others[size_t(at)];
  }
  std::sort(blocks.begin(), blocks.end());
  return blocks;
}

HeadIndex xattentionHead(const AttentionInputs& inputs, int head, int thresholdThousandths, int stride, int blockSize) {
  // Block row by block row: each query block's choice needs only its own masses.
  BlockRowMasses rows(inputs, head, stride, blockSize);
  const int M = rows.blocks();
  std::vector<double> row(static_cast<size_t>(M));
  std::vector<std::vector<int32_t>> kept(static_cast<size_t>(M));
  for (int m = 0; m < M; ++m) {
    rows.compute(m, row.data());
    kept[size_t(m)] = xattentionKeepRow(row.data(), m, thresholdThousandths);
  }
  return headOfKeptBlocks(kept, blockSize, inputs.seqLen);
}

}  // namespace sparsescope
