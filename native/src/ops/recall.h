// Recall of a sparse index (CPU): for each requested row, the dense attention probability mass
// that falls on the computed set, sum_{j in S_i} exp(s_ij - denseLse_i), from the dense LSE.
#pragma once
#include <string>

#include "../attention_inputs.h"
#include "../call_context.h"
#include "../index_format.h"

namespace sparsescope {

// denseLse, recall: [H, R] with R = rows.size(N). Returns "" or kCancelled.
std::string recall(const AttentionInputs& inputs, const SparseIndexView& index, const RowSelection& rows,
                   const float* denseLse, float* recall, const CallContext& ctx);

}  // namespace sparsescope
