// cudaSparseAttention and cudaRecall: the flash kernel over an index's computed set; recall is
// its log-sum-exp against the dense one, exp(lse_sparse - lse_dense), with no N x N memory.
#include <cmath>

#include "attention_kernel.cuh"
#include "cuda_backend.h"

namespace sparsescope {

namespace {

std::string checkIndexMatches(const AttentionInputs& inputs, const SparseIndexView& index) {
  if (index.numHeads != inputs.numHeads || index.seqLen != inputs.seqLen || index.numBlocks != inputs.numBlocks())
    return "the sparse index (" + std::to_string(index.numHeads) + " heads, seqLen " + std::to_string(index.seqLen) +
           ") does not match the inputs (" + std::to_string(inputs.numHeads) + " heads, seqLen " +
           std::to_string(inputs.seqLen) + ")";
  return "";
}

}  // namespace

std::string cudaSparseAttention(const AttentionInputs& inputs, const SparseIndexView& index, const RowSelection& rows,
                                float* out, float* lse, const CallContext& ctx) {
  SPARSESCOPE_TRY(checkIndexMatches(inputs, index));
  cuda::AttentionJob job;
  job.inputs = &inputs;
  job.rows = &rows;
  job.index = &index;
  job.out = out;
  job.lse = lse;
  return cuda::runAttention(job, ctx);
}

std::string cudaRecall(const AttentionInputs& inputs, const SparseIndexView& index, const RowSelection& rows,
                       const float* denseLse, float* recall, const CallContext& ctx) {
  SPARSESCOPE_TRY(checkIndexMatches(inputs, index));
  cuda::AttentionJob job;
  job.inputs = &inputs;
  job.rows = &rows;
  job.index = &index;
  job.withValues = false;
  job.lse = recall;  // the sparse log-sum-exp lands here first
  SPARSESCOPE_TRY(cuda::runAttention(job, ctx));
  const size_t count = size_t(inputs.numHeads) * rows.size(inputs.seqLen);
  for (size_t r = 0; r < count; ++r) recall[r] = std::exp(recall[r] - denseLse[r]);
  return "";
}

}  // namespace sparsescope
