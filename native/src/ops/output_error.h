// Output error of a sparse pass against dense, measured without handing either output to the
// caller: both run on chunks of the rows and only per-head sums come back, so a 1M-token head
// never puts two [N, D] fp32 outputs into JavaScript. The attention runs are passed in, so the
// same driver serves the CPU ops and their CUDA twins.
#pragma once
#include <functional>
#include <string>
#include "../attention_inputs.h"
#include "../call_context.h"

namespace sparsescope {

// One attention op over the chunk's rows, which begin at position `first` of the whole selection:
// out [H, R, D], lse [H, R]. Returns "" or a status.
using ChunkAttention = std::function<std::string(const RowSelection& rows, int first, float* out, float* lse, const CallContext& ctx)>;

// Rows per chunk so that one chunk's two outputs stay near `budgetBytes` (at least one row).
int outputErrorChunkRows(const AttentionInputs& inputs, size_t budgetBytes);

// Per head h, over the selected rows: errorSq[h] = sum ||sparse - dense||^2 and denseSq[h] =
// sum ||dense||^2, in float64 (both [H]). Rows go `chunkRows` at a time. Returns "" or a status
// (kCancelled between chunks).
std::string outputErrorSums(const AttentionInputs& inputs, const RowSelection& rows, int chunkRows, const ChunkAttention& dense,
                            const ChunkAttention& sparse, double* errorSq, double* denseSq, const CallContext& ctx);

}  // namespace sparsescope
