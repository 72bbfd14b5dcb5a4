#include "output_error.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace sparsescope {

int outputErrorChunkRows(const AttentionInputs& inputs, size_t budgetBytes) {
  const size_t bytesPerRow = 2 * size_t(inputs.numHeads) * size_t(inputs.headDim) * sizeof(float);
  return int(std::clamp<size_t>(budgetBytes / bytesPerRow, 1, size_t(inputs.seqLen)));
}

std::string outputErrorSums(const AttentionInputs& inputs, const RowSelection& rows, int chunkRows, const ChunkAttention& dense,
                            const ChunkAttention& sparse, double* errorSq, double* denseSq, const CallContext& ctx) {
  const int total = rows.size(inputs.seqLen);
  const size_t headDim = size_t(inputs.headDim);
  std::fill(errorSq, errorSq + inputs.numHeads, 0.0);
  std::fill(denseSq, denseSq + inputs.numHeads, 0.0);
  std::vector<int32_t> chunk;
  std::vector<float> denseOut, sparseOut, lse;
  for (int first = 0; first < total; first += chunkRows) {
    if (ctx.cancelled()) return kCancelled;
    const int count = std::min(chunkRows, total - first);
    chunk.resize(size_t(count));
    for (int r = 0; r < count; ++r) chunk[size_t(r)] = rows.at(first + r);
    const RowSelection selection{chunk.data(), count};
    const size_t values = size_t(inputs.numHeads) * size_t(count) * headDim;
    denseOut.resize(values);
    sparseOut.resize(values);
    lse.resize(size_t(inputs.numHeads) * size_t(count));
    // Each op reports its own progress; the chunks' share is reported here instead.
    const CallContext quiet{ctx.cancelWord, nullptr};
    if (std::string status = dense(selection, denseOut.data(), lse.data(), quiet); !status.empty()) return status;
    if (std::string status = sparse(selection, sparseOut.data(), lse.data(), quiet); !status.empty()) return status;
    for (int h = 0; h < inputs.numHeads; ++h) {
      const size_t begin = size_t(h) * size_t(count) * headDim;
      double error = 0.0, norm = 0.0;
      for (size_t i = begin; i < begin + size_t(count) * headDim; ++i) {
        const double d = denseOut[i];
        const double diff = double(sparseOut[i]) - d;
        error += diff * diff;
        norm += d * d;
      }
      errorSq[h] += error;
      denseSq[h] += norm;
    }
    ctx.report(double(first + count) / double(total));
  }
  return "";
}

}  // namespace sparsescope
