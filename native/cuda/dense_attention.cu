// cudaDenseAttention: dense causal attention through the flash kernel with no index.
#include "attention_kernel.cuh"
#include "cuda_backend.h"

namespace sparsescope {

std::string cudaDenseAttention(const AttentionInputs& inputs, const RowSelection& rows, float* out, float* lse,
                               const CallContext& ctx) {
  cuda::AttentionJob job;
  job.inputs = &inputs;
  job.rows = &rows;
  job.out = out;
  job.lse = lse;
  return cuda::runAttention(job, ctx);
}

}  // namespace sparsescope
