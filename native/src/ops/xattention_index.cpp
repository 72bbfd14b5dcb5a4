#include "xattention_index.h"

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

std::vector<double> xattentionMasses(const AttentionInputs& inputs, int head, int stride, int blockSize) {
  const int M = methodBlocks(inputs.seqLen, blockSize), groupsPerBlock = blockSize / stride;
  const Groups queries = groupsOf(inputs, inputs.q, head, stride, true);
  const Groups keys = groupsOf(inputs, inputs.k, inputs.kvHeadOf(head), stride, false);
  const float scale = 1.0f / (std::sqrt(float(inputs.headDim)) * float(stride));
  std::vector<double> masses(size_t(M) * M, 0.0);
  std::vector<float> scores(size_t(queries.count));
  for (int r = 0; r < queries.count; ++r) {
    float rowMax = -INFINITY;
    for (int c = 0; c <= r; ++c) {
      scores[size_t(c)] = dot(queries.at(r), keys.at(c), queries.width) * scale;
      rowMax = std::max(rowMax, scores[size_t(c)]);
    }
    float sum = 0.0f;
    for (int c = 0; c <= r; ++c) sum += (scores[size_t(c)] = std::exp(scores[size_t(c)] - rowMax));
    double* row = masses.data() + size_t(r / groupsPerBlock) * M;
    for (int c = 0; c <= r; ++c) row[c / groupsPerBlock] += double(scores[size_t(c)] / sum);
  }
  return masses;
}

std::vector<std::vector<int32_t>> xattentionKeep(const std::vector<double>& masses, int numMethodBlocks, int thresholdThousandths) {
  const int M = numMethodBlocks;
  std::vector<std::vector<int32_t>> kept(static_cast<size_t>(M));
  std::vector<double> others;
  for (int m = 0; m < M; ++m) {
    const double* row = masses.data() + size_t(m) * M;
    double total = 0.0;
    for (int n = 0; n <= m; ++n) total += row[n];
    const double required = total * thresholdThousandths / 1000.0;
    std::vector<int32_t>& blocks = kept[size_t(m)];
    blocks.push_back(0);
    if (m > 0) blocks.push_back(m);
    double cumulative = row[0] + (m > 0 ? row[m] : 0.0);
    others.assign(row + 1, row + std::max(1, m));  // blocks 1 .. m-1
    for (const int32_t at : descendingOrder(others)) {
      if (!(cumulative < required)) break;
      blocks.push_back(at + 1);
      cumulative += others[size_t(at)];
    }
    std::sort(blocks.begin(), blocks.end());
  }
  return kept;
}

HeadIndex xattentionHead(const AttentionInputs& inputs, int head, int thresholdThousandths, int stride, int blockSize) {
  const std::vector<double> masses = xattentionMasses(inputs, head, stride, blockSize);
  return headOfKeptBlocks(xattentionKeep(masses, methodBlocks(inputs.seqLen, blockSize), thresholdThousandths), blockSize, inputs.seqLen);
}

}  // namespace sparsescope
