// cudaDenseAttention: dense causal attention through the flash kernel with no index; without an
// output buffer on resident inputs, the output stays with them (cudaCopyKeptDense).
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
  cuda::DeviceBuffer<float> kept;
  if (out == nullptr && inputs.resident != nullptr) job.keptOut = &kept;
  SPARSESCOPE_TRY(cuda::runAttention(job, ctx));
  if (job.keptOut) cuda::keepDenseOutput(*inputs.resident, rows, kept);
  return "";
}

}  // namespace sparsescope
