#include "output_error.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "../thread_pool.h"

namespace sparsescope {

namespace {

// Values summed by one task: a 1M-token chunk of a head at D 128 is 64M of them, a quarter second
// on one core, paid per head of a search at 1M; slices on the pool, added up in slice order, so
// the sums do not depend on which thread ran what.
constexpr size_t kSliceValues = size_t(1) << 20;

// Adds each head's ||sparse - dense||^2 and ||dense||^2 over one chunk ([H][perHead] values).
void addChunkSums(const float* dense, const float* sparse, int numHeads, size_t perHead, double* errorSq, double* denseSq) {
  const size_t slicesPerHead = (perHead + kSliceValues - 1) / kSliceValues;
  std::vector<double> sliceError(size_t(numHeads) * slicesPerHead), sliceNorm(sliceError.size());
  parallelFor(int(sliceError.size()), [&](int task) {
    const size_t h = size_t(task) / slicesPerHead, slice = size_t(task) % slicesPerHead;
    const size_t begin = h * perHead + slice * kSliceValues, end = h * perHead + std::min(perHead, (slice + 1) * kSliceValues);
    double error = 0.0, norm = 0.0;
    for (size_t i = begin; i < end; ++i) {
      const double d = dense[i];
      const double diff = double(sparse[i]) - d;
      error += diff * diff;
      norm += d * d;
    }
    sliceError[size_t(task)] = error;
    sliceNorm[size_t(task)] = norm;
  }, CallContext{});
  for (size_t task = 0; task < sliceError.size(); ++task) {
    errorSq[task / slicesPerHead] += sliceError[task];
    denseSq[task / slicesPerHead] += sliceNorm[task];
  }
}

}  // namespace

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
    if (std::string status = dense(selection, first, denseOut.data(), lse.data(), quiet); !status.empty()) return status;
    if (std::string status = sparse(selection, first, sparseOut.data(), lse.data(), quiet); !status.empty()) return status;
    addChunkSums(denseOut.data(), sparseOut.data(), inputs.numHeads, size_t(count) * headDim, errorSq, denseSq);
    ctx.report(double(first + count) / double(total));
  }
  return "";
}

}  // namespace sparsescope
